#include "services/dialing/pacing/abandon_ledger.h"

#include <gtest/gtest.h>

namespace dialgrid::pacing {
namespace {

TEST(AbandonLedger, DayAndWindow) {
  AbandonLedger ledger(3);
  for (int i = 0; i < 100; ++i) ledger.RecordLiveAnswer(1, i < 5);
  for (int i = 0; i < 100; ++i) ledger.RecordLiveAnswer(2, i < 1);
  EXPECT_DOUBLE_EQ(ledger.Day(1).Rate(), 0.05);
  EXPECT_DOUBLE_EQ(ledger.Day(2).Rate(), 0.01);
  EXPECT_DOUBLE_EQ(ledger.Window(2).Rate(), 0.03);
  EXPECT_DOUBLE_EQ(ledger.Day(7).Rate(), 0.0);
}

TEST(AbandonLedger, WindowForgetsOldDays) {
  AbandonLedger ledger(3);
  for (int i = 0; i < 10; ++i) ledger.RecordLiveAnswer(1, true);
  ledger.RecordLiveAnswer(4, false);
  EXPECT_DOUBLE_EQ(ledger.Window(4).abandoned, 0.0);
  EXPECT_DOUBLE_EQ(ledger.Window(4).live_answers, 1.0);
  EXPECT_DOUBLE_EQ(ledger.Day(1).live_answers, 0.0);  // dropped
}

}  // namespace
}  // namespace dialgrid::pacing
