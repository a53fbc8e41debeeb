#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/scheduler.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"

namespace dialgrid {
namespace {

TEST(Errors, ReasonAndFieldTravelWithTheStatus) {
  absl::Status s = InvalidField("tenant.display_name", "FIELD_TOO_LONG", "too long");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LONG");
  EXPECT_EQ(FieldOf(s), "tenant.display_name");
  EXPECT_EQ(ReasonOf(absl::InternalError("x")), "");
  EXPECT_TRUE(WithReason(absl::OkStatus(), "IGNORED").ok());
}

TEST(Names, TenantOfName) {
  EXPECT_EQ(*TenantOfName("name", "tenants/acme/campaigns/c1"), "acme");
  EXPECT_EQ(*TenantOfName("name", "tenants/acme"), "acme");
  EXPECT_EQ(*TenantOfName("name", "vendor"), "");
  EXPECT_EQ(*TenantOfName("name", "vendor/credentials/k1"), "");
  for (const char* bad : {"", "tenants", "tenants/", "Tenants/acme", "tenants/AC", "tenants/ac",
                          "tenants/1abc", "tenants/abc-", "campaigns/x", "tenants/a b c"}) {
    auto t = TenantOfName("name", bad);
    EXPECT_TRUE(absl::IsInvalidArgument(t.status())) << bad;
  }
  EXPECT_EQ(ReasonOf(TenantOfName("name", "campaigns/x").status()), "MALFORMED_NAME");
  EXPECT_EQ(ReasonOf(TenantOfName("name", std::string(2000, 'a')).status()), "NAME_TOO_LONG");
}

TEST(Names, ParseName) {
  auto ids = ParseName("name", "tenants/acme/credentials/k1", "tenants/{tenant}/credentials/{credential}");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"acme", "k1"}));
  EXPECT_FALSE(ParseName("name", "tenants/acme/credential/k1",
                         "tenants/{tenant}/credentials/{credential}").ok());
  EXPECT_FALSE(ParseName("name", "tenants/acme/credentials/k1/x",
                         "tenants/{tenant}/credentials/{credential}").ok());
  EXPECT_FALSE(ParseName("name", "tenants/acme/credentials/", "tenants/{tenant}/credentials/{credential}").ok());
  EXPECT_EQ(TenantHashTag("acme"), "{t:acme}");
  EXPECT_EQ(TenantHashTag(""), "{vendor}");
}

TEST(Log, MasksPhoneNumbers) {
  EXPECT_EQ(MaskPhoneNumbers("+1 (415) 555-0123"), "+* (***) ***-**23");
  EXPECT_EQ(MaskPhoneNumbers("call +14155550123 now"), "call +*********23 now");
  EXPECT_EQ(MaskPhoneNumbers("tenant acme, 42 agents, port 50051"), "tenant acme, 42 agents, port 50051");
  EXPECT_EQ(MaskPhoneNumbers("020 7946 0958"), "*** **** **58");
  EXPECT_EQ(MaskPhoneNumbers("phone=4155550123,"), "phone=********23,");
  // Short digit runs inside ids are left alone.
  EXPECT_EQ(MaskPhoneNumbers("vendor/credentials/k66abc293746a0"),
            "vendor/credentials/k66abc293746a0");
}

// Regression: a run of digits touching a letter ("+1415555012a") was taken
// for part of an id and logged in clear.
TEST(Log, MasksPhoneNumbersNextToLetters) {
  EXPECT_EQ(MaskPhoneNumbers("+1415555012a"), "+********12a");
  EXPECT_EQ(MaskPhoneNumbers("phone=+1415555012a,"), "phone=+********12a,");
  EXPECT_EQ(MaskPhoneNumbers("tel4155550123"), "tel********23");
  EXPECT_EQ(MaskPhoneNumbers("x(415) 555-0123y"), "x(***) ***-**23y");
  EXPECT_EQ(MaskPhoneNumbers("a415.555.0123b"), "a***.***.**23b");
  // Ids with 7 or more digits in a row are masked like numbers.
  EXPECT_EQ(MaskPhoneNumbers("vendor/credentials/k66abc2937461a0"),
            "vendor/credentials/k66abc*****61a0");
  EXPECT_EQ(MaskPhoneNumbers("abc123456def"), "abc123456def");  // 6 digits
}

TEST(Log, MasksLongInputInOnePass) {
  std::string digits(1 << 20, '5');
  std::string masked = MaskPhoneNumbers(absl::StrCat("x", digits, "y"));
  EXPECT_EQ(masked, absl::StrCat("x", std::string((1 << 20) - 2, '*'), "55y"));
  std::string mixed;
  for (int i = 0; i < (1 << 18); ++i) mixed += "1a2 ";
  EXPECT_EQ(MaskPhoneNumbers(mixed), mixed);  // no run reaches 7 digits
}

