#include "services/dialing/telephony/simulated_carrier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/clock.h"
#include "services/common/core/scheduler.h"

namespace dialgrid::telephony {
namespace {

using nlohmann::json;

json Constant(double value) { return {{"type", "constant"}, {"value", value}}; }

// One outcome for every call (a live person by default), constant times.
json BaseScenario() {
  return json{
      {"name", "carrier-test"},
      {"agents", 1},
      {"shift_hours", 8},
      {"days_per_seed", 1},
      {"tuning_seeds", json::array()},
      {"reporting_seeds", {1}},
      {"outcomes", {{"human", 1.0}, {"machine", 0.0}, {"busy_failed", 0.0}}},
      {"times",
       {{"setup", Constant(2)},
        {"human_ring", Constant(5)},
        {"machine_ring", Constant(6)},
        {"fail", Constant(3)},
        {"talk", Constant(100)},
        {"wrap", Constant(10)},
        {"patience", Constant(4)}}},
      {"no_answer_timeout_s", 25},
      {"machine_handling", {{"talk", Constant(8)}, {"wrap", Constant(5)}}},
      {"amd",
       {{"enabled", false},
        {"decision_delay_s", 2.0},
        {"greeting_s", 1.0},
        {"false_positive", 0.0},
        {"false_negative", 0.0}}},
      {"tick_s", 1},
      {"max_lines_per_agent", 3.0},
      {"abandon_cap", 0.03},
      {"grace_s", 2.0}};
}

class RecordingSink : public CallEventSink {
 public:
  void OnCallEvent(const CallEvent& event) override {
    events.push_back(event);
    if (on_event) on_event(event);
  }
  std::vector<CallEvent> events;
  std::function<void(const CallEvent&)> on_event;
};

CallRequest Request(const std::string& id, absl::Duration ring_timeout = absl::Seconds(25),
                    AmdMode amd = AmdMode::kOff) {
  CallRequest request;
  request.attempt_id = AttemptId(id);
  request.caller_id = "+15551230001";
  request.to = "+15557654321";
  request.ring_timeout = ring_timeout;
  request.amd = amd;
  return request;
}

class CarrierTest : public ::testing::Test {
 protected:
  void Start(const json& scenario_json,
             const std::function<void(SimulatedCarrierOptions&)>& tweak = {}) {
    auto scenario = sim::ParseScenario(scenario_json.dump());
    ASSERT_TRUE(scenario.ok()) << scenario.status();
    SimulatedCarrierOptions options;
    options.scenario = *scenario;
    options.seed = 7;
    options.connect_delay = sim::Distribution::Constant(0.05);
    options.message_length = sim::Distribution::Constant(6);
    if (tweak) tweak(options);
    auto carrier = SimulatedCarrier::Create(options, scheduler_, sink_);
    ASSERT_TRUE(carrier.ok()) << carrier.status();
    carrier_ = std::move(*carrier);
  }

  // "+7s answered live" etc.: time from t0, type, and what the type carries.
  std::string Describe(const CallEvent& e) const {
    std::string text = absl::StrCat("+", absl::FormatDuration(e.at - t0_), " ", ToString(e.type));
    switch (e.type) {
      case CallEventType::kAnswered:
        absl::StrAppend(&text, " ", ToString(e.amd_verdict));
        break;
      case CallEventType::kFailed:
        absl::StrAppend(&text, " ", ToString(e.failure_cause));
        break;
      case CallEventType::kAgentConnected:
        absl::StrAppend(&text, " ", e.agent_id.value());
        break;
      case CallEventType::kEnded:
        absl::StrAppend(&text, " ", ToString(e.end_cause));
        break;
      case CallEventType::kKeyPressed:
        absl::StrAppend(&text, " ", e.digits);
        break;
      default:
        break;
    }
    return text;
  }

  std::vector<std::string> EventsOf(const std::string& id) const {
    std::vector<std::string> out;
    int expected_sequence = 1;
    for (const CallEvent& e : sink_.events) {
      if (e.attempt_id.value() != id) continue;
      EXPECT_EQ(e.sequence, expected_sequence++) << Describe(e);
      out.push_back(Describe(e));
    }
    return out;
  }

  void RunFor(absl::Duration d) { scheduler_.AdvanceBy(d); }

  FakeClock clock_;
  ManualScheduler scheduler_{clock_};
  const absl::Time t0_ = clock_.Now();
  RecordingSink sink_;
  std::unique_ptr<SimulatedCarrier> carrier_;
};

using Strings = std::vector<std::string>;

// --- The event order of every outcome ---------------------------------------

TEST_F(CarrierTest, BusyIsBusyThenEnded) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.0}, {"machine", 0.0}, {"busy_failed", 1.0}, {"busy_share", 1.0}};
  Start(s);
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+5s busy", "+5s ended busy"}));  // setup 2 + fail 3
}

TEST_F(CarrierTest, FailedCarriesItsCauseThenEnded) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.0}, {"machine", 0.0}, {"busy_failed", 1.0}, {"busy_share", 0.0}};
  Start(s, [](SimulatedCarrierOptions& o) {
    o.failure_causes = {{1.0, FailureCause::kInvalidNumber}};
  });
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+5s failed invalid_number", "+5s ended failed"}));
}

TEST_F(CarrierTest, NoAnswerRingsForTheRingTimeout) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.0}, {"machine", 0.0}, {"busy_failed", 0.0}};
  Start(s);
  ASSERT_TRUE(carrier_->PlaceCall(Request("a", absl::Seconds(18))).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+20s no_answer", "+20s ended no_answer"}));
}

