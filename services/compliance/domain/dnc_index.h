#pragma once

// Do-not-call index at national-registry scale.
//
// DncIndex      immutable set of phone-number keys in ~1 byte per number
//               (Elias-Fano with a per-group directory), built once,
//               written to a file and shared read-only by every replica
//               through mmap (the OS page cache holds one copy per host).
// DncIndexBuilder  collects keys (or registry-file lines), sorts, dedups,
//               builds.
// DncList       what a check sees: a DncIndex base plus the additions and
//               removals made since it was built. Thread-safe.
//
// Keys: a NANP number is its 10-digit national number (2015550123); an
// E.164 number is the integer of all its digits, country code included
// (447911123456). Country codes never start with 0, so the integer is
// unique for each number.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace dialgrid::compliance {

enum class NumberPlan {
  kNanp,  // 10-digit NANP numbers; keys in [0, 10^10)
  kE164,  // up to 15 digits with country code; keys in [0, 10^15)
};

// Keys of `plan` are < UniverseOf(plan).
uint64_t UniverseOf(NumberPlan plan);

// The key of a number as written in a registry file or a request.
// NANP: 10 digits, optionally after country code 1, with NPA and NXX
// starting 2-9: "2015550123", "+1 (201) 555-0123", "1-201-555-0123",
// "201,5550123". E.164: 7 to 15 digits, first digit 1-9, optional '+'.
// Separators allowed between digits: space, tab, - . ( ) , and a '+' before
// the first digit. Anything else: INVALID_ARGUMENT, reason INVALID_NUMBER.
absl::StatusOr<uint64_t> ParseDncKey(absl::string_view text, NumberPlan plan);

class DncIndex {
 public:
  // On-disk / in-memory image layout, version 1 (little-endian):
  //   header     64 bytes: magic "DGDNCIX\0", version, header size, count,
  //              universe, low bits, group count, data words, checksum
  //   directory  (groups + 1) x uint32: keys before each group
  //   data       per group: unary high parts (a 1 per key, a 0 closing each
  //              of the group's 256 high values), then the keys' low bits
  // A group covers 2^(low_bits + 8) consecutive keys; low_bits is
  // floor(log2(universe / count)). This is Elias-Fano, with the directory
  // as its select-0 samples and each group's high and low bits side by side,
  // so a lookup reads the directory (4.9 MB for 250 M numbers, mostly
  // cached) and one stretch of the data (2-3 cache lines).
  static constexpr uint32_t kFormatVersion = 1;

  struct OpenOptions {
    // Reads the whole file once to verify the checksum (and so pulls it into
    // the page cache). Header and directory are always checked, which keeps
    // lookups in bounds even when this is off.
    bool verify_checksum = true;
  };

  // An empty index over [0, universe).
  explicit DncIndex(uint64_t universe = UniverseOf(NumberPlan::kNanp));
  DncIndex(DncIndex&& other) noexcept;
  DncIndex& operator=(DncIndex&& other) noexcept;
  DncIndex(const DncIndex&) = delete;
  DncIndex& operator=(const DncIndex&) = delete;
  ~DncIndex();

  // Builds from strictly increasing keys < universe (else INVALID_ARGUMENT).
  // At most 2^32 - 1 keys.
  static absl::StatusOr<DncIndex> FromSortedKeys(absl::Span<const uint64_t> keys,
                                                 uint64_t universe);

  // Maps an index file read-only (MAP_SHARED: replicas on a host share the
  // page cache; MADV_HUGEPAGE, so a cold cache fills with 2 MB folios mapped
  // with 2 MB pages). Bad magic, size or checksum, or an inconsistent header
  // or directory: DATA_LOSS with a reason. A newer format version:
  // FAILED_PRECONDITION. Other open/mmap failures: the errno's code.
  static absl::StatusOr<DncIndex> Open(const std::string& path, const OpenOptions& options);

  // Writes the image to `path` atomically (temp file, fsync, rename), then
  // drops the written pages from the page cache so the first Open reads
  // them back as 2 MB folios.
  absl::Status WriteTo(const std::string& path) const;

  // One lookup: a directory read, then two or three cache lines of data
  // that depend on it. At registry scale that is two DRAM round trips
  // (~0.5 us on the benchmark VM), fine for one check per dial; use
  // ContainsBatch for scrubs.
  bool Contains(uint64_t key) const;

  // Answers many lookups at once, overlapping their memory accesses with
  // software prefetching (bulk scrubs; several times Contains' throughput):
  // out[i] = Contains(keys[i]) for the first min(keys.size(), out.size())
  // keys. Returns how many were contained.
  size_t ContainsBatch(absl::Span<const uint64_t> keys, absl::Span<bool> out) const;

  // Calls fn(key) for every key in increasing order.
  void ForEach(absl::FunctionRef<void(uint64_t)> fn) const;

  uint64_t size() const { return count_; }
  uint64_t universe() const { return universe_; }
  int low_bits() const { return low_bits_; }
  // Bytes of the image: the file size, and the memory the index occupies.
  size_t SizeInBytes() const { return image_bytes_; }
  // True when the image is a memory-mapped file (else anonymous memory).
  bool mapped() const { return file_backed_; }
  // The image's checksum (header): what a registry manifest binds to.
  uint64_t checksum() const { return checksum_; }

