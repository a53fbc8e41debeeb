#include "services/contacts/domain/key_filter.h"

#include <gtest/gtest.h>

#include <string>

namespace dialgrid::contacts {
namespace {

TEST(KeyFilter, EmptyContainsNothing) {
  KeyFilter f;
  EXPECT_FALSE(f.MayContain(""));
  EXPECT_FALSE(f.MayContain("crm-1"));
  EXPECT_EQ(f.keys(), 0);
  EXPECT_FALSE(f.full());
}

// Never a false negative; false positives near the documented rate
// (about 0.1 % at 1 M keys in 2^24 bits: here 200,000 keys in 2^22 bits,
// the same ratio).
TEST(KeyFilter, NoFalseNegativesAndFewFalsePositives) {
  KeyFilter f(/*log2_bits=*/22, /*max_keys=*/1'000'000);
  for (int i = 0; i < 200000; ++i) f.Add("crm-" + std::to_string(i));
  for (int i = 0; i < 200000; ++i) {
    ASSERT_TRUE(f.MayContain("crm-" + std::to_string(i))) << i;
  }
  int false_positives = 0;
  for (int i = 0; i < 200000; ++i) {
    if (f.MayContain("other-" + std::to_string(i))) ++false_positives;
  }
  EXPECT_LT(false_positives, 200000 / 200);  // < 0.5 %
}

TEST(KeyFilter, FullPastItsLimit) {
  KeyFilter f(/*log2_bits=*/10, /*max_keys=*/3);
  f.Add("+14155550100");
  f.Add("+14155550101");
  EXPECT_FALSE(f.full());
  f.Add("+14155550102");
  EXPECT_TRUE(f.full());
  EXPECT_TRUE(f.MayContain("+14155550100"));
}

}  // namespace
}  // namespace dialgrid::contacts
