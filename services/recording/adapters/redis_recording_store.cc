#include "services/recording/adapters/redis_recording_store.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/request_ids.h"
#include "services/common/events/outbox_record.h"
#include "services/recording/adapters/lua/append_chain.lua.h"
#include "services/recording/adapters/lua/begin_delete.lua.h"
#include "services/recording/adapters/lua/claim_upload.lua.h"
#include "services/recording/adapters/lua/resume_upload.lua.h"
#include "services/recording/adapters/lua/finish_delete.lua.h"
#include "services/recording/adapters/lua/place_hold.lua.h"
#include "services/recording/adapters/lua/release_hold.lua.h"
#include "services/recording/adapters/lua/renew_lease.lua.h"
#include "services/recording/adapters/lua/chain.lua.h"
#include "services/recording/adapters/lua/chunk.lua.h"
#include "services/recording/adapters/lua/create_recording.lua.h"
#include "services/recording/adapters/lua/finish_upload.lua.h"
#include "services/recording/adapters/lua/open_upload.lua.h"
#include "services/recording/adapters/lua/rewrap.lua.h"
#include "services/recording/adapters/lua/transition.lua.h"

namespace dialgrid::recording {
namespace {

constexpr int kChainTries = 50;

std::string Tag(absl::string_view tenant) { return TenantHashTag(tenant); }
std::string GapsKey(const RecordingRef& r) {
  return absl::StrCat(RedisRecordingStore::RecordingKey(r), ":gaps");
}
std::string IndexKey(absl::string_view tenant) { return absl::StrCat(Tag(tenant), ":recs"); }
std::string UsageKey(absl::string_view tenant) { return absl::StrCat(Tag(tenant), ":rec-usage"); }
std::string RequestKey(absl::string_view tenant, absl::string_view id) {
  return absl::StrCat(Tag(tenant), ":rec-req:", id);
}
std::string ExpiryKey(absl::string_view tenant) { return absl::StrCat(Tag(tenant), ":rec-expiry"); }
std::string DeletingKey(absl::string_view tenant) {
  return absl::StrCat(Tag(tenant), ":rec-deleting");
}
std::string OpenKey(absl::string_view tenant) { return absl::StrCat(Tag(tenant), ":rec-open"); }
std::string ContactKey(absl::string_view tenant, absl::string_view contact) {
  return absl::StrCat(Tag(tenant), ":rec-contact:", contact);
}
std::string RetentionKey(absl::string_view tenant) {
  return absl::StrCat(Tag(tenant), ":rec-retention");
}
std::string HoldKey(absl::string_view tenant, absl::string_view id) {
  return absl::StrCat(Tag(tenant), ":hold:", id);
}
std::string HoldsKey(absl::string_view tenant) { return absl::StrCat(Tag(tenant), ":holds"); }
std::string HoldRequestKey(absl::string_view tenant, absl::string_view id) {
  return absl::StrCat(Tag(tenant), ":hold-req:", id);
}
constexpr char kTenantsKey[] = "{dg}:recording:tenants";
std::string DayKey(absl::string_view tenant, absl::CivilDay day) {
  return absl::StrCat(Tag(tenant), ":rec-day:", absl::FormatCivilTime(day));
}
std::string DayKey(absl::string_view tenant, absl::Time t) {
  return DayKey(tenant, absl::ToCivilDay(t, absl::UTCTimeZone()));
}
std::string TotalsKey(absl::string_view tenant) { return absl::StrCat(Tag(tenant), ":rec-totals"); }

// Adds a usage hash's fields to `c`.
void AddCounts(const redis::Reply& hash, UsageCounts& c) {
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& f = hash.elements[i].str;
    int64_t v = 0;
    if (!absl::SimpleAtoi(hash.elements[i + 1].str, &v)) continue;
    if (f == "started") c.started += v;
    else if (f == "stored") c.stored += v;
    else if (f == "audio_ms") c.audio_ms += v;
    else if (f == "ingested") c.ingested_bytes += v;
    else if (f == "purged") c.purged += v;
    else if (f == "erased") c.erased += v;
  }
}

std::string ListMember(absl::Time t, absl::string_view id) {
  char member[32];
  std::snprintf(member, sizeof member, "%013lld.", static_cast<long long>(absl::ToUnixMillis(t)));
  return absl::StrCat(member, id);
}

std::vector<std::string> Strings(const redis::Reply& r) {
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  return out;
}

std::string Ms(absl::Time t) { return std::to_string(absl::ToUnixMillis(t)); }
absl::Time FromMs(absl::string_view s, absl::Time none) {
  int64_t ms = 0;
  return !s.empty() && absl::SimpleAtoi(s, &ms) ? absl::FromUnixMillis(ms) : none;
}
int64_t Int(absl::string_view s) {
  int64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : 0;
}

// A Redis failure passes as it is (UNAVAILABLE is retryable); anything else
// is the script's bug.
absl::Status ScriptError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return absl::InternalError(absl::StrCat(what, ": ", st.message()));
}

