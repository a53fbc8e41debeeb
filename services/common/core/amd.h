#pragma once

// Answering-machine detection's false positives: live persons AMD takes for
// machines and hangs up on. They are abandoned calls in law, but look like
// machines to the dialer, so they are counted by estimate from AMD's
// false-positive rate f (the campaign's, reported with each screened call).
// One definition for the dialer (its pacer's ledger) and compliance (the
// campaign's abandon ledger), which must agree.

namespace dialgrid {

// f is 0 (AMD did not screen the call, or no estimate given) or above 0 up
// to 0.5.
inline bool ValidAmdFalsePositiveRate(double f) { return f == 0.0 || (f > 0.0 && f <= 0.5); }

// Live persons estimated to have been hung up on by AMD per live answer of
// a screened call: f / (1 - f) (of all live persons, 1 - f were seen); 0
// when f is 0 or out of range.
inline double EstimatedAmdHangupsPerLiveAnswer(double f) {
  return f > 0.0 && f <= 0.5 ? f / (1.0 - f) : 0.0;
}

}  // namespace dialgrid
