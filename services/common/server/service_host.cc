#include "services/common/server/service_host.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/core/log.h"
#include "services/common/server/malformed_request.h"

namespace dialgrid {
namespace {

absl::Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
    out << content;
    if (!out.flush()) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::Status SplitHostPort(const std::string& address, std::string& host, int& port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return InvalidField("admin_address", "INVALID_ADDRESS",
                        absl::StrCat("expected host:port, got \"", address, "\""));
  }
  host = address.substr(0, colon);
  return absl::OkStatus();
}

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

void ServiceHost::BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int ServiceHost::WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

ServiceHost::ServiceHost(const ServiceHostOptions& options)
    : options_(options), registry_(std::make_shared<prometheus::Registry>()) {
  rpc_metrics_ = std::make_unique<RpcMetrics>(*registry_, options_.service);
  executor_ = std::make_unique<BoundedExecutor>(options_.executor_threads, options_.executor_queue);
}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Create(
    const ServiceHostOptions& options) {
  if (options.service.empty()) return absl::InvalidArgumentError("service name is required");
  // Debian's Abseil is built without NDEBUG, which turns on absl::Mutex
  // deadlock detection (a lock-order graph updated on every lock): measurable
  // on hot paths, and our lock order is checked by the thread annotations and
  // TSan instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidField("tls_cert_file", "INCOMPLETE_TLS",
                        "TLS needs both a certificate and a key file");
  }
  if (!options.tls_client_ca_file.empty() && options.tls_cert_file.empty()) {
    return InvalidField("tls_client_ca_file", "INCOMPLETE_TLS",
                        "mutual TLS needs the server's own certificate and key too");
  }
  return std::unique_ptr<ServiceHost>(new ServiceHost(options));
}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(grpc::Service* service, std::string full_name) {
  services_.emplace_back(service, std::move(full_name));
}