TEST_F(CarrierTest, LiveAnswerConnectedTalksThenTheCalleeHangsUp) {
  Start(BaseScenario());
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type == CallEventType::kAnswered) {
      EXPECT_TRUE(carrier_->ConnectToAgent(e.attempt_id, AgentId("agent-1")).ok());
    }
  };
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"),
            (Strings{"+2s ringing", "+7s answered not_run", "+7.05s agent_connected agent-1",
                     "+1m47.05s remote_hangup", "+1m47.05s ended remote_hangup"}));
  ASSERT_GE(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[1].answered_at, t0_ + absl::Seconds(7));
  EXPECT_EQ(sink_.events[1].amd_decided_at, absl::InfinitePast());
  EXPECT_EQ(carrier_->Stats().in_progress, 0);
  EXPECT_EQ(carrier_->Stats().ended, 1);
}

TEST_F(CarrierTest, TheAgentHangsUp) {
  Start(BaseScenario());
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Seconds(7));
  ASSERT_TRUE(carrier_->ConnectToAgent(AttemptId("a"), AgentId("agent-1")).ok());
  RunFor(absl::Seconds(30));
  ASSERT_TRUE(carrier_->HangUp(AttemptId("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+7s answered not_run",
                                    "+7.05s agent_connected agent-1", "+37s ended local_hangup"}));
}

TEST_F(CarrierTest, AnUnattendedLiveCalleeHangsUpAfterItsPatience) {
  Start(BaseScenario());  // times.patience: 4 s
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+7s answered not_run", "+11s remote_hangup",
                                    "+11s ended remote_hangup"}));
}

TEST_F(CarrierTest, WithoutScenarioPatienceTheOptionsDefaultApplies) {
  json s = BaseScenario();
  s["times"].erase("patience");
  Start(s, [](SimulatedCarrierOptions& o) { o.default_patience = sim::Distribution::Constant(9); });
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+7s answered not_run", "+16s remote_hangup",
                                    "+16s ended remote_hangup"}));
}

TEST_F(CarrierTest, MachineWithAmdGetsTheVerdictThenTheMessage) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.0}, {"machine", 1.0}, {"busy_failed", 0.0}};
  Start(s);
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type == CallEventType::kAnswered && e.amd_verdict == AmdVerdict::kMachine) {
      EXPECT_TRUE(
          carrier_->PlayMessageAndHangUp(e.attempt_id, MessageRequest{"machine-message", ""}).ok());
    }
  };
  ASSERT_TRUE(carrier_->PlaceCall(Request("a", absl::Seconds(25), AmdMode::kOn)).ok());
  RunFor(absl::Minutes(5));
  // Picked up at 2 + 6 = 8 s, the verdict 2 s later, a 6 s message.
  EXPECT_EQ(EventsOf("a"),
            (Strings{"+2s ringing", "+10s answered machine", "+16s ended message_played"}));
  ASSERT_GE(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[1].answered_at, t0_ + absl::Seconds(8));
  EXPECT_EQ(sink_.events[1].amd_decided_at, t0_ + absl::Seconds(10));
}

TEST_F(CarrierTest, AnUnattendedMachineHangsUpAfterItsRecording) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.0}, {"machine", 1.0}, {"busy_failed", 0.0}};
  Start(s, [](SimulatedCarrierOptions& o) { o.machine_hangup = sim::Distribution::Constant(30); });
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+8s answered not_run", "+38s remote_hangup",
                                    "+38s ended remote_hangup"}));
}

TEST_F(CarrierTest, LiveCalleeWhoHangsUpDuringAmdIsAnsweredUndecided) {
  json s = BaseScenario();
  s["times"]["patience"] = Constant(1.5);  // AMD takes 2 s
  Start(s);
  ASSERT_TRUE(carrier_->PlaceCall(Request("a", absl::Seconds(25), AmdMode::kOn)).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+8.5s answered undecided",
                                    "+8.5s remote_hangup", "+8.5s ended remote_hangup"}));
}

TEST_F(CarrierTest, HangUpWhileRingingCancelsTheCall) {
  Start(BaseScenario());
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Seconds(3));
  ASSERT_TRUE(carrier_->HangUp(AttemptId("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+3s ended local_hangup"}));
}

TEST_F(CarrierTest, HangUpBeforeRingingEndsAtOnce) {
  Start(BaseScenario());
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  ASSERT_TRUE(carrier_->HangUp(AttemptId("a")).ok());
  EXPECT_TRUE(sink_.events.empty()) << "a command must not call the sink synchronously";
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+0 ended local_hangup"}));
}

TEST_F(CarrierTest, HangUpCutsAMessageShort) {
  Start(BaseScenario());
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Seconds(8));
  ASSERT_TRUE(carrier_->PlayMessageAndHangUp(AttemptId("a"), MessageRequest{"abandon", ""}).ok());
  RunFor(absl::Seconds(1));
  ASSERT_TRUE(carrier_->HangUp(AttemptId("a")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"),
            (Strings{"+2s ringing", "+7s answered not_run", "+9s ended local_hangup"}));
}

// A live callee who hears a message may press the opt-out key it offers:
// KeyPressed with that key within the message, which plays on unless the
// dialer hangs up.
TEST_F(CarrierTest, ALiveCalleePressesTheOptOutKeyDuringAMessage) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) { o.opt_out_share = 1.0; });
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  ASSERT_TRUE(carrier_->PlaceCall(Request("b")).ok());
  RunFor(absl::Seconds(8));
  ASSERT_TRUE(carrier_->PlayMessageAndHangUp(AttemptId("a"), MessageRequest{"agentless", "9"}).ok());
  ASSERT_TRUE(carrier_->PlayMessageAndHangUp(AttemptId("b"), MessageRequest{"agentless", "#"}).ok());
  const CallFate fate = carrier_->Fate(Request("a"), t0_);
  ASSERT_TRUE(fate.presses_opt_out);
  sink_.on_event = [&](const CallEvent& e) {  // the dialer's answer: hang up on "b"
    if (e.type == CallEventType::kKeyPressed && e.attempt_id.value() == "b") {
      EXPECT_TRUE(carrier_->HangUp(e.attempt_id).ok());
    }
  };
  RunFor(absl::Minutes(5));
  const absl::Time pressed = t0_ + absl::Seconds(8) + absl::Seconds(6) * fate.opt_out_at;
  const auto a = EventsOf("a");
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[2], absl::StrCat("+", absl::FormatDuration(pressed - t0_), " key_pressed 9"));
  EXPECT_EQ(a[3], "+14s ended message_played");
  const auto b = EventsOf("b");
  ASSERT_EQ(b.size(), 4u);
  EXPECT_TRUE(absl::StrContains(b[2], "key_pressed #")) << b[2];  // the key its message offers
  EXPECT_TRUE(absl::StrContains(b[3], "ended local_hangup")) << b[3];
}

