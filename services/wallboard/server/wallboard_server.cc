#include "services/wallboard/server/wallboard_server.h"

#include <cstdio>
#include <fstream>
#include <utility>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/random.h"
#include "services/common/core/request_ids.h"
#include "services/common/core/status_macros.h"
#include "services/common/server/metrics.h"
#include "services/wallboard/domain/access.h"
#include "services/wallboard/domain/board.h"
#include "services/wallboard/server/assets/wallboard.css.h"
#include "services/wallboard/server/assets/wallboard.html.h"
#include "services/wallboard/server/assets/wallboard.js.h"

namespace dialgrid::wallboard {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";

absl::Status SplitHostPort(absl::string_view field, const std::string& address, std::string& host,
                           int& port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return InvalidField(field, "INVALID_ADDRESS",
                        absl::StrCat("expected host:port, got \"", address, "\""));
  }
  host = address.substr(0, colon);
  return absl::OkStatus();
}

// Binds `server` to `address` (port 0: any free port); the port, or -1.
int Bind(httplib::Server& server, const std::string& host, int port) {
  if (port == 0) return server.bind_to_any_port(host);
  return server.bind_to_port(host, port) ? port : -1;
}

// Headers on every answer of the page's port: no caching (the board and the
// page are per viewer), no framing, no sniffing, no referrer, and a content
// security policy that allows only the page's own script, style and API.
httplib::Headers SecurityHeaders() {
  return {
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
  };
}

void SendError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatusOf(status.code());
  if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(ErrorToJson(status), kJson);
}

}  // namespace

WallboardServer::WallboardServer(WallboardServerOptions options, const BoardBuilder& builder,
                                 std::shared_ptr<prometheus::Registry> registry,
                                 WallboardMetrics& metrics, const Clock& clock)
    : options_(std::move(options)),
      builder_(builder),
      registry_(std::move(registry)),
      metrics_(metrics),
      clock_(clock) {}

WallboardServer::~WallboardServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<WallboardServer>> WallboardServer::Create(
    WallboardServerOptions options, const BoardBuilder& builder,
    std::shared_ptr<prometheus::Registry> registry, WallboardMetrics& metrics, const Clock& clock) {
  std::string host;
  int port = 0;
  DG_RETURN_IF_ERROR(SplitHostPort("listen", options.listen_address, host, port));
  DG_RETURN_IF_ERROR(SplitHostPort("admin_listen", options.admin_address, host, port));
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidField("tls_cert_file", "TLS_FILES_INVALID",
                        "give both --tls_cert_file and --tls_key_file, or neither");
  }
  std::unique_ptr<WallboardServer> server(
      new WallboardServer(std::move(options), builder, std::move(registry), metrics, clock));
  const WallboardServerOptions& o = server->options_;
  if (o.tls_cert_file.empty()) {
    server->http_ = std::make_unique<httplib::Server>();
  } else {
    std::string cert = o.tls_cert_file, key = o.tls_key_file;
    if (o.tls_reload_interval > absl::ZeroDuration()) {
      // Followed on disk: only a matching pair is taken (TlsFiles).
      auto files = TlsFiles::Create("wallboard", o.tls_cert_file, o.tls_key_file,
                                    o.tls_reload_interval);
      if (!files.ok()) return files.status();
      server->tls_files_ = *std::move(files);
      server->tls_metrics_ =
          std::make_unique<TlsFileMetrics>(*server->registry_, "wallboard", *server->tls_files_);
      cert = server->tls_files_->cert_path();
      key = server->tls_files_->key_path();
    }
    auto https = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    if (!https->is_valid()) {
      return InvalidField("tls_cert_file", "TLS_FILES_INVALID",
                          "the TLS certificate or key cannot be loaded");
    }
    if (server->tls_files_ != nullptr) {
      SSL_CTX_set_cert_cb(https->ssl_context(), &WallboardServer::UseCurrentPair, server.get());
    }
    server->http_ = std::move(https);
  }
  server->admin_ = std::make_unique<httplib::Server>();
  server->Routes();
  return server;
}

