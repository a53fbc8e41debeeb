#include "services/contacts/domain/hash_buckets.h"

#include <gtest/gtest.h>

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

TEST(HashBuckets, SplitsMoveOnlyWhatTheyMoveAndEveryKeyStaysFound) {
  // Simulate an index growing from one bucket, applying each planned split
  // to an in-memory copy, and check every key is where the shape says.
  BucketShape shape;
  std::map<int64_t, std::vector<std::string>> buckets;
  std::vector<std::string> keys;
  for (int i = 0; i < 5000; ++i) {
    std::string key = absl::StrCat("+1415555", 1000 + i);
    keys.push_back(key);
    buckets[shape.BucketOfKey(key)].push_back(key);
    int64_t n = SplitsNeeded(shape, static_cast<int64_t>(keys.size()));
    BucketShape after;
    for (const auto& s : PlanSplits(shape, n, &after)) {
      std::vector<std::string> stay;
      for (auto& k : buckets[s.from]) {
        (MovesIn(s, BucketHash(k)) ? buckets[s.to] : stay).push_back(k);
      }
      buckets[s.from] = stay;
    }
    shape = after;
  }
  for (const auto& [b, ks] : buckets) {
    for (const auto& k : ks) EXPECT_EQ(shape.BucketOfKey(k), b) << k;
  }
  // Grown to the target load, and no bucket near Redis's 128-entry listpack limit.
  EXPECT_GE(shape.Buckets(), 5000 / kBucketTargetLoad);
  EXPECT_LE(shape.Buckets(), 5000 / kBucketTargetLoad + 1);
  size_t largest = 0;
  for (const auto& [b, ks] : buckets) largest = std::max(largest, ks.size());
  EXPECT_LT(largest, 100u);
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