// Nobody presses it without the share, nor when the message offers no key,
// and machines never do; a key that is not one is refused.
TEST_F(CarrierTest, NoKeyIsPressedWithoutTheShareOrByAMachine) {
  json s = BaseScenario();
  Start(s);
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Seconds(8));
  ASSERT_TRUE(carrier_->PlayMessageAndHangUp(AttemptId("a"), MessageRequest{"agentless", "9"}).ok());
  RunFor(absl::Minutes(1));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+7s answered not_run", "+14s ended message_played"}));
  sink_.events.clear();
  carrier_.reset();
  Start(s, [](SimulatedCarrierOptions& o) { o.opt_out_share = 1.0; });
  ASSERT_TRUE(carrier_->PlaceCall(Request("n")).ok());
  RunFor(absl::Seconds(8));
  EXPECT_EQ(carrier_->PlayMessageAndHangUp(AttemptId("n"), MessageRequest{"agentless", "99"}).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(carrier_->PlayMessageAndHangUp(AttemptId("n"), MessageRequest{"agentless", ""}).ok());
  RunFor(absl::Minutes(1));
  const auto n = EventsOf("n");  // a message offering no key: nobody presses one
  ASSERT_EQ(n.size(), 3u);
  EXPECT_TRUE(absl::StrContains(n[2], "ended message_played")) << n[2];
  s["outcomes"] = {{"human", 0.0}, {"machine", 1.0}, {"busy_failed", 0.0}};
  sink_.events.clear();
  carrier_.reset();
  Start(s, [](SimulatedCarrierOptions& o) { o.opt_out_share = 1.0; });
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type == CallEventType::kAnswered) {
      EXPECT_TRUE(carrier_->PlayMessageAndHangUp(e.attempt_id, MessageRequest{"machine", "9"}).ok());
    }
  };
  ASSERT_TRUE(carrier_->PlaceCall(Request("m", absl::Seconds(25), AmdMode::kOn)).ok());
  RunFor(absl::Minutes(5));
  for (const auto& e : EventsOf("m")) EXPECT_FALSE(absl::StrContains(e, "key_pressed")) << e;
}

TEST_F(CarrierTest, CalleeHangsUpWhileTheBridgeIsBeingMade) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) {
    o.connect_delay = sim::Distribution::Constant(10);  // longer than the 4 s patience
  });
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Seconds(7));
  ASSERT_TRUE(carrier_->ConnectToAgent(AttemptId("a"), AgentId("agent-1")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+7s answered not_run", "+11s remote_hangup",
                                    "+11s ended remote_hangup"}));
}

TEST_F(CarrierTest, AttestationIsReportedPerCallerId) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) {
    o.default_attestation = Attestation::kNotReported;
    o.attestation_by_caller_id["+15551230002"] = Attestation::kGateway;
  });
  CallRequest other = Request("b");
  other.caller_id = "+15551230002";
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  ASSERT_TRUE(carrier_->PlaceCall(other).ok());
  RunFor(absl::Minutes(5));
  ASSERT_FALSE(sink_.events.empty());
  for (const CallEvent& e : sink_.events) {
    EXPECT_EQ(e.attestation, e.attempt_id.value() == "b" ? Attestation::kGateway
                                                         : Attestation::kNotReported)
        << Describe(e);
  }
}

TEST_F(CarrierTest, ACallerIdLabelledAsSpamIsAnsweredLessAndNoOtherCallChanges) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.4}, {"machine", 0.2}, {"busy_failed", 0.1}};
  Start(s, [](SimulatedCarrierOptions& o) { o.answer_factor_by_caller_id["+15551230002"] = 0.25; });
  int live[2] = {0, 0}, machines[2] = {0, 0}, unchanged = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    CallRequest fine = Request(absl::StrCat("c", i));
    CallRequest labelled = fine;
    labelled.caller_id = "+15551230002";
    const CallFate a = carrier_->Fate(fine, t0_), b = carrier_->Fate(labelled, t0_);
    live[0] += a.callee == CallFate::Callee::kLive;
    live[1] += b.callee == CallFate::Callee::kLive;
    machines[0] += a.callee == CallFate::Callee::kMachine;
    machines[1] += b.callee == CallFate::Callee::kMachine;
    // Everyone but the live callees who now let it ring meets the same fate.
    if (a.callee == b.callee || (a.callee == CallFate::Callee::kLive &&
                                 b.callee == CallFate::Callee::kNoAnswer)) {
      ++unchanged;
    }
  }
  EXPECT_NEAR(live[0] / double(n), 0.4, 0.03);
  EXPECT_NEAR(live[1] / double(n), 0.1, 0.02);
  EXPECT_EQ(machines[0], machines[1]);
  EXPECT_EQ(unchanged, n);
}

// --- Ring timeout ------------------------------------------------------------

TEST_F(CarrierTest, RingTimeoutIsHonouredAtItsBoundary) {
  json s = BaseScenario();
  s["times"]["human_ring"] = Constant(30);
  Start(s);
  ASSERT_TRUE(carrier_->PlaceCall(Request("short", absl::Seconds(20))).ok());
  ASSERT_TRUE(carrier_->PlaceCall(Request("exact", absl::Seconds(30))).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("short"),
            (Strings{"+2s ringing", "+22s no_answer", "+22s ended no_answer"}));
  EXPECT_EQ(EventsOf("exact")[1], "+32s answered not_run");
}

