#include "services/contacts/adapters/redis_contact_store.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/events/outbox_record.h"
#include "services/contacts/adapters/lua/contacts_commit.lua.h"
#include "services/contacts/adapters/lua/contacts_create_list.lua.h"
#include "services/contacts/adapters/lua/contacts_helpers.lua.h"
#include "services/contacts/adapters/lua/contacts_lease.lua.h"
#include "services/contacts/domain/contact_rules.h"
#include "services/contacts/domain/hash_buckets.h"

namespace dialgrid::contacts {
namespace {

std::string Prefix(const std::string& tenant) { return TenantHashTag(tenant) + ":"; }

std::string ListKey(const std::string& p, const std::string& list) { return p + "l:" + list; }
std::string BucketKey(const std::string& p, const std::string& list, int64_t seq) {
  return absl::StrCat(p, "c:", list, ":", seq / RedisContactStore::kBucketSize);
}
std::string ExtPrefix(const std::string& p, const std::string& list) {
  return absl::StrCat(p, "x:", list, ":");
}
std::string PhonePrefix(const std::string& p) { return p + "p:"; }
std::string PhoneIndexKey(const std::string& p) { return p + "pi"; }
std::string CountKey(const std::string& p) { return p + "contacts"; }
std::string QueueIndexKey(const std::string& p, const std::string& list, int prio) {
  return absl::StrCat(p, "qi:", list, ":", prio);
}
std::string RequestKey(const std::string& p, CreateKind kind, const std::string& request_id) {
  return absl::StrCat(p, "req:", kind == CreateKind::kList ? "list:" : "contact:", request_id);
}
int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }
std::string ShapeText(const BucketShape& s) { return absl::StrCat(s.level, ":", s.split); }

// The indexed key of an index field: an external-id field is the id; a phone
// field is "<E.164>|<list>:<seq>".
absl::string_view IndexedKey(absl::string_view field, bool phone) {
  if (!phone) return field;
  return field.substr(0, field.find('|'));
}

const redis::Script& CommitScript() {
  static const redis::Script* s = new redis::Script(std::string(lua::kContactsHelpers) +
                                                    events::RedisOutbox::kLuaAppend +
                                                    lua::kContactsCommit);
  return *s;
}

const redis::Script& LeaseScript() {
  static const redis::Script* s =
      new redis::Script(std::string(lua::kContactsHelpers) + lua::kContactsLease);
  return *s;
}

const redis::Script& CreateListScript() {
  static const redis::Script* s = new redis::Script(
      std::string(events::RedisOutbox::kLuaAppend) + lua::kContactsCreateList);
  return *s;
}

absl::Status RequestReused() {
  return WithMetadata(AlreadyExists("REQUEST_ID_REUSED",
                                    "request_id was used within 24 hours for a different request; "
                                    "a retry must repeat the request exactly, a new request needs "
                                    "a new id"),
                      "field", "request_id");
}

absl::Status MapScriptError(const absl::Status& st) {
  std::string msg(st.message());
  if (msg.find("NO_LIST") != std::string::npos) {
    return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found");
  }
  if (msg.find("CONFLICT") != std::string::npos) {
    return Aborted("CONCURRENT_MODIFICATION", "the contact changed concurrently; retry");
  }
  if (msg.find("LEASE") != std::string::npos) {
    return FailedPrecondition("LEASE_NOT_HELD", "the lease is not held (expired or reported)");
  }
  if (msg.find("REUSED") != std::string::npos) return RequestReused();
  return st;
}

bool IsReshard(const absl::Status& st) {
  return absl::StrContains(st.message(), "RESHARD");
}

int64_t IntOf(const redis::Reply& r, int64_t otherwise = 0) {
  int64_t v = otherwise;
  if (r.type == redis::Reply::Type::kInteger) return r.integer;
  if (r.is_nil() || !absl::SimpleAtoi(r.str, &v)) return otherwise;
  return v;
}

// ---- index shapes (domain/hash_buckets.h) ----
//
// P l:<list> fields "xl", "xs": the shape of the list's external-id index
// (absent: a list from before sizing, the fixed 65,536 buckets). P pi, fields
// "l", "s", "n", "v": the shape of the tenant's phone index, its entry count
// and a version every change of its buckets moves (absent: a new tenant, or
// one from before sizing when P contacts exists). The Lua helpers
// ext_shape/phone_shape read them the same way.

// HMGET <list hash> xl xs count
std::vector<std::string> ExtShapeRead(const std::string& lkey) {
  return {"HMGET", lkey, "xl", "xs", "count"};
}
// HMGET P pi l s n
std::vector<std::string> PhoneShapeRead(const std::string& p) {
  return {"HMGET", PhoneIndexKey(p), "l", "s", "n"};
}

BucketShape ExtShapeOf(const redis::Reply& hmget) {
  if (hmget.elements.size() < 2 || hmget.elements[0].is_nil()) return kLegacyShape;
  return {static_cast<int>(IntOf(hmget.elements[0])), IntOf(hmget.elements[1])};
}

struct PhoneIndexState {
  BucketShape shape;
  bool exists = false;   // P pi is there
  int64_t entries = 0;   // its n (an estimate for a tenant from before sizing)
};
// From PhoneShapeRead's reply and GET P contacts.
PhoneIndexState PhoneStateOf(const redis::Reply& hmget, const redis::Reply& contacts) {
  PhoneIndexState st;
  if (hmget.elements.size() >= 3 && !hmget.elements[0].is_nil()) {
    st.exists = true;
    st.shape = {static_cast<int>(IntOf(hmget.elements[0])), IntOf(hmget.elements[1])};
    st.entries = IntOf(hmget.elements[2]);
    return st;
  }
  // `contacts` is GET P contacts: a tenant with contacts and no record is
  // from before sizing; its phone entries are estimated as one per contact.
  bool legacy = !contacts.is_nil();
  st.shape = legacy ? kLegacyShape : BucketShape{0, 0};
  st.entries = legacy ? IntOf(contacts) : 0;
  return st;
}

// Growth of one index inside a transaction: the shape it grows to (at most
// kMaxReads buckets read, so one transaction stays short; the rest follows
// with the next writes or the next step), the buckets that split on the way
// (read first) and, once read, the moves. A moved entry goes straight to its
// bucket under the new shape, however many splits the step makes.
struct IndexGrowth {
  std::string prefix;  // bucket key = prefix + number
  bool phone = false;
  BucketShape before, after;
  std::vector<int64_t> to_read;  // existing buckets the growth takes entries from

  static constexpr int64_t kMaxReads = 256;

