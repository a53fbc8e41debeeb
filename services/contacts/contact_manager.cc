#include "services/contacts/contact_manager.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/contacts/domain/contact_rules.h"
#include "services/common/phone/phone_numbers.h"

namespace dialgrid::contacts {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kBatchRows = 2000;
constexpr int kMaxRejectionsKept = 100;
constexpr int kCommitAttempts = 20;

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}
absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(ts));
}

struct ListRef {
  std::string tenant, list, name;
};

absl::StatusOr<ListRef> ParseList(absl::string_view field, absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName(field, name, "tenants/{tenant}/contactLists/{list}"));
  return ListRef{ids[0], ids[1], std::string(name)};
}

absl::StatusOr<std::string> ParseTenant(absl::string_view field, absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName(field, name, "tenants/{tenant}"));
  return ids[0];
}

absl::StatusOr<std::pair<ListRef, int64_t>> ParseContactName(absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", name,
                                          "tenants/{tenant}/contactLists/{list}/contacts/{contact}"));
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

absl::StatusOr<absl::Duration> LeaseDuration(const v1::LeaseContactsRequest& req) {
  if (!req.has_lease_duration()) return absl::Minutes(5);
  absl::Duration d = absl::Seconds(req.lease_duration().seconds()) +
                     absl::Nanoseconds(req.lease_duration().nanos());
  if (d < absl::Seconds(1) || d > absl::Hours(1)) {
    return InvalidField("lease_duration", "INVALID_DURATION", "must be between 1 s and 1 h");
  }
  return d;
}

// A contact's raw fields through the column mapping; `get` returns the value
// of a column (CSV header name or JSON key).
RawContact MapRow(const v1::ColumnMapping& m,
                  const std::function<std::string(const std::string&)>& get) {
  RawContact raw;
  for (const auto& p : m.phones()) raw.phones.push_back(get(p));
  for (const auto& [attr, col] : m.attributes()) raw.attributes[attr] = get(col);
  raw.external_id = get(m.external_id());
  raw.first_name = get(m.first_name());
  raw.last_name = get(m.last_name());
  raw.time_zone = get(m.time_zone());
  raw.postal_code = get(m.postal_code());
  raw.region = get(m.region());
  raw.country = get(m.country());
  raw.priority = get(m.priority());
  return raw;
}

}  // namespace

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
    if (InQueue(*after)) w.queue_at = FromProto(after->next_callable_time());
  }
  return w;
}

ContactManager::ContactManager(std::shared_ptr<ContactStore> store,
                               std::shared_ptr<const geo::ZoneResolver> zones, ContactQuota quota, const Clock& clock, std::string producer)
    : store_(std::move(store)),
      zones_(std::move(zones)),
      quota_(std::move(quota)),
      clock_(clock),
      producer_(std::move(producer)) {}

event::v1::Envelope ContactManager::Event(const std::string& tenant, const std::string& subject,
                                          const google::protobuf::Message& payload) const {
  return kafka::MakeEnvelope(tenant, subject, payload, producer_, clock_);
}

absl::StatusOr<int64_t> ContactManager::MaxContacts(const std::string& tenant) {
  return quota_ ? quota_(tenant) : absl::StatusOr<int64_t>(-1);
}

// ---- lists ----

absl::StatusOr<v1::ContactList> ContactManager::CreateContactList(
    const v1::CreateContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseTenant("parent", req.parent()));
  DG_RETURN_IF_ERROR(ValidateResourceId("contact_list_id", req.contact_list_id()));
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
  absl::Time now = clock_.Now();
  *cl.mutable_create_time() = ToProto(now);
  *cl.mutable_update_time() = ToProto(now);
  cl.set_etag(RandomHex(8));
  v1::ContactListCreated ev;
  *ev.mutable_contact_list() = cl;
  DG_RETURN_IF_ERROR(
      store_->CreateList(tenant, req.contact_list_id(), cl, {Event(tenant, cl.name(), ev)}));
  return cl;
}

absl::StatusOr<v1::ContactList> ContactManager::GetContactList(const v1::GetContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("name", req.name()));
  return store_->GetList(ref.tenant, ref.list);
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
  DG_ASSIGN_OR_RETURN(auto ids, store_->ListListIds(tenant, after, size + 1));
  v1::ListContactListsResponse resp;
  bool more = static_cast<int>(ids.size()) > size;
  if (more) ids.resize(static_cast<size_t>(size));
  for (const auto& id : ids) {
    auto cl = store_->GetList(tenant, id);
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
  DG_ASSIGN_OR_RETURN(v1::ContactList cur, store_->GetList(ref.tenant, ref.list));
  if (!req.contact_list().etag().empty() && req.contact_list().etag() != cur.etag()) {
    return Aborted("ETAG_MISMATCH", "the list changed; read it again and retry");
  }
  std::vector<std::string> paths(req.update_mask().paths().begin(), req.update_mask().paths().end());
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
  *cur.mutable_update_time() = ToProto(clock_.Now());
  DG_RETURN_IF_ERROR(store_->ReplaceList(ref.tenant, ref.list, cur, etag));
  return cur;
}

