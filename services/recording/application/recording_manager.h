#pragma once

// The recording vault's logic over its ports: starting recordings (a data
// key each, wrapped with the tenant's current key), pause/resume/stop,
// uploads (UploadSession: chunks in order into sealed segments, the file
// committed at the end), playback by byte range (authenticated segment by
// segment, audited first), verification of the hash chain against the
// stored files, and re-wrapping data keys after a key rotation.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "dialgrid/recording/v1/recording.pb.h"
#include "services/common/core/clock.h"
#include "services/recording/ports/blob_store.h"
#include "services/recording/ports/key_ring.h"
#include "services/recording/ports/recording_store.h"

namespace dialgrid::recording {

struct RecordingOptions {
  std::string producer = "recording";  // events' producer
  // How long a recording is kept (its expire_time) unless held.
  absl::Duration retention = absl::Hours(24 * 365);
  // Largest audio chunk taken.
  int64_t max_chunk_bytes = 1 << 20;
};

// Who makes a call, for the audit.
struct Actor {
  std::string credential;
  std::string request_id;
};

class UploadSession;

class RecordingManager {
 public:
  RecordingManager(std::shared_ptr<RecordingStore> store, std::shared_ptr<BlobStore> blobs,
                   std::shared_ptr<KeyRing> keys, const Clock& clock, RecordingOptions options);

  absl::StatusOr<v1::Recording> Start(absl::string_view tenant, const v1::Recording& recording,
                                      absl::string_view request_id, const Actor& actor);
  absl::StatusOr<v1::Recording> Pause(const RecordingRef& ref, absl::string_view reason,
                                      const Actor& actor);
  absl::StatusOr<v1::Recording> Resume(const RecordingRef& ref, const Actor& actor);
  absl::StatusOr<v1::Recording> Stop(const RecordingRef& ref, const Actor& actor);
  // The metadata; the read is published as an audit event.
  absl::StatusOr<v1::Recording> Get(const RecordingRef& ref, const Actor& actor);
  absl::StatusOr<v1::ListRecordingsResponse> List(absl::string_view tenant,
                                                  const v1::ListRecordingsRequest& req);

  // Opens the recording's upload; `max_usage` is the tenant's storage quota.
  absl::StatusOr<std::unique_ptr<UploadSession>> OpenUpload(const RecordingRef& ref,
                                                            int64_t max_usage, const Actor& actor);

  // Plays `length` bytes (0: to the end) from `offset` back, audited first
  // (chain entry and event), through `write` (one message per segment at
  // most, the first with the recording); `write` returning false ends it
  // (CANCELLED). DATA_LOSS AUDIO_TAMPERED as soon as a segment does not
  // authenticate: nothing unauthenticated is ever written.
  absl::Status Download(const RecordingRef& ref, int64_t offset, int64_t length,
                        const Actor& actor,
                        const std::function<bool(v1::DownloadRecordingResponse&)>& write);

  absl::StatusOr<v1::VerifyRecordingsResponse> Verify(absl::string_view tenant, bool check_audio);
  absl::StatusOr<v1::RewrapDataKeysResponse> Rewrap(absl::string_view tenant);

  static v1::Recording ToProto(const RecordingMeta& meta);
  static std::string NameOf(const RecordingRef& ref);
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
                    const std::function<bool(v1::DownloadRecordingResponse&)>& write);
  event::v1::Envelope Event(const RecordingRef& ref, const google::protobuf::Message& payload);
  // All recordings of the tenant, oldest first.
  absl::StatusOr<std::vector<RecordingMeta>> All(absl::string_view tenant);

  std::shared_ptr<RecordingStore> store_;
  std::shared_ptr<BlobStore> blobs_;
  std::shared_ptr<KeyRing> keys_;
  const Clock& clock_;
  RecordingOptions options_;
};

// One recording's audio upload (one stream): chunks are taken in order,
// sealed into segments as they fill, and the file is committed by Finish.
class UploadSession {
 public:
  // Aborts the upload when Finish was not called (the file is removed).
  ~UploadSession();
  const RecordingRef& ref() const { return ref_; }

  // Takes chunk `sequence`. An error ends the upload: call Finish with it.
  absl::Status Feed(int64_t sequence, absl::string_view audio);
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
                std::unique_ptr<BlobWriter> writer, Actor actor);
  absl::Status Write(absl::string_view bytes);
  absl::Status SealNext(absl::string_view plaintext, bool last);

  RecordingManager& manager_;
  RecordingRef ref_;
  SecretKey key_;
  int64_t max_usage_;
  std::unique_ptr<BlobWriter> writer_;
  Actor actor_;
  std::string buffer_;  // audio not sealed yet
  Sha256 audio_sha_, file_sha_;
  int64_t audio_bytes_ = 0, file_bytes_ = 0, segments_ = 0;
  int64_t stored_ = 0, discarded_ = 0, duplicates_ = 0;
  absl::Status write_error_;
  bool finished_ = false;
};

}  // namespace dialgrid::recording
