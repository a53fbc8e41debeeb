// PeerChannel / PeerClient against a real gRPC server on loopback (a fake
// tenancy service that records what it receives), and the tenancy client
// (RemoteCredentialVerifier) built on them.

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/auth/remote_credential_verifier.h"
#include "services/common/client/peer_channel.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/server/grpc_status.h"
#include "services/common/tls/tls_files.h"

namespace dialgrid::client {
namespace {

using tenancy::v1::TenancyService;

// What FakeTenancy answers for a tenant it does not know.
absl::Status TenantNotFound(const std::string& name) {
  return WithMetadata(InvalidField("name", "TENANT_NOT_FOUND", "no such tenant"), "tenant", name);
}

// Tenancy as far as these tests need it: GetTenant answers "tenants/acme",
// NOT_FOUND TENANT_NOT_FOUND (with metadata and a field) for anything else,
// and records the metadata and deadline of the last call.
class FakeTenancy final : public TenancyService::Service {
 public:
  grpc::Status GetTenant(grpc::ServerContext* ctx, const tenancy::v1::GetTenantRequest* req,
                         tenancy::v1::Tenant* resp) override {
    Record(ctx);
    if (req->name() != "tenants/acme") {
      return ToGrpcStatus(TenantNotFound(req->name()), "tenancy.dialgrid");
    }
    resp->set_name(req->name());
    resp->set_display_name("Acme");
    return grpc::Status::OK;
  }

  grpc::Status AuthenticateCredential(grpc::ServerContext* ctx,
                                      const tenancy::v1::AuthenticateCredentialRequest* req,
                                      tenancy::v1::AuthenticateCredentialResponse* resp) override {
    Record(ctx);
    if (req->secret() == "good") {
      resp->set_credential("tenants/acme/credentials/k1");
      resp->set_tenant("acme");
      resp->add_roles(tenancy::v1::ROLE_AGENT);
      return grpc::Status::OK;
    }
    if (req->secret() == "revoked") {
      // A verdict about the presented secret, as tenancy marks it.
      return ToGrpcStatus(WithMetadata(Unauthenticated("CREDENTIAL_REVOKED", "revoked"),
                                       "subject", "secret"),
                          "tenancy.dialgrid");
    }
    // Anything else: the caller's own platform credential is refused.
    return ToGrpcStatus(Unauthenticated("CREDENTIAL_UNKNOWN", "unknown platform credential"),
                        "tenancy.dialgrid");
  }

  struct Seen {
    int calls = 0;
    std::string authorization;
    std::string request_id;
    absl::Time deadline;
  };
  Seen seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void Record(grpc::ServerContext* ctx) {
    auto get = [&](const char* key) {
      auto it = ctx->client_metadata().find(key);
      return it == ctx->client_metadata().end()
                 ? std::string()
                 : std::string(it->second.data(), it->second.size());
    };
    std::lock_guard<std::mutex> lock(mu_);
    ++seen_.calls;
    seen_.authorization = get("authorization");
    seen_.request_id = get("x-request-id");
    seen_.deadline = absl::FromChrono(ctx->deadline());
  }

  std::mutex mu_;
  Seen seen_;
};

// A real gRPC server on a free loopback port; TLS when given a key and cert.
class PeerServer {
 public:
  explicit PeerServer(std::shared_ptr<grpc::ServerCredentials> creds =
                          grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", creds, &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~PeerServer() { Stop(); }
  void Stop() {
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now()));
    if (server_) server_->Wait();
    server_.reset();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int port() const { return port_; }
  FakeTenancy& service() { return service_; }

