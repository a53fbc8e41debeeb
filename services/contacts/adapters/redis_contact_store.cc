#include "services/contacts/adapters/redis_contact_store.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
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

// Applies a batch of contact writes atomically. Pass 1 checks every
// compare-and-set (and that new external ids are still free) before pass 2
// writes anything, so a conflict leaves Redis untouched.
// ARGV: prefix, list, max_contacts (-1 none), import key ("" none),
//       import rows, then 15 fields per write (see Commit()).
const redis::Script& CommitScript() {
  static const redis::Script* s = new redis::Script(R"lua(
local P, list, maxc, impkey, improws = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local N = 16
local n = (#ARGV - 5) / N
local lkey = P .. 'l:' .. list
if redis.call('EXISTS', lkey) == 0 then return {err = 'NO_LIST'} end
local function f(i, k) return ARGV[5 + (i - 1) * N + k] end
local function bucket(seq) return P .. 'c:' .. list .. ':' .. math.floor(seq / 128) end
-- pass 1: checks
for i = 1, n do
  local seq = tonumber(f(i, 1))
  if seq == 0 then
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
-- pass 2: writes
local total = tonumber(redis.call('GET', P .. 'contacts') or '0')
local out = {}
local function split(s)
  local t = {}
  for part in string.gmatch(s, '[^\t]+') do t[#t + 1] = part end
  return t
end
for i = 1, n do
  local seq = tonumber(f(i, 1))
  local isnew = seq == 0
  if isnew and maxc >= 0 and total >= maxc then
    out[i] = -1
  else
    if isnew then
      seq = redis.call('HINCRBY', lkey, 'next_seq', 1)
      total = total + 1
      redis.call('INCR', P .. 'contacts')
      redis.call('HINCRBY', lkey, 'count', 1)
    end
    local sseq = tostring(seq)
    local ref = list .. ':' .. sseq
    out[i] = seq
    local bytes = f(i, 3)
    if bytes == '' then
      redis.call('HDEL', bucket(seq), sseq)
      redis.call('HINCRBY', lkey, 'count', -1)
      redis.call('DECR', P .. 'contacts')
    else
      redis.call('HSET', bucket(seq), sseq, bytes)
    end
    -- external id index: old bucket in field 15, new bucket in field 14
    if f(i, 4) ~= '' and (f(i, 4) ~= f(i, 5) or bytes == '') then
      redis.call('HDEL', P .. 'x:' .. list .. ':' .. f(i, 15), f(i, 4))
    end
    if f(i, 5) ~= '' and bytes ~= '' then
      redis.call('HSET', P .. 'x:' .. list .. ':' .. f(i, 14), f(i, 5), sseq)
    end
    -- phone index: entries "bucket|e164"
    local newp = {}
    if bytes ~= '' then
      for _, e in ipairs(split(f(i, 7))) do newp[e] = true end
    end
    for _, e in ipairs(split(f(i, 6))) do
      if not newp[e] then
        local b, num = string.match(e, '([^|]+)|(.+)')
        local k = P .. 'p:' .. b
        local v = redis.call('HGET', k, num)
        if v then
          local kept = {}
          for r in string.gmatch(v, '[^;]+') do if r ~= ref then kept[#kept + 1] = r end end
          if #kept == 0 then redis.call('HDEL', k, num) else redis.call('HSET', k, num, table.concat(kept, ';')) end
        end
      end
    end
    for e, _ in pairs(newp) do
      local b, num = string.match(e, '([^|]+)|(.+)')
      local k = P .. 'p:' .. b
      local v = redis.call('HGET', k, num)
      if not v then
        redis.call('HSET', k, num, ref)
      else
        local found = false
        for r in string.gmatch(v, '[^;]+') do if r == ref then found = true end end
        if not found then redis.call('HSET', k, num, v .. ';' .. ref) end
      end
    end
    -- queue and lease
    if f(i, 10) == '1' then redis.call('ZREM', P .. 'q:' .. list .. ':' .. f(i, 11), sseq) end
    if f(i, 13) ~= '' or bytes == '' then
      redis.call('ZREM', P .. 'lz:' .. list, sseq)
      redis.call('HDEL', P .. 'li:' .. list, sseq)
    end
    if f(i, 9) ~= '' and bytes ~= '' then
      redis.call('ZADD', P .. 'q:' .. list .. ':' .. f(i, 12), f(i, 9), sseq)
    end
    -- counts by status
    if f(i, 8) ~= '' then redis.call('HINCRBY', lkey, 'n:' .. f(i, 8), -1) end
    if f(i, 16) ~= '' then redis.call('HINCRBY', lkey, 'n:' .. f(i, 16), 1) end
  end
end
if impkey ~= '' then redis.call('HSET', impkey, 'rows', improws) end
return out
)lua");
  return *s;
}

// Returns expired leases to their queues, then leases up to N due contacts,
// highest priority first. ARGV: prefix, list, now_ms, n, expire_ms, holder,
// then N lease ids. Returns {seq, bytes, lease id, ...}.
const redis::Script& LeaseScript() {
  static const redis::Script* s = new redis::Script(R"lua(
local P, list, now, n, exp, holder = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local lz, li = P .. 'lz:' .. list, P .. 'li:' .. list
for _, seq in ipairs(redis.call('ZRANGEBYSCORE', lz, '-inf', now)) do
  local info = redis.call('HGET', li, seq)
  if info then
    local prio = string.match(info, '^[^|]*|([^|]*)|')
    redis.call('ZADD', P .. 'q:' .. list .. ':' .. prio, now, seq)
    redis.call('HDEL', li, seq)
  end
  redis.call('ZREM', lz, seq)
end
local out = {}
local got = 0
for prio = 9, 0, -1 do
  if got >= n then break end
  local q = P .. 'q:' .. list .. ':' .. prio
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

RedisContactStore::RedisContactStore(std::shared_ptr<redis::Client> redis)
    : redis_(std::move(redis)) {}

absl::Status RedisContactStore::CreateList(const std::string& tenant, const std::string& list,
                                           v1::ContactList& cl) {
  std::string p = Prefix(tenant);
  cl.set_etag(RandomHex(8));
  auto r = redis_->Command({"HSETNX", ListKey(p, list), "proto", cl.SerializeAsString()});
  if (!r.ok()) return r.status();
  if (r->integer == 0) {
    return AlreadyExists("CONTACT_LIST_EXISTS", absl::StrCat("contact list \"", list, "\" exists"));
  }
  auto w = redis_->Pipeline({{"HSET", ListKey(p, list), "etag", cl.etag(), "count", "0"},
                             {"ZADD", p + "lists", "0", list}});
  return w.ok() ? absl::OkStatus() : w.status();
}

absl::StatusOr<v1::ContactList> RedisContactStore::GetList(const std::string& tenant,
                                                           const std::string& list) {
  std::string p = Prefix(tenant);
  auto r = redis_->Pipeline({{"HGETALL", ListKey(p, list)}, {"ZCARD", p + "lz:" + list}});
  if (!r.ok()) return r.status();
  const auto& fields = (*r)[0].elements;
  v1::ContactList cl;
  bool found = false;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& k = fields[i].str;
    const std::string& v = fields[i + 1].str;
    int64_t n = 0;
    if (k == "proto") {
      found = cl.ParseFromString(v);
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
  static const redis::Script* s = new redis::Script(R"lua(
local cur = redis.call('HGET', KEYS[1], 'etag')
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'etag', ARGV[3])
return 1
)lua");
  cl.set_etag(RandomHex(8));
  v1::ContactList stored = cl;
  stored.clear_counts_by_status();
  stored.clear_contact_count();
  stored.clear_etag();
  auto r = redis_->Eval(*s, {ListKey(Prefix(tenant), list)},
                        {expected, stored.SerializeAsString(), cl.etag()});
  if (!r.ok()) return r.status();
  if (r->integer == -1) return NotFound("CONTACT_LIST_NOT_FOUND", "contact list not found");
  if (r->integer == 0) return Aborted("ETAG_MISMATCH", "the list changed; read it again and retry");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RedisContactStore::DeleteList(const std::string& tenant,
                                                      const std::string& list) {
  // Contacts go through Commit (deletes), so every index and count follows;
  // then the list's own keys.
  int64_t removed = 0, after = 0;
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
      auto res = Commit(tenant, list, writes, nullptr, -1);
      if (absl::IsAborted(res.status())) continue;  // changed meanwhile: rescan this page
      if (!res.ok()) return res.status();
      removed += static_cast<int64_t>(writes.size());
    }
    if (next == 0) break;
    after = next;
  }
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> dels = {{"DEL", ListKey(p, list)},
                                                {"ZREM", p + "lists", list},
                                                {"DEL", p + "lz:" + list},
                                                {"DEL", p + "li:" + list}};
  for (int prio = 0; prio <= 9; ++prio) dels.push_back({"DEL", absl::StrCat(p, "q:", list, ":", prio)});
  auto r = redis_->Pipeline(dels);
  if (!r.ok()) return r.status();
  return removed;
}

absl::StatusOr<std::vector<int64_t>> RedisContactStore::FindByExternalIds(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& ids) {
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> cmds;
  for (const auto& id : ids) {
    cmds.push_back({"HGET", absl::StrCat(p, "x:", list, ":", ExtBucket(id)), id});
  }
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  std::vector<int64_t> out;
  for (const auto& rep : *r) {
    int64_t seq = 0;
    if (!rep.is_nil()) (void)absl::SimpleAtoi(rep.str, &seq);
    out.push_back(seq);
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> RedisContactStore::FindByPhones(
    const std::string& tenant, const std::string& list, const std::vector<std::string>& e164) {
  std::string p = Prefix(tenant);
  std::vector<std::vector<std::string>> cmds;
  for (const auto& n : e164) cmds.push_back({"HGET", p + "p:" + PhoneBucket(n), n});
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  std::vector<int64_t> out;
  std::string want = list + ":";
  for (const auto& rep : *r) {
    int64_t seq = 0;
    if (!rep.is_nil()) {
      for (absl::string_view ref : absl::StrSplit(rep.str, ';')) {
        if (absl::StartsWith(ref, want) && absl::SimpleAtoi(ref.substr(want.size()), &seq)) break;
      }
    }
    out.push_back(seq);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> RedisContactStore::FindAcrossLists(
    const std::string& tenant, const std::string& phone, const std::string& external_id) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::string p = Prefix(tenant);
  if (!phone.empty()) {
    auto r = redis_->Command({"HGET", p + "p:" + PhoneBucket(phone), phone});
    if (!r.ok()) return r.status();
    if (!r->is_nil()) {
      for (absl::string_view ref : absl::StrSplit(r->str, ';')) {
        size_t colon = ref.rfind(':');
        int64_t seq = 0;
        if (colon != absl::string_view::npos && absl::SimpleAtoi(ref.substr(colon + 1), &seq)) {
          out.emplace_back(std::string(ref.substr(0, colon)), seq);
        }
      }
    }
  }
  if (!external_id.empty()) {
    std::string after;
    for (;;) {
      auto ids = ListListIds(tenant, after, 500);
      if (!ids.ok()) return ids.status();
      if (ids->empty()) break;
      for (const auto& list : *ids) {
        auto seqs = FindByExternalIds(tenant, list, {external_id});
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
                                                      int64_t max_contacts) {
  std::string p = Prefix(tenant);
  std::vector<std::string> args = {
      p, list, std::to_string(max_contacts),
      progress != nullptr ? absl::StrCat(p, "imp:", list, ":", progress->import_id) : "",
      progress != nullptr ? std::to_string(progress->rows_committed) : "0"};
  args.reserve(5 + writes.size() * 16);
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
  auto r = redis_->Eval(CommitScript(), {ListKey(p, list)}, args);
  if (!r.ok()) return MapScriptError(r.status());
  BatchResult res;
  for (const auto& e : r->elements) {
    res.seqs.push_back(e.integer);
    if (e.integer < 0) ++res.quota_rejected;
  }
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

absl::StatusOr<std::string> RedisContactStore::LeaseOf(const std::string& tenant,
                                                       const std::string& list, int64_t seq) {
  auto r = redis_->Command({"HGET", Prefix(tenant) + "li:" + list, std::to_string(seq)});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return std::string();
  return std::string(r->str.substr(0, r->str.find('|')));
}

absl::Status RedisContactStore::Ping() { return redis_->Ping(); }

}  // namespace dialgrid::contacts
