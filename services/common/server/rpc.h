#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/common/auth/credential_verifier.h"
#include "services/common/auth/principal.h"
#include "services/common/core/clock.h"
#include "services/common/server/executor.h"
#include "services/common/server/metrics.h"

namespace dialgrid {

// What a handler knows about its call once it has been let in.
struct CallContext {
  std::string method;
  std::string request_id;
  auth::Principal principal;
  // Tenant of the resource the request names ("" for vendor scope).
  std::string resource_tenant;
  // The caller's deadline; derive outgoing deadlines from it.
  absl::Time deadline = absl::InfiniteFuture();
  // Mutual TLS: the verified client certificate's identity ("" without).
  std::string peer_identity;
};

// Decides whether a call of an already-authenticated caller may proceed now
// (per-tenant request quotas). RESOURCE_EXHAUSTED naming the quota if not.
class Admission {
 public:
  virtual ~Admission() = default;
  virtual absl::Status Admit(const CallContext& call) = 0;
};

// Everything the per-RPC wrapper needs; one per service process.
struct RpcEnv {
  std::string service;       // metric/log prefix, e.g. "tenancy"
  std::string error_domain;  // ErrorInfo.domain, e.g. "tenancy.dialgrid"
  auth::CredentialVerifier* verifier = nullptr;
  BoundedExecutor* executor = nullptr;
  RpcMetrics* metrics = nullptr;
  Admission* admission = nullptr;  // optional
  // Mutual TLS: a caller holding ROLE_PLATFORM_SERVICE must also have
  // presented a client certificate the server verified (its identity, the
  // certificate's first DNS/URI name or else its common name, goes to
  // CallContext::peer_identity); UNAUTHENTICATED
  // SERVICE_CERTIFICATE_REQUIRED otherwise. A stolen service secret alone
  // then opens nothing.
  bool service_certificate_required = false;
  const Clock* clock = &SystemClock::Get();
  absl::Duration slow_threshold = absl::Milliseconds(250);
  // ServeSync: calls running at once before new ones are shed (UNAVAILABLE
  // OVERLOADED); copies of an RpcEnv share the count.
  int max_sync_inflight = 256;
  std::shared_ptr<std::atomic<int>> sync_inflight = std::make_shared<std::atomic<int>>(0);
};

// The resource a request names, with the request field that names it (for
// error details), e.g. {"parent", req->parent()}.
struct Resource {
  const char* field;
  std::string name;
};

// Serves one unary RPC in the common way ("the interceptor"), on the
// executor rather than the reaction thread:
//  1. authenticate the bearer credential (UNAUTHENTICATED otherwise),
//  2. check the caller holds one of `roles` (PERMISSION_DENIED),
//  3. check the caller may touch the tenant that `resource` belongs to
//     (PERMISSION_DENIED, before anything is looked up: no existence leak),
//  4. check every enum value in `request` is a defined one (INVALID_ARGUMENT
//     UNKNOWN_ENUM_VALUE naming the field; see request_checks.h),
//  5. admission (per-tenant quotas), then `handler`,
// recording metrics and logging one JSON line per failed or slow call.
// The executor being full sheds the call with UNAVAILABLE.
grpc::ServerUnaryReactor* ServeUnary(RpcEnv& env, grpc::CallbackServerContext* ctx,
                                     absl::string_view method,
                                     const google::protobuf::Message& request, Resource resource,
                                     std::vector<auth::Role> roles,
                                     std::function<absl::Status(const CallContext&)> handler);

// The same for a synchronous service's unary method, run on the gRPC thread
// that received the call. For hot paths: with Debian's gRPC 1.51 the callback
// API passes every reaction through extra threads (the "alternative"
// completion queue on Linux), which costs more CPU per call than the handler
// of a short RPC (measured in docs/performance.md). Blocking here is fine:
// gRPC's synchronous server grows its own thread pool; more than
// env.max_sync_inflight calls at once are shed with UNAVAILABLE OVERLOADED.
grpc::Status ServeSync(RpcEnv& env, grpc::ServerContext* ctx, absl::string_view method,
                       const google::protobuf::Message& request, const Resource& resource, const std::vector<auth::Role>& roles,
                       const std::function<absl::Status(const CallContext&)>& handler);

// The checks ServeUnary makes (1-5 above), for streaming handlers that learn
// the resource name from their first message (`request`); they check the
// enum values of every later message with CheckRequestValues.
absl::Status AuthorizeCall(RpcEnv& env, grpc::ServerContextBase* ctx,
                           const google::protobuf::Message& request, const Resource& resource, const std::vector<auth::Role>& roles,
                           CallContext& call);
// Starts a call's bookkeeping (request id, deadline, in-flight gauge).
void BeginCall(RpcEnv& env, grpc::ServerContextBase* ctx, absl::string_view method,
               CallContext& call);
// Metrics and the failed/slow log line for a finished call.
void EndCall(RpcEnv& env, const CallContext& call, absl::Time start, const absl::Status& st);

// Moves a StatusOr's value into a response message, or passes its error on:
// `return Into(manager.GetThing(req), resp);` in a handler.
template <typename T>
absl::Status Into(absl::StatusOr<T> result, T* resp) {
  if (!result.ok()) return result.status();
  *resp = *std::move(result);
  return absl::OkStatus();
}

// All roles, for methods any authenticated caller of the tenant may use.
std::vector<auth::Role> AnyRole();

}  // namespace dialgrid
