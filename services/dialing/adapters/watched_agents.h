#pragma once

// The agents a replica's campaigns pace with, kept by one WatchAgents stream
// per tenant instead of a ListAgents per campaign every agent refresh (500
// ms): a replica pacing 1,000 campaigns asked agent state 2,000 lists a
// second, each reading every agent of the tenant. Here a tenant costs one
// stream (a snapshot, then each change as it happens: the pacer also sees a
// state change sooner) and one ListAgents every `membership_refresh` for
// which campaigns each agent takes (the watch carries statuses, not the
// agent's settings).
//
// While a tenant's watch is not up (starting, broken, agent state down),
// Agents() answers as before through `direct` (ListAgents at every call), so
// an error still stops the dials that need agents. Reserve, Confirm, Release
// and EndCall always go through `direct`. A tenant's watch ends after
// `idle_stop` without an Agents() call (its campaigns went elsewhere).

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "services/common/client/peer_channel.h"
#include "services/common/core/clock.h"
#include "services/dialing/ports/call_path.h"

namespace dialgrid::dialing {

struct WatchedAgentsOptions {
  // How old the campaigns each agent takes may get before Agents() lists
  // them again (an agent added to a campaign is seen within this).
  absl::Duration membership_refresh = absl::Seconds(10);
  // A tenant's watch ends after this long without an Agents() call.
  absl::Duration idle_stop = absl::Seconds(60);
  // Reconnecting a broken watch: waits doubling from min to max.
  absl::Duration min_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
};

class WatchedAgentRouter final : public AgentRouter {
 public:
  WatchedAgentRouter(std::shared_ptr<client::PeerChannel> agent_state,
                     std::shared_ptr<AgentRouter> direct, WatchedAgentsOptions options = {},
                     const Clock* clock = &SystemClock::Get());
  ~WatchedAgentRouter() override;  // ends every watch
  WatchedAgentRouter(const WatchedAgentRouter&) = delete;
  WatchedAgentRouter& operator=(const WatchedAgentRouter&) = delete;

  absl::StatusOr<std::string> Reserve(const std::string& campaign,
                                      const std::vector<v1::SkillRequirement>& skills,
                                      const std::string& call_id,
                                      const std::string& agent) override;
  absl::Status Confirm(const std::string& agent, const std::string& call_id) override;
  absl::Status Release(const std::string& agent, const std::string& call_id) override;
  absl::Status EndCall(const std::string& agent, const std::string& call_id,
                       const std::string& protected_reason = "",
                       absl::Duration protect_for = absl::ZeroDuration()) override;
  absl::StatusOr<std::vector<AgentSnapshot>> Agents(const std::string& tenant,
                                                    const std::string& campaign) override;

  // For tests and metrics: whether `tenant`'s watch is up (its snapshot
  // received, the stream open), and how many tenants are watched.
  bool Live(const std::string& tenant);
  int Watched();

 private:
  struct Tenant;
  // The tenant's view, its watch started if it has none.
  std::shared_ptr<Tenant> Use(const std::string& tenant, absl::Time now);
  void Watch(std::shared_ptr<Tenant> t);
  // Lists the tenant's agents: which campaigns each takes, and their statuses.
  absl::Status RefreshMembership(Tenant& t);
  // Ends the watches not used for idle_stop and joins the threads of those
  // that have ended.
  void Reap(absl::Time now);

  std::shared_ptr<client::PeerChannel> peer_;
  std::shared_ptr<AgentRouter> direct_;
  const WatchedAgentsOptions options_;
  const Clock* clock_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Tenant>> tenants_;
  std::vector<std::shared_ptr<Tenant>> ending_;  // stopped, thread not yet joined
  absl::Time last_reap_ = absl::InfinitePast();
};

}  // namespace dialgrid::dialing