// A certificate chain and its key, as OpenSSL holds them.
struct WallboardServer::ServedPair {
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  ~ServedPair() {
    X509_free(cert);
    if (chain != nullptr) sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

std::shared_ptr<const WallboardServer::ServedPair> WallboardServer::CurrentPair() {
  std::lock_guard<std::mutex> lock(pair_mu_);
  const int generation = tls_files_->reloads();
  if (pair_ != nullptr && generation == pair_generation_) return pair_;
  auto pair = std::make_shared<ServedPair>();
  BIO* cert_bio = BIO_new_file(tls_files_->cert_path().c_str(), "r");
  BIO* key_bio = BIO_new_file(tls_files_->key_path().c_str(), "r");
  if (cert_bio != nullptr && key_bio != nullptr) {
    pair->cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    pair->chain = sk_X509_new_null();
    while (X509* extra = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr)) {
      sk_X509_push(pair->chain, extra);
    }
    ERR_clear_error();  // the end of the file reads as an error
    pair->key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  }
  BIO_free(cert_bio);
  BIO_free(key_bio);
  if (pair->cert == nullptr || pair->key == nullptr) {
    Log(LogLevel::kWarning, "wallboard", "staged TLS pair unreadable; the last one kept", {});
    return pair_;
  }
  pair_ = std::move(pair);
  pair_generation_ = generation;
  return pair_;
}

int WallboardServer::UseCurrentPair(SSL* ssl, void* self) {
  std::shared_ptr<const ServedPair> pair = static_cast<WallboardServer*>(self)->CurrentPair();
  if (pair == nullptr) return 1;  // the context's own pair
  return SSL_use_cert_and_key(ssl, pair->cert, pair->key, pair->chain, 1) == 1 ? 1 : 0;
}

void WallboardServer::Routes() {
  httplib::Server& http = *http_;
  http.set_default_headers(SecurityHeaders());
  // A request that is slow to send is not waited for long.
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);

  auto asset = [this](const char* body, const char* type, const char* route) {
    return [this, body, type, route](const httplib::Request&, httplib::Response& res) {
      absl::Time start = clock_.Now();
      res.set_content(body, type);
      metrics_.Request(route, 200, clock_.Now() - start);
    };
  };
  http.Get("/", asset(assets::kWallboardHtml, "text/html; charset=utf-8", "page"));
  http.Get("/index.html", asset(assets::kWallboardHtml, "text/html; charset=utf-8", "page"));
  http.Get("/wallboard.js", asset(assets::kWallboardJs, "text/javascript; charset=utf-8", "asset"));
  http.Get("/wallboard.css", asset(assets::kWallboardCss, "text/css; charset=utf-8", "asset"));

