#include "services/dialing/pacing/pacer.h"

#include <gtest/gtest.h>

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
  auto pacer = Make(DialingMode::kPredictive);
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
  auto pacer = Make(DialingMode::kPredictive);
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

}  // namespace
}  // namespace dialgrid::pacing
