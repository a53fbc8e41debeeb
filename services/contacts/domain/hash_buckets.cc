#include "services/contacts/domain/hash_buckets.h"

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

std::vector<BucketSplit> PlanSplits(BucketShape shape, int64_t n, BucketShape* result) {
  std::vector<BucketSplit> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n && shape.level < 40; ++i) {
    out.push_back({shape.split, shape.split + (int64_t{1} << shape.level), shape.level});
    shape = shape.Next();
  }
  *result = shape;
  return out;
}

}  // namespace dialgrid::contacts
