#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {
namespace {

// A DNC list change request, checked: the tenant, the list ("" = the
// tenant's own, else a campaign id) and the numbers in E.164. All-or-nothing:
// one bad number refuses the whole request.
struct DncRequest {
  std::string tenant, list;
  std::vector<std::string> numbers;
  v1::DoNotCallChanged event;
};

absl::StatusOr<DncRequest> ParseDncRequest(
    const std::string& parent, const google::protobuf::RepeatedPtrField<std::string>& raw,
    const std::string& default_country, const std::string& reason, const std::string& request_id,
    const Actor& actor, int max_numbers) {
  DncRequest out;
  DG_ASSIGN_OR_RETURN(auto p, ParseListParent(parent));
  out.tenant = p.first;
  out.list = p.second;
  if (raw.empty() || raw.size() > max_numbers) {
    return InvalidField("phone_numbers", "INVALID_BATCH_SIZE",
                        absl::StrCat("1 to ", max_numbers, " numbers per call"));
  }
  DG_RETURN_IF_ERROR(CheckText("reason", reason, 500));
  DG_RETURN_IF_ERROR(CheckRequestId(request_id));
  for (int i = 0; i < raw.size(); ++i) {
    DG_ASSIGN_OR_RETURN(auto n,
                        Normalize(absl::StrCat("phone_numbers[", i, "]"), raw[i], default_country));
    out.numbers.push_back(n.number.e164());
  }
  out.event.set_list(out.list.empty() ? "tenant" : "campaign:" + out.list);
  out.event.set_reason(reason);
  out.event.set_changed_by(actor.subject);
  return out;
}

}  // namespace

absl::StatusOr<v1::AddDoNotCallNumbersResponse> ComplianceManager::AddDoNotCall(
    const Actor& actor, const v1::AddDoNotCallNumbersRequest& req) {
  DG_ASSIGN_OR_RETURN(
      DncRequest r,
      ParseDncRequest(req.parent(), req.phone_numbers(), req.default_country(), req.reason(),
                      req.request_id(), actor, options_.max_dnc_numbers));
  v1::DoNotCallEntry meta;
  meta.set_reason(req.reason());
  meta.set_added_by(actor.subject);
  *meta.mutable_add_time() = ToProto(clock_.Now());
  for (const auto& n : r.numbers) r.event.add_added(n);
  DG_ASSIGN_OR_RETURN(
      DncChange c, store_->AddDoNotCall(r.tenant, r.list, r.numbers, meta,
                                        Event(actor, r.tenant, req.parent(), r.event),
                                        ChangeKey("AddDoNotCallNumbers", req.request_id(), req)));
  v1::AddDoNotCallNumbersResponse resp;
  resp.set_added(c.changed);
  resp.set_already_listed(c.unchanged);
  return resp;
}

absl::StatusOr<v1::RemoveDoNotCallNumbersResponse> ComplianceManager::RemoveDoNotCall(
    const Actor& actor, const v1::RemoveDoNotCallNumbersRequest& req) {
  DG_ASSIGN_OR_RETURN(
      DncRequest r,
      ParseDncRequest(req.parent(), req.phone_numbers(), req.default_country(), req.reason(),
                      req.request_id(), actor, options_.max_dnc_numbers));
  for (const auto& n : r.numbers) r.event.add_removed(n);
  DG_ASSIGN_OR_RETURN(
      DncChange c,
      store_->RemoveDoNotCall(r.tenant, r.list, r.numbers, Event(actor, r.tenant, req.parent(), r.event),
                              ChangeKey("RemoveDoNotCallNumbers", req.request_id(), req)));
  v1::RemoveDoNotCallNumbersResponse resp;
  resp.set_removed(c.changed);
  resp.set_not_listed(c.unchanged);
  return resp;
}

absl::StatusOr<v1::CheckDoNotCallResponse> ComplianceManager::CheckDoNotCall(
    const v1::CheckDoNotCallRequest& req) {
  DG_ASSIGN_OR_RETURN(auto parent, ParseListParent(req.parent()));
  DG_ASSIGN_OR_RETURN(auto n, Normalize("phone_number", req.phone_number(), req.default_country()));
  const std::string& e164 = n.number.e164();
  DG_ASSIGN_OR_RETURN(auto entries, store_->DoNotCallEntries(parent.first, e164, parent.second));
  v1::CheckDoNotCallResponse resp;
  resp.set_phone_number(e164);
  for (auto& e : entries) *resp.add_entries() = std::move(e);
  const std::shared_ptr<const RegistrySet> registries = Registries();
  auto rs = RuleSetOf(parent.first, false);
  if (rs.ok()) {
    for (const std::string& id : (*rs)->registries) {
      const std::shared_ptr<Registry> registry = registries->Find(id);
      if (registry != nullptr && registry->Contains(e164))
        resp.add_entries()->set_list("registry:" + id);
    }
  } else if (ReasonOf(rs.status()) != "RULE_SET_MISSING") {
    return rs.status();
  }
  // The vendor's suppression lists that apply to the tenant.
  for (const auto& r : registries->all) {
    if (r->kind == v1::REGISTRY_KIND_SUPPRESSION && r->AppliesTo(parent.first) &&
        r->Contains(e164)) {
      resp.add_entries()->set_list("suppression:" + r->id);
    }
  }
  return resp;
}

absl::StatusOr<v1::ListDoNotCallEntriesResponse> ComplianceManager::ListDoNotCallEntries(
    const v1::ListDoNotCallEntriesRequest& req) {
  DG_ASSIGN_OR_RETURN(auto parent, ParseListParent(req.parent()));
  DG_ASSIGN_OR_RETURN(PageRequest page, ParsePage(req.page_size(), req.page_token(), req.parent()));
  DG_ASSIGN_OR_RETURN(
      auto entries, store_->ListDoNotCall(parent.first, parent.second, page.after, page.size + 1));
  v1::ListDoNotCallEntriesResponse resp;
  for (size_t i = 0; i < entries.size() && static_cast<int>(i) < page.size; ++i) {
    *resp.add_entries() = std::move(entries[i]);
  }
  if (static_cast<int>(entries.size()) > page.size) {
    resp.set_next_page_token(PageToken(req.parent(), resp.entries(page.size - 1).phone_number()));
  }
  return resp;
}

absl::Status ComplianceManager::ApplyDoNotCallEvent(
    const event::v1::Envelope& event,
    const google::protobuf::RepeatedPtrField<std::string>& numbers, const std::string& reason) {
  std::vector<std::string> valid;
  for (const auto& n : numbers) {
    if (absl::StartsWith(n, "+") && n.size() <= 16) valid.push_back(n);
  }
  if (valid.empty() || event.tenant().empty()) return absl::OkStatus();
  v1::DoNotCallEntry meta;
  meta.set_reason(reason);
  meta.set_added_by(absl::StrCat("event:", event.event_id()));
  *meta.mutable_add_time() = event.time();
  v1::DoNotCallChanged changed;
  changed.set_list("tenant");
  for (const auto& n : valid) changed.add_added(n);
  changed.set_reason(reason);
  changed.set_changed_by(meta.added_by());
  return store_
      ->AddDoNotCall(event.tenant(), "", valid, meta,
                     Event(event.tenant(), absl::StrCat("tenants/", event.tenant()), changed),
                     RequestKey{})
      .status();
}

}  // namespace dialgrid::compliance
