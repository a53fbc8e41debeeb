#include "services/dialing/pacing/abandon_ledger.h"

namespace dialgrid::pacing {

void AbandonLedger::RecordLiveAnswer(int64_t day, bool abandoned, double estimated_amd_hangups) {
  AbandonCounts& counts = days_[day];
  const double hidden = estimated_amd_hangups > 0.0 ? estimated_amd_hangups : 0.0;
  counts.live_answers += 1.0 + hidden;
  counts.abandoned += (abandoned ? 1.0 : 0.0) + hidden;
  // Keep the window ending at the newest day.
  const int64_t newest = days_.rbegin()->first;
  while (!days_.empty() && days_.begin()->first <= newest - window_days_) {
    days_.erase(days_.begin());
  }
}

AbandonCounts AbandonLedger::Day(int64_t day) const {
  auto it = days_.find(day);
  return it == days_.end() ? AbandonCounts{} : it->second;
}

AbandonCounts AbandonLedger::Window(int64_t day) const {
  AbandonCounts sum;
  for (auto it = days_.lower_bound(day - window_days_ + 1); it != days_.end() && it->first <= day;
       ++it) {
    sum.live_answers += it->second.live_answers;
    sum.abandoned += it->second.abandoned;
  }
  return sum;
}

double AbandonLedger::MeanLiveAnswersBefore(int64_t day) const {
  double sum = 0.0;
  int days = 0;
  for (auto it = days_.lower_bound(day - window_days_ + 1); it != days_.end() && it->first < day;
       ++it) {
    if (it->second.live_answers > 0.0) {
      sum += it->second.live_answers;
      ++days;
    }
  }
  return days > 0 ? sum / days : 0.0;
}

}  // namespace dialgrid::pacing
