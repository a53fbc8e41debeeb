#include "services/dialing/adapters/watched_agents.h"

#include "services/dialing/adapters/call_path_clients.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "services/common/core/log.h"
#include "services/common/core/proto_time.h"

namespace dialgrid::dialing {

using AgentService = agentstate::v1::AgentStateService;

struct WatchedAgentRouter::Tenant {
  explicit Tenant(std::string tenant) : id(std::move(tenant)) {}
  const std::string id;

  std::mutex mu;
  std::condition_variable cv;  // wakes a reconnect wait when stopping
  bool stop = false;
  bool done = false;   // the watch thread has ended
  bool live = false;   // the snapshot came and the stream is open
  grpc::ClientContext* ctx = nullptr;  // the open watch's, to cancel it
  absl::Time last_used;

  struct Entry {
    bool member = false;  // listed by the last membership refresh
    std::vector<std::string> campaigns;
    bool has_status = false;
    agentstate::v1::AgentStatus status;
  };
  std::map<std::string, Entry> agents;  // by agent name
  absl::Time membership_at = absl::InfinitePast();
  bool membership_stale = false;  // the watch named an agent not listed yet

  std::mutex refresh_mu;  // one membership refresh at a time
  std::thread thread;

  // A status newer than the one held (versions increase with every change).
  void Apply(const agentstate::v1::AgentStatus& s) {
    Entry& e = agents[s.agent()];
    if (e.has_status && s.version() < e.status.version()) return;
    e.status = s;
    e.has_status = true;
    if (!e.member) membership_stale = true;
  }
};

WatchedAgentRouter::WatchedAgentRouter(std::shared_ptr<client::PeerChannel> agent_state,
                                       std::shared_ptr<AgentRouter> direct,
                                       WatchedAgentsOptions options, const Clock* clock)
    : peer_(std::move(agent_state)), direct_(std::move(direct)), options_(options), clock_(clock) {}

WatchedAgentRouter::~WatchedAgentRouter() {
  std::vector<std::shared_ptr<Tenant>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, t] : tenants_) all.push_back(t);
    all.insert(all.end(), ending_.begin(), ending_.end());
    tenants_.clear();
    ending_.clear();
  }
  for (auto& t : all) {
    std::lock_guard<std::mutex> lock(t->mu);
    t->stop = true;
    if (t->ctx != nullptr) t->ctx->TryCancel();
    t->cv.notify_all();
  }
  for (auto& t : all) {
    if (t->thread.joinable()) t->thread.join();
  }
}

absl::StatusOr<std::string> WatchedAgentRouter::Reserve(
    const std::string& campaign, const std::vector<v1::SkillRequirement>& skills,
    const std::string& call_id, const std::string& agent) {
  return direct_->Reserve(campaign, skills, call_id, agent);
}

absl::Status WatchedAgentRouter::Confirm(const std::string& agent, const std::string& call_id) {
  return direct_->Confirm(agent, call_id);
}

absl::Status WatchedAgentRouter::Release(const std::string& agent, const std::string& call_id) {
  return direct_->Release(agent, call_id);
}

absl::Status WatchedAgentRouter::EndCall(const std::string& agent, const std::string& call_id,
                                         const std::string& protected_reason,
                                         absl::Duration protect_for) {
  return direct_->EndCall(agent, call_id, protected_reason, protect_for);
}

absl::StatusOr<std::vector<AgentSnapshot>> WatchedAgentRouter::Agents(const std::string& tenant,
                                                                      const std::string& campaign) {
  const absl::Time now = clock_->Now();
  std::shared_ptr<Tenant> t = Use(tenant, now);
  {
    std::lock_guard<std::mutex> lock(t->mu);
    if (!t->live) return direct_->Agents(tenant, campaign);  // the watch is not up: as before
  }
  bool refresh;
  {
    std::lock_guard<std::mutex> lock(t->mu);
    refresh = t->membership_stale || now - t->membership_at >= options_.membership_refresh;
  }
  if (refresh) {
    std::unique_lock<std::mutex> one(t->refresh_mu, std::try_to_lock);
    bool never;
    {
      std::lock_guard<std::mutex> lock(t->mu);
      never = t->membership_at == absl::InfinitePast();
    }
    // Another caller refreshes: use what is known, unless nothing is yet.
    if (!one.owns_lock() && never) one.lock();
    if (one.owns_lock()) {
      absl::Status st = RefreshMembership(*t);
      if (!st.ok()) return st;  // agent state cannot answer: no dials that need agents
    }
  }
  std::vector<AgentSnapshot> out;
  std::lock_guard<std::mutex> lock(t->mu);
  for (const auto& [name, e] : t->agents) {
    if (!e.member || !e.has_status) continue;
    if (std::find(e.campaigns.begin(), e.campaigns.end(), campaign) == e.campaigns.end()) continue;
    const auto state = e.status.state();
    if (state == agentstate::v1::STATE_LOGGED_OUT || state == agentstate::v1::STATE_UNSPECIFIED) {
      continue;
    }
    AgentSnapshot s;
    s.agent = name;
    s.state = state;
    s.since = FromTimestamp(e.status.state_time());
    out.push_back(std::move(s));
  }
  return out;
}

