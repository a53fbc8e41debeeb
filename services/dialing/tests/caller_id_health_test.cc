#include "services/dialing/domain/caller_id_health.h"

#include <gtest/gtest.h>

#include "services/dialing/domain/call_rules.h"

namespace dialgrid::dialing {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

// `n` attempts of `id`, every `every`-th answered (talk 60 s).
void Feed(CallerIdHealth& h, const std::string& id, int n, int every) {
  for (int i = 0; i < n; ++i) h.Record(id, i % every == 0, absl::Seconds(60));
}

TEST(CallerIdHealthTest, ANumberWhoseAnswerRateCollapsesIsRestedAndSkipped) {
  CallerIdHealth h;
  const std::vector<std::string> pool = {"+13125550100", "+13125550101", "+13125550102"};
  Feed(h, pool[0], 200, 5);   // 20 %
  Feed(h, pool[1], 200, 5);   // 20 %
  Feed(h, pool[2], 200, 20);  // 5 %: labelled as spam
  auto rested = h.Evaluate(pool, kNow);
  ASSERT_EQ(rested.size(), 1u);
  EXPECT_EQ(rested[0].caller_id, pool[2]);
  EXPECT_NEAR(rested[0].answer_rate, 0.05, 0.01);
  EXPECT_NEAR(rested[0].pool_answer_rate, 0.20, 0.01);
  EXPECT_EQ(rested[0].until, kNow + absl::Hours(24));
  EXPECT_TRUE(h.Resting(kNow).contains(pool[2]));

  v1::Campaign c;
  for (const auto& id : pool) c.add_caller_ids(id);
  for (uint64_t turn = 0; turn < 10; ++turn) {
    EXPECT_NE(PickCallerId(c, "+13125559999", turn, h.Resting(kNow)), pool[2]);
  }
  // Back after its rest, with a clean slate.
  EXPECT_FALSE(h.Resting(kNow + absl::Hours(25)).contains(pool[2]));
  EXPECT_TRUE(h.Evaluate(pool, kNow + absl::Hours(25)).empty());
}

TEST(CallerIdHealthTest, NotJudgedOnFewAttemptsNorForAModestDip) {
  CallerIdHealth h;
  const std::vector<std::string> pool = {"+13125550100", "+13125550101"};
  Feed(h, pool[0], 200, 5);  // 20 %
  Feed(h, pool[1], 50, 50);  // 2 %, but only 50 attempts
  EXPECT_TRUE(h.Evaluate(pool, kNow).empty());
  Feed(h, pool[1], 150, 7);  // about 14 %: below the pool, above half of it
  EXPECT_TRUE(h.Evaluate(pool, kNow).empty());
}

TEST(CallerIdHealthTest, TheLastNumberOfAPoolIsNeverRested) {
  CallerIdHealth h;
  const std::vector<std::string> pool = {"+13125550100", "+13125550101"};
  Feed(h, pool[0], 200, 5);
  Feed(h, pool[1], 200, 50);
  ASSERT_EQ(h.Evaluate(pool, kNow).size(), 1u);  // pool[1] rested
  // Now pool[0] collapses too: it is the only one left, so it stays.
  Feed(h, pool[0], 2000, 100);
  EXPECT_TRUE(h.Evaluate(pool, kNow + absl::Minutes(1)).empty());
  // And with every number resting, a call still gets one.
  v1::Campaign c;
  c.add_caller_ids(pool[1]);
  EXPECT_EQ(PickCallerId(c, "+13125559999", 0, h.Resting(kNow)), pool[1]);
}

TEST(CallerIdHealthTest, ShortCallsAreCountedAmongAnsweredCalls) {
  CallerIdHealth h;
  for (int i = 0; i < 10; ++i) h.Record("+13125550100", true, absl::Seconds(i < 4 ? 2 : 90));
  h.Record("+13125550100", false, absl::ZeroDuration());
  const CallerIdStats* s = h.Stats("+13125550100");
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(s->short_share(), 0.4, 0.01);
  EXPECT_NEAR(s->answer_rate(), 10.0 / 11.0, 0.01);
}

}  // namespace
}  // namespace dialgrid::dialing
