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

std::shared_ptr<Registry> ComplianceManager::RegistrySet::Find(const std::string& id) const {
  for (const auto& r : all) {
    if (r->id == id) return r;
  }
  return nullptr;
}

std::shared_ptr<const ComplianceManager::RegistrySet> ComplianceManager::Registries() const {
  std::lock_guard<std::mutex> lock(registries_mu_);
  return registries_;
}

void ComplianceManager::SetRegistries(std::vector<std::shared_ptr<Registry>> all) {
  auto set = std::make_shared<RegistrySet>();
  for (const auto& r : all) {
    if (r->kind == v1::REGISTRY_KIND_DO_NOT_CALL) set->dnc_ids.insert(r->id);
  }
  set->all = std::move(all);
  bool dnc_changed = false;
  {
    std::lock_guard<std::mutex> lock(registries_mu_);
    dnc_changed = !registries_ || registries_->dnc_ids != set->dnc_ids;
    registries_ = std::move(set);
  }
  // Rule sets were compiled against the registries there were: a deleted
  // one must fail them closed, a new one may let them compile.
  if (dnc_changed) {
    std::lock_guard<std::mutex> lock(mu_);
    rule_sets_.clear();
  }
}

std::shared_ptr<Registry> ComplianceManager::FindRegistry(const std::string& id) const {
  return Registries()->Find(id);
}

v1::ListRegistriesResponse ComplianceManager::ListRegistries(const std::string& parent) const {
  const bool vendor = parent == "vendor";
  const std::string tenant = vendor ? "" : parent.substr(parent.find('/') + 1);
  v1::ListRegistriesResponse resp;
  for (const auto& r : Registries()->all) {
    if (!vendor && r->kind == v1::REGISTRY_KIND_SUPPRESSION && !r->AppliesTo(tenant)) continue;
    *resp.add_registries() = RegistryProto(*r, vendor);
  }
  return resp;
}