TEST(Text, PlainTextIsAccepted) {
  for (const char* ok : {"", "ACME Insurance", "Zürich — 東京 😀", "O'Brien-Smith (CRM #12)",
                         "\xc2\xa0nbsp", "zwj \xe2\x80\x8d", "nnbsp \xe2\x80\xaf",
                         "sup \xe2\x81\xb0", "arabic \xd8\x9b", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(IsPlainText(ok)) << ok;
    EXPECT_TRUE(ValidateText("f", ok).ok()) << ok;
  }
}

TEST(Text, ControlDirectionAndBadUtf8AreRefused) {
  const std::string bad[] = {
      std::string("nul\0inside", 10),
      "\x01", "tab\there", "new\nline", "cr\r", "del\x7f", "\x1f",
      "c1 \xc2\x80", "nel \xc2\x85", "c1 \xc2\x9f",
      "lre \xe2\x80\xaa", "rle \xe2\x80\xab", "pdf \xe2\x80\xac", "lro \xe2\x80\xad",
      "rlo \xe2\x80\xae", "lri \xe2\x81\xa6", "rli \xe2\x81\xa7", "fsi \xe2\x81\xa8",
      "pdi \xe2\x81\xa9", "lrm \xe2\x80\x8e", "rlm \xe2\x80\x8f", "alm \xd8\x9c",
      "\xff", "cut \xc3", "cut3 \xe2\x80", "lone \x80", "overlong \xc0\xaf",
      "overlong3 \xe0\x80\xaf", "surrogate \xed\xa0\x80", "too big \xf4\x90\x80\x80",
      "\xf8\x88\x80\x80\x80"};
  for (const std::string& s : bad) {
    EXPECT_FALSE(IsPlainText(s)) << s;
    absl::Status st = ValidateText("contact.first_name", s);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << s;
    EXPECT_EQ(ReasonOf(st), "INVALID_TEXT") << s;
    EXPECT_EQ(FieldOf(st), "contact.first_name") << s;
  }
}

TEST(Text, MultiLineTextTakesTabAndLineBreaksOnly) {
  EXPECT_TRUE(IsPlainText("Lee, Jr.\nII\r\n\tend", TextKind::kMultiLine));
  EXPECT_FALSE(IsPlainText("Lee, Jr.\nII", TextKind::kSingleLine));
  for (const std::string& bad : {std::string("a\0b", 3), std::string("\x0b"), std::string("\x7f"),
                                 std::string("\xc2\x85"), std::string("\xe2\x80\xae"),
                                 std::string("\xff")}) {
    EXPECT_EQ(ReasonOf(ValidateText("f", bad, TextKind::kMultiLine)), "INVALID_TEXT") << bad;
  }
}

TEST(Text, ErrorGivesTheOffsetNotTheText) {
  const std::string input = "secret-name \xe2\x80\xae evil";
  EXPECT_EQ(FirstInvalidTextOffset(input), 12u);
  EXPECT_EQ(FirstInvalidTextOffset("fine"), absl::string_view::npos);
  absl::Status st = ValidateText("display_name", input);
  EXPECT_TRUE(absl::StrContains(st.message(), "byte 12")) << st.message();
  EXPECT_FALSE(absl::StrContains(st.message(), "secret")) << st.message();
  EXPECT_FALSE(absl::StrContains(st.message(), "\xe2\x80\xae"));
}

TEST(Log, JsonEscape) {
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(Random, HexAndBase64AreFreshAndSized) {
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
  EXPECT_EQ(RandomBase64Url(32).size(), 43u);
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}
absl::Status UseMacros(int x, int& out) {
  DG_ASSIGN_OR_RETURN(int h, Half(x));
  DG_RETURN_IF_ERROR(h > 10 ? absl::OutOfRangeError("big") : absl::OkStatus());
  out = h;
  return absl::OkStatus();
}

TEST(StatusMacros, PropagateErrors) {
  int out = 0;
  EXPECT_TRUE(UseMacros(8, out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_TRUE(absl::IsInvalidArgument(UseMacros(3, out)));
  EXPECT_TRUE(absl::IsOutOfRange(UseMacros(40, out)));
}

}  // namespace
}  // namespace dialgrid

namespace dialgrid {
namespace {

TEST(ManualSchedulerTest, RunsDueTasksInTimeOrderInVirtualTime) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  ManualScheduler s(clock);
  std::vector<std::string> runs;
  s.Every(absl::Seconds(10), [&] { runs.push_back(absl::StrCat("tick@", absl::ToUnixSeconds(clock.Now()))); });
  s.After(absl::Seconds(15), [&] { runs.push_back(absl::StrCat("once@", absl::ToUnixSeconds(clock.Now()))); });
  auto cancelled = s.At(absl::FromUnixSeconds(1012), [&] { runs.push_back("cancelled"); });
  s.Cancel(cancelled);
  EXPECT_EQ(s.AdvanceBy(absl::Seconds(9)), 0);
  EXPECT_EQ(s.AdvanceBy(absl::Seconds(21)), 4);  // to 1030
  EXPECT_EQ(runs, (std::vector<std::string>{"tick@1010", "once@1015", "tick@1020", "tick@1030"}));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1030));
}

TEST(ManualSchedulerTest, ATaskCanCancelItselfAndScheduleMore) {
  FakeClock clock;
  ManualScheduler s(clock);
  int n = 0;
  Scheduler::TaskId id = 0;
  id = s.Every(absl::Seconds(1), [&] {
    if (++n == 3) s.Cancel(id);
  });
  s.AdvanceBy(absl::Seconds(10));
  EXPECT_EQ(n, 3);
}

TEST(ThreadSchedulerTest, RunsPeriodicTasksUntilCancelled) {
  ThreadScheduler s;
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  auto id = s.Every(absl::Milliseconds(5), [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++n;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return n >= 3; }));
  }
  s.Cancel(id);
  int after;
  {
    std::lock_guard<std::mutex> lock(mu);
    after = n;
  }
  absl::SleepFor(absl::Milliseconds(30));  // a cancelled task must not run again
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(n, after);
}

TEST(RandomSourceTest, SeededDrawsRepeatAndStayInRange) {
  SeededRandom a(42), b(42), c(43);
  std::vector<uint64_t> da, db, dc;
  for (int i = 0; i < 5; ++i) {
    da.push_back(a.Next());
    db.push_back(b.Next());
    dc.push_back(c.Next());
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  SeededRandom r(7);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    int64_t v = r.UniformInt(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    double u = r.Uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += r.Exponential(2.0);
  }
  EXPECT_NEAR(sum / 20000, 2.0, 0.1);
}

}  // namespace
}  // namespace dialgrid
