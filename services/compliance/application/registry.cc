#include "services/compliance/application/registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {

bool Registry::Contains(const std::string& e164) const {
  // A number outside the registry's plan (a UK number against a NANP
  // registry) is not a key of it.
  absl::StatusOr<uint64_t> key = ParseDncKey(e164, plan);
  return key.ok() && list->Contains(*key);
}

Registry::Listing Registry::Lookup(const std::string& e164) const {
  Listing out;
  absl::StatusOr<uint64_t> key = ParseDncKey(e164, plan);
  if (!key.ok() || !list->Contains(*key)) return out;
  out.listed = true;
  if (list->base()->Contains(*key)) return out;  // the download's: no date
  absl::MutexLock lock(&changes_mu_);
  auto it = change_dates_.find(*key);
  // A change stored or published without a date (CivilDay::max(), so that
  // it always applies) has no known listing date either: it binds at once.
  if (it != change_dates_.end() && it->second != absl::CivilDay::max() &&
      !at_once_.contains(*key)) {
    out.since = it->second;
  }
  return out;
}

bool Registry::Binds(const Listing& listing, absl::Time when) const {
  if (!listing.listed) return false;
  if (!rule || rule->grace_days == 0 || !listing.since) return true;
  return when >= RegistrationBinds(*listing.since, rule->grace_days);
}

absl::Status ApplyRegistryRules(const std::vector<RegistryRule>& rules,
                                std::vector<std::unique_ptr<Registry>>& registries) {
  for (auto& r : registries) {
    r->rule.reset();
    if (r->manifest.rules.empty()) continue;
    for (const RegistryRule& row : rules) {
      if (row.id == r->manifest.rules) r->rule = row;
    }
    if (!r->rule) {
      return FailedPrecondition(
          "UNKNOWN_REGISTRY_RULES",
          absl::StrCat("registry ", r->id, ": its manifest names rules \"",
                       r->manifest.rules.substr(0, 64), "\", not in registry_rules.tsv"));
    }
  }
  return absl::OkStatus();
}

absl::CivilDay Registry::DataAsOf() const {
  const int64_t changes = changes_as_of_.load(std::memory_order_relaxed);
  if (changes == std::numeric_limits<int64_t>::min()) return manifest.as_of;
  return std::max(manifest.as_of, absl::CivilDay(1970, 1, 1) + changes);
}

absl::StatusOr<bool> Registry::ApplyChange(uint64_t key, bool add, absl::CivilDay date,
                                           bool at_once) {
  absl::MutexLock lock(&changes_mu_);
  auto [it, fresh] = change_dates_.try_emplace(key, date);
  if (!fresh) {
    if (it->second > date) return false;  // a newer change of this key came first
    it->second = date;
  }
  if (add && at_once) {
    at_once_.insert(key);
  } else {
    at_once_.erase(key);
  }
  if (add ? date < manifest.as_of : date <= manifest.as_of) return false;
  DG_RETURN_IF_ERROR(add ? list->Add(key) : list->Remove(key));
  return true;
}

void Registry::SetScope(std::vector<std::string> tenants, bool all_tenants) {
  absl::MutexLock lock(&scope_mu_);
  tenants_ = std::move(tenants);
  all_tenants_ = all_tenants;
}

bool Registry::AppliesTo(const std::string& tenant) const {
  absl::MutexLock lock(&scope_mu_);
  return all_tenants_ || std::find(tenants_.begin(), tenants_.end(), tenant) != tenants_.end();
}

std::vector<std::string> Registry::ScopeTenants() const {
  absl::MutexLock lock(&scope_mu_);
  return tenants_;
}

bool Registry::AppliesToAll() const {
  absl::MutexLock lock(&scope_mu_);
  return all_tenants_;
}

absl::StatusOr<std::unique_ptr<Registry>> CreatedRegistry(const v1::Registry& def,
                                                          const std::vector<RegistryRule>& rules) {
  auto reg = std::make_unique<Registry>();
  reg->id = def.id();
  reg->kind = def.kind();
  reg->plan = def.number_plan() == v1::REGISTRY_NUMBER_PLAN_NANP ? NumberPlan::kNanp
                                                                 : NumberPlan::kE164;
  reg->created = true;
  reg->description = def.description();
  if (def.has_create_time()) reg->create_time = FromTimestamp(def.create_time());
  // No download: the data's date is only what uploads state (as_of), so
  // every change applies and an age limit counts from the first dated one.
  reg->manifest.as_of = absl::CivilDay(1970, 1, 1);
  reg->manifest.max_age_days = def.max_age_days();
  reg->manifest.rules = def.rules();
  DG_ASSIGN_OR_RETURN(DncIndex empty, DncIndex::FromSortedKeys({}, UniverseOf(reg->plan)));
  reg->list = std::make_unique<DncList>(std::make_shared<const DncIndex>(std::move(empty)));
  reg->SetScope({def.tenants().begin(), def.tenants().end()}, def.all_tenants());
  std::vector<std::unique_ptr<Registry>> one;
  one.push_back(std::move(reg));
  DG_RETURN_IF_ERROR(ApplyRegistryRules(rules, one));
  return std::move(one.front());
}

