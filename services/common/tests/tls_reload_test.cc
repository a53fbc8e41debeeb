// TLS on the gRPC port follows its files: a certificate renewed in place (a
// Kubernetes Secret updated under the pod) is served to new connections
// without a restart; a pair whose key does not match is not taken.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <future>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/server/service_host.h"
#include "services/common/tls/tls_files.h"

namespace dialgrid {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& name) {
  auto text = ReadFileToString(absl::StrCat(DIALGRID_TEST_DATA_DIR, "/", name));
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// Replaces `path` the way the kubelet updates a mounted Secret: the new
// content appears at once (rename), never half-written.
void Put(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, path);
}

// A fresh TLS connection trusting only `root_pem` gets an answer from the
// health service: the server presented a certificate chaining to it.
bool Handshakes(int port, const std::string& root_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("peer.test");
  // A channel of its own (no subchannel shared with an earlier one), so
  // each check is a new handshake.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                           grpc::SslCredentials(ssl), args);
  // grpc.health.v1.Health/Check {service: "liveness"}, encoded by hand
  // (field 1, length 8).
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
  grpc::Slice slice(std::string("\x0a\x08liveness", 10));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status st) { done.set_value(std::move(st)); });
  return done.get_future().get().ok();
}

class TlsReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("dialgrid-tls-reload-", getpid());
    fs::create_directories(dir_);
    cert_ = Read("peer_tls_cert.pem");
    key_ = Read("peer_tls_key.pem");
    renewed_cert_ = Read("peer_tls_cert_renewed.pem");
    renewed_key_ = Read("peer_tls_key_renewed.pem");
    Put(dir_ / "tls.crt", cert_);
    Put(dir_ / "tls.key", key_);
  }
  void TearDown() override {
    if (host_) host_->Shutdown();
    fs::remove_all(dir_);
  }
  void StartHost(absl::Duration reload) {
    ServiceHostOptions o;
    o.service = "tlstest";
    o.executor_threads = 2;
    o.tls_cert_file = (dir_ / "tls.crt").string();
    o.tls_key_file = (dir_ / "tls.key").string();
    o.tls_reload_interval = reload;
    auto host = ServiceHost::Create(o);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    ASSERT_TRUE(host_->Start().ok());
  }
  // Waits until a new connection trusting `root` gets through (true), or
  // `within` passes (false).
  // The admin port's /metrics text.
  std::string Metrics() {
    httplib::Client admin("127.0.0.1", host_->admin_port());
    auto res = admin.Get("/metrics");
    return res && res->status == 200 ? res->body : "";
  }
  bool EventuallyHandshakes(const std::string& root, absl::Duration within) {
    const absl::Time end = absl::Now() + within;
    while (absl::Now() < end) {
      if (Handshakes(host_->port(), root)) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  fs::path dir_;
  std::string cert_, key_, renewed_cert_, renewed_key_;
  std::unique_ptr<ServiceHost> host_;
};

TEST_F(TlsReloadTest, ARenewedCertificateIsServedWithoutARestart) {
  StartHost(absl::Seconds(1));
  ASSERT_TRUE(EventuallyHandshakes(cert_, absl::Seconds(5)));
  EXPECT_FALSE(Handshakes(host_->port(), renewed_cert_));  // not trusted yet

  // One file renewed, the other not yet: a key that does not match its
  // certificate is not taken (gRPC alone would serve no handshake at all);
  // the old pair stays in service.
  Put(dir_ / "tls.crt", renewed_cert_);
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_TRUE(Handshakes(host_->port(), cert_));
  EXPECT_FALSE(Handshakes(host_->port(), renewed_cert_));

  // The full renewed pair: new connections get it, the old one is gone.
  Put(dir_ / "tls.key", renewed_key_);
  EXPECT_TRUE(EventuallyHandshakes(renewed_cert_, absl::Seconds(10)));
  EXPECT_FALSE(Handshakes(host_->port(), cert_));

  // What the alerts read: one refused pair, one taken, and the expiry of
  // the 100-year test certificate.
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("dialgrid_tlstest_tls_reloads_total{result=\"refused\"} 1"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("dialgrid_tlstest_tls_reloads_total{result=\"taken\"} 1"),
            std::string::npos) << metrics;
  const auto at = metrics.find("\ndialgrid_tlstest_tls_certificate_expiry_timestamp_seconds ");
  ASSERT_NE(at, std::string::npos) << metrics;
  const double expiry = std::atof(metrics.c_str() + at + 59);
  EXPECT_GT(expiry, absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 365 * 50)));
}

TEST_F(TlsReloadTest, TlsFilesStagesOnlyMatchingPairs) {
  auto files = TlsFiles::Create("tlstest", (dir_ / "tls.crt").string(),
                                (dir_ / "tls.key").string(), absl::ZeroDuration());
  ASSERT_TRUE(files.ok()) << files.status();
  TlsFiles& f = **files;
  auto staged = [&] { return ReadFileToString(f.cert_path()).value_or(""); };
  EXPECT_EQ(staged(), cert_);
  EXPECT_EQ(ReadFileToString(f.key_path()).value_or(""), key_);
  EXPECT_GT(f.not_after(), absl::Now() + absl::Hours(24 * 365 * 50));  // the 100-year test certificate

  Put(dir_ / "tls.crt", renewed_cert_);  // the key is still the old one
  f.CheckNow();
  f.CheckNow();  // the same refused content is counted (and logged) once
  EXPECT_EQ(f.refusals(), 1);
  EXPECT_EQ(f.reloads(), 0);
  EXPECT_EQ(staged(), cert_);

  Put(dir_ / "tls.key", renewed_key_);
  f.CheckNow();
  EXPECT_EQ(f.reloads(), 1);
  EXPECT_EQ(staged(), renewed_cert_);
  EXPECT_EQ(ReadFileToString(f.key_path()).value_or(""), renewed_key_);
  f.CheckNow();  // unchanged files: nothing staged again
  EXPECT_EQ(f.reloads(), 1);

  // A mismatched pair at start is refused with its reason.
  Put(dir_ / "tls.key", key_);
  auto bad = TlsFiles::Create("tlstest", (dir_ / "tls.crt").string(), (dir_ / "tls.key").string(),
                              absl::ZeroDuration());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ReasonOf(bad.status()), "TLS_PAIR_INVALID");
  // The staging directory goes with the object.
  const std::string dir = fs::path(f.cert_path()).parent_path().parent_path().string();
  files->reset();
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(TlsReloadTest, WithoutReloadTheFilesAreReadOnce) {
  StartHost(absl::ZeroDuration());
  ASSERT_TRUE(EventuallyHandshakes(cert_, absl::Seconds(5)));
  Put(dir_ / "tls.crt", renewed_cert_);
  Put(dir_ / "tls.key", renewed_key_);
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_TRUE(Handshakes(host_->port(), cert_));
  EXPECT_FALSE(Handshakes(host_->port(), renewed_cert_));
}

TEST_F(TlsReloadTest, AnEmptyOrMissingFileStopsTheStart) {
  Put(dir_ / "tls.key", "");
  ServiceHostOptions o;
  o.service = "tlstest";
  o.tls_cert_file = (dir_ / "tls.crt").string();
  o.tls_key_file = (dir_ / "tls.key").string();
  auto host = ServiceHost::Create(o);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_FALSE((*host)->Start().ok());
  o.tls_key_file = (dir_ / "missing.key").string();
  host = ServiceHost::Create(o);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_FALSE((*host)->Start().ok());
}

}  // namespace
}  // namespace dialgrid
