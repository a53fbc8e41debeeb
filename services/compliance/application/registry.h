#pragma once

// A vendor-wide number set loaded from an index file (a do-not-call registry
// or a list of known wireless numbers) with the overlay of changes made
// since the index was built.

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "services/compliance/domain/dnc_index.h"
#include "services/compliance/domain/registry_manifest.h"
#include "services/compliance/domain/statutory_rules.h"

namespace dialgrid::compliance {

// The denial code of a vendor suppression list's listing (its rule: the
// list's id).
inline constexpr char kDenySuppression[] = "VENDOR_SUPPRESSION";

struct Registry {
  std::string id;
  v1::RegistryKind kind = v1::REGISTRY_KIND_UNSPECIFIED;
  NumberPlan plan = NumberPlan::kNanp;
  RegistryManifest manifest;  // the index data's date and the age limit
  std::unique_ptr<DncList> list;
  // The registry's row of data/registry_rules.tsv named by its manifest
  // (ApplyRegistryRules); no rule: every listing binds at once.
  std::optional<RegistryRule> rule;
  // The stored overlay's change count this replica last replayed in full
  // (-1: never); a resync with the same count reads nothing more.
  std::atomic<int64_t> loaded_seq{-1};
  // Defined over the API (CreateRegistry): no index file, every number in
  // the overlay.
  bool created = false;
  std::string description;
  absl::Time create_time = absl::InfinitePast();
  // True when the E.164 number is in the set (false for numbers outside
  // its plan, e.g. a UK number against the US registry).
  bool Contains(const std::string& e164) const;

  // Whether the number is listed and since when: `since` is the date of
  // the change (UpdateRegistry) that listed it; unset for a number of the
  // downloaded index (or a change stored without a date), whose
  // registration date is unknown.
  struct Listing {
    bool listed = false;
    std::optional<absl::CivilDay> since;
  };
  Listing Lookup(const std::string& e164) const;
  // Whether a listing binds a dial at `when`: always, unless the registry's
  // rule gives new registrations a grace and this one is dated and younger
  // (RegistrationBinds).
  bool Binds(const Listing& listing, absl::Time when) const;

  // "registries/<id>": how the API names it.
  std::string Name() const { return "registries/" + id; }

  // The data's date: the index's, or a later change file's
  // (UpdateRegistry as_of); only moves forward. Thread-safe.
  absl::CivilDay DataAsOf() const;
  void NoteChangesAsOf(absl::CivilDay day);

  // Applies an overlay change dated `date` unless the index's data is newer
  // (an addition of the index's own day applies, a removal does not: the
  // stricter reading) or the key already had a newer change (change files
  // applied out of order), as the store does. Returns whether it was applied.
  // `at_once`: an addition whose registration date is unknown binds at
  // once (Lookup gives no date) whatever the grace.
  absl::StatusOr<bool> ApplyChange(uint64_t key, bool add, absl::CivilDay date,
                                   bool at_once = false);

  // A suppression list's scope: the tenants it applies to, or all. Thread-safe.
  void SetScope(std::vector<std::string> tenants, bool all_tenants);
  bool AppliesTo(const std::string& tenant) const;
  std::vector<std::string> ScopeTenants() const;
  bool AppliesToAll() const;

 private:
  mutable absl::Mutex scope_mu_;
  std::vector<std::string> tenants_ ABSL_GUARDED_BY(scope_mu_);
  bool all_tenants_ ABSL_GUARDED_BY(scope_mu_) = false;
  std::atomic<int64_t> changes_as_of_{
      std::numeric_limits<int64_t>::min()};  // days since 1970-01-01
  mutable absl::Mutex changes_mu_;
  // The date of each overlay key's latest change seen here.
  absl::flat_hash_map<uint64_t, absl::CivilDay> change_dates_ ABSL_GUARDED_BY(changes_mu_);
  // Overlay additions whose registration date is unknown (bind at once).
  absl::flat_hash_set<uint64_t> at_once_ ABSL_GUARDED_BY(changes_mu_);
};

// A registry defined over the API from its stored definition (id, kind,
// number_plan, max_age_days, rules, scope, description, create_time), with
// an empty index: its numbers come from the overlay. FAILED_PRECONDITION
// UNKNOWN_REGISTRY_RULES for a rules row not in `rules`.
absl::StatusOr<std::unique_ptr<Registry>> CreatedRegistry(const v1::Registry& def,
                                                          const std::vector<RegistryRule>& rules);

// Registries from "id:kind:path" specs (kind "dnc" or "wireless"), each
// file opened read-only (mmap, shared by every process on the host) with its
// manifest ("<path>.manifest", written by dialgrid-registry-build).
// INVALID_ARGUMENT for a malformed spec, the index's and the manifest's own
// errors otherwise (a missing manifest: NOT_FOUND REGISTRY_MANIFEST_MISSING).
// The path stays here: no response names it.
absl::StatusOr<std::vector<std::unique_ptr<Registry>>> LoadRegistries(
    const std::vector<std::string>& specs);

// Resolves each registry's manifest `rules` to its row of `rules` (a copy
// kept with the registry). FAILED_PRECONDITION
// UNKNOWN_REGISTRY_RULES for a row the table does not have.
absl::Status ApplyRegistryRules(const std::vector<RegistryRule>& rules,
                                std::vector<std::unique_ptr<Registry>>& registries);

// A registry clears dials only while its data is recent enough (the
// registry's rule, e.g. US TSR: a download at most 31 days old), judged when
// the decision is taken. FAILED_PRECONDITION REGISTRY_STALE otherwise.
absl::Status FreshEnough(const Registry& r, absl::Time when);

// The API's view of a registry (no server path). A tenant's view
// (`vendor_view` false) leaves out a suppression list's tenants.
v1::Registry RegistryProto(const Registry& r, bool vendor_view = true);

// The definition of a created registry as stored and published (what
// CreatedRegistry takes back).
v1::Registry RegistryDefinition(const Registry& r);

}  // namespace dialgrid::compliance
