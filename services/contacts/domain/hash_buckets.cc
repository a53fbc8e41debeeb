#include "services/contacts/domain/hash_buckets.h"

#include <algorithm>

namespace dialgrid::contacts {

uint64_t BucketHash(absl::string_view key) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : key) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

int64_t BucketShape::Buckets() const { return (int64_t{1} << level) + split; }

int64_t BucketShape::BucketOf(uint64_t hash) const {
  uint64_t low = hash & ((uint64_t{1} << level) - 1);
  if (static_cast<int64_t>(low) < split) low = hash & ((uint64_t{1} << (level + 1)) - 1);
  return static_cast<int64_t>(low);
}

BucketShape BucketShape::Next() const {
  BucketShape n = *this;
  if (++n.split == (int64_t{1} << n.level)) {
    ++n.level;
    n.split = 0;
  }
  return n;
}

int64_t SplitsNeeded(const BucketShape& shape, int64_t entries) {
  int64_t want = (entries + kBucketTargetLoad - 1) / kBucketTargetLoad;
  return want > shape.Buckets() ? want - shape.Buckets() : 0;
}

namespace {

// The shape with exactly `buckets` buckets (>= 1).
BucketShape ShapeWithBuckets(int64_t buckets) {
  BucketShape s;
  while ((int64_t{2} << s.level) <= buckets) ++s.level;
  s.split = buckets - (int64_t{1} << s.level);
  return s;
}

// Adds the half-open range [lo, hi) to `out` (as numbers or as a count).
void AddRange(int64_t lo, int64_t hi, std::vector<int64_t>* out, int64_t* count) {
  if (hi <= lo) return;
  if (count != nullptr) *count += hi - lo;
  if (out != nullptr) {
    for (int64_t b = lo; b < hi; ++b) out->push_back(b);
  }
}

// Buckets of `before` split on the way to `after`. Level l = before.level,
// s = before.split, B = before.Buckets(): at level l the buckets s..2^l-1
// split (up to after.split when `after` stays at level l); at level l+1 the
// buckets 0..after.split-1 split (all of them when `after` is further), of
// which those below B existed, and those in s..2^l-1 are counted already; at
// higher levels every bucket that existed has split already.
void SplitRanges(const BucketShape& before, const BucketShape& after, std::vector<int64_t>* out,
                 int64_t* count) {
  const int l = before.level;
  const int64_t s = before.split, half = int64_t{1} << l, existing = before.Buckets();
  if (after.Buckets() <= existing) return;
  if (after.level == l) {
    AddRange(s, after.split, out, count);
    return;
  }
  // Everything split at level l (s..2^l-1), and below s, and 2^l..B-1 at level l+1.
  int64_t upto = after.level == l + 1 ? after.split : existing;
  AddRange(0, std::min(upto, s), out, count);
  AddRange(s, half, out, count);
  AddRange(half, std::min(upto, existing), out, count);
}

}  // namespace

BucketShape ShapeFor(const BucketShape& shape, int64_t entries) {
  entries = std::min(std::max<int64_t>(entries, 0), kMaxSizedEntries);
  int64_t want = (entries + kBucketTargetLoad - 1) / kBucketTargetLoad;
  if (want <= shape.Buckets()) return shape;
  return ShapeWithBuckets(want);
}

std::vector<int64_t> BucketsSplit(const BucketShape& before, const BucketShape& after) {
  std::vector<int64_t> out;
  SplitRanges(before, after, &out, nullptr);
  return out;
}

int64_t CountBucketsSplit(const BucketShape& before, const BucketShape& after) {
  int64_t n = 0;
  SplitRanges(before, after, nullptr, &n);
  return n;
}

BucketShape GrowthStep(const BucketShape& from, const BucketShape& target, int64_t max_reads) {
  if (target.Buckets() <= from.Buckets()) return from;
  if (CountBucketsSplit(from, target) <= max_reads) return target;
  // The count only grows with the target's bucket count: the largest count
  // within reach, by bisection over bucket counts.
  int64_t lo = from.Buckets() + 1, hi = target.Buckets() - 1;  // lo: one split, always taken
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (CountBucketsSplit(from, ShapeWithBuckets(mid)) <= max_reads) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return ShapeWithBuckets(lo);
}

}  // namespace dialgrid::contacts
