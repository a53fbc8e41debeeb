#pragma once

// Where dialgridctl finds its credential, endpoints and other settings.
// Precedence, highest first: command-line flag, environment variable, config
// file, the run directory of a local platform (tools/run.sh), built-in
// default. Pure logic: the caller reads the environment and files.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::ctl {

// The services dialgridctl talks to: the config key and flag name of each
// ("agent-state" is flag --agent-state, env DIALGRID_AGENT_STATE, config key
// agent-state or agent_state), and the name of its port file in a run dir.
struct ServiceInfo {
  const char* key;        // "agent-state"
  const char* env;        // "DIALGRID_AGENT_STATE"
  const char* port_file;  // "agent-state.ports"
};
const std::vector<ServiceInfo>& Services();

// What the command line gave (empty: not given).
struct CtlFlags {
  std::string config;                            // --config
  std::string credential;                        // --credential
  std::string credential_file;                   // --credential-file
  std::string tenant;                            // --tenant
  std::string run_dir;                           // --run-dir
  std::map<std::string, std::string> endpoints;  // service key -> --<key>
  std::optional<bool> tls;                       // --tls
  std::string ca_file;                           // --ca-file
  std::string server_name;                       // --server-name
  std::optional<double> timeout_seconds;         // --timeout
};

// The settings a command runs with.
struct CtlConfig {
  std::string credential;                        // the secret itself ("" when none was found)
  std::string credential_from;                   // where it came from, for messages
  std::string tenant;                            // default tenant of short resource names
  std::map<std::string, std::string> endpoints;  // service key -> host:port
  bool tls = false;
  std::string ca_file;
  std::string server_name;
  double timeout_seconds = 30;
  bool timeout_given = false;  // by a flag, the environment or the config file
  std::string config_file;     // the file read ("" when none)
};

// key=value lines; '#' starts a comment line; blank lines ignored; keys are
// case-insensitive with '_' and '-' equal ("agent_state" = "agent-state").
// INVALID_ARGUMENT naming the line for anything else or an unknown key.
absl::StatusOr<std::map<std::string, std::string>> ParseConfigFile(absl::string_view text);

// The default config path: $XDG_CONFIG_HOME/dialgrid/config, else
// $HOME/.config/dialgrid/config; "" without either.
std::string DefaultConfigPath(const std::function<std::optional<std::string>(const char*)>& env);

// Reads a file whole; NOT_FOUND when missing, PERMISSION_DENIED etc. as errno says.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// The inputs of Resolve, so tests give them without touching the process.
struct ConfigSources {
  CtlFlags flags;
  std::function<std::optional<std::string>(const char*)> env;  // getenv
  std::function<absl::StatusOr<std::string>(const std::string&)> read_file = ReadFile;
};

// Merges flags, environment (DIALGRID_CONFIG, DIALGRID_CREDENTIAL,
// DIALGRID_CREDENTIAL_FILE, DIALGRID_TENANT, DIALGRID_RUN_DIR, DIALGRID_<SERVICE>,
// DIALGRID_TLS, DIALGRID_CA_FILE, DIALGRID_SERVER_NAME, DIALGRID_TIMEOUT), the
// config file (--config or DIALGRID_CONFIG: must exist; else the default
// path, if it exists) and the run directory's <service>.ports files.
// INVALID_ARGUMENT (a usage error) for a bad file or value.
absl::StatusOr<CtlConfig> ResolveConfig(const ConfigSources& sources);

// "grpc=127.0.0.1:4242\nadmin=..." -> "127.0.0.1:4242"; "" when absent.
std::string GrpcAddressOf(absl::string_view port_file_text);

}  // namespace dialgrid::ctl
