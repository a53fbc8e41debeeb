#include "services/contacts/application/contact_manager.h"

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/request_ids.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/contacts/application/contact_support.h"
#include "services/contacts/application/dialer_feed.h"
#include "services/contacts/application/erasure.h"
#include "services/contacts/application/export.h"
#include "services/contacts/domain/contact_rules.h"
#include "services/contacts/domain/csv_reader.h"

namespace dialgrid::contacts {

// What a retry must repeat exactly: the request without its request_id,
// serialized deterministically, hashed (two FNV-1a-64 passes with different
// offsets: 128 bits, so two different requests do not pass for one).
template <typename Request>
std::string RequestFingerprint(const Request& req) {
  Request copy = req;
  copy.clear_request_id();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  uint64_t a = 1469598103934665603ULL, b = 0x9e3779b97f4a7c15ULL;
  for (unsigned char ch : bytes) {
    a = (a ^ ch) * 1099511628211ULL;
    b = (b ^ ch) * 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(a, absl::kZeroPad16), absl::Hex(b, absl::kZeroPad16));
}
template std::string RequestFingerprint(const v1::CreateContactListRequest&);
template std::string RequestFingerprint(const v1::CreateContactRequest&);

ContactManager::ContactManager(std::shared_ptr<ContactStore> store,
                               std::shared_ptr<const geo::ZoneResolver> zones, ContactQuota quota,
                               const Clock& clock, std::string producer)
    : ctx_(std::move(store), std::move(zones), std::move(quota), clock, std::move(producer)) {}

// ---- lists ----

absl::StatusOr<v1::ContactList> ContactManager::CreateContactList(
    const v1::CreateContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseTenant("parent", req.parent()));
  DG_RETURN_IF_ERROR(ValidateResourceId("contact_list_id", req.contact_list_id()));
  DG_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
  v1::ContactList cl = req.contact_list();
  if (cl.display_name().empty() || cl.display_name().size() > 200 ||
      !IsValidUtf8(cl.display_name())) {
    return InvalidField("contact_list.display_name", "INVALID_DISPLAY_NAME",
                        "must be 1-200 bytes of UTF-8");
  }
  if (cl.description().size() > 2000 || !IsValidUtf8(cl.description())) {
    return InvalidField("contact_list.description", "FIELD_TOO_LONG",
                        "must be at most 2000 bytes of UTF-8");
  }
  DG_RETURN_IF_ERROR(ValidateText("contact_list.display_name", cl.display_name()));
  cl.set_name(absl::StrCat(req.parent(), "/contactLists/", req.contact_list_id()));
  cl.clear_counts_by_status();
  cl.clear_contact_count();
  absl::Time now = ctx_.clock().Now();
  *cl.mutable_create_time() = ToTimestamp(now);
  *cl.mutable_update_time() = ToTimestamp(now);
  cl.set_etag(RandomHex(8));
  v1::ContactListCreated ev;
  *ev.mutable_contact_list() = cl;
  std::optional<CreateRequest> once;
  if (!req.request_id().empty()) {
    once = CreateRequest{CreateKind::kList, req.request_id(), RequestFingerprint(req)};
    // A retry: what the first call created, without validating anew.
    DG_ASSIGN_OR_RETURN(auto earlier,
                        ctx_.store().FindCreated(tenant, CreateKind::kList, req.request_id()));
    if (earlier) {
      if (earlier->fingerprint != once->fingerprint) return RequestIdReused();
      v1::ContactList first;
      if (!first.ParseFromString(earlier->bytes)) {
        return absl::DataLossError("a request record's list does not parse");
      }
      return first;
    }
  }
  return ctx_.store().CreateList(tenant, req.contact_list_id(), cl,
                                 {ctx_.Event(tenant, cl.name(), ev)}, once ? &*once : nullptr);
}

absl::StatusOr<v1::ContactList> ContactManager::GetContactList(
    const v1::GetContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("name", req.name()));
  return ctx_.store().GetList(ref.tenant, ref.list);
}

absl::StatusOr<v1::ListContactListsResponse> ContactManager::ListContactLists(
    const v1::ListContactListsRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseTenant("parent", req.parent()));
  if (req.page_size() < 0) return InvalidField("page_size", "INVALID_PAGE_SIZE", "negative");
  int size = req.page_size() == 0 ? 50 : std::min(req.page_size(), 1000);
  std::string after;
  if (!req.page_token().empty()) {
    if (!absl::WebSafeBase64Unescape(req.page_token(), &after) ||
        !ValidateResourceId("page_token", after).ok()) {
      return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
    }
  }
  DG_ASSIGN_OR_RETURN(auto ids, ctx_.store().ListListIds(tenant, after, size + 1));
  v1::ListContactListsResponse resp;
  bool more = static_cast<int>(ids.size()) > size;
  if (more) ids.resize(static_cast<size_t>(size));
  for (const auto& id : ids) {
    auto cl = ctx_.store().GetList(tenant, id);
    if (absl::IsNotFound(cl.status())) continue;
    if (!cl.ok()) return cl.status();
    *resp.add_contact_lists() = *cl;
  }
  if (more) resp.set_next_page_token(absl::WebSafeBase64Escape(ids.back()));
  return resp;
}