void ServiceHost::AddReadinessCheck(std::string name, std::function<absl::Status()> check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

void ServiceHost::AddStopStep(std::string name, std::function<void()> step) {
  stop_steps_.emplace_back(std::move(name), std::move(step));
}

absl::Status ServiceHost::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!options_.tls_cert_file.empty()) {
    // Mutual TLS: the clients' CA, read here so a bad file stops the start
    // (with reload, gRPC's watcher reads it again later).
    std::string client_roots;
    if (!options_.tls_client_ca_file.empty()) {
      auto roots = ReadNonEmptyFile(options_.tls_client_ca_file, "tls_client_ca_file");
      if (!roots.ok()) return roots.status();
      client_roots = *std::move(roots);
    }
    if (options_.tls_reload_interval > absl::ZeroDuration()) {
      // TlsFiles stages only matching pairs; gRPC's watcher serves each new
      // one to new handshakes.
      auto files = TlsFiles::Create(options_.service, options_.tls_cert_file,
                                    options_.tls_key_file, options_.tls_reload_interval);
      if (!files.ok()) return files.status();
      tls_files_ = *std::move(files);
      const auto interval = static_cast<unsigned int>(
          std::max<int64_t>(1, absl::ToInt64Seconds(options_.tls_reload_interval)));
      // No client CA: an empty root path (gRPC watches no roots then).
      auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          tls_files_->key_path(), tls_files_->cert_path(), options_.tls_client_ca_file, interval);
      grpc::experimental::TlsServerCredentialsOptions tls(provider);
      tls.watch_identity_key_cert_pairs();
      if (!options_.tls_client_ca_file.empty()) {
        tls.watch_root_certs();
        tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      }
      creds = grpc::experimental::TlsServerCredentials(tls);
      tls_metrics_ = std::make_unique<TlsFileMetrics>(*registry_, options_.service, *tls_files_);
    } else {
      auto cert = ReadFileToString(options_.tls_cert_file);
      auto key = ReadFileToString(options_.tls_key_file);
      if (!cert.ok()) return cert.status();
      if (!key.ok()) return key.status();
      grpc::SslServerCredentialsOptions ssl(
          options_.tls_client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      ssl.pem_root_certs = client_roots;
      ssl.pem_key_cert_pairs.push_back({*key, *cert});
      creds = grpc::SslServerCredentials(ssl);
    }
  }
  grpc::ServerBuilder builder;
  // No SO_REUSEPORT: with it, gRPC 1.51 clones the listening socket for each
  // extra polling completion queue of a sync service, and with port 0 the
  // clone binds another random port (a second, unlisted gRPC port); it also
  // let a restarted process share a port still held by the old one.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options_.listen_address, creds, &port_);
  builder.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  // Synchronous services (ServeSync) run on gRPC's own polling threads: keep
  // enough of them alive that a burst does not create and end threads per call.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::max(64, options_.executor_threads * 2));
  for (auto& [svc, name] : services_) builder.RegisterService(svc);
  // Requests whose bytes do not parse: INVALID_ARGUMENT MALFORMED_REQUEST,
  // counted, instead of gRPC's own INTERNAL/UNIMPLEMENTED with no message.
  MalformedRequestOptions malformed;
  malformed.service = options_.service;
  malformed.error_domain = absl::StrCat(options_.service, ".dialgrid");
  malformed.metrics = rpc_metrics_.get();
  for (auto& [svc, name] : services_) malformed.counted_services.push_back(name);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MalformedRequestInterceptorFactory(std::move(malformed)));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    return Unavailable("LISTEN_FAILED",
                       absl::StrCat("cannot serve gRPC on ", options_.listen_address));
  }
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("liveness", true);

  std::string admin_host;
  int admin_port = 0;
  absl::Status st = SplitHostPort(options_.admin_address, admin_host, admin_port);
  if (!st.ok()) return st;
  admin_ = std::make_unique<httplib::Server>();
  admin_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (tls_metrics_ != nullptr) tls_metrics_->Update();
    res.set_content(SerializeMetrics(*registry_), "text/plain; version=0.0.4");
  });
  admin_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  admin_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = ready_.load();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  if (admin_port == 0) {
    admin_port_ = admin_->bind_to_any_port(admin_host);
  } else {
    admin_port_ = admin_->bind_to_port(admin_host, admin_port) ? admin_port : -1;
  }
  if (admin_port_ <= 0) {
    return Unavailable("LISTEN_FAILED", absl::StrCat("cannot serve HTTP on ", options_.admin_address));
  }
  admin_thread_ = std::thread([this] { admin_->listen_after_bind(); });

  // First readiness verdict before announcing the ports.
  bool ok = true;
  for (auto& [name, check] : checks_) ok = ok && check().ok();
  SetReady(ok);
  readiness_ = std::make_unique<ThreadScheduler>();
  readiness_->Every(options_.readiness_interval, [this] { CheckReadiness(); });

  if (!options_.port_file.empty()) {
    st = WriteFileAtomically(options_.port_file,
                             absl::StrCat("grpc=", HostOf(options_.listen_address), ":", port_,
                                          "\nadmin=", admin_host, ":", admin_port_, "\n"));
    if (!st.ok()) return st;
  }
  Log(LogLevel::kInfo, options_.service, "serving",
      {{"grpc_port", port_}, {"admin_port", admin_port_}, {"ready", ok ? "true" : "false"}});
  return absl::OkStatus();
}

void ServiceHost::SetReady(bool ready) {
  bool was = ready_.exchange(ready);
  if (server_ == nullptr) return;
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", ready);
  for (auto& [svc, name] : services_) health->SetServingStatus(name, ready);
  if (was != ready) {
    Log(ready ? LogLevel::kInfo : LogLevel::kWarning, options_.service,
        ready ? "ready" : "not ready");
  }
}

void ServiceHost::CheckReadiness() {
  bool ok = true;
  for (auto& [name, check] : checks_) {
    absl::Status st = check();
    if (!st.ok()) {
      ok = false;
      Log(LogLevel::kWarning, options_.service, "readiness check failed",
          {{"check", name}, {"error", st.ToString()}});
    }
  }
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (!stopping_) SetReady(ok);
}

void ServiceHost::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  if (readiness_) readiness_->Stop();
  Log(LogLevel::kInfo, options_.service, "draining");
  SetReady(false);
  if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.drain_timeout));
  executor_->Drain();
  if (server_) server_->Wait();
  for (auto it = stop_steps_.rbegin(); it != stop_steps_.rend(); ++it) it->second();
  if (admin_) admin_->stop();
  if (admin_thread_.joinable()) admin_thread_.join();
  Log(LogLevel::kInfo, options_.service, "stopped");
}

}  // namespace dialgrid
