#pragma once

// A tenant's rule set: validated from its protobuf form and compiled into
// what checks use. Pure logic.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "services/compliance/domain/attempt_caps.h"
#include "services/compliance/domain/calling_window.h"

namespace dialgrid::compliance {

struct CompiledRuleSet {
  std::string tenant;
  int64_t version = 0;
  // Presets chosen plus the tenant's own rules.
  std::vector<CallingHoursRule> calling_rules;
  std::vector<AttemptCap> number_caps;
  std::vector<AttemptCap> contact_caps;
  absl::Duration abandon_quiet = absl::ZeroDuration();
  double max_abandon_rate = 0;
  bool require_consent_for_automated_wireless = false;
  bool unknown_line_type_is_wireless = true;
  std::vector<std::string> registries;
  // Recording consent (recording_consent.h): always announce, and where the
  // tenant's own parties may be ("US-CA").
  bool always_announce_recording = false;
  std::vector<std::string> recording_parties;
  // The longest cap window (how long attempt records must be kept).
  absl::Duration longest_window = absl::ZeroDuration();
};

// Limits of a rule set.
inline constexpr int kMaxCaps = 10;
inline constexpr int kMaxCustomRules = 100;
inline constexpr int kMaxRegistries = 10;
inline constexpr int kMaxRecordingParties = 10;
// The longest cap window a rule set may have. Attempt history is kept this
// long whatever the current caps, so a cap added later counts earlier dials.
inline constexpr absl::Duration kMaxCapWindow = absl::Hours(24 * 90);

// Checks every field and compiles; INVALID_ARGUMENT naming the field and a
// reason (UNKNOWN_PRESET, UNKNOWN_REGISTRY, INVALID_CAP, WINDOW_ENDS_BEFORE_START,
// ...) otherwise. `known_registries` are the registry ids this deployment has.
absl::StatusOr<std::shared_ptr<const CompiledRuleSet>> CompileRuleSet(
    const std::string& tenant, const v1::RuleSet& rule_set,
    const std::vector<CallingHoursRule>& presets, const std::set<std::string>& known_registries);

// The protobuf form of a preset (for ListCallingHoursPresets).
v1::CallingHoursRule PresetToProto(const CallingHoursRule& rule);

}  // namespace dialgrid::compliance
