#include "services/contacts/application/export.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/status_macros.h"
#include "services/contacts/application/contact_support.h"
#include "services/contacts/domain/contact_rules.h"

namespace dialgrid::contacts {
namespace {

using google::protobuf::util::TimeUtil;

std::string CsvField(absl::string_view s) {
  if (s.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

}  // namespace

absl::Status ExportContacts(const ContactsContext& ctx, const v1::ExportContactsRequest& req,
                            const std::function<bool(std::string)>& emit) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  DG_ASSIGN_OR_RETURN(ContactFilter filter, ParseFilter(req.filter()));
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, ctx.store().GetList(ref.tenant, ref.list));
  (void)cl;
  std::string buf =
      "name,external_id,first_name,last_name,phones,time_zone,candidate_time_zones,postal_code,"
      "region,country,priority,status,attempts,last_outcome,next_callable_time,attributes\n";
  int64_t after = 0;
  for (;;) {
    int64_t next = 0;
    DG_ASSIGN_OR_RETURN(auto page, ctx.store().Scan(ref.tenant, ref.list, after, 1000, next));
    for (const auto& sc : page) {
      DG_ASSIGN_OR_RETURN(v1::Contact c, FromStored(sc.bytes, ref.name, sc.seq));
      if (sc.leased) c.set_status(v1::CONTACT_STATUS_LEASED);
      if (!filter.Matches(c)) continue;
      std::vector<std::string> attrs;
      for (const auto& [k, v] :
           std::map<std::string, std::string>(c.attributes().begin(), c.attributes().end())) {
        attrs.push_back(absl::StrCat(k, "=", v));
      }
      std::vector<std::string> cols = {c.name(),
                                       c.external_id(),
                                       c.first_name(),
                                       c.last_name(),
                                       absl::StrJoin(Phones(c), ";"),
                                       c.time_zone(),
                                       absl::StrJoin(c.candidate_time_zones(), ";"),
                                       c.postal_code(),
                                       c.region(),
                                       c.country(),
                                       std::to_string(c.priority()),
                                       StatusKey(c.status()),
                                       std::to_string(c.attempts()),
                                       c.last_outcome(),
                                       TimeUtil::ToString(c.next_callable_time()),
                                       absl::StrJoin(attrs, ";")};
      for (size_t i = 0; i < cols.size(); ++i) {
        if (i > 0) buf += ',';
        buf += CsvField(cols[i]);
      }
      buf += '\n';
      if (buf.size() >= 256 * 1024) {
        if (!emit(std::move(buf))) return absl::CancelledError("the client went away");
        buf.clear();
      }
    }
    if (next == 0) break;
    after = next;
  }
  if (!buf.empty() && !emit(std::move(buf))) return absl::CancelledError("the client went away");
  return absl::OkStatus();
}

}  // namespace dialgrid::contacts
