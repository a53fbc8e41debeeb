#include "services/dialing/server/owner_forwarder.h"

#include "services/common/core/errors.h"

namespace dialgrid::dialing {

bool OwnerForwarder::ShouldForward(const absl::Status& status,
                                   const grpc::CallbackServerContext& ctx) {
  if (status.code() != absl::StatusCode::kUnavailable) return false;
  const std::string reason = ReasonOf(status);
  if (reason != "NOT_CAMPAIGN_OWNER" && reason != "NOT_CALL_OWNER") return false;
  return ctx.client_metadata().find(kForwardedKey) == ctx.client_metadata().end();
}

absl::StatusOr<std::shared_ptr<client::PeerChannel>> OwnerForwarder::Channel(
    const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second;
  client::PeerOptions options;
  options.name = "dialing-owner";
  options.address = address;
  options.tls = tls_;
  options.max_timeout = max_timeout_;  // no credential of ours: the caller's is sent
  auto channel = client::PeerChannel::Create(std::move(options));
  if (!channel.ok()) return channel.status();
  // Replicas come and go (a new address each start); a few dozen at most
  // are kept.
  if (channels_.size() >= 64) channels_.clear();
  channels_[address] = *channel;
  return *channel;
}

absl::Status OwnerForwarder::Prepare(const client::PeerChannel& channel,
                                     const grpc::CallbackServerContext& in,
                                     const CallContext& call, grpc::ClientContext& out) const {
  absl::Status prepared = channel.Prepare(out, client::IncomingCall(call));
  if (!prepared.ok()) return prepared;
  auto auth = in.client_metadata().find("authorization");
  if (auth == in.client_metadata().end()) {
    return Unauthenticated("MISSING_CREDENTIAL", "no credential to forward");
  }
  out.AddMetadata("authorization", std::string(auth->second.data(), auth->second.size()));
  out.AddMetadata(kForwardedKey, "1");
  return absl::OkStatus();
}

OwnerForwarder::Stats OwnerForwarder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void OwnerForwarder::Count(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.forwarded;
  if (!ok) ++stats_.failed;
}

}  // namespace dialgrid::dialing
