#include "services/contacts/application/erasure.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/phone/phone_numbers.h"
#include "services/contacts/application/contact_support.h"
#include "services/contacts/domain/contact_rules.h"

namespace dialgrid::contacts {

absl::StatusOr<v1::EraseContactDataResponse> EraseContactData(
    const ContactsContext& ctx, const v1::EraseContactDataRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseTenant("parent", req.parent()));
  std::string phone, external_id;
  if (req.subject_case() == v1::EraseContactDataRequest::kPhoneNumber) {
    DG_ASSIGN_OR_RETURN(phone::NormalizedPhone n,
                        phone::NormalizePhone(req.phone_number(), req.default_country()));
    phone = n.number.e164();
  } else if (req.subject_case() == v1::EraseContactDataRequest::kExternalId) {
    if (req.external_id().empty() || req.external_id().size() > kMaxExternalId) {
      return InvalidField("external_id", "INVALID_EXTERNAL_ID", "1-128 bytes");
    }
    external_id = req.external_id();
  } else {
    return InvalidField("subject", "FIELD_REQUIRED", "give phone_number or external_id");
  }
  DG_ASSIGN_OR_RETURN(auto refs, ctx.store().FindAcrossLists(tenant, phone, external_id));
  // Read everything first: the do-not-call numbers are made durable (event)
  // before any data is removed, so a failure midway never loses the opt-out.
  struct Target {
    std::string list;
    int64_t seq;
    std::string bytes;
    v1::Contact contact;
  };
  std::vector<Target> targets;
  std::set<std::string> numbers;
  if (!phone.empty()) numbers.insert(phone);
  for (const auto& [list, seq] : refs) {
    DG_ASSIGN_OR_RETURN(auto bytes, ctx.store().GetContacts(tenant, list, {seq}));
    if (bytes[0].empty()) continue;
    Target t{list, seq, bytes[0], {}};
    if (!t.contact.ParseFromString(t.bytes))
      return absl::DataLossError("stored contact does not parse");
    for (const auto& p : t.contact.phones()) numbers.insert(p.number().e164());
    targets.push_back(std::move(t));
  }
  v1::EraseContactDataResponse resp;
  for (const auto& t : targets) {
    resp.add_erased_contacts(
        ContactName(absl::StrCat("tenants/", tenant, "/contactLists/", t.list), t.seq));
  }
  for (const auto& n : numbers) resp.add_do_not_call_numbers(n);
  // The erasure's event (its numbers go on the do-not-call list) is durable
  // before anything is erased, so no failure part-way can lose it.
  v1::ContactErased ev;
  *ev.mutable_contacts() = resp.erased_contacts();
  *ev.mutable_do_not_call_numbers() = resp.do_not_call_numbers();
  DG_RETURN_IF_ERROR(ctx.store().AppendEvents(tenant, {ctx.Event(tenant, req.parent(), ev)}));
  for (const auto& t : targets) {
    auto res = ctx.store().Commit(
        tenant, t.list, {MakeWrite(t.seq, t.bytes, &t.contact, nullptr, "")}, nullptr, -1, {});
    if (absl::IsAborted(res.status())) {
      return Aborted("CONCURRENT_MODIFICATION", "a contact changed during erasure; retry the call");
    }
    if (!res.ok()) return res.status();
  }
  return resp;
}

}  // namespace dialgrid::contacts