const redis::Script& Chained(const char* body) {
  // One Script per body; the bodies are the embedded constants (stable addresses).
  static std::mutex mu;
  static auto* scripts = new std::map<const char*, std::unique_ptr<redis::Script>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& s = (*scripts)[body];
  if (!s) {
    s = std::make_unique<redis::Script>(
        absl::StrCat(events::RedisOutbox::kLuaAppend, "\n", lua::kChain, "\n", body));
  }
  return *s;
}

bool IsMoved(const redis::Reply& r) {
  return r.str == "moved" || (!r.elements.empty() && r.elements[0].str == "moved");
}

absl::StatusOr<RecordingMeta> Parse(const RecordingRef& ref, const redis::Reply& hash,
                                    const redis::Reply& gaps) {
  if (hash.elements.empty()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
  RecordingMeta m;
  m.ref = ref;
  GapMeta open;
  bool paused = false;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& f = hash.elements[i].str;
    const std::string& v = hash.elements[i + 1].str;
    if (f == "call") m.call_id = v;
    else if (f == "campaign") m.campaign = v;
    else if (f == "agent") m.agent = v;
    else if (f == "contact") m.contact = v;
    else if (f == "format") m.audio_format = static_cast<int>(Int(v));
    else if (f == "ann") m.announcement_played = v == "1";
    else if (f == "state") m.state = v;
    else if (f == "upload") m.upload = v;
    else if (f == "create_ms") m.create_time = FromMs(v, absl::InfinitePast());
    else if (f == "stop_ms") m.stop_time = FromMs(v, absl::InfinitePast());
    else if (f == "retain_ms") m.expire_time = FromMs(v, absl::InfiniteFuture());
    else if (f == "hold") m.legal_hold = v == "1";
    else if (f == "kid") m.key_id = v;
    else if (f == "wkey") {
      if (!absl::Base64Unescape(v, &m.wrapped_key)) {
        return absl::DataLossError("a stored wrapped key is not base64");
      }
    } else if (f == "last_seq") m.last_sequence = Int(v);
    else if (f == "accepted") m.accepted_bytes = Int(v);
    else if (f == "discarded") m.discarded_bytes = Int(v);
    else if (f == "audio_bytes") m.audio_bytes = Int(v);
    else if (f == "stored_bytes") m.stored_bytes = Int(v);
    else if (f == "segments") m.segments = Int(v);
    else if (f == "sha256") m.sha256 = v;
    else if (f == "file_sha256") m.file_sha256 = v;
    else if (f == "inc_reason") m.incomplete_reason = v;
    else if (f == "lost") m.lost_bytes = Int(v);
    else if (f == "del_ms") return NotFound("RECORDING_NOT_FOUND", "no such recording");
    else if (f == "pause_ms") { open.start = FromMs(v, absl::InfinitePast()); paused = true; }
    else if (f == "pause_off") open.audio_offset = Int(v);
    else if (f == "pause_disc") open.discarded_bytes = Int(v);
    else if (f == "pause_by") open.paused_by = v;
    else if (f == "pause_reason") open.reason = v;
  }
  for (const auto& g : gaps.elements) {
    std::vector<std::string> p = absl::StrSplit(g.str, absl::MaxSplits('|', 5));
    if (p.size() != 6) return absl::DataLossError("a stored gap does not parse");
    GapMeta gap;
    gap.start = FromMs(p[0], absl::InfinitePast());
    gap.end = FromMs(p[1], absl::InfiniteFuture());
    gap.audio_offset = Int(p[2]);
    gap.discarded_bytes = Int(p[3]);
    gap.paused_by = p[4];
    gap.reason = p[5];
    m.gaps.push_back(std::move(gap));
  }
  if (paused) m.gaps.push_back(std::move(open));
  return m;
}

}  // namespace

std::string RedisRecordingStore::RecordingKey(const RecordingRef& ref) {
  return absl::StrCat(Tag(ref.tenant), ":rec:", ref.id);
}
std::string RedisRecordingStore::ChainKey(absl::string_view tenant) {
  return absl::StrCat(Tag(tenant), ":rec-chain");
}
std::string RedisRecordingStore::ChainHeadKey(absl::string_view tenant) {
  return absl::StrCat(Tag(tenant), ":rec-chain-head");
}
std::string RedisRecordingStore::HoldOnKey(absl::string_view tenant, absl::string_view scope,
                                           absl::string_view target) {
  return absl::StrCat(Tag(tenant), ":hold-on:", scope, ":", target);
}