TEST_F(CarrierTest, NoCallRingsLongerThanItsTimeout) {
  json s = BaseScenario();
  s["times"]["human_ring"] = {{"type", "lognormal"}, {"mean", 8}, {"sd", 4}};
  s["times"]["setup"] = {{"type", "uniform"}, {"min", 1}, {"max", 3}};
  Start(s, [](SimulatedCarrierOptions& o) { o.max_concurrent_calls = 5000; });
  const absl::Duration timeout = absl::Seconds(12);  // about 1 in 8 rings longer
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(carrier_->PlaceCall(Request(absl::StrCat("c", i), timeout)).ok());
  }
  RunFor(absl::Hours(1));
  std::map<std::string, absl::Time> ringing;
  int answered = 0, no_answer = 0;
  for (const CallEvent& e : sink_.events) {
    if (e.type == CallEventType::kRinging) ringing[e.attempt_id.value()] = e.at;
    if (e.type == CallEventType::kAnswered) {
      ++answered;
      EXPECT_LE(e.answered_at - ringing[e.attempt_id.value()], timeout);
    }
    if (e.type == CallEventType::kNoAnswer) {
      ++no_answer;
      EXPECT_EQ(e.at - ringing[e.attempt_id.value()], timeout);
    }
  }
  EXPECT_EQ(answered + no_answer, 2000);
  // P(lognormal(8, 4) > 12) = 0.137: 274 expected, sd 15.
  EXPECT_NEAR(no_answer, 274, 70);
}

// --- AMD errors ---------------------------------------------------------------

// Finds attempt ids whose fate is `callee` with AMD verdict `verdict`.
std::vector<std::string> FindFates(const SimulatedCarrier& carrier, absl::Time at,
                                   CallFate::Callee callee, AmdVerdict verdict, int n) {
  std::vector<std::string> ids;
  for (int i = 0; static_cast<int>(ids.size()) < n && i < 100000; ++i) {
    const std::string id = absl::StrCat("f", i);
    const CallFate fate =
        carrier.Fate(Request(id, absl::Seconds(25), AmdMode::kOn), at);
    if (fate.callee == callee && fate.verdict == verdict) ids.push_back(id);
  }
  return ids;
}

TEST_F(CarrierTest, AmdFalsePositiveReportsMachineButTheCalleeBehavesLive) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.5}, {"machine", 0.5}, {"busy_failed", 0.0}};
  s["amd"]["false_positive"] = 0.2;
  s["amd"]["false_negative"] = 0.2;
  Start(s, [](SimulatedCarrierOptions& o) { o.machine_hangup = sim::Distribution::Constant(30); });
  const auto ids =
      FindFates(*carrier_, t0_, CallFate::Callee::kLive, AmdVerdict::kMachine, 2);
  ASSERT_EQ(ids.size(), 2u);
  // One left alone: a live person's patience (4 s), not a machine's 30 s.
  // The other routed anyway: the live talk time (100 s), not a machine's 8 s.
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type == CallEventType::kAnswered && e.attempt_id.value() == ids[1]) {
      EXPECT_TRUE(carrier_->ConnectToAgent(e.attempt_id, AgentId("agent-1")).ok());
    }
  };
  for (const auto& id : ids) {
    ASSERT_TRUE(carrier_->PlaceCall(Request(id, absl::Seconds(25), AmdMode::kOn)).ok());
  }
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf(ids[0]), (Strings{"+2s ringing", "+9s answered machine",
                                       "+11s remote_hangup", "+11s ended remote_hangup"}));
  EXPECT_EQ(EventsOf(ids[1]),
            (Strings{"+2s ringing", "+9s answered machine", "+9.05s agent_connected agent-1",
                     "+1m49.05s remote_hangup", "+1m49.05s ended remote_hangup"}));
}

TEST_F(CarrierTest, AmdFalseNegativeReportsLiveButTheCalleeIsAMachine) {
  json s = BaseScenario();
  s["outcomes"] = {{"human", 0.5}, {"machine", 0.5}, {"busy_failed", 0.0}};
  s["amd"]["false_positive"] = 0.2;
  s["amd"]["false_negative"] = 0.2;
  Start(s, [](SimulatedCarrierOptions& o) { o.machine_hangup = sim::Distribution::Constant(30); });
  const auto ids =
      FindFates(*carrier_, t0_, CallFate::Callee::kMachine, AmdVerdict::kLive, 2);
  ASSERT_EQ(ids.size(), 2u);
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type == CallEventType::kAnswered && e.attempt_id.value() == ids[1]) {
      EXPECT_TRUE(carrier_->ConnectToAgent(e.attempt_id, AgentId("agent-1")).ok());
    }
  };
  for (const auto& id : ids) {
    ASSERT_TRUE(carrier_->PlaceCall(Request(id, absl::Seconds(25), AmdMode::kOn)).ok());
  }
  RunFor(absl::Minutes(5));
  // Machine: picked up at 8 s, verdict "live" at 10 s; unattended it stays
  // 30 s from the pick-up; routed, the agent hears it for 8 s.
  EXPECT_EQ(EventsOf(ids[0]), (Strings{"+2s ringing", "+10s answered live",
                                       "+38s remote_hangup", "+38s ended remote_hangup"}));
  EXPECT_EQ(EventsOf(ids[1]),
            (Strings{"+2s ringing", "+10s answered live", "+10.05s agent_connected agent-1",
                     "+18.05s remote_hangup", "+18.05s ended remote_hangup"}));
}

// --- Shares over many calls ---------------------------------------------------

