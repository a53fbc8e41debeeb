#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "dialgrid/type/v1/time_window.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/server/executor.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/request_checks.h"

namespace dialgrid {
namespace {

TEST(GrpcStatus, CarriesReasonFieldAndMetadata) {
  grpc::Status g = ToGrpcStatus(InvalidField("tenant.time_zone", "UNKNOWN_TIME_ZONE", "no such zone"),
                                "tenancy.dialgrid");
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 2);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "UNKNOWN_TIME_ZONE");
  EXPECT_EQ(info.domain(), "tenancy.dialgrid");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&bad));
  EXPECT_EQ(bad.field_violations(0).field(), "tenant.time_zone");

  absl::Status back = FromGrpcStatus(ToGrpcStatus(QuotaExceeded("max_agents", "full"), "x"));
  EXPECT_TRUE(absl::IsResourceExhausted(back));
  EXPECT_EQ(ReasonOf(back), "QUOTA_EXCEEDED");
  EXPECT_EQ(std::string(*back.GetPayload("dialgrid.meta.quota")), "max_agents");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "x").ok());
}

TEST(GrpcStatus, DefaultReasonIsTheCodeName) {
  grpc::Status g = ToGrpcStatus(absl::NotFoundError("gone"), "d");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "NOT_FOUND");
}

TEST(BoundedExecutor, RefusesWhenFullAndDrainsQueuedWork) {
  BoundedExecutor ex(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> started;
  ASSERT_TRUE(ex.TrySubmit([&] {
    started.set_value();
    gate.wait();
    ++ran;
  }));
  started.get_future().wait();  // the worker is busy; the queue is empty
  EXPECT_TRUE(ex.TrySubmit([&] { ++ran; }));
  EXPECT_TRUE(ex.TrySubmit([&] { ++ran; }));
  EXPECT_FALSE(ex.TrySubmit([&] { ++ran; }));  // queue of 2 is full
  release.set_value();
  ex.Drain();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(ex.TrySubmit([] {}));  // drained: accepts nothing
}

TEST(LruEventDeduper, RemembersTheLastN) {
  kafka::LruEventDeduper d(2);
  event::v1::Envelope a, b, c;
  a.set_event_id("a");
  b.set_event_id("b");
  c.set_event_id("c");
  EXPECT_FALSE(*d.Seen(a));
  ASSERT_TRUE(d.MarkHandled(a).ok());
  ASSERT_TRUE(d.MarkHandled(b).ok());
  EXPECT_TRUE(*d.Seen(a));
  ASSERT_TRUE(d.MarkHandled(c).ok());  // evicts a
  EXPECT_FALSE(*d.Seen(a));
  EXPECT_TRUE(*d.Seen(c));
}

}  // namespace
}  // namespace dialgrid

namespace dialgrid {
namespace {

TEST(TenantRateLimiter, EnforcesEachTenantsQuotaWithBurstAndRefill) {
  FakeClock clock;
  int lookups = 0;
  TenantRateLimiter limiter(
      [&](const std::string& tenant) -> absl::StatusOr<int64_t> {
        ++lookups;
        if (tenant == "down") return absl::UnavailableError("no answer");
        return tenant == "small" ? 3 : 0;
      },
      clock, absl::Seconds(5));
  CallContext small;
  small.principal.tenant = "small";
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(small).ok()) << i;
  absl::Status over = limiter.Admit(small);
  EXPECT_TRUE(absl::IsResourceExhausted(over));
  EXPECT_EQ(ReasonOf(over), "QUOTA_EXCEEDED");
  EXPECT_EQ(std::string(*over.GetPayload("dialgrid.meta.quota")), "max_requests_per_second");
  clock.Advance(absl::Milliseconds(400));  // 1.2 tokens back
  EXPECT_TRUE(limiter.Admit(small).ok());
  EXPECT_FALSE(limiter.Admit(small).ok());
  EXPECT_EQ(lookups, 1);  // limit reused until refresh

