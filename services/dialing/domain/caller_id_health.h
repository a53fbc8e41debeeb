#pragma once

// Caller-ID health: per number of a campaign's pool, the answer rate and the
// share of short calls over its recent attempts. A number whose answer rate
// collapses against the rest of the pool's (the usual sign that carriers or
// phones label it as spam) is rested for a while, and the campaign dials with
// the others. Pure logic: the dialer feeds it every ended attempt.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"

namespace dialgrid::dialing {

struct CallerIdHealthOptions {
  // A number is judged once it has this many attempts in its window.
  int min_attempts = 100;
  // Rested when its answer rate is below this share of the rest of the
  // pool's (e.g. 8 % against 20 %).
  double collapse_ratio = 0.5;
  // How long a rested number is not used.
  absl::Duration rest = absl::Hours(24);
  // An answered call that ends within this is "short" (callees hanging up
  // on a number they distrust).
  absl::Duration short_call = absl::Seconds(6);
  // Counts decay so the window is about this many recent attempts.
  int window = 400;
};

struct CallerIdStats {
  double attempts = 0, answers = 0, short_calls = 0;
  absl::Time resting_until = absl::InfinitePast();
  double answer_rate() const { return attempts > 0 ? answers / attempts : 0.0; }
  double short_share() const { return answers > 0 ? short_calls / answers : 0.0; }
};

struct RestedCallerId {
  std::string caller_id;
  double answer_rate = 0, pool_answer_rate = 0, short_share = 0;
  int attempts = 0;
  absl::Time until;
};

class CallerIdHealth {
 public:
  explicit CallerIdHealth(CallerIdHealthOptions options = {}) : options_(options) {}

  // One ended attempt placed with `caller_id`, at `now`. `answered`: anyone
  // (a person or a machine) picked up; `talk`: how long an answered call
  // lasted. A rested number keeps the figures that rested it (and those of
  // its calls still ending) until its rest is over; then it starts again
  // from nothing.
  void Record(const std::string& caller_id, bool answered, absl::Duration talk, absl::Time now);
  // Judges the numbers of `pool` at `now`: those newly rested. The last
  // number not resting is never rested (a campaign keeps a caller ID).
  std::vector<RestedCallerId> Evaluate(const std::vector<std::string>& pool, absl::Time now);
  // Numbers of the pool resting at `now`.
  absl::flat_hash_set<std::string> Resting(absl::Time now) const;
  const CallerIdStats* Stats(const std::string& caller_id) const;

  // Numbers of `pool` not resting at `now`.
  int Usable(const std::vector<std::string>& pool, absl::Time now) const;
  // A rest set by hand: `until` after `now` rests the number until then with
  // its figures; otherwise its rest ends now and it starts from nothing.
  // WithRest answers the number's figures after such a change without
  // making it; ApplyRest makes it (once it is stored).
  CallerIdStats WithRest(const std::string& caller_id, absl::Time until, absl::Time now) const;
  void ApplyRest(const std::string& caller_id, absl::Time until, absl::Time now);

  // Kept elsewhere (the campaign's store) so that the next owner of a
  // campaign goes on from them: Restore puts back a number's figures as
  // they were saved; TakeChanged answers the numbers recorded, rested or
  // restored since the last call (and forgets them).
  void Restore(const std::string& caller_id, const CallerIdStats& stats);
  std::vector<std::string> TakeChanged();
  // Saving them failed: answered again by the next TakeChanged.
  void MarkChanged(const std::vector<std::string>& caller_ids);

 private:
  CallerIdHealthOptions options_;
  // A rest that is over gives the number a clean slate.
  void EndRest(const std::string& caller_id, CallerIdStats& s, absl::Time now);

  absl::flat_hash_map<std::string, CallerIdStats> stats_;
  absl::flat_hash_set<std::string> changed_;
};

}  // namespace dialgrid::dialing