v1::Registry RegistryDefinition(const Registry& r) {
  v1::Registry p;
  p.set_name(r.Name());
  p.set_id(r.id);
  p.set_kind(r.kind);
  p.set_created(true);
  p.set_number_plan(r.plan == NumberPlan::kNanp ? v1::REGISTRY_NUMBER_PLAN_NANP
                                                : v1::REGISTRY_NUMBER_PLAN_E164);
  p.set_max_age_days(r.manifest.max_age_days);
  p.set_rules(r.manifest.rules);
  p.set_description(r.description);
  for (const std::string& t : r.ScopeTenants()) p.add_tenants(t);
  p.set_all_tenants(r.AppliesToAll());
  if (r.create_time != absl::InfinitePast()) *p.mutable_create_time() = ToProto(r.create_time);
  return p;
}

void Registry::NoteChangesAsOf(absl::CivilDay day) {
  const int64_t days = day - absl::CivilDay(1970, 1, 1);
  int64_t cur = changes_as_of_.load(std::memory_order_relaxed);
  while (days > cur && !changes_as_of_.compare_exchange_weak(cur, days)) {
  }
}

absl::Status FreshEnough(const Registry& r, absl::Time when) {
  const absl::CivilDay as_of = r.DataAsOf();
  if (when < StaleFrom(as_of, r.manifest.max_age_days)) return absl::OkStatus();
  return FailedPrecondition(
      "REGISTRY_STALE",
      absl::StrCat("registry \"", r.id, "\" holds data of ", absl::FormatCivilTime(as_of),
                   ", older than its ", r.manifest.max_age_days,
                   "-day limit; load a newer download (dialgrid-registry-build --as_of) or "
                   "apply newer data with its date (UpdateRegistry or UploadRegistryNumbers "
                   "as_of) before dialing"));
}

absl::StatusOr<std::vector<std::unique_ptr<Registry>>> LoadRegistries(
    const std::vector<std::string>& specs) {
  std::vector<std::unique_ptr<Registry>> out;
  for (const std::string& spec : specs) {
    std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits(':', 2));
    if (parts.size() != 3 || parts[0].empty() || parts[2].empty() ||
        (parts[1] != "dnc" && parts[1] != "wireless")) {
      return InvalidField("registries", "MALFORMED_REGISTRY_SPEC",
                          absl::StrCat("\"", spec, "\" is not id:dnc|wireless:path"));
    }
    for (const auto& r : out) {
      if (r->id == parts[0]) {
        return InvalidField("registries", "DUPLICATE_REGISTRY",
                            absl::StrCat("\"", parts[0], "\" twice"));
      }
    }
    auto index = DncIndex::Open(parts[2], DncIndex::OpenOptions{});
    if (!index.ok()) {
      return WithReason(
          absl::Status(index.status().code(),
                       absl::StrCat("registry ", parts[0], ": ", index.status().message())),
          ReasonOf(index.status()));
    }
    auto manifest = ReadRegistryManifest(parts[2], *index);
    if (!manifest.ok()) {
      return WithReason(
          absl::Status(manifest.status().code(),
                       absl::StrCat("registry ", parts[0], ": ", manifest.status().message())),
          ReasonOf(manifest.status()));
    }
    auto reg = std::make_unique<Registry>();
    reg->id = parts[0];
    reg->manifest = *manifest;
    reg->kind = parts[1] == "dnc" ? v1::REGISTRY_KIND_DO_NOT_CALL : v1::REGISTRY_KIND_WIRELESS;
    reg->plan =
        index->universe() == UniverseOf(NumberPlan::kNanp) ? NumberPlan::kNanp : NumberPlan::kE164;
    reg->list = std::make_unique<DncList>(std::make_shared<const DncIndex>(*std::move(index)));
    out.push_back(std::move(reg));
  }
  return out;
}

v1::Registry RegistryProto(const Registry& r, bool vendor_view) {
  v1::Registry p;
  if (r.created) {
    p = RegistryDefinition(r);
    if (!vendor_view) p.clear_tenants();
  }
  p.set_name(r.Name());
  p.set_number_plan(r.plan == NumberPlan::kNanp ? v1::REGISTRY_NUMBER_PLAN_NANP
                                                : v1::REGISTRY_NUMBER_PLAN_E164);
  p.set_id(r.id);
  p.set_kind(r.kind);
  auto base = r.list->base();
  p.set_numbers(static_cast<int64_t>(base->size()));
  p.set_size_bytes(static_cast<int64_t>(base->SizeInBytes()));
  p.set_overlay_additions(static_cast<int64_t>(r.list->added_size()));
  p.set_overlay_removals(static_cast<int64_t>(r.list->removed_size()));
  const absl::CivilDay as_of = r.DataAsOf();
  // A created registry has a date only once an upload stated one.
  if (!r.created || as_of > r.manifest.as_of) {
    *p.mutable_as_of_time() = ToProto(absl::FromCivil(as_of, absl::UTCTimeZone()));
  }
  p.set_max_age_days(r.manifest.max_age_days);
  if (r.rule) {
    p.set_rules(r.rule->id);
    p.set_grace_days(r.rule->grace_days);
  }
  if (r.manifest.max_age_days > 0) {
    *p.mutable_stale_time() = ToProto(StaleFrom(as_of, r.manifest.max_age_days));
  }
  return p;
}

}  // namespace dialgrid::compliance
