#pragma once

// The recording vault's logic over its ports: starting recordings (a data
// key each, wrapped with the tenant's current key), pause/resume/stop,
// uploads (UploadSession: chunks in order into sealed segments, the file
// committed at the end), playback by byte range (authenticated segment by
// segment, audited first), verification of the hash chain against the
// stored files, and re-wrapping data keys after a key rotation; retention
// policies and the purge, legal holds, erasure requests, and the sweep of
// uploads whose replica was lost (with the heartbeat of this replica's own).

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "dialgrid/recording/v1/recording.pb.h"
#include "services/common/core/clock.h"
#include "services/recording/ports/blob_store.h"
#include "services/recording/ports/key_ring.h"
#include "services/recording/ports/recording_probe.h"
#include "services/recording/ports/recording_store.h"

namespace dialgrid::recording {

struct RecordingOptions {
  // The longest range GetRecordingUsage sums (UTC days).
  int max_usage_days = 400;
  std::string producer = "recording";  // events' producer
  // How long a recording is kept (its expire_time) unless held, when neither
  // its campaign nor its tenant has a retention policy.
  absl::Duration retention = absl::Hours(24 * 365);
  // The shortest and longest retention policy SetRetention takes.
  absl::Duration min_retention = absl::Hours(24);
  absl::Duration max_retention = absl::Hours(24 * 365 * 100);
  // Largest audio chunk taken.
  int64_t max_chunk_bytes = 1 << 20;
  // An upload whose lease was not renewed for this long (no chunk, no
  // heartbeat) belongs to a lost replica: the sweep salvages it.
  absl::Duration upload_lease = absl::Seconds(60);
  // An expired recording the purge had to keep (held, uploading) is looked
  // at again after this long.
  absl::Duration purge_recheck = absl::Hours(1);
  // Recordings per purge step (the purge goes on step by step).
  int purge_batch = 200;
  // Where the vault's metrics go; nullptr: nowhere.
  std::shared_ptr<RecordingProbe> probe;
};

// What a purge or sweep run did.
struct PurgeReport {
  int64_t deleted = 0;   // recordings purged
  int64_t kept = 0;      // expired but held (or uploading): looked at again later
  int64_t finished = 0;  // deletions an earlier run began and did not finish
};
struct SweepReport {
  int64_t salvaged = 0;  // lost uploads made INCOMPLETE (REPLICA_LOST)
};

// How an upload stream begins.
struct UploadStart {
  // AUDIO_CONTAINER_WAV: chunk 1 begins with a WAV header, checked against
  // the recording's format and not stored (domain/wav.h).
  v1::AudioContainer container = v1::AUDIO_CONTAINER_UNSPECIFIED;
  // Continue after a stream that broke off (STREAM_BROKEN): the stored
  // audio is authenticated and taken up again, chunks go on from
  // last_sequence + 1, the file is replaced at the end. On a recording
  // with no upload yet it opens one as usual.
  bool resume = false;
};

// Who makes a call, for the audit.
struct Actor {
  std::string credential;
  std::string request_id;
};

// How a recording or a legal hold is created, besides the request.
struct CreateOptions {
  // The id to give it; "": a random one. An id taken already by a recording
  // of the same call (by a hold of the same scope and target) is no error:
  // that one is returned as it is (the calls consumer names a call's
  // recording and hold after the call, domain/call_recording.h).
  std::string id;
};

class UploadSession;

class RecordingManager {
 public:
  RecordingManager(std::shared_ptr<RecordingStore> store, std::shared_ptr<BlobStore> blobs,
                   std::shared_ptr<KeyRing> keys, const Clock& clock, RecordingOptions options);

  absl::StatusOr<v1::Recording> Start(absl::string_view tenant, const v1::Recording& recording,
                                      absl::string_view request_id, const Actor& actor,
                                      const CreateOptions& create = {});
  absl::StatusOr<v1::Recording> Pause(const RecordingRef& ref, absl::string_view reason,
                                      const Actor& actor);
  absl::StatusOr<v1::Recording> Resume(const RecordingRef& ref, const Actor& actor);
  absl::StatusOr<v1::Recording> Stop(const RecordingRef& ref, const Actor& actor);
  // The metadata; the read is published as an audit event.
  absl::StatusOr<v1::Recording> Get(const RecordingRef& ref, const Actor& actor);
  // The vault's own reads of a recording and of a hold (e.g. the calls
  // consumer looking for what it did before): not audited, never published.
  // NOT_FOUND RECORDING_NOT_FOUND / HOLD_NOT_FOUND.
  absl::StatusOr<v1::Recording> Peek(const RecordingRef& ref);
  absl::StatusOr<v1::LegalHold> PeekHold(absl::string_view tenant, absl::string_view id);
  absl::StatusOr<v1::ListRecordingsResponse> List(absl::string_view tenant,
                                                  const v1::ListRecordingsRequest& req);

