#include "services/contacts/testing/memory_contact_store.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/contacts/domain/contact_rules.h"

namespace dialgrid::contacts {
namespace {

absl::Status ListNotFound() { return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found"); }
absl::Status Conflict() {
  return Aborted("CONCURRENT_MODIFICATION", "the contact changed concurrently; retry");
}
absl::Status Reused() {
  return WithMetadata(AlreadyExists("REQUEST_ID_REUSED",
                                    "request_id was used within 24 hours for a different request; "
                                    "a retry must repeat the request exactly, a new request needs "
                                    "a new id"),
                      "field", "request_id");
}
int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }

}  // namespace

std::string MemoryContactStore::Token(const ListState& l) {
  return absl::StrCat(l.version, ":", l.count, ":", l.etag);
}

std::string MemoryContactStore::RequestKey(CreateKind kind, const std::string& id) {
  return absl::StrCat(kind == CreateKind::kList ? "list:" : "contact:", id);
}

absl::StatusOr<v1::ContactList> MemoryContactStore::CreateList(const std::string& tenant,
                                                               const std::string& list,
                                                               const v1::ContactList& cl,
                                                               const Events& events,
                                                               const CreateRequest* request) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  if (request != nullptr) {
    auto it = t.requests.find(RequestKey(CreateKind::kList, request->request_id));
    if (it != t.requests.end()) {
      if (it->second.fingerprint != request->fingerprint) return Reused();
      v1::ContactList earlier;
      earlier.ParseFromString(it->second.bytes);
      return earlier;
    }
  }
  if (t.lists.count(list)) {
    return AlreadyExists("CONTACT_LIST_EXISTS", absl::StrCat("contact list \"", list, "\" exists"));
  }
  ListState& l = t.lists[list];
  l.proto = cl;
  l.etag = cl.etag();
  if (request != nullptr) {
    t.requests[RequestKey(CreateKind::kList, request->request_id)] = {request->fingerprint, 0,
                                                                      cl.SerializeAsString()};
  }
  t.outbox.insert(t.outbox.end(), events.begin(), events.end());
  return cl;
}

absl::StatusOr<std::optional<CreatedRecord>> MemoryContactStore::FindCreated(
    const std::string& tenant, CreateKind kind, const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  auto it = t.requests.find(RequestKey(kind, request_id));
  if (it == t.requests.end()) return std::optional<CreatedRecord>();
  return std::optional<CreatedRecord>(it->second);
}

absl::StatusOr<v1::ContactList> MemoryContactStore::GetList(const std::string& tenant,
                                                            const std::string& list) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  if (it == lists.end()) return ListNotFound();
  const ListState& l = it->second;
  v1::ContactList cl = l.proto;
  cl.set_etag(l.etag);
  cl.set_contact_count(l.count);
  for (const auto& [status, n] : l.by_status) {
    if (n != 0) (*cl.mutable_counts_by_status())[status] = n;
  }
  int64_t leased = static_cast<int64_t>(l.leases.size());
  if (leased > 0) {
    (*cl.mutable_counts_by_status())["LEASED"] = leased;
    auto& callable = (*cl.mutable_counts_by_status())["CALLABLE"];
    callable -= leased;
    if (callable <= 0) cl.mutable_counts_by_status()->erase("CALLABLE");
  }
  return cl;
}

absl::StatusOr<std::vector<std::string>> MemoryContactStore::ListListIds(const std::string& tenant,
                                                                         const std::string& after,
                                                                         int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, l] : tenants_[tenant].lists) {
    if (id > after && static_cast<int>(out.size()) < limit) out.push_back(id);
  }
  return out;
}

absl::Status MemoryContactStore::ReplaceList(const std::string& tenant, const std::string& list,
                                             v1::ContactList& cl, const std::string& expected) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  if (it == lists.end()) return ListNotFound();
  if (it->second.etag != expected) {
    return Aborted("ETAG_MISMATCH", "the list changed; read it again and retry");
  }
  cl.set_etag(absl::StrCat("m", ++etags_));
  it->second.etag = cl.etag();
  it->second.proto = cl;
  it->second.proto.clear_counts_by_status();
  it->second.proto.clear_contact_count();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MemoryContactStore::DeleteList(const std::string& tenant,
                                                       const std::string& list) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  auto it = t.lists.find(list);
  if (it == t.lists.end()) return ListNotFound();
  int64_t n = static_cast<int64_t>(it->second.contacts.size());
  for (auto& [phone, refs] : t.phones) {
    for (auto r = refs.begin(); r != refs.end();)
      r = r->first == list ? refs.erase(r) : std::next(r);
  }
  t.contacts -= n;
  t.lists.erase(it);
  return n;
}