absl::StatusOr<v1::ContactList> ContactManager::UpdateContactList(
    const v1::UpdateContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("contact_list.name", req.contact_list().name()));
  DG_ASSIGN_OR_RETURN(v1::ContactList cur, ctx_.store().GetList(ref.tenant, ref.list));
  if (!req.contact_list().etag().empty() && req.contact_list().etag() != cur.etag()) {
    return Aborted("ETAG_MISMATCH", "the list changed; read it again and retry");
  }
  std::vector<std::string> paths(req.update_mask().paths().begin(),
                                 req.update_mask().paths().end());
  if (paths.empty()) paths = {"display_name", "description"};
  std::string etag = cur.etag();
  for (const auto& path : paths) {
    if (path == "display_name") {
      const std::string& v = req.contact_list().display_name();
      if (v.empty() || v.size() > 200 || !IsValidUtf8(v)) {
        return InvalidField("contact_list.display_name", "INVALID_DISPLAY_NAME",
                            "must be 1-200 bytes of UTF-8");
      }
      DG_RETURN_IF_ERROR(ValidateText("contact_list.display_name", v));
      cur.set_display_name(v);
    } else if (path == "description") {
      const std::string& v = req.contact_list().description();
      if (v.size() > 2000 || !IsValidUtf8(v)) {
        return InvalidField("contact_list.description", "FIELD_TOO_LONG", "at most 2000 bytes");
      }
      cur.set_description(v);
    } else {
      return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                          absl::StrCat("\"", path.substr(0, 64), "\" cannot be updated"));
    }
  }
  *cur.mutable_update_time() = ToTimestamp(ctx_.clock().Now());
  DG_RETURN_IF_ERROR(ctx_.store().ReplaceList(ref.tenant, ref.list, cur, etag));
  return cur;
}

absl::StatusOr<v1::DeleteContactListResponse> ContactManager::DeleteContactList(
    const v1::DeleteContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("name", req.name()));
  DG_ASSIGN_OR_RETURN(v1::ContactList cur, ctx_.store().GetList(ref.tenant, ref.list));
  (void)cur;
  DG_ASSIGN_OR_RETURN(int64_t n, ctx_.store().DeleteList(ref.tenant, ref.list));
  v1::DeleteContactListResponse resp;
  resp.set_deleted_contacts(n);
  return resp;
}

// ---- contacts ----

absl::StatusOr<v1::Contact> ContactManager::CreateContact(const v1::CreateContactRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  DG_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
  std::optional<CreateRequest> once;
  if (!req.request_id().empty()) {
    once = CreateRequest{CreateKind::kContact, req.request_id(), RequestFingerprint(req)};
    // A retry: the contact the first call created (as it was created), even
    // if the list or the contact has changed or gone since.
    DG_ASSIGN_OR_RETURN(
        auto earlier, ctx_.store().FindCreated(ref.tenant, CreateKind::kContact, req.request_id()));
    if (earlier) {
      if (earlier->fingerprint != once->fingerprint) return RequestIdReused();
      return FromStored(earlier->bytes, ref.name, earlier->seq);
    }
  }
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, ctx_.store().GetList(ref.tenant, ref.list));
  (void)cl;
  RawContact raw = RawFromContact(req.contact());
  DG_ASSIGN_OR_RETURN(v1::Contact c, BuildContact(raw, req.contact().country(), ctx_.zones()));
  if (c.time_zone_source() == type::v1::TIME_ZONE_SOURCE_EXPLICIT ||
      !req.contact().time_zone().empty()) {
    c.set_time_zone_source(type::v1::TIME_ZONE_SOURCE_EXPLICIT);
  }
  if (req.contact().has_next_callable_time()) {
    *c.mutable_next_callable_time() = req.contact().next_callable_time();
  }
  if (!c.external_id().empty()) {
    DG_ASSIGN_OR_RETURN(auto existing,
                        ctx_.store().FindByExternalIds(ref.tenant, ref.list, {c.external_id()}));
    if (existing[0] > 0) {
      return AlreadyExists("EXTERNAL_ID_EXISTS",
                           absl::StrCat("a contact with external_id \"", c.external_id(),
                                        "\" exists: ", ContactName(ref.name, existing[0])));
    }
  }
  InitNewContact(c, ctx_.clock().Now());
  DG_ASSIGN_OR_RETURN(int64_t quota, ctx_.MaxContacts(ref.tenant));
  std::string bytes = ToStored(c);
  // The event is stored with the contact; the store names it once the
  // contact has its sequence number.
  BatchEvents events;
  {
    v1::ContactCreated ev;
    DG_ASSIGN_OR_RETURN(*ev.mutable_contact(), FromStored(bytes, ref.name, 0));
    ev.mutable_contact()->clear_name();
    events.created = ctx_.Event(ref.tenant, ref.name, ev);
  }
  DG_ASSIGN_OR_RETURN(
      BatchResult res,
      ctx_.store().Commit(ref.tenant, ref.list, {MakeWrite(0, "", nullptr, &c, bytes)}, nullptr,
                          quota, events, once ? &*once : nullptr));
  if (res.replayed)
    return FromStored(*res.replayed, ref.name, res.seqs[0]);  // a concurrent retry won
  if (res.seqs[0] < 0) {
    return QuotaExceeded("max_contacts",
                         absl::StrCat("the tenant's quota of ", quota, " contacts is reached"));
  }
  return FromStored(bytes, ref.name, res.seqs[0]);
}

