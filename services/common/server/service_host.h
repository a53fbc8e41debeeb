#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/core/scheduler.h"
#include "absl/time/time.h"
#include "prometheus/registry.h"
#include "services/common/server/executor.h"
#include "services/common/server/metrics.h"
#include "services/common/tls/tls_files.h"
#include "services/common/tls/tls_metrics.h"

namespace httplib {
class Server;
}

namespace dialgrid {

struct ServiceHostOptions {
  std::string service;            // short name, e.g. "tenancy"
  std::string listen_address = "127.0.0.1:0";   // gRPC; port 0 picks a free port
  std::string admin_address = "127.0.0.1:0";    // HTTP /metrics /healthz /readyz
  // When set, "grpc=<host:port>\nadmin=<host:port>\n" is written here once
  // serving (atomically), so launchers and tests find ports chosen by the OS.
  std::string port_file;
  // TLS for the gRPC port when both are set (PEM files); plaintext otherwise.
  std::string tls_cert_file;
  std::string tls_key_file;
  // How often the two files are read again: a renewed certificate (a
  // Kubernetes Secret updated in place) is served to new connections without
  // a restart. Zero: read once at start.
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // Mutual TLS (needs the two files above): PEM roots that clients'
  // certificates are verified against. A client may still connect without
  // one (tenants' systems); one that presents a certificate not chaining to
  // these roots fails the handshake. Calls with the platform's service
  // credential must then come with a verified certificate
  // (RpcEnv::service_certificate_required). Read again with the pair.
  std::string tls_client_ca_file;
  absl::Duration drain_timeout = absl::Seconds(10);
  int executor_threads = 8;
  size_t executor_queue = 2048;
  absl::Duration readiness_interval = absl::Seconds(1);
};

// The process around a service: gRPC server (callback API) with health
// (liveness under service "liveness", readiness under "" and each service
// name) and reflection, a bounded executor for handlers, Prometheus metrics,
// and an admin HTTP port. Shutdown: not-ready, drain in-flight calls
// (Shutdown(deadline)), drain the executor, then the registered stop steps in
// reverse order (flush Kafka, close Redis), then the admin port. A request
// whose bytes do not parse is answered INVALID_ARGUMENT MALFORMED_REQUEST and
// counted in the RPC metrics (server/malformed_request.h).
class ServiceHost {
 public:
  // Call first thing in main(), before any thread starts, so SIGTERM/SIGINT
  // are only ever received by WaitForTerminationSignal.
  static void BlockTerminationSignals();

  static absl::StatusOr<std::unique_ptr<ServiceHost>> Create(const ServiceHostOptions& options);
  ~ServiceHost();

  const std::string& service() const { return options_.service; }
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }
  BoundedExecutor& executor() { return *executor_; }
  RpcMetrics& rpc_metrics() { return *rpc_metrics_; }

  // Before Start(): services to serve (not owned), readiness checks (run every
  // readiness_interval; all must pass), and shutdown steps.
  void AddService(grpc::Service* service, std::string full_name);
  void AddReadinessCheck(std::string name, std::function<absl::Status()> check);
  void AddStopStep(std::string name, std::function<void()> step);

  absl::Status Start();
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  // Whether clients' certificates are verified (tls_client_ca_file).
  bool verifies_client_certificates() const { return !options_.tls_client_ca_file.empty(); }
  bool ready() const { return ready_.load(); }

  // Blocks until SIGTERM or SIGINT.
  static int WaitForTerminationSignal();
  // The drain-and-stop sequence above. Idempotent.
  void Shutdown();

 private:
  explicit ServiceHost(const ServiceHostOptions& options);
  void CheckReadiness();  // every readiness_interval
  void SetReady(bool ready);

  ServiceHostOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  // TLS with reload: the staged pair and its metrics.
  std::unique_ptr<TlsFiles> tls_files_;
  std::unique_ptr<TlsFileMetrics> tls_metrics_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<BoundedExecutor> executor_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::vector<std::pair<std::string, std::function<absl::Status()>>> checks_;
  std::vector<std::pair<std::string, std::function<void()>>> stop_steps_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<httplib::Server> admin_;
  std::thread admin_thread_;
  std::unique_ptr<ThreadScheduler> readiness_;
  std::mutex stop_mu_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::atomic<bool> ready_{false};
  int port_ = 0;
  int admin_port_ = 0;
};

}  // namespace dialgrid