absl::StatusOr<v1::DeleteContactListResponse> ContactManager::DeleteContactList(
    const v1::DeleteContactListRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("name", req.name()));
  DG_ASSIGN_OR_RETURN(v1::ContactList cur, store_->GetList(ref.tenant, ref.list));
  (void)cur;
  DG_ASSIGN_OR_RETURN(int64_t n, store_->DeleteList(ref.tenant, ref.list));
  v1::DeleteContactListResponse resp;
  resp.set_deleted_contacts(n);
  return resp;
}

// ---- contacts ----

absl::StatusOr<ContactManager::Loaded> ContactManager::Load(absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto parsed, ParseContactName(name));
  Loaded l;
  l.tenant = parsed.first.tenant;
  l.list = parsed.first.list;
  l.list_name = parsed.first.name;
  l.seq = parsed.second;
  DG_ASSIGN_OR_RETURN(auto bytes, store_->GetContacts(l.tenant, l.list, {l.seq}));
  if (bytes[0].empty()) return NotFound("CONTACT_NOT_FOUND", "contact not found");
  l.bytes = bytes[0];
  DG_ASSIGN_OR_RETURN(l.contact, FromStored(l.bytes, l.list_name, l.seq));
  return l;
}

absl::StatusOr<v1::Contact> ContactManager::CreateContact(const v1::CreateContactRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, store_->GetList(ref.tenant, ref.list));
  (void)cl;
  RawContact raw = RawFromContact(req.contact());
  DG_ASSIGN_OR_RETURN(v1::Contact c, BuildContact(raw, req.contact().country(), *zones_));
  if (c.time_zone_source() == type::v1::TIME_ZONE_SOURCE_EXPLICIT || !req.contact().time_zone().empty()) {
    c.set_time_zone_source(type::v1::TIME_ZONE_SOURCE_EXPLICIT);
  }
  if (req.contact().has_next_callable_time()) {
    *c.mutable_next_callable_time() = req.contact().next_callable_time();
  }
  if (!c.external_id().empty()) {
    DG_ASSIGN_OR_RETURN(auto existing, store_->FindByExternalIds(ref.tenant, ref.list, {c.external_id()}));
    if (existing[0] > 0) {
      return AlreadyExists("EXTERNAL_ID_EXISTS",
                           absl::StrCat("a contact with external_id \"", c.external_id(),
                                        "\" exists: ", ContactName(ref.name, existing[0])));
    }
  }
  InitNewContact(c, clock_.Now());
  DG_ASSIGN_OR_RETURN(int64_t quota, MaxContacts(ref.tenant));
  std::string bytes = ToStored(c);
  // The event is stored with the contact; the store names it once the
  // contact has its sequence number.
  BatchEvents events;
  {
    v1::ContactCreated ev;
    DG_ASSIGN_OR_RETURN(*ev.mutable_contact(), FromStored(bytes, ref.name, 0));
    ev.mutable_contact()->clear_name();
    events.created = Event(ref.tenant, ref.name, ev);
  }
  DG_ASSIGN_OR_RETURN(BatchResult res,
                      store_->Commit(ref.tenant, ref.list, {MakeWrite(0, "", nullptr, &c, bytes)},
                                     nullptr, quota, events));
  if (res.seqs[0] < 0) {
    return QuotaExceeded("max_contacts", absl::StrCat("the tenant's quota of ", quota,
                                                      " contacts is reached"));
  }
  return FromStored(bytes, ref.name, res.seqs[0]);
}