namespace {

// A suppression list's scope as a request gives it: tenant ids, or all.
absl::Status CheckScope(const google::protobuf::RepeatedPtrField<std::string>& tenants,
                        bool all_tenants, const std::string& field) {
  if (all_tenants && !tenants.empty()) {
    return InvalidField(field, "SCOPE_AMBIGUOUS", "give tenants or all_tenants, not both");
  }
  if (tenants.size() > 10000) {
    return InvalidField(field, "INVALID_BATCH_SIZE", "at most 10,000 tenants; or all_tenants");
  }
  for (int i = 0; i < tenants.size(); ++i) {
    if (absl::Status st = ValidateTenantId(tenants[i]); !st.ok()) {
      return InvalidField(absl::StrCat(field, "[", i, "]"), "INVALID_TENANT_ID", st.message());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<Registry>> ComplianceManager::CreatedRegistryOf(
    const std::string& name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", name, kRegistryPattern));
  std::shared_ptr<Registry> reg = FindRegistry(ids[0]);
  if (reg == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  if (!reg->created) {
    return FailedPrecondition(
        "REGISTRY_FROM_INDEX",
        absl::StrCat("registry \"", ids[0],
                     "\" is loaded from an index at start (--registries): change that "
                     "configuration instead"));
  }
  return reg;
}

absl::StatusOr<v1::Registry> ComplianceManager::CreateRegistry(
    const Actor& actor, const v1::CreateRegistryRequest& req) {
  DG_RETURN_IF_ERROR(ValidateResourceId("registry_id", req.registry_id()));
  const v1::Registry& in = req.registry();
  if (!v1::RegistryKind_IsValid(in.kind()) || in.kind() == v1::REGISTRY_KIND_UNSPECIFIED) {
    return InvalidField("registry.kind", "INVALID_REGISTRY_KIND",
                        "DO_NOT_CALL, WIRELESS or SUPPRESSION");
  }
  if (!v1::RegistryNumberPlan_IsValid(in.number_plan()) ||
      in.number_plan() == v1::REGISTRY_NUMBER_PLAN_UNSPECIFIED) {
    return InvalidField("registry.number_plan", "INVALID_NUMBER_PLAN", "NANP or E164");
  }
  if (in.max_age_days() < 0 || in.max_age_days() > 3660) {
    return InvalidField("registry.max_age_days", "VALUE_OUT_OF_RANGE", "0 (no limit) to 3660 days");
  }
  DG_RETURN_IF_ERROR(CheckText("registry.description", in.description(), 500));
  DG_RETURN_IF_ERROR(CheckText("registry.rules", in.rules(), 64));
  const bool suppression = in.kind() == v1::REGISTRY_KIND_SUPPRESSION;
  if (!suppression && (in.all_tenants() || !in.tenants().empty())) {
    return InvalidField("registry.tenants", "SCOPE_ONLY_FOR_SUPPRESSION",
                        "only a suppression list has tenants; a registry applies where a "
                        "tenant's rule set names it");
  }
  if (suppression && !in.rules().empty()) {
    return InvalidField("registry.rules", "RULES_NOT_FOR_SUPPRESSION",
                        "a suppression list has no grace and no exemptions");
  }
  DG_RETURN_IF_ERROR(CheckScope(in.tenants(), in.all_tenants(), "registry.tenants"));
  if (FindRegistry(req.registry_id()) != nullptr) {
    return AlreadyExists("REGISTRY_EXISTS", absl::StrCat("a registry \"", req.registry_id(),
                                                         "\" is already loaded"));
  }
  v1::Registry def;
  def.set_id(req.registry_id());
  def.set_name(absl::StrCat("registries/", req.registry_id()));
  def.set_kind(in.kind());
  def.set_number_plan(in.number_plan());
  def.set_created(true);
  def.set_max_age_days(in.max_age_days());
  def.set_rules(in.rules());
  def.set_description(in.description());
  *def.mutable_tenants() = in.tenants();
  def.set_all_tenants(in.all_tenants());
  *def.mutable_create_time() = ToProto(clock_.Now());
  // Refused before anything is stored: rules the table lacks.
  DG_ASSIGN_OR_RETURN(std::unique_ptr<Registry> reg,
                      CreatedRegistry(def, options_.statutory.registries));
  v1::RegistryDefined defined;
  *defined.mutable_registry() = def;
  defined.set_changed_by(actor.subject);
  DG_RETURN_IF_ERROR(store_->ChangeRegistryDefinition(ComplianceStore::DefinitionChange::kCreate,
                                                      def, Event(actor, "", def.name(), defined)));
  // This replica at once; the others through the event.
  std::shared_ptr<Registry> shared = std::move(reg);
  auto set = Registries();
  if (set->Find(def.id()) == nullptr) {
    std::vector<std::shared_ptr<Registry>> all = set->all;
    all.push_back(shared);
    SetRegistries(std::move(all));
  }
  return RegistryProto(*FindRegistry(def.id()));
}

absl::StatusOr<v1::Registry> ComplianceManager::UpdateRegistryScope(
    const Actor& actor, const v1::UpdateRegistryScopeRequest& req) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Registry> reg, CreatedRegistryOf(req.name()));
  if (reg->kind != v1::REGISTRY_KIND_SUPPRESSION) {
    return FailedPrecondition("SCOPE_ONLY_FOR_SUPPRESSION",
                              "only a suppression list has tenants; a registry applies where a "
                              "tenant's rule set names it");
  }
  DG_RETURN_IF_ERROR(CheckScope(req.tenants(), req.all_tenants(), "tenants"));
  DG_RETURN_IF_ERROR(CheckText("reason", req.reason(), 500));
  v1::Registry def = RegistryDefinition(*reg);
  *def.mutable_tenants() = req.tenants();
  def.set_all_tenants(req.all_tenants());
  v1::RegistryDefined defined;
  *defined.mutable_registry() = def;
  defined.set_reason(req.reason());
  defined.set_changed_by(actor.subject);
  DG_RETURN_IF_ERROR(store_->ChangeRegistryDefinition(ComplianceStore::DefinitionChange::kUpdate,
                                                      def, Event(actor, "", req.name(), defined)));
  reg->SetScope({req.tenants().begin(), req.tenants().end()}, req.all_tenants());
  return RegistryProto(*reg);
}

absl::StatusOr<v1::DeleteRegistryResponse> ComplianceManager::DeleteRegistry(
    const Actor& actor, const v1::DeleteRegistryRequest& req) {
  DG_ASSIGN_OR_RETURN(std::shared_ptr<Registry> reg, CreatedRegistryOf(req.name()));
  DG_RETURN_IF_ERROR(CheckText("reason", req.reason(), 500));
  v1::RegistryDefined defined;
  defined.mutable_registry()->set_id(reg->id);
  defined.mutable_registry()->set_name(reg->Name());
  defined.set_deleted(true);
  defined.set_reason(req.reason());
  defined.set_changed_by(actor.subject);
  DG_RETURN_IF_ERROR(store_->ChangeRegistryDefinition(ComplianceStore::DefinitionChange::kDelete,
                                                      defined.registry(),
                                                      Event(actor, "", req.name(), defined)));
  std::vector<std::shared_ptr<Registry>> all;
  for (const auto& r : Registries()->all) {
    if (r != reg) all.push_back(r);
  }
  SetRegistries(std::move(all));
  return v1::DeleteRegistryResponse();
}

absl::StatusOr<ComplianceManager::RegistryUpload> ComplianceManager::BeginRegistryUpload(
    const Actor& actor, const v1::UploadRegistryNumbersRequest& first) {
  (void)actor;  // vendor admins only (checked by the RPC layer)
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", first.name(), kRegistryPattern));
  RegistryUpload up;
  up.registry = FindRegistry(ids[0]);
  if (up.registry == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  up.name = first.name();
  if (first.action() != v1::REGISTRY_UPLOAD_ACTION_ADD &&
      first.action() != v1::REGISTRY_UPLOAD_ACTION_REMOVE) {
    return InvalidField("action", "INVALID_ACTION", "ADD or REMOVE");
  }
  up.add = first.action() == v1::REGISTRY_UPLOAD_ACTION_ADD;
  up.at_once = !first.registrations_dated();
  if (first.registrations_dated() && !up.add) {
    return InvalidField("registrations_dated", "NOT_FOR_REMOVAL",
                        "registration dates belong to additions");
  }
  if (first.has_as_of()) {
    DG_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf("as_of", first.as_of()));
    if (day > absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone())) {
      return InvalidField("as_of", "AS_OF_IN_FUTURE", "data cannot be dated after today (UTC)");
    }
    up.as_of = day;
  }
  DG_RETURN_IF_ERROR(CheckText("reason", first.reason(), 500));
  up.reason = first.reason();
  return up;
}

absl::Status ComplianceManager::UploadRegistryNumbers(const Actor& actor, RegistryUpload& up,
                                                      const v1::UploadRegistryNumbersRequest& msg) {
  if (!msg.name().empty() && msg.name() != up.name) {
    return InvalidField("name", "UPLOAD_NAME_CHANGED",
                        "every message of an upload names the same registry (or none)");
  }
  if (msg.numbers_size() > options_.max_upload_message_numbers) {
    return InvalidField("numbers", "INVALID_BATCH_SIZE",
                        absl::StrCat("at most ", options_.max_upload_message_numbers,
                                     " numbers per message"));
  }
  Registry& reg = *up.registry;
  v1::UploadRegistryNumbersResponse& p = up.progress;
  p.clear_rejected_numbers();  // kept aside until the report
  ComplianceStore::RegistryChange change;
  change.at_once = up.add && up.at_once;
  change.as_of = std::nullopt;  // the data's date only once the upload completes
  change.dated = up.as_of.value_or(absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone()));
  int64_t unchanged = 0;
  for (const std::string& text : msg.numbers()) {
    const int64_t index = p.received();
    p.set_received(index + 1);
    auto key = ParseDncKey(text, reg.plan);
    if (!key.ok()) {
      p.set_rejected(p.rejected() + 1);
      if (up.rejected_samples.size() < 100) {
        v1::RejectedNumber r;
        r.set_index(index);
        r.set_value(text.substr(0, 64));
        r.set_reason("INVALID_NUMBER");
        r.set_message(std::string(key.status().message()));
        up.rejected_samples.push_back(std::move(r));
      }
      continue;
    }
    // Counted against this replica's view (a report, not a promise).
    if (reg.list->Contains(*key) == up.add) {
      ++unchanged;
    }
    (up.add ? change.add : change.remove).push_back(*key);
  }
  if (up.add && reg.created &&
      static_cast<int64_t>(reg.list->added_size() + change.add.size()) - unchanged >
          options_.max_created_registry_numbers) {
    return WithReason(
        absl::ResourceExhaustedError(absl::StrCat("registry \"", reg.id, "\" would hold more than ",
                     options_.max_created_registry_numbers,
                     " numbers (--max_created_registry_numbers); a registry that large is built "
                     "into an index (dialgrid-registry-build) and loaded at start")),
        "REGISTRY_FULL");
  }
  if (!change.add.empty() || !change.remove.empty()) {
    v1::RegistryChanged changed;
    changed.set_registry(reg.id);
    for (uint64_t k : change.add) changed.add_added(std::to_string(k));
    for (uint64_t k : change.remove) changed.add_removed(std::to_string(k));
    changed.set_reason(up.reason);
    changed.set_changed_by(actor.subject);
    *changed.mutable_change_date() = DateOf(change.dated);
    changed.set_binds_at_once(change.at_once);
    DG_RETURN_IF_ERROR(store_->UpdateRegistry(reg.id, change, Event(actor, "", up.name, changed)));
    for (uint64_t k : change.add) {
      DG_RETURN_IF_ERROR(reg.ApplyChange(k, true, change.dated, change.at_once).status());
    }
    for (uint64_t k : change.remove) {
      DG_RETURN_IF_ERROR(reg.ApplyChange(k, false, change.dated).status());
    }
  }
  const int64_t valid = static_cast<int64_t>(change.add.size() + change.remove.size());
  p.set_applied(p.applied() + valid - unchanged);
  p.set_unchanged(p.unchanged() + unchanged);
  return absl::OkStatus();
}

absl::Status ComplianceManager::FinishRegistryUpload(const Actor& actor, RegistryUpload& up) {
  Registry& reg = *up.registry;
  if (up.as_of) {
    // Now the registry's data is as recent as the upload's date.
    ComplianceStore::RegistryChange change;
    change.as_of = up.as_of;
    change.dated = *up.as_of;
    v1::RegistryChanged changed;
    changed.set_registry(reg.id);
    changed.set_reason(up.reason);
    changed.set_changed_by(actor.subject);
    *changed.mutable_as_of() = DateOf(*up.as_of);
    *changed.mutable_change_date() = DateOf(*up.as_of);
    DG_RETURN_IF_ERROR(store_->UpdateRegistry(reg.id, change, Event(actor, "", up.name, changed)));
    reg.NoteChangesAsOf(*up.as_of);
  }
  up.progress.set_complete(true);
  for (auto& r : up.rejected_samples) *up.progress.add_rejected_numbers() = std::move(r);
  up.rejected_samples.clear();
  *up.progress.mutable_registry() = RegistryProto(reg);
  return absl::OkStatus();
}

absl::StatusOr<v1::UpdateRegistryResponse> ComplianceManager::UpdateRegistry(
    const Actor& actor, const v1::UpdateRegistryRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req.name(), kRegistryPattern));
  std::shared_ptr<Registry> reg = FindRegistry(ids[0]);
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
  const std::shared_ptr<Registry> reg = FindRegistry(ids[0]);
  if (reg == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  if (reg->created) {
    return FailedPrecondition("REGISTRY_HAS_NO_INDEX",
                              absl::StrCat("registry \"", reg->id,
                                           "\" was created over the API: its overlay is all its "
                                           "data (take numbers off with UploadRegistryNumbers)"));
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

absl::Status ComplianceManager::LoadOverlay(Registry& r) {
  // Unchanged since this replica last replayed it (events applied the rest
  // meanwhile, or nothing changed): reading a large overlay again every
  // resync would hold Redis (about a second of its time per million
  // numbers), so only the count is read.
  const int64_t loaded = r.loaded_seq.load();
  if (loaded >= 0) {
    DG_ASSIGN_OR_RETURN(int64_t seq, store_->RegistryOverlaySeq(r.id));
    if (seq == loaded) return absl::OkStatus();
  }
  DG_ASSIGN_OR_RETURN(auto overlay, store_->GetRegistryOverlay(r.id));
  const absl::flat_hash_set<uint64_t> at_once(overlay.at_once.begin(), overlay.at_once.end());
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t k : pass == 0 ? overlay.added : overlay.removed) {
      auto it = overlay.dates.find(k);
      const absl::CivilDay date =
          ChangeDate(it == overlay.dates.end() ? std::nullopt : std::optional(it->second));
      DG_RETURN_IF_ERROR(r.ApplyChange(k, pass == 0, date, pass == 0 && at_once.contains(k)).status());
    }
  }
  if (overlay.as_of) r.NoteChangesAsOf(*overlay.as_of);
  r.loaded_seq.store(overlay.seq);
  return absl::OkStatus();
}

