#include "services/dialing/pacing/estimators.h"

#include <gtest/gtest.h>

namespace dialgrid::pacing {
namespace {

size_t CheckpointIndex(double seconds) {
  for (size_t k = 0; k < kCheckpoints; ++k) {
    if (kCheckpointsS[k] == seconds) return k;
  }
  ADD_FAILURE() << "no checkpoint at " << seconds;
  return 0;
}

TEST(DecayedHistogram, MeanOfObservations) {
  DecayedHistogram h(1.0, 100, 1e9);
  for (int i = 0; i < 100; ++i) h.Add(10.0 + (i % 11));  // 10..20
  EXPECT_NEAR(h.Mean(), 15.5, 0.3);  // bin midpoints
  EXPECT_NEAR(h.Weight(), 100.0, 1e-4);
}

TEST(DecayedHistogram, ForgetsOldObservations) {
  DecayedHistogram h(1.0, 100, 50.0);
  for (int i = 0; i < 1000; ++i) h.Add(10.0);
  for (int i = 0; i < 500; ++i) h.Add(40.0);
  // Ten half-lives later, the old value weighs about 1/1000.
  EXPECT_NEAR(h.Mean(), 40.5, 0.1);
  EXPECT_LT(h.Weight(), 80.0);
}

TEST(AnswerModel, ConditionalOnAge) {
  AnswerModel m(1e9);
  for (int i = 0; i < 3000; ++i) m.Add(10.2, true);
  for (int i = 0; i < 7000; ++i) m.Add(25.3, false);
  m.Rebuild();
  EXPECT_NEAR(m.RoutedProbability(), 0.3, 1e-5);
  const auto& fresh = m.Conditional(0.0);
  EXPECT_NEAR(fresh[CheckpointIndex(8)], 0.0, 1e-5);   // none before 10 s
  EXPECT_NEAR(fresh[CheckpointIndex(12)], 0.3, 1e-5);  // all by 11 s
  // Still in flight at 5 s: nothing has ended yet, same odds.
  EXPECT_NEAR(m.Conditional(5.0)[CheckpointIndex(6)], 0.3, 1e-5);
  // Still in flight at 12 s: those that answer have answered.
  EXPECT_NEAR(m.Conditional(12.0)[kCheckpoints - 1], 0.0, 1e-5);
}

TEST(AnswerModel, LiveShareByAgeFromReportedOutcomes) {
  AnswerModel m(1e9);
  for (int i = 0; i < 1000; ++i) m.Add(10.2, true);   // persons
  for (int i = 0; i < 1000; ++i) m.Add(20.3, true);   // machines
  for (int i = 0; i < 3000; ++i) m.Add(25.3, false);  // no answer
  m.Rebuild();
  // No outcome reported yet: every answer counts as live.
  EXPECT_EQ(m.OutcomeObservations(), 0.0);
  for (size_t k = 0; k < kCheckpoints; ++k) {
    EXPECT_DOUBLE_EQ(m.NewLineLive()[k], m.Conditional(0.0)[k]);
  }
  for (int i = 0; i < 500; ++i) {
    m.AddOutcome(10.2, true);
    m.AddOutcome(20.3, false);
  }
  m.Rebuild();
  const auto& live = m.NewLineLive();
  EXPECT_NEAR(m.Conditional(0.0)[CheckpointIndex(22)], 0.4, 1e-6);
  EXPECT_NEAR(live[CheckpointIndex(12)], 0.2, 0.002);  // the persons
  EXPECT_NEAR(live[CheckpointIndex(22)], 0.2, 0.002);  // machines add nothing
  EXPECT_NEAR(live[CheckpointIndex(8)], 0.0, 1e-9);
}

TEST(ServiceModel, WrapUpFollowsTheTalkBeforeIt) {
  // Half the calls are machines (8 s, then 5 s of wrap-up), half
  // conversations (100 s, then 30 s).
  ServiceModel m(1e9);
  for (int i = 0; i < 1000; ++i) {
    m.Add(8.5, 5.5);
    m.Add(100.5, 30.5);
  }
  m.Rebuild(2.0);
  // Wrapping up for 2 s after a machine: free within 1 s + grace.
  EXPECT_GT(m.FreeWhileWrapping(2.0, 8.5)[CheckpointIndex(2)], 0.99);
  // After a conversation: not within 20 s.
  EXPECT_LT(m.FreeWhileWrapping(2.0, 100.5)[CheckpointIndex(18)], 0.01);
  // Unknown talk: the mixture.
  EXPECT_NEAR(m.FreeWhileWrapping(2.0)[CheckpointIndex(2)], 0.5, 0.05);
  // Talking for 4 s: half are machines, free about 10 s later (within
  // 10 s + grace); the wrap-up after an 8 s talk is 5 s, not the mixture's
  // (with it, half of those would look busy).
  EXPECT_NEAR(m.FreeWhileTalking(4.0)[CheckpointIndex(10)], 0.5, 0.05);
}

TEST(ServiceModel, FreeGivenElapsedTalk) {
  ServiceModel m(1e9);
  for (int i = 0; i < 1000; ++i) m.Add(100.5, 20.5);
  m.Rebuild(2.0);
  // Talking for 95 s: about 26 s of talk and wrap left.
  const auto& p = m.FreeWhileTalking(95.0);
  EXPECT_LT(p[CheckpointIndex(15)], 0.01);  // 17 s ahead
  EXPECT_GT(p[CheckpointIndex(30)], 0.99);  // 32 s ahead
  // Talking for 20 s: nobody is free within the horizon.
  EXPECT_LT(m.FreeWhileTalking(20.0)[kCheckpoints - 1], 0.01);
  // Wrapping for 10 s: about 10 s left.
  const auto& w = m.FreeWhileWrapping(10.0);
  EXPECT_LT(w[CheckpointIndex(6)], 0.01);
  EXPECT_GT(w[CheckpointIndex(12)], 0.99);
  EXPECT_NEAR(m.MeanTalk(), 101.0, 1.0);
}

}  // namespace
}  // namespace dialgrid::pacing