absl::StatusOr<v1::Contact> ContactManager::GetContact(const v1::GetContactRequest& req) {
  DG_ASSIGN_OR_RETURN(Loaded l, Load(req.name()));
  DG_ASSIGN_OR_RETURN(bool leased, store_->IsLeased(l.tenant, l.list, l.seq));
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
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, store_->GetList(ref.tenant, ref.list));
  (void)cl;
  v1::ListContactsResponse resp;
  // A phone filter goes through the phone index instead of a scan.
  if (!filter.phone.empty()) {
    DG_ASSIGN_OR_RETURN(auto refs, store_->FindAcrossLists(ref.tenant, filter.phone, ""));
    std::vector<int64_t> seqs;
    for (const auto& [list, seq] : refs) {
      if (list == ref.list && seq > after) seqs.push_back(seq);
    }
    std::sort(seqs.begin(), seqs.end());
    if (static_cast<int>(seqs.size()) > size) seqs.resize(static_cast<size_t>(size));
    DG_ASSIGN_OR_RETURN(auto bytes, store_->GetContacts(ref.tenant, ref.list, seqs));
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (bytes[i].empty()) continue;
      DG_ASSIGN_OR_RETURN(v1::Contact c, FromStored(bytes[i], ref.name, seqs[i]));
      DG_ASSIGN_OR_RETURN(bool leased, store_->IsLeased(ref.tenant, ref.list, seqs[i]));
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
    DG_ASSIGN_OR_RETURN(auto page, store_->Scan(ref.tenant, ref.list, after,
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
    DG_ASSIGN_OR_RETURN(Loaded l, Load(req.contact().name()));
    if (!req.contact().etag().empty() && req.contact().etag() != l.contact.etag()) {
      return Aborted("ETAG_MISMATCH", "the contact changed; read it again and retry");
    }
    v1::Contact merged = l.contact;
    DG_RETURN_IF_ERROR(ApplyContactMask(req.contact(), req.update_mask().paths(), merged));
    bool zone_given = false;
    for (const auto& p : req.update_mask().paths()) zone_given = zone_given || p == "time_zone";
    RawContact raw = RawFromContact(merged);
    if (!zone_given && merged.time_zone_source() != type::v1::TIME_ZONE_SOURCE_EXPLICIT) raw.time_zone.clear();
    DG_ASSIGN_OR_RETURN(v1::Contact rebuilt, BuildContact(raw, merged.country(), *zones_));
    if (zone_given || merged.time_zone_source() == type::v1::TIME_ZONE_SOURCE_EXPLICIT) {
      if (!rebuilt.time_zone().empty()) rebuilt.set_time_zone_source(type::v1::TIME_ZONE_SOURCE_EXPLICIT);
    }
    for (int i = 0; i < rebuilt.phones_size() && i < merged.phones_size(); ++i) {
      rebuilt.mutable_phones(i)->set_callable(merged.phones(i).callable());
      rebuilt.mutable_phones(i)->set_label(merged.phones(i).label());
    }
    v1::Contact next = MergeUpsert(l.contact, rebuilt, clock_.Now());
    if (merged.has_next_callable_time()) *next.mutable_next_callable_time() = merged.next_callable_time();
    if (next.external_id() != l.contact.external_id() && !next.external_id().empty()) {
      DG_ASSIGN_OR_RETURN(auto taken, store_->FindByExternalIds(l.tenant, l.list, {next.external_id()}));
      if (taken[0] > 0 && taken[0] != l.seq) {
        return AlreadyExists("EXTERNAL_ID_EXISTS", "another contact has this external_id");
      }
    }
    std::string bytes = ToStored(next);
    DG_ASSIGN_OR_RETURN(v1::Contact out, FromStored(bytes, l.list_name, l.seq));
    v1::ContactUpdated ev;
    *ev.mutable_contact() = out;
    auto res = store_->Commit(l.tenant, l.list, {MakeWrite(l.seq, l.bytes, &l.contact, &next, bytes)},
                              nullptr, -1, {{Event(l.tenant, out.name(), ev)}, std::nullopt});
    if (absl::IsAborted(res.status()) && attempt < kCommitAttempts && req.contact().etag().empty()) {
      continue;
    }
    if (!res.ok()) return res.status();
    return out;
  }
}

absl::StatusOr<v1::DeleteContactResponse> ContactManager::DeleteContact(
    const v1::DeleteContactRequest& req) {
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(Loaded l, Load(req.name()));
    auto res = store_->Commit(l.tenant, l.list, {MakeWrite(l.seq, l.bytes, &l.contact, nullptr, "")},
                              nullptr, -1, {});
    if (absl::IsAborted(res.status()) && attempt < kCommitAttempts) continue;
    if (!res.ok()) return res.status();
    return v1::DeleteContactResponse();
  }
}

// ---- import ----

absl::StatusOr<std::unique_ptr<ImportSession>> ContactManager::StartImport(
    const v1::ImportHeader& header) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("header.parent", header.parent()));
  DG_RETURN_IF_ERROR(ValidateResourceId("header.import_id", header.import_id()));
  const auto& m = header.mapping();
  if (m.phones().empty()) {
    return InvalidField("header.mapping.phones", "MISSING_PHONE_COLUMN",
                        "map at least one phone column");
  }
  if (header.duplicate_policy() != v1::DUPLICATE_POLICY_PHONE && m.external_id().empty()) {
    return InvalidField("header.mapping.external_id", "MISSING_EXTERNAL_ID_COLUMN",
                        "the external-id duplicate policy needs an external_id column");
  }
  if (m.phones_size() > kMaxPhones || m.attributes_size() > kMaxAttributes) {
    return InvalidField("header.mapping", "TOO_MANY_COLUMNS", "too many mapped columns");
  }
  std::string dc = absl::AsciiStrToUpper(header.default_country());
  if (!dc.empty() && (dc.size() != 2 || !absl::ascii_isalpha(dc[0]) || !absl::ascii_isalpha(dc[1]))) {
    return InvalidField("header.default_country", "INVALID_COUNTRY", "ISO 3166-1 alpha-2");
  }
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, store_->GetList(ref.tenant, ref.list));
  (void)cl;
  DG_ASSIGN_OR_RETURN(int64_t committed, store_->ImportCommitted(ref.tenant, ref.list, header.import_id()));
  DG_ASSIGN_OR_RETURN(int64_t quota, MaxContacts(ref.tenant));
  return std::unique_ptr<ImportSession>(
      new ImportSession(*this, ref.tenant, ref.list, header, committed, quota));
}

ImportSession::ImportSession(ContactManager& manager, std::string tenant, std::string list,
                             v1::ImportHeader header, int64_t already_committed,
                             int64_t max_contacts)
    : manager_(manager),
      tenant_(std::move(tenant)),
      list_(std::move(list)),
      header_(std::move(header)),
      already_committed_(already_committed),
      max_contacts_(max_contacts) {
  report_.set_parent(header_.parent());
  report_.set_import_id(header_.import_id());
  committer_ = std::thread([this] { CommitLoop(); });
}

ImportSession::~ImportSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

v1::ImportReport ImportSession::ReportSnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

