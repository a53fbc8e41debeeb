#pragma once

// Live views of agents (WatchAgents): every write of the store announces its
// change on one Pub/Sub channel that every replica follows; the hub here
// hands each change to the watchers whose scope it belongs to. A watcher
// keeps, per agent, only the newest status not yet sent (a slow client gets
// the latest state of each agent, never an unbounded backlog); when it falls
// further behind than that, or the feed was interrupted (messages may have
// been missed), or agents entered or left its scope (created, deleted,
// granted), it is told to take a fresh snapshot.
//
// Change messages (the store writes them, partly inside its Lua scripts):
//   "s\n<team>\n<serialized v1::AgentStatus>"  an agent's new status
//   "r\n<scope>,<scope>,..."                  watchers of these scopes
//                                             resnapshot ("-": the pools)

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "dialgrid/agentstate/v1/agentstate.pb.h"

namespace dialgrid::agentstate {

// The message telling watchers of `scopes` (tenant ids, "" for the pools) to
// take a fresh snapshot.
std::string ResyncMessage(const std::vector<std::string>& scopes);

// What a watcher sees: a tenant's agents and the pool agents serving it, or
// one pool's agents; optionally one team.
struct WatchScope {
  std::string tenant;  // set: "tenants/{tenant}"
  std::string pool;    // set: "agentPools/{pool}"
  std::string team;    // "" = every team
};

// A pool agent's status as a tenant may see it: the call fields of another
// tenant's call are left out.
v1::AgentStatus RedactFor(const std::string& tenant, v1::AgentStatus status);

class AgentWatcher {
 public:
  // `wake` is called (from the feed's thread, without locks held) when
  // something became pending; it must not block.
  AgentWatcher(WatchScope scope, int max_pending, std::function<void()> wake);

  const WatchScope& scope() const { return scope_; }

  // What to send next.
  struct Next {
    bool snapshot = false;  // take a snapshot (and call Snapshot with it)
    std::vector<v1::AgentStatus> changes;
  };
  // Takes what is pending: a snapshot request, or the changes (each agent's
  // newest status), or nothing.
  Next Take();
  // Merges a freshly read snapshot: `statuses` are every agent in scope and
  // `pool_agents` the pool agents' names among them (a tenant's view).
  // Returns the snapshot to send (changes that arrived while it was read
  // and are newer replace what it read).
  std::vector<v1::AgentStatus> Snapshot(std::vector<v1::AgentStatus> statuses,
                                        std::set<std::string> pool_agents);

  // From the hub.
  void Offer(const std::string& team, v1::AgentStatus status);
  void Resync();

 private:
  bool InScope(const std::string& team, const std::string& agent) const;

  const WatchScope scope_;
  const int max_pending_;
  const std::function<void()> wake_;
  std::mutex mu_;
  bool resync_ = true;  // the first message is a snapshot
  bool snapshotting_ = false;
  std::set<std::string> pool_agents_;       // a tenant's visible pool agents
  std::map<std::string, int64_t> sent_;     // agent -> newest version sent
  std::map<std::string, v1::AgentStatus> pending_;
};

class AgentWatchHub {
 public:
  // Registers a watcher; it receives changes until removed.
  void Add(const std::shared_ptr<AgentWatcher>& watcher);
  void Remove(const AgentWatcher* watcher);
  size_t size() const;

  // A message from the change channel.
  void OnMessage(absl::string_view message);
  // The feed was interrupted: every watcher resnapshots.
  void OnFeedLost();

 private:
  std::vector<std::shared_ptr<AgentWatcher>> Watchers() const;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<AgentWatcher>> watchers_;
};

}  // namespace dialgrid::agentstate
