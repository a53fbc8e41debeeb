#pragma once

// Requests whose bytes do not parse. gRPC's C++ server parses a unary or
// server-streaming request before any handler runs and, when the bytes are
// not the method's request message, answers by itself: INTERNAL with an
// empty message (synchronous services) or UNIMPLEMENTED (callback services),
// no reason, not counted by RpcMetrics (ServeUnary/ServeSync never run). This
// server interceptor answers such a call INVALID_ARGUMENT with reason
// MALFORMED_REQUEST (the ErrorInfo/google.rpc.Status details of ToGrpcStatus)
// and counts it in dialgrid_<service>_rpc_requests_total{method,code}.
//
// How: at POST_RECV_MESSAGE gRPC hands interceptors a null message when the
// request did not parse; at PRE_SEND_STATUS the interceptor replaces the
// status gRPC is about to send (ModifySendStatus). Client- and bidi-streaming
// methods are left alone: gRPC reports a message that does not parse to their
// handler as the end of the stream (Read() returns false), the same null
// message an interceptor sees for a normal half-close, so it cannot tell them
// apart (see docs/errors.md, MALFORMED_REQUEST).

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/server_interceptor.h>

#include "services/common/server/metrics.h"

namespace dialgrid {

struct MalformedRequestOptions {
  std::string service;       // log component, e.g. "contacts"
  std::string error_domain;  // ErrorInfo.domain, e.g. "contacts.dialgrid"
  RpcMetrics* metrics = nullptr;
  // Services ("dialgrid.contacts.v1.ContactsService") whose methods are
  // counted in `metrics` (by their short method name, as ServeUnary counts
  // them); calls of other services (health, reflection) are answered the
  // same way but not counted.
  std::vector<std::string> counted_services;
};

// Register on the ServerBuilder (builder.experimental().SetInterceptorCreators).
// `options.metrics` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory(MalformedRequestOptions options);

}  // namespace dialgrid