void ImportSession::CommitLoop() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || queued_.has_value(); });
      if (!queued_.has_value()) return;  // stopping, nothing left
      batch = std::move(*queued_);
      queued_.reset();
      committing_ = true;
    }
    absl::Status st = commit_error_.ok() ? CommitBatch(batch) : absl::OkStatus();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!st.ok() && commit_error_.ok()) commit_error_ = st;
      committing_ = false;
    }
    cv_.notify_all();
  }
}

absl::Status ImportSession::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queued_.has_value() && !committing_; });
  return commit_error_;
}

void ImportSession::Reject(int64_t row, absl::string_view reason, absl::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  report_.set_rows_rejected(report_.rows_rejected() + 1);
  if (report_.rejections_size() < kMaxRejectionsKept) {
    auto* r = report_.add_rejections();
    r->set_row(row);
    r->set_reason(std::string(reason));
    r->set_message(std::string(message.substr(0, 300)));
  }
}

absl::Status ImportSession::OnRecord(CsvReader::Record& rec) {
  if (!header_seen_) {
    header_seen_ = true;
    if (!rec.error.empty()) {
      return InvalidField("chunk", "MALFORMED_HEADER", absl::StrCat("the header row is unusable: ", rec.error));
    }
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      cols_[std::string(absl::StripAsciiWhitespace(rec.fields[i]))] = static_cast<int>(i);
    }
    column_count_ = rec.fields.size();
    const auto& m = header_.mapping();
    std::vector<std::pair<std::string, std::string>> wanted = {
        {"external_id", m.external_id()}, {"first_name", m.first_name()},
        {"last_name", m.last_name()},     {"time_zone", m.time_zone()},
        {"postal_code", m.postal_code()}, {"region", m.region()},
        {"country", m.country()},         {"priority", m.priority()}};
    for (const auto& p : m.phones()) wanted.push_back({"phones", p});
    for (const auto& [attr, col] : m.attributes()) wanted.push_back({"attributes." + attr, col});
    for (const auto& [field, col] : wanted) {
      if (!col.empty() && !cols_.count(col)) {
        return InvalidField(absl::StrCat("header.mapping.", field), "UNKNOWN_COLUMN",
                            absl::StrCat("the file has no column \"", col.substr(0, 100), "\""));
      }
    }
    return absl::OkStatus();
  }
  int64_t row = ++data_row_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_rows_read(report_.rows_read() + 1);
    if (row <= already_committed_) {
      report_.set_rows_skipped(report_.rows_skipped() + 1);
      return absl::OkStatus();
    }
  }
  if (!rec.error.empty()) {
    Reject(row, rec.error, "the row could not be parsed as CSV");
  } else if (rec.fields.size() != column_count_) {
    Reject(row, "WRONG_COLUMN_COUNT",
           absl::StrCat("expected ", column_count_, " columns, got ", rec.fields.size()));
  } else {
    Row r;
    r.row = row;
    r.raw = MapRow(header_.mapping(), [&](const std::string& col) -> std::string {
      return col.empty() ? std::string() : rec.fields[static_cast<size_t>(cols_.at(col))];
    });
    pending_.push_back(std::move(r));
  }
  if (pending_.size() >= kBatchRows) return Flush();
  return absl::OkStatus();
}

absl::Status ImportSession::OnJsonLine(absl::string_view line, int64_t row) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_rows_read(report_.rows_read() + 1);
    if (row <= already_committed_) {
      report_.set_rows_skipped(report_.rows_skipped() + 1);
      return absl::OkStatus();
    }
  }
  google::protobuf::Struct obj;
  if (!IsValidUtf8(line)) {
    Reject(row, "INVALID_UTF8", "the line is not valid UTF-8");
  } else if (!google::protobuf::util::JsonStringToMessage(std::string(line), &obj).ok()) {
    Reject(row, "INVALID_JSON", "the line is not a JSON object");
  } else {
    auto get = [&](const std::string& key) -> std::string {
      if (key.empty()) return "";
      auto it = obj.fields().find(key);
      if (it == obj.fields().end()) return "";
      const auto& v = it->second;
      if (v.has_string_value()) return v.string_value();
      if (v.has_number_value()) {
        double d = v.number_value();
        if (d == static_cast<double>(static_cast<int64_t>(d))) return std::to_string(static_cast<int64_t>(d));
        return absl::StrCat(d);
      }
      if (v.has_bool_value()) return v.bool_value() ? "true" : "false";
      return "";
    };
    Row r;
    r.row = row;
    r.raw = MapRow(header_.mapping(), get);
    pending_.push_back(std::move(r));
  }
  if (pending_.size() >= kBatchRows) return Flush();
  return absl::OkStatus();
}

absl::Status ImportSession::Feed(absl::string_view chunk) {
  if (header_.format() == v1::IMPORT_FORMAT_JSON_LINES) {
    if (json_skip_) {  // inside an over-long line: drop through its end
      size_t nl = chunk.find('\n');
      if (nl == absl::string_view::npos) return absl::OkStatus();
      chunk.remove_prefix(nl + 1);
      json_skip_ = false;
    }
    json_carry_.append(chunk.data(), chunk.size());
    size_t start = 0;
    for (;;) {
      size_t nl = json_carry_.find('\n', start);
      if (nl == std::string::npos) break;
      absl::string_view line(json_carry_.data() + start, nl - start);
      start = nl + 1;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      DG_RETURN_IF_ERROR(OnJsonLine(line, ++data_row_));
    }
    json_carry_.erase(0, start);
    if (json_carry_.size() > (1u << 20)) {
      // An over-long line: reject it and drop bytes up to its end.
      Reject(++data_row_, "RECORD_TOO_LONG", "a line longer than 1 MiB");
      std::lock_guard<std::mutex> lock(mu_);
      report_.set_rows_read(report_.rows_read() + 1);
      json_carry_.clear();
      json_skip_ = true;
    }
    return absl::OkStatus();
  }
  csv_.Feed(chunk, [&](CsvReader::Record& rec) {
    if (!deferred_.ok()) return;
    deferred_ = OnRecord(rec);
  });
  return deferred_;
}