  http.Get(R"(/api/v1/tenants/([^/]+)/board)", [this](const httplib::Request& req,
                                                      httplib::Response& res) {
    absl::Time start = clock_.Now();
    std::string request_id = req.get_header_value("X-Request-Id");
    if (request_id.empty() || !ValidateRequestId(request_id).ok()) request_id = RandomHex(8);
    res.set_header("X-Request-Id", request_id);
    std::string tenant = req.matches[1];
    std::string credential_id;
    auto finish = [&](const absl::Status& failure) {
      if (!failure.ok()) SendError(res, failure);
      absl::Duration took = clock_.Now() - start;
      metrics_.Request("board", res.status, took);
      if (!failure.ok()) {
        // Who asked, never with what: the credential's id only.
        Log(res.status >= 500 ? LogLevel::kWarning : LogLevel::kInfo, "wallboard", "board refused",
            {{"tenant", tenant.substr(0, 64)},
             {"http_status", res.status},
             {"code", absl::StatusCodeToString(failure.code())},
             {"reason", PartState::From(failure).reason},
             {"credential_id", credential_id},
             {"request_id", request_id},
             {"duration_ms", static_cast<long long>(absl::ToInt64Milliseconds(took))}});
      }
    };

    absl::StatusOr<std::string> credential =
        CredentialFromHeader(req.get_header_value("Authorization"));
    if (!credential.ok()) return finish(credential.status());
    credential_id = CredentialIdOf(*credential);
    if (absl::Status st = ValidateTenant(tenant); !st.ok()) return finish(st);
    if (!ready_.load()) {
      return finish(Unavailable("SHUTTING_DOWN", "the wallboard is shutting down; retry"));
    }
    if (in_flight_.fetch_add(1) >= options_.max_concurrent_boards) {
      in_flight_.fetch_sub(1);
      metrics_.boards_shed().Increment();
      return finish(Unavailable("OVERLOADED", "too many boards are being built; retry"));
    }
    metrics_.boards_in_flight().Increment();
    Viewer viewer{tenant, *std::move(credential), clock_.Now() + options_.board_timeout,
                  request_id};
    absl::StatusOr<Board> board = builder_.Build(viewer);
    metrics_.boards_in_flight().Decrement();
    in_flight_.fetch_sub(1);
    if (!board.ok()) return finish(board.status());
    res.status = 200;
    res.set_content(BoardToJson(*board), kJson);
    finish(absl::OkStatus());
  });

  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404) {
          SendError(res, NotFound("NOT_FOUND_PATH", "no such page; the board is at /"));
          metrics_.Request("other", 404, absl::ZeroDuration());
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      }));
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendError(res, absl::InternalError("the wallboard failed to answer"));
      });

  httplib::Server& admin = *admin_;
  admin.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (tls_metrics_ != nullptr) tls_metrics_->Update();
    res.set_content(SerializeMetrics(*registry_), "text/plain; version=0.0.4");
  });
  admin.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  // Ready while serving: the wallboard keeps no state and needs no backend
  // to answer (a service that is down shows as unavailable on the board).
  admin.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = ready_.load();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
}

absl::Status WallboardServer::Start() {
  std::string host, admin_host;
  int port = 0, admin_port = 0;
  DG_RETURN_IF_ERROR(SplitHostPort("listen", options_.listen_address, host, port));
  DG_RETURN_IF_ERROR(SplitHostPort("admin_listen", options_.admin_address, admin_host, admin_port));
  port_ = Bind(*http_, host, port);
  if (port_ <= 0) {
    return Unavailable("LISTEN_FAILED",
                       absl::StrCat("cannot serve HTTP on ", options_.listen_address));
  }
  admin_port_ = Bind(*admin_, admin_host, admin_port);
  if (admin_port_ <= 0) {
    return Unavailable("LISTEN_FAILED",
                       absl::StrCat("cannot serve HTTP on ", options_.admin_address));
  }
  http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  admin_thread_ = std::thread([this] { admin_->listen_after_bind(); });
  ready_.store(true);
  if (!options_.port_file.empty()) {
    std::string tmp = options_.port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "http=" << host << ":" << port_ << "\nadmin=" << admin_host << ":" << admin_port_
          << "\n";
      if (!out.good()) {
        return Unavailable("PORT_FILE_WRITE_FAILED",
                           absl::StrCat("cannot write ", options_.port_file));
      }
    }
    if (std::rename(tmp.c_str(), options_.port_file.c_str()) != 0) {
      return Unavailable("PORT_FILE_WRITE_FAILED",
                         absl::StrCat("cannot write ", options_.port_file));
    }
  }
  Log(LogLevel::kInfo, "wallboard", "serving",
      {{"http_port", port_},
       {"admin_port", admin_port_},
       {"tls", options_.tls_cert_file.empty() ? "false" : "true"}});
  return absl::OkStatus();
}

void WallboardServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  ready_.store(false);
  if (http_) http_->stop();
  if (http_thread_.joinable()) http_thread_.join();
  if (admin_) admin_->stop();
  if (admin_thread_.joinable()) admin_thread_.join();
}

}  // namespace dialgrid::wallboard