  IndexGrowth(std::string key_prefix, bool is_phone, BucketShape shape, int64_t entries)
      : prefix(std::move(key_prefix)), phone(is_phone), before(shape), after(shape) {
    after = GrowthStep(shape, ShapeFor(shape, entries), kMaxReads);
    to_read = BucketsSplit(before, after);
  }
  bool grows() const { return after != before; }
  // Whether the index still lacks room for `entries` after this step.
  bool more(int64_t entries) const { return ShapeFor(after, entries) != after; }
  std::string Key(int64_t bucket) const { return absl::StrCat(prefix, bucket); }
  // A phone bucket's values are all "1": its field names are enough.
  void AddReads(std::vector<std::vector<std::string>>& cmds) const {
    for (int64_t b : to_read) cmds.push_back({phone ? "HKEYS" : "HGETALL", Key(b)});
  }
  // With the replies of AddReads (in order; their strings are moved from),
  // appends to `tx` the commands that move every entry to its bucket under
  // `after`: one HDEL per bucket left, one HSET per bucket reached.
  void AddMoves(redis::Reply* replies, std::vector<std::vector<std::string>>& tx) const {
    if (!grows()) return;
    std::map<int64_t, std::vector<std::string>> dels, sets;
    const size_t step = phone ? 1 : 2;
    for (size_t i = 0; i < to_read.size(); ++i) {
      auto& f = replies[i].elements;
      const int64_t from = to_read[i];
      for (size_t j = 0; j + step - 1 < f.size(); j += step) {
        int64_t to = after.BucketOf(BucketHash(IndexedKey(f[j].str, phone)));
        if (to == from) continue;
        dels[from].push_back(f[j].str);
        auto& set = sets[to];
        set.push_back(std::move(f[j].str));
        set.push_back(phone ? std::string("1") : std::move(f[j + 1].str));
      }
    }
    for (auto& [b, fields] : dels) {
      std::vector<std::string> cmd = {"HDEL", Key(b)};
      std::move(fields.begin(), fields.end(), std::back_inserter(cmd));
      tx.push_back(std::move(cmd));
    }
    for (auto& [b, fv] : sets) {
      std::vector<std::string> cmd = {"HSET", Key(b)};
      std::move(fv.begin(), fv.end(), std::back_inserter(cmd));
      tx.push_back(std::move(cmd));
    }
  }
};

// The shape records after the growths, and the phone entries a transaction
// adds (every change to the phone buckets moves the record's version: inserts
// and growths watch it).
void AddShapeWrites(const std::string& p, const std::string& lkey, const IndexGrowth& xg,
                    const IndexGrowth& pg, const PhoneIndexState& phone, int64_t phones_added,
                    std::vector<std::vector<std::string>>& tx) {
  if (xg.grows()) {
    tx.push_back({"HSET", lkey, "xl", std::to_string(xg.after.level), "xs",
                  std::to_string(xg.after.split)});
  }
  if (!pg.grows() && phones_added == 0) return;
  std::string pikey = PhoneIndexKey(p);
  if (!phone.exists) tx.push_back({"HSET", pikey, "n", std::to_string(phone.entries)});
  tx.push_back({"HSET", pikey, "l", std::to_string(pg.after.level), "s",
                std::to_string(pg.after.split)});
  if (phones_added != 0) tx.push_back({"HINCRBY", pikey, "n", std::to_string(phones_added)});
  tx.push_back({"HINCRBY", pikey, "v", "1"});
}

}  // namespace

RedisContactStore::RedisContactStore(std::shared_ptr<redis::Client> redis,
                                     std::shared_ptr<events::RedisOutbox> outbox)
    : redis_(std::move(redis)), outbox_(std::move(outbox)) {}

events::RedisOutboxOptions RedisContactStore::OutboxOptions(std::string instance) {
  events::RedisOutboxOptions o;
  o.stream = "contacts";
  o.instance = std::move(instance);
  o.decode = DecodeContactsOutboxRecord;
  return o;
}

absl::StatusOr<event::v1::Envelope> DecodeContactsOutboxRecord(absl::string_view record) {
  auto f = events::UnframeRecord(record);
  if (!f.ok()) return f.status();
  if (f->kind != 'C') return events::DecodeEnvelopeRecord(record);
  // A created contact's event, completed with the sequence number the
  // commit script appended.
  event::v1::Envelope env;
  v1::ContactCreated created;
  int64_t seq = 0;
  if (!env.ParseFromArray(f->bytes.data(), static_cast<int>(f->bytes.size())) ||
      !absl::SimpleAtoi(f->rest, &seq) || seq <= 0 || !env.payload().UnpackTo(&created)) {
    return absl::DataLossError("a created contact's outbox record does not decode");
  }
  created.mutable_contact()->set_name(ContactName(env.subject(), seq));
  env.set_subject(created.contact().name());
  env.mutable_payload()->PackFrom(created);
  return env;
}

absl::StatusOr<v1::ContactList> RedisContactStore::CreateList(const std::string& tenant,
                                                              const std::string& list,
                                                              const v1::ContactList& cl,
                                                              const Events& events,
                                                              const CreateRequest* request) {
  std::string p = Prefix(tenant);
  std::vector<std::string> args = {
      cl.SerializeAsString(), cl.etag(), list, request != nullptr ? request->fingerprint : "",
      std::to_string(absl::ToInt64Seconds(kRequestIdLifetime))};
  events::AppendEnvelopeRecords(events, args);
  // The request record is declared even without a request (the script does
  // not touch it then), so the keys are the same every time.
  std::string req = RequestKey(p, CreateKind::kList, request != nullptr ? request->request_id : "");
  auto r = outbox_->EvalWithEvents(CreateListScript(), {ListKey(p, list), p + "lists", req}, args,
                                   tenant);
  if (!r.ok()) return MapScriptError(r.status());
  if (r->elements.empty()) return absl::InternalError("redis: empty reply of the list script");
  int64_t outcome = r->elements[0].integer;
  if (outcome == 0) {
    return AlreadyExists("CONTACT_LIST_EXISTS", absl::StrCat("contact list \"", list, "\" exists"));
  }
  if (outcome == 2) {
    v1::ContactList earlier;
    if (r->elements.size() < 2 || !earlier.ParseFromString(r->elements[1].str)) {
      return absl::DataLossError("a request record's list does not parse");
    }
    return earlier;
  }
  return cl;
}

absl::StatusOr<std::optional<CreatedRecord>> RedisContactStore::FindCreated(
    const std::string& tenant, CreateKind kind, const std::string& request_id) {
  auto r = redis_->Command({"HMGET", RequestKey(Prefix(tenant), kind, request_id), "fp", "seq",
                            kind == CreateKind::kList ? "proto" : "bytes"});
  if (!r.ok()) return r.status();
  if (r->elements.size() < 3 || r->elements[0].is_nil()) return std::optional<CreatedRecord>();
  CreatedRecord rec;
  rec.fingerprint = r->elements[0].str;
  rec.seq = IntOf(r->elements[1]);
  rec.bytes = r->elements[2].str;
  return std::optional<CreatedRecord>(std::move(rec));
}

