#include "services/dialing/domain/caller_id_health.h"

namespace dialgrid::dialing {

void CallerIdHealth::EndRest(const std::string& caller_id, CallerIdStats& s, absl::Time now) {
  if (s.resting_until == absl::InfinitePast() || s.resting_until > now) return;
  s = CallerIdStats{};
  changed_.insert(caller_id);
}

void CallerIdHealth::Record(const std::string& caller_id, bool answered, absl::Duration talk,
                            absl::Time now) {
  if (caller_id.empty()) return;
  CallerIdStats& s = stats_[caller_id];
  EndRest(caller_id, s, now);
  changed_.insert(caller_id);
  // Exponential decay: the counts weigh about the last `window` attempts.
  const double keep = 1.0 - 1.0 / options_.window;
  s.attempts = s.attempts * keep + 1.0;
  s.answers = s.answers * keep + (answered ? 1.0 : 0.0);
  s.short_calls = s.short_calls * keep + (answered && talk < options_.short_call ? 1.0 : 0.0);
}

std::vector<RestedCallerId> CallerIdHealth::Evaluate(const std::vector<std::string>& pool,
                                                     absl::Time now) {
  std::vector<RestedCallerId> rested;
  for (const auto& id : pool) {
    auto it = stats_.find(id);
    if (it != stats_.end()) EndRest(id, it->second, now);
  }
  int active = Usable(pool, now);
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
    // It keeps its figures while it rests (what the live view shows), and
    // comes back with a clean slate (EndRest).
    s.resting_until = r.until;
    changed_.insert(id);
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

int CallerIdHealth::Usable(const std::vector<std::string>& pool, absl::Time now) const {
  int usable = 0;
  for (const auto& id : pool) {
    auto it = stats_.find(id);
    usable += it == stats_.end() || it->second.resting_until <= now;
  }
  return usable;
}

CallerIdStats CallerIdHealth::WithRest(const std::string& caller_id, absl::Time until,
                                       absl::Time now) const {
  if (until <= now) return CallerIdStats{};
  auto it = stats_.find(caller_id);
  CallerIdStats s = it == stats_.end() ? CallerIdStats{} : it->second;
  s.resting_until = until;
  return s;
}

void CallerIdHealth::ApplyRest(const std::string& caller_id, absl::Time until, absl::Time now) {
  if (caller_id.empty()) return;
  if (until <= now) {
    stats_[caller_id] = CallerIdStats{};
  } else {
    stats_[caller_id].resting_until = until;
  }
  changed_.insert(caller_id);
}

const CallerIdStats* CallerIdHealth::Stats(const std::string& caller_id) const {
  auto it = stats_.find(caller_id);
  return it == stats_.end() ? nullptr : &it->second;
}

void CallerIdHealth::Restore(const std::string& caller_id, const CallerIdStats& stats) {
  if (caller_id.empty()) return;
  stats_[caller_id] = stats;
}

void CallerIdHealth::MarkChanged(const std::vector<std::string>& caller_ids) {
  for (const auto& id : caller_ids) {
    if (stats_.contains(id)) changed_.insert(id);
  }
}

std::vector<std::string> CallerIdHealth::TakeChanged() {
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  return out;
}

}  // namespace dialgrid::dialing
