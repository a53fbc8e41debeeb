#pragma once

// The call path's rules as data, no I/O: whether a campaign may dial now
// (its active windows), which caller ID a call presents (local presence,
// then rotation), what an attempt's outcome does to its contact (the
// campaign's retry rules, with defaults), and what a disposition does.

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "dialgrid/dialing/v1/dialing.pb.h"

namespace dialgrid::dialing {

// True when `now` is inside one of the campaign's active windows (in its
// time_zone), or when it has none. An unknown zone is never active.
bool InActiveWindow(const v1::Campaign& campaign, absl::Time now);

// The caller ID for a call to `to` (E.164): one of the campaign's numbers
// with the callee's area (the country code and, in the North American plan,
// the 3-digit area code; elsewhere the first 4 digits after "+") when the
// pool has any ("local presence"), else the pool's numbers in turn.
// `turn` rotates among the candidates. Empty when the pool is empty.
// Numbers in `resting` (caller_id_health.h) are skipped while any other is
// left.
std::string PickCallerId(const v1::Campaign& campaign, absl::string_view to, uint64_t turn,
                         const absl::flat_hash_set<std::string>& resting = {});
// The area prefix PickCallerId matches on ("+1312", "+4420"), "" if unknown.
std::string AreaPrefix(absl::string_view e164);

// What becomes of a contact after an attempt that reached no agent.
struct ContactNext {
  contacts::v1::OutcomeKind kind = contacts::v1::OUTCOME_KIND_RETRY;
  std::string outcome;  // "NO_ANSWER", "BUSY", ... (contacts' last_outcome)
  absl::Time next_callable = absl::InfinitePast();  // RETRY
};

// Defaults when a campaign has no rule for an outcome (docs: services/dialing/README.md):
// busy 15 min, no answer 2 h, machine 4 h, failed 1 h; at most 5 attempts.
inline constexpr int kDefaultMaxAttempts = 5;

// `attempts`: the contact's attempts including this one. ABANDONED calls are
// retried like NO_ANSWER (compliance keeps any quiet period the law asks).
// An invalid number is UNREACHABLE; NOT_PLACED gives the contact back.
ContactNext AfterAttempt(const v1::Campaign& campaign, v1::CallOutcome outcome,
                         bool invalid_number, int attempts, absl::Time now);

// What a disposition does to the contact: SUCCESS / NOT_INTERESTED ->
// COMPLETED, CALLBACK -> RETRY at callback_time, DO_NOT_CALL, WRONG_NUMBER
// -> UNREACHABLE. Codes are checked by the caller (FindDisposition).
ContactNext AfterDisposition(const v1::Disposition& disposition, absl::Time callback_time);
// A callee who pressed the opt-out key during a recorded message:
// DO_NOT_CALL, outcome "OPTED_OUT".
ContactNext OptedOut();
const v1::Disposition* FindDisposition(const v1::Campaign& campaign, absl::string_view code);

// "DIALING", ..., and the outcome's name ("NO_ANSWER", ...).
std::string CallStateName(v1::CallState state);
std::string OutcomeName(v1::CallOutcome outcome);

}  // namespace dialgrid::dialing