  // Opens the recording's upload; `max_usage` is the tenant's storage quota.
  absl::StatusOr<std::unique_ptr<UploadSession>> OpenUpload(const RecordingRef& ref,
                                                            int64_t max_usage, const Actor& actor,
                                                            UploadStart start = {});

  // Plays `length` bytes (0: to the end) from `offset` back, audited first
  // (chain entry and event), through `write` (one message per segment at
  // most, the first with the recording); `write` returning false ends it
  // (CANCELLED). DATA_LOSS AUDIO_TAMPERED as soon as a segment does not
  // authenticate: nothing unauthenticated is ever written. With
  // AUDIO_CONTAINER_WAV the first message carries a WAV header for the
  // bytes returned (`container_header`).
  absl::Status Download(const RecordingRef& ref, int64_t offset, int64_t length,
                        const Actor& actor,
                        const std::function<bool(v1::DownloadRecordingResponse&)>& write,
                        v1::AudioContainer container = v1::AUDIO_CONTAINER_UNSPECIFIED);

  absl::StatusOr<v1::VerifyRecordingsResponse> Verify(absl::string_view tenant, bool check_audio);
  absl::StatusOr<v1::RewrapDataKeysResponse> Rewrap(absl::string_view tenant);

  // Retention policies ("tenants/{t}/retentionPolicies/{default|campaign}").
  absl::StatusOr<v1::RetentionPolicy> SetRetention(const v1::RetentionPolicy& policy,
                                                   const Actor& actor);
  absl::StatusOr<v1::RetentionPolicy> GetRetention(absl::string_view name);

  // Legal holds.
  absl::StatusOr<v1::LegalHold> PlaceHold(absl::string_view tenant, const v1::LegalHold& hold,
                                          absl::string_view request_id, const Actor& actor,
                                          const CreateOptions& create = {});
  absl::StatusOr<v1::LegalHold> ReleaseHold(absl::string_view name, absl::string_view reason,
                                            const Actor& actor);
  absl::StatusOr<v1::ListHoldsResponse> ListHolds(absl::string_view tenant,
                                                  const v1::ListHoldsRequest& req);

  // An erasure request: deletes the contact's recordings no hold covers.
  absl::StatusOr<v1::EraseContactRecordingsResponse> EraseContact(absl::string_view tenant,
                                                                  absl::string_view contact,
                                                                  absl::string_view reason,
                                                                  const Actor& actor);

  // The tenant's usage for billing: the counters of the whole UTC days in
  // [start_time, end_time) of `req` (or in all when neither is set) and its
  // usage now. INVALID_ARGUMENT USAGE_RANGE_INVALID for any other range.
  absl::StatusOr<v1::RecordingUsage> Usage(absl::string_view tenant,
                                           const v1::GetRecordingUsageRequest& req);

  // The retention purge of one tenant, or of every tenant (the periodic
  // job; one tenant's failure does not stop the others: the first error is
  // returned after all were tried). Safe on several replicas at once.
  absl::StatusOr<PurgeReport> Purge(absl::string_view tenant);
  absl::StatusOr<PurgeReport> PurgeAll();
  // Salvages the uploads of lost replicas (lease expired).
  absl::StatusOr<SweepReport> SweepUploads();
  // Removes temporary files no upload writes any more (it lists the whole
  // store: run it seldom, e.g. with the purge). Returns how many.
  absl::StatusOr<int64_t> RemoveStalePartials();
  // The heartbeat: renews the leases of this replica's open uploads.
  void RenewLeases();
  // Bytes of storage in use by all tenants (the sum of their quota
  // counters), also handed to the probe (StorageBytes), with the sum of
  // the tenants' usage totals (UsageTotals).
  absl::StatusOr<int64_t> StorageInUse();

  static v1::Recording ToProto(const RecordingMeta& meta);
  static v1::LegalHold ToProto(const HoldMeta& hold);
  static std::string NameOf(const RecordingRef& ref);
  static std::string HoldName(absl::string_view tenant, absl::string_view id);
  // "tenants/{tenant}/recordings/{recording}" -> ref; INVALID_ARGUMENT.
  static absl::StatusOr<RecordingRef> ParseRecordingName(absl::string_view field,
                                                         absl::string_view name);

