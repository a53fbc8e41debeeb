#pragma once

// In-memory fakes of the recording vault's ports, for logic tests without
// Redis or a disk: the store (the same rules as the Lua scripts), a blob
// store that can be told to fail like a full disk, and a fixed key ring.

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/request_ids.h"
#include "services/recording/ports/blob_store.h"
#include "services/recording/ports/key_ring.h"
#include "services/recording/ports/recording_store.h"

namespace dialgrid::recording::testing {

class InMemoryRecordingStore final : public RecordingStore {
 public:
  absl::StatusOr<std::string> Create(const RecordingMeta& meta, absl::string_view request_id,
                                     absl::string_view fingerprint, const ChainDraft& created,
                                     const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string req = absl::StrCat(meta.ref.tenant, "/", request_id);
    if (!request_id.empty() && requests_.count(req)) {
      if (requests_[req].first != fingerprint) return RequestIdReused();
      return requests_[req].second;
    }
    if (recs_.count(Key(meta.ref))) return AlreadyExists("RECORDING_EXISTS", "taken");
    recs_[Key(meta.ref)] = meta;
    char member[32];
    std::snprintf(member, sizeof member, "%013lld.", static_cast<long long>(absl::ToUnixMillis(meta.create_time)));
    index_[meta.ref.tenant].insert(absl::StrCat(member, meta.ref.id));
    if (!request_id.empty()) requests_[req] = {std::string(fingerprint), meta.ref.id};
    expiry_[Key(meta.ref)] = meta.expire_time;
    tenants_.insert(meta.ref.tenant);
    Count(meta.ref.tenant, meta.create_time, &UsageCounts::started, 1);
    ++totals_[meta.ref.tenant].recordings;
    Chain(meta.ref.tenant, created);
    published_ += events.size();
    return meta.ref.id;
  }
  absl::StatusOr<RecordingMeta> Get(const RecordingRef& ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end() || deleting_.count(Key(ref))) {
      return NotFound("RECORDING_NOT_FOUND", "no such recording");
    }
    RecordingMeta m = it->second;
    m.holds = HoldsOf(m);
    m.legal_hold = !m.holds.empty();
    return m;
  }
  absl::StatusOr<std::vector<RecordingMeta>> GetMany(absl::string_view tenant,
                                                     const std::vector<std::string>& ids) override {
    std::vector<RecordingMeta> out;
    for (const auto& id : ids) {
      auto m = Get(RecordingRef{std::string(tenant), id});
      if (m.ok()) out.push_back(*m);
    }
    return out;
  }
  absl::StatusOr<std::vector<std::string>> ListKeys(absl::string_view tenant,
                                                    absl::string_view after, int max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    const auto& idx = index_[std::string(tenant)];
    for (auto it = idx.upper_bound(std::string(after)); it != idx.end() && static_cast<int>(out.size()) < max; ++it) {
      out.push_back(*it);
    }
    return out;
  }
  absl::Status ApplyTransition(const RecordingRef& ref, Transition t,
                               absl::string_view expected_state, absl::Time now,
                               absl::string_view actor, absl::string_view reason,
                               const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    RecordingMeta& m = it->second;
    if (m.state != expected_state) return Aborted("STATE_CHANGED", "changed");
    if (t == Transition::kPause) {
      GapMeta g;
      g.start = now;
      g.audio_offset = m.accepted_bytes;
      g.paused_by = std::string(actor);
      g.reason = std::string(reason);
      m.gaps.push_back(g);
    } else if (m.state == kStatePaused) {
      m.gaps.back().end = now;
    }
    m.state = StateAfter(m, t);
    if (t == Transition::kStop && m.stop_time == absl::InfinitePast()) m.stop_time = now;
    published_ += events.size();
    return absl::OkStatus();
  }
  absl::Status OpenUpload(const RecordingRef& ref, absl::Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    if (it->second.upload != kUploadNone) return FailedPrecondition("UPLOAD_EXISTS", "busy");
    if (it->second.state == kStateStopped || it->second.state == kStateIncomplete) {
      return FailedPrecondition("RECORDING_STOPPED", "stopped");
    }
    it->second.upload = kUploadOpen;
    lease_[Key(ref)] = now;
    return absl::OkStatus();
  }
  absl::Status ResumeUpload(const RecordingRef& ref, absl::Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    RecordingMeta& m = it->second;
    if (m.upload == kUploadOpen || m.upload == kUploadSalvaging) {
      return FailedPrecondition("UPLOAD_EXISTS", "busy");
    }
    if (m.upload != kUploadDone || m.state != kStateIncomplete ||
        m.incomplete_reason != "STREAM_BROKEN") {
      return FailedPrecondition("UPLOAD_NOT_RESUMABLE", "not broken off");
    }
    if (m.stop_time != absl::InfinitePast()) return FailedPrecondition("RECORDING_STOPPED", "stopped");
    m.upload = kUploadOpen;
    m.state = kStateRecording;
    m.incomplete_reason.clear();
    lease_[Key(ref)] = now;
    return absl::OkStatus();
  }
  absl::StatusOr<ChunkVerdict> Chunk(const RecordingRef& ref, int64_t seq, int64_t bytes,
                                     int64_t max_usage, absl::Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    using K = ChunkVerdict::Kind;
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return ChunkVerdict{K::kGone, 0};
    RecordingMeta& m = it->second;
    if (m.upload != kUploadOpen) return ChunkVerdict{K::kClosed, 0};
    lease_[Key(ref)] = now;
    if (seq <= m.last_sequence) return ChunkVerdict{K::kDuplicate, 0};
    if (seq > m.last_sequence + 1) return ChunkVerdict{K::kOutOfOrder, m.last_sequence + 1};
    if (m.state == kStateStopped || m.state == kStateIncomplete) return ChunkVerdict{K::kStopped, 0};
    if (m.state == kStatePaused) {
      m.last_sequence = seq;
      m.discarded_bytes += bytes;
      m.gaps.back().discarded_bytes += bytes;
      return ChunkVerdict{K::kDiscarded, 0};
    }
    int64_t& usage = usage_[ref.tenant];
    if (max_usage >= 0 && usage + bytes > max_usage) return ChunkVerdict{K::kQuota, 0};
    m.last_sequence = seq;
    m.accepted_bytes += bytes;
    usage += bytes;
    Count(ref.tenant, now, &UsageCounts::ingested_bytes, bytes);
    return ChunkVerdict{K::kStored, 0};
  }
  absl::Status FinishUpload(const RecordingRef& ref, const UploadOutcome& o, absl::Time now,
                            const ChainDraft* stored, const Events& events,
                            absl::string_view expected) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    RecordingMeta& m = it->second;
    if (m.upload != expected) return FailedPrecondition("UPLOAD_CLOSED", "taken over");
    lease_.erase(Key(ref));
    auto ms = [&o](int64_t bytes) {
      return o.bytes_per_second > 0 ? bytes * 1000 / o.bytes_per_second : 0;
    };
    const bool first = finished_once_.insert(Key(ref)).second;
    if (o.stored && first) Count(ref.tenant, now, &UsageCounts::stored, 1);
    Count(ref.tenant, now, &UsageCounts::audio_ms,
          ms(o.audio_bytes) - (first ? 0 : ms(m.audio_bytes)));
    totals_[ref.tenant].stored_bytes += o.stored_bytes - (first ? 0 : m.stored_bytes);
    m.lost_bytes = o.lost_bytes;
    m.upload = o.stored ? kUploadDone : kUploadFailed;
    m.audio_bytes = o.audio_bytes;
    m.stored_bytes = o.stored_bytes;
    m.segments = o.segments;
    m.sha256 = o.sha256;
    m.file_sha256 = o.file_sha256;
    if (!o.incomplete_reason.empty()) {
      if (m.state == kStatePaused) m.gaps.back().end = now;
      m.state = kStateIncomplete;
      m.incomplete_reason = o.incomplete_reason;
    }
    usage_[ref.tenant] += o.usage_delta;
    if (stored != nullptr) Chain(ref.tenant, *stored);
    published_ += events.size();
    return absl::OkStatus();
  }
  absl::Status AppendChain(absl::string_view tenant, const ChainDraft& entry,
                           const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    Chain(std::string(tenant), entry);
    published_ += events.size();
    return absl::OkStatus();
  }
  absl::StatusOr<ChainSnapshot> ReadChain(absl::string_view tenant) override {
    std::lock_guard<std::mutex> lock(mu_);
    return chains_[std::string(tenant)];
  }
  absl::Status Publish(absl::string_view, const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    published_ += events.size();
    return absl::OkStatus();
  }
  absl::Status Rewrap(const RecordingRef& ref, absl::string_view old_key_id,
                      absl::string_view new_key_id, absl::string_view wrapped) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    if (it->second.key_id != old_key_id) return Aborted("STATE_CHANGED", "changed");
    it->second.key_id = std::string(new_key_id);
    it->second.wrapped_key = std::string(wrapped);
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> Usage(absl::string_view tenant) override {
    std::lock_guard<std::mutex> lock(mu_);
    return usage_[std::string(tenant)];
  }

  absl::StatusOr<UsageCounts> UsageOfDays(absl::string_view tenant, absl::CivilDay first,
                                          absl::CivilDay last) override {
    std::lock_guard<std::mutex> lock(mu_);
    UsageCounts out;
    for (const auto& [day, c] : days_[std::string(tenant)]) {
      if (day < first || day > last) continue;
      out.started += c.started;
      out.stored += c.stored;
      out.audio_ms += c.audio_ms;
      out.ingested_bytes += c.ingested_bytes;
      out.purged += c.purged;
      out.erased += c.erased;
    }
    return out;
  }
  absl::StatusOr<UsageNow> UsageTotals(absl::string_view tenant) override {
    std::lock_guard<std::mutex> lock(mu_);
    return totals_[std::string(tenant)];
  }
  absl::Status RenewLease(const RecordingRef& ref, absl::Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it != recs_.end() && it->second.upload == kUploadOpen) lease_[Key(ref)] = now;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> StaleUploads(absl::string_view tenant,
                                                        absl::Time before, int max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [key, at] : lease_) {
      auto it = recs_.find(key);
      if (it == recs_.end() || it->second.ref.tenant != tenant || at >= before) continue;
      if (static_cast<int>(out.size()) < max) out.push_back(it->second.ref.id);
    }
    return out;
  }
  absl::StatusOr<bool> ClaimStaleUpload(const RecordingRef& ref, absl::Time before,
                                        absl::Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end() || (it->second.upload != kUploadOpen &&
                              it->second.upload != kUploadSalvaging)) {
      lease_.erase(Key(ref));
      return false;
    }
    if (lease_[Key(ref)] >= before) return false;
    it->second.upload = kUploadSalvaging;
    lease_[Key(ref)] = now;
    return true;
  }
  absl::StatusOr<std::vector<std::string>> Tenants() override {
    std::lock_guard<std::mutex> lock(mu_);
    return std::vector<std::string>(tenants_.begin(), tenants_.end());
  }
  absl::Status PutRetention(absl::string_view tenant, const RetentionMeta& p,
                            const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    retention_[absl::StrCat(tenant, "/", p.scope)] = p;
    published_ += events.size();
    return absl::OkStatus();
  }
  absl::StatusOr<RetentionMeta> GetRetention(absl::string_view tenant,
                                             absl::string_view scope) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = retention_.find(absl::StrCat(tenant, "/", scope));
    if (it == retention_.end()) return absl::NotFoundError("not set");
    return it->second;
  }
  absl::StatusOr<std::string> PlaceHold(const HoldMeta& h, absl::string_view request_id,
                                        absl::string_view fingerprint, const ChainDraft& held,
                                        const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string req = absl::StrCat(h.tenant, "/hold/", request_id);
    if (!request_id.empty() && requests_.count(req)) {
      if (requests_[req].first != fingerprint) return RequestIdReused();
      return requests_[req].second;
    }
    std::string key = absl::StrCat(h.tenant, "/", h.id);
    if (holds_.count(key)) return AlreadyExists("HOLD_EXISTS", "taken");
    holds_[key] = h;
    char member[32];
    std::snprintf(member, sizeof member, "%013lld.",
                  static_cast<long long>(absl::ToUnixMillis(h.create_time)));
    hold_index_[h.tenant].insert(absl::StrCat(member, h.id));
    if (!request_id.empty()) requests_[req] = {std::string(fingerprint), h.id};
    ++totals_[h.tenant].active_holds;
    Chain(h.tenant, held);
    published_ += events.size();
    return h.id;
  }
  absl::StatusOr<bool> ReleaseHold(absl::string_view tenant, absl::string_view id, absl::Time now,
                                   absl::string_view actor, absl::string_view reason,
                                   const ChainDraft& released, const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = holds_.find(absl::StrCat(tenant, "/", id));
    if (it == holds_.end()) return NotFound("HOLD_NOT_FOUND", "no such hold");
    if (it->second.released) return false;
    it->second.released = true;
    it->second.release_time = now;
    it->second.released_by = std::string(actor);
    it->second.release_reason = std::string(reason);
    --totals_[std::string(tenant)].active_holds;
    Chain(std::string(tenant), released);
    published_ += events.size();
    return true;
  }
  absl::StatusOr<HoldMeta> GetHold(absl::string_view tenant, absl::string_view id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = holds_.find(absl::StrCat(tenant, "/", id));
    if (it == holds_.end()) return NotFound("HOLD_NOT_FOUND", "no such hold");
    return it->second;
  }
  absl::StatusOr<std::vector<std::pair<std::string, HoldMeta>>> ListHolds(
      absl::string_view tenant, absl::string_view after, int max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<std::string, HoldMeta>> out;
    const auto& idx = hold_index_[std::string(tenant)];
    for (auto it = idx.upper_bound(std::string(after));
         it != idx.end() && static_cast<int>(out.size()) < max; ++it) {
      out.emplace_back(*it, holds_[absl::StrCat(tenant, "/", IdOfListKey(*it))]);
    }
    return out;
  }
  absl::StatusOr<DeleteVerdict> BeginDelete(const RecordingRef& ref, DeleteCause cause,
                                            absl::Time now, const ChainDraft& deleted,
                                            const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    using K = DeleteVerdict::Kind;
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) {
      expiry_.erase(Key(ref));
      return DeleteVerdict{K::kGone, {}};
    }
    if (deleting_.count(Key(ref))) return DeleteVerdict{K::kGone, {}};
    const RecordingMeta& m = it->second;
    if (m.upload == kUploadOpen || m.upload == kUploadSalvaging) {
      return DeleteVerdict{K::kUploading, {}};
    }
    if (cause == DeleteCause::kRetention && m.expire_time > now) return DeleteVerdict{K::kNotDue, {}};
    std::vector<std::string> holds = HoldsOf(m);
    if (!holds.empty()) {
      if (cause == DeleteCause::kRetention && held_kept_.insert(Key(ref)).second) {
        ++totals_[ref.tenant].held_past_retention;
      }
      return DeleteVerdict{K::kHeld, holds};
    }
    if (m.upload == kUploadDone) usage_[ref.tenant] -= m.stored_bytes;
    Count(ref.tenant, now,
          cause == DeleteCause::kRetention ? &UsageCounts::purged : &UsageCounts::erased, 1);
    UsageNow& totals = totals_[ref.tenant];
    --totals.recordings;
    totals.stored_bytes -= m.stored_bytes;
    if (held_kept_.erase(Key(ref)) > 0) --totals.held_past_retention;
    expiry_.erase(Key(ref));
    deleting_.insert(Key(ref));
    Chain(ref.tenant, deleted);
    published_ += events.size();
    return DeleteVerdict{K::kDeleted, {}};
  }
  absl::Status FinishDelete(const RecordingRef& ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it != recs_.end()) {
      if (!deleting_.count(Key(ref))) return absl::InternalError("not being deleted");
      char member[32];
      std::snprintf(member, sizeof member, "%013lld.",
                    static_cast<long long>(absl::ToUnixMillis(it->second.create_time)));
      index_[ref.tenant].erase(absl::StrCat(member, ref.id));
      recs_.erase(it);
    }
    deleting_.erase(Key(ref));
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> Deleting(absl::string_view tenant, int max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& key : deleting_) {
      if (key.rfind(absl::StrCat(tenant, "/"), 0) == 0 && static_cast<int>(out.size()) < max) {
        out.push_back(key.substr(tenant.size() + 1));
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<std::string>> Expired(absl::string_view tenant, absl::Time now,
                                                   int max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<absl::Time, std::string>> due;
    for (const auto& [key, at] : expiry_) {
      if (key.rfind(absl::StrCat(tenant, "/"), 0) == 0 && at <= now) {
        due.emplace_back(at, key.substr(tenant.size() + 1));
      }
    }
    std::sort(due.begin(), due.end());
    std::vector<std::string> out;
    for (const auto& d : due) {
      if (static_cast<int>(out.size()) < max) out.push_back(d.second);
    }
    return out;
  }
  absl::Status PostponeExpiry(const RecordingRef& ref, absl::Time when) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = expiry_.find(Key(ref));
    if (it != expiry_.end()) it->second = when;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> OfContact(absl::string_view tenant,
                                                     absl::string_view contact) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [key, m] : recs_) {
      if (m.ref.tenant == tenant && m.contact == contact) out.push_back(m.ref.id);
    }
    return out;
  }

  // Tests: a replica that died mid-deletion (begun, not finished).
  size_t deleting() {
    std::lock_guard<std::mutex> lock(mu_);
    return deleting_.size();
  }
  size_t published() {
    std::lock_guard<std::mutex> lock(mu_);
    return published_;
  }

 private:
  static std::string Key(const RecordingRef& r) { return absl::StrCat(r.tenant, "/", r.id); }
  // Active holds covering `m` (mu_ held).
  std::vector<std::string> HoldsOf(const RecordingMeta& m) {
    std::vector<std::string> out;
    for (const auto& [key, h] : holds_) {
      if (h.released || h.tenant != m.ref.tenant) continue;
      for (const auto& [scope, target] : HoldSelectorsOf(m)) {
        if (h.scope == scope && h.target == target) {
          out.push_back(h.id);
          break;
        }
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Adds `n` to a counter of the tenant's UTC day of `t` and to its totals.
  void Count(const std::string& tenant, absl::Time t, int64_t UsageCounts::*field, int64_t n) {
    days_[tenant][absl::ToCivilDay(t, absl::UTCTimeZone())].*field += n;
    totals_[tenant].all_time.*field += n;
  }
  void Chain(const std::string& tenant, const ChainDraft& d) {
    ChainSnapshot& c = chains_[tenant];
    std::string prev = c.head_hash.empty() ? std::string(kChainGenesis) : c.head_hash;
    c.records.push_back(ChainRecord(d, c.head_seq + 1, prev));
    c.head_hash = HashOfRecord(c.records.back());
    ++c.head_seq;
  }

  std::mutex mu_;
  std::map<std::string, RecordingMeta> recs_;
  std::map<std::string, std::set<std::string>> index_;
  std::map<std::string, std::pair<std::string, std::string>> requests_;
  std::map<std::string, ChainSnapshot> chains_;
  std::map<std::string, int64_t> usage_;
  std::map<std::string, std::map<absl::CivilDay, UsageCounts>> days_;
  std::map<std::string, UsageNow> totals_;
  std::set<std::string> finished_once_, held_kept_;
  std::map<std::string, absl::Time> expiry_, lease_;
  std::set<std::string> deleting_, tenants_;
  std::map<std::string, RetentionMeta> retention_;
  std::map<std::string, HoldMeta> holds_;
  std::map<std::string, std::set<std::string>> hold_index_;
  size_t published_ = 0;
};

// Blobs in memory; `capacity` bytes in all (a full "disk" fails the write
// that does not fit with STORAGE_FULL, like ENOSPC). Blobs being written are
// visible as partials (dated by `clock`, when given) until committed or
// aborted; DropWriters() makes the open writers forget theirs, as a process
// killed mid-write leaves its temporary file behind.
class InMemoryBlobStore final : public BlobStore {
 public:
  explicit InMemoryBlobStore(int64_t capacity = int64_t{1} << 40, const Clock* clock = nullptr)
      : capacity_(capacity), clock_(clock) {}

  absl::StatusOr<std::unique_ptr<BlobWriter>> Create(const RecordingRef& ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string tmp = absl::StrCat(ref.tenant, "/", ref.id, "#", ++next_partial_);
    partials_[tmp] = Partial{ref, "", Now()};
    return std::unique_ptr<BlobWriter>(
        new Writer(*this, absl::StrCat(ref.tenant, "/", ref.id), tmp, generation_));
  }
  absl::StatusOr<std::unique_ptr<BlobReader>> Open(const RecordingRef& ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blobs_.find(absl::StrCat(ref.tenant, "/", ref.id));
    if (it == blobs_.end()) {
      return WithReason(absl::DataLossError("missing"), "BLOB_MISSING");
    }
    return std::unique_ptr<BlobReader>(new Reader(it->second));
  }
  absl::Status Delete(const RecordingRef& ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blobs_.find(absl::StrCat(ref.tenant, "/", ref.id));
    if (it == blobs_.end()) return absl::OkStatus();
    used_ -= static_cast<int64_t>(it->second.size());
    blobs_.erase(it);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<PartialBlob>> ListPartials(const RecordingRef* ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<PartialBlob> out;
    for (const auto& [key, p] : partials_) {
      if (ref != nullptr && !(p.ref == *ref)) continue;
      out.push_back(PartialBlob{p.ref, key, p.modified, static_cast<int64_t>(p.data.size())});
    }
    return out;
  }
  absl::StatusOr<std::unique_ptr<BlobReader>> OpenPartial(const PartialBlob& partial) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partials_.find(partial.key);
    if (it == partials_.end()) return WithReason(absl::DataLossError("missing"), "BLOB_MISSING");
    return std::unique_ptr<BlobReader>(new Reader(it->second.data));
  }
  absl::Status DeletePartial(const PartialBlob& partial) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partials_.find(partial.key);
    if (it == partials_.end()) return absl::OkStatus();
    used_ -= static_cast<int64_t>(it->second.data.size());
    partials_.erase(it);
    return absl::OkStatus();
  }

  // The writers open now stop touching their partials (a killed process).
  void DropWriters() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  // Committed blobs plus bytes held by writers.
  int64_t used() {
    std::lock_guard<std::mutex> lock(mu_);
    return used_;
  }
  size_t blobs() {
    std::lock_guard<std::mutex> lock(mu_);
    return blobs_.size();
  }
  size_t partials() {
    std::lock_guard<std::mutex> lock(mu_);
    return partials_.size();
  }

 private:
  struct Partial {
    RecordingRef ref;
    std::string data;
    absl::Time modified;
  };
  absl::Time Now() const { return clock_ != nullptr ? clock_->Now() : absl::Now(); }

  class Writer final : public BlobWriter {
   public:
    Writer(InMemoryBlobStore& s, std::string key, std::string tmp, int generation)
        : s_(s), key_(std::move(key)), tmp_(std::move(tmp)), generation_(generation) {}
    ~Writer() override { Abort(); }
    absl::Status Append(absl::string_view bytes) override {
      std::lock_guard<std::mutex> lock(s_.mu_);
      if (generation_ != s_.generation_) return absl::OkStatus();  // "dead"
      if (s_.used_ + static_cast<int64_t>(bytes.size()) > s_.capacity_) {
        return WithReason(absl::ResourceExhaustedError("no space left"), "STORAGE_FULL");
      }
      auto it = s_.partials_.find(tmp_);
      if (it == s_.partials_.end()) return absl::UnavailableError("the partial is gone");
      s_.used_ += static_cast<int64_t>(bytes.size());
      it->second.data.append(bytes.data(), bytes.size());
      it->second.modified = s_.Now();
      return absl::OkStatus();
    }
    absl::Status Commit() override { return Finish(false); }
    absl::Status Replace() override { return Finish(true); }
    absl::Status Finish(bool replace) {
      std::lock_guard<std::mutex> lock(s_.mu_);
      auto it = s_.partials_.find(tmp_);
      if (it == s_.partials_.end()) return absl::UnavailableError("the partial is gone");
      auto old = s_.blobs_.find(key_);
      if (old != s_.blobs_.end()) {
        if (!replace) return Unavailable("STORAGE_UNAVAILABLE", "exists");
        s_.used_ -= static_cast<int64_t>(old->second.size());
      }
      s_.blobs_[key_] = std::move(it->second.data);
      s_.partials_.erase(it);
      committed_ = true;
      return absl::OkStatus();
    }
    void Abort() override {
      if (committed_) return;
      std::lock_guard<std::mutex> lock(s_.mu_);
      if (generation_ != s_.generation_) return;  // a dead writer cleans nothing
      auto it = s_.partials_.find(tmp_);
      if (it == s_.partials_.end()) return;
      s_.used_ -= static_cast<int64_t>(it->second.data.size());
      s_.partials_.erase(it);
    }

   private:
    InMemoryBlobStore& s_;
    std::string key_, tmp_;
    int generation_;
    bool committed_ = false;
  };
  class Reader final : public BlobReader {
   public:
    explicit Reader(std::string data) : data_(std::move(data)) {}
    int64_t Size() const override { return static_cast<int64_t>(data_.size()); }
    absl::StatusOr<std::string> ReadAt(int64_t offset, int64_t length) override {
      if (offset >= Size()) return std::string();
      return data_.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
    }

   private:
    std::string data_;
  };

  std::mutex mu_;
  int64_t capacity_;
  const Clock* clock_;
  int64_t used_ = 0;
  int generation_ = 0;
  int64_t next_partial_ = 0;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, Partial> partials_;
};

// One key per tenant, made up on first use.
class FixedKeyRing final : public KeyRing {
 public:
  absl::StatusOr<Kek> Current(absl::string_view tenant) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto& k = keys_[std::string(tenant)];
    if (k.empty()) k = SecretKey::Random();
    return Kek{"k1", k};
  }
  absl::StatusOr<SecretKey> Get(absl::string_view tenant, absl::string_view id) override {
    if (id != "k1") return FailedPrecondition("KEK_MISSING", "no such key");
    auto k = Current(tenant);
    if (!k.ok()) return k.status();
    return k->key;
  }

 private:
  std::mutex mu_;
  std::map<std::string, SecretKey> keys_;
};

}  // namespace dialgrid::recording::testing
