#pragma once

// BlobStore on a filesystem (a volume in Kubernetes):
//   <root>/<tenant>/<id>.rec          a committed recording
//   <root>/<tenant>/.<id>.rec.<rand>  being written (never read)
// Commit fsyncs the file, renames it into place and fsyncs the directory; an
// error (a full disk: ENOSPC, EDQUOT) removes the temporary file, so a
// recording is either all there or not at all. Temporary files of a
// process killed mid-write stay behind until the manager's sweep salvages
// (ListPartials, OpenPartial) and removes (DeletePartial) them.

#include <string>

#include "services/recording/ports/blob_store.h"

namespace dialgrid::recording {

class FsBlobStore final : public BlobStore {
 public:
  // `root` must exist (FAILED_PRECONDITION otherwise).
  static absl::StatusOr<std::unique_ptr<FsBlobStore>> Create(std::string root);

  absl::StatusOr<std::unique_ptr<BlobWriter>> Create(const RecordingRef& ref) override;
  absl::StatusOr<std::unique_ptr<BlobReader>> Open(const RecordingRef& ref) override;
  absl::Status Delete(const RecordingRef& ref) override;
  absl::StatusOr<std::vector<PartialBlob>> ListPartials(const RecordingRef* ref) override;
  absl::StatusOr<std::unique_ptr<BlobReader>> OpenPartial(const PartialBlob& partial) override;
  absl::Status DeletePartial(const PartialBlob& partial) override;

  // The committed file of `ref` (tests tamper with it).
  std::string PathOf(const RecordingRef& ref) const;

 private:
  explicit FsBlobStore(std::string root) : root_(std::move(root)) {}
  absl::StatusOr<std::unique_ptr<BlobReader>> OpenPath(const std::string& path);
  std::string root_;
};

}  // namespace dialgrid::recording