 private:
  struct Unbound {};
  // No image: the state of a moved-from index.
  explicit DncIndex(Unbound);
  template <bool kFast>
  size_t ContainsBatchImpl(absl::Span<const uint64_t> keys, absl::Span<bool> out) const;
  // Points the views into a validated image.
  void BindViews(const uint64_t* image, size_t bytes);
  // Releases the image and leaves the empty universe-0 state of a
  // moved-from index (Contains is false for every key).
  void Reset();

  uint64_t universe_ = 0;
  uint64_t count_ = 0;
  int low_bits_ = 0;
  uint64_t groups_ = 0;
  const uint32_t* dir_ = nullptr;   // groups_ + 1 entries
  const uint64_t* data_ = nullptr;  // bit data, padded with one zero word
  size_t image_bytes_ = 0;
  uint64_t checksum_ = 0;

  // Lookups use POPCNT/BMI2 when the CPU has fast ones (checked at run time).
  bool fast_bits_ = false;
  // The image: anonymous memory (built here) or a file mapping, both from
  // mmap so they can use 2 MB pages; unmapped on destruction.
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  bool file_backed_ = false;
};

// Lines of a registry file, as loaded.
struct RegistryFileReport {
  static constexpr size_t kMaxReportedGarbageLines = 10;

  uint64_t lines = 0;          // physical lines
  uint64_t numbers = 0;        // lines that gave a key (duplicates included)
  uint64_t blank_lines = 0;    // empty or whitespace-only, ignored
  uint64_t garbage_lines = 0;  // not a number of the plan; skipped
  std::vector<uint64_t> first_garbage_lines;  // 1-based line numbers, the first few
};

class DncIndexBuilder {
 public:
  explicit DncIndexBuilder(NumberPlan plan = NumberPlan::kNanp);

  void Reserve(size_t keys) { keys_.reserve(keys); }

  // INVALID_ARGUMENT (KEY_OUT_OF_RANGE) for a key outside the plan.
  absl::Status Add(uint64_t key) {
    if (key >= universe_) return KeyOutOfRange(key);
    keys_.push_back(key);
    return absl::OkStatus();
  }

  // Adds every number of a registry file (one per line, see ParseDncKey).
  // Garbage lines are counted and skipped. Missing file: NOT_FOUND; not a
  // readable text file, or lines but not one number: INVALID_ARGUMENT with
  // a reason. On error nothing from the file is added.
  absl::StatusOr<RegistryFileReport> AddRegistryFile(const std::string& path);

  // Keys added so far (duplicates included).
  size_t pending() const { return keys_.size(); }

  // Sorts and dedups the keys and builds the index; the builder is left
  // empty and reusable.
  absl::StatusOr<DncIndex> Build();

 private:
  absl::Status KeyOutOfRange(uint64_t key) const;

  NumberPlan plan_;
  uint64_t universe_;
  std::vector<uint64_t> keys_;
};

// A DNC list as checks see it: an immutable base (usually mapped, shared
// with other lists and replicas) plus the changes since the base was built.
// Contains = (base && not removed) || added. Thread-safe; Contains takes a
// reader lock only.
class DncList {
 public:
  explicit DncList(std::shared_ptr<const DncIndex> base);

  bool Contains(uint64_t key) const ABSL_LOCKS_EXCLUDED(mu_);
  // As DncIndex::ContainsBatch, with the overlay applied.
  size_t ContainsBatch(absl::Span<const uint64_t> keys, absl::Span<bool> out) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // INVALID_ARGUMENT (KEY_OUT_OF_RANGE) for a key outside the base's universe.
  absl::Status Add(uint64_t key) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Remove(uint64_t key) ABSL_LOCKS_EXCLUDED(mu_);

  // Swaps in a rebuilt base (same universe, else INVALID_ARGUMENT), e.g. a
  // new registry download or Compact()'s result. The overlay's changes keep
  // winning over the new base; those the new base already reflects are
  // dropped from the overlay.
  absl::Status ReplaceBase(std::shared_ptr<const DncIndex> base) ABSL_LOCKS_EXCLUDED(mu_);

  // A new index holding exactly what Contains answers true for; pass it to
  // ReplaceBase (after persisting it) to empty the overlay.
  absl::StatusOr<DncIndex> Compact() const ABSL_LOCKS_EXCLUDED(mu_);

  size_t overlay_size() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t added_size() const ABSL_LOCKS_EXCLUDED(mu_);    // keys added, not in base
  size_t removed_size() const ABSL_LOCKS_EXCLUDED(mu_);  // keys of base removed
  std::shared_ptr<const DncIndex> base() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status CheckKey(uint64_t key) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const DncIndex> base_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> added_ ABSL_GUARDED_BY(mu_);    // not in base
  absl::flat_hash_set<uint64_t> removed_ ABSL_GUARDED_BY(mu_);  // in base
};

namespace dnc_internal {
// Exposed for tests: both flavours of the bit operations lookups use.
bool CpuHasFastBitOps();
unsigned PopcountPortable(uint64_t x);
unsigned PopcountFast(uint64_t x);  // only when CpuHasFastBitOps()
unsigned SelectInWordPortable(uint64_t x, unsigned r);
unsigned SelectInWordFast(uint64_t x, unsigned r);  // only when CpuHasFastBitOps()
}  // namespace dnc_internal

}  // namespace dialgrid::compliance