absl::Status RedisContactStore::AppendEvents(const std::string& tenant, const Events& events) {
  if (events.empty()) return absl::OkStatus();
  auto r = outbox_->ExecWithEvents({}, tenant, events);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<v1::ContactList> RedisContactStore::GetList(const std::string& tenant,
                                                           const std::string& list) {
  std::string p = Prefix(tenant);
  auto r = redis_->Pipeline({{"HGETALL", ListKey(p, list)}, {"ZCARD", p + "lz:" + list}});
  if (!r.ok()) return r.status();
  const auto& fields = (*r)[0].elements;
  // Hash fields come back in any order: parse the record first, then the
  // counters and etag over it.
  v1::ContactList cl;
  bool found = false;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "proto") found = cl.ParseFromString(fields[i + 1].str);
  }
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& k = fields[i].str;
    const std::string& v = fields[i + 1].str;
    int64_t n = 0;
    if (k == "proto") {
      continue;
    } else if (k == "etag") {
      cl.set_etag(v);
    } else if (k == "count" && absl::SimpleAtoi(v, &n)) {
      cl.set_contact_count(n);
    } else if (absl::StartsWith(k, "n:") && absl::SimpleAtoi(v, &n) && n != 0) {
      (*cl.mutable_counts_by_status())[k.substr(2)] = n;
    }
  }
  if (!found) return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found");
  // Leased contacts are stored as CALLABLE; show them apart.
  int64_t leased = (*r)[1].integer;
  if (leased > 0) {
    (*cl.mutable_counts_by_status())["LEASED"] = leased;
    auto& callable = (*cl.mutable_counts_by_status())["CALLABLE"];
    callable -= leased;
    if (callable <= 0) cl.mutable_counts_by_status()->erase("CALLABLE");
  }
  return cl;
}

absl::StatusOr<std::vector<std::string>> RedisContactStore::ListListIds(const std::string& tenant,
                                                                        const std::string& after,
                                                                        int limit) {
  auto r = redis_->Command({"ZRANGEBYLEX", Prefix(tenant) + "lists",
                            after.empty() ? "-" : "(" + after, "+", "LIMIT", "0",
                            std::to_string(limit)});
  if (!r.ok()) return r.status();
  std::vector<std::string> ids;
  for (const auto& e : r->elements) ids.push_back(e.str);
  return ids;
}

