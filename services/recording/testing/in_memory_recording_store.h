#pragma once

// In-memory fakes of the recording vault's ports, for logic tests without
// Redis or a disk: the store (the same rules as the Lua scripts), a blob
// store that can be told to fail like a full disk, and a fixed key ring.

#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
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
    Chain(meta.ref.tenant, created);
    published_ += events.size();
    return meta.ref.id;
  }
  absl::StatusOr<RecordingMeta> Get(const RecordingRef& ref) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    return it->second;
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
  absl::Status OpenUpload(const RecordingRef& ref, absl::Time) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    if (it->second.upload != kUploadNone) return FailedPrecondition("UPLOAD_EXISTS", "busy");
    if (it->second.state == kStateStopped || it->second.state == kStateIncomplete) {
      return FailedPrecondition("RECORDING_STOPPED", "stopped");
    }
    it->second.upload = kUploadOpen;
    return absl::OkStatus();
  }
  absl::StatusOr<ChunkVerdict> Chunk(const RecordingRef& ref, int64_t seq, int64_t bytes,
                                     int64_t max_usage) override {
    std::lock_guard<std::mutex> lock(mu_);
    using K = ChunkVerdict::Kind;
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return ChunkVerdict{K::kGone, 0};
    RecordingMeta& m = it->second;
    if (m.upload != kUploadOpen) return ChunkVerdict{K::kClosed, 0};
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
    return ChunkVerdict{K::kStored, 0};
  }
  absl::Status FinishUpload(const RecordingRef& ref, const UploadOutcome& o, absl::Time now,
                            const ChainDraft* stored, const Events& events) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recs_.find(Key(ref));
    if (it == recs_.end()) return NotFound("RECORDING_NOT_FOUND", "no such recording");
    RecordingMeta& m = it->second;
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

  size_t published() {
    std::lock_guard<std::mutex> lock(mu_);
    return published_;
  }

 private:
  static std::string Key(const RecordingRef& r) { return absl::StrCat(r.tenant, "/", r.id); }
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
  size_t published_ = 0;
};

// Blobs in memory; `capacity` bytes in all (a full "disk" fails the write
// that does not fit with STORAGE_FULL, like ENOSPC).
class InMemoryBlobStore final : public BlobStore {
 public:
  explicit InMemoryBlobStore(int64_t capacity = int64_t{1} << 40) : capacity_(capacity) {}

  absl::StatusOr<std::unique_ptr<BlobWriter>> Create(const RecordingRef& ref) override {
    return std::unique_ptr<BlobWriter>(new Writer(*this, absl::StrCat(ref.tenant, "/", ref.id)));
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
    used_ -= static_cast<int64_t>(blobs_[absl::StrCat(ref.tenant, "/", ref.id)].size());
    blobs_.erase(absl::StrCat(ref.tenant, "/", ref.id));
    return absl::OkStatus();
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

 private:
  class Writer final : public BlobWriter {
   public:
    Writer(InMemoryBlobStore& s, std::string key) : s_(s), key_(std::move(key)) {}
    ~Writer() override { Abort(); }
    absl::Status Append(absl::string_view bytes) override {
      std::lock_guard<std::mutex> lock(s_.mu_);
      if (s_.used_ + static_cast<int64_t>(bytes.size()) > s_.capacity_) {
        return WithReason(absl::ResourceExhaustedError("no space left"), "STORAGE_FULL");
      }
      s_.used_ += static_cast<int64_t>(bytes.size());
      data_.append(bytes.data(), bytes.size());
      return absl::OkStatus();
    }
    absl::Status Commit() override {
      std::lock_guard<std::mutex> lock(s_.mu_);
      s_.blobs_[key_] = std::move(data_);
      data_.clear();
      committed_ = true;
      return absl::OkStatus();
    }
    void Abort() override {
      if (committed_) return;
      std::lock_guard<std::mutex> lock(s_.mu_);
      s_.used_ -= static_cast<int64_t>(data_.size());
      data_.clear();
    }

   private:
    InMemoryBlobStore& s_;
    std::string key_, data_;
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
  int64_t used_ = 0;
  std::map<std::string, std::string> blobs_;
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
