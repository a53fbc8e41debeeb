#pragma once

// Campaigns as data: what a valid campaign is, the defaults a created one
// gets, which fields an update may touch, and the lifecycle (DRAFT ->
// RUNNING <-> PAUSED -> STOPPED -> RUNNING ...). Pure logic, no I/O.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/type/v1/dialing_mode.pb.h"

namespace dialgrid::dialing {

// Limits (also in the proto's comments).
inline constexpr int kMaxContactLists = 50;
inline constexpr int kMaxLines = 10000;
inline constexpr int kMaxLinesPerAgent = 10;
inline constexpr int kDefaultLinesPerAgent = 3;
inline constexpr int kMaxCallerIds = 1000;
inline constexpr int kMaxDispositions = 100;
inline constexpr int kMaxSkills = 20;
inline constexpr int kMaxWindows = 50;
inline constexpr double kLegalAbandonCeiling = 0.03;
inline constexpr int kMaxInboundNumbers = 100;
inline constexpr double kDefaultServiceLevel = 0.8;
inline constexpr absl::Duration kDefaultServiceLevelThreshold = absl::Seconds(20);
inline constexpr absl::Duration kDefaultMaxWait = absl::Minutes(5);
inline constexpr char kDefaultOverflowMessage[] = "inbound-overflow";

// Fills what the caller left unset: abandon target 3 % per day and 30
// days, ring timeout 25 s, 3 lines per agent, machine action HANG_UP, the
// tenant's zone when none is given; for inbound numbers a service level of
// 80 % in 20 s, a 5-minute max wait and the "inbound-overflow" message.
void ApplyDefaults(v1::Campaign& campaign, absl::string_view tenant_time_zone);

// The first thing wrong with `campaign` of `tenant`, as INVALID_ARGUMENT
// naming the field (FIELD_REQUIRED, VALUE_OUT_OF_RANGE, MALFORMED_NAME,
// INVALID_PHONE_NUMBER,
// DUPLICATE_VALUE, UNKNOWN_TIME_ZONE, ...), or PERMISSION_DENIED
// TENANT_MISMATCH for another tenant's list; an enum value of 0 where one is
// needed is FIELD_REQUIRED (undefined numbers are refused by the runtime).
absl::Status ValidateCampaign(absl::string_view tenant, const v1::Campaign& campaign);

// What an update names, checked before the campaign is read (so another
// tenant's resource is PERMISSION_DENIED TENANT_MISMATCH whether or not the
// campaign exists), masked or not: its contact lists' tenant, its skills'
// names; and that the mask is not empty.
absl::Status CheckPatchReferences(absl::string_view tenant, const v1::Campaign& patch,
                                  const std::vector<std::string>& mask);

// `current` with the fields of `mask` taken from `patch` (then validated by
// the caller). FIELD_NOT_UPDATABLE for output-only fields or unknown paths.
absl::StatusOr<v1::Campaign> ApplyCampaignUpdate(const v1::Campaign& current,
                                                 const v1::Campaign& patch,
                                                 const std::vector<std::string>& mask);

enum class CampaignAction { kStart, kPause, kResume, kStop, kDelete };

// The state `action` leads to from `from`, or FAILED_PRECONDITION
// ILLEGAL_TRANSITION naming the current state ("the campaign is DRAFT").
// kDelete answers `from` when deleting is allowed (not RUNNING or PAUSED).
absl::StatusOr<v1::CampaignState> NextState(v1::CampaignState from, CampaignAction action);

// "RUNNING", ...
std::string StateName(v1::CampaignState state);

// The dialing mode compliance is asked about for a campaign's dials: POWER
// may abandon, so it is checked as PREDICTIVE.
type::v1::DialingMode ComplianceMode(v1::CampaignMode mode);

// A debt id as compliance takes it: 1-128 characters of [A-Za-z0-9._:-].
bool ValidDebt(absl::string_view debt);
// The debt a DEBT_COLLECTION campaign's call to `contact` is about (its
// `debt_attribute`), or "" (not such a campaign, or no valid debt).
std::string DebtOf(const v1::Campaign& campaign, const contacts::v1::Contact& contact);

}  // namespace dialgrid::dialing