absl::Status ComplianceManager::LoadRegistryDefinitions() {
  DG_ASSIGN_OR_RETURN(std::vector<v1::Registry> defs, store_->RegistryDefinitions());
  auto set = Registries();
  // Created registries deleted meanwhile (their event missed) go.
  std::set<std::string> stored;
  for (const v1::Registry& def : defs) stored.insert(def.id());
  std::vector<std::shared_ptr<Registry>> all;
  bool changed = false;
  for (const auto& r : set->all) {
    if (r->created && stored.count(r->id) == 0) {
      changed = true;
    } else {
      all.push_back(r);
    }
  }
  for (const v1::Registry& def : defs) {
    const std::shared_ptr<Registry> known = set->Find(def.id());
    if (known != nullptr) {
      if (!known->created) {
        return FailedPrecondition(
            "REGISTRY_DEFINED_TWICE",
            absl::StrCat("registry \"", def.id(),
                         "\" is loaded from an index here (--registries) and was also created "
                         "over the API; delete one of them"));
      }
      known->SetScope({def.tenants().begin(), def.tenants().end()}, def.all_tenants());
      continue;
    }
    DG_ASSIGN_OR_RETURN(std::unique_ptr<Registry> reg,
                        CreatedRegistry(def, options_.statutory.registries));
    DG_RETURN_IF_ERROR(LoadOverlay(*reg));
    all.push_back(std::move(reg));
    changed = true;
  }
  if (changed) SetRegistries(std::move(all));
  return absl::OkStatus();
}

