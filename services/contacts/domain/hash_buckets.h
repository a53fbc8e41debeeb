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

// One split: bucket `from` gives the entries whose hash has bit `level` set
// to bucket `to`; `level` is the level of the shape being split.
struct BucketSplit {
  int64_t from = 0, to = 0;
  int level = 0;
};
// The splits that take `shape` up by `n` splits, in order, and the result.
std::vector<BucketSplit> PlanSplits(BucketShape shape, int64_t n, BucketShape* result);
// Whether an entry with this hash moves in `split`.
inline bool MovesIn(const BucketSplit& split, uint64_t hash) {
  return ((hash >> split.level) & 1) != 0;
}

}  // namespace dialgrid::contacts
