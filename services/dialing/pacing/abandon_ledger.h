// The campaign's abandon ledger as the law defines it: abandoned live answers
// over live answers, per calendar day and over a rolling window of days (FCC:
// 30 days per campaign). An AMD hang-up on a live person is an abandoned live
// answer; a machine is neither. The caller decides what a day is (the
// campaign's calendar) and, in production, feeds the compliance service's
// authoritative counts.
#pragma once

#include <cstdint>
#include <map>

namespace dialgrid::pacing {

struct AbandonCounts {
  double live_answers = 0.0;
  double abandoned = 0.0;
  // abandoned / live_answers, 0 without live answers.
  double Rate() const { return live_answers > 0.0 ? abandoned / live_answers : 0.0; }
};

class AbandonLedger {
 public:
  explicit AbandonLedger(int window_days) : window_days_(window_days < 1 ? 1 : window_days) {}

  // One live answer (abandoned or not). Days before the window are dropped.
  // `estimated_amd_hangups`: live persons estimated to have been hung up on
  // by AMD alongside it (unseen abandoned live answers), added to both.
  void RecordLiveAnswer(int64_t day, bool abandoned, double estimated_amd_hangups = 0.0);

  AbandonCounts Day(int64_t day) const;
  // The window_days days ending with `day` (inclusive).
  AbandonCounts Window(int64_t day) const;
  // Mean live answers per day over the window's days before `day` that had
  // any (0 when there are none): the size of a typical day.
  double MeanLiveAnswersBefore(int64_t day) const;
  int window_days() const { return window_days_; }

 private:
  int window_days_;
  std::map<int64_t, AbandonCounts> days_;
};

}  // namespace dialgrid::pacing
