// dialgrid-wallboard: flags -> options, wiring, serve until SIGTERM/SIGINT,
// stop. See services/wallboard/README.md.
#include <memory>
#include <string>
#include <utility>

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "services/common/client/peer_channel.h"
#include "services/common/core/clock.h"
#include "services/common/core/env.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/core/log.h"
#include "services/common/server/service_host.h"
#include "services/wallboard/adapters/grpc_board_source.h"
#include "services/wallboard/application/board_builder.h"
#include "services/wallboard/server/wallboard_metrics.h"
#include "services/wallboard/server/wallboard_server.h"

ABSL_FLAG(std::string, listen, dialgrid::EnvOr("DIALGRID_LISTEN", "127.0.0.1:0"),
          "host:port of the page and the board API (port 0: any free port).");
ABSL_FLAG(std::string, admin_listen, dialgrid::EnvOr("DIALGRID_ADMIN_LISTEN", "127.0.0.1:0"),
          "host:port of /metrics, /healthz, /readyz.");
ABSL_FLAG(std::string, port_file, dialgrid::EnvOr("DIALGRID_PORT_FILE", ""),
          "Where to write \"http=host:port\\nadmin=host:port\\n\" once serving.");
ABSL_FLAG(std::string, tenancy_address, dialgrid::EnvOr("DIALGRID_TENANCY", "127.0.0.1:7001"),
          "The tenancy service's gRPC address.");
ABSL_FLAG(std::string, agent_state_address, dialgrid::EnvOr("DIALGRID_AGENT_STATE", ""),
          "The agent-state service's gRPC address.");
ABSL_FLAG(std::string, dialing_address, dialgrid::EnvOr("DIALGRID_DIALING", ""),
          "The dialing service's gRPC address.");
ABSL_FLAG(std::string, reporting_address, dialgrid::EnvOr("DIALGRID_REPORTING", ""),
          "The reporting service's gRPC address, for today's sales; empty: the board shows "
          "no sales.");
ABSL_FLAG(bool, peer_tls, dialgrid::EnvOr("DIALGRID_PEER_TLS", "") == "true",
          "Reach the services over TLS.");
ABSL_FLAG(std::string, peer_tls_ca_file, dialgrid::EnvOr("DIALGRID_PEER_TLS_CA_FILE", ""),
          "PEM roots the services' certificates must chain to (implies --peer_tls; "
          "default: the system's roots).");
ABSL_FLAG(std::string, peer_tls_server_name, dialgrid::EnvOr("DIALGRID_PEER_TLS_SERVER_NAME", ""),
          "The name the services' certificates carry, when not their address's host.");
ABSL_FLAG(std::string, tls_cert_file, dialgrid::EnvOr("DIALGRID_TLS_CERT_FILE", ""),
          "Serve the page over HTTPS with this certificate (PEM; with --tls_key_file).");
ABSL_FLAG(std::string, tls_key_file, dialgrid::EnvOr("DIALGRID_TLS_KEY_FILE", ""),
          "The HTTPS private key (PEM).");
ABSL_FLAG(int, tls_reload_seconds, 60,
          "How often the HTTPS certificate and key are read again (a renewed pair is served to "
          "new connections; a key that does not match is refused). 0: read once at start.");
ABSL_FLAG(int, rpc_timeout_ms, 1000, "The longest one call to a service may take.");
ABSL_FLAG(int, board_timeout_ms, 2500, "The longest building one board may take.");
ABSL_FLAG(int, max_concurrent_boards, 32, "Boards built at once (more: 503 OVERLOADED).");
ABSL_FLAG(int, max_agents, 2000, "Agents a board lists.");
ABSL_FLAG(int, max_figures, 50, "Campaigns whose live figures a board reads.");

namespace {

int Fail(absl::string_view what, const absl::Status& st) {
  dialgrid::Log(dialgrid::LogLevel::kError, "wallboard", "cannot start",
                {{"what", what},
                 {"code", absl::StatusCodeToString(st.code())},
                 {"reason", dialgrid::ReasonOf(st)},
                 {"error", std::string(st.message())}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  using namespace dialgrid::wallboard;
  ServiceHost::BlockTerminationSignals();  // before any thread exists
  absl::SetProgramUsageMessage(
      "A tenant supervisor's live wallboard over HTTP; every call to the platform carries the "
      "viewer's own credential.");
  absl::ParseCommandLine(argc, argv);

  client::PeerTlsOptions tls;
  const std::string ca_file = absl::GetFlag(FLAGS_peer_tls_ca_file);
  tls.enabled = absl::GetFlag(FLAGS_peer_tls) || !ca_file.empty();
  tls.server_name = absl::GetFlag(FLAGS_peer_tls_server_name);
  if (!ca_file.empty()) {
    absl::StatusOr<std::string> roots = ReadNonEmptyFile(ca_file, "peer_tls_ca_file");
    if (!roots.ok()) return Fail("--peer_tls_ca_file", roots.status());
    tls.root_certs_pem = *std::move(roots);
  }
  auto connect =
      [&](const char* name,
          const std::string& address) -> absl::StatusOr<std::shared_ptr<client::PeerChannel>> {
    client::PeerOptions o;
    o.name = name;
    o.address = address;
    o.tls = tls;
    o.credential = "";  // none of its own: each call carries the viewer's
    o.max_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_rpc_timeout_ms));
    return client::PeerChannel::Create(std::move(o));
  };
  auto tenancy = connect("tenancy", absl::GetFlag(FLAGS_tenancy_address));
  if (!tenancy.ok()) return Fail("--tenancy_address", tenancy.status());
  auto agent_state = connect("agent-state", absl::GetFlag(FLAGS_agent_state_address));
  if (!agent_state.ok()) return Fail("--agent_state_address", agent_state.status());
  auto dialing = connect("dialing", absl::GetFlag(FLAGS_dialing_address));
  if (!dialing.ok()) return Fail("--dialing_address", dialing.status());

  std::shared_ptr<client::PeerChannel> reporting;
  if (!absl::GetFlag(FLAGS_reporting_address).empty()) {
    auto r = connect("reporting", absl::GetFlag(FLAGS_reporting_address));
    if (!r.ok()) return Fail("--reporting_address", r.status());
    reporting = *std::move(r);
  }

  auto registry = std::make_shared<prometheus::Registry>();
  WallboardMetrics metrics(*registry);
  GrpcBoardSource source(
      *tenancy, *agent_state, *dialing,
      [&metrics](absl::string_view peer, absl::StatusCode code) { metrics.PeerCall(peer, code); });
  source.SetReporting(reporting);
  BoardBuilderOptions board;
  board.max_agents = absl::GetFlag(FLAGS_max_agents);
  board.max_figures = absl::GetFlag(FLAGS_max_figures);
  BoardBuilder builder(source, SystemClock::Get(), board);

  WallboardServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.admin_address = absl::GetFlag(FLAGS_admin_listen);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls_reload_interval = absl::Seconds(std::max(0, absl::GetFlag(FLAGS_tls_reload_seconds)));
  options.board_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_board_timeout_ms));
  options.max_concurrent_boards = absl::GetFlag(FLAGS_max_concurrent_boards);
  auto server = WallboardServer::Create(options, builder, registry, metrics, SystemClock::Get());
  if (!server.ok()) return Fail("options", server.status());
  if (absl::Status st = (*server)->Start(); !st.ok()) {
    (*server)->Shutdown();
    return Fail("listen", st);
  }
  ServiceHost::WaitForTerminationSignal();
  Log(LogLevel::kInfo, "wallboard", "stopping");
  (*server)->Shutdown();
  return 0;
}
