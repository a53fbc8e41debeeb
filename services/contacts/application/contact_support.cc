#include "services/contacts/application/contact_support.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/contacts/domain/contact_rules.h"

namespace dialgrid::contacts {



absl::StatusOr<ListRef> ParseList(absl::string_view field, absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName(field, name, "tenants/{tenant}/contactLists/{list}"));
  return ListRef{ids[0], ids[1], std::string(name)};
}

absl::StatusOr<std::string> ParseTenant(absl::string_view field, absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName(field, name, "tenants/{tenant}"));
  return ids[0];
}

absl::StatusOr<std::pair<ListRef, int64_t>> ParseContactName(absl::string_view name) {
  DG_ASSIGN_OR_RETURN(
      auto ids, ParseName("name", name, "tenants/{tenant}/contactLists/{list}/contacts/{contact}"));
  int64_t seq = 0;
  if (ids[2].size() < 2 || ids[2][0] != 'c' || !absl::SimpleAtoi(ids[2].substr(1), &seq) ||
      seq <= 0) {
    return InvalidField("name", "MALFORMED_NAME", "contact ids look like \"c123\"");
  }
  return std::make_pair(
      ListRef{ids[0], ids[1], absl::StrCat("tenants/", ids[0], "/contactLists/", ids[1])}, seq);
}

std::vector<std::string> Phones(const v1::Contact& c) {
  std::vector<std::string> out;
  for (const auto& p : c.phones()) out.push_back(p.number().e164());
  return out;
}

ContactWrite MakeWrite(int64_t seq, const std::string& before_bytes, const v1::Contact* before,
                       const v1::Contact* after, const std::string& after_bytes) {
  ContactWrite w;
  w.seq = seq;
  w.expect = before_bytes;
  w.bytes = after_bytes;
  if (before != nullptr) {
    w.old_external_id = before->external_id();
    w.old_phones = Phones(*before);
    w.old_status = StatusKey(before->status());
    w.old_priority = before->priority();
    w.old_queued = InQueue(*before);
  }
  if (after != nullptr) {
    w.new_external_id = after->external_id();
    w.new_phones = Phones(*after);
    w.new_status = StatusKey(after->status());
    w.new_priority = after->priority();
    if (InQueue(*after)) w.queue_at = FromTimestamp(after->next_callable_time());
  }
  return w;
}

absl::StatusOr<LoadedContact> LoadContact(const ContactsContext& ctx, absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto parsed, ParseContactName(name));
  LoadedContact l;
  l.tenant = parsed.first.tenant;
  l.list = parsed.first.list;
  l.list_name = parsed.first.name;
  l.seq = parsed.second;
  DG_ASSIGN_OR_RETURN(auto bytes, ctx.store().GetContacts(l.tenant, l.list, {l.seq}));
  if (bytes[0].empty()) return NotFound("CONTACT_NOT_FOUND", "contact not found");
  l.bytes = bytes[0];
  DG_ASSIGN_OR_RETURN(l.contact, FromStored(l.bytes, l.list_name, l.seq));
  return l;
}

}  // namespace dialgrid::contacts
