#include "tools/dialgridctl/ctl_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace dialgrid::ctl {

const std::vector<ServiceInfo>& Services() {
  static const std::vector<ServiceInfo> kServices = {
      {"tenancy", "DIALGRID_TENANCY", "tenancy.ports"},
      {"contacts", "DIALGRID_CONTACTS", "contacts.ports"},
      {"compliance", "DIALGRID_COMPLIANCE", "compliance.ports"},
      {"agent-state", "DIALGRID_AGENT_STATE", "agent-state.ports"},
      {"dialing", "DIALGRID_DIALING", "dialing.ports"},
      {"recording", "DIALGRID_RECORDING", "recording.ports"},
  };
  return kServices;
}

namespace {

std::string NormalizeKey(absl::string_view key) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(absl::StripAsciiWhitespace(key)), {{"_", "-"}});
}

const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> keys = [] {
    std::set<std::string> k = {"credential", "credential-file", "tenant",      "run-dir",
                               "tls",        "ca-file",         "server-name", "timeout"};
    for (const auto& s : Services()) k.insert(s.key);
    return k;
  }();
  return keys;
}

absl::Status Usage(absl::string_view message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<bool> ParseBool(absl::string_view what, absl::string_view value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
  return Usage(absl::StrCat(what, ": not a boolean: \"", value, "\""));
}

absl::StatusOr<double> ParseTimeout(absl::string_view what, absl::string_view value) {
  double seconds = 0;
  std::string v(absl::StripAsciiWhitespace(value));
  if (absl::EndsWith(v, "s")) v.pop_back();
  if (!absl::SimpleAtod(v, &seconds) || seconds <= 0 || seconds > 86400) {
    return Usage(absl::StrCat(what, ": a timeout is 0 < seconds <= 86400, not \"", value, "\""));
  }
  return seconds;
}

std::string FirstLine(absl::string_view text) {
  return std::string(absl::StripAsciiWhitespace(text.substr(0, text.find('\n'))));
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseConfigFile(absl::string_view text) {
  std::map<std::string, std::string> out;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return Usage(absl::StrCat("line ", n, ": expected key=value"));
    }
    std::string key = NormalizeKey(line.substr(0, eq));
    if (KnownKeys().count(key) == 0) {
      return Usage(absl::StrCat("line ", n, ": unknown key \"", key, "\""));
    }
    out[key] = std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
  }
  return out;
}

std::string DefaultConfigPath(const std::function<std::optional<std::string>(const char*)>& env) {
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) return *xdg + "/dialgrid/config";
  if (auto home = env("HOME"); home && !home->empty()) return *home + "/.config/dialgrid/config";
  return "";
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    return absl::PermissionDeniedError(message);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string GrpcAddressOf(absl::string_view port_file_text) {
  for (absl::string_view line : absl::StrSplit(port_file_text, absl::ByAnyChar("\n "))) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "grpc=")) return std::string(line.substr(5));
  }
  return "";
}