TEST_F(CarrierTest, SharesMatchThePublicScenario) {
  // The public suite's 20 % live case (machines 20 %, busy/failed 15 %,
  // AMD FP 1 %, FN 10 %), AMD on for every call. Busy/failed split 50/50.
  auto scenario = sim::LoadScenario(std::string(DIALGRID_SCENARIO_DIR) +
                                    "/public/n10-live20-amdon.json");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  json s = BaseScenario();  // only to satisfy Start; replaced below
  Start(s, [&](SimulatedCarrierOptions& o) {
    o.scenario = *scenario;
    o.scenario.amd.false_positive = 0.05;  // large enough to measure
    o.max_concurrent_calls = 100000;
  });
  // Live answers go to an agent (the talk times are measured), machine
  // verdicts get the message.
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type != CallEventType::kAnswered) return;
    if (e.amd_verdict == AmdVerdict::kLive) {
      EXPECT_TRUE(carrier_->ConnectToAgent(e.attempt_id, AgentId("agent")).ok());
    } else if (e.amd_verdict == AmdVerdict::kMachine) {
      EXPECT_TRUE(carrier_->PlayMessageAndHangUp(e.attempt_id, MessageRequest{"m", ""}).ok());
    }
  };
  const int n = 20000;
  const absl::Duration timeout = absl::Seconds(60);  // every answer comes before it
  int live = 0, machine = 0, fp = 0, fn = 0, undecided = 0, connectable = 0;
  for (int i = 0; i < n; ++i) {
    const CallRequest request = Request(absl::StrCat("s", i), timeout, AmdMode::kOn);
    const CallFate fate = carrier_->Fate(request, t0_);
    live += fate.callee == CallFate::Callee::kLive;
    machine += fate.callee == CallFate::Callee::kMachine;
    fp += fate.callee == CallFate::Callee::kLive && fate.verdict == AmdVerdict::kMachine;
    fn += fate.callee == CallFate::Callee::kMachine && fate.verdict == AmdVerdict::kLive;
    // A callee whose patience runs out while AMD listens, or while the bridge
    // is made, is not connected.
    const bool answers =
        fate.callee == CallFate::Callee::kLive || fate.callee == CallFate::Callee::kMachine;
    undecided += answers && fate.callee_hangup < fate.amd_delay;
    connectable += answers && fate.verdict == AmdVerdict::kLive &&
                   fate.callee_hangup >= fate.amd_delay + fate.connect_delay;
    ASSERT_TRUE(carrier_->PlaceCall(request).ok());
  }
  RunFor(absl::Hours(2));
  std::map<CallEventType, int> count;
  std::map<std::string, absl::Time> ringing, connected;
  double ring_sum = 0, talk_sum = 0;
  int ring_n = 0, talk_n = 0;
  for (const CallEvent& e : sink_.events) {
    count[e.type]++;
    const std::string& id = e.attempt_id.value();
    if (e.type == CallEventType::kRinging) ringing[id] = e.at;
    if (e.type == CallEventType::kAnswered) {
      const CallFate fate = carrier_->Fate(Request(id, timeout, AmdMode::kOn), t0_);
      if (fate.callee == CallFate::Callee::kLive) {
        ring_sum += absl::ToDoubleSeconds(e.answered_at - ringing[id]);
        ++ring_n;
      }
    }
    if (e.type == CallEventType::kAgentConnected) connected[id] = e.at;
    if (e.type == CallEventType::kRemoteHangup && connected.count(id) &&
        carrier_->Fate(Request(id, timeout, AmdMode::kOn), t0_).callee ==
            CallFate::Callee::kLive) {
      talk_sum += absl::ToDoubleSeconds(e.at - connected[id]);
      ++talk_n;
    }
  }
  auto near_share = [n](int observed, double p) {
    const double tolerance = 4.5 * std::sqrt(p * (1 - p) / n);  // fixed seed: not flaky
    EXPECT_NEAR(static_cast<double>(observed) / n, p, tolerance) << "expected share " << p;
  };
  EXPECT_EQ(count[CallEventType::kEnded], n);
  near_share(count[CallEventType::kAnswered], 0.4);
  near_share(count[CallEventType::kBusy], 0.075);
  near_share(count[CallEventType::kFailed], 0.075);
  near_share(count[CallEventType::kNoAnswer], 0.45);
  near_share(live, 0.2);
  near_share(machine, 0.2);
  // AMD errors: 5 % of live answers called machine, 10 % of machines called live.
  EXPECT_NEAR(static_cast<double>(fp) / live, 0.05, 4.5 * std::sqrt(0.05 * 0.95 / live));
  EXPECT_NEAR(static_cast<double>(fn) / machine, 0.10, 4.5 * std::sqrt(0.10 * 0.90 / machine));
  // Live verdicts are connected (live persons less FPs, plus machines' FNs)
  // unless the callee gave up first; about 5 % of live persons do during the
  // 2 s of AMD (patience gamma(6, 3)).
  EXPECT_EQ(count[CallEventType::kAgentConnected], connectable);
  EXPECT_LE(connectable, live - fp + fn);
  EXPECT_GT(connectable, 0.9 * (live - fp + fn));
  int undecided_events = 0;
  for (const CallEvent& e : sink_.events) {
    undecided_events +=
        e.type == CallEventType::kAnswered && e.amd_verdict == AmdVerdict::kUndecided;
  }
  EXPECT_EQ(undecided_events, undecided);
  EXPECT_GT(undecided, 0);
  // Ring time lognormal(8, 4), talk lognormal(150, 150): sample means.
  ASSERT_GT(ring_n, 0);
  ASSERT_GT(talk_n, 0);
  EXPECT_NEAR(ring_sum / ring_n, 8.0, 4.5 * 4.0 / std::sqrt(ring_n));
  EXPECT_NEAR(talk_sum / talk_n, 150.0, 4.5 * 150.0 / std::sqrt(talk_n));
  const SimulatedCarrierStats stats = carrier_->Stats();
  EXPECT_EQ(stats.placed, n);
  EXPECT_EQ(stats.ended, n);
  EXPECT_EQ(stats.in_progress, 0);
}

// --- Determinism ----------------------------------------------------------------

