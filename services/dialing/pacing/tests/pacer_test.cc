#include "services/dialing/pacing/pacer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace dialgrid::pacing {
namespace {

std::unique_ptr<Pacer> Make(DialingMode mode, double ratio = 2.0, int agentless = 0) {
  PacingSettings settings;
  settings.mode = mode;
  settings.power_ratio = ratio;
  settings.agentless_lines = agentless;
  auto pacer = Pacer::Create(settings);
  EXPECT_TRUE(pacer.ok()) << pacer.status();
  return std::move(*pacer);
}

struct Fixture {
  std::vector<AgentView> agents;
  std::vector<double> ages;
  CampaignSnapshot Snapshot(double now, int queued = 0, int preview = 0) const {
    CampaignSnapshot s;
    s.now_s = now;
    s.agents = agents;
    s.attempts_in_flight_age_s = ages;
    s.queued_answers = queued;
    s.preview_requests = preview;
    return s;
  }
};

TEST(PacingSettings, RefusedWithTheField) {
  PacingSettings settings;
  settings.abandon_cap = 1.5;
  auto pacer = Pacer::Create(settings);
  ASSERT_FALSE(pacer.ok());
  EXPECT_EQ(pacer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(pacer.status().message().find("abandon_cap"), absl::string_view::npos);
  settings = PacingSettings();
  settings.max_lines_per_agent = 0.5;
  EXPECT_NE(Pacer::Create(settings).status().message().find("max_lines_per_agent"),
            absl::string_view::npos);
}

TEST(Pacer, FixedModes) {
  Fixture f;
  f.agents = {{AgentState::kIdle, 3}, {AgentState::kIdle, 1}, {AgentState::kIdle, 0},
              {AgentState::kTalking, 30}};
  f.ages = {2.0};
  EXPECT_EQ(Make(DialingMode::kProgressive)->Decide(f.Snapshot(0)).lines, 2);
  EXPECT_EQ(Make(DialingMode::kProgressive)->Decide(f.Snapshot(0, 1)).lines, 1);
  EXPECT_EQ(Make(DialingMode::kPower, 2.0)->Decide(f.Snapshot(0)).lines, 5);
  EXPECT_EQ(Make(DialingMode::kPreview)->Decide(f.Snapshot(0, 0, 2)).lines, 2);
  EXPECT_EQ(Make(DialingMode::kPreview)->Decide(f.Snapshot(0)).lines, 0);
  EXPECT_EQ(Make(DialingMode::kAgentless, 0, 10)->Decide(f.Snapshot(0)).lines, 9);
  // The line cap (3 per agent = 12) holds in every mode.
  EXPECT_EQ(Make(DialingMode::kPower, 10.0)->Decide(f.Snapshot(0)).lines, 11);
}

// A predictive pacer that credits dialing ahead as fully as dialing for
// agents who wait now (ControllerOptions::ahead_credit = 1; the default is 0),
// at a fixed price of an abandon.
std::unique_ptr<Pacer> MakeDialingAhead() {
  ControllerOptions options;
  options.ahead_credit = 1.0;
  options.lambda_initial = 300.0;
  options.integral_gain_per_live_answer = 0.0;
  options.integral_gain_per_s = 0.0;
  PacingSettings settings;
  settings.mode = DialingMode::kPredictive;
  auto pacer = Pacer::Create(settings, options);
  EXPECT_TRUE(pacer.ok()) << pacer.status();
  return std::move(*pacer);
}

// Teaches a pacer a campaign: 25 % of attempts need an agent after 10 s, the
// rest end at 25 s; talk 100 s, wrap 20 s.
void Teach(Pacer& pacer) {
  for (int i = 0; i < 400; ++i) pacer.OnAttemptFinished({i % 4 == 0 ? 10.0 : 25.0, i % 4 == 0});
  for (int i = 0; i < 200; ++i) {
    FinishedCall call;
    call.live_person = true;
    call.reached_agent = true;
    call.talk_s = 100;
    call.wrap_s = 20;
    call.day = -1;  // yesterday: today's ledger starts empty
    pacer.OnCallFinished(call);
  }
}

TEST(Pacer, ProgressiveUntilLearned) {
  auto pacer = Make(DialingMode::kPredictive);
  Fixture f;
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  f.agents[0] = {AgentState::kIdle, 0};
  const PacingDecision d = pacer->Decide(f.Snapshot(0));
  EXPECT_FALSE(d.model_ready);
  EXPECT_EQ(d.lines, 1);
}

TEST(Pacer, DialsAheadForAgentsAboutToFree) {
  auto pacer = MakeDialingAhead();
  Teach(*pacer);
  Fixture f;
  // Ten agents 15 s into a 20 s wrap-up: all free within ~7 s, before a new
  // line's answer (10 s). No agent is idle, so progressive would dial 0.
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  const PacingDecision d = pacer->Decide(f.Snapshot(100));
  EXPECT_TRUE(d.model_ready);
  EXPECT_GT(d.lines, 10);  // 25 % answer: about 4 lines per free agent
  EXPECT_LE(d.lines, 30);  // line cap
  // Ten agents just started talking: nobody frees in the horizon.
  Fixture busy;
  busy.agents.assign(10, {AgentState::kTalking, 1});
  EXPECT_EQ(pacer->Decide(busy.Snapshot(101)).lines, 0);
}

TEST(Pacer, LinesInFlightCountAgainstFreeAgents) {
  auto pacer = MakeDialingAhead();
  Teach(*pacer);
  Fixture f;
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  const int alone = pacer->Decide(f.Snapshot(100)).lines;
  f.ages.assign(20, 2.0);  // 20 young lines already out: about 5 answers coming
  const int with_lines = pacer->Decide(f.Snapshot(101)).lines;
  EXPECT_LT(with_lines, alone - 10);
}

TEST(Pacer, GuardStopsOverDialingOnABadDay) {
  auto pacer = Make(DialingMode::kPredictive);
  Teach(*pacer);
  Fixture f;
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  f.agents[0] = {AgentState::kIdle, 0};
  EXPECT_GT(pacer->Decide(f.Snapshot(100)).lines, 1);
  // Today: 10 of 200 live answers abandoned (5 %), over the cap.
  for (int i = 0; i < 200; ++i) {
    FinishedCall call;
    call.live_person = true;
    call.abandoned = i < 10;
    pacer->OnCallFinished(call);
  }
  EXPECT_GT(pacer->ledger().Day(0).Rate(), 0.03);
  EXPECT_EQ(pacer->Decide(f.Snapshot(101)).lines, 1);  // progressive only
  // Another day starts with a clean day ledger (the 30-day rate is 10
  // abandons in 500 answers, 2 %, under the guard).
  for (int i = 0; i < 300; ++i) {
    FinishedCall call;
    call.live_person = true;
    call.day = 1;
    pacer->OnCallFinished(call);
  }
  CampaignSnapshot next = f.Snapshot(86400 + 100);
  next.day = 1;
  EXPECT_GT(pacer->Decide(next).lines, 1);
}

TEST(Pacer, AbandonsGetDearerOverTheSetPoint) {
  auto pacer = Make(DialingMode::kPredictive);
  Teach(*pacer);
  Fixture f;
  f.agents.assign(10, {AgentState::kTalking, 50});
  const double before = pacer->lambda();
  for (int i = 0; i < 100; ++i) {
    FinishedCall call;
    call.live_person = true;
    call.abandoned = i < 3;  // 3 of 100: over the set point (75 % of 3 %), under the guard
    pacer->OnCallFinished(call);
  }
  for (int t = 0; t < 600; ++t) pacer->Decide(f.Snapshot(t));
  EXPECT_GT(pacer->lambda(), before);
}

std::unique_ptr<Pacer> MakePredictive(const ControllerOptions& options) {
  PacingSettings settings;
  settings.mode = DialingMode::kPredictive;
  auto pacer = Pacer::Create(settings, options);
  EXPECT_TRUE(pacer.ok()) << pacer.status();
  return std::move(*pacer);
}

FinishedCall LiveAnswer(bool abandoned, int64_t day) {
  FinishedCall call;
  call.live_person = true;
  call.abandoned = abandoned;
  call.reached_agent = !abandoned;
  call.talk_s = 100;
  call.wrap_s = 20;
  call.day = day;
  return call;
}

TEST(Pacer, LambdaMovesPerLiveAnswerAndSettlesAtTheSetPoint) {
  ControllerOptions options;
  options.integral_gain_per_live_answer = 0.01;
  auto pacer = MakePredictive(options);
  const double start = pacer->lambda();
  const double set_point = pacer->set_point(0);  // no past day: a share of the cap
  EXPECT_NEAR(set_point, options.first_day_set_point_share * 0.03, 1e-12);
  // An answered live person lowers log(lambda) by the gain; an abandoned one
  // raises it by gain * (1 - s) / s.
  pacer->OnCallFinished(LiveAnswer(false, 0));
  EXPECT_NEAR(std::log(pacer->lambda()), std::log(start) - 0.01, 1e-12);
  pacer->OnCallFinished(LiveAnswer(true, 0));
  EXPECT_NEAR(std::log(pacer->lambda()),
              std::log(start) - 0.01 + 0.01 * (1.0 - set_point) / set_point, 1e-9);
  // Machines and calls that are not live answers do not move it.
  const double now = pacer->lambda();
  FinishedCall machine;
  machine.reached_agent = true;
  machine.talk_s = 8;
  pacer->OnCallFinished(machine);
  EXPECT_EQ(pacer->lambda(), now);
  // 21 abandons in 1,000 live answers (every 48th) is the first day's set
  // point (2.1 %): lambda ends where it started.
  for (int i = 0; i < 1000; ++i) pacer->OnCallFinished(LiveAnswer(i % 48 == 0, 0));
  EXPECT_NEAR(pacer->lambda(), now, 1e-6 * now);
  // Twice that rate makes abandons dearer, half of it cheaper.
  auto over = MakePredictive(options);
  auto under = MakePredictive(options);
  for (int i = 0; i < 1000; ++i) {
    over->OnCallFinished(LiveAnswer(i % 24 == 0, 0));   // 4.2 %
    under->OnCallFinished(LiveAnswer(i % 96 == 0, 0));  // 1.1 %
  }
  EXPECT_GT(over->lambda(), 10 * start);
  EXPECT_LT(under->lambda(), start / 10);
}

TEST(Pacer, TimeBasedControllerIgnoresLiveAnswersWithoutAGain) {
  ControllerOptions options;
  options.integral_gain_per_live_answer = 0.0;
  auto pacer = MakePredictive(options);
  const double start = pacer->lambda();
  for (int i = 0; i < 100; ++i) pacer->OnCallFinished(LiveAnswer(i < 10, 0));
  EXPECT_EQ(pacer->lambda(), start);
}

TEST(Pacer, SetPointLeavesSdsOfATypicalDayBelowTheCap) {
  ControllerOptions options;
  auto pacer = MakePredictive(options);
  // Day 0: 500 live answers. On day 1 the typical day is 500 live answers,
  // and the set point s solves s + 2 sqrt(s / 500) = 3 %.
  for (int i = 0; i < 500; ++i) pacer->OnCallFinished(LiveAnswer(i < 5, 0));
  const double s = pacer->set_point(1);
  EXPECT_NEAR(s + options.set_point_sds * std::sqrt(s / 500.0), 0.03, 1e-12);
  EXPECT_LT(s, options.set_point_share * 0.03);
  // A large pool's typical day: the set point is the share of the cap.
  auto large = MakePredictive(options);
  for (int i = 0; i < 50000; ++i) large->OnCallFinished(LiveAnswer(false, 0));
  EXPECT_NEAR(large->set_point(1), options.set_point_share * 0.03, 1e-12);
}

TEST(Pacer, AheadCreditDecidesWhetherItDialsForAgentsNotYetFree) {
  // Ten agents about to free and none idle (as in DialsAheadForAgentsAboutToFree).
  Fixture f;
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  ControllerOptions options;
  options.lambda_initial = 20.0;  // an abandon is worth 20 s of idle time
  options.integral_gain_per_live_answer = 0.0;
  options.ahead_credit = 0.0;
  auto no_credit = MakePredictive(options);
  Teach(*no_credit);
  EXPECT_EQ(no_credit->Decide(f.Snapshot(100)).lines, 0);
  options.ahead_credit = 1.0;
  auto full_credit = MakePredictive(options);
  Teach(*full_credit);
  EXPECT_GT(full_credit->Decide(f.Snapshot(100)).lines, 10);
  // Without the credit it still dials more than one line for an agent
  // waiting now (25 % of lines need an agent).
  Fixture one_idle;
  one_idle.agents.assign(10, {AgentState::kTalking, 1});
  one_idle.agents[0] = {AgentState::kIdle, 0};
  EXPECT_GT(no_credit->Decide(one_idle.Snapshot(101)).lines, 1);
}

TEST(Pacer, GuardHoldsAFirstDayAtItsOwnRate) {
  // A new campaign: the models learned, but no past day in the ledger (the
  // calls taught are not live persons), so there is no typical day to
  // project today's rate to.
  auto pacer = Make(DialingMode::kPredictive);
  for (int i = 0; i < 400; ++i) pacer->OnAttemptFinished({i % 4 == 0 ? 10.0 : 25.0, i % 4 == 0});
  for (int i = 0; i < 200; ++i) {
    FinishedCall call;
    call.reached_agent = true;
    call.talk_s = 100;
    call.wrap_s = 20;
    pacer->OnCallFinished(call);
  }
  ASSERT_EQ(pacer->ledger().MeanLiveAnswersBefore(0), 0.0);
  Fixture f;
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  f.agents[0] = {AgentState::kIdle, 0};
  // 12 of 450 live answers abandoned today (2.67 %): with the day's 100
  // pseudo-answers that looked like 2.2 % (2.5 % with the two-abandon
  // margin), and the end of such a day could pass the cap unguarded. With
  // the margin on the day's own rate it is 3.1 %: progressive.
  for (int i = 0; i < 450; ++i) {
    FinishedCall call;
    call.live_person = true;
    call.abandoned = i % 37 == 0 && i < 37 * 12;
    pacer->OnCallFinished(call);
  }
  ASSERT_EQ(pacer->ledger().Day(0).abandoned, 12.0);
  const PacingDecision held = pacer->Decide(f.Snapshot(100));
  EXPECT_TRUE(held.model_ready);
  EXPECT_EQ(held.lambda, 0.0);
  EXPECT_EQ(held.lines, 1);
  // 6 of 450 (1.3 % + 2 abandons: 1.8 %) is no reason to hold it.
  auto calm = Make(DialingMode::kPredictive);
  for (int i = 0; i < 400; ++i) calm->OnAttemptFinished({i % 4 == 0 ? 10.0 : 25.0, i % 4 == 0});
  for (int i = 0; i < 200; ++i) {
    FinishedCall call;
    call.reached_agent = true;
    call.talk_s = 100;
    call.wrap_s = 20;
    calm->OnCallFinished(call);
  }
  for (int i = 0; i < 450; ++i) {
    FinishedCall call;
    call.live_person = true;
    call.abandoned = i % 75 == 0;
    calm->OnCallFinished(call);
  }
  EXPECT_GT(calm->Decide(f.Snapshot(100)).lambda, 0.0);
}

// Teaches a campaign whose answers at 10 s are live persons and whose
// answers at 20 s are machines (20 % each; the rest end at 25 s), with the
// outcome of every routed answer reported (FinishedCall::routed_age_s) or
// not.
enum class Outcomes { kReported, kNotReported };
void TeachLiveAndMachines(Pacer& pacer, Outcomes outcomes) {
  for (int i = 0; i < 500; ++i) {
    const int kind = i % 5;  // 0: live at 10 s, 1: machine at 20 s, else: no answer
    const double age = kind == 0 ? 10.2 : kind == 1 ? 20.3 : 25.3;
    pacer.OnAttemptFinished({age, kind <= 1});
    if (kind > 1) continue;
    FinishedCall call;
    call.live_person = kind == 0;
    call.reached_agent = true;
    call.talk_s = kind == 0 ? 100 : 8;
    call.wrap_s = kind == 0 ? 20 : 5;
    call.day = -1;
    if (outcomes == Outcomes::kReported) call.routed_age_s = age;
    pacer.OnCallFinished(call);
  }
}

TEST(Pacer, DroppedMachinesAreNoAbandonsOnceOutcomesAreReported) {
  // Three agents idle and seven about to free, a fixed price of an abandon;
  // only the abandon side of the live share (a line whose answer would come
  // at 20 s is a machine: dropping it is no abandon in law).
  Fixture f;
  f.agents.assign(10, {AgentState::kWrapUp, 15});
  for (int i = 0; i < 3; ++i) f.agents[i] = {AgentState::kIdle, 0};
  f.ages.assign(6, 2.0);
  ControllerOptions options;
  options.lambda_initial = 60.0;
  options.integral_gain_per_live_answer = 0.0;
  options.live_share_in_value = 0.0;
  options.machine_time_weight = 0.0;
  auto reported = MakePredictive(options);
  TeachLiveAndMachines(*reported, Outcomes::kReported);
  auto unreported = MakePredictive(options);
  TeachLiveAndMachines(*unreported, Outcomes::kNotReported);
  const int with = reported->Decide(f.Snapshot(100)).lines;
  const int without = unreported->Decide(f.Snapshot(100)).lines;
  EXPECT_GT(with, without);
  // Without outcomes every answer counts as live: the same decision as a
  // pacer that ignores the live share altogether.
  options.live_share_in_cost = 0.0;
  auto ignoring = MakePredictive(options);
  TeachLiveAndMachines(*ignoring, Outcomes::kReported);
  EXPECT_EQ(ignoring->Decide(f.Snapshot(100)).lines, without);
}

TEST(Pacer, ControllerOptionsRefused) {
  ControllerOptions options;
  options.ahead_credit = 1.5;
  EXPECT_FALSE(Pacer::Create(PacingSettings(), options).ok());
  options = ControllerOptions();
  options.integral_gain_per_live_answer = -1.0;
  EXPECT_FALSE(Pacer::Create(PacingSettings(), options).ok());
  options = ControllerOptions();
  options.live_share_in_cost = 1.5;
  EXPECT_FALSE(Pacer::Create(PacingSettings(), options).ok());
  options = ControllerOptions();
  options.machine_time_weight = -1.0;
  EXPECT_FALSE(Pacer::Create(PacingSettings(), options).ok());
}

}  // namespace
}  // namespace dialgrid::pacing
