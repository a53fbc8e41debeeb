#include "services/dialing/domain/caller_id_health.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "services/dialing/domain/call_rules.h"

namespace dialgrid::dialing {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

// `n` attempts of `id`, every `every`-th answered (talk 60 s).
void Feed(CallerIdHealth& h, const std::string& id, int n, int every) {
  for (int i = 0; i < n; ++i) h.Record(id, i % every == 0, absl::Seconds(60), kNow);
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
  // While it rests it keeps the figures that rested it, and a call still
  // ending counts.
  EXPECT_NEAR(h.Stats(pool[2])->answer_rate(), 0.05, 0.01);
  h.Record(pool[2], false, absl::ZeroDuration(), kNow + absl::Minutes(1));
  EXPECT_GT(h.Stats(pool[2])->attempts, 100.0);
  // Back after its rest, with a clean slate (not rested again for the
  // figures of before).
  EXPECT_FALSE(h.Resting(kNow + absl::Hours(25)).contains(pool[2]));
  EXPECT_TRUE(h.Evaluate(pool, kNow + absl::Hours(25)).empty());
  EXPECT_EQ(h.Stats(pool[2])->attempts, 0.0);
  EXPECT_EQ(h.Stats(pool[2])->resting_until, absl::InfinitePast());
  h.Record(pool[2], true, absl::Seconds(60), kNow + absl::Hours(25));
  EXPECT_EQ(h.Stats(pool[2])->attempts, 1.0);
}

TEST(CallerIdHealthTest, ARestSetByHandKeepsTheFiguresAndItsEndGivesACleanSlate) {
  CallerIdHealth h;
  const std::vector<std::string> pool = {"+13125550100", "+13125550101"};
  Feed(h, pool[0], 200, 5);
  EXPECT_EQ(h.Usable(pool, kNow), 2);
  // WithRest only answers what the change would give.
  const CallerIdStats would = h.WithRest(pool[0], kNow + absl::Hours(2), kNow);
  EXPECT_EQ(would.resting_until, kNow + absl::Hours(2));
  EXPECT_NEAR(would.attempts, h.Stats(pool[0])->attempts, 1e-9);
  EXPECT_EQ(h.Usable(pool, kNow), 2);
  h.TakeChanged();
  h.ApplyRest(pool[0], kNow + absl::Hours(2), kNow);
  EXPECT_EQ(h.Usable(pool, kNow), 1);
  EXPECT_TRUE(h.Resting(kNow).contains(pool[0]));
  EXPECT_GT(h.Stats(pool[0])->attempts, 100.0);
  EXPECT_EQ(h.TakeChanged(), std::vector<std::string>{pool[0]});
  // Ended by hand: used again at once, with nothing held against it (the
  // health loop would rest it again on the old figures otherwise).
  EXPECT_EQ(h.WithRest(pool[0], absl::InfinitePast(), kNow).attempts, 0.0);
  h.ApplyRest(pool[0], absl::InfinitePast(), kNow);
  EXPECT_EQ(h.Usable(pool, kNow), 2);
  EXPECT_EQ(h.Stats(pool[0])->attempts, 0.0);
  // A number never seen can be rested too.
  h.ApplyRest(pool[1], kNow + absl::Minutes(5), kNow);
  EXPECT_EQ(h.Usable(pool, kNow + absl::Minutes(4)), 1);
  EXPECT_EQ(h.Usable(pool, kNow + absl::Minutes(5)), 2);
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
  for (int i = 0; i < 10; ++i) h.Record("+13125550100", true, absl::Seconds(i < 4 ? 2 : 90), kNow);
  h.Record("+13125550100", false, absl::ZeroDuration(), kNow);
  const CallerIdStats* s = h.Stats("+13125550100");
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(s->short_share(), 0.4, 0.01);
  EXPECT_NEAR(s->answer_rate(), 10.0 / 11.0, 0.01);
}

TEST(CallerIdHealthTest, ARestAndTheCountsGoOnWhereTheyWereSavedAndOnlyChangesAreSaved) {
  CallerIdHealth first;
  const std::vector<std::string> pool = {"+13125550100", "+13125550101", "+13125550102"};
  Feed(first, pool[0], 200, 5);
  Feed(first, pool[1], 200, 5);
  Feed(first, pool[2], 200, 20);
  ASSERT_EQ(first.Evaluate(pool, kNow).size(), 1u);
  std::vector<std::string> changed = first.TakeChanged();
  std::sort(changed.begin(), changed.end());
  EXPECT_EQ(changed, pool);
  EXPECT_TRUE(first.TakeChanged().empty());  // nothing since
  first.Record(pool[0], true, absl::Seconds(60), kNow);
  EXPECT_EQ(first.TakeChanged(), std::vector<std::string>{pool[0]});

  // What another owner reads back: pool[2] still rests, the others go on
  // from their counts (not judged again from nothing).
  CallerIdHealth next;
  for (const auto& id : pool) next.Restore(id, *first.Stats(id));
  EXPECT_TRUE(next.TakeChanged().empty());  // restored figures are not news
  EXPECT_TRUE(next.Resting(kNow + absl::Hours(23)).contains(pool[2]));
  EXPECT_FALSE(next.Resting(kNow + absl::Hours(25)).contains(pool[2]));
  EXPECT_NEAR(next.Stats(pool[0])->answer_rate(), first.Stats(pool[0])->answer_rate(), 1e-12);
  // A fourth number collapsing is judged against the restored pool at once.
  const std::vector<std::string> wider = {pool[0], pool[1], pool[2], "+13125550103"};
  Feed(next, wider[3], 150, 25);
  auto rested = next.Evaluate(wider, kNow + absl::Hours(1));
  ASSERT_EQ(rested.size(), 1u);
  EXPECT_EQ(rested[0].caller_id, wider[3]);
}

}  // namespace
}  // namespace dialgrid::dialing
