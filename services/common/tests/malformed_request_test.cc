// Requests whose bytes do not parse, sent with grpc::GenericStub to a real
// ServiceHost: INVALID_ARGUMENT MALFORMED_REQUEST, counted in the RPC metrics,
// for a callback service (tenancy's style), a synchronous one (compliance's
// style) and a server-streaming method.

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "services/common/core/errors.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/malformed_request.h"
#include "services/common/server/metrics.h"
#include "services/common/server/service_host.h"

namespace dialgrid {
namespace {

// Callback API, as tenancy and contacts serve.
class CallbackTenancy final : public tenancy::v1::TenancyService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetTenant(grpc::CallbackServerContext* ctx,
                                      const tenancy::v1::GetTenantRequest* req,
                                      tenancy::v1::Tenant* resp) override {
    ++handled;
    resp->set_name(req->name());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::atomic<int> handled{0};
};

// Synchronous API, as compliance serves.
class SyncCompliance final : public compliance::v1::ComplianceService::Service {
 public:
  grpc::Status GetRuleSet(grpc::ServerContext*, const compliance::v1::GetRuleSetRequest*,
                          compliance::v1::RuleSet*) override {
    ++handled;
    return grpc::Status::OK;
  }
  std::atomic<int> handled{0};
};

// Callback API with a server-streaming method (ExportContacts); nothing is
// implemented: a request that parses gets UNIMPLEMENTED.
class CallbackContacts final : public contacts::v1::ContactsService::CallbackService {};

constexpr char kContacts[] = "dialgrid.contacts.v1.ContactsService";
constexpr char kTenancy[] = "dialgrid.tenancy.v1.TenancyService";
constexpr char kCompliance[] = "dialgrid.compliance.v1.ComplianceService";
// Field 1 with wire type 7, which does not exist: no message parses from it.
const std::string kGarbage("\x0f\xff\xff\xff", 4);

class MalformedRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceHostOptions o;
    o.service = "hosttest";
    o.executor_threads = 2;
    auto host = ServiceHost::Create(o);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    host_->AddService(&tenancy_, kTenancy);
    host_->AddService(&compliance_, kCompliance);
    host_->AddService(&contacts_, kContacts);
    ASSERT_TRUE(host_->Start().ok());
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (host_) host_->Shutdown();
  }

  // A unary call of `method` ("/pkg.Service/Method") with `bytes` as the
  // request message.
  grpc::Status Send(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status st) { done.set_value(std::move(st)); });
    return done.get_future().get();
  }

  // dialgrid_hosttest_rpc_requests_total{method,code}, -1 when absent.
  double Count(absl::string_view method, absl::string_view code) {
    for (absl::string_view line : absl::StrSplit(SerializeMetrics(host_->registry()), '\n')) {
      if (absl::StartsWith(line, "dialgrid_hosttest_rpc_requests_total{") &&
          absl::StrContains(line, absl::StrCat("method=\"", method, "\"")) &&
          absl::StrContains(line, absl::StrCat("code=\"", code, "\""))) {
        double v = 0;
        EXPECT_TRUE(absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) << line;
        return v;
      }
    }
    return -1;
  }

  // A server-streaming call of `method` with `bytes` as its one request
  // message; its final status.
  grpc::Status SendStreaming(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(channel_);
    grpc::CompletionQueue cq;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    auto call = stub.PrepareCall(&ctx, method, &cq);
    auto wait = [&cq] {
      void* tag = nullptr;
      bool ok = false;
      EXPECT_TRUE(cq.Next(&tag, &ok));
    };
    call->StartCall(nullptr);
    wait();
    grpc::Slice slice(bytes);
    call->WriteLast(grpc::ByteBuffer(&slice, 1), grpc::WriteOptions(), nullptr);
    wait();  // may fail if the server has already answered: either way
    grpc::Status st;
    call->Finish(&st, nullptr);
    wait();
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
    }
    return st;
  }

  CallbackTenancy tenancy_;
  SyncCompliance compliance_;
  CallbackContacts contacts_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