// Places `ids` in order on a fresh carrier with `seed` (the public 20 % live
// case, AMD on), connects live verdicts and plays the message to machines;
// returns every event, described.
std::vector<std::string> RunCampaign(uint64_t seed, const std::vector<std::string>& ids) {
  auto scenario = sim::LoadScenario(std::string(DIALGRID_SCENARIO_DIR) +
                                    "/public/n10-live20-amdon.json");
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  FakeClock clock;
  const absl::Time t0 = clock.Now();
  ManualScheduler scheduler(clock);
  RecordingSink sink;
  SimulatedCarrierOptions options;
  options.scenario = *scenario;
  options.seed = seed;
  auto carrier = SimulatedCarrier::Create(options, scheduler, sink);
  EXPECT_TRUE(carrier.ok()) << carrier.status();
  sink.on_event = [&](const CallEvent& e) {
    if (e.type != CallEventType::kAnswered) return;
    if (e.amd_verdict == AmdVerdict::kLive) {
      EXPECT_TRUE((*carrier)->ConnectToAgent(e.attempt_id, AgentId("agent")).ok());
    } else if (e.amd_verdict == AmdVerdict::kMachine) {
      EXPECT_TRUE((*carrier)->PlayMessageAndHangUp(e.attempt_id, MessageRequest{"m", ""}).ok());
    }
  };
  for (const auto& id : ids) {
    EXPECT_TRUE((*carrier)->PlaceCall(Request(id, absl::Seconds(25), AmdMode::kOn)).ok());
  }
  scheduler.AdvanceBy(absl::Hours(2));
  std::vector<std::string> out;
  for (const CallEvent& e : sink.events) {
    out.push_back(absl::StrCat(e.attempt_id.value(), " #", e.sequence, " +",
                               absl::FormatDuration(e.at - t0), " ", ToString(e.type), " ",
                               ToString(e.amd_verdict), " ", ToString(e.end_cause)));
  }
  return out;
}

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("attempt-", i));
  return ids;
}

TEST(CarrierDeterminism, SameSeedSameCallsSameEvents) {
  const auto first = RunCampaign(42, Ids(300));
  const auto second = RunCampaign(42, Ids(300));
  ASSERT_GT(first.size(), 600u);
  EXPECT_EQ(first, second);
}

TEST(CarrierDeterminism, AnotherSeedGivesOtherEvents) {
  EXPECT_NE(RunCampaign(42, Ids(300)), RunCampaign(43, Ids(300)));
}

TEST(CarrierDeterminism, ACallsFateDoesNotDependOnTheOtherCalls) {
  // The same calls placed in the reverse order, and a subset: each call's own
  // events are the same.
  auto per_call = [](const std::vector<std::string>& events) {
    std::map<std::string, std::vector<std::string>> by_call;
    for (const auto& e : events) by_call[e.substr(0, e.find(' '))].push_back(e);
    return by_call;
  };
  std::vector<std::string> reversed = Ids(300);
  std::reverse(reversed.begin(), reversed.end());
  const auto forward = per_call(RunCampaign(42, Ids(300)));
  EXPECT_EQ(forward, per_call(RunCampaign(42, reversed)));
  const auto subset = per_call(RunCampaign(42, Ids(50)));
  for (const auto& [id, events] : subset) EXPECT_EQ(events, forward.at(id)) << id;
}

// --- Refusals ---------------------------------------------------------------------

TEST_F(CarrierTest, CapacityIsRefusedClearlyAndFreedWhenACallEnds) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) { o.max_concurrent_calls = 2; });
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  ASSERT_TRUE(carrier_->PlaceCall(Request("b")).ok());
  const absl::Status refused = carrier_->PlaceCall(Request("c"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("capacity: 2 of 2"), absl::string_view::npos) << refused;
  EXPECT_EQ(carrier_->Stats().refused_at_capacity, 1);
  EXPECT_EQ(carrier_->Stats().peak_in_progress, 2);
  ASSERT_TRUE(carrier_->HangUp(AttemptId("a")).ok());
  // Still counted until its Ended is sent.
  EXPECT_EQ(carrier_->PlaceCall(Request("c")).code(), absl::StatusCode::kResourceExhausted);
  scheduler_.RunDue();
  EXPECT_TRUE(carrier_->PlaceCall(Request("c")).ok());
  RunFor(absl::Minutes(5));
  EXPECT_TRUE(EventsOf("c").size() >= 3u);
}

TEST_F(CarrierTest, UnknownCallsGetNotFound) {
  Start(BaseScenario());
  const AttemptId nope("nope");
  EXPECT_EQ(carrier_->ConnectToAgent(nope, AgentId("agent-1")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(carrier_->PlayMessageAndHangUp(nope, MessageRequest{"m", ""}).code(),
            absl::StatusCode::kNotFound);
  const absl::Status status = carrier_->HangUp(nope);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("not known to the carrier"), absl::string_view::npos);
  // An ended call is forgotten.
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Minutes(5));
  ASSERT_EQ(EventsOf("a").back(), "+11s ended remote_hangup");
  EXPECT_EQ(carrier_->HangUp(AttemptId("a")).code(), absl::StatusCode::kNotFound);
}

