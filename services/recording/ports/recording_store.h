#pragma once

// Where recordings' metadata and the tenant's hash chain live. Every write
// is one atomic step in the tenant's slot with its events (the outbox) and,
// where it records a fact in the chain, its chain entry: the store links the
// entry to the chain's head as it finds it (and tries again if another
// entry came first), so the chain has no forks.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/recording/domain/hash_chain.h"
#include "services/recording/domain/recording.h"

namespace dialgrid::recording {

using Events = std::vector<event::v1::Envelope>;

// The store's answer to one audio chunk.
struct ChunkVerdict {
  enum class Kind {
    kStored,      // take it in
    kDiscarded,   // paused: drop the audio (sequence advanced)
    kDuplicate,   // already received: ignore
    kOutOfOrder,  // a chunk before it is missing (`expected` is the next one)
    kStopped,     // the recording stopped
    kQuota,       // the tenant's storage quota is used up
    kClosed,      // no upload is open (another stream's or ended)
    kGone,        // the recording does not exist
  };
  Kind kind = Kind::kGone;
  int64_t expected = 0;
};

// How an upload ended.
struct UploadOutcome {
  bool stored = true;  // false: nothing stored (e.g. the disk was full)
  // Non-empty: the recording becomes INCOMPLETE with this reason.
  std::string incomplete_reason;
  int64_t audio_bytes = 0, stored_bytes = 0, segments = 0;
  std::string sha256, file_sha256;
  // Change of the tenant's storage usage (file size minus the audio bytes
  // counted per chunk; minus all of them when nothing was stored).
  int64_t usage_delta = 0;
  // Audio received but not stored (a lost replica's unsealed tail).
  int64_t lost_bytes = 0;
  // The recording's format's bytes per second: the usage counters' recorded
  // audio (milliseconds) changes by duration(audio_bytes) minus the
  // duration the recording had (a resumed upload counts what it added).
  int64_t bytes_per_second = 0;
};

// A tenant's usage counters for billing (README "Usage"), kept per UTC day
// and in all, each changed in the same atomic write as what it counts.
struct UsageCounts {
  int64_t started = 0;         // recordings started
  int64_t stored = 0;          // recordings whose audio was stored (first upload that stored)
  int64_t audio_ms = 0;        // recorded audio stored, milliseconds
  int64_t ingested_bytes = 0;  // audio bytes taken in (stored chunks, plaintext)
  int64_t purged = 0;          // recordings deleted by the retention purge
  int64_t erased = 0;          // recordings deleted by erasure requests
};
// The tenant's usage now.
struct UsageNow {
  int64_t recordings = 0;    // started and not deleted
  int64_t stored_bytes = 0;  // encrypted files at rest (their sizes)
  int64_t active_holds = 0;  // legal holds placed and not released
  // Recordings past their retention kept by a legal hold (found by the
  // purge; no longer counted once deleted).
  int64_t held_past_retention = 0;
  UsageCounts all_time;
};

// The tenant's chain as stored, and its head.
struct ChainSnapshot {
  std::vector<std::string> records;
  std::string head_hash;
  int64_t head_seq = 0;
};

class RecordingStore {
 public:
  virtual ~RecordingStore() = default;

  // Creates `meta` (its ref.id is free) with its creation entry and events.
  // With a request id: a retry with the same `fingerprint` returns the id the
  // first call created (and writes nothing); another request with the same
  // id is ALREADY_EXISTS REQUEST_ID_REUSED. Returns the recording's id.
  virtual absl::StatusOr<std::string> Create(const RecordingMeta& meta,
                                             absl::string_view request_id,
                                             absl::string_view fingerprint,
                                             const ChainDraft& created, const Events& events) = 0;
  // NOT_FOUND RECORDING_NOT_FOUND when it does not exist.
  virtual absl::StatusOr<RecordingMeta> Get(const RecordingRef& ref) = 0;
  // The recordings of `ids` that exist, in order.
  virtual absl::StatusOr<std::vector<RecordingMeta>> GetMany(absl::string_view tenant,
                                                             const std::vector<std::string>& ids) = 0;
  // Up to `max` list keys of the tenant's recordings after `after` ("" from
  // the first), oldest first; IdOfListKey gives the id.
  virtual absl::StatusOr<std::vector<std::string>> ListKeys(absl::string_view tenant,
                                                            absl::string_view after, int max) = 0;
  static std::string IdOfListKey(absl::string_view key) {
    size_t dot = key.find('.');
    return std::string(dot == absl::string_view::npos ? key : key.substr(dot + 1));
  }

