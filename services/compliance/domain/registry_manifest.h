#pragma once

// A registry index's manifest: what the index file alone cannot say, kept
// beside it as "<index>.manifest" (text, written atomically by
// dialgrid-registry-build after the index):
//
//   as_of=2026-11-20          the date of the registry data (its download)
//   max_age_days=31           how old the data may be when a call is placed
//                             (US TSR and Canada's DNCL: 31; UK TPS: 28;
//                             0: no limit, e.g. a wireless list)
//   index_checksum=<16 hex>   binds the manifest to one index image
//   numbers=<count>
//   rules=US-NATIONAL-DNC     optional: the registry's row of
//                             data/registry_rules.tsv (its grace period);
//                             without it a listing binds at once
//
// A registry whose data is older than its limit may not be used to clear a
// dial: checks that rely on it fail closed.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/compliance/domain/dnc_index.h"

namespace dialgrid::compliance {

struct RegistryManifest {
  absl::CivilDay as_of;
  int max_age_days = 31;
  uint64_t index_checksum = 0;
  uint64_t numbers = 0;
  std::string rules;  // "" for none

  // From this instant on, the data is too old: the start (UTC) of the day
  // after as_of + max_age_days (a call on as_of + max_age_days is still in
  // time). InfiniteFuture() when max_age_days is 0.
  absl::Time StaleFrom() const;
};

// The same rule for data of any date (a change file's, for one).
absl::Time StaleFrom(absl::CivilDay as_of, int max_age_days);

std::string ManifestPath(const std::string& index_path);

// When a registration listed on `listed` (the date of the registry data or
// change file that first lists it) starts to bind, after a grace of
// `grace_days` counted as elapsed time (US and Canada 31, UK TPS 28,
// Australia 30 days) from the earliest instant that date exists anywhere
// (00:00 at UTC+14; the restrictive reading of a date without a zone).
absl::Time RegistrationBinds(absl::CivilDay listed, int grace_days);

// INVALID_ARGUMENT for a negative max age.
absl::Status WriteRegistryManifest(const std::string& index_path, const DncIndex& index,
                                   absl::CivilDay as_of, int max_age_days,
                                   const std::string& rules = "");

// The manifest of the index at `index_path`, checked against the opened
// index: NOT_FOUND when there is none (REGISTRY_MANIFEST_MISSING), DATA_LOSS
// when it is malformed or belongs to another image (REGISTRY_MANIFEST_MISMATCH).
absl::StatusOr<RegistryManifest> ReadRegistryManifest(const std::string& index_path,
                                                      const DncIndex& index);

// Exposed for tests.
std::string FormatRegistryManifest(const RegistryManifest& m);
absl::StatusOr<RegistryManifest> ParseRegistryManifest(absl::string_view text);

}  // namespace dialgrid::compliance