absl::Status ComplianceManager::LoadRegistryOverlays() {
  const auto before = Registries();
  DG_RETURN_IF_ERROR(LoadRegistryDefinitions());
  // The created ones just defined came with their overlays.
  for (const auto& r : before->all) DG_RETURN_IF_ERROR(LoadOverlay(*r));
  return absl::OkStatus();
}

absl::Status ComplianceManager::HandleRegistryDefined(const v1::RegistryDefined& e) {
  const v1::Registry& def = e.registry();
  auto set = Registries();
  const std::shared_ptr<Registry> known = set->Find(def.id());
  if (e.deleted()) {
    if (known == nullptr || !known->created) return absl::OkStatus();
    std::vector<std::shared_ptr<Registry>> all;
    for (const auto& r : set->all) {
      if (r != known) all.push_back(r);
    }
    SetRegistries(std::move(all));
    return absl::OkStatus();
  }
  if (known != nullptr) {
    if (known->created) {
      known->SetScope({def.tenants().begin(), def.tenants().end()}, def.all_tenants());
    }
    return absl::OkStatus();  // an index of the same id here: start refuses that
  }
  return LoadRegistryDefinitions();
}

absl::Status ComplianceManager::HandleRegistryEvent(const event::v1::Envelope& event) {
  if (event.type() == "dialgrid.compliance.v1.RegistryDefined") {
    v1::RegistryDefined e;
    if (!event.payload().UnpackTo(&e)) return absl::OkStatus();
    return HandleRegistryDefined(e);
  }
  if (event.type() != "dialgrid.compliance.v1.RegistryChanged") return absl::OkStatus();
  v1::RegistryChanged e;
  if (!event.payload().UnpackTo(&e)) return absl::OkStatus();
  std::shared_ptr<Registry> reg = FindRegistry(e.registry());
  if (reg == nullptr) {
    // Perhaps created over the API after this replica read the definitions:
    // defining it now loads its overlay, this change included.
    return LoadRegistryDefinitions();
  }
  const absl::CivilDay date = ChangeDate(EventDay(e.has_change_date(), e.change_date()));
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& text : pass == 0 ? e.added() : e.removed()) {
      uint64_t k = 0;
      if (!absl::SimpleAtoi(text, &k) || k >= UniverseOf(reg->plan)) continue;
      DG_RETURN_IF_ERROR(
          reg->ApplyChange(k, pass == 0, date, pass == 0 && e.binds_at_once()).status());
    }
  }
  if (auto day = EventDay(e.has_as_of(), e.as_of())) reg->NoteChangesAsOf(*day);
  return absl::OkStatus();
}

}  // namespace dialgrid::compliance