  // Pause, resume or stop, if the state is still `expected_state` (ABORTED
  // STATE_CHANGED otherwise, nothing written). A pause opens a gap at the
  // audio taken in so far, with `actor` and `reason`; resume and stop close it.
  virtual absl::Status ApplyTransition(const RecordingRef& ref, Transition t,
                                       absl::string_view expected_state, absl::Time now,
                                       absl::string_view actor, absl::string_view reason,
                                       const Events& events) = 0;

  // Opens the recording's one upload. FAILED_PRECONDITION UPLOAD_EXISTS when
  // one was opened before, RECORDING_STOPPED when it stopped or is
  // INCOMPLETE; NOT_FOUND.
  virtual absl::Status OpenUpload(const RecordingRef& ref, absl::Time now) = 0;
  // Opens an upload again after a stream that broke off: the recording is
  // INCOMPLETE with reason STREAM_BROKEN, its upload ended (`done`) and it
  // was not stopped. It becomes RECORDING with the upload open (lease at
  // `now`); its sequence goes on from `last_sequence`. FAILED_PRECONDITION
  // UPLOAD_EXISTS while an upload is open (or being salvaged),
  // RECORDING_STOPPED after StopRecording, UPLOAD_NOT_RESUMABLE otherwise
  // (nothing written); NOT_FOUND.
  virtual absl::Status ResumeUpload(const RecordingRef& ref, absl::Time now) = 0;
  // Decides on chunk `sequence` of `bytes` audio bytes; counts stored bytes
  // against the tenant's usage, which may not pass `max_usage` (< 0: no limit).
  // Each chunk renews the upload's lease (at `now`).
  virtual absl::StatusOr<ChunkVerdict> Chunk(const RecordingRef& ref, int64_t sequence,
                                             int64_t bytes, int64_t max_usage,
                                             absl::Time now) = 0;
  // Ends the upload with `outcome`, its chain entry (`stored`, when
  // something was stored) and events, if the upload is still `expected`
  // (kUploadOpen for the stream's own end, kUploadSalvaging for the sweep):
  // FAILED_PRECONDITION UPLOAD_CLOSED otherwise (the sweep took it over),
  // nothing written.
  virtual absl::Status FinishUpload(const RecordingRef& ref, const UploadOutcome& outcome,
                                    absl::Time now, const ChainDraft* stored,
                                    const Events& events,
                                    absl::string_view expected = kUploadOpen) = 0;
  // Renews the lease of an open upload (the heartbeat of the replica
  // taking it); nothing when it is not open.
  virtual absl::Status RenewLease(const RecordingRef& ref, absl::Time now) = 0;
  // Up to `max` ids of uploads (open, or being salvaged) whose lease was
  // last renewed before `before`: their replica is presumed lost.
  virtual absl::StatusOr<std::vector<std::string>> StaleUploads(absl::string_view tenant,
                                                                absl::Time before, int max) = 0;
  // Takes a stale upload over for salvage: if its lease is still before
  // `before`, it becomes kUploadSalvaging with the lease renewed at `now`
  // (true); false when it is not stale any more or not open.
  virtual absl::StatusOr<bool> ClaimStaleUpload(const RecordingRef& ref, absl::Time before,
                                                absl::Time now) = 0;

  // Appends one chain entry (e.g. an access) with events.
  virtual absl::Status AppendChain(absl::string_view tenant, const ChainDraft& entry,
                                   const Events& events) = 0;
  virtual absl::StatusOr<ChainSnapshot> ReadChain(absl::string_view tenant) = 0;
  // Only events (e.g. the audit of a metadata read), into the tenant's outbox.
  virtual absl::Status Publish(absl::string_view tenant, const Events& events) = 0;

