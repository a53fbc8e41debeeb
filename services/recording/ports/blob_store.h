#pragma once

// Where the encrypted recordings' bytes live: the filesystem store
// (adapters/fs_blob_store.h) by default; an object store can follow behind
// the same port. A blob is written once: appended to a temporary object and
// committed (durably, all or nothing) or aborted (nothing left behind).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/recording/domain/recording.h"

namespace dialgrid::recording {

class BlobWriter {
 public:
  // Aborts unless committed.
  virtual ~BlobWriter() = default;
  // RESOURCE_EXHAUSTED STORAGE_FULL when the volume is full, UNAVAILABLE
  // STORAGE_UNAVAILABLE for other I/O errors; the writer is then unusable
  // (Abort it).
  virtual absl::Status Append(absl::string_view bytes) = 0;
  // Makes the blob durable under its name (replacing nothing: the name is
  // new). Errors as Append; nothing is left behind on error.
  virtual absl::Status Commit() = 0;
  // As Commit, but atomically replaces the committed blob of that name if
  // there is one (a resumed upload, a salvage): readers see the old blob or
  // the new one, never a mix; on error the old one is still there.
  virtual absl::Status Replace() = 0;
  // Removes what was written. Idempotent.
  virtual void Abort() = 0;
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual int64_t Size() const = 0;
  // `length` bytes from `offset` (fewer only at the end).
  virtual absl::StatusOr<std::string> ReadAt(int64_t offset, int64_t length) = 0;
};

// A blob being written (or left behind by a writer that died).
struct PartialBlob {
  RecordingRef ref;
  std::string key;  // the store's name for it
  absl::Time modified = absl::InfinitePast();
  int64_t size = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> Create(const RecordingRef& ref) = 0;
  // DATA_LOSS BLOB_MISSING when there is no committed blob.
  virtual absl::StatusOr<std::unique_ptr<BlobReader>> Open(const RecordingRef& ref) = 0;
  // OK when already gone.
  virtual absl::Status Delete(const RecordingRef& ref) = 0;

  // Blobs being written or left behind: of `ref` only, or (null) all of them.
  virtual absl::StatusOr<std::vector<PartialBlob>> ListPartials(const RecordingRef* ref) = 0;
  virtual absl::StatusOr<std::unique_ptr<BlobReader>> OpenPartial(const PartialBlob& partial) = 0;
  // OK when already gone.
  virtual absl::Status DeletePartial(const PartialBlob& partial) = 0;
};

}  // namespace dialgrid::recording