absl::Status ImportSession::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  Batch batch = Prepare();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queued_.has_value() || !commit_error_.ok(); });
  if (!commit_error_.ok()) return commit_error_;
  queued_ = std::move(batch);
  lock.unlock();
  cv_.notify_all();
  return absl::OkStatus();
}

ImportSession::Batch ImportSession::Prepare() {
  ContactManager& m = manager_;
  Batch batch;
  batch.last_row = pending_.back().row;
  bool by_phone = header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE;
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<v1::Contact> contacts;  // beside batch.rows
  int64_t merged = 0;
  for (auto& r : pending_) {
    auto c = BuildContact(r.raw, header_.default_country(), *m.zones_);
    if (!c.ok()) {
      std::string reason = ReasonOf(c.status());
      Reject(r.row, reason.empty() ? "INVALID_ROW" : reason, c.status().message());
      continue;
    }
    std::string key = by_phone ? c->phones(0).number().e164() : c->external_id();
    if (!by_phone && key.empty()) {
      Reject(r.row, "MISSING_EXTERNAL_ID", "the row has no external id");
      continue;
    }
    // Duplicates inside the batch: the later row wins.
    auto it = index.find(key);
    if (it != index.end()) {
      batch.rows[it->second].row = r.row;
      contacts[it->second] = *std::move(c);
      ++merged;
    } else {
      index[key] = batch.rows.size();
      batch.rows.push_back(Ready{r.row, std::move(key), ContactWrite(), false});
      contacts.push_back(*std::move(c));
    }
  }
  pending_.clear();
  if (merged > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_duplicates_merged(report_.duplicates_merged() + merged);
  }
  // The insert form of every row, here rather than on the committer thread,
  // which is the import's bottleneck (most rows of most imports are new).
  absl::Time now = m.clock_.Now();
  for (size_t i = 0; i < contacts.size(); ++i) {
    Ready& r = batch.rows[i];
    v1::Contact& c = contacts[i];
    r.explicit_next_callable = c.has_next_callable_time();
    InitNewContact(c, now);
    r.fresh = MakeWrite(0, "", nullptr, &c, "");
    r.fresh.bytes = ToStored(std::move(c));
  }
  return batch;
}

absl::Status ImportSession::Lookup(const std::vector<Ready>& rows, std::vector<int64_t>& seqs,
                                   ListSnapshot& snapshot) {
  ContactManager& m = manager_;
  bool by_phone = header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE;
  seqs.assign(rows.size(), 0);
  std::vector<size_t> at;
  std::vector<std::string> keys;
  at.reserve(rows.size());
  keys.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (own_list_ && !own_keys_.MayContain(rows[i].key)) continue;  // cannot be in the list
    at.push_back(i);
    keys.push_back(rows[i].key);
  }
  if (own_list_ && keys.empty() && !own_recheck_) {
    snapshot.token = own_snapshot_;
    return absl::OkStatus();
  }
  auto found = by_phone ? m.store_->FindByPhones(tenant_, list_, keys, &snapshot)
                        : m.store_->FindByExternalIds(tenant_, list_, keys, &snapshot);
  if (!found.ok()) return found.status();
  own_recheck_ = false;
  if (own_list_ && snapshot.token != own_snapshot_) {
    // Another writer changed the list: the filter no longer covers it.
    own_list_ = false;
    return Lookup(rows, seqs, snapshot);
  }
  for (size_t j = 0; j < at.size(); ++j) seqs[at[j]] = (*found)[j];
  return absl::OkStatus();
}

void ImportSession::OwnInserted(const std::vector<ContactWrite>& inserts, const BatchResult& res) {
  bool by_phone = header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE;
  for (size_t j = 0; j < inserts.size(); ++j) {
    if (res.seqs[j] <= 0) continue;  // not inserted (quota)
    if (by_phone) {
      for (const auto& phone : inserts[j].new_phones) own_keys_.Add(phone);
    } else {
      own_keys_.Add(inserts[j].new_external_id);
    }
  }
  own_snapshot_ = res.snapshot_after;
  own_list_ = !own_snapshot_.empty() && !own_keys_.full();
}