TEST_F(CarrierTest, CommandsInTheWrongStateAreRefused) {
  Start(BaseScenario());
  const AttemptId a("a");
  const AgentId agent("agent-1");
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  // Before the answer (dialing, then ringing).
  EXPECT_EQ(carrier_->ConnectToAgent(a, agent).code(), absl::StatusCode::kFailedPrecondition);
  RunFor(absl::Seconds(3));
  const absl::Status early = carrier_->ConnectToAgent(a, agent);
  EXPECT_EQ(early.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(early.message().find("not answered yet"), absl::string_view::npos) << early;
  EXPECT_EQ(carrier_->PlayMessageAndHangUp(a, MessageRequest{"m", ""}).code(),
            absl::StatusCode::kFailedPrecondition);
  RunFor(absl::Seconds(4));  // answered at 7 s
  ASSERT_TRUE(carrier_->ConnectToAgent(a, agent).ok());
  // Twice, or a message once connecting.
  EXPECT_EQ(carrier_->ConnectToAgent(a, agent).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(carrier_->PlayMessageAndHangUp(a, MessageRequest{"m", ""}).code(),
            absl::StatusCode::kFailedPrecondition);
  RunFor(absl::Seconds(1));  // connected
  EXPECT_EQ(carrier_->ConnectToAgent(a, AgentId("agent-2")).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(carrier_->HangUp(a).ok());
  EXPECT_EQ(carrier_->HangUp(a).code(), absl::StatusCode::kFailedPrecondition);
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf("a"), (Strings{"+2s ringing", "+7s answered not_run",
                                    "+7.05s agent_connected agent-1", "+8s ended local_hangup"}));
}

TEST_F(CarrierTest, ConnectWhileAmdIsListeningIsRefused) {
  Start(BaseScenario());
  ASSERT_TRUE(carrier_->PlaceCall(Request("a", absl::Seconds(25), AmdMode::kOn)).ok());
  RunFor(absl::Seconds(8));  // picked up at 7 s, verdict at 9 s
  EXPECT_EQ(carrier_->ConnectToAgent(AttemptId("a"), AgentId("agent-1")).code(),
            absl::StatusCode::kFailedPrecondition);
  RunFor(absl::Seconds(1));
  EXPECT_TRUE(carrier_->ConnectToAgent(AttemptId("a"), AgentId("agent-1")).ok());
}

TEST_F(CarrierTest, MessageAfterAConnectAndAfterAMessageIsRefused) {
  Start(BaseScenario());
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  RunFor(absl::Seconds(7));
  ASSERT_TRUE(carrier_->PlayMessageAndHangUp(AttemptId("a"), MessageRequest{"m", ""}).ok());
  EXPECT_EQ(carrier_->PlayMessageAndHangUp(AttemptId("a"), MessageRequest{"m", ""}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(carrier_->ConnectToAgent(AttemptId("a"), AgentId("agent-1")).code(),
            absl::StatusCode::kFailedPrecondition);
  RunFor(absl::Minutes(5));
  // The message outlives the 4 s patience: a live person hears it out.
  EXPECT_EQ(EventsOf("a"),
            (Strings{"+2s ringing", "+7s answered not_run", "+13s ended message_played"}));
}

TEST_F(CarrierTest, BadRequestsNameTheField) {
  Start(BaseScenario());
  auto field_of = [&](const CallRequest& r) {
    const absl::Status s = carrier_->PlaceCall(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    return std::string(s.message().substr(0, s.message().find(':')));
  };
  CallRequest r = Request("");
  EXPECT_EQ(field_of(r), "attempt_id");
  r = Request("a");
  r.caller_id = "5551230001";
  EXPECT_EQ(field_of(r), "caller_id");
  r = Request("a");
  r.to = "+1555-765";
  EXPECT_EQ(field_of(r), "to");
  r = Request("a", absl::ZeroDuration());
  EXPECT_EQ(field_of(r), "ring_timeout");
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  EXPECT_EQ(carrier_->PlaceCall(Request("a")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(carrier_->ConnectToAgent(AttemptId("a"), AgentId("")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(carrier_->PlayMessageAndHangUp(AttemptId("a"), MessageRequest{"", ""}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(carrier_->Stats().placed, 1);
}

TEST(CarrierCreate, RefusesBadOptions) {
  FakeClock clock;
  ManualScheduler scheduler(clock);
  RecordingSink sink;
  auto scenario = sim::ParseScenario(BaseScenario().dump());
  ASSERT_TRUE(scenario.ok());
  SimulatedCarrierOptions options;
  options.scenario = *scenario;
  options.max_concurrent_calls = 0;
  EXPECT_EQ(SimulatedCarrier::Create(options, scheduler, sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.max_concurrent_calls = 1;
  options.failure_causes = {{0.0, FailureCause::kNetwork}};
  EXPECT_EQ(SimulatedCarrier::Create(options, scheduler, sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.failure_causes = {{1.0, FailureCause::kNetwork}};
  options.opt_out_share = 1.5;
  EXPECT_EQ(SimulatedCarrier::Create(options, scheduler, sink).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.opt_out_share = 0.1;
  options.scenario = sim::Scenario();  // not parsed: no live-answer share
  EXPECT_EQ(SimulatedCarrier::Create(options, scheduler, sink).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Lifetime and real time ---------------------------------------------------------

TEST(CarrierLifetime, DestroyingTheCarrierCancelsWhatItScheduled) {
  FakeClock clock;
  ManualScheduler scheduler(clock);
  RecordingSink sink;
  auto scenario = sim::ParseScenario(BaseScenario().dump());
  ASSERT_TRUE(scenario.ok());
  SimulatedCarrierOptions options;
  options.scenario = *scenario;
  auto carrier = SimulatedCarrier::Create(options, scheduler, sink);
  ASSERT_TRUE(carrier.ok());
  ASSERT_TRUE((*carrier)->PlaceCall(Request("a")).ok());
  scheduler.AdvanceBy(absl::Seconds(3));
  ASSERT_EQ(sink.events.size(), 1u);  // ringing
  carrier->reset();
  EXPECT_EQ(scheduler.AdvanceBy(absl::Minutes(5)), 0);
  EXPECT_EQ(sink.events.size(), 1u);
}

// A sink for the real-time test: waits for the events on a condition variable.
class WaitingSink : public CallEventSink {
 public:
  void OnCallEvent(const CallEvent& event) override {
    if (on_event) on_event(event);
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(event);
    cv.notify_all();
  }
  bool WaitForEnded(int n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
      int ended = 0;
      for (const auto& e : events) ended += e.type == CallEventType::kEnded;
      return ended >= n;
    });
  }
  std::function<void(const CallEvent&)> on_event;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<CallEvent> events;
};

TEST(CarrierRealTime, RunsOnAThreadScheduler) {
  json s = BaseScenario();
  for (const char* key : {"setup", "human_ring", "fail"}) s["times"][key] = Constant(0.01);
  s["times"]["talk"] = Constant(0.02);
  s["times"]["patience"] = Constant(30);
  auto scenario = sim::ParseScenario(s.dump());
  ASSERT_TRUE(scenario.ok());
  WaitingSink sink;
  ThreadScheduler scheduler;
  SimulatedCarrierOptions options;
  options.scenario = *scenario;
  options.connect_delay = sim::Distribution::Constant(0.01);
  auto carrier = SimulatedCarrier::Create(options, scheduler, sink);
  ASSERT_TRUE(carrier.ok());
  SimulatedCarrier& c = **carrier;
  sink.on_event = [&c](const CallEvent& e) {  // commands from inside the sink
    if (e.type == CallEventType::kAnswered) {
      EXPECT_TRUE(c.ConnectToAgent(e.attempt_id, AgentId("agent-1")).ok());
    }
  };
  const int n = 20;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(c.PlaceCall(Request(absl::StrCat("r", i))).ok());
  ASSERT_TRUE(sink.WaitForEnded(n, absl::Seconds(20)));
  carrier->reset();
  scheduler.Stop();
  std::map<std::string, std::vector<CallEventType>> by_call;
  for (const auto& e : sink.events) by_call[e.attempt_id.value()].push_back(e.type);
  ASSERT_EQ(by_call.size(), static_cast<size_t>(n));
  for (const auto& [id, types] : by_call) {
    EXPECT_EQ(types, (std::vector<CallEventType>{
                         CallEventType::kRinging, CallEventType::kAnswered,
                         CallEventType::kAgentConnected, CallEventType::kRemoteHangup,
                         CallEventType::kEnded}))
        << id;
  }
}

// --- Inbound calls ------------------------------------------------------------

TEST_F(CarrierTest, AnInboundCallIsOfferedAnsweredConnectedAndEnds) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) {
    o.inbound_patience = sim::Distribution::Constant(60);
  });
  sink_.on_event = [&](const CallEvent& e) {
    if (e.type == CallEventType::kIncoming) {
      EXPECT_TRUE(carrier_->AnswerIncoming(e.attempt_id).ok());
    }
    if (e.type == CallEventType::kAnswered) {
      EXPECT_TRUE(carrier_->ConnectToAgent(e.attempt_id, AgentId("agent-1")).ok());
    }
  };
  auto id = carrier_->OfferInbound("+14155550123", "+13125550199");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->value().size(), 17u);
  EXPECT_EQ(id->value()[0], 'i');
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf(id->value()),
            (Strings{"+0 incoming", "+0 answered not_run", "+50ms agent_connected agent-1",
                     "+1m40.05s remote_hangup", "+1m40.05s ended remote_hangup"}));
  ASSERT_FALSE(sink_.events.empty());
  EXPECT_EQ(sink_.events[0].from, "+14155550123");
  EXPECT_EQ(sink_.events[0].to, "+13125550199");
  EXPECT_EQ(carrier_->Stats().inbound_offered, 1);
  EXPECT_EQ(carrier_->Stats().in_progress, 0);
}

TEST_F(CarrierTest, AnInboundCallerGivesUpAfterItsPatienceAndARefusedOneEndsAtOnce) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) {
    o.inbound_patience = sim::Distribution::Constant(60);
  });
  auto waiting = carrier_->OfferInbound("+14155550123", "+13125550199");
  auto queued = carrier_->OfferInbound("+14155550124", "+13125550199");
  auto refused = carrier_->OfferInbound("", "+13125550199");  // a withheld number
  ASSERT_TRUE(waiting.ok() && queued.ok() && refused.ok());
  EXPECT_NE(waiting->value(), queued->value());
  RunFor(absl::Seconds(1));
  ASSERT_TRUE(carrier_->AnswerIncoming(*queued).ok());
  EXPECT_EQ(carrier_->AnswerIncoming(*queued).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(carrier_->HangUp(*refused).ok());
  RunFor(absl::Minutes(5));
  EXPECT_EQ(EventsOf(waiting->value()),
            (Strings{"+0 incoming", "+1m remote_hangup", "+1m ended remote_hangup"}));
  // Picked up but nobody came: the patience runs from the offer.
  EXPECT_EQ(EventsOf(queued->value()), (Strings{"+0 incoming", "+1s answered not_run",
                                                "+1m remote_hangup", "+1m ended remote_hangup"}));
  EXPECT_EQ(EventsOf(refused->value()), (Strings{"+0 incoming", "+1s ended local_hangup"}));
  // Not for an outbound call, nor a bad number.
  ASSERT_TRUE(carrier_->PlaceCall(Request("a")).ok());
  EXPECT_EQ(carrier_->AnswerIncoming(AttemptId("a")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(carrier_->OfferInbound("+1", "+13125550199").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CarrierTest, InboundLinesOfferCallsAtTheirRate) {
  Start(BaseScenario(), [](SimulatedCarrierOptions& o) {
    o.inbound = {{"+13125550199", 3600.0}};  // one a second on average
    o.inbound_patience = sim::Distribution::Constant(5);
  });
  RunFor(absl::Minutes(10));
  int offered = 0;
  for (const CallEvent& e : sink_.events) {
    if (e.type != CallEventType::kIncoming) continue;
    ++offered;
    EXPECT_EQ(e.to, "+13125550199");
    EXPECT_TRUE(IsE164(e.from)) << e.from;
  }
  EXPECT_GT(offered, 500);  // 600 expected; Poisson sd about 25
  EXPECT_LT(offered, 700);
  EXPECT_EQ(carrier_->Stats().inbound_offered, offered);
}

}  // namespace
}  // namespace dialgrid::telephony