absl::Status RedisRecordingStore::AddHolds(std::vector<RecordingMeta*> metas) {
  std::vector<std::vector<std::string>> cmds;
  std::vector<size_t> owner;
  for (size_t i = 0; i < metas.size(); ++i) {
    for (const auto& [scope, target] : HoldSelectorsOf(*metas[i])) {
      cmds.push_back({"SMEMBERS", HoldOnKey(metas[i]->ref.tenant, scope, target)});
      owner.push_back(i);
    }
  }
  if (cmds.empty()) return absl::OkStatus();
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  for (size_t c = 0; c < cmds.size(); ++c) {
    for (const auto& id : (*r)[c].elements) {
      auto& holds = metas[owner[c]]->holds;
      if (std::find(holds.begin(), holds.end(), id.str) == holds.end()) holds.push_back(id.str);
    }
  }
  for (RecordingMeta* m : metas) {
    std::sort(m->holds.begin(), m->holds.end());
    m->legal_hold = !m->holds.empty();
  }
  return absl::OkStatus();
}

RedisRecordingStore::RedisRecordingStore(std::shared_ptr<redis::Client> redis,
                                         std::shared_ptr<events::RedisOutbox> outbox)
    : redis_(std::move(redis)), outbox_(std::move(outbox)) {}

absl::StatusOr<redis::Reply> RedisRecordingStore::EvalChained(
    const redis::Script& script, absl::string_view tenant, const ChainDraft* draft,
    std::vector<std::string> keys, const std::vector<std::string>& args) {
  keys.insert(keys.begin(), {ChainKey(tenant), ChainHeadKey(tenant)});
  for (int attempt = 0; attempt < kChainTries; ++attempt) {
    std::vector<std::string> full;
    if (draft == nullptr) {
      full = {"", "", "", ""};
    } else {
      auto head = redis_->Command({"HMGET", ChainHeadKey(tenant), "hash", "seq"});
      if (!head.ok()) return head.status();
      std::string prev = head->elements.size() == 2 && !head->elements[0].is_nil()
                             ? head->elements[0].str
                             : std::string(kChainGenesis);
      int64_t seq = head->elements.size() == 2 ? Int(head->elements[1].str) + 1 : 1;
      std::string record = ChainRecord(*draft, seq, prev);
      full = {prev, std::to_string(seq), record, HashOfRecord(record)};
    }
    full.insert(full.end(), args.begin(), args.end());
    auto r = outbox_->EvalWithEvents(script, keys, full, tenant);
    if (!r.ok() || !IsMoved(*r)) return r;
  }
  return Aborted("CHAIN_CONTENDED",
                 "the tenant's recording history kept changing; retry the call");
}

absl::StatusOr<std::string> RedisRecordingStore::Create(const RecordingMeta& m,
                                                        absl::string_view request_id,
                                                        absl::string_view fingerprint,
                                                        const ChainDraft& created,
                                                        const Events& events) {
  char member[96];
  std::snprintf(member, sizeof member, "%013lld.", static_cast<long long>(absl::ToUnixMillis(m.create_time)));
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"id", m.ref.id},
      {"call", m.call_id},
      {"campaign", m.campaign},
      {"agent", m.agent},
      {"contact", m.contact},
      {"format", std::to_string(m.audio_format)},
      {"ann", m.announcement_played ? "1" : "0"},
      {"state", m.state},
      {"upload", m.upload},
      {"create_ms", Ms(m.create_time)},
      {"retain_ms", Ms(m.expire_time)},
      {"hold", m.legal_hold ? "1" : "0"},
      {"kid", m.key_id},
      {"wkey", absl::Base64Escape(m.wrapped_key)},
      {"last_seq", "0"},
      {"accepted", "0"},
      {"discarded", "0"}};
  std::vector<std::string> args = {m.ref.id, absl::StrCat(member, m.ref.id),
                                   std::string(request_id), std::string(fingerprint),
                                   std::to_string(fields.size())};
  for (const auto& [f, v] : fields) {
    args.emplace_back(f);
    args.push_back(v);
  }
  args.push_back(Ms(m.expire_time));
  events::AppendEnvelopeRecords(events, args);
  // The periodic jobs find the tenant here (idempotent, outside its slot).
  auto known = redis_->Command({"SADD", kTenantsKey, m.ref.tenant});
  if (!known.ok()) return known.status();
  auto r = EvalChained(Chained(lua::kCreateRecording), m.ref.tenant, &created,
                       {RecordingKey(m.ref), IndexKey(m.ref.tenant),
                        RequestKey(m.ref.tenant, request_id.empty() ? "-" : request_id),
                        ExpiryKey(m.ref.tenant),
                        m.contact.empty() ? std::string() : ContactKey(m.ref.tenant, m.contact),
                        DayKey(m.ref.tenant, m.create_time), TotalsKey(m.ref.tenant)},
                       args);
  if (!r.ok()) return ScriptError(r.status(), "creating the recording");
  const std::string verdict = r->elements.empty() ? r->str : r->elements[0].str;
  if (verdict == "replay" && r->elements.size() == 2) return r->elements[1].str;
  if (verdict == "reused") return RequestIdReused();
  if (verdict == "exists") return AlreadyExists("RECORDING_EXISTS", "the recording id is taken");
  if (verdict != "ok") return absl::InternalError("creating the recording: unexpected reply");
  return m.ref.id;
}