absl::Status ImportSession::CommitBatch(Batch& batch) {
  ContactManager& m = manager_;
  std::vector<Ready>& unique = batch.rows;
  for (int attempt = 0;; ++attempt) {
    std::vector<int64_t> seqs;
    ListSnapshot snapshot;
    DG_RETURN_IF_ERROR(Lookup(unique, seqs, snapshot));
    // Seen empty (or only holding our own contacts): inserts from this state
    // keep the list covered by own_keys_.
    bool covered = own_list_ || snapshot.contacts == 0;
    std::vector<int64_t> existing_seqs;
    for (int64_t s : seqs) {
      if (s > 0) existing_seqs.push_back(s);
    }
    std::vector<std::string> old_bytes;
    if (!existing_seqs.empty()) {
      auto got = m.store_->GetContacts(tenant_, list_, existing_seqs);
      if (!got.ok()) return got.status();
      old_bytes = *std::move(got);
    }
    absl::Time now = m.clock_.Now();
    // Existing contacts change by compare-and-set (Commit); new ones go in
    // one optimistic transaction (InsertNew), which records the progress.
    // New rows lend their prepared write for the attempt and get it back.
    std::vector<ContactWrite> updates, inserts;
    std::vector<size_t> update_at, insert_at;
    std::vector<bool> is_update(unique.size(), false);
    size_t k = 0;
    for (size_t i = 0; i < unique.size(); ++i) {
      int64_t seq = seqs[i];
      const std::string* before_bytes = nullptr;
      v1::Contact before;
      if (seq > 0) {
        before_bytes = &old_bytes[k++];
        if (before_bytes->empty() || !before.ParseFromString(*before_bytes)) {
          before_bytes = nullptr;  // index without a contact (crash mid-write): recreate at seq
        }
      }
      if (before_bytes != nullptr) {
        v1::Contact fresh;
        if (!fresh.ParseFromString(unique[i].fresh.bytes)) {
          return absl::InternalError("prepared contact does not parse");
        }
        if (!unique[i].explicit_next_callable) fresh.clear_next_callable_time();
        v1::Contact next = MergeUpsert(before, fresh, now);
        updates.push_back(MakeWrite(seq, *before_bytes, &before, &next, ToStored(next)));
        update_at.push_back(i);
        is_update[i] = true;
      } else if (seq > 0) {
        updates.push_back(unique[i].fresh);
        updates.back().seq = seq;
        update_at.push_back(i);
      } else {
        inserts.push_back(std::move(unique[i].fresh));
        insert_at.push_back(i);
      }
    }
    ImportProgress progress{header_.import_id(), batch.last_row};
    BatchResult merged;
    merged.seqs.assign(unique.size(), 0);
    absl::Status st;
    if (!updates.empty() || inserts.empty()) {
      auto r = m.store_->Commit(tenant_, list_, updates, inserts.empty() ? &progress : nullptr,
                                max_contacts_, {});
      st = r.status();
      if (r.ok()) {
        for (size_t j = 0; j < update_at.size(); ++j) merged.seqs[update_at[j]] = r->seqs[j];
      }
      own_list_ = false;  // the state after our own script is not known here
    }
    if (st.ok() && !inserts.empty()) {
      // After our own Commit of the updates the list has moved on: the
      // inserts then look their ids up again instead of trusting the snapshot.
      bool trusted = updates.empty();
      std::string token = trusted ? snapshot.token : "";
      if (!trusted && header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE) {
        // InsertNew re-checks external ids by itself, not phones (a phone is
        // no per-list key in the index), so look the new rows' phones up
        // again, as one atomic read after our own updates, and let InsertNew
        // hold the list to that state. A phone claimed meanwhile: retry.
        std::vector<std::string> phones;
        for (size_t j : insert_at) phones.push_back(unique[j].key);
        ListSnapshot again;
        auto found = m.store_->FindByPhones(tenant_, list_, phones, &again);
        if (!found.ok()) {
          st = found.status();
        } else if (std::any_of(found->begin(), found->end(), [](int64_t s) { return s > 0; })) {
          st = Aborted("CONCURRENT_MODIFICATION", "a phone was claimed meanwhile; retry");
        } else {
          token = again.token;
        }
      }
      absl::StatusOr<BatchResult> r = absl::AbortedError("not attempted");
      if (st.ok()) {
        r = m.store_->InsertNew(tenant_, list_, inserts, &progress, max_contacts_, token);
        st = r.status();
      }
      if (st.ok()) {
        for (size_t j = 0; j < insert_at.size(); ++j) merged.seqs[insert_at[j]] = r->seqs[j];
        if (trusted && covered) {
          OwnInserted(inserts, *r);
        } else {
          own_list_ = false;
        }
      }
    }
    for (size_t j = 0; j < insert_at.size(); ++j) unique[insert_at[j]].fresh = std::move(inserts[j]);
    if (absl::IsAborted(st)) {
      own_recheck_ = own_list_;
    } else if (!st.ok()) {
      own_list_ = false;
    }
    if (absl::IsAborted(st) && attempt < kCommitAttempts) continue;
    if (!st.ok()) return st;
    auto res = &merged;
    int64_t accepted = 0, updated = 0;
    for (size_t i = 0; i < unique.size(); ++i) {
      if (res->seqs[i] < 0) {
        Reject(unique[i].row, "QUOTA_EXCEEDED",
               absl::StrCat("the tenant's quota of ", max_contacts_, " contacts is reached"));
      } else if (is_update[i]) {
        ++updated;
      } else {
        ++accepted;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_rows_accepted(report_.rows_accepted() + accepted);
    report_.set_rows_updated(report_.rows_updated() + updated);
    report_.set_rows_committed(batch.last_row);
    return absl::OkStatus();
  }
}

absl::StatusOr<v1::ImportReport> ImportSession::Finish() {
  if (header_.format() == v1::IMPORT_FORMAT_JSON_LINES) {
    if (!absl::StripAsciiWhitespace(json_carry_).empty() && !json_skip_) {
      DG_RETURN_IF_ERROR(OnJsonLine(json_carry_, ++data_row_));
    }
    json_carry_.clear();
  } else {
    csv_.Finish([&](CsvReader::Record& rec) {
      if (!deferred_.ok()) return;
      deferred_ = OnRecord(rec);
    });
    DG_RETURN_IF_ERROR(deferred_);
    if (!header_seen_) {
      return InvalidField("chunk", "EMPTY_FILE", "the file has no header row");
    }
  }
  DG_RETURN_IF_ERROR(Flush());
  DG_RETURN_IF_ERROR(Drain());
  v1::ImportReport report;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Every row read is now handled: committed, rejected or skipped.
    report_.set_rows_committed(std::max({report_.rows_committed(), already_committed_, data_row_}));
    report = report_;
  }
  v1::ContactListImported ev;
  *ev.mutable_report() = report;
  DG_RETURN_IF_ERROR(
      manager_.store_->AppendEvents(tenant_, {manager_.Event(tenant_, header_.parent(), ev)}));
  return report;
}

// ---- export ----

absl::Status ContactManager::Export(const v1::ExportContactsRequest& req,
                                    const std::function<bool(std::string)>& emit) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  DG_ASSIGN_OR_RETURN(ContactFilter filter, ParseFilter(req.filter()));
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, store_->GetList(ref.tenant, ref.list));
  (void)cl;
  std::string buf =
      "name,external_id,first_name,last_name,phones,time_zone,candidate_time_zones,postal_code,"
      "region,country,priority,status,attempts,last_outcome,next_callable_time,attributes\n";
  int64_t after = 0;
  for (;;) {
    int64_t next = 0;
    DG_ASSIGN_OR_RETURN(auto page, store_->Scan(ref.tenant, ref.list, after, 1000, next));
    for (const auto& sc : page) {
      DG_ASSIGN_OR_RETURN(v1::Contact c, FromStored(sc.bytes, ref.name, sc.seq));
      if (sc.leased) c.set_status(v1::CONTACT_STATUS_LEASED);
      if (!filter.Matches(c)) continue;
      std::vector<std::string> attrs;
      for (const auto& [k, v] : std::map<std::string, std::string>(c.attributes().begin(),
                                                                   c.attributes().end())) {
        attrs.push_back(absl::StrCat(k, "=", v));
      }
      std::vector<std::string> cols = {
          c.name(), c.external_id(), c.first_name(), c.last_name(),
          absl::StrJoin(Phones(c), ";"), c.time_zone(),
          absl::StrJoin(c.candidate_time_zones(), ";"), c.postal_code(), c.region(), c.country(),
          std::to_string(c.priority()), StatusKey(c.status()), std::to_string(c.attempts()),
          c.last_outcome(), TimeUtil::ToString(c.next_callable_time()), absl::StrJoin(attrs, ";")};
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

// ---- erasure ----

absl::StatusOr<v1::EraseContactDataResponse> ContactManager::EraseContactData(
    const v1::EraseContactDataRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseTenant("parent", req.parent()));
  std::string phone, external_id;
  if (req.subject_case() == v1::EraseContactDataRequest::kPhoneNumber) {
    DG_ASSIGN_OR_RETURN(phone::NormalizedPhone n, phone::NormalizePhone(req.phone_number(), req.default_country()));
    phone = n.number.e164();
  } else if (req.subject_case() == v1::EraseContactDataRequest::kExternalId) {
    if (req.external_id().empty() || req.external_id().size() > kMaxExternalId) {
      return InvalidField("external_id", "INVALID_EXTERNAL_ID", "1-128 bytes");
    }
    external_id = req.external_id();
  } else {
    return InvalidField("subject", "FIELD_REQUIRED", "give phone_number or external_id");
  }
  DG_ASSIGN_OR_RETURN(auto refs, store_->FindAcrossLists(tenant, phone, external_id));
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
    DG_ASSIGN_OR_RETURN(auto bytes, store_->GetContacts(tenant, list, {seq}));
    if (bytes[0].empty()) continue;
    Target t{list, seq, bytes[0], {}};
    if (!t.contact.ParseFromString(t.bytes)) return absl::DataLossError("stored contact does not parse");
    for (const auto& p : t.contact.phones()) numbers.insert(p.number().e164());
    targets.push_back(std::move(t));
  }
  v1::EraseContactDataResponse resp;
  for (const auto& t : targets) {
    resp.add_erased_contacts(ContactName(absl::StrCat("tenants/", tenant, "/contactLists/", t.list), t.seq));
  }
  for (const auto& n : numbers) resp.add_do_not_call_numbers(n);
  // The erasure's event (its numbers go on the do-not-call list) is durable
  // before anything is erased, so no failure part-way can lose it.
  v1::ContactErased ev;
  *ev.mutable_contacts() = resp.erased_contacts();
  *ev.mutable_do_not_call_numbers() = resp.do_not_call_numbers();
  DG_RETURN_IF_ERROR(store_->AppendEvents(tenant, {Event(tenant, req.parent(), ev)}));
  for (const auto& t : targets) {
    auto res = store_->Commit(tenant, t.list, {MakeWrite(t.seq, t.bytes, &t.contact, nullptr, "")},
                              nullptr, -1, {});
    if (absl::IsAborted(res.status())) {
      return Aborted("CONCURRENT_MODIFICATION", "a contact changed during erasure; retry the call");
    }
    if (!res.ok()) return res.status();
  }
  return resp;
}

