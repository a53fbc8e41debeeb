#include "services/agent-state/application/agent_watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace dialgrid::agentstate {
namespace {

bool IsPoolAgent(const std::string& agent) { return absl::StartsWith(agent, "agentPools/"); }

}  // namespace

std::string ResyncMessage(const std::vector<std::string>& scopes) {
  std::vector<std::string> members;
  for (const auto& s : scopes) members.push_back(s.empty() ? "-" : s);
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  return absl::StrCat("r\n", absl::StrJoin(members, ","));
}

v1::AgentStatus RedactFor(const std::string& tenant, v1::AgentStatus status) {
  if (IsPoolAgent(status.agent()) && !status.call_tenant().empty() &&
      status.call_tenant() != tenant) {
    status.clear_call_id();
    status.clear_call_tenant();
    status.clear_campaign();
  }
  return status;
}

AgentWatcher::AgentWatcher(WatchScope scope, int max_pending, std::function<void()> wake)
    : scope_(std::move(scope)), max_pending_(max_pending), wake_(std::move(wake)) {}

bool AgentWatcher::InScope(const std::string& team, const std::string& agent) const {
  if (!scope_.team.empty() && team != scope_.team) return false;
  if (!scope_.pool.empty()) return absl::StartsWith(agent, absl::StrCat("agentPools/", scope_.pool, "/"));
  if (IsPoolAgent(agent)) return snapshotting_ || pool_agents_.count(agent) > 0;
  return absl::StartsWith(agent, absl::StrCat("tenants/", scope_.tenant, "/"));
}

void AgentWatcher::Offer(const std::string& team, v1::AgentStatus status) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!InScope(team, status.agent())) return;
    auto sent = sent_.find(status.agent());
    if (sent != sent_.end() && status.version() <= sent->second) return;
    auto it = pending_.find(status.agent());
    if (it != pending_.end()) {
      if (status.version() > it->second.version()) it->second = std::move(status);
    } else if (static_cast<int>(pending_.size()) >= max_pending_ && !snapshotting_) {
      // Fallen too far behind: a fresh snapshot replaces the backlog.
      pending_.clear();
      wake = !resync_;
      resync_ = true;
    } else {
      wake = pending_.empty();
      pending_.emplace(status.agent(), std::move(status));
    }
  }
  if (wake) wake_();
}

void AgentWatcher::Resync() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = !resync_;
    resync_ = true;
  }
  if (wake) wake_();
}

AgentWatcher::Next AgentWatcher::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  Next next;
  if (snapshotting_) return next;
  if (resync_) {
    resync_ = false;
    snapshotting_ = true;
    // Everything pending happened before the snapshot is read: it has it.
    pending_.clear();
    next.snapshot = true;
    return next;
  }
  for (auto& [agent, status] : pending_) {
    sent_[agent] = status.version();
    next.changes.push_back(scope_.tenant.empty() ? std::move(status)
                                                 : RedactFor(scope_.tenant, std::move(status)));
  }
  pending_.clear();
  return next;
}

std::vector<v1::AgentStatus> AgentWatcher::Snapshot(std::vector<v1::AgentStatus> statuses,
                                                    std::set<std::string> pool_agents) {
  std::lock_guard<std::mutex> lock(mu_);
  snapshotting_ = false;
  pool_agents_ = std::move(pool_agents);
  sent_.clear();
  std::vector<v1::AgentStatus> out;
  out.reserve(statuses.size());
  for (auto& s : statuses) {
    auto it = pending_.find(s.agent());
    if (it != pending_.end()) {
      if (it->second.version() > s.version()) s = std::move(it->second);
      pending_.erase(it);
    }
    sent_[s.agent()] = s.version();
    out.push_back(scope_.tenant.empty() ? std::move(s) : RedactFor(scope_.tenant, std::move(s)));
  }
  // What arrived meanwhile for agents the snapshot does not have (created
  // since, or a pool agent no longer granted) waits for the next resync.
  pending_.clear();
  return out;
}

void AgentWatchHub::Add(const std::shared_ptr<AgentWatcher>& watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(watcher);
}

void AgentWatchHub::Remove(const AgentWatcher* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                 [&](const auto& w) { return w.get() == watcher; }),
                  watchers_.end());
}

size_t AgentWatchHub::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_.size();
}

std::vector<std::shared_ptr<AgentWatcher>> AgentWatchHub::Watchers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_;
}

void AgentWatchHub::OnMessage(absl::string_view message) {
  if (absl::StartsWith(message, "s\n")) {
    absl::string_view rest = message.substr(2);
    size_t nl = rest.find('\n');
    if (nl == absl::string_view::npos) return;
    const std::string team(rest.substr(0, nl));
    v1::AgentStatus status;
    if (!status.ParseFromArray(rest.data() + nl + 1, static_cast<int>(rest.size() - nl - 1))) {
      return;
    }
    for (const auto& w : Watchers()) w->Offer(team, status);
  } else if (absl::StartsWith(message, "r\n")) {
    std::set<std::string> scopes;
    for (absl::string_view s : absl::StrSplit(message.substr(2), ',')) {
      scopes.insert(s == "-" ? std::string() : std::string(s));
    }
    for (const auto& w : Watchers()) {
      // Pool watchers follow the pools (""); tenant watchers their tenant.
      if (scopes.count(w->scope().tenant) > 0) w->Resync();
    }
  }
}

void AgentWatchHub::OnFeedLost() {
  for (const auto& w : Watchers()) w->Resync();
}

}  // namespace dialgrid::agentstate