absl::StatusOr<RecordingMeta> RedisRecordingStore::Get(const RecordingRef& ref) {
  auto r = redis_->Pipeline({{"HGETALL", RecordingKey(ref)}, {"LRANGE", GapsKey(ref), "0", "-1"}});
  if (!r.ok()) return r.status();
  auto m = Parse(ref, (*r)[0], (*r)[1]);
  if (!m.ok()) return m.status();
  absl::Status holds = AddHolds({&*m});
  if (!holds.ok()) return holds;
  return m;
}

absl::StatusOr<std::vector<RecordingMeta>> RedisRecordingStore::GetMany(
    absl::string_view tenant, const std::vector<std::string>& ids) {
  std::vector<RecordingMeta> out;
  if (ids.empty()) return out;
  std::vector<std::vector<std::string>> cmds;
  for (const auto& id : ids) {
    RecordingRef ref{std::string(tenant), id};
    cmds.push_back({"HGETALL", RecordingKey(ref)});
    cmds.push_back({"LRANGE", GapsKey(ref), "0", "-1"});
  }
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  for (size_t i = 0; i < ids.size(); ++i) {
    auto m = Parse(RecordingRef{std::string(tenant), ids[i]}, (*r)[2 * i], (*r)[2 * i + 1]);
    if (m.ok()) {
      out.push_back(*std::move(m));
    } else if (m.status().code() != absl::StatusCode::kNotFound) {
      return m.status();
    }
  }
  std::vector<RecordingMeta*> all;
  for (auto& m : out) all.push_back(&m);
  absl::Status holds = AddHolds(all);
  if (!holds.ok()) return holds;
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisRecordingStore::ListKeys(absl::string_view tenant,
                                                                       absl::string_view after,
                                                                       int max) {
  return redis::MembersAfter(*redis_, IndexKey(tenant), after, max);
}

absl::Status RedisRecordingStore::ApplyTransition(const RecordingRef& ref, Transition t,
                                                  absl::string_view expected_state, absl::Time now,
                                                  absl::string_view actor,
                                                  absl::string_view reason, const Events& events) {
  static const redis::Script* script =
      new redis::Script(absl::StrCat(events::RedisOutbox::kLuaAppend, "\n", lua::kTransition));
  const char* op = t == Transition::kPause ? "pause" : t == Transition::kResume ? "resume" : "stop";
  std::vector<std::string> args = {op, std::string(expected_state), Ms(now), std::string(actor),
                                   std::string(reason)};
  events::AppendEnvelopeRecords(events, args);
  auto r = outbox_->EvalWithEvents(*script, {RecordingKey(ref), GapsKey(ref)}, args, ref.tenant);
  if (!r.ok()) return ScriptError(r.status(), "changing the recording's state");
  if (r->str == "gone") return NotFound("RECORDING_NOT_FOUND", "no such recording");
  if (r->str == "changed") {
    return Aborted("STATE_CHANGED", "the recording's state changed meanwhile; retry");
  }
  return absl::OkStatus();
}

absl::Status RedisRecordingStore::OpenUpload(const RecordingRef& ref, absl::Time now) {
  static const redis::Script* script = new redis::Script(lua::kOpenUpload);
  auto r = redis_->Eval(*script, {RecordingKey(ref), OpenKey(ref.tenant)}, {Ms(now), ref.id});
  if (!r.ok()) return ScriptError(r.status(), "opening the upload");
  if (r->str == "gone") return NotFound("RECORDING_NOT_FOUND", "no such recording");
  if (r->str == "busy") {
    return FailedPrecondition("UPLOAD_EXISTS",
                              "the recording's audio was (or is being) uploaded by another stream");
  }
  if (r->str == "stopped") {
    return FailedPrecondition("RECORDING_STOPPED", "the recording has stopped");
  }
  return absl::OkStatus();
}

absl::Status RedisRecordingStore::ResumeUpload(const RecordingRef& ref, absl::Time now) {
  static const redis::Script* script = new redis::Script(lua::kResumeUpload);
  auto r = redis_->Eval(*script, {RecordingKey(ref), OpenKey(ref.tenant)}, {Ms(now), ref.id});
  if (!r.ok()) return ScriptError(r.status(), "resuming the upload");
  if (r->str == "gone") return NotFound("RECORDING_NOT_FOUND", "no such recording");
  if (r->str == "busy") {
    return FailedPrecondition("UPLOAD_EXISTS",
                              "the recording's upload is still open on another stream");
  }
  if (r->str == "stopped") {
    return FailedPrecondition("RECORDING_STOPPED", "the recording has stopped");
  }
  if (r->str == "no") {
    return FailedPrecondition(
        "UPLOAD_NOT_RESUMABLE",
        "only an upload whose stream broke off (STREAM_BROKEN) can be resumed");
  }
  return absl::OkStatus();
}

absl::StatusOr<ChunkVerdict> RedisRecordingStore::Chunk(const RecordingRef& ref, int64_t sequence,
                                                        int64_t bytes, int64_t max_usage,
                                                        absl::Time now) {
  static const redis::Script* script = new redis::Script(lua::kChunk);
  auto r = redis_->Eval(*script,
                        {RecordingKey(ref), UsageKey(ref.tenant), OpenKey(ref.tenant),
                         DayKey(ref.tenant, now), TotalsKey(ref.tenant)},
                        {std::to_string(sequence), std::to_string(bytes),
                         std::to_string(max_usage < 0 ? -1 : max_usage), Ms(now), ref.id});
  if (!r.ok()) return ScriptError(r.status(), "taking in a chunk");
  if (r->elements.empty()) return absl::InternalError("chunk script: unexpected reply");
  const std::string& v = r->elements[0].str;
  ChunkVerdict out;
  using K = ChunkVerdict::Kind;
  if (v == "stored") out.kind = K::kStored;
  else if (v == "discarded") out.kind = K::kDiscarded;
  else if (v == "dup") out.kind = K::kDuplicate;
  else if (v == "gap") {
    out.kind = K::kOutOfOrder;
    out.expected = r->elements.size() > 1 ? Int(r->elements[1].str) : 0;
  } else if (v == "stopped") out.kind = K::kStopped;
  else if (v == "quota") out.kind = K::kQuota;
  else if (v == "closed") out.kind = K::kClosed;
  else out.kind = K::kGone;
  return out;
}

absl::Status RedisRecordingStore::FinishUpload(const RecordingRef& ref, const UploadOutcome& o,
                                               absl::Time now, const ChainDraft* stored,
                                               const Events& events, absl::string_view expected) {
  std::vector<std::string> args = {o.stored ? "done" : "failed",
                                   o.incomplete_reason,
                                   Ms(now),
                                   std::to_string(o.audio_bytes),
                                   std::to_string(o.stored_bytes),
                                   std::to_string(o.segments),
                                   o.sha256,
                                   o.file_sha256,
                                   std::to_string(o.usage_delta),
                                   std::string(expected),
                                   ref.id,
                                   std::to_string(o.lost_bytes),
                                   std::to_string(o.bytes_per_second)};
  events::AppendEnvelopeRecords(events, args);
  auto r = EvalChained(Chained(lua::kFinishUpload), ref.tenant, stored,
                       {RecordingKey(ref), GapsKey(ref), UsageKey(ref.tenant), OpenKey(ref.tenant),
                        DayKey(ref.tenant, now), TotalsKey(ref.tenant)},
                       args);
  if (!r.ok()) return ScriptError(r.status(), "ending the upload");
  if (r->str == "gone") return NotFound("RECORDING_NOT_FOUND", "no such recording");
  if (r->str == "closed") {
    return FailedPrecondition("UPLOAD_CLOSED",
                              "the upload was taken over (its lease expired) or had ended");
  }
  return absl::OkStatus();
}

absl::Status RedisRecordingStore::AppendChain(absl::string_view tenant, const ChainDraft& entry,
                                              const Events& events) {
  std::vector<std::string> args;
  events::AppendEnvelopeRecords(events, args);
  auto r = EvalChained(Chained(lua::kAppendChain), tenant, &entry, {}, args);
  if (!r.ok()) return ScriptError(r.status(), "appending to the recording history");
  return absl::OkStatus();
}

absl::Status RedisRecordingStore::Publish(absl::string_view tenant, const Events& events) {
  if (events.empty()) return absl::OkStatus();
  auto r = outbox_->ExecWithEvents({}, tenant, events);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<ChainSnapshot> RedisRecordingStore::ReadChain(absl::string_view tenant) {
  // One MULTI/EXEC so the head and the list are read at one point in time.
  auto r = redis_->Pipeline({{"MULTI"},
                             {"LRANGE", ChainKey(tenant), "0", "-1"},
                             {"HMGET", ChainHeadKey(tenant), "hash", "seq"},
                             {"EXEC"}});
  if (!r.ok()) return r.status();
  const redis::Reply& exec = r->back();
  if (exec.elements.size() != 2) return absl::InternalError("reading the chain: unexpected reply");
  ChainSnapshot s;
  for (const auto& e : exec.elements[0].elements) s.records.push_back(e.str);
  const auto& head = exec.elements[1].elements;
  if (head.size() == 2) {
    s.head_hash = head[0].is_nil() ? "" : head[0].str;
    s.head_seq = Int(head[1].str);
  }
  return s;
}

absl::Status RedisRecordingStore::Rewrap(const RecordingRef& ref, absl::string_view old_key_id,
                                         absl::string_view new_key_id, absl::string_view wrapped) {
  static const redis::Script* script = new redis::Script(lua::kRewrap);
  auto r = redis_->Eval(*script, {RecordingKey(ref)},
                        {std::string(old_key_id), std::string(new_key_id),
                         absl::Base64Escape(wrapped)});
  if (!r.ok()) return ScriptError(r.status(), "re-wrapping the data key");
  if (r->str == "gone") return NotFound("RECORDING_NOT_FOUND", "no such recording");
  if (r->str == "changed") return Aborted("STATE_CHANGED", "the data key was re-wrapped meanwhile");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RedisRecordingStore::Usage(absl::string_view tenant) {
  auto r = redis_->Command({"GET", UsageKey(tenant)});
  if (!r.ok()) return r.status();
  return r->is_nil() ? 0 : Int(r->str);
}

absl::StatusOr<UsageCounts> RedisRecordingStore::UsageOfDays(absl::string_view tenant,
                                                             absl::CivilDay first,
                                                             absl::CivilDay last) {
  UsageCounts out;
  std::vector<std::vector<std::string>> cmds;
  for (absl::CivilDay d = first; d <= last; ++d) cmds.push_back({"HGETALL", DayKey(tenant, d)});
  if (cmds.empty()) return out;
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  for (const auto& hash : *r) AddCounts(hash, out);
  return out;
}

absl::StatusOr<UsageNow> RedisRecordingStore::UsageTotals(absl::string_view tenant) {
  auto r = redis_->Command({"HGETALL", TotalsKey(tenant)});
  if (!r.ok()) return r.status();
  UsageNow out;
  AddCounts(*r, out.all_time);
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    const std::string& f = r->elements[i].str;
    const int64_t v = Int(r->elements[i + 1].str);
    if (f == "recordings") out.recordings = v;
    else if (f == "stored_bytes") out.stored_bytes = v;
    else if (f == "holds") out.active_holds = v;
    else if (f == "held_past_retention") out.held_past_retention = v;
  }
  return out;
}

absl::Status RedisRecordingStore::RenewLease(const RecordingRef& ref, absl::Time now) {
  static const redis::Script* script = new redis::Script(lua::kRenewLease);
  auto r = redis_->Eval(*script, {RecordingKey(ref), OpenKey(ref.tenant)}, {Ms(now), ref.id});
  if (!r.ok()) return ScriptError(r.status(), "renewing the upload's lease");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisRecordingStore::StaleUploads(
    absl::string_view tenant, absl::Time before, int max) {
  auto r = redis_->Command({"ZRANGEBYSCORE", OpenKey(tenant), "-inf",
                            absl::StrCat("(", absl::ToUnixMillis(before)), "LIMIT", "0",
                            std::to_string(max)});
  if (!r.ok()) return r.status();
  return Strings(*r);
}

absl::StatusOr<bool> RedisRecordingStore::ClaimStaleUpload(const RecordingRef& ref,
                                                           absl::Time before, absl::Time now) {
  static const redis::Script* script = new redis::Script(lua::kClaimUpload);
  auto r = redis_->Eval(*script, {RecordingKey(ref), OpenKey(ref.tenant)},
                        {Ms(before), Ms(now), ref.id});
  if (!r.ok()) return ScriptError(r.status(), "taking over a stale upload");
  return r->integer == 1;
}

absl::StatusOr<std::vector<std::string>> RedisRecordingStore::Tenants() {
  auto r = redis_->Command({"SMEMBERS", kTenantsKey});
  if (!r.ok()) return r.status();
  return Strings(*r);
}

absl::Status RedisRecordingStore::PutRetention(absl::string_view tenant, const RetentionMeta& p,
                                               const Events& events) {
  auto r = outbox_->ExecWithEvents(
      {{"HSET", RetentionKey(tenant), p.scope,
        absl::StrCat(absl::ToInt64Seconds(p.retention), "|", Ms(p.update_time), "|",
                     p.updated_by)}},
      tenant, events);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<RetentionMeta> RedisRecordingStore::GetRetention(absl::string_view tenant,
                                                                absl::string_view scope) {
  auto r = redis_->Command({"HGET", RetentionKey(tenant), std::string(scope)});
  if (!r.ok()) return r.status();
  if (r->is_nil()) return absl::NotFoundError("no retention policy set");
  std::vector<std::string> p = absl::StrSplit(r->str, absl::MaxSplits('|', 2));
  if (p.size() != 3) return absl::DataLossError("a stored retention policy does not parse");
  RetentionMeta m;
  m.scope = std::string(scope);
  m.retention = absl::Seconds(Int(p[0]));
  m.update_time = FromMs(p[1], absl::InfinitePast());
  m.updated_by = p[2];
  return m;
}

namespace {
absl::StatusOr<HoldMeta> ParseHold(absl::string_view tenant, absl::string_view id,
                                   const redis::Reply& hash) {
  if (hash.elements.empty()) return NotFound("HOLD_NOT_FOUND", "no such legal hold");
  HoldMeta h;
  h.tenant = std::string(tenant);
  h.id = std::string(id);
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& f = hash.elements[i].str;
    const std::string& v = hash.elements[i + 1].str;
    if (f == "scope") h.scope = v;
    else if (f == "target") h.target = v;
    else if (f == "reason") h.reason = v;
    else if (f == "by") h.placed_by = v;
    else if (f == "create_ms") h.create_time = FromMs(v, absl::InfinitePast());
    else if (f == "state") h.released = v == "released";
    else if (f == "release_ms") h.release_time = FromMs(v, absl::InfinitePast());
    else if (f == "released_by") h.released_by = v;
    else if (f == "release_reason") h.release_reason = v;
  }
  return h;
}
}  // namespace

absl::StatusOr<std::string> RedisRecordingStore::PlaceHold(const HoldMeta& h,
                                                           absl::string_view request_id,
                                                           absl::string_view fingerprint,
                                                           const ChainDraft& held,
                                                           const Events& events) {
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"scope", h.scope}, {"target", h.target},          {"reason", h.reason},
      {"by", h.placed_by}, {"create_ms", Ms(h.create_time)}, {"state", "active"}};
  std::vector<std::string> args = {h.id, ListMember(h.create_time, h.id), std::string(request_id),
                                   std::string(fingerprint), std::to_string(fields.size())};
  for (const auto& [f, v] : fields) {
    args.emplace_back(f);
    args.push_back(v);
  }
  events::AppendEnvelopeRecords(events, args);
  auto r = EvalChained(Chained(lua::kPlaceHold), h.tenant, &held,
                       {HoldKey(h.tenant, h.id), HoldsKey(h.tenant),
                        HoldRequestKey(h.tenant, request_id.empty() ? "-" : request_id),
                        HoldOnKey(h.tenant, h.scope, h.target), TotalsKey(h.tenant)},
                       args);
  if (!r.ok()) return ScriptError(r.status(), "placing the legal hold");
  const std::string verdict = r->elements.empty() ? r->str : r->elements[0].str;
  if (verdict == "replay" && r->elements.size() == 2) return r->elements[1].str;
  if (verdict == "reused") return RequestIdReused();
  if (verdict == "exists") return AlreadyExists("HOLD_EXISTS", "the hold id is taken");
  if (verdict != "ok") return absl::InternalError("placing the hold: unexpected reply");
  return h.id;
}

absl::StatusOr<bool> RedisRecordingStore::ReleaseHold(absl::string_view tenant,
                                                      absl::string_view id, absl::Time now,
                                                      absl::string_view actor,
                                                      absl::string_view reason,
                                                      const ChainDraft& released,
                                                      const Events& events) {
  auto h = GetHold(tenant, id);
  if (!h.ok()) return h.status();
  std::vector<std::string> args = {std::string(id), Ms(now), std::string(actor),
                                   std::string(reason)};
  events::AppendEnvelopeRecords(events, args);
  auto r = EvalChained(Chained(lua::kReleaseHold), tenant, &released,
                       {HoldKey(tenant, id), HoldOnKey(tenant, h->scope, h->target),
                        TotalsKey(tenant)},
                       args);
  if (!r.ok()) return ScriptError(r.status(), "releasing the legal hold");
  if (r->str == "gone") return NotFound("HOLD_NOT_FOUND", "no such legal hold");
  return r->str == "ok";
}

absl::StatusOr<HoldMeta> RedisRecordingStore::GetHold(absl::string_view tenant,
                                                      absl::string_view id) {
  auto r = redis_->Command({"HGETALL", HoldKey(tenant, id)});
  if (!r.ok()) return r.status();
  return ParseHold(tenant, id, *r);
}

absl::StatusOr<std::vector<std::pair<std::string, HoldMeta>>> RedisRecordingStore::ListHolds(
    absl::string_view tenant, absl::string_view after, int max) {
  std::vector<std::pair<std::string, HoldMeta>> out;
  auto keys = redis_->Command({"ZRANGEBYLEX", HoldsKey(tenant),
                               after.empty() ? std::string("-") : absl::StrCat("(", after), "+",
                               "LIMIT", "0", std::to_string(max)});
  if (!keys.ok()) return keys.status();
  if (keys->elements.empty()) return out;
  std::vector<std::vector<std::string>> cmds;
  for (const auto& k : keys->elements) {
    cmds.push_back({"HGETALL", HoldKey(tenant, RecordingStore::IdOfListKey(k.str))});
  }
  auto r = redis_->Pipeline(cmds);
  if (!r.ok()) return r.status();
  for (size_t i = 0; i < cmds.size(); ++i) {
    const std::string& key = keys->elements[i].str;
    auto h = ParseHold(tenant, RecordingStore::IdOfListKey(key), (*r)[i]);
    if (h.ok()) out.emplace_back(key, *std::move(h));
  }
  return out;
}

absl::StatusOr<RecordingStore::DeleteVerdict> RedisRecordingStore::BeginDelete(
    const RecordingRef& ref, DeleteCause cause, absl::Time now, const ChainDraft& deleted,
    const Events& events) {
  // The selector sets of the recording (its call, contact and campaign
  // never change after the start).
  auto fields = redis_->Command({"HMGET", RecordingKey(ref), "call", "contact", "campaign"});
  if (!fields.ok()) return fields.status();
  DeleteVerdict out;
  if (fields->elements.size() != 3 || fields->elements[0].is_nil()) return out;  // gone
  RecordingMeta m;
  m.ref = ref;
  m.call_id = fields->elements[0].str;
  m.contact = fields->elements[1].str;
  m.campaign = fields->elements[2].str;
  std::vector<std::string> keys = {RecordingKey(ref), UsageKey(ref.tenant), ExpiryKey(ref.tenant),
                                   DeletingKey(ref.tenant)};
  for (const auto& [scope, target] : HoldSelectorsOf(m)) {
    keys.push_back(HoldOnKey(ref.tenant, scope, target));
  }
  while (keys.size() < 8) keys.push_back(keys[4]);
  keys.push_back(DayKey(ref.tenant, now));
  keys.push_back(TotalsKey(ref.tenant));
  std::vector<std::string> args = {ref.id, cause == DeleteCause::kRetention ? "retention" : "erasure",
                                   Ms(now)};
  events::AppendEnvelopeRecords(events, args);
  auto r = EvalChained(Chained(lua::kBeginDelete), ref.tenant, &deleted, keys, args);
  if (!r.ok()) return ScriptError(r.status(), "deleting the recording");
  const std::string verdict = r->elements.empty() ? r->str : r->elements[0].str;
  using K = DeleteVerdict::Kind;
  if (verdict == "ok") out.kind = K::kDeleted;
  else if (verdict == "uploading") out.kind = K::kUploading;
  else if (verdict == "notdue") out.kind = K::kNotDue;
  else if (verdict == "held") {
    out.kind = K::kHeld;
    for (size_t i = 1; i < r->elements.size(); ++i) out.holds.push_back(r->elements[i].str);
    std::sort(out.holds.begin(), out.holds.end());
  } else out.kind = K::kGone;
  return out;
}

absl::Status RedisRecordingStore::FinishDelete(const RecordingRef& ref) {
  static const redis::Script* script = new redis::Script(lua::kFinishDelete);
  auto r = redis_->Eval(*script,
                        {RecordingKey(ref), GapsKey(ref), IndexKey(ref.tenant),
                         DeletingKey(ref.tenant)},
                        {ref.id, Tag(ref.tenant)});
  if (!r.ok()) return ScriptError(r.status(), "removing the deleted recording's metadata");
  if (r->str == "live") return absl::InternalError("the recording's deletion was not begun");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisRecordingStore::Deleting(absl::string_view tenant,
                                                                       int max) {
  auto r = redis_->Command({"ZRANGE", DeletingKey(tenant), "0", std::to_string(max - 1)});
  if (!r.ok()) return r.status();
  return Strings(*r);
}

absl::StatusOr<std::vector<std::string>> RedisRecordingStore::Expired(absl::string_view tenant,
                                                                      absl::Time now, int max) {
  auto r = redis_->Command({"ZRANGEBYSCORE", ExpiryKey(tenant), "-inf",
                            std::to_string(absl::ToUnixMillis(now)), "LIMIT", "0",
                            std::to_string(max)});
  if (!r.ok()) return r.status();
  return Strings(*r);
}

absl::Status RedisRecordingStore::PostponeExpiry(const RecordingRef& ref, absl::Time when) {
  // XX: only while it is in the index (a deletion meanwhile took it out).
  auto r = redis_->Command({"ZADD", ExpiryKey(ref.tenant), "XX",
                            std::to_string(absl::ToUnixMillis(when)), ref.id});
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<std::vector<std::string>> RedisRecordingStore::OfContact(
    absl::string_view tenant, absl::string_view contact) {
  auto r = redis_->Command({"SMEMBERS", ContactKey(tenant, contact)});
  if (!r.ok()) return r.status();
  auto out = Strings(*r);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dialgrid::recording
