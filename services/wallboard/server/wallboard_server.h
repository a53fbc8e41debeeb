#pragma once

// The wallboard's HTTP side (cpp-httplib): the page and its assets, embedded
// in the binary; the board JSON the page polls; and an admin port with
// /metrics, /healthz and /readyz. See services/wallboard/README.md.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/registry.h"
#include "services/common/core/clock.h"
#include "services/common/tls/tls_files.h"
#include "services/common/tls/tls_metrics.h"
#include "services/wallboard/application/board_builder.h"
#include "services/wallboard/server/wallboard_metrics.h"

namespace httplib {
class Server;
}
typedef struct ssl_st SSL;

namespace dialgrid::wallboard {

struct WallboardServerOptions {
  std::string listen_address = "127.0.0.1:0";  // the page and the board API
  std::string admin_address = "127.0.0.1:0";   // /metrics /healthz /readyz
  // HTTPS for the page and the API when both are set (PEM files): the
  // viewer's credential crosses this connection.
  std::string tls_cert_file;
  std::string tls_key_file;
  // How often the two files are read again (a renewed Secret is served to
  // new connections without a restart; a key that does not match its
  // certificate is refused and the last good pair kept). 0: read once.
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // The longest a board may take; each call to a service is cut to fit.
  absl::Duration board_timeout = absl::Milliseconds(2500);
  // Boards built at once; more are refused 503 OVERLOADED.
  int max_concurrent_boards = 32;
  // When set, "http=<host:port>\nadmin=<host:port>\n" is written here once
  // serving (atomically).
  std::string port_file;
};

class WallboardServer {
 public:
  // INVALID_ARGUMENT INVALID_ADDRESS for an address that is not host:port;
  // INVALID_ARGUMENT TLS_FILES_INVALID when the certificate or key cannot
  // be loaded.
  static absl::StatusOr<std::unique_ptr<WallboardServer>> Create(
      WallboardServerOptions options, const BoardBuilder& builder,
      std::shared_ptr<prometheus::Registry> registry, WallboardMetrics& metrics,
      const Clock& clock);
  ~WallboardServer();

  // Binds both ports and serves (UNAVAILABLE LISTEN_FAILED when a port is
  // taken); ready from then on.
  absl::Status Start();
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }

  // Not ready, the board port stops (requests in progress finish), then the
  // admin port. Idempotent.
  void Shutdown();

 private:
  WallboardServer(WallboardServerOptions options, const BoardBuilder& builder,
                  std::shared_ptr<prometheus::Registry> registry, WallboardMetrics& metrics,
                  const Clock& clock);
  void Routes();
  // The handshake's certificate callback: puts the pair TlsFiles last took
  // on the connection (read again when TlsFiles took a new one).
  static int UseCurrentPair(SSL* ssl, void* self);
  struct ServedPair;
  std::shared_ptr<const ServedPair> CurrentPair();

  WallboardServerOptions options_;
  const BoardBuilder& builder_;
  std::shared_ptr<prometheus::Registry> registry_;
  WallboardMetrics& metrics_;
  const Clock& clock_;
  std::unique_ptr<TlsFiles> tls_files_;  // with tls_reload_interval
  std::unique_ptr<TlsFileMetrics> tls_metrics_;
  std::mutex pair_mu_;
  std::shared_ptr<const ServedPair> pair_;
  int pair_generation_ = -1;  // tls_files_->reloads() when pair_ was read
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<httplib::Server> admin_;
  std::thread http_thread_;
  std::thread admin_thread_;
  std::atomic<bool> ready_{false};
  std::atomic<int> in_flight_{0};
  bool stopped_ = false;
  int port_ = 0;
  int admin_port_ = 0;
};

}  // namespace dialgrid::wallboard