absl::Status RedisContactStore::ReplaceList(const std::string& tenant, const std::string& list,
                                            v1::ContactList& cl, const std::string& expected) {
  cl.set_etag(RandomHex(8));
  v1::ContactList stored = cl;
  stored.clear_counts_by_status();
  stored.clear_contact_count();
  stored.clear_etag();
  auto r = redis::ReplaceIfEtag(*redis_, ListKey(Prefix(tenant), list), expected,
                                stored.SerializeAsString(), cl.etag());
  if (!r.ok()) return r.status();
  if (*r == redis::CasResult::kMissing) {
    return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found");
  }
  if (*r == redis::CasResult::kEtagMismatch) {
    return Aborted("ETAG_MISMATCH", "the list changed; read it again and retry");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RedisContactStore::DeleteList(const std::string& tenant,
                                                      const std::string& list) {
  // Contacts go through Commit (deletes), so every index and count follows;
  // then the list's own keys.
  int64_t removed = 0, after = 0;
  int conflicts = 0;
  for (;;) {
    int64_t next = 0;
    auto page = Scan(tenant, list, after, 500, next);
    if (!page.ok()) return page.status();
    if (page->empty() && next == 0) break;
    std::vector<ContactWrite> writes;
    for (const auto& sc : *page) {
      v1::Contact c;
      if (!c.ParseFromString(sc.bytes)) return absl::DataLossError("stored contact does not parse");
      ContactWrite w;
      w.seq = sc.seq;
      w.expect = sc.bytes;
      w.old_external_id = c.external_id();
      for (const auto& ph : c.phones()) w.old_phones.push_back(ph.number().e164());
      w.old_status = StatusKey(c.status());
      w.old_priority = c.priority();
      w.old_queued = c.status() == v1::CONTACT_STATUS_CALLABLE;
      writes.push_back(std::move(w));
    }
    if (!writes.empty()) {
      auto res = Commit(tenant, list, writes, nullptr, -1, {});
      if (absl::IsAborted(res.status()) && ++conflicts < 50) continue;  // changed: rescan the page
      if (!res.ok()) return res.status();
      removed += static_cast<int64_t>(writes.size());
    }
    if (next == 0) break;
    after = next;
  }
  std::string p = Prefix(tenant);
  // Import progress records go too, so a recreated list imports afresh.
  auto imps = redis_->Command({"SMEMBERS", p + "imps:" + list});
  if (!imps.ok()) return imps.status();
  std::vector<std::vector<std::string>> dels = {{"DEL", p + "imps:" + list},
                                                {"DEL", ListKey(p, list)},
                                                {"ZREM", p + "lists", list},
                                                {"DEL", p + "lz:" + list},
                                                {"DEL", p + "li:" + list}};
  // Queue shards empty out (and vanish) as their contacts are deleted.
  for (int prio = 0; prio <= 9; ++prio) dels.push_back({"DEL", absl::StrCat(p, "qi:", list, ":", prio)});
  for (const auto& k : imps->elements) dels.push_back({"DEL", k.str});
  auto r = redis_->Pipeline(dels);
  if (!r.ok()) return r.status();
  return removed;
}

namespace {

// The list fields a snapshot is made of, in HMGET order. `version` moves with
// every commit script run, `count` with every insert or deletion and `etag`
// with every list update and with a list deleted and created again, so two
// reads with the same token saw the same contacts. The external-id index's
// shape follows (fields 3 and 4).
constexpr const char* kSnapshotFields[] = {"version", "count", "etag", "xl", "xs"};

std::vector<std::string> SnapshotRead(const std::string& lkey) {
  std::vector<std::string> cmd = {"HMGET", lkey};
  for (const char* f : kSnapshotFields) cmd.push_back(f);
  return cmd;
}

// From the reply of SnapshotRead (extra fields after the snapshot's own are
// ignored).
ListSnapshot SnapshotOf(const redis::Reply& hmget) {
  ListSnapshot snap;
  auto field = [&](size_t i) -> const std::string& {
    static const std::string* empty = new std::string;
    return i < hmget.elements.size() ? hmget.elements[i].str : *empty;
  };
  snap.token = absl::StrCat(field(0), ":", field(1), ":", field(2));
  if (!absl::SimpleAtoi(field(1), &snap.contacts)) snap.contacts = 0;
  return snap;
}

// The external-id shape in a SnapshotRead reply.
BucketShape SnapshotExtShape(const redis::Reply& hmget) {
  if (hmget.elements.size() < 5 || hmget.elements[3].is_nil()) return kLegacyShape;
  return {static_cast<int>(IntOf(hmget.elements[3])), IntOf(hmget.elements[4])};
}

}  // namespace

BucketShape RedisContactStore::CachedShape(const std::string& key, bool* known) {
  std::lock_guard<std::mutex> lock(shapes_mu_);
  auto it = shapes_.find(key);
  *known = it != shapes_.end();
  return *known ? it->second : BucketShape{};
}

void RedisContactStore::RememberShape(const std::string& key, const BucketShape& shape) {
  std::lock_guard<std::mutex> lock(shapes_mu_);
  if (shapes_.size() > 100000) shapes_.clear();  // bounded: a cache, refilled by reads
  shapes_[key] = shape;
}

int64_t RedisContactStore::CachedEntries(const std::string& key) {
  std::lock_guard<std::mutex> lock(shapes_mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? -1 : it->second;
}

void RedisContactStore::RememberEntries(const std::string& key, int64_t entries) {
  std::lock_guard<std::mutex> lock(shapes_mu_);
  if (entries_.size() > 100000) entries_.clear();
  entries_[key] = entries;
}

absl::StatusOr<RedisContactStore::Shapes> RedisContactStore::LoadShapes(const std::string& tenant,
                                                                        const std::string& list) {
  std::string p = Prefix(tenant);
  Shapes s;
  bool xknown = false, pknown = false;
  s.ext = CachedShape(absl::StrCat("x|", tenant, "|", list), &xknown);
  s.phone = CachedShape(absl::StrCat("p|", tenant), &pknown);
  if (xknown && pknown) return s;
  auto r = redis_->Pipeline({ExtShapeRead(ListKey(p, list)), PhoneShapeRead(p), {"GET", CountKey(p)}});
  if (!r.ok()) return r.status();
  s.ext = ExtShapeOf((*r)[0]);
  s.phone = PhoneStateOf((*r)[1], (*r)[2]).shape;
  RememberShapes(tenant, list, s);
  return s;
}

void RedisContactStore::RememberShapes(const std::string& tenant, const std::string& list,
                                       const Shapes& s) {
  RememberShape(absl::StrCat("x|", tenant, "|", list), s.ext);
  RememberShape(absl::StrCat("p|", tenant), s.phone);
}

void RedisContactStore::ForgetShapes(const std::string& tenant, const std::string& list) {
  std::lock_guard<std::mutex> lock(shapes_mu_);
  shapes_.erase(absl::StrCat("x|", tenant, "|", list));
  shapes_.erase(absl::StrCat("p|", tenant));
}

absl::StatusOr<std::vector<redis::Reply>> RedisContactStore::ShapedRead(
    const std::string& tenant, const std::string& list,
    const std::function<std::vector<std::vector<std::string>>(const Shapes&)>& make_reads,
    ListSnapshot* snapshot) {
  std::string p = Prefix(tenant);
  std::string lkey = ListKey(p, list);
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(Shapes shapes, LoadShapes(tenant, list));
    std::vector<std::vector<std::string>> reads = make_reads(shapes);
    std::vector<std::vector<std::string>> tx;
    tx.reserve(reads.size() + 5);
    tx.push_back({"MULTI"});
    tx.push_back(SnapshotRead(lkey));
    tx.push_back(PhoneShapeRead(p));
    tx.push_back({"GET", CountKey(p)});
    tx.insert(tx.end(), reads.begin(), reads.end());
    tx.push_back({"EXEC"});
    auto r = redis_->Pipeline(tx);
    if (!r.ok()) return r.status();
    std::vector<redis::Reply> out = std::move(r->back().elements);
    if (out.size() != reads.size() + 3) return absl::InternalError("redis: short EXEC reply");
    Shapes seen{SnapshotExtShape(out[0]), PhoneStateOf(out[1], out[2]).shape};
    if (seen.ext != shapes.ext || seen.phone != shapes.phone) {
      // An index grew since the shapes were cached: read again with the new ones.
      RememberShapes(tenant, list, seen);
      if (attempt < 5) continue;
      return Aborted("CONCURRENT_MODIFICATION", "an index of the list changed shape; retry");
    }
    if (snapshot != nullptr) *snapshot = SnapshotOf(out[0]);
    out.erase(out.begin(), out.begin() + 3);
    return out;
  }
}

absl::StatusOr<std::vector<int64_t>> RedisContactStore::FindByExternalIds(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& ids,
    ListSnapshot* snapshot) {
  std::string xprefix = ExtPrefix(Prefix(tenant), list);
  auto r = ShapedRead(
      tenant, list,
      [&](const Shapes& s) {
        std::vector<std::vector<std::string>> cmds;
        cmds.reserve(ids.size());
        for (const auto& id : ids) {
          cmds.push_back({"HGET", absl::StrCat(xprefix, s.ext.BucketOfKey(id)), id});
        }
        return cmds;
      },
      snapshot);
  if (!r.ok()) return r.status();
  std::vector<int64_t> out;
  for (const auto& rep : *r) {
    int64_t seq = 0;
    if (!rep.is_nil()) (void)absl::SimpleAtoi(rep.str, &seq);
    out.push_back(seq);
  }
  return out;
}

namespace {

// Refs ("<list>:<seq>") of a phone from its index bucket (a small hash whose
// fields are "<e164>|<list>:<seq>").
std::vector<std::string> RefsOf(const redis::Reply& bucket, const std::string& e164) {
  std::vector<std::string> refs;
  std::string prefix = e164 + "|";
  for (size_t i = 0; i + 1 < bucket.elements.size(); i += 2) {
    const std::string& field = bucket.elements[i].str;
    if (absl::StartsWith(field, prefix)) refs.push_back(field.substr(prefix.size()));
  }
  return refs;
}

bool SplitRef(absl::string_view ref, std::string& list, int64_t& seq) {
  size_t colon = ref.rfind(':');
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(ref.substr(colon + 1), &seq)) return false;
  list = std::string(ref.substr(0, colon));
  return true;
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> RedisContactStore::FindByPhones(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& e164,
    ListSnapshot* snapshot) {
  std::string pprefix = PhonePrefix(Prefix(tenant));
  auto r = ShapedRead(
      tenant, list,
      [&](const Shapes& s) {
        std::vector<std::vector<std::string>> cmds;
        cmds.reserve(e164.size());
        for (const auto& n : e164) {
          cmds.push_back({"HGETALL", absl::StrCat(pprefix, s.phone.BucketOfKey(n))});
        }
        return cmds;
      },
      snapshot);
  if (!r.ok()) return r.status();
  std::vector<int64_t> out;
  for (size_t i = 0; i < e164.size(); ++i) {
    int64_t found = 0;
    for (const auto& ref : RefsOf((*r)[i], e164[i])) {
      std::string l;
      int64_t seq = 0;
      if (SplitRef(ref, l, seq) && l == list) {
        found = seq;
        break;
      }
    }
    out.push_back(found);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> RedisContactStore::FindAcrossLists(
    const std::string& tenant, const std::string& phone, const std::string& external_id) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::string p = Prefix(tenant);
  if (!phone.empty()) {
    // The phone index is the tenant's; any list name serves for the read.
    auto r = ShapedRead(
        tenant, "",
        [&](const Shapes& s) {
          return std::vector<std::vector<std::string>>{
              {"HGETALL", absl::StrCat(PhonePrefix(p), s.phone.BucketOfKey(phone))}};
        },
        nullptr);
    if (!r.ok()) return r.status();
    for (const auto& ref : RefsOf((*r)[0], phone)) {
      std::string l;
      int64_t seq = 0;
      if (SplitRef(ref, l, seq)) out.emplace_back(l, seq);
    }
  }
  if (!external_id.empty()) {
    std::string after;
    for (;;) {
      auto ids = ListListIds(tenant, after, 500);
      if (!ids.ok()) return ids.status();
      if (ids->empty()) break;
      for (const auto& list : *ids) {
        auto seqs = FindByExternalIds(tenant, list, {external_id}, nullptr);
        if (!seqs.ok()) return seqs.status();
        if ((*seqs)[0] > 0) out.emplace_back(list, (*seqs)[0]);
      }
      after = ids->back();
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisContactStore::GetContacts(
    const std::string& tenant, const std::string& list, const std::vector<int64_t>& seqs) {
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> cmds;
  for (int64_t seq : seqs) cmds.push_back({"HGET", BucketKey(p, list, seq), std::to_string(seq)});
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (const auto& rep : *r) out.push_back(rep.is_nil() ? "" : rep.str);
  return out;
}

absl::StatusOr<bool> RedisContactStore::IsLeased(const std::string& tenant,
                                                 const std::string& list, int64_t seq) {
  auto r = redis_->Command({"HEXISTS", Prefix(tenant) + "li:" + list, std::to_string(seq)});
  if (!r.ok()) return r.status();
  return r->integer == 1;
}

absl::StatusOr<std::vector<Scanned>> RedisContactStore::Scan(const std::string& tenant,
                                                             const std::string& list,
                                                             int64_t after, int limit,
                                                             int64_t& next_after) {
  std::string p = Prefix(tenant);
  auto top = redis_->Command({"HGET", ListKey(p, list), "next_seq"});
  if (!top.ok()) return top.status();
  int64_t max_seq = 0;
  if (!top->is_nil()) (void)absl::SimpleAtoi(top->str, &max_seq);
  auto lease_keys = redis_->Command({"HKEYS", p + "li:" + list});
  if (!lease_keys.ok()) return lease_keys.status();
  absl::flat_hash_set<int64_t> leased;
  for (const auto& k : lease_keys->elements) {
    int64_t s = 0;
    if (absl::SimpleAtoi(k.str, &s)) leased.insert(s);
  }
  std::vector<Scanned> out;
  next_after = 0;
  int64_t bucket = (after + 1) / kBucketSize;
  int64_t last_bucket = max_seq / kBucketSize;
  // Whole buckets at a time; at most 64 buckets (8192 seqs) per call.
  for (int examined = 0; bucket <= last_bucket && examined < 64; ++bucket, ++examined) {
    auto r = redis_->Command({"HGETALL", absl::StrCat(p, "c:", list, ":", bucket)});
    if (!r.ok()) return r.status();
    std::vector<Scanned> in_bucket;
    const auto& f = r->elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      int64_t seq = 0;
      if (!absl::SimpleAtoi(f[i].str, &seq) || seq <= after) continue;
      in_bucket.push_back({seq, f[i + 1].str, leased.contains(seq)});
    }
    std::sort(in_bucket.begin(), in_bucket.end(),
              [](const Scanned& a, const Scanned& b) { return a.seq < b.seq; });
    for (auto& sc : in_bucket) {
      if (static_cast<int>(out.size()) == limit) {
        next_after = out.back().seq;
        return out;
      }
      out.push_back(std::move(sc));
    }
    after = std::max(after, (bucket + 1) * kBucketSize - 1);
  }
  if (bucket <= last_bucket) next_after = std::max<int64_t>(after, 1);  // more to examine
  return out;
}

absl::StatusOr<BatchResult> RedisContactStore::Commit(const std::string& tenant,
                                                      const std::string& list,
                                                      const std::vector<ContactWrite>& writes,
                                                      const ImportProgress* progress,
                                                      int64_t max_contacts,
                                                      const BatchEvents& events,
                                                      const CreateRequest* request) {
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(Shapes shapes, LoadShapes(tenant, list));
    auto r = CommitWithShapes(tenant, list, writes, progress, max_contacts, events, request, shapes);
    if (!r.ok() && IsReshard(r.status()) && attempt < 5) {
      ForgetShapes(tenant, list);  // an index grew meanwhile: address it again
      continue;
    }
    if (!r.ok()) return MapScriptError(r.status());
    return r;
  }
}

absl::StatusOr<BatchResult> RedisContactStore::CommitWithShapes(
    const std::string& tenant, const std::string& list, const std::vector<ContactWrite>& writes,
    const ImportProgress* progress, int64_t max_contacts, const BatchEvents& events,
    const CreateRequest* request, const Shapes& shapes) {
  std::string p = Prefix(tenant);
  std::string lkey = ListKey(p, list);
  // KEYS: the fixed ones first (see contacts_commit.lua), then every other key
  // the writes name, each once; the script gets their positions.
  std::vector<std::string> keys = {lkey, CountKey(p), PhoneIndexKey(p), p + "lz:" + list,
                                   p + "li:" + list, p + "imps:" + list};
  for (int prio = 0; prio <= 9; ++prio) keys.push_back(QueueIndexKey(p, list, prio));
  absl::flat_hash_map<std::string, size_t> at;
  auto key = [&](std::string k) -> std::string {
    auto it = at.find(k);
    if (it == at.end()) {
      keys.push_back(k);
      it = at.emplace(std::move(k), keys.size()).first;  // Lua indexes from 1
    }
    return std::to_string(it->second);
  };
  std::string xprefix = ExtPrefix(p, list), pprefix = PhonePrefix(p);
  auto phones = [&](const std::vector<std::string>& v) {
    std::vector<std::string> parts;
    for (const auto& n : v) {
      parts.push_back(absl::StrCat(key(absl::StrCat(pprefix, shapes.phone.BucketOfKey(n))), "|", n));
    }
    return absl::StrJoin(parts, "\t");
  };
  auto ext = [&](const std::string& id) {
    return id.empty() ? std::string("0") : key(absl::StrCat(xprefix, shapes.ext.BucketOfKey(id)));
  };
  auto shard = [&](int64_t seq, int prio) {
    return key(absl::StrCat(p, "q:", list, ":", prio, ":", seq / kBucketSize));
  };
  const size_t nev = events.events.size() + (events.created ? 1 : 0);
  std::vector<std::string> args = {p,
                                   list,
                                   std::to_string(max_contacts),
                                   "0",
                                   progress != nullptr ? std::to_string(progress->rows_committed) : "0",
                                   std::to_string(nev),
                                   ShapeText(shapes.ext),
                                   ShapeText(shapes.phone),
                                   "0",
                                   request != nullptr ? request->fingerprint : "",
                                   std::to_string(absl::ToInt64Seconds(kRequestIdLifetime))};
  if (progress != nullptr) args[3] = key(absl::StrCat(p, "imp:", list, ":", progress->import_id));
  if (request != nullptr) args[8] = key(RequestKey(p, CreateKind::kContact, request->request_id));
  constexpr size_t kFields = 19;  // per write; the script's N must match
  args.reserve(args.size() + writes.size() * kFields + nev);
  for (const auto& w : writes) {
    bool old = w.seq > 0;
    args.push_back(std::to_string(w.seq));                                            // 1
    args.push_back(w.expect);                                                         // 2
    args.push_back(w.bytes);                                                          // 3
    args.push_back(w.old_external_id);                                                // 4
    args.push_back(w.new_external_id);                                                // 5
    args.push_back(phones(w.old_phones));                                             // 6
    args.push_back(phones(w.new_phones));                                             // 7
    args.push_back(w.old_status);                                                     // 8
    args.push_back(w.queue_at ? std::to_string(Millis(*w.queue_at)) : "");            // 9
    args.push_back(w.old_queued ? "1" : "");                                          // 10
    args.push_back(std::to_string(w.old_priority));                                   // 11
    args.push_back(std::to_string(w.new_priority));                                   // 12
    args.push_back(w.lease_id);                                                       // 13
    args.push_back(ext(w.new_external_id));                                           // 14
    args.push_back(ext(w.old_external_id));                                           // 15
    args.push_back(w.new_status);                                                     // 16
    args.push_back(old ? key(BucketKey(p, list, w.seq)) : "0");                       // 17
    args.push_back(old && w.old_queued ? shard(w.seq, w.old_priority) : "0");         // 18
    args.push_back(old && w.queue_at ? shard(w.seq, w.new_priority) : "0");           // 19
  }
  events::AppendEnvelopeRecords(events.events, args);
  if (events.created) args.push_back(events::FrameRecord('C', events.created->SerializeAsString()));
  auto r = outbox_->EvalWithEvents(CommitScript(), keys, args, tenant);
  if (!r.ok()) return r.status();
  BatchResult res;
  const auto& e = r->elements;
  if (!e.empty() && e[0].type != redis::Reply::Type::kInteger) {  // {'R', seq, bytes}
    if (e.size() < 3) return absl::InternalError("redis: short replay reply");
    res.seqs.push_back(e[1].integer);
    res.replayed = e[2].str;
    return res;
  }
  if (e.size() != writes.size() + 6) return absl::InternalError("redis: unexpected commit reply");
  for (size_t i = 0; i < writes.size(); ++i) {
    res.seqs.push_back(e[i].integer);
    if (e[i].integer < 0) ++res.quota_rejected;
  }
  const size_t o = writes.size();
  Shapes now{{static_cast<int>(e[o].integer), e[o + 1].integer},
             {static_cast<int>(e[o + 3].integer), e[o + 4].integer}};
  RememberShapes(tenant, list, now);
  RememberEntries(absl::StrCat("x|", tenant, "|", list), e[o + 2].integer);
  RememberEntries(absl::StrCat("p|", tenant), e[o + 5].integer);
  if (SplitsNeeded(now.ext, e[o + 2].integer) > 0 || SplitsNeeded(now.phone, e[o + 5].integer) > 0) {
    // The write is done whatever this does; a failed or raced growth is
    // made up by the next write.
    (void)GrowIndexes(tenant, list);
  }
  return res;
}

absl::Status RedisContactStore::GrowIndexes(const std::string& tenant, const std::string& list) {
  auto r = GrowStep(tenant, list, 0, -1);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::Status RedisContactStore::ReserveIndexes(const std::string& tenant, const std::string& list,
                                               int64_t new_contacts, int64_t max_contacts) {
  if (new_contacts <= 0) return absl::OkStatus();
  int raced = 0;
  for (int step = 0; step < kMaxReserveSteps; ++step) {
    DG_ASSIGN_OR_RETURN(GrowOutcome r, GrowStep(tenant, list, new_contacts, max_contacts));
    if (r == GrowOutcome::kDone) return absl::OkStatus();
    if (r == GrowOutcome::kRaced && ++raced > 3) {
      return Aborted("CONCURRENT_MODIFICATION", "the list's indexes kept changing; sized partly");
    }
  }
  return absl::OkStatus();  // the rest grows with the writes, as without a reservation
}

absl::StatusOr<RedisContactStore::GrowOutcome> RedisContactStore::GrowStep(
    const std::string& tenant, const std::string& list, int64_t reserve, int64_t max_contacts) {
  std::string p = Prefix(tenant);
  std::string lkey = ListKey(p, list), pikey = PhoneIndexKey(p), count_key = CountKey(p);
  GrowOutcome outcome = GrowOutcome::kDone;
  absl::Status st = redis_->WithSession(lkey, [&](redis::Client::Session& s) -> absl::Status {
    auto r = s.Pipeline({{"WATCH", lkey, pikey, count_key},
                         {"EXISTS", lkey},
                         ExtShapeRead(lkey),
                         PhoneShapeRead(p),
                         {"GET", count_key}});
    if (!r.ok()) return r.status();
    if ((*r)[1].integer == 0) return absl::OkStatus();
    BucketShape ext = ExtShapeOf((*r)[2]);
    int64_t count = (*r)[2].elements.size() > 2 ? IntOf((*r)[2].elements[2]) : 0;
    PhoneIndexState phone = PhoneStateOf((*r)[3], (*r)[4]);
    // A reservation never sizes for more contacts than the tenant's quota
    // leaves room for.
    if (max_contacts >= 0) {
      reserve = std::max<int64_t>(0, std::min(reserve, max_contacts - IntOf((*r)[4])));
    }
    const int64_t ext_want = count + reserve, phone_want = phone.entries + reserve;
    IndexGrowth xg(ExtPrefix(p, list), false, ext, ext_want);
    IndexGrowth pg(PhonePrefix(p), true, phone.shape, phone_want);
    if (!xg.grows() && !pg.grows()) return absl::OkStatus();
    std::vector<std::vector<std::string>> reads;
    xg.AddReads(reads);
    pg.AddReads(reads);
    std::vector<redis::Reply> got;
    if (!reads.empty()) {
      auto g = s.Pipeline(reads);
      if (!g.ok()) return g.status();
      got = *std::move(g);
    }
    std::vector<std::vector<std::string>> tx = {{"MULTI"}};
    xg.AddMoves(got.data(), tx);
    pg.AddMoves(got.data() + xg.to_read.size(), tx);
    AddShapeWrites(p, lkey, xg, pg, phone, 0, tx);
    tx.push_back({"EXEC"});
    auto done = s.Pipeline(tx);
    if (!done.ok()) return done.status();
    if (done->back().is_nil()) {  // raced: the next write (or step) grows them
      outcome = GrowOutcome::kRaced;
      return absl::OkStatus();
    }
    RememberShapes(tenant, list, {xg.after, pg.after});
    RememberEntries(absl::StrCat("x|", tenant, "|", list), count);
    RememberEntries(absl::StrCat("p|", tenant), phone.entries);
    outcome = xg.more(ext_want) || pg.more(phone_want) ? GrowOutcome::kMore : GrowOutcome::kDone;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return outcome;
}

absl::StatusOr<BatchResult> RedisContactStore::InsertNew(const std::string& tenant,
                                                         const std::string& list,
                                                         const std::vector<ContactWrite>& writes,
                                                         const ImportProgress* progress,
                                                         int64_t max_contacts,
                                                         const std::string& snapshot) {
  std::string p = Prefix(tenant);
  std::string lkey = ListKey(p, list);
  std::string count_key = CountKey(p);
  std::string pikey = PhoneIndexKey(p);
  BatchResult res;
  if (writes.empty()) return res;
  // Every write to a list's contacts bumps the list hash (Commit bumps
  // "version" and "next_seq", inserts bump "count" and "next_seq", index
  // growth "xl"/"xs"), and every change to the tenant's phone buckets bumps
  // its phone-index record, so watching those and the tenant's contact count
  // catches any concurrent change that could claim one of our external ids,
  // spend the quota or move index entries, without watching thousands of
  // keys. The sequence numbers come from "next_seq" as read under the watch
  // and are claimed inside the transaction, so an aborted attempt leaves no
  // gap.
  std::string xprefix = ExtPrefix(p, list), pprefix = PhonePrefix(p);
  const std::string xcache = absl::StrCat("x|", tenant, "|", list), pcache = absl::StrCat("p|", tenant);
  BucketShape ext_after, phone_after;
  int64_t ext_entries_after = 0, phone_entries_after = 0;
  int64_t all_phones = 0;
  for (const auto& w : writes) all_phones += static_cast<int64_t>(w.new_phones.size());
  // The reads a plan needs under the watch: the ids' lookups (without a
  // snapshot) and the buckets the growth splits.
  auto reads_for = [&](const BucketShape& ext, const IndexGrowth& xg, const IndexGrowth& pg) {
    std::vector<std::vector<std::string>> reads;
    if (snapshot.empty()) {
      for (const auto& w : writes) {
        if (w.new_external_id.empty()) continue;
        reads.push_back({"HEXISTS", absl::StrCat(xprefix, ext.BucketOfKey(w.new_external_id)),
                         w.new_external_id});
      }
    }
    xg.AddReads(reads);
    pg.AddReads(reads);
    return reads;
  };
  absl::Status st = redis_->WithSession(p, [&](redis::Client::Session& s) -> absl::Status {
    // With the shapes and entry counts this process last left (the usual
    // case: an import is its list's only writer), the lookups and the
    // buckets to split go in the first round trip; the shapes read there
    // confirm the guess, and a wrong guess costs a second round trip.
    bool xknown = false, pknown = false;
    BucketShape xguess = CachedShape(xcache, &xknown), pguess = CachedShape(pcache, &pknown);
    int64_t xentries = CachedEntries(xcache), pentries = CachedEntries(pcache);
    bool guessed = xknown && pknown && xentries >= 0 && pentries >= 0;
    std::optional<IndexGrowth> xg, pg;
    std::vector<std::vector<std::string>> cmds = {{"WATCH", lkey, count_key, pikey},
                                                  {"EXISTS", lkey},
                                                  {"GET", count_key},
                                                  SnapshotRead(lkey),  // version count etag xl xs
                                                  PhoneShapeRead(p)};
    cmds[3].push_back("next_seq");  // [5]
    const size_t fixed = cmds.size();
    if (guessed) {
      xg.emplace(xprefix, false, xguess, xentries + static_cast<int64_t>(writes.size()));
      pg.emplace(pprefix, true, pguess, pentries + all_phones);
      auto more = reads_for(xguess, *xg, *pg);
      std::move(more.begin(), more.end(), std::back_inserter(cmds));
    }
    auto r = s.Pipeline(cmds);
    if (!r.ok()) return r.status();
    if ((*r)[1].integer == 0) return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found");
    int64_t total = IntOf((*r)[2]);
    ListSnapshot now = SnapshotOf((*r)[3]);
    // The list is unchanged since the caller's lookup, so its absent ids are
    // still absent; WATCH covers the rest of the way to EXEC.
    if (!snapshot.empty() && now.token != snapshot) {
      return Aborted("CONCURRENT_MODIFICATION", "the list changed since it was read; retry");
    }
    const auto& state_reply = (*r)[3].elements;
    int64_t next_seq = state_reply.size() > 5 ? IntOf(state_reply[5]) : 0;
    BucketShape ext = SnapshotExtShape((*r)[3]);
    PhoneIndexState phone = PhoneStateOf((*r)[4], (*r)[2]);

    int64_t room = static_cast<int64_t>(writes.size());
    if (max_contacts >= 0) room = std::max<int64_t>(0, std::min(room, max_contacts - total));
    // The first `room` writes get consecutive sequence numbers, the rest -1.
    size_t added = static_cast<size_t>(room);
    int64_t phones_added = 0;
    for (size_t i = 0; i < added; ++i) phones_added += static_cast<int64_t>(writes[i].new_phones.size());

    std::vector<redis::Reply> got;
    if (guessed && ext == xguess && phone.shape == pguess) {
      // The guess held: its plan is a valid one for the stored shapes (it may
      // split a little more or less than the exact counts ask; the next
      // write evens that out).
      got.assign(std::make_move_iterator(r->begin() + static_cast<std::ptrdiff_t>(fixed)),
                 std::make_move_iterator(r->end()));
    } else {
      xg.emplace(xprefix, false, ext, now.contacts + static_cast<int64_t>(added));
      pg.emplace(pprefix, true, phone.shape, phone.entries + phones_added);
      auto reads = reads_for(ext, *xg, *pg);
      if (!reads.empty()) {
        auto g = s.Pipeline(reads);
        if (!g.ok()) return g.status();
        got = *std::move(g);
      }
    }
    const size_t lookups = got.size() - xg->to_read.size() - pg->to_read.size();
    for (size_t j = 0; j < lookups; ++j) {
      if (got[j].integer == 1) {
        return Aborted("CONCURRENT_MODIFICATION", "an external id was claimed meanwhile; retry");
      }
    }
    ext_entries_after = now.contacts + static_cast<int64_t>(added);
    phone_entries_after = phone.entries + phones_added;
    res.seqs.assign(writes.size(), -1);
    for (size_t i = 0; i < added; ++i) res.seqs[i] = next_seq + 1 + static_cast<int64_t>(i);
    res.quota_rejected = static_cast<int64_t>(writes.size() - added);

    std::vector<std::vector<std::string>> tx;
    tx.reserve(added * 2 + 64);
    tx.push_back({"MULTI"});
    std::vector<std::string> sseq(added);
    for (size_t i = 0; i < added; ++i) sseq[i] = std::to_string(res.seqs[i]);
    // Contact records: consecutive seqs, so each bucket is one run.
    for (size_t i = 0; i < added;) {
      int64_t bucket = res.seqs[i] / kBucketSize;
      std::vector<std::string> cmd = {"HSET", absl::StrCat(p, "c:", list, ":", bucket)};
      for (; i < added && res.seqs[i] / kBucketSize == bucket; ++i) {
        cmd.push_back(sseq[i]);
        cmd.push_back(writes[i].bytes);
      }
      tx.push_back(std::move(cmd));
    }
    // Entries the growth moves, then the new entries where the grown
    // indexes keep them, one HSET per bucket touched (sorted by bucket).
    xg->AddMoves(got.data() + lookups, tx);
    pg->AddMoves(got.data() + lookups + xg->to_read.size(), tx);
    std::vector<std::pair<int64_t, uint32_t>> xs, ps;  // (bucket, write) / (bucket, phone ref)
    std::vector<std::pair<size_t, size_t>> phone_refs;  // (write, phone index)
    for (size_t i = 0; i < added; ++i) {
      if (!writes[i].new_external_id.empty()) {
        xs.emplace_back(xg->after.BucketOfKey(writes[i].new_external_id), static_cast<uint32_t>(i));
      }
      for (size_t k = 0; k < writes[i].new_phones.size(); ++k) {
        ps.emplace_back(pg->after.BucketOfKey(writes[i].new_phones[k]),
                        static_cast<uint32_t>(phone_refs.size()));
        phone_refs.emplace_back(i, k);
      }
    }
    std::sort(xs.begin(), xs.end());
    std::sort(ps.begin(), ps.end());
    for (size_t j = 0; j < xs.size();) {
      int64_t b = xs[j].first;
      std::vector<std::string> cmd = {"HSET", absl::StrCat(xprefix, b)};
      for (; j < xs.size() && xs[j].first == b; ++j) {
        cmd.push_back(writes[xs[j].second].new_external_id);
        cmd.push_back(sseq[xs[j].second]);
      }
      tx.push_back(std::move(cmd));
    }
    for (size_t j = 0; j < ps.size();) {
      int64_t b = ps[j].first;
      std::vector<std::string> cmd = {"HSET", absl::StrCat(pprefix, b)};
      for (; j < ps.size() && ps[j].first == b; ++j) {
        auto [i, k] = phone_refs[ps[j].second];
        cmd.push_back(absl::StrCat(writes[i].new_phones[k], "|", list, ":", sseq[i]));
        cmd.push_back("1");
      }
      tx.push_back(std::move(cmd));
    }
    // Queue shards: (priority, shard) -> (due ms, seq). Members go in
    // descending (score, member) order: a listpack sorted set inserts by
    // walking from its head, so each member then lands at the head after
    // one comparison instead of after a walk over the whole shard.
    std::map<std::pair<int, int64_t>, std::vector<std::pair<int64_t, size_t>>> shards;
    std::map<std::string, int64_t> status_counts;
    for (size_t i = 0; i < added; ++i) {
      const ContactWrite& w = writes[i];
      if (w.queue_at) {
        shards[{w.new_priority, res.seqs[i] / kBucketSize}].emplace_back(Millis(*w.queue_at), i);
      }
      if (!w.new_status.empty()) ++status_counts[w.new_status];
    }
    for (auto& [prio_shard, members] : shards) {
      std::sort(members.begin(), members.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return sseq[a.second] > sseq[b.second];
      });
      std::string prio = std::to_string(prio_shard.first);
      std::string shard = std::to_string(prio_shard.second);
      std::vector<std::string> cmd = {"ZADD", absl::StrCat(p, "q:", list, ":", prio, ":", shard)};
      for (const auto& [due, i] : members) {
        cmd.push_back(std::to_string(due));
        cmd.push_back(sseq[i]);
      }
      tx.push_back(std::move(cmd));
      // LT: the shard's earliest due only ever moves earlier here.
      tx.push_back({"ZADD", QueueIndexKey(p, list, prio_shard.first), "LT",
                    std::to_string(members.back().first), shard});
    }
    for (auto& [status, n] : status_counts) {
      tx.push_back({"HINCRBY", lkey, "n:" + status, std::to_string(n)});
    }
    if (added > 0) {
      tx.push_back({"HINCRBY", lkey, "next_seq", std::to_string(added)});
      tx.push_back({"HINCRBY", lkey, "count", std::to_string(added)});
      tx.push_back({"INCRBY", count_key, std::to_string(added)});
    }
    AddShapeWrites(p, lkey, *xg, *pg, phone, phones_added, tx);
    if (progress != nullptr) {
      std::string imp = absl::StrCat(p, "imp:", list, ":", progress->import_id);
      tx.push_back({"HSET", imp, "rows", std::to_string(progress->rows_committed)});
      tx.push_back({"SADD", p + "imps:" + list, imp});
    }
    tx.push_back(SnapshotRead(lkey));  // the state this transaction leaves
    tx.push_back({"EXEC"});
    auto done = s.Pipeline(tx);
    if (!done.ok()) return done.status();
    if (done->back().is_nil()) {
      return Aborted("CONCURRENT_MODIFICATION", "the list changed meanwhile; retry");
    }
    const auto& results = done->back().elements;
    if (results.empty()) return absl::InternalError("redis: short EXEC reply");
    res.snapshot_after = SnapshotOf(results.back()).token;
    ext_after = xg->after;
    phone_after = pg->after;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  RememberShapes(tenant, list, {ext_after, phone_after});
  RememberEntries(xcache, ext_entries_after);
  RememberEntries(pcache, phone_entries_after);
  return res;
}

absl::StatusOr<int64_t> RedisContactStore::ImportCommitted(const std::string& tenant,
                                                           const std::string& list,
                                                           const std::string& import_id) {
  auto r = redis_->Command(
      {"HGET", absl::StrCat(Prefix(tenant), "imp:", list, ":", import_id), "rows"});
  if (!r.ok()) return r.status();
  int64_t n = 0;
  if (!r->is_nil()) (void)absl::SimpleAtoi(r->str, &n);
  return n;
}

absl::StatusOr<std::vector<Lease>> RedisContactStore::LeaseDue(const std::string& tenant,
                                                               const std::string& list, int count,
                                                               absl::Time now,
                                                               absl::Duration duration,
                                                               const std::string& holder) {
  absl::Time expire = now + duration;
  std::string p = Prefix(tenant);
  std::vector<std::string> args = {p, list, std::to_string(Millis(now)),
                                   std::to_string(count), std::to_string(Millis(expire)), holder};
  for (int i = 0; i < count; ++i) args.push_back(RandomHex(12));
  std::vector<std::string> keys = {ListKey(p, list), p + "lz:" + list, p + "li:" + list};
  for (int prio = 0; prio <= 9; ++prio) keys.push_back(QueueIndexKey(p, list, prio));
  auto r = redis_->Eval(LeaseScript(), keys, args);
  if (!r.ok()) return r.status();
  std::vector<Lease> out;
  for (size_t i = 0; i + 2 < r->elements.size(); i += 3) {
    Lease l;
    (void)absl::SimpleAtoi(r->elements[i].str, &l.seq);
    l.bytes = r->elements[i + 1].str;
    l.lease_id = r->elements[i + 2].str;
    l.expire_time = absl::FromUnixMillis(Millis(expire));
    out.push_back(std::move(l));
  }
  return out;
}

absl::StatusOr<Lease> RedisContactStore::LeaseOf(const std::string& tenant,
                                                 const std::string& list, int64_t seq) {
  std::string p = Prefix(tenant);
  std::string sseq = std::to_string(seq);
  auto r = redis_->Pipeline({{"HGET", p + "li:" + list, sseq}, {"ZSCORE", p + "lz:" + list, sseq}});
  if (!r.ok()) return r.status();
  Lease l;
  l.seq = seq;
  if ((*r)[0].is_nil()) return l;
  l.lease_id = (*r)[0].str.substr(0, (*r)[0].str.find('|'));
  int64_t ms = 0;
  if (!(*r)[1].is_nil()) (void)absl::SimpleAtoi((*r)[1].str, &ms);
  l.expire_time = absl::FromUnixMillis(ms);
  return l;
}

absl::Status RedisContactStore::Ping() { return redis_->Ping(); }

}  // namespace dialgrid::contacts