void ExpectMalformed(const grpc::Status& st, absl::string_view request_type) {
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), request_type)) << st.error_message();
  absl::Status s = FromGrpcStatus(st);
  EXPECT_EQ(ReasonOf(s), "MALFORMED_REQUEST") << s;
}

TEST_F(MalformedRequestTest, CallbackServiceAnswersInvalidArgumentAndCountsIt) {
  grpc::Status st = Send(absl::StrCat("/", kTenancy, "/GetTenant"), kGarbage);
  ExpectMalformed(st, "dialgrid.tenancy.v1.GetTenantRequest");
  EXPECT_EQ(tenancy_.handled.load(), 0);
  EXPECT_EQ(Count("GetTenant", "INVALID_ARGUMENT"), 1);

  st = Send(absl::StrCat("/", kTenancy, "/GetTenant"), kGarbage);
  ExpectMalformed(st, "dialgrid.tenancy.v1.GetTenantRequest");
  EXPECT_EQ(Count("GetTenant", "INVALID_ARGUMENT"), 2);
}

TEST_F(MalformedRequestTest, SyncServiceAnswersInvalidArgumentAndCountsIt) {
  grpc::Status st = Send(absl::StrCat("/", kCompliance, "/GetRuleSet"), kGarbage);
  ExpectMalformed(st, "dialgrid.compliance.v1.GetRuleSetRequest");
  EXPECT_EQ(compliance_.handled.load(), 0);
  EXPECT_EQ(Count("GetRuleSet", "INVALID_ARGUMENT"), 1);
}

TEST_F(MalformedRequestTest, ServerStreamingRequestIsCoveredToo) {
  grpc::Status st = SendStreaming(absl::StrCat("/", kContacts, "/ExportContacts"), kGarbage);
  ExpectMalformed(st, "dialgrid.contacts.v1.ExportContactsRequest");
  EXPECT_EQ(Count("ExportContacts", "INVALID_ARGUMENT"), 1);
  // A request that parses reaches the (unimplemented) method as before.
  st = SendStreaming(absl::StrCat("/", kContacts, "/ExportContacts"), "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED) << st.error_message();
  EXPECT_EQ(Count("ExportContacts", "UNIMPLEMENTED"), -1);
}

TEST_F(MalformedRequestTest, WellFormedRequestsAreUntouched) {
  tenancy::v1::GetTenantRequest req;
  req.set_name("tenants/acme");
  grpc::Status st = Send(absl::StrCat("/", kTenancy, "/GetTenant"), req.SerializeAsString());
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(tenancy_.handled.load(), 1);
  // An empty message is a valid (all-default) request.
  st = Send(absl::StrCat("/", kCompliance, "/GetRuleSet"), "");
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(compliance_.handled.load(), 1);
  // The handlers (no ServeUnary here) count nothing; nothing was refused.
  EXPECT_EQ(Count("GetTenant", "INVALID_ARGUMENT"), -1);
  EXPECT_EQ(Count("GetRuleSet", "INVALID_ARGUMENT"), -1);
}

// The interceptor on a plain ServerBuilder: a service not in
// counted_services (as health and reflection are for a host) is answered
// the same way but not counted.
TEST(MalformedRequestInterceptor, AnswersEveryServiceButCountsOnlyTheListed) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry, "plain");
  MalformedRequestOptions o;
  o.service = "plain";
  o.error_domain = "plain.dialgrid";
  o.metrics = &metrics;
  o.counted_services = {kCompliance};
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(MalformedRequestInterceptorFactory(o));
  CallbackTenancy tenancy;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&tenancy);
  builder.experimental().SetInterceptorCreators(std::move(creators));
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  grpc::GenericStub stub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  grpc::Slice slice(kGarbage);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, absl::StrCat("/", kTenancy, "/GetTenant"), grpc::StubOptions(), &request,
                 &response, [&](grpc::Status st) { done.set_value(std::move(st)); });
  grpc::Status st = done.get_future().get();
  ExpectMalformed(st, "dialgrid.tenancy.v1.GetTenantRequest");
  EXPECT_FALSE(absl::StrContains(SerializeMetrics(registry), "GetTenant"));
  server->Shutdown(absl::ToChronoTime(absl::Now()));
  server->Wait();
}

}  // namespace
}  // namespace dialgrid