absl::StatusOr<CtlConfig> ResolveConfig(const ConfigSources& sources) {
  const CtlFlags& f = sources.flags;
  auto env = [&](const char* name) -> std::string {
    auto v = sources.env(name);
    return v ? *v : "";
  };
  CtlConfig c;

  // The config file: explicit (must exist) or the default path (if it does).
  std::map<std::string, std::string> file;
  std::string path = !f.config.empty() ? f.config : env("DIALGRID_CONFIG");
  bool explicit_path = !path.empty();
  if (!explicit_path) path = DefaultConfigPath(sources.env);
  if (!path.empty()) {
    auto text = sources.read_file(path);
    if (text.ok()) {
      auto parsed = ParseConfigFile(*text);
      if (!parsed.ok())
        return Usage(absl::StrCat("config file ", path, ": ", parsed.status().message()));
      file = std::move(*parsed);
      c.config_file = path;
    } else if (explicit_path || !absl::IsNotFound(text.status())) {
      return Usage(absl::StrCat("config file: ", text.status().message()));
    }
  }
  auto from_file = [&](const char* key) -> std::string {
    auto it = file.find(key);
    return it == file.end() ? "" : it->second;
  };
  // flag > env > file, each value with where it came from.
  auto pick = [&](const std::string& flag, const char* flag_name, const char* env_name,
                  const char* key, std::string* from) -> std::string {
    if (!flag.empty()) {
      if (from) *from = flag_name;
      return flag;
    }
    if (std::string v = env(env_name); !v.empty()) {
      if (from) *from = env_name;
      return v;
    }
    if (std::string v = from_file(key); !v.empty()) {
      if (from) *from = absl::StrCat(c.config_file, " (", key, ")");
      return v;
    }
    return "";
  };

  // The credential: a secret or a file holding one, whichever source is
  // highest; at the same level the secret itself wins.
  std::string secret_from, file_from;
  std::string secret =
      pick(f.credential, "--credential", "DIALGRID_CREDENTIAL", "credential", &secret_from);
  std::string secret_file = pick(f.credential_file, "--credential-file", "DIALGRID_CREDENTIAL_FILE",
                                 "credential-file", &file_from);
  auto level = [](const std::string& from) {
    if (absl::StartsWith(from, "--")) return 3;
    if (absl::StartsWith(from, "DIALGRID_")) return 2;
    return from.empty() ? 0 : 1;
  };
  if (!secret_file.empty() && level(file_from) > level(secret_from)) {
    auto text = sources.read_file(secret_file);
    if (!text.ok())
      return Usage(absl::StrCat("credential file (", file_from, "): ", text.status().message()));
    c.credential = FirstLine(*text);
    c.credential_from = absl::StrCat(secret_file, " (", file_from, ")");
    if (c.credential.empty())
      return Usage(absl::StrCat("credential file ", secret_file, " is empty"));
  } else {
    c.credential = std::string(absl::StripAsciiWhitespace(secret));
    c.credential_from = secret_from;
  }

  c.tenant = pick(f.tenant, "--tenant", "DIALGRID_TENANT", "tenant", nullptr);
  if (absl::StartsWith(c.tenant, "tenants/")) c.tenant = c.tenant.substr(8);

  // Endpoints: flag > env > file > the run dir's port files.
  std::string run_dir = pick(f.run_dir, "--run-dir", "DIALGRID_RUN_DIR", "run-dir", nullptr);
  for (const auto& s : Services()) {
    auto it = f.endpoints.find(s.key);
    std::string v = pick(it == f.endpoints.end() ? "" : it->second, "", s.env, s.key, nullptr);
    if (v.empty() && !run_dir.empty()) {
      auto text = sources.read_file(absl::StrCat(run_dir, "/", s.port_file));
      if (text.ok()) v = GrpcAddressOf(*text);
    }
    if (!v.empty()) c.endpoints[s.key] = v;
  }

  if (f.tls.has_value() && *f.tls) {
    c.tls = true;
  } else {
    std::string v = pick("", "", "DIALGRID_TLS", "tls", nullptr);
    auto b = ParseBool("tls", v);
    if (!b.ok()) return b.status();
    c.tls = *b;
  }
  c.ca_file = pick(f.ca_file, "--ca-file", "DIALGRID_CA_FILE", "ca-file", nullptr);
  c.server_name =
      pick(f.server_name, "--server-name", "DIALGRID_SERVER_NAME", "server-name", nullptr);
  if (!c.ca_file.empty()) c.tls = true;  // roots only make sense with TLS
  if (f.timeout_seconds.has_value()) {
    if (*f.timeout_seconds <= 0 || *f.timeout_seconds > 86400) {
      return Usage("--timeout: 0 < seconds <= 86400");
    }
    c.timeout_seconds = *f.timeout_seconds;
    c.timeout_given = true;
  } else if (std::string v = pick("", "", "DIALGRID_TIMEOUT", "timeout", nullptr); !v.empty()) {
    auto t = ParseTimeout("timeout", v);
    if (!t.ok()) return t.status();
    c.timeout_seconds = *t;
    c.timeout_given = true;
  }
  return c;
}

}  // namespace dialgrid::ctl