  CallContext unlimited;
  unlimited.principal.tenant = "big";
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Admit(unlimited).ok());
  CallContext vendor;  // vendor scope is never limited
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Admit(vendor).ok());
  CallContext down;
  down.principal.tenant = "down";
  EXPECT_TRUE(limiter.Admit(down).ok());  // unknown limit: not limited
}

}  // namespace
}  // namespace dialgrid

namespace dialgrid {
namespace {

TEST(CheckRequestValuesTest, DefinedValuesPass) {
  compliance::v1::ScrubNumbersRequest req;
  req.set_dialing_mode(type::v1::DIALING_MODE_PREDICTIVE);
  req.add_entries()->mutable_callee()->set_time_zone_source(
      type::v1::TIME_ZONE_SOURCE_POSTAL_CODE);
  EXPECT_TRUE(CheckRequestValues(req).ok());
  EXPECT_TRUE(CheckRequestValues(compliance::v1::ScrubNumbersRequest()).ok());
}

TEST(CheckRequestValuesTest, UndefinedValueAnywhereIsRefusedNamingTheField) {
  compliance::v1::ScrubNumbersRequest req;
  req.set_dialing_mode(static_cast<type::v1::DialingMode>(6));
  absl::Status st = CheckRequestValues(req);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE");
  EXPECT_EQ(FieldOf(st), "dialing_mode");

  req.set_dialing_mode(type::v1::DIALING_MODE_PREVIEW);
  req.add_entries();
  req.add_entries()->mutable_callee()->set_time_zone_source(
      static_cast<type::v1::TimeZoneSource>(-1));
  st = CheckRequestValues(req);
  EXPECT_EQ(FieldOf(st), "entries[1].callee.time_zone_source");

  type::v1::TimeWindow w;
  w.add_days(type::v1::DAY_OF_WEEK_MONDAY);
  w.add_days(static_cast<type::v1::DayOfWeek>(1000));
  st = CheckRequestValues(w);
  EXPECT_EQ(FieldOf(st), "days[1]");
}

}  // namespace
}  // namespace dialgrid