// ---- dialer feed ----

absl::StatusOr<v1::LeaseContactsResponse> ContactManager::LeaseContacts(
    const v1::LeaseContactsRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  if (req.count() < 1 || req.count() > 1000) {
    return InvalidField("count", "INVALID_COUNT", "must be 1-1000");
  }
  if (req.holder().empty() || req.holder().size() > 128 || !IsValidUtf8(req.holder()) ||
      req.holder().find('|') != std::string::npos) {
    return InvalidField("holder", "INVALID_HOLDER", "1-128 bytes, no '|'");
  }
  DG_ASSIGN_OR_RETURN(absl::Duration duration, LeaseDuration(req));
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, store_->GetList(ref.tenant, ref.list));
  (void)cl;
  DG_ASSIGN_OR_RETURN(auto leases, store_->LeaseDue(ref.tenant, ref.list, req.count(),
                                                    clock_.Now(), duration, req.holder()));
  v1::LeaseContactsResponse resp;
  for (const auto& l : leases) {
    if (l.bytes.empty()) continue;
    auto* lc = resp.add_leases();
    DG_ASSIGN_OR_RETURN(*lc->mutable_contact(), FromStored(l.bytes, ref.name, l.seq));
    lc->mutable_contact()->set_status(v1::CONTACT_STATUS_LEASED);
    lc->set_lease_id(l.lease_id);
    *lc->mutable_expire_time() = ToProto(l.expire_time);
  }
  return resp;
}

