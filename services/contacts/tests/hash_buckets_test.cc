#include "services/contacts/domain/hash_buckets.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace dialgrid::contacts {
namespace {

TEST(HashBuckets, LegacyShapeIsTheFixedLayout) {
  // Before sizing, bucket = FNV-1a-64 mod 65536; stored data must keep
  // being found under the shape a list or tenant without a record gets.
  for (int i = 0; i < 1000; ++i) {
    std::string key = absl::StrCat("crm-", i);
    EXPECT_EQ(kLegacyShape.BucketOfKey(key), static_cast<int64_t>(BucketHash(key) % 65536));
  }
  EXPECT_EQ(kLegacyShape.Buckets(), 65536);
}

// Applies a growth from `before` to `after` to an in-memory index the way
// the store does: reads the buckets BucketsSplit names and moves each entry
// straight to its bucket under `after`. Returns the entries moved.
int64_t Grow(std::map<int64_t, std::vector<std::string>>& buckets, const BucketShape& before,
             const BucketShape& after) {
  int64_t moved = 0;
  for (int64_t b : BucketsSplit(before, after)) {
    std::vector<std::string> stay;
    for (auto& k : buckets[b]) {
      int64_t to = after.BucketOfKey(k);
      if (to == b) {
        stay.push_back(k);
      } else {
        buckets[to].push_back(k);
        ++moved;
      }
    }
    buckets[b] = stay;
  }
  return moved;
}

void ExpectEveryKeyWhereTheShapeSays(const std::map<int64_t, std::vector<std::string>>& buckets,
                                     const BucketShape& shape) {
  for (const auto& [b, ks] : buckets) {
    EXPECT_LT(b, shape.Buckets());
    for (const auto& k : ks) EXPECT_EQ(shape.BucketOfKey(k), b) << k;
  }
}

TEST(HashBuckets, GrowthStepsMoveOnlyWhatTheyMoveAndEveryKeyStaysFound) {
  // An index growing from one bucket as keys arrive, in steps of at most 8
  // bucket reads (small, so steps stop short of their target often).
  BucketShape shape;
  std::map<int64_t, std::vector<std::string>> buckets;
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) {
    std::string key = absl::StrCat("+1415555", 1000 + i);
    keys.push_back(key);
    buckets[shape.BucketOfKey(key)].push_back(key);
    BucketShape target = ShapeFor(shape, static_cast<int64_t>(keys.size()));
    BucketShape after = GrowthStep(shape, target, 8);
    EXPECT_LE(CountBucketsSplit(shape, after), 8);
    Grow(buckets, shape, after);
    shape = after;
  }
  ExpectEveryKeyWhereTheShapeSays(buckets, shape);
  // Grown to the target load, and no bucket near Redis's 128-entry listpack limit.
  EXPECT_GE(shape.Buckets(), 5000 / kBucketTargetLoad);
  EXPECT_LE(shape.Buckets(), 5000 / kBucketTargetLoad + 1);
  size_t largest = 0;
  for (const auto& [b, ks] : buckets) largest = std::max(largest, ks.size());
  EXPECT_LT(largest, 100u);
}

TEST(HashBuckets, BucketsSplitAreThoseWhoseDepthGrows) {
  // Brute force: bucket b of a shape holds the hashes with b in their low
  // `depth` bits; it splits on the way when its depth under `after` is larger.
  auto depth = [](const BucketShape& s, int64_t b) {
    return (b < s.split || b >= (int64_t{1} << s.level)) ? s.level + 1 : s.level;
  };
  std::vector<BucketShape> shapes;
  for (BucketShape s; s.Buckets() <= 70; s = s.Next()) shapes.push_back(s);
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (size_t j = i; j < shapes.size(); ++j) {
      std::vector<int64_t> want;
      for (int64_t b = 0; b < shapes[i].Buckets(); ++b) {
        if (depth(shapes[j], b) > depth(shapes[i], b)) want.push_back(b);
      }
      EXPECT_EQ(BucketsSplit(shapes[i], shapes[j]), want) << i << " -> " << j;
      EXPECT_EQ(CountBucketsSplit(shapes[i], shapes[j]), static_cast<int64_t>(want.size()));
    }
  }
}