 private:
  friend class UploadSession;
  absl::StatusOr<v1::Recording> Move(const RecordingRef& ref, Transition t,
                                     absl::string_view reason, const Actor& actor);
  absl::StatusOr<SecretKey> DataKey(const RecordingMeta& meta);
  // Download, audited as `audit` (nullptr: the vault's own check).
  absl::Status Play(const RecordingRef& ref, int64_t offset, int64_t length, const Actor* audit,
                    const std::function<bool(v1::DownloadRecordingResponse&)>& write,
                    v1::AudioContainer container);
  event::v1::Envelope Event(const RecordingRef& ref, const google::protobuf::Message& payload);
  event::v1::Envelope Event(absl::string_view tenant, absl::string_view subject,
                            const google::protobuf::Message& payload);
  // All recordings of the tenant, oldest first.
  absl::StatusOr<std::vector<RecordingMeta>> All(absl::string_view tenant);
  // The retention that applies to a new recording of `campaign` ("" none).
  absl::StatusOr<absl::Duration> RetentionFor(absl::string_view tenant,
                                              absl::string_view campaign);
  // Begins deleting `m` (chain entry, event) and, when it may, finishes it.
  absl::StatusOr<RecordingStore::DeleteVerdict> Delete(const RecordingMeta& m, DeleteCause cause,
                                                       const Actor& actor);
  // Removes the audio, then the metadata, of a deletion begun.
  absl::Status FinishDelete(const RecordingRef& ref);
  // Salvages one stale upload; false when another sweep has it or it
  // was not stale any more.
  absl::StatusOr<bool> Salvage(const RecordingRef& ref);
  void Track(UploadSession* session);
  void Untrack(UploadSession* session);

  std::shared_ptr<RecordingStore> store_;
  std::shared_ptr<BlobStore> blobs_;
  std::shared_ptr<KeyRing> keys_;
  const Clock& clock_;
  RecordingOptions options_;
  std::mutex sessions_mu_;
  std::set<UploadSession*> sessions_;  // this replica's open uploads
};

// One recording's audio upload (one stream): chunks are taken in order,
// sealed into segments as they fill, and the file is committed by Finish.
class UploadSession {
 public:
  // Aborts the upload when Finish was not called (the file is removed).
  ~UploadSession();
  const RecordingRef& ref() const { return ref_; }

  // Takes chunk `sequence`. An error ends the upload: call Finish with it.
  // `arrived`: when the chunk reached the service (the chunk latency metric
  // counts from it; InfinitePast: from this call).
  absl::Status Feed(int64_t sequence, absl::string_view audio,
                    absl::Time arrived = absl::InfinitePast());
  // Ends the upload: `ended` OK when the client finished sending, otherwise
  // why the upload ends early: the recording becomes INCOMPLETE with what
  // was received (except for a chunk after the stop, RECORDING_STOPPED:
  // everything before the stop is there). What was received is stored
  // unless storing fails (STORAGE_FULL: nothing stored, INCOMPLETE).
  // Returns the recording as stored (the caller still answers the stream
  // with `ended` when that is an error), or why storing failed.
  absl::StatusOr<v1::UploadAudioResponse> Finish(const absl::Status& ended);

 private:
  friend class RecordingManager;
  UploadSession(RecordingManager& manager, RecordingRef ref, SecretKey key, int64_t max_usage,
                std::unique_ptr<BlobWriter> writer, Actor actor, int audio_format,
                bool wav_header);
  absl::Status Write(absl::string_view bytes);
  // Takes up the stored recording `m` again (resume): its whole segments
  // are authenticated and copied, the last one's audio goes back into the
  // buffer. DATA_LOSS AUDIO_TAMPERED when it does not authenticate.
  absl::Status Restore(const RecordingMeta& m);
  // Ends a session that never opened the upload: nothing is recorded.
  void Discard();
  // Feed without the metrics; `result` says what became of the chunk.
  absl::Status Take(int64_t sequence, absl::string_view audio, ChunkResult* result);
  absl::Status SealNext(absl::string_view plaintext, bool last);

  RecordingManager& manager_;
  RecordingRef ref_;
  SecretKey key_;
  int64_t max_usage_;
  std::unique_ptr<BlobWriter> writer_;
  Actor actor_;
  int audio_format_;
  bool wav_header_;     // chunk 1 begins with a WAV header (still to be read)
  std::string buffer_;  // audio not sealed yet (at most one segment)
  std::string sealed_;  // the segment being written (one buffer for the whole upload)
  Sha256 audio_sha_, file_sha_;
  int64_t audio_bytes_ = 0, file_bytes_ = 0, segments_ = 0;
  int64_t stored_ = 0, discarded_ = 0, duplicates_ = 0;
  // A resumed upload: what was stored before (audio bytes, file bytes, and
  // the record to keep if this stream cannot be stored).
  bool resumed_ = false;
  int64_t base_audio_ = 0, base_stored_ = 0;
  RecordingMeta base_;
  absl::Status write_error_;
  bool finished_ = false;
};

}  // namespace dialgrid::recording