 private:
  FakeTenancy service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

PeerOptions Options(const std::string& address, absl::Duration max_timeout = absl::Seconds(5)) {
  PeerOptions o;
  o.name = "tenancy";
  o.address = address;
  o.credential = "platform-secret";
  o.max_timeout = max_timeout;
  o.deadline_margin = absl::Milliseconds(50);
  return o;
}

tenancy::v1::GetTenantRequest Get(const std::string& name) {
  tenancy::v1::GetTenantRequest req;
  req.set_name(name);
  return req;
}

TEST(PeerDeadline, DerivedFromTheIncomingCallAndCapped) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  const absl::Duration margin = absl::Milliseconds(20);
  // Time left: the incoming deadline less the margin.
  EXPECT_EQ(PeerDeadline(now, now + absl::Milliseconds(500), margin, absl::Seconds(2)),
            now + absl::Milliseconds(480));
  // Plenty of time left: the per-peer cap.
  EXPECT_EQ(PeerDeadline(now, now + absl::Minutes(1), margin, absl::Seconds(2)),
            now + absl::Seconds(2));
  // No incoming call (or one without a deadline): the cap.
  EXPECT_EQ(PeerDeadline(now, absl::InfiniteFuture(), margin, absl::Seconds(2)),
            now + absl::Seconds(2));
  // Less than the margin left: nothing to call with.
  EXPECT_LE(PeerDeadline(now, now + absl::Milliseconds(10), margin, absl::Seconds(2)), now);
}

TEST(IncomingCallTest, TakesDeadlineAndRequestIdFromACallContext) {
  struct LikeCallContext {  // the fields of server/rpc.h's CallContext it reads
    std::string method = "GetFoo";
    std::string request_id = "req-1";
    absl::Time deadline = absl::FromUnixSeconds(42);
  } call;
  IncomingCall in = call;
  EXPECT_EQ(in.deadline, absl::FromUnixSeconds(42));
  EXPECT_EQ(in.request_id, "req-1");
  EXPECT_EQ(IncomingCall().deadline, absl::InfiniteFuture());
}

TEST(PeerChannelTest, RefusesOptionsWithoutNameAddressOrTimeout) {
  PeerOptions o = Options("127.0.0.1:1");
  o.name.clear();
  EXPECT_TRUE(absl::IsInvalidArgument(PeerChannel::Create(o).status()));
  o = Options("");
  EXPECT_TRUE(absl::IsInvalidArgument(PeerChannel::Create(o).status()));
  o = Options("127.0.0.1:1", absl::ZeroDuration());
  EXPECT_TRUE(absl::IsInvalidArgument(PeerChannel::Create(o).status()));
}

TEST(PeerChannelTest, AttachesTheCredentialAndForwardsTheRequestId) {
  PeerServer server;
  auto peer = PeerChannel::Create(Options(server.address()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  PeerClient<TenancyService> client(*peer);

  auto t = client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme"),
                       IncomingCall(absl::Now() + absl::Seconds(10), "req-42"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->display_name(), "Acme");
  EXPECT_EQ(server.service().seen().authorization, "Bearer platform-secret");
  EXPECT_EQ(server.service().seen().request_id, "req-42");

  // Outside of an incoming call: the credential still, no request id.
  ASSERT_TRUE(client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme")).ok());
  EXPECT_EQ(server.service().seen().authorization, "Bearer platform-secret");
  EXPECT_EQ(server.service().seen().request_id, "");
}

TEST(PeerChannelTest, DeadlineIsTheIncomingOneLessTheMarginCappedByThePeer) {
  PeerServer server;
  auto peer = PeerChannel::Create(Options(server.address(), absl::Seconds(3)));
  ASSERT_TRUE(peer.ok()) << peer.status();
  PeerClient<TenancyService> client(*peer);
  // gRPC carries a deadline as a timeout, so the server's view of it may be
  // off by the transit time and rounding: a tolerance, not equality.
  const absl::Duration tolerance = absl::Milliseconds(100);

  // Derived: the incoming call is due in 1 s, the peer's cap is 3 s.
  absl::Time incoming = absl::Now() + absl::Seconds(1);
  ASSERT_TRUE(client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme"),
                          IncomingCall(incoming))
                  .ok());
  absl::Duration off = server.service().seen().deadline - (incoming - absl::Milliseconds(50));
  EXPECT_LT(absl::AbsDuration(off), tolerance) << off;

  // Capped: the incoming call is due in 60 s.
  absl::Time before = absl::Now();
  ASSERT_TRUE(client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme"),
                          IncomingCall(before + absl::Seconds(60)))
                  .ok());
  absl::Time seen = server.service().seen().deadline;
  EXPECT_LE(seen, absl::Now() + absl::Seconds(3) + tolerance);
  EXPECT_GE(seen, before + absl::Seconds(3) - tolerance);

  // No incoming call: the cap.
  before = absl::Now();
  ASSERT_TRUE(client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme")).ok());
  seen = server.service().seen().deadline;
  EXPECT_LE(seen, absl::Now() + absl::Seconds(3) + tolerance);
  EXPECT_GE(seen, before + absl::Seconds(3) - tolerance);
}

TEST(PeerChannelTest, NoTimeLeftFailsWithoutCallingThePeer) {
  PeerServer server;
  auto peer = PeerChannel::Create(Options(server.address()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  PeerClient<TenancyService> client(*peer);
  // Due in 10 ms, less than the 50 ms margin.
  auto t = client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme"),
                       IncomingCall(absl::Now() + absl::Milliseconds(10)));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t.status())) << t.status();
  EXPECT_EQ(ReasonOf(t.status()), "PEER_DEADLINE_EXCEEDED");
  EXPECT_EQ(server.service().seen().calls, 0);
}

TEST(PeerChannelTest, ThePeersReasonMetadataAndFieldRoundTrip) {
  PeerServer server;
  auto peer = PeerChannel::Create(Options(server.address()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  PeerClient<TenancyService> client(*peer);
  auto t = client.Call(&TenancyService::Stub::GetTenant, Get("tenants/nope"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(t.status())) << t.status();
  EXPECT_EQ(t.status().message(), TenantNotFound("tenants/nope").message());
  EXPECT_EQ(ReasonOf(t.status()), "TENANT_NOT_FOUND");
  EXPECT_EQ(FieldOf(t.status()), "name");
  auto tenant = t.status().GetPayload(absl::StrCat(kMetadataPayloadPrefix, "tenant"));
  ASSERT_TRUE(tenant.has_value());
  EXPECT_EQ(std::string(*tenant), "tenants/nope");
  // What the peer said is passed on as it said it: no "peer" added.
  EXPECT_FALSE(t.status().GetPayload(absl::StrCat(kMetadataPayloadPrefix, "peer")).has_value());
}

TEST(PeerChannelTest, PeerDownIsUnavailableNamingThePeer) {
  std::string address;
  {
    PeerServer server;  // a port that was just free, now closed
    address = server.address();
    server.Stop();
  }
  auto peer = PeerChannel::Create(Options(address));
  ASSERT_TRUE(peer.ok()) << peer.status();
  PeerClient<TenancyService> client(*peer);
  auto t = client.Call(&TenancyService::Stub::GetTenant, Get("tenants/acme"));
  EXPECT_TRUE(absl::IsUnavailable(t.status())) << t.status();
  EXPECT_EQ(ReasonOf(t.status()), "PEER_UNAVAILABLE");
  auto name = t.status().GetPayload(absl::StrCat(kMetadataPayloadPrefix, "peer"));
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(std::string(*name), "tenancy");
}

TEST(PeerChannelTest, TlsFromOptions) {
  auto cert = ReadFileToString(DIALGRID_TEST_DATA_DIR "/peer_tls_cert.pem");
  auto key = ReadFileToString(DIALGRID_TEST_DATA_DIR "/peer_tls_key.pem");
  ASSERT_TRUE(cert.ok() && key.ok());
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  PeerServer server(grpc::SslServerCredentials(ssl));

  PeerOptions o = Options(server.address());
  o.tls.enabled = true;
  o.tls.root_certs_pem = *cert;
  o.tls.server_name = "peer.test";  // the name in the test certificate
  auto tls = PeerChannel::Create(o);
  ASSERT_TRUE(tls.ok()) << tls.status();
  auto t = PeerClient<TenancyService>(*tls).Call(&TenancyService::Stub::GetTenant,
                                                 Get("tenants/acme"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(server.service().seen().authorization, "Bearer platform-secret");

  // Plaintext to a TLS port does not get through.
  auto plain = PeerChannel::Create(Options(server.address(), absl::Seconds(2)));
  ASSERT_TRUE(plain.ok());
  t = PeerClient<TenancyService>(*plain).Call(&TenancyService::Stub::GetTenant,
                                              Get("tenants/acme"));
  EXPECT_TRUE(absl::IsUnavailable(t.status())) << t.status();
  EXPECT_EQ(ReasonOf(t.status()), "PEER_UNAVAILABLE");
}

// Mutual TLS: the client certificate from files (TlsFiles, as --peer_tls_cert_file
// reads it), the peer's CA from a file, and the name checked against the
// override when one is given.
TEST(PeerChannelTest, ClientCertificateFromFilesAndTheNameOverrideChecked) {
  auto cert = ReadFileToString(DIALGRID_TEST_DATA_DIR "/mtls_server_cert.pem");
  auto key = ReadFileToString(DIALGRID_TEST_DATA_DIR "/mtls_server_key.pem");
  auto ca = ReadFileToString(DIALGRID_TEST_DATA_DIR "/mtls_ca.pem");
  ASSERT_TRUE(cert.ok() && key.ok() && ca.ok());
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = *ca;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  PeerServer server(grpc::SslServerCredentials(ssl));

  auto identity = TlsFiles::Create("peer-test", DIALGRID_TEST_DATA_DIR "/mtls_client_cert.pem",
                                   DIALGRID_TEST_DATA_DIR "/mtls_client_key.pem",
                                   absl::ZeroDuration());
  ASSERT_TRUE(identity.ok()) << identity.status();
  std::shared_ptr<TlsFiles> shared(std::move(*identity));
  auto call = [&](const std::string& server_name, bool with_identity) {
    PeerOptions o = Options(server.address(), absl::Seconds(3));
    o.tls.enabled = true;
    o.tls.root_certs_file = DIALGRID_TEST_DATA_DIR "/mtls_ca.pem";
    o.tls.root_certs_pem = *ca;
    o.tls.server_name = server_name;
    if (with_identity) o.tls.client_identity = shared;
    auto channel = PeerChannel::Create(o);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return PeerClient<TenancyService>(*channel).Call(&TenancyService::Stub::GetTenant,
                                                     Get("tenants/acme"));
  };
  auto ok = call("localhost", true);  // a name of the server's certificate
  EXPECT_TRUE(ok.ok()) << ok.status();
  // A name the certificate does not carry: refused although the address
  // (127.0.0.1) is in it, so the override is what was checked.
  auto wrong = call("wrong.example", true);
  EXPECT_TRUE(absl::IsUnavailable(wrong.status())) << wrong.status();
  // No client certificate: a server that requires one lets no call through.
  auto anonymous = call("localhost", false);
  EXPECT_TRUE(absl::IsUnavailable(anonymous.status())) << anonymous.status();
}

// The tenancy client on PeerChannel: same verdicts as before.
TEST(RemoteCredentialVerifierTest, PassesVerdictsOnTheSecretAndHidesTheRest) {
  PeerServer server;
  auto peer = PeerChannel::Create(Options(server.address()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  auth::RemoteCredentialVerifier verifier(*peer);

  auto p = verifier.Verify("good");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->credential, "tenants/acme/credentials/k1");
  EXPECT_EQ(server.service().seen().authorization, "Bearer platform-secret");

  p = verifier.Verify("revoked");
  EXPECT_TRUE(absl::IsUnauthenticated(p.status())) << p.status();
  EXPECT_EQ(ReasonOf(p.status()), "CREDENTIAL_REVOKED");

  // Tenancy refusing our own credential is not the caller's fault.
  p = verifier.Verify("other");
  EXPECT_TRUE(absl::IsUnavailable(p.status())) << p.status();
  EXPECT_EQ(ReasonOf(p.status()), "AUTH_UNAVAILABLE");

  server.Stop();
  p = verifier.Verify("good");
  EXPECT_TRUE(absl::IsUnavailable(p.status())) << p.status();
  EXPECT_EQ(ReasonOf(p.status()), "AUTH_UNAVAILABLE");
}

TEST(RemoteCredentialVerifierTest, OverAPlainChannelAsBefore) {
  PeerServer server;
  auth::RemoteCredentialVerifier verifier(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()), "platform-secret",
      absl::Seconds(5));
  ASSERT_TRUE(verifier.Verify("good").ok());
  EXPECT_EQ(server.service().seen().authorization, "Bearer platform-secret");
  // The timeout given (a tolerance: gRPC carries it as a rounded timeout).
  absl::Duration left = server.service().seen().deadline - absl::Now();
  EXPECT_GT(left, absl::Seconds(4));
  EXPECT_LE(left, absl::Seconds(5) + absl::Milliseconds(100));
}

}  // namespace
}  // namespace dialgrid::client