absl::StatusOr<std::vector<int64_t>> MemoryContactStore::FindByExternalIds(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& ids,
    ListSnapshot* snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  std::vector<int64_t> out;
  for (const auto& id : ids) {
    int64_t seq = 0;
    if (it != lists.end()) {
      auto x = it->second.external_ids.find(id);
      if (x != it->second.external_ids.end()) seq = x->second;
    }
    out.push_back(seq);
  }
  if (snapshot != nullptr) {
    *snapshot = it == lists.end() ? ListSnapshot{"::", 0}
                                  : ListSnapshot{Token(it->second), it->second.count};
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> MemoryContactStore::FindByPhones(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& e164,
    ListSnapshot* snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  std::vector<int64_t> out;
  for (const auto& n : e164) {
    int64_t seq = 0;
    for (const auto& [l, s] : t.phones[n]) {
      if (l == list) {
        seq = s;
        break;
      }
    }
    out.push_back(seq);
  }
  if (snapshot != nullptr) {
    auto it = t.lists.find(list);
    *snapshot = it == t.lists.end() ? ListSnapshot{"::", 0}
                                    : ListSnapshot{Token(it->second), it->second.count};
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> MemoryContactStore::FindAcrossLists(
    const std::string& tenant, const std::string& phone, const std::string& external_id) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  std::vector<std::pair<std::string, int64_t>> out;
  if (!phone.empty()) {
    for (const auto& ref : t.phones[phone]) out.push_back(ref);
  }
  if (!external_id.empty()) {
    for (const auto& [id, l] : t.lists) {
      auto x = l.external_ids.find(external_id);
      if (x != l.external_ids.end()) out.emplace_back(id, x->second);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MemoryContactStore::GetContacts(
    const std::string& tenant, const std::string& list, const std::vector<int64_t>& seqs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  std::vector<std::string> out;
  for (int64_t s : seqs) {
    std::string bytes;
    if (it != lists.end()) {
      auto c = it->second.contacts.find(s);
      if (c != it->second.contacts.end()) bytes = c->second;
    }
    out.push_back(bytes);
  }
  return out;
}

absl::StatusOr<bool> MemoryContactStore::IsLeased(const std::string& tenant,
                                                  const std::string& list, int64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  return it != lists.end() && it->second.leases.count(seq) > 0;
}

absl::StatusOr<std::vector<Scanned>> MemoryContactStore::Scan(const std::string& tenant,
                                                              const std::string& list,
                                                              int64_t after, int limit,
                                                              int64_t& next_after) {
  std::lock_guard<std::mutex> lock(mu_);
  next_after = 0;
  std::vector<Scanned> out;
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  if (it == lists.end()) return out;
  const ListState& l = it->second;
  for (auto c = l.contacts.upper_bound(after); c != l.contacts.end(); ++c) {
    if (static_cast<int>(out.size()) == limit) {
      next_after = out.back().seq;
      break;
    }
    out.push_back({c->first, c->second, l.leases.count(c->first) > 0});
  }
  return out;
}

void MemoryContactStore::Apply(TenantState& t, const std::string& list, ListState& l,
                               const ContactWrite& w, int64_t seq) {
  bool live = !w.bytes.empty();
  if (live) {
    l.contacts[seq] = w.bytes;
  } else {
    l.contacts.erase(seq);
  }
  if (!w.old_external_id.empty() && (w.old_external_id != w.new_external_id || !live)) {
    l.external_ids.erase(w.old_external_id);
  }
  if (!w.new_external_id.empty() && live) l.external_ids[w.new_external_id] = seq;
  for (const auto& p : w.old_phones) t.phones[p].erase({list, seq});
  if (live) {
    for (const auto& p : w.new_phones) t.phones[p].insert({list, seq});
  }
  if (w.old_queued) l.queue.erase(seq);
  if (!w.lease_id.empty() || !live) l.leases.erase(seq);
  if (w.queue_at && live && (!w.lease_id.empty() || l.leases.count(seq) == 0)) {
    l.queue[seq] = {w.new_priority, Millis(*w.queue_at)};
  }
  if (w.old_status != w.new_status) {
    if (!w.old_status.empty()) --l.by_status[w.old_status];
    if (!w.new_status.empty()) ++l.by_status[w.new_status];
  }
}

absl::StatusOr<BatchResult> MemoryContactStore::Commit(
    const std::string& tenant, const std::string& list, const std::vector<ContactWrite>& writes,
    const ImportProgress* progress, int64_t max_contacts, const BatchEvents& events,
    const CreateRequest* request) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  auto it = t.lists.find(list);
  if (it == t.lists.end()) return ListNotFound();
  ListState& l = it->second;
  BatchResult res;
  if (request != nullptr) {
    auto r = t.requests.find(RequestKey(CreateKind::kContact, request->request_id));
    if (r != t.requests.end()) {
      if (r->second.fingerprint != request->fingerprint) return Reused();
      res.seqs.push_back(r->second.seq);
      res.replayed = r->second.bytes;
      return res;
    }
  }
  int64_t fresh = 0;
  for (const auto& w : writes) {
    if (w.seq == 0) {
      ++fresh;
      if (!w.new_external_id.empty() && l.external_ids.count(w.new_external_id)) return Conflict();
      continue;
    }
    auto c = l.contacts.find(w.seq);
    if ((c == l.contacts.end() ? std::string() : c->second) != w.expect) return Conflict();
    if (!w.lease_id.empty()) {
      auto lease = l.leases.find(w.seq);
      if (lease == l.leases.end() || lease->second.id != w.lease_id) {
        return FailedPrecondition("LEASE_NOT_HELD", "the lease is not held (expired or reported)");
      }
    }
  }
  int64_t room = fresh;
  if (max_contacts >= 0) room = std::max<int64_t>(0, std::min(fresh, max_contacts - t.contacts));
  int64_t added = 0, removed = 0;
  for (const auto& w : writes) {
    int64_t seq = w.seq;
    if (seq == 0) {
      if (room == 0) {
        res.seqs.push_back(-1);
        ++res.quota_rejected;
        continue;
      }
      --room;
      seq = ++l.next_seq;
      ++added;
    }
    if (w.bytes.empty()) ++removed;
    Apply(t, list, l, w, seq);
    res.seqs.push_back(seq);
  }
  l.count += added - removed;
  t.contacts += added - removed;
  ++l.version;
  if (progress != nullptr) l.imports[progress->import_id] = progress->rows_committed;
  if (request != nullptr && !res.seqs.empty() && res.seqs[0] > 0) {
    t.requests[RequestKey(CreateKind::kContact, request->request_id)] = {
        request->fingerprint, res.seqs[0], writes[0].bytes};
  }
  t.outbox.insert(t.outbox.end(), events.events.begin(), events.events.end());
  if (events.created && !res.seqs.empty() && res.seqs[0] > 0) {
    // As DecodeContactsOutboxRecord completes a 'C' record.
    event::v1::Envelope env = *events.created;
    v1::ContactCreated created;
    env.payload().UnpackTo(&created);
    created.mutable_contact()->set_name(ContactName(env.subject(), res.seqs[0]));
    env.set_subject(created.contact().name());
    env.mutable_payload()->PackFrom(created);
    t.outbox.push_back(std::move(env));
  }
  return res;
}

absl::Status MemoryContactStore::AppendEvents(const std::string& tenant, const Events& events) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& outbox = tenants_[tenant].outbox;
  outbox.insert(outbox.end(), events.begin(), events.end());
  return absl::OkStatus();
}

absl::StatusOr<BatchResult> MemoryContactStore::InsertNew(
    const std::string& tenant, const std::string& list, const std::vector<ContactWrite>& writes,
    const ImportProgress* progress, int64_t max_contacts, const std::string& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  TenantState& t = tenants_[tenant];
  auto it = t.lists.find(list);
  if (it == t.lists.end()) return ListNotFound();
  ListState& l = it->second;
  BatchResult res;
  if (writes.empty()) return res;
  if (!snapshot.empty() && snapshot != Token(l)) {
    return Aborted("CONCURRENT_MODIFICATION", "the list changed since it was read; retry");
  }
  if (snapshot.empty()) {
    for (const auto& w : writes) {
      if (!w.new_external_id.empty() && l.external_ids.count(w.new_external_id)) return Conflict();
    }
  }
  int64_t room = static_cast<int64_t>(writes.size());
  if (max_contacts >= 0) room = std::max<int64_t>(0, std::min(room, max_contacts - t.contacts));
  for (size_t i = 0; i < writes.size(); ++i) {
    if (static_cast<int64_t>(i) >= room) {
      res.seqs.push_back(-1);
      ++res.quota_rejected;
      continue;
    }
    int64_t seq = ++l.next_seq;
    Apply(t, list, l, writes[i], seq);
    res.seqs.push_back(seq);
  }
  l.count += room;
  t.contacts += room;
  if (progress != nullptr) l.imports[progress->import_id] = progress->rows_committed;
  res.snapshot_after = Token(l);
  return res;
}

absl::Status MemoryContactStore::ReserveIndexes(const std::string& tenant,
                                                const std::string& list, int64_t new_contacts,
                                                int64_t max_contacts) {
  (void)max_contacts;
  std::lock_guard<std::mutex> lock(mu_);
  reserved_[{tenant, list}].push_back(new_contacts);
  return absl::OkStatus();
}

std::vector<int64_t> MemoryContactStore::ReservedFor(const std::string& tenant,
                                                     const std::string& list) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reserved_.find({tenant, list});
  return it == reserved_.end() ? std::vector<int64_t>() : it->second;
}

absl::StatusOr<int64_t> MemoryContactStore::ImportCommitted(const std::string& tenant,
                                                            const std::string& list,
                                                            const std::string& import_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  if (it == lists.end()) return int64_t{0};
  auto imp = it->second.imports.find(import_id);
  return imp == it->second.imports.end() ? 0 : imp->second;
}

absl::StatusOr<std::vector<Lease>> MemoryContactStore::LeaseDue(const std::string& tenant,
                                                                const std::string& list, int count,
                                                                absl::Time now,
                                                                absl::Duration duration,
                                                                const std::string& holder) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Lease> out;
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  if (it == lists.end()) return out;
  ListState& l = it->second;
  for (auto lease = l.leases.begin(); lease != l.leases.end();) {
    if (lease->second.expire <= now) {
      l.queue[lease->first] = {lease->second.priority, Millis(now)};
      lease = l.leases.erase(lease);
    } else {
      ++lease;
    }
  }
  // Highest priority first, then earliest due, then seq.
  std::vector<std::tuple<int, int64_t, int64_t>> due;
  for (const auto& [seq, q] : l.queue) {
    if (q.second <= Millis(now)) due.emplace_back(-q.first, q.second, seq);
  }
  std::sort(due.begin(), due.end());
  absl::Time expire = absl::FromUnixMillis(Millis(now + duration));
  for (const auto& [negprio, at, seq] : due) {
    if (static_cast<int>(out.size()) == count) break;
    LeaseInfo info{absl::StrCat("lease", ++etags_), holder, -negprio, expire};
    l.queue.erase(seq);
    l.leases[seq] = info;
    auto c = l.contacts.find(seq);
    out.push_back({seq, c == l.contacts.end() ? "" : c->second, info.id, expire});
  }
  return out;
}

absl::StatusOr<Lease> MemoryContactStore::LeaseOf(const std::string& tenant,
                                                  const std::string& list, int64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Lease l{seq, "", "", absl::InfinitePast()};
  auto& lists = tenants_[tenant].lists;
  auto it = lists.find(list);
  if (it == lists.end()) return l;
  auto lease = it->second.leases.find(seq);
  if (lease == it->second.leases.end()) return l;
  l.lease_id = lease->second.id;
  l.expire_time = lease->second.expire;
  return l;
}

Events MemoryContactStore::OutboxOf(const std::string& tenant) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? Events() : it->second.outbox;
}

int64_t MemoryContactStore::ContactsOf(const std::string& tenant) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? 0 : it->second.contacts;
}

bool MemoryContactStore::Queued(const std::string& tenant, const std::string& list,
                                int64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return false;
  auto l = it->second.lists.find(list);
  return l != it->second.lists.end() && l->second.queue.count(seq) > 0;
}

}  // namespace dialgrid::contacts
