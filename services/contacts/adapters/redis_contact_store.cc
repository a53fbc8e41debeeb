#include "services/contacts/adapters/redis_contact_store.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/events/outbox_record.h"
#include "services/contacts/domain/contact_rules.h"

namespace dialgrid::contacts {
namespace {

std::string Prefix(const std::string& tenant) { return TenantHashTag(tenant) + ":"; }

uint64_t Fnv(absl::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string ExtBucket(absl::string_view id) {
  return std::to_string(Fnv(id) % RedisContactStore::kExternalIdBuckets);
}
std::string PhoneBucket(absl::string_view e164) {
  return std::to_string(Fnv(e164) % RedisContactStore::kPhoneBuckets);
}
std::string ListKey(const std::string& p, const std::string& list) { return p + "l:" + list; }
std::string BucketKey(const std::string& p, const std::string& list, int64_t seq) {
  return absl::StrCat(p, "c:", list, ":", seq / RedisContactStore::kBucketSize);
}
int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }

// Shared Lua: grouped writes and the queue-shard index.
//   q:<list>:<prio>:<shard>  ZSET seq -> due ms (shard = seq / 128, so each
//                            stays small enough for Redis's compact listpack)
//   qi:<list>:<prio>         ZSET shard -> earliest due ms in that shard
constexpr char kLuaHelpers[] = R"lua(
local function push(t, k, ...)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  for _, v in ipairs({...}) do l[#l + 1] = v end
end
local function flush(cmd, t)
  for k, l in pairs(t) do
    for i = 1, #l, 1000 do
      redis.call(cmd, k, unpack(l, i, math.min(i + 999, #l)))
    end
  end
end
local function fix_shards(P, touched)
  for qkey, v in pairs(touched) do
    local first = redis.call('ZRANGE', qkey, 0, 0, 'WITHSCORES')
    if first[2] then redis.call('ZADD', v[1], first[2], v[2]) else redis.call('ZREM', v[1], v[2]) end
  end
end
)lua";

// Applies a batch of contact writes atomically. Pass 1 checks every
// compare-and-set (and that new external ids are still free) before pass 2
// writes anything, so a conflict leaves Redis untouched. Writes are grouped
// per key so a 2000-row batch costs a few hundred Redis calls, not thousands.
// KEYS: the list hash, the tenant's outbox (last).
// ARGV: prefix, list, max_contacts (-1 none), import key ("" none),
//       import rows, number of event records E, then 16 fields per write
//       (see Commit()), then the E event records ('C' records get the first
//       write's new sequence number appended; see BatchEvents::created).
const redis::Script& CommitScript() {
  static const redis::Script* s = new redis::Script(
      std::string(kLuaHelpers) + events::RedisOutbox::kLuaAppend + R"lua(
local P, list, maxc, impkey, improws = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local nev = tonumber(ARGV[6])
local N = 16
local n = (#ARGV - 6 - nev) / N
local lkey = P .. 'l:' .. list
if redis.call('EXISTS', lkey) == 0 then return {err = 'NO_LIST'} end
local function f(i, k) return ARGV[6 + (i - 1) * N + k] end
local function bucket(seq) return P .. 'c:' .. list .. ':' .. math.floor(seq / 128) end
local newcount = 0
for i = 1, n do
  local seq = tonumber(f(i, 1))
  if seq == 0 then
    newcount = newcount + 1
    if f(i, 5) ~= '' and redis.call('HEXISTS', P .. 'x:' .. list .. ':' .. f(i, 14), f(i, 5)) == 1 then
      return {err = 'CONFLICT ' .. i}
    end
  else
    local cur = redis.call('HGET', bucket(seq), tostring(seq))
    if (cur or '') ~= f(i, 2) then return {err = 'CONFLICT ' .. i} end
    if f(i, 13) ~= '' then
      local li = redis.call('HGET', P .. 'li:' .. list, tostring(seq))
      if not li or string.sub(li, 1, #f(i, 13) + 1) ~= f(i, 13) .. '|' then
        return {err = 'LEASE ' .. i}
      end
    end
  end
end
local total = tonumber(redis.call('GET', P .. 'contacts') or '0')
local room = newcount
if maxc >= 0 then room = math.max(0, math.min(newcount, maxc - total)) end
local nextseq = 0
if room > 0 then nextseq = redis.call('HINCRBY', lkey, 'next_seq', room) - room end
local hset, hdel, zadd, zrem, counts, touched = {}, {}, {}, {}, {}, {}
local added, removed = 0, 0
local out = {}
local cprefix, xprefix, lref = P .. 'c:' .. list .. ':', P .. 'x:' .. list .. ':', list .. ':'
local shardkeys = {}
local function shard(seq, prio)
  local s = math.floor(seq / 128)
  local id = prio .. ':' .. s
  local q = shardkeys[id]
  if not q then
    q = P .. 'q:' .. list .. ':' .. id
    shardkeys[id] = q
    touched[q] = {P .. 'qi:' .. list .. ':' .. prio, tostring(s)}
  end
  return q
end
local function add1(t, k, a)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = a
end
local function add2(t, k, a, b)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = a
  l[#l + 1] = b
end
for i = 1, n do
  local o = 6 + (i - 1) * N
  local seq = tonumber(ARGV[o + 1])
  if seq == 0 and room == 0 then
    out[i] = -1
  else
    if seq == 0 then
      room = room - 1
      nextseq = nextseq + 1
      seq = nextseq
      added = added + 1
    end
    local sseq = tostring(seq)
    local ref = lref .. sseq
    out[i] = seq
    local bytes = ARGV[o + 3]
    local live = bytes ~= ''
    local bkey = cprefix .. math.floor(seq / 128)
    if live then add2(hset, bkey, sseq, bytes) else add1(hdel, bkey, sseq); removed = removed + 1 end
    local oldx, newx = ARGV[o + 4], ARGV[o + 5]
    if oldx ~= '' and (oldx ~= newx or not live) then add1(hdel, xprefix .. ARGV[o + 15], oldx) end
    if newx ~= '' and live then add2(hset, xprefix .. ARGV[o + 14], newx, sseq) end
    -- phone index: field "<e164>|<list>:<seq>" in bucket hash P p:<b>;
    -- entries arrive as "<b>|<e164>", several separated by tabs
    local oldp, newp = ARGV[o + 6], live and ARGV[o + 7] or ''
    if oldp ~= newp then
      local keep = {}
      for e in string.gmatch(newp, '[^\t]+') do keep[e] = true end
      for e in string.gmatch(oldp, '[^\t]+') do
        if not keep[e] then
          local b, num = string.match(e, '([^|]+)|(.+)')
          add1(hdel, P .. 'p:' .. b, num .. '|' .. ref)
        end
      end
    end
    if newp ~= '' then
      if string.find(newp, '\t', 1, true) then
        for e in string.gmatch(newp, '[^\t]+') do
          local b, num = string.match(e, '([^|]+)|(.+)')
          add2(hset, P .. 'p:' .. b, num .. '|' .. ref, '1')
        end
      else
        local bar = string.find(newp, '|', 1, true)
        add2(hset, P .. 'p:' .. string.sub(newp, 1, bar - 1), string.sub(newp, bar + 1) .. '|' .. ref, '1')
      end
    end
    if ARGV[o + 10] == '1' then add1(zrem, shard(seq, ARGV[o + 11]), sseq) end
    if ARGV[o + 13] ~= '' or not live then
      redis.call('ZREM', P .. 'lz:' .. list, sseq)
      redis.call('HDEL', P .. 'li:' .. list, sseq)
    end
    -- A contact leased to a dialer stays out of the queue until its lease
    -- ends (the write ending the lease carries the lease id).
    if ARGV[o + 9] ~= '' and live and (ARGV[o + 13] ~= '' or
        redis.call('HEXISTS', P .. 'li:' .. list, sseq) == 0) then
      add2(zadd, shard(seq, ARGV[o + 12]), ARGV[o + 9], sseq)
    end
    local os, ns = ARGV[o + 8], ARGV[o + 16]
    if os ~= ns then
      if os ~= '' then counts[os] = (counts[os] or 0) - 1 end
      if ns ~= '' then counts[ns] = (counts[ns] or 0) + 1 end
    end
  end
end
flush('HDEL', hdel)
flush('HSET', hset)
flush('ZREM', zrem)
flush('ZADD', zadd)
fix_shards(P, touched)
for k, d in pairs(counts) do
  if d ~= 0 then redis.call('HINCRBY', lkey, 'n:' .. k, d) end
end
if added - removed ~= 0 then
  redis.call('HINCRBY', lkey, 'count', added - removed)
  redis.call('INCRBY', P .. 'contacts', added - removed)
end
redis.call('HINCRBY', lkey, 'version', 1)  -- see InsertNew: concurrent inserts watch it
if impkey ~= '' then
  redis.call('HSET', impkey, 'rows', improws)
  redis.call('SADD', P .. 'imps:' .. list, impkey)
end
for j = #ARGV - nev + 1, #ARGV do
  local rec = ARGV[j]
  if string.sub(rec, 1, 1) == 'C' then
    if out[1] and out[1] > 0 then outbox(rec .. tostring(out[1])) end
  else
    outbox(rec)
  end
end
return out
)lua");
  return *s;
}

// Returns expired leases to their queues, then leases up to N due contacts,
// highest priority first, earliest-due shard first within a priority.
// ARGV: prefix, list, now_ms, n, expire_ms, holder, then N lease ids.
// Returns {seq, bytes, lease id, ...}.
const redis::Script& LeaseScript() {
  static const redis::Script* s = new redis::Script(std::string(kLuaHelpers) + R"lua(
local P, list, now, n, exp, holder = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local lz, li = P .. 'lz:' .. list, P .. 'li:' .. list
local touched = {}
local function shard(seq, prio)
  local s = tostring(math.floor(tonumber(seq) / 128))
  local q = P .. 'q:' .. list .. ':' .. prio .. ':' .. s
  touched[q] = {P .. 'qi:' .. list .. ':' .. prio, s}
  return q
end
for _, seq in ipairs(redis.call('ZRANGEBYSCORE', lz, '-inf', now)) do
  local info = redis.call('HGET', li, seq)
  if info then
    local prio = string.match(info, '^[^|]*|([^|]*)|')
    redis.call('ZADD', shard(seq, prio), now, seq)
    redis.call('HDEL', li, seq)
  end
  redis.call('ZREM', lz, seq)
end
fix_shards(P, touched)
touched = {}
local out = {}
local got = 0
for prio = 9, 0, -1 do
  local qi = P .. 'qi:' .. list .. ':' .. prio
  while got < n do
    local shards = redis.call('ZRANGEBYSCORE', qi, '-inf', now, 'LIMIT', 0, 1)
    if #shards == 0 then break end
    local q = P .. 'q:' .. list .. ':' .. prio .. ':' .. shards[1]
    touched[q] = {qi, shards[1]}
    for _, seq in ipairs(redis.call('ZRANGEBYSCORE', q, '-inf', now, 'LIMIT', 0, n - got)) do
      got = got + 1
      local id = ARGV[6 + got]
      redis.call('ZREM', q, seq)
      redis.call('ZADD', lz, exp, seq)
      redis.call('HSET', li, seq, id .. '|' .. prio .. '|' .. holder)
      local bytes = redis.call('HGET', P .. 'c:' .. list .. ':' .. math.floor(tonumber(seq) / 128), seq)
      out[#out + 1] = seq
      out[#out + 1] = bytes or ''
      out[#out + 1] = id
    end
    fix_shards(P, touched)
    touched = {}
  end
  if got >= n then break end
end
return out
)lua");
  return *s;
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
  return st;
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

// KEYS: the list hash, the tenant's lists, the outbox. ARGV: proto, etag,
// event records... 1 created, 0 exists (nothing written).
const redis::Script& CreateListScript() {
  static const redis::Script* s = new redis::Script(std::string(events::RedisOutbox::kLuaAppend) + R"lua(
if redis.call('HSETNX', KEYS[1], 'proto', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'etag', ARGV[2], 'count', '0')
redis.call('ZADD', KEYS[2], 0, ARGV[3])
for i = 4, #ARGV do outbox(ARGV[i]) end
return 1
)lua");
  return *s;
}

absl::Status RedisContactStore::CreateList(const std::string& tenant, const std::string& list,
                                           const v1::ContactList& cl, const Events& events) {
  std::string p = Prefix(tenant);
  std::vector<std::string> args = {cl.SerializeAsString(), cl.etag(), list};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(CreateListScript(), {ListKey(p, list), p + "lists"}, args, tenant);
  if (!r.ok()) return r.status();
  if (r->integer == 0) {
    return AlreadyExists("CONTACT_LIST_EXISTS", absl::StrCat("contact list \"", list, "\" exists"));
  }
  return absl::OkStatus();
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
// reads with the same token saw the same contacts.
constexpr const char* kSnapshotFields[] = {"version", "count", "etag"};

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

}  // namespace

absl::StatusOr<std::vector<redis::Reply>> RedisContactStore::AtomicRead(
    const std::string& lkey, const std::vector<std::vector<std::string>>& reads,
    ListSnapshot* snapshot) {
  if (snapshot == nullptr) return redis_->Pipeline(reads);
  std::vector<std::vector<std::string>> tx;
  tx.reserve(reads.size() + 3);
  tx.push_back({"MULTI"});
  tx.push_back(SnapshotRead(lkey));
  tx.insert(tx.end(), reads.begin(), reads.end());
  tx.push_back({"EXEC"});
  auto r = redis_->Pipeline(tx);
  if (!r.ok()) return r.status();
  std::vector<redis::Reply> out = std::move(r->back().elements);
  if (out.size() != reads.size() + 1) return absl::InternalError("redis: short EXEC reply");
  *snapshot = SnapshotOf(out[0]);
  out.erase(out.begin());
  return out;
}

absl::StatusOr<std::vector<int64_t>> RedisContactStore::FindByExternalIds(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& ids,
    ListSnapshot* snapshot) {
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> cmds;
  for (const auto& id : ids) {
    cmds.push_back({"HGET", absl::StrCat(p, "x:", list, ":", ExtBucket(id)), id});
  }
  auto r = AtomicRead(ListKey(p, list), cmds, snapshot);
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
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> cmds;
  for (const auto& n : e164) cmds.push_back({"HGETALL", p + "p:" + PhoneBucket(n)});
  auto r = AtomicRead(ListKey(p, list), cmds, snapshot);
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
    auto r = redis_->Command({"HGETALL", p + "p:" + PhoneBucket(phone)});
    if (!r.ok()) return r.status();
    for (const auto& ref : RefsOf(*r, phone)) {
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
                                                      const BatchEvents& events) {
  std::string p = Prefix(tenant);
  const size_t nev = events.events.size() + (events.created ? 1 : 0);
  std::vector<std::string> args = {
      p, list, std::to_string(max_contacts),
      progress != nullptr ? absl::StrCat(p, "imp:", list, ":", progress->import_id) : "",
      progress != nullptr ? std::to_string(progress->rows_committed) : "0", std::to_string(nev)};
  args.reserve(6 + writes.size() * 16 + nev);
  auto phones = [](const std::vector<std::string>& v) {
    std::vector<std::string> parts;
    for (const auto& n : v) parts.push_back(absl::StrCat(PhoneBucket(n), "|", n));
    return absl::StrJoin(parts, "\t");
  };
  for (const auto& w : writes) {
    args.push_back(std::to_string(w.seq));                                  // 1
    args.push_back(w.expect);                                               // 2
    args.push_back(w.bytes);                                                // 3
    args.push_back(w.old_external_id);                                      // 4
    args.push_back(w.new_external_id);                                      // 5
    args.push_back(phones(w.old_phones));                                   // 6
    args.push_back(phones(w.new_phones));                                   // 7
    args.push_back(w.old_status);                                           // 8
    args.push_back(w.queue_at ? std::to_string(Millis(*w.queue_at)) : ""); // 9
    args.push_back(w.old_queued ? "1" : "");                                // 10
    args.push_back(std::to_string(w.old_priority));                         // 11
    args.push_back(std::to_string(w.new_priority));                         // 12
    args.push_back(w.lease_id);                                             // 13
    args.push_back(ExtBucket(w.new_external_id));                           // 14
    args.push_back(ExtBucket(w.old_external_id));                           // 15
    args.push_back(w.new_status);                                           // 16
  }
  // Field count per write is 16 (the script's N must match).
  events::AppendEnvelopeRecords(events.events, args);
  if (events.created) args.push_back(events::FrameRecord('C', events.created->SerializeAsString()));
  auto r = outbox_->EvalWithEvents(CommitScript(), {ListKey(p, list)}, args, tenant);
  if (!r.ok()) return MapScriptError(r.status());
  BatchResult res;
  for (const auto& e : r->elements) {
    res.seqs.push_back(e.integer);
    if (e.integer < 0) ++res.quota_rejected;
  }
  return res;
}

absl::StatusOr<BatchResult> RedisContactStore::InsertNew(const std::string& tenant,
                                                         const std::string& list,
                                                         const std::vector<ContactWrite>& writes,
                                                         const ImportProgress* progress,
                                                         int64_t max_contacts,
                                                         const std::string& snapshot) {
  std::string p = Prefix(tenant);
  std::string lkey = ListKey(p, list);
  std::string count_key = p + "contacts";
  BatchResult res;
  if (writes.empty()) return res;
  // Every write to a list's contacts bumps the list hash (Commit bumps
  // "version" and "next_seq", inserts bump "count" and "next_seq"), so
  // watching the list hash and the tenant's contact count catches any
  // concurrent change that could claim one of our external ids or spend the
  // quota, without watching thousands of keys. The sequence numbers come from
  // "next_seq" as read under the watch and are claimed inside the
  // transaction, so an aborted attempt leaves no gap.
  std::vector<std::string> xbucket(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!writes[i].new_external_id.empty()) xbucket[i] = ExtBucket(writes[i].new_external_id);
  }
  absl::Status st = redis_->WithSession([&](redis::Client::Session& s) -> absl::Status {
    std::vector<std::string> state = SnapshotRead(lkey);
    state.push_back("next_seq");
    std::vector<std::vector<std::string>> reads = {
        {"WATCH", lkey, count_key}, {"EXISTS", lkey}, {"GET", count_key}, std::move(state)};
    if (snapshot.empty()) {
      for (size_t i = 0; i < writes.size(); ++i) {
        if (xbucket[i].empty()) continue;
        reads.push_back({"HEXISTS", absl::StrCat(p, "x:", list, ":", xbucket[i]),
                         writes[i].new_external_id});
      }
    }
    auto r = s.Pipeline(reads);
    if (!r.ok()) return r.status();
    if ((*r)[1].integer == 0) return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found");
    int64_t total = 0;
    if (!(*r)[2].is_nil()) (void)absl::SimpleAtoi((*r)[2].str, &total);
    // The list is unchanged since the caller's lookup, so its absent ids are
    // still absent; WATCH covers the rest of the way to EXEC.
    if (!snapshot.empty() && SnapshotOf((*r)[3]).token != snapshot) {
      return Aborted("CONCURRENT_MODIFICATION", "the list changed since it was read; retry");
    }
    for (size_t j = 4; j < r->size(); ++j) {
      if ((*r)[j].integer == 1) {
        return Aborted("CONCURRENT_MODIFICATION", "an external id was claimed meanwhile; retry");
      }
    }
    int64_t next_seq = 0;
    const auto& state_reply = (*r)[3].elements;
    if (state_reply.size() > 3 && !state_reply[3].is_nil()) {
      (void)absl::SimpleAtoi(state_reply[3].str, &next_seq);
    }
    int64_t room = static_cast<int64_t>(writes.size());
    if (max_contacts >= 0) room = std::max<int64_t>(0, std::min(room, max_contacts - total));
    // The first `room` writes get consecutive sequence numbers, the rest -1.
    size_t added = static_cast<size_t>(room);
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
    // Index entries, one HSET per bucket touched (sorted by bucket).
    std::vector<std::pair<uint32_t, uint32_t>> xs, ps;  // (bucket, write) / (bucket, phone ref)
    std::vector<std::pair<size_t, size_t>> phone_refs;   // (write, phone index)
    for (size_t i = 0; i < added; ++i) {
      if (!xbucket[i].empty()) {
        xs.emplace_back(static_cast<uint32_t>(Fnv(writes[i].new_external_id) % kExternalIdBuckets),
                        static_cast<uint32_t>(i));
      }
      for (size_t k = 0; k < writes[i].new_phones.size(); ++k) {
        ps.emplace_back(static_cast<uint32_t>(Fnv(writes[i].new_phones[k]) % kPhoneBuckets),
                        static_cast<uint32_t>(phone_refs.size()));
        phone_refs.emplace_back(i, k);
      }
    }
    std::sort(xs.begin(), xs.end());
    std::sort(ps.begin(), ps.end());
    for (size_t j = 0; j < xs.size();) {
      uint32_t b = xs[j].first;
      std::vector<std::string> cmd = {"HSET", absl::StrCat(p, "x:", list, ":", b)};
      for (; j < xs.size() && xs[j].first == b; ++j) {
        cmd.push_back(writes[xs[j].second].new_external_id);
        cmd.push_back(sseq[xs[j].second]);
      }
      tx.push_back(std::move(cmd));
    }
    for (size_t j = 0; j < ps.size();) {
      uint32_t b = ps[j].first;
      std::vector<std::string> cmd = {"HSET", absl::StrCat(p, "p:", b)};
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
      tx.push_back({"ZADD", absl::StrCat(p, "qi:", list, ":", prio), "LT",
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
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
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
  std::vector<std::string> args = {Prefix(tenant), list, std::to_string(Millis(now)),
                                   std::to_string(count), std::to_string(Millis(expire)), holder};
  for (int i = 0; i < count; ++i) args.push_back(RandomHex(12));
  auto r = redis_->Eval(LeaseScript(), {ListKey(Prefix(tenant), list)}, args);
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