absl::StatusOr<v1::Contact> ContactManager::ReportOutcome(const v1::ReportOutcomeRequest& req) {
  if (req.lease_id().empty()) return InvalidField("lease_id", "FIELD_REQUIRED", "lease_id is required");
  if (req.outcome().size() > 64 || !IsValidUtf8(req.outcome())) {
    return InvalidField("outcome", "FIELD_TOO_LONG", "at most 64 bytes of UTF-8");
  }
  if (req.kind() == v1::OUTCOME_KIND_UNSPECIFIED || !v1::OutcomeKind_IsValid(req.kind())) {
    return InvalidField("kind", "FIELD_REQUIRED", "give the outcome kind");
  }
  DG_ASSIGN_OR_RETURN(Loaded l, Load(req.name()));
  DG_ASSIGN_OR_RETURN(Lease held, store_->LeaseOf(l.tenant, l.list, l.seq));
  absl::Time now = clock_.Now();
  // An expired lease no longer holds the contact, even before the next
  // LeaseContacts returns it to the queue.
  if (held.lease_id != req.lease_id() || held.expire_time <= now) {
    return FailedPrecondition("LEASE_NOT_HELD", "the lease is not held (expired, reported or wrong id)");
  }
  v1::Contact next = l.contact;
  *next.mutable_update_time() = ToProto(now);
  if (req.kind() != v1::OUTCOME_KIND_RELEASED) {
    next.set_attempts(next.attempts() + 1);
    next.set_last_outcome(req.outcome());
  }
  switch (req.kind()) {
    case v1::OUTCOME_KIND_RETRY:
      next.set_status(v1::CONTACT_STATUS_CALLABLE);
      *next.mutable_next_callable_time() =
          req.has_next_callable_time() ? req.next_callable_time() : ToProto(now);
      break;
    case v1::OUTCOME_KIND_COMPLETED:
      next.set_status(v1::CONTACT_STATUS_COMPLETED);
      break;
    case v1::OUTCOME_KIND_UNREACHABLE:
      next.set_status(v1::CONTACT_STATUS_UNREACHABLE);
      break;
    case v1::OUTCOME_KIND_DO_NOT_CALL:
      next.set_status(v1::CONTACT_STATUS_DO_NOT_CALL);
      break;
    default:
      break;  // RELEASED: back to the queue unchanged
  }
  if (req.kind() == v1::OUTCOME_KIND_DO_NOT_CALL) {
    // The opt-out is made durable before the contact changes.
    v1::ContactOptedOut ev;
    ev.set_contact(l.contact.name());
    for (const auto& n : Phones(l.contact)) ev.add_do_not_call_numbers(n);
    DG_RETURN_IF_ERROR(store_->AppendEvents(l.tenant, {Event(l.tenant, l.contact.name(), ev)}));
  }
  std::string bytes = ToStored(next);
  ContactWrite w = MakeWrite(l.seq, l.bytes, &l.contact, &next, bytes);
  w.lease_id = req.lease_id();
  w.old_queued = false;  // a leased contact is out of the queue already
  DG_ASSIGN_OR_RETURN(v1::Contact out, FromStored(bytes, l.list_name, l.seq));
  v1::ContactUpdated ev;
  *ev.mutable_contact() = out;
  DG_ASSIGN_OR_RETURN(BatchResult res, store_->Commit(l.tenant, l.list, {w}, nullptr, -1,
                                                      {{Event(l.tenant, out.name(), ev)}, std::nullopt}));
  (void)res;
  return out;
}

}  // namespace dialgrid::contacts
