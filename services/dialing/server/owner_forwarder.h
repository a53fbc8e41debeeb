#pragma once

// What only a campaign's owner can serve (an agent's own dial, a preview, an
// abusive flag: they act on calls in that replica's memory), received by
// another replica, is forwarded to the owner instead of answering
// UNAVAILABLE: the same request, the caller's own credential (the owner
// authenticates and authorizes it again), the caller's deadline, and a
// marker so a forwarded call is never forwarded again (the owner moving
// meanwhile answers NOT_CAMPAIGN_OWNER / NOT_CALL_OWNER, retryable).

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "dialgrid/dialing/v1/dialing.grpc.pb.h"
#include "services/common/client/peer_channel.h"
#include "services/common/server/rpc.h"

namespace dialgrid::dialing {

class OwnerForwarder {
 public:
  // The metadata key that marks a forwarded call.
  static constexpr char kForwardedKey[] = "x-dialgrid-forwarded";

  // `tls`: how replicas reach each other (the platform's peer TLS).
  OwnerForwarder(client::PeerTlsOptions tls, absl::Duration max_timeout)
      : tls_(std::move(tls)), max_timeout_(max_timeout) {}

  // Whether `status` is the answer of a replica that does not own the
  // campaign or call, and `ctx`'s call may still be forwarded.
  static bool ShouldForward(const absl::Status& status, const grpc::CallbackServerContext& ctx);

  // Calls `method` on the replica at `address` with `request` for the call
  // being served (`ctx`, `call`), its answer into `response`. The owner's
  // status as it gave it (code, reason); PEER_UNAVAILABLE when it cannot be
  // reached.
  template <typename Request, typename Response>
  absl::Status Forward(const std::string& address, grpc::CallbackServerContext* ctx,
                       const CallContext& call,
                       grpc::Status (v1::DialingService::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                       const Request& request, Response* response) {
    auto channel = Channel(address);
    if (!channel.ok()) return channel.status();
    grpc::ClientContext out;
    absl::Status prepared = Prepare(**channel, *ctx, call, out);
    if (!prepared.ok()) return prepared;
    auto stub = v1::DialingService::NewStub((*channel)->channel());
    return (*channel)->StatusOf((stub.get()->*method)(&out, request, response));
  }

  // Forwarded calls made (by outcome), for the metrics.
  struct Stats {
    int64_t forwarded = 0;
    int64_t failed = 0;
  };
  Stats stats() const;
  void Count(bool ok);

 private:
  absl::StatusOr<std::shared_ptr<client::PeerChannel>> Channel(const std::string& address);
  absl::Status Prepare(const client::PeerChannel& channel, const grpc::CallbackServerContext& in,
                       const CallContext& call, grpc::ClientContext& out) const;

  client::PeerTlsOptions tls_;
  absl::Duration max_timeout_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<client::PeerChannel>> channels_;  // by address
  Stats stats_;
};

}  // namespace dialgrid::dialing
