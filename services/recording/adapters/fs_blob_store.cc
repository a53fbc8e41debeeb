#include "services/recording/adapters/fs_blob_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"

namespace dialgrid::recording {
namespace {

absl::Status IoError(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) {
    return WithReason(absl::ResourceExhaustedError(
                          absl::StrCat("the recording volume is full (", msg, ")")),
                      "STORAGE_FULL");
  }
  return Unavailable("STORAGE_UNAVAILABLE", msg);
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(errno, "opening the directory");
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : IoError(err, "syncing the directory");
}

class FsWriter final : public BlobWriter {
 public:
  FsWriter(int fd, std::string dir, std::string tmp, std::string path)
      : fd_(fd), dir_(std::move(dir)), tmp_(std::move(tmp)), path_(std::move(path)) {}
  ~FsWriter() override {
    if (!committed_) Abort();
  }

  absl::Status Append(absl::string_view bytes) override {
    if (fd_ < 0) return absl::FailedPreconditionError("the writer was closed");
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError(errno, "writing the recording");
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Commit() override { return Finish(/*replace=*/false); }
  absl::Status Replace() override { return Finish(/*replace=*/true); }

  void Abort() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
  }

 private:
  absl::Status Finish(bool replace) {
    if (fd_ < 0) return absl::FailedPreconditionError("the writer was closed");
    absl::Status st;
    if (::fsync(fd_) != 0) st = IoError(errno, "syncing the recording");
    if (st.ok() && ::close(fd_) != 0) st = IoError(errno, "closing the recording");
    else if (!st.ok()) ::close(fd_);
    fd_ = -1;
    if (replace) {
      // rename() swaps the file in atomically; until the directory is
      // synced a crash may bring either version back, both whole.
      if (st.ok() && ::rename(tmp_.c_str(), path_.c_str()) != 0) {
        st = IoError(errno, "naming the recording");
      }
      if (st.ok()) st = FsyncDir(dir_);
    } else {
      // link() (not rename) so an existing file is never replaced.
      if (st.ok() && ::link(tmp_.c_str(), path_.c_str()) != 0) {
        st = IoError(errno, "naming the recording");
      }
      if (st.ok()) {
        ::unlink(tmp_.c_str());
        st = FsyncDir(dir_);
        if (!st.ok()) ::unlink(path_.c_str());
      }
    }
    if (!st.ok()) {
      Abort();
      return st;
    }
    committed_ = true;
    return absl::OkStatus();
  }

  int fd_;
  std::string dir_, tmp_, path_;
  bool committed_ = false;
};

class FsReader final : public BlobReader {
 public:
  FsReader(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~FsReader() override { ::close(fd_); }
  int64_t Size() const override { return size_; }
  absl::StatusOr<std::string> ReadAt(int64_t offset, int64_t length) override {
    std::string out(static_cast<size_t>(length), '\0');
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, offset + static_cast<int64_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError(errno, "reading the recording");
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

 private:
  int fd_;
  int64_t size_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FsBlobStore>> FsBlobStore::Create(std::string root) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("no recordings directory ", root));
  }
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(std::move(root)));
}

std::string FsBlobStore::PathOf(const RecordingRef& ref) const {
  return absl::StrCat(root_, "/", ref.tenant, "/", ref.id, ".rec");
}

absl::StatusOr<std::unique_ptr<BlobWriter>> FsBlobStore::Create(const RecordingRef& ref) {
  std::string dir = absl::StrCat(root_, "/", ref.tenant);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError(errno, "creating the tenant's directory");
  }
  std::string tmp = absl::StrCat(dir, "/.", ref.id, ".rec.", RandomHex(6));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError(errno, "creating the recording");
  return std::unique_ptr<BlobWriter>(new FsWriter(fd, dir, tmp, PathOf(ref)));
}

absl::StatusOr<std::unique_ptr<BlobReader>> FsBlobStore::Open(const RecordingRef& ref) {
  return OpenPath(PathOf(ref));
}

absl::StatusOr<std::unique_ptr<BlobReader>> FsBlobStore::OpenPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return WithReason(absl::DataLossError("the recording's stored audio is missing"),
                        "BLOB_MISSING");
    }
    return IoError(errno, "opening the recording");
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return IoError(err, "reading the recording's size");
  }
  return std::unique_ptr<BlobReader>(new FsReader(fd, st.st_size));
}

absl::Status FsBlobStore::Delete(const RecordingRef& ref) {
  if (::unlink(PathOf(ref).c_str()) != 0 && errno != ENOENT) {
    return IoError(errno, "deleting the recording");
  }
  return FsyncDir(absl::StrCat(root_, "/", ref.tenant));
}

absl::StatusOr<std::vector<PartialBlob>> FsBlobStore::ListPartials(const RecordingRef* ref) {
  namespace fs = std::filesystem;
  std::vector<PartialBlob> out;
  std::vector<std::string> tenants;
  std::error_code ec;
  if (ref != nullptr) {
    tenants.push_back(ref->tenant);
  } else {
    for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory(ec)) tenants.push_back(it->path().filename().string());
    }
    if (ec) return IoError(ec.value(), "listing the recordings directory");
  }
  for (const std::string& tenant : tenants) {
    const std::string dir = absl::StrCat(root_, "/", tenant);
    std::error_code dec;
    for (fs::directory_iterator it(dir, dec), end; !dec && it != end; it.increment(dec)) {
      // ".<id>.rec.<rand>"
      const std::string name = it->path().filename().string();
      const size_t rec = name.rfind(".rec.");
      if (name.size() < 2 || name[0] != '.' || rec == std::string::npos || rec < 2) continue;
      PartialBlob p;
      p.ref = RecordingRef{tenant, name.substr(1, rec - 1)};
      if (ref != nullptr && p.ref.id != ref->id) continue;
      p.key = it->path().string();
      struct stat st;
      if (::stat(p.key.c_str(), &st) != 0) continue;  // gone meanwhile
      p.modified = absl::TimeFromTimespec(st.st_mtim);
      p.size = st.st_size;
      out.push_back(std::move(p));
    }
    if (dec && dec != std::errc::no_such_file_or_directory) {
      return IoError(dec.value(), "listing a tenant's recordings");
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<BlobReader>> FsBlobStore::OpenPartial(const PartialBlob& partial) {
  return OpenPath(partial.key);
}

absl::Status FsBlobStore::DeletePartial(const PartialBlob& partial) {
  if (::unlink(partial.key.c_str()) != 0 && errno != ENOENT) {
    return IoError(errno, "deleting a temporary recording");
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::recording
