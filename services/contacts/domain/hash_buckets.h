#pragma once

// The shape of a bucketed index that grows with what it holds (linear
// hashing): the external-id index of a list and the phone index of a tenant
// are hashes of keys spread over numbered buckets, and the number of buckets
// follows the number of entries, one bucket split at a time, so a small list
// pays for few buckets and a large one never overfills them.
//
// A shape is (level, split): buckets 0 .. 2^level + split - 1 exist. A key
// with hash h lives in bucket h mod 2^level, or, when that bucket is below
// `split` (already split at this level), in h mod 2^(level+1). Splitting
// bucket `split` moves the entries whose bit `level` is set to bucket
// split + 2^level and advances `split`; when it reaches 2^level the level
// goes up and `split` starts again at 0. A bucket's number never changes
// meaning except by a split, and a split moves entries in the same atomic
// step that advances the shape, so readers holding the shape the store holds
// always find every entry.
//
// The fixed layout before this (65,536 buckets, bucket = FNV-1a-64 mod 65536)
// is the shape (16, 0): stored data needs no migration.

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace dialgrid::contacts {

// FNV-1a, 64 bits: the hash every bucket number derives from.
uint64_t BucketHash(absl::string_view key);

struct BucketShape {
  int level = 0;
  int64_t split = 0;

  // Buckets in use: 2^level + split.
  int64_t Buckets() const;
  int64_t BucketOf(uint64_t hash) const;
  int64_t BucketOfKey(absl::string_view key) const { return BucketOf(BucketHash(key)); }
  // The shape after one more split.
  BucketShape Next() const;
  bool operator==(const BucketShape& o) const { return level == o.level && split == o.split; }
  bool operator!=(const BucketShape& o) const { return !(*this == o); }
};

// Average entries per bucket the index grows to keep (what the fixed layout
// had at 1,000,000 contacts): buckets of a just-split pair hold about this
// many, a bucket waiting for its split up to twice as many, far below the 128
// entries at which Redis gives up its compact listpack encoding.
inline constexpr int64_t kBucketTargetLoad = 16;
// Shape of an index that predates sizing (see above).
inline constexpr BucketShape kLegacyShape{16, 0};

// How many splits bring `shape` to at least entries / kBucketTargetLoad
// buckets (0 when it has enough).
int64_t SplitsNeeded(const BucketShape& shape, int64_t entries);

// Growing by many splits at once. A shape is fixed by its bucket count, so
// the shape an index grows to can be named directly, and every entry of a
// bucket that splits (once or several times) goes straight to its bucket
// under the new shape: after.BucketOf(hash). Only buckets that existed before
// and split on the way hold entries that move; buckets created on the way
// start empty. So the work of a growth is bounded by the buckets (and
// entries) the index had, not by how far it grows: sizing a new list's index
// for a million entries reads one bucket.

// A safety bound on the entries any index is sized for (2^32 buckets, far
// beyond any tenant; it keeps every bucket number and shift in range).
inline constexpr int64_t kMaxSizedEntries = int64_t{1} << 36;
// The smallest shape reached from `shape` by splits that has room for
// `entries` at kBucketTargetLoad (`shape` itself when it has; `entries` is
// clamped to kMaxSizedEntries).
BucketShape ShapeFor(const BucketShape& shape, int64_t entries);
// The buckets of `before` whose entries may move when the index grows to
// `after` (the buckets split on the way), in increasing order. `after` must
// have at least as many buckets as `before`.
std::vector<int64_t> BucketsSplit(const BucketShape& before, const BucketShape& after);
// How many BucketsSplit returns, without listing them.
int64_t CountBucketsSplit(const BucketShape& before, const BucketShape& after);
// The furthest shape on the way from `from` to `target` whose growth reads
// at most `max_reads` buckets of `from` (BucketsSplit): `target` when it is
// within reach, else at least one split further than `from` (when
// max_reads >= 1).
BucketShape GrowthStep(const BucketShape& from, const BucketShape& target, int64_t max_reads);

}  // namespace dialgrid::contacts
