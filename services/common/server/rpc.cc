#include "services/common/server/rpc.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/request_checks.h"

namespace dialgrid {
namespace {

std::string Metadata(grpc::ServerContextBase* ctx, absl::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// The identity of a client certificate the TLS handshake verified: its
// first DNS or URI name, else its common name; "" without one (plaintext,
// or a client that presented none).
std::string VerifiedPeerIdentity(grpc::ServerContextBase* ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  for (const char* property : {"x509_subject_alternative_name", "x509_common_name"}) {
    for (const grpc::string_ref& v : auth->FindPropertyValues(property)) {
      if (v.size() > 0) return std::string(v.data(), v.size());
    }
  }
  return "";
}

}  // namespace

absl::Status AuthorizeCall(RpcEnv& env, grpc::ServerContextBase* ctx,
                           const google::protobuf::Message& request, const Resource& resource, const std::vector<auth::Role>& roles,
                           CallContext& call) {
  std::string header = Metadata(ctx, "authorization");
  if (header.empty()) {
    return Unauthenticated("MISSING_CREDENTIAL",
                           "no \"authorization: Bearer <credential>\" metadata");
  }
  if (!absl::StartsWithIgnoreCase(header, "bearer ")) {
    return Unauthenticated("MALFORMED_CREDENTIAL", "authorization metadata must be \"Bearer <credential>\"");
  }
  auto principal = env.verifier->Verify(absl::StripAsciiWhitespace(header.substr(7)));
  if (!principal.ok()) return principal.status();
  call.principal = *std::move(principal);
  // Only a server that asks for client certificates can have one verified.
  if (env.service_certificate_required) call.peer_identity = VerifiedPeerIdentity(ctx);
  if (env.service_certificate_required &&
      call.principal.HasRole(tenancy::v1::ROLE_PLATFORM_SERVICE) && call.peer_identity.empty()) {
    return Unauthenticated("SERVICE_CERTIFICATE_REQUIRED",
                           "the platform's service credential is accepted only with a verified "
                           "client certificate (mutual TLS)");
  }
  bool allowed = false;
  for (auth::Role r : roles) allowed = allowed || call.principal.HasRole(r);
  if (!allowed) {
    return PermissionDenied("ROLE_NOT_ALLOWED", "the caller's roles do not allow this method");
  }
  auto tenant = TenantOfName(resource.field, resource.name);
  if (!tenant.ok()) return tenant.status();
  call.resource_tenant = *tenant;
  absl::Status st = auth::RequireTenantAccess(call.principal, call.resource_tenant);
  if (!st.ok()) return st;
  // Validation after authorization: a caller learns nothing of what it may not touch.
  st = CheckRequestValues(request);
  if (!st.ok()) return st;
  if (env.admission != nullptr) return env.admission->Admit(call);
  return absl::OkStatus();
}

void EndCall(RpcEnv& env, const CallContext& call, absl::Time start, const absl::Status& st) {
  absl::Duration took = env.clock->Now() - start;
  env.metrics->Finished(call.method, st.code(), took);
  if (!st.ok() || took > env.slow_threshold) {
    LogLevel level = !st.ok() && (absl::IsInternal(st) || absl::IsUnavailable(st) ||
                                  absl::IsUnknown(st) || absl::IsDataLoss(st))
                         ? LogLevel::kError
                         : LogLevel::kInfo;
    Log(level, env.service, st.ok() ? "slow rpc" : "rpc failed",
        {{"method", call.method},
         {"code", absl::StatusCodeToString(st.code())},
         {"reason", ReasonOf(st)},
         {"error", std::string(st.message())},
         {"request_id", call.request_id},
         {"tenant", call.principal.tenant},
         {"resource_tenant", call.resource_tenant},
         {"credential", call.principal.credential},
         {"peer_identity", call.peer_identity},
         {"duration_ms", absl::ToDoubleMilliseconds(took)}});
  }
}

void BeginCall(RpcEnv& env, grpc::ServerContextBase* ctx, absl::string_view method,
               CallContext& call) {
  env.metrics->Started();
  call.method = std::string(method);
  call.request_id = Metadata(ctx, "x-request-id");
  if (call.request_id.empty() || call.request_id.size() > 128) call.request_id = RandomHex(8);
  call.deadline = absl::FromChrono(ctx->deadline());
  ctx->AddInitialMetadata("x-request-id", call.request_id);
}

namespace {

void Finish(RpcEnv& env, grpc::ServerUnaryReactor* reactor, const CallContext& call,
            absl::Time start, const absl::Status& st) {
  EndCall(env, call, start, st);
  reactor->Finish(ToGrpcStatus(st, env.error_domain));
}

}  // namespace

std::vector<auth::Role> AnyRole() {
  return {tenancy::v1::ROLE_VENDOR_ADMIN, tenancy::v1::ROLE_TENANT_ADMIN,
          tenancy::v1::ROLE_SUPERVISOR,   tenancy::v1::ROLE_AGENT,
          tenancy::v1::ROLE_INTEGRATION,  tenancy::v1::ROLE_PLATFORM_SERVICE};
}

namespace {

// What ServeUnary and ServeSync run once a call has its turn: nothing for a
// cancelled call or one whose deadline passed while it waited, else
// authentication, role, tenant and quota, then the handler.
absl::Status AuthorizeAndRun(RpcEnv& env, grpc::ServerContextBase* ctx,
                             const google::protobuf::Message& request, const Resource& resource,
                             const std::vector<auth::Role>& roles, CallContext& call,
                             const std::function<absl::Status(const CallContext&)>& handler) {
  if (ctx->IsCancelled()) return absl::CancelledError("the caller cancelled the call");
  if (env.clock->Now() >= call.deadline) {
    return absl::DeadlineExceededError("deadline passed while the call waited for a thread");
  }
  DG_RETURN_IF_ERROR(AuthorizeCall(env, ctx, request, resource, roles, call));
  return handler(call);
}

}  // namespace

grpc::ServerUnaryReactor* ServeUnary(RpcEnv& env, grpc::CallbackServerContext* ctx,
                                     absl::string_view method,
                                     const google::protobuf::Message& request, Resource resource,
                                     std::vector<auth::Role> roles,
                                     std::function<absl::Status(const CallContext&)> handler) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Time start = env.clock->Now();
  auto call = std::make_shared<CallContext>();
  BeginCall(env, ctx, method, *call);
  bool queued = env.executor->TrySubmit([&env, ctx, reactor, call, start, request = &request,
                                         resource = std::move(resource),
                                         roles = std::move(roles),
                                         handler = std::move(handler)] {
    Finish(env, reactor, *call, start, AuthorizeAndRun(env, ctx, *request, resource, roles, *call, handler));
  });
  if (!queued) {
    env.metrics->Shed(method);
    Finish(env, reactor, *call, start,
           Unavailable("OVERLOADED", "the service is at capacity; retry with backoff"));
  }
  return reactor;
}

grpc::Status ServeSync(RpcEnv& env, grpc::ServerContext* ctx, absl::string_view method,
                       const google::protobuf::Message& request, const Resource& resource, const std::vector<auth::Role>& roles,
                       const std::function<absl::Status(const CallContext&)>& handler) {
  absl::Time start = env.clock->Now();
  CallContext call;
  BeginCall(env, ctx, method, call);
  absl::Status st;
  if (env.sync_inflight->fetch_add(1) >= env.max_sync_inflight) {
    env.metrics->Shed(method);
    st = Unavailable("OVERLOADED", "the service is at capacity; retry with backoff");
  } else {
    st = AuthorizeAndRun(env, ctx, request, resource, roles, call, handler);
  }
  env.sync_inflight->fetch_sub(1);
  EndCall(env, call, start, st);
  return ToGrpcStatus(st, env.error_domain);
}

}  // namespace dialgrid