namespace dialgrid {
namespace {

TEST(CheckRequestValuesTest, DurationsAndTimestampsMustBeWellFormed) {
  compliance::v1::RuleSet rs;
  auto* cap = rs.add_number_caps();
  cap->mutable_window()->set_seconds(86400);
  EXPECT_TRUE(CheckRequestValues(rs).ok());
  cap->mutable_window()->set_nanos(-1);  // mixed signs
  absl::Status st = CheckRequestValues(rs);
  EXPECT_EQ(ReasonOf(st), "INVALID_DURATION");
  EXPECT_EQ(FieldOf(st), "number_caps[0].window");
  cap->mutable_window()->set_seconds(-5);  // negative, one sign: well-formed
  EXPECT_TRUE(CheckRequestValues(rs).ok());
  cap->mutable_window()->set_nanos(-1000000000);
  EXPECT_EQ(ReasonOf(CheckRequestValues(rs)), "INVALID_DURATION");

  compliance::v1::ScrubNumbersRequest scrub;
  scrub.mutable_dial_time()->set_seconds(1700000000);
  EXPECT_TRUE(CheckRequestValues(scrub).ok());
  scrub.mutable_dial_time()->set_nanos(-1);
  EXPECT_EQ(ReasonOf(CheckRequestValues(scrub)), "INVALID_TIME");
  scrub.mutable_dial_time()->set_nanos(0);
  scrub.mutable_dial_time()->set_seconds(253402300800);  // year 10000
  st = CheckRequestValues(scrub);
  EXPECT_EQ(ReasonOf(st), "INVALID_TIME");
  EXPECT_EQ(FieldOf(st), "dial_time");
}

TEST(GrpcStatusTest, EchoedInputIsBoundedInMessageAndDetails) {
  std::string huge(200000, 'x');
  absl::Status st = InvalidField("rule_set.custom_calling_hours[0].holidays", "MALFORMED_HOLIDAY",
                                 absl::StrCat("\"", huge, "\" is not a date"));
  st = WithMetadata(st, "value", huge);
  grpc::Status g = ToGrpcStatus(st, "test.dialgrid");
  EXPECT_LE(g.error_message().size(), kMaxErrorMessageBytes + 32);
  EXPECT_LT(g.error_details().size(), 4096u);  // message twice, metadata, names
  absl::Status back = FromGrpcStatus(g);
  EXPECT_EQ(ReasonOf(back), "MALFORMED_HOLIDAY");
  EXPECT_EQ(FieldOf(back), "rule_set.custom_calling_hours[0].holidays");
  EXPECT_TRUE(absl::StrContains(g.error_message(), absl::StrCat("(", st.message().size(), " bytes)")));
}

TEST(GrpcStatusTest, TruncationKeepsUtf8Whole) {
  std::string s = "ab\xC3\xA9\xC3\xA9";  // "abéé"
  EXPECT_EQ(TruncateForClient(s, 3), "ab... (6 bytes)");
  EXPECT_EQ(TruncateForClient(s, 4), "ab\xC3\xA9... (6 bytes)");
  EXPECT_EQ(TruncateForClient(s, 6), s);
}

// Standard client libraries (grpcio-status, Go status.Details, Java
// StatusProto) pick details by these type URLs.
TEST(GrpcStatusTest, TrailerIsGoogleRpcStatusWithStandardTypeUrls) {
  grpc::Status g = ToGrpcStatus(InvalidField("contact.phone", "INVALID_PHONE_NUMBER", "not a number"),
                                "contacts.dialgrid");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  EXPECT_EQ(rpc.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(rpc.message(), g.error_message());
  ASSERT_EQ(rpc.details_size(), 2);
  EXPECT_EQ(rpc.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(rpc.details(1).type_url(), "type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "contact.phone");
  EXPECT_EQ(bad.field_violations(0).description(), g.error_message());

  g = ToGrpcStatus(QuotaExceeded("max_agents", "agent quota reached"), "tenancy.dialgrid");
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 2);
  EXPECT_EQ(rpc.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(rpc.details(1).type_url(), "type.googleapis.com/google.rpc.QuotaFailure");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(info.domain(), "tenancy.dialgrid");
  EXPECT_EQ(info.metadata().at("quota"), "max_agents");
  google::rpc::QuotaFailure quota;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&quota));
  ASSERT_EQ(quota.violations_size(), 1);
  EXPECT_EQ(quota.violations(0).subject(), "max_agents");
  EXPECT_EQ(quota.violations(0).description(), "agent quota reached");

  // Neither a field nor a quota: ErrorInfo alone. A RESOURCE_EXHAUSTED that
  // names no quota (e.g. out of memory) has no QuotaFailure.
  for (const absl::Status& st : {Unavailable("REDIS_UNAVAILABLE", "redis down"),
                                 WithReason(absl::ResourceExhaustedError("no memory"), "DNC_INDEX_NO_MEMORY")}) {
    g = ToGrpcStatus(st, "d");
    ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
    ASSERT_EQ(rpc.details_size(), 1) << st;
    EXPECT_EQ(rpc.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  }
}

// A status from a server that sends only the standard QuotaFailure still
// yields the quota's name.
TEST(GrpcStatusTest, ReadsTheQuotaFromAForeignQuotaFailure) {
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  rpc.set_message("full");
  google::rpc::QuotaFailure quota;
  quota.add_violations()->set_subject("max_lists");
  rpc.add_details()->PackFrom(quota);
  absl::Status back =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full", rpc.SerializeAsString()));
  EXPECT_TRUE(absl::IsResourceExhausted(back));
  ASSERT_TRUE(back.GetPayload("dialgrid.meta.quota").has_value());
  EXPECT_EQ(std::string(*back.GetPayload("dialgrid.meta.quota")), "max_lists");
}

}  // namespace
}  // namespace dialgrid