  // Replaces the wrapped data key if it is still wrapped with `old_key_id`
  // (ABORTED STATE_CHANGED otherwise).
  virtual absl::Status Rewrap(const RecordingRef& ref, absl::string_view old_key_id,
                              absl::string_view new_key_id, absl::string_view wrapped) = 0;

  // Bytes of the tenant's storage quota in use.
  virtual absl::StatusOr<int64_t> Usage(absl::string_view tenant) = 0;
  // The usage counters of the UTC days `first` .. `last` (inclusive), summed.
  virtual absl::StatusOr<UsageCounts> UsageOfDays(absl::string_view tenant, absl::CivilDay first,
                                                  absl::CivilDay last) = 0;
  // The tenant's usage now, and its counters in all.
  virtual absl::StatusOr<UsageNow> UsageTotals(absl::string_view tenant) = 0;

  // The tenants that have (had) recordings, for the periodic jobs.
  virtual absl::StatusOr<std::vector<std::string>> Tenants() = 0;

  // Retention policies ("default" or a campaign id), with an event.
  virtual absl::Status PutRetention(absl::string_view tenant, const RetentionMeta& policy,
                                    const Events& events) = 0;
  // NOT_FOUND (no reason) when never set.
  virtual absl::StatusOr<RetentionMeta> GetRetention(absl::string_view tenant,
                                                     absl::string_view scope) = 0;

  // Legal holds. Places `hold` (its id is free) with its chain entry and
  // events; with a request id as Create (returns the first hold's id on a
  // replay). From then on the hold covers every recording matching it.
  virtual absl::StatusOr<std::string> PlaceHold(const HoldMeta& hold, absl::string_view request_id,
                                                absl::string_view fingerprint,
                                                const ChainDraft& held, const Events& events) = 0;
  // Releases an active hold with its chain entry and events; false (nothing
  // written) when it was released before. NOT_FOUND HOLD_NOT_FOUND.
  virtual absl::StatusOr<bool> ReleaseHold(absl::string_view tenant, absl::string_view id,
                                           absl::Time now, absl::string_view actor,
                                           absl::string_view reason, const ChainDraft& released,
                                           const Events& events) = 0;
  // NOT_FOUND HOLD_NOT_FOUND.
  virtual absl::StatusOr<HoldMeta> GetHold(absl::string_view tenant, absl::string_view id) = 0;
  // Up to `max` holds after list key `after`, oldest first, with their list keys.
  virtual absl::StatusOr<std::vector<std::pair<std::string, HoldMeta>>> ListHolds(
      absl::string_view tenant, absl::string_view after, int max) = 0;

  // Deletion, in three steps a re-run completes: BeginDelete decides and
  // records it (chain entry, events, storage usage given back; the
  // recording reads as gone from then on), the caller deletes the audio,
  // FinishDelete removes the metadata. Deletions begun and not finished are
  // listed by Deleting.
  struct DeleteVerdict {
    enum class Kind { kDeleted, kHeld, kNotDue, kUploading, kGone };
    Kind kind = Kind::kGone;
    std::vector<std::string> holds;  // kHeld: the holds covering it
  };
  // Deletes unless a hold covers it, the upload is open, or (retention) its
  // expire_time is after `now`.
  virtual absl::StatusOr<DeleteVerdict> BeginDelete(const RecordingRef& ref, DeleteCause cause,
                                                    absl::Time now, const ChainDraft& deleted,
                                                    const Events& events) = 0;
  virtual absl::Status FinishDelete(const RecordingRef& ref) = 0;
  virtual absl::StatusOr<std::vector<std::string>> Deleting(absl::string_view tenant, int max) = 0;
  // Up to `max` ids of recordings due for the purge at `now`: expired, and
  // not postponed past `now`.
  virtual absl::StatusOr<std::vector<std::string>> Expired(absl::string_view tenant,
                                                           absl::Time now, int max) = 0;
  // An expired recording the purge could not delete (held, uploading) is
  // due again at `when` (its expire_time is unchanged).
  virtual absl::Status PostponeExpiry(const RecordingRef& ref, absl::Time when) = 0;
  // The ids of a contact's recordings.
  virtual absl::StatusOr<std::vector<std::string>> OfContact(absl::string_view tenant,
                                                             absl::string_view contact) = 0;
};

}  // namespace dialgrid::recording