absl::Status WatchedAgentRouter::RefreshMembership(Tenant& t) {
  const absl::Time started = clock_->Now();
  auto listed = ListTenantAgents(peer_, t.id);
  if (!listed.ok()) return listed.status();
  std::lock_guard<std::mutex> lock(t.mu);
  std::set<std::string> names;
  for (auto& a : *listed) {
    names.insert(a.name());
    Tenant::Entry& e = t.agents[a.name()];
    e.member = true;
    e.campaigns.assign(a.campaigns().begin(), a.campaigns().end());
    if (a.has_status()) {
      a.mutable_status()->set_agent(a.name());
      t.Apply(a.status());
    }
  }
  // Agents deleted since: gone (a status the watch delivered for an agent
  // created after the list started stays, to be listed next time).
  for (auto it = t.agents.begin(); it != t.agents.end();) {
    if (names.count(it->first) == 0) {
      it->second.member = false;
      if (!it->second.has_status) {
        it = t.agents.erase(it);
        continue;
      }
    }
    ++it;
  }
  t.membership_at = started;
  t.membership_stale = false;
  return absl::OkStatus();
}

std::shared_ptr<WatchedAgentRouter::Tenant> WatchedAgentRouter::Use(const std::string& tenant,
                                                                    absl::Time now) {
  Reap(now);
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Tenant>& t = tenants_[tenant];
  if (t == nullptr) {
    t = std::make_shared<Tenant>(tenant);
    t->last_used = now;
    t->thread = std::thread([this, t] { Watch(t); });
  }
  std::lock_guard<std::mutex> tl(t->mu);
  t->last_used = now;
  return t;
}

void WatchedAgentRouter::Reap(absl::Time now) {
  std::vector<std::shared_ptr<Tenant>> joinable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now - last_reap_ < absl::Seconds(1)) return;
    last_reap_ = now;
    for (auto it = tenants_.begin(); it != tenants_.end();) {
      Tenant& t = *it->second;
      std::lock_guard<std::mutex> tl(t.mu);
      if (now - t.last_used >= options_.idle_stop) {
        t.stop = true;
        if (t.ctx != nullptr) t.ctx->TryCancel();
        t.cv.notify_all();
        ending_.push_back(it->second);
        it = tenants_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = ending_.begin(); it != ending_.end();) {
      bool done;
      {
        std::lock_guard<std::mutex> tl((*it)->mu);
        done = (*it)->done;
      }
      if (done) {
        joinable.push_back(*it);
        it = ending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& t : joinable) t->thread.join();  // already returned
}

void WatchedAgentRouter::Watch(std::shared_ptr<Tenant> t) {
  auto stub = AgentService::NewStub(peer_->channel());
  absl::Duration backoff = options_.min_backoff;
  agentstate::v1::WatchAgentsRequest req;
  req.set_parent(absl::StrCat("tenants/", t->id));
  while (true) {
    grpc::ClientContext ctx;
    absl::Status prepared = peer_->Prepare(ctx, client::IncomingCall{});
    // The watch lasts until it breaks or is cancelled: no deadline.
    ctx.set_deadline(std::chrono::system_clock::time_point::max());
    {
      std::lock_guard<std::mutex> lock(t->mu);
      if (t->stop) break;
      t->ctx = &ctx;
    }
    grpc::Status st;
    if (prepared.ok()) {
      std::unique_ptr<grpc::ClientReader<agentstate::v1::WatchAgentsResponse>> reader =
          stub->WatchAgents(&ctx, req);
      agentstate::v1::WatchAgentsResponse msg;
      while (reader->Read(&msg)) {
        std::lock_guard<std::mutex> lock(t->mu);
        if (msg.snapshot()) {
          std::set<std::string> present;
          for (const auto& s : msg.statuses()) present.insert(s.agent());
          for (auto& [name, e] : t->agents) {
            if (present.count(name) == 0) e.has_status = false;  // out of the scope now
          }
          if (!t->live) backoff = options_.min_backoff;
          t->live = true;
        }
        for (const auto& s : msg.statuses()) t->Apply(s);
      }
      st = reader->Finish();
    }
    std::unique_lock<std::mutex> lock(t->mu);
    t->ctx = nullptr;
    t->live = false;
    if (t->stop) break;
    Log(LogLevel::kWarning, "dialing",
        "agent watch ended; reading agents directly until it is back",
        {{"tenant", t->id},
         {"error", prepared.ok() ? st.error_message() : std::string(prepared.message())}});
    t->cv.wait_for(lock, absl::ToChronoMilliseconds(backoff), [&] { return t->stop; });
    if (t->stop) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  std::lock_guard<std::mutex> lock(t->mu);
  t->live = false;
  t->done = true;
}

bool WatchedAgentRouter::Live(const std::string& tenant) {
  std::shared_ptr<Tenant> t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) return false;
    t = it->second;
  }
  std::lock_guard<std::mutex> lock(t->mu);
  return t->live;
}

int WatchedAgentRouter::Watched() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(tenants_.size());
}

}  // namespace dialgrid::dialing