absl::StatusOr<v1::Contact> ContactManager::GetContact(const v1::GetContactRequest& req) {
  DG_ASSIGN_OR_RETURN(LoadedContact l, LoadContact(ctx_, req.name()));
  DG_ASSIGN_OR_RETURN(bool leased, ctx_.store().IsLeased(l.tenant, l.list, l.seq));
  if (leased) l.contact.set_status(v1::CONTACT_STATUS_LEASED);
  return l.contact;
}

absl::StatusOr<v1::ListContactsResponse> ContactManager::ListContacts(
    const v1::ListContactsRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  DG_ASSIGN_OR_RETURN(ContactFilter filter, ParseFilter(req.filter()));
  if (req.page_size() < 0) return InvalidField("page_size", "INVALID_PAGE_SIZE", "negative");
  int size = req.page_size() == 0 ? 50 : std::min(req.page_size(), 1000);
  int64_t after = 0;
  if (!req.page_token().empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(req.page_token(), &raw) || !absl::StartsWith(raw, "seq:") ||
        !absl::SimpleAtoi(raw.substr(4), &after) || after < 0) {
      return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
    }
  }
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, ctx_.store().GetList(ref.tenant, ref.list));
  (void)cl;
  v1::ListContactsResponse resp;
  // A phone filter goes through the phone index instead of a scan.
  if (!filter.phone.empty()) {
    DG_ASSIGN_OR_RETURN(auto refs, ctx_.store().FindAcrossLists(ref.tenant, filter.phone, ""));
    std::vector<int64_t> seqs;
    for (const auto& [list, seq] : refs) {
      if (list == ref.list && seq > after) seqs.push_back(seq);
    }
    std::sort(seqs.begin(), seqs.end());
    if (static_cast<int>(seqs.size()) > size) seqs.resize(static_cast<size_t>(size));
    DG_ASSIGN_OR_RETURN(auto bytes, ctx_.store().GetContacts(ref.tenant, ref.list, seqs));
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (bytes[i].empty()) continue;
      DG_ASSIGN_OR_RETURN(v1::Contact c, FromStored(bytes[i], ref.name, seqs[i]));
      DG_ASSIGN_OR_RETURN(bool leased, ctx_.store().IsLeased(ref.tenant, ref.list, seqs[i]));
      if (leased) c.set_status(v1::CONTACT_STATUS_LEASED);
      if (filter.Matches(c)) *resp.add_contacts() = std::move(c);
    }
    if (!seqs.empty() && static_cast<int>(seqs.size()) == size) {
      resp.set_next_page_token(absl::WebSafeBase64Escape(absl::StrCat("seq:", seqs.back())));
    }
    return resp;
  }
  // Scan until the page is full or the list ends; bounded per call (a
  // partial page still carries a token, so sparse matches page on).
  absl::Time deadline = absl::Now() + absl::Seconds(2);
  bool exhausted = false;
  while (resp.contacts_size() < size) {
    int64_t next = 0;
    DG_ASSIGN_OR_RETURN(auto page, ctx_.store().Scan(ref.tenant, ref.list, after,
                                                     size - resp.contacts_size(), next));
    for (const auto& sc : page) {
      after = sc.seq;
      DG_ASSIGN_OR_RETURN(v1::Contact c, FromStored(sc.bytes, ref.name, sc.seq));
      if (sc.leased) c.set_status(v1::CONTACT_STATUS_LEASED);
      if (filter.Matches(c)) *resp.add_contacts() = std::move(c);
    }
    if (next == 0) {
      exhausted = true;
      break;
    }
    after = std::max(after, next);
    if (absl::Now() > deadline) break;
  }
  if (exhausted) after = 0;
  if (after != 0) resp.set_next_page_token(absl::WebSafeBase64Escape(absl::StrCat("seq:", after)));
  return resp;
}

