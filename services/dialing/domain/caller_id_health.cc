#include "services/dialing/domain/caller_id_health.h"

namespace dialgrid::dialing {

void CallerIdHealth::Record(const std::string& caller_id, bool answered, absl::Duration talk) {
  if (caller_id.empty()) return;
  CallerIdStats& s = stats_[caller_id];
  // Exponential decay: the counts weigh about the last `window` attempts.
  const double keep = 1.0 - 1.0 / options_.window;
  s.attempts = s.attempts * keep + 1.0;
  s.answers = s.answers * keep + (answered ? 1.0 : 0.0);
  s.short_calls = s.short_calls * keep + (answered && talk < options_.short_call ? 1.0 : 0.0);
}

std::vector<RestedCallerId> CallerIdHealth::Evaluate(const std::vector<std::string>& pool,
                                                     absl::Time now) {
  std::vector<RestedCallerId> rested;
  int active = 0;
  for (const auto& id : pool) {
    auto it = stats_.find(id);
    if (it == stats_.end() || it->second.resting_until <= now) ++active;
  }
  for (const auto& id : pool) {
    if (active <= 1) break;
    auto it = stats_.find(id);
    if (it == stats_.end()) continue;
    CallerIdStats& s = it->second;
    if (s.resting_until > now || s.attempts < options_.min_attempts) continue;
    // The rest of the pool's answer rate (numbers not resting).
    double attempts = 0, answers = 0;
    for (const auto& other : pool) {
      if (other == id) continue;
      auto o = stats_.find(other);
      if (o == stats_.end() || o->second.resting_until > now) continue;
      attempts += o->second.attempts;
      answers += o->second.answers;
    }
    if (attempts < options_.min_attempts) continue;  // nothing to compare with
    const double pool_rate = answers / attempts;
    if (s.answer_rate() >= options_.collapse_ratio * pool_rate) continue;
    RestedCallerId r;
    r.caller_id = id;
    r.answer_rate = s.answer_rate();
    r.pool_answer_rate = pool_rate;
    r.short_share = s.short_share();
    r.attempts = static_cast<int>(s.attempts + 0.5);
    r.until = now + options_.rest;
    rested.push_back(r);
    // Back in service with a clean slate after its rest.
    s = CallerIdStats{};
    s.resting_until = r.until;
    --active;
  }
  return rested;
}

absl::flat_hash_set<std::string> CallerIdHealth::Resting(absl::Time now) const {
  absl::flat_hash_set<std::string> out;
  for (const auto& [id, s] : stats_) {
    if (s.resting_until > now) out.insert(id);
  }
  return out;
}

const CallerIdStats* CallerIdHealth::Stats(const std::string& caller_id) const {
  auto it = stats_.find(caller_id);
  return it == stats_.end() ? nullptr : &it->second;
}

}  // namespace dialgrid::dialing