TEST(HashBuckets, SizingAnEmptyIndexReadsOneBucketAndMovesNothing) {
  BucketShape empty;
  BucketShape sized = ShapeFor(empty, 1000000);
  EXPECT_EQ(sized.Buckets(), 62500);  // 1,000,000 / 16
  EXPECT_EQ(GrowthStep(empty, sized, 256), sized);
  EXPECT_EQ(BucketsSplit(empty, sized), std::vector<int64_t>{0});
  // Entries added afterwards need no growth until the index passes its size.
  EXPECT_EQ(ShapeFor(sized, 1000000), sized);
  EXPECT_EQ(SplitsNeeded(sized, 1000000), 0);
  EXPECT_GT(SplitsNeeded(sized, 1000017), 0);
}

TEST(HashBuckets, SizingAFilledIndexCostsWhatItsSplitsCost) {
  // 20,000 keys in 1,250 buckets, sized for 100,000 in steps of at most 256
  // bucket reads: every key is still found, the reads are at most one per
  // split (a bucket created by one step may split again in a later one, as
  // when growing by writes), and a key moves at most once per level crossed.
  BucketShape shape;
  std::map<int64_t, std::vector<std::string>> buckets;
  for (int i = 0; i < 20000; ++i) {
    std::string key = absl::StrCat("crm-", i);
    buckets[shape.BucketOfKey(key)].push_back(key);
  }
  // Bring the filled index to its own size first (one jump: one bucket read).
  BucketShape own = ShapeFor(shape, 20000);
  EXPECT_EQ(CountBucketsSplit(shape, own), 1);
  Grow(buckets, shape, own);
  shape = own;
  ExpectEveryKeyWhereTheShapeSays(buckets, shape);
  const BucketShape start = shape, target = ShapeFor(shape, 100000);
  int64_t reads = 0, moved = 0;
  int steps = 0;
  while (shape != target) {
    BucketShape next = GrowthStep(shape, target, 256);
    ASSERT_NE(next, shape);
    int64_t n = CountBucketsSplit(shape, next);
    EXPECT_LE(n, 256);
    reads += n;
    moved += Grow(buckets, shape, next);
    shape = next;
    ++steps;
  }
  ExpectEveryKeyWhereTheShapeSays(buckets, shape);
  EXPECT_EQ(shape.Buckets(), 6250);
  const int64_t splits = target.Buckets() - start.Buckets();
  EXPECT_LE(reads, splits);
  EXPECT_LE(steps, splits / 256 + 2);
  EXPECT_LE(moved, 20000 * (target.level - start.level + 1));
}

TEST(HashBuckets, AbsurdSizesAreClamped) {
  BucketShape huge = ShapeFor(BucketShape{}, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(huge.Buckets(), kMaxSizedEntries / kBucketTargetLoad);
  EXPECT_LT(huge.level, 40);
  EXPECT_EQ(ShapeFor(BucketShape{}, -5), BucketShape{});
  EXPECT_EQ(ShapeFor(kLegacyShape, 1000), kLegacyShape);  // never lowered
}

TEST(HashBuckets, NextAdvancesTheLevelAfterTheLastSplit) {
  BucketShape s{2, 3};
  EXPECT_EQ(s.Buckets(), 7);
  s = s.Next();
  EXPECT_EQ(s.level, 3);
  EXPECT_EQ(s.split, 0);
  EXPECT_EQ(s.Buckets(), 8);
  EXPECT_EQ(SplitsNeeded(s, 8 * kBucketTargetLoad), 0);
  EXPECT_EQ(SplitsNeeded(s, 8 * kBucketTargetLoad + 1), 1);
}

}  // namespace
}  // namespace dialgrid::contacts