absl::StatusOr<v1::Contact> ContactManager::UpdateContact(const v1::UpdateContactRequest& req) {
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(LoadedContact l, LoadContact(ctx_, req.contact().name()));
    if (!req.contact().etag().empty() && req.contact().etag() != l.contact.etag()) {
      return Aborted("ETAG_MISMATCH", "the contact changed; read it again and retry");
    }
    v1::Contact merged = l.contact;
    DG_RETURN_IF_ERROR(ApplyContactMask(req.contact(), req.update_mask().paths(), merged));
    bool zone_given = false;
    for (const auto& p : req.update_mask().paths()) zone_given = zone_given || p == "time_zone";
    RawContact raw = RawFromContact(merged);
    if (!zone_given && merged.time_zone_source() != type::v1::TIME_ZONE_SOURCE_EXPLICIT)
      raw.time_zone.clear();
    DG_ASSIGN_OR_RETURN(v1::Contact rebuilt, BuildContact(raw, merged.country(), ctx_.zones()));
    if (zone_given || merged.time_zone_source() == type::v1::TIME_ZONE_SOURCE_EXPLICIT) {
      if (!rebuilt.time_zone().empty())
        rebuilt.set_time_zone_source(type::v1::TIME_ZONE_SOURCE_EXPLICIT);
    }
    for (int i = 0; i < rebuilt.phones_size() && i < merged.phones_size(); ++i) {
      rebuilt.mutable_phones(i)->set_callable(merged.phones(i).callable());
      rebuilt.mutable_phones(i)->set_label(merged.phones(i).label());
    }
    v1::Contact next = MergeUpsert(l.contact, rebuilt, ctx_.clock().Now());
    if (merged.has_next_callable_time())
      *next.mutable_next_callable_time() = merged.next_callable_time();
    if (next.external_id() != l.contact.external_id() && !next.external_id().empty()) {
      DG_ASSIGN_OR_RETURN(auto taken,
                          ctx_.store().FindByExternalIds(l.tenant, l.list, {next.external_id()}));
      if (taken[0] > 0 && taken[0] != l.seq) {
        return AlreadyExists("EXTERNAL_ID_EXISTS", "another contact has this external_id");
      }
    }
    std::string bytes = ToStored(next);
    DG_ASSIGN_OR_RETURN(v1::Contact out, FromStored(bytes, l.list_name, l.seq));
    v1::ContactUpdated ev;
    *ev.mutable_contact() = out;
    auto res =
        ctx_.store().Commit(l.tenant, l.list, {MakeWrite(l.seq, l.bytes, &l.contact, &next, bytes)},
                            nullptr, -1, {{ctx_.Event(l.tenant, out.name(), ev)}, std::nullopt});
    if (absl::IsAborted(res.status()) && attempt < kCommitAttempts &&
        req.contact().etag().empty()) {
      continue;
    }
    if (!res.ok()) return res.status();
    return out;
  }
}

absl::StatusOr<v1::DeleteContactResponse> ContactManager::DeleteContact(
    const v1::DeleteContactRequest& req) {
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(LoadedContact l, LoadContact(ctx_, req.name()));
    auto res = ctx_.store().Commit(
        l.tenant, l.list, {MakeWrite(l.seq, l.bytes, &l.contact, nullptr, "")}, nullptr, -1, {});
    if (absl::IsAborted(res.status()) && attempt < kCommitAttempts) continue;
    if (!res.ok()) return res.status();
    return v1::DeleteContactResponse();
  }
}

// ---- import, export, erasure, dialer feed (their own files) ----

absl::StatusOr<std::unique_ptr<ImportSession>> ContactManager::StartImport(
    const v1::ImportHeader& header) {
  return ImportSession::Start(ctx_, header);
}

absl::Status ContactManager::Export(const v1::ExportContactsRequest& req,
                                    const std::function<bool(std::string)>& emit) {
  return ExportContacts(ctx_, req, emit);
}

absl::StatusOr<v1::EraseContactDataResponse> ContactManager::EraseContactData(
    const v1::EraseContactDataRequest& req) {
  return contacts::EraseContactData(ctx_, req);
}

absl::StatusOr<v1::LeaseContactsResponse> ContactManager::LeaseContacts(
    const v1::LeaseContactsRequest& req) {
  return contacts::LeaseContacts(ctx_, req);
}

absl::StatusOr<v1::Contact> ContactManager::ReportOutcome(const v1::ReportOutcomeRequest& req) {
  return contacts::ReportOutcome(ctx_, req);
}

}  // namespace dialgrid::contacts
