#include "services/common/server/malformed_request.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/server/grpc_status.h"

namespace dialgrid {
namespace {

using grpc::experimental::InterceptionHookPoints;

struct Shared {
  MalformedRequestOptions options;
  absl::flat_hash_set<std::string> counted;
};

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}.
std::pair<std::string, std::string> SplitMethod(absl::string_view full) {
  if (!full.empty() && full[0] == '/') full.remove_prefix(1);
  size_t slash = full.rfind('/');
  if (slash == absl::string_view::npos) return {"", std::string(full)};
  return {std::string(full.substr(0, slash)), std::string(full.substr(slash + 1))};
}

// "dialgrid.foo.v1.GetFooRequest", or "" for a method protobuf does not know.
std::string RequestTypeOf(absl::string_view service, absl::string_view method) {
  const auto* m = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
      absl::StrCat(service, ".", method));
  return m == nullptr ? "" : m->input_type()->full_name();
}

class MalformedRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  MalformedRequestInterceptor(const Shared* shared, grpc::experimental::ServerRpcInfo* info)
      : shared_(*shared), info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      malformed_ = true;
    }
    if (malformed_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      // What gRPC answers for a request it could not parse: INTERNAL from the
      // synchronous handlers, UNIMPLEMENTED from the callback ones. Anything
      // else (RESOURCE_EXHAUSTED when the sync server has no thread left)
      // keeps its own answer.
      grpc::StatusCode code = methods->GetSendStatus().error_code();
      if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNIMPLEMENTED) {
        Refuse(methods);
      }
    }
    methods->Proceed();
  }

 private:
  void Refuse(grpc::experimental::InterceptorBatchMethods* methods) {
    auto [service, method] = SplitMethod(info_->method() == nullptr ? "" : info_->method());
    std::string type = RequestTypeOf(service, method);
    absl::Status st = WithReason(
        absl::InvalidArgumentError(
            type.empty() ? "the request message does not parse"
                         : absl::StrCat("the request message does not parse as ", type)),
        "MALFORMED_REQUEST");
    methods->ModifySendStatus(ToGrpcStatus(st, shared_.options.error_domain));
    if (shared_.options.metrics != nullptr && shared_.counted.contains(service)) {
      shared_.options.metrics->Refused(method, st.code());
    }
    Log(LogLevel::kInfo, shared_.options.service, "rpc failed",
        {{"method", method},
         {"code", absl::StatusCodeToString(st.code())},
         {"reason", "MALFORMED_REQUEST"},
         {"error", std::string(st.message())}});
  }

  const Shared& shared_;
  grpc::experimental::ServerRpcInfo* info_;
  bool malformed_ = false;
};

class MalformedRequestFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MalformedRequestFactory(MalformedRequestOptions options) {
    shared_.counted.insert(options.counted_services.begin(), options.counted_services.end());
    shared_.options = std::move(options);
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    // Streams that read messages in their handler: a message that does not
    // parse looks like the end of the stream (see the header).
    if (info->type() == Type::CLIENT_STREAMING || info->type() == Type::BIDI_STREAMING) {
      return nullptr;
    }
    return new MalformedRequestInterceptor(&shared_, info);
  }

 private:
  Shared shared_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory(MalformedRequestOptions options) {
  return std::make_unique<MalformedRequestFactory>(std::move(options));
}

}  // namespace dialgrid
