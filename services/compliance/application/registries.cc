#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {
namespace {

// The date a registry change applies with; changes stored or published
// before dates were kept have none and always apply.
absl::CivilDay ChangeDate(const std::optional<absl::CivilDay>& day) {
  return day.value_or(absl::CivilDay::max());
}

// A date of a RegistryChanged event; nullopt when absent or malformed (an
// event of a build that sent dates as strings carries none).
std::optional<absl::CivilDay> EventDay(bool present, const type::v1::Date& date) {
  if (!present) return std::nullopt;
  auto day = DayOf("date", date);
  if (!day.ok()) return std::nullopt;
  return *day;
}

}  // namespace

Registry* ComplianceManager::FindRegistry(const std::string& id) const {
  for (const auto& r : registries_) {
    if (r->id == id) return r.get();
  }
  return nullptr;
}

v1::ListRegistriesResponse ComplianceManager::ListRegistries() const {
  v1::ListRegistriesResponse resp;
  for (const auto& r : registries_) *resp.add_registries() = RegistryProto(*r);
  return resp;
}

absl::StatusOr<v1::UpdateRegistryResponse> ComplianceManager::UpdateRegistry(
    const Actor& actor, const v1::UpdateRegistryRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req.name(), kRegistryPattern));
  Registry* reg = FindRegistry(ids[0]);
  if (reg == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  std::optional<absl::CivilDay> as_of;
  if (req.has_as_of()) {
    DG_ASSIGN_OR_RETURN(as_of, DayOf("as_of", req.as_of()));
    if (*as_of > absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone())) {
      return InvalidField("as_of", "AS_OF_IN_FUTURE",
                          "a change file cannot be dated after today (UTC)");
    }
  }
  int total = req.add_numbers_size() + req.remove_numbers_size();
  if ((total == 0 && !as_of) || total > options_.max_registry_numbers) {
    return InvalidField("add_numbers", "INVALID_BATCH_SIZE",
                        absl::StrCat("1 to ", options_.max_registry_numbers, " numbers per call"));
  }
  DG_RETURN_IF_ERROR(CheckText("reason", req.reason(), 500));
  ComplianceStore::RegistryChange change;
  for (int pass = 0; pass < 2; ++pass) {
    const auto& in = pass == 0 ? req.add_numbers() : req.remove_numbers();
    for (int i = 0; i < in.size(); ++i) {
      auto key = ParseDncKey(in[i], reg->plan);
      if (!key.ok()) {
        return InvalidField(absl::StrCat(pass == 0 ? "add_numbers[" : "remove_numbers[", i, "]"),
                            "INVALID_NUMBER", key.status().message());
      }
      (pass == 0 ? change.add : change.remove).push_back(*key);
    }
  }
  change.as_of = as_of;
  change.dated = as_of.value_or(absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone()));
  v1::RegistryChanged changed;
  changed.set_registry(reg->id);
  for (uint64_t k : change.add) changed.add_added(std::to_string(k));
  for (uint64_t k : change.remove) changed.add_removed(std::to_string(k));
  changed.set_reason(req.reason());
  changed.set_changed_by(actor.subject);
  if (as_of) *changed.mutable_as_of() = DateOf(*as_of);
  *changed.mutable_change_date() = DateOf(change.dated);
  DG_RETURN_IF_ERROR(store_->UpdateRegistry(reg->id, change, Event(actor, "", req.name(), changed)));
  // This replica at once; the others through the event.
  for (uint64_t k : change.add)
    DG_RETURN_IF_ERROR(reg->ApplyChange(k, true, change.dated).status());
  for (uint64_t k : change.remove)
    DG_RETURN_IF_ERROR(reg->ApplyChange(k, false, change.dated).status());
  if (as_of) reg->NoteChangesAsOf(*as_of);
  v1::UpdateRegistryResponse resp;
  *resp.mutable_registry() = RegistryProto(*reg);
  return resp;
}

absl::StatusOr<v1::PruneRegistryOverlayResponse> ComplianceManager::PruneRegistryOverlay(
    const Actor& actor, const v1::PruneRegistryOverlayRequest& req) {
  (void)actor;  // vendor admins only (checked by the RPC layer)
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req.name(), kRegistryPattern));
  const Registry* reg = FindRegistry(ids[0]);
  if (reg == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  if (!req.has_through()) return InvalidField("through", "FIELD_REQUIRED", "through is required");
  DG_ASSIGN_OR_RETURN(absl::CivilDay through, DayOf("through", req.through()));
  // Changes of the index's own day still apply (additions), so only earlier
  // ones are reflected by it.
  if (through >= reg->manifest.as_of) {
    return FailedPrecondition(
        "INDEX_OLDER_THAN_PRUNE_DATE",
        absl::StrCat(
            "this replica's index of \"", reg->id, "\" holds data of ",
            absl::FormatCivilTime(reg->manifest.as_of),
            "; changes from that day on are still needed. Prune through the day before at most, "
            "once every replica runs an index at least that recent"));
  }
  DG_ASSIGN_OR_RETURN(auto count, store_->PruneRegistryOverlay(reg->id, through));
  v1::PruneRegistryOverlayResponse resp;
  resp.set_pruned(count.pruned);
  resp.set_kept(count.kept);
  return resp;
}

absl::Status ComplianceManager::LoadRegistryOverlays() {
  for (const auto& r : registries_) {
    DG_ASSIGN_OR_RETURN(auto overlay, store_->GetRegistryOverlay(r->id));
    for (int pass = 0; pass < 2; ++pass) {
      for (uint64_t k : pass == 0 ? overlay.added : overlay.removed) {
        auto it = overlay.dates.find(k);
        const absl::CivilDay date =
            ChangeDate(it == overlay.dates.end() ? std::nullopt : std::optional(it->second));
        DG_RETURN_IF_ERROR(r->ApplyChange(k, pass == 0, date).status());
      }
    }
    if (overlay.as_of) r->NoteChangesAsOf(*overlay.as_of);
  }
  return absl::OkStatus();
}

absl::Status ComplianceManager::HandleRegistryEvent(const event::v1::Envelope& event) {
  if (event.type() != "dialgrid.compliance.v1.RegistryChanged") return absl::OkStatus();
  v1::RegistryChanged e;
  if (!event.payload().UnpackTo(&e)) return absl::OkStatus();
  Registry* reg = FindRegistry(e.registry());
  if (reg == nullptr) return absl::OkStatus();  // not loaded on this replica
  const absl::CivilDay date = ChangeDate(EventDay(e.has_change_date(), e.change_date()));
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& text : pass == 0 ? e.added() : e.removed()) {
      uint64_t k = 0;
      if (!absl::SimpleAtoi(text, &k) || k >= UniverseOf(reg->plan)) continue;
      DG_RETURN_IF_ERROR(reg->ApplyChange(k, pass == 0, date).status());
    }
  }
  if (auto day = EventDay(e.has_as_of(), e.as_of())) reg->NoteChangesAsOf(*day);
  return absl::OkStatus();
}

}  // namespace dialgrid::compliance
