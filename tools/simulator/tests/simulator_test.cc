#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/dialing/telephony/scenario.h"
#include "tools/simulator/policies.h"
#include "tools/simulator/runner.h"
#include "tools/simulator/simulation.h"

namespace dialgrid::sim {
namespace {

Scenario Load(const std::string& name) {
  auto s = LoadScenario(std::string(DIALGRID_SCENARIO_DIR) + "/" + name);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

std::string BaseText() {
  std::ifstream in(std::string(DIALGRID_SCENARIO_DIR) + "/public/n10-live20-amdoff.json");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Distribution Parse(const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(BaseText());
  j["times"]["talk"] = nlohmann::json::parse(json);
  auto s = ParseScenario(j.dump());
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? s->talk : Distribution();
}

void ExpectMoments(const Distribution& d, double mean, double sd) {
  Rng rng(42);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = d.Sample(rng);
    sum += x;
    sum2 += x * x;
  }
  const double m = sum / n;
  const double s = std::sqrt(sum2 / n - m * m);
  // Tolerance: 4 standard errors of the mean, 3 % of the sd.
  EXPECT_NEAR(m, mean, 4.0 * sd / std::sqrt(n) + 1e-9);
  EXPECT_NEAR(s, sd, 0.03 * sd + 1e-9);
  EXPECT_NEAR(d.Mean(), mean, 1e-9);
  EXPECT_NEAR(d.Sd(), sd, 1e-6 * sd + 1e-9);
}

TEST(Distributions, SampleMomentsMatchParameters) {
  ExpectMoments(Parse(R"({"type":"uniform","min":1,"max":3})"), 2.0, 2.0 / std::sqrt(12.0));
  ExpectMoments(Parse(R"({"type":"normal","mean":18,"sd":2,"min":0,"max":100})"), 18, 2);
  ExpectMoments(Parse(R"({"type":"lognormal","mean":150,"sd":150})"), 150, 150);
  ExpectMoments(Parse(R"({"type":"lognormal","mean":8,"sd":4})"), 8, 4);
  ExpectMoments(Parse(R"({"type":"gamma","mean":30,"sd":15})"), 30, 15);
  ExpectMoments(Parse(R"({"type":"gamma","mean":10,"sd":20})"), 10, 20);  // shape < 1
  ExpectMoments(Parse(R"({"type":"constant","value":8})"), 8, 0);
  // Mixture: 0.25 x const 10 + 0.75 x uniform(20, 40): mean 25,
  // E[x^2] = 0.25*100 + 0.75*(900 + 400/12) = 725, sd = sqrt(725 - 625) = 10.
  const Distribution mix = Parse(
      R"({"type":"mixture","components":[{"weight":1,"dist":{"type":"constant","value":10}},
          {"weight":3,"dist":{"type":"uniform","min":20,"max":40}}]})");
  const double second = 0.25 * 100 + 0.75 * (900 + 400.0 / 12.0);
  ExpectMoments(mix, 25.0, std::sqrt(second - 25.0 * 25.0));
}

TEST(Distributions, ClippedNormalStaysInRange) {
  const Distribution d = Parse(R"({"type":"normal","mean":18,"sd":4,"min":15,"max":20})");
  Rng rng(1);
  for (int i = 0; i < 10000; ++i) {
    const double x = d.Sample(rng);
    ASSERT_GE(x, 15);
    ASSERT_LE(x, 20);
  }
}

// --- Refused scenarios: the field is named ---------------------------------

void ExpectRefused(const std::function<void(nlohmann::json&)>& edit, const std::string& field) {
  nlohmann::json j = nlohmann::json::parse(BaseText());
  edit(j);
  auto s = ParseScenario(j.dump());
  ASSERT_FALSE(s.ok()) << "accepted; expected an error naming " << field;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.status().message()).rfind(field, 0), 0u)
      << s.status().message() << " does not start with " << field;
}

TEST(ScenarioFiles, BadFilesAreRefusedWithTheField) {
  ExpectRefused([](auto& j) { j["outcomes"]["machine"] = -0.1; }, "outcomes.machine:");
  ExpectRefused([](auto& j) { j["outcomes"]["human"] = 0.7; }, "outcomes: probabilities sum");
  ExpectRefused([](auto& j) { j["outcomes"]["human"] = {{0, 0.2}, {4, 0.9}}; },
                "outcomes: probabilities sum");
  ExpectRefused([](auto& j) { j["times"]["talk"]["type"] = "weibull"; }, "times.talk.type:");
  ExpectRefused([](auto& j) { j["times"]["wrap"]["sd"] = -1; }, "times.wrap.sd:");
  ExpectRefused([](auto& j) { j["times"].erase("wrap"); }, "times.wrap: missing");
  ExpectRefused([](auto& j) { j.erase("agents"); }, "agents: missing");
  ExpectRefused([](auto& j) { j["agents"] = 0; }, "agents:");
  ExpectRefused([](auto& j) { j["amd"]["false_positive"] = 1.5; }, "amd.false_positive:");
  ExpectRefused([](auto& j) { j["amd"]["enabeld"] = true; }, "amd.enabeld: unknown field");
  ExpectRefused([](auto& j) { j["grace_s"] = "two"; }, "grace_s:");
  ExpectRefused([](auto& j) { j["tuning_seeds"] = {1}; }, "tuning_seeds:");
  ExpectRefused(
      [](auto& j) {
        j["times"]["talk"] = {{"type", "mixture"},
                              {"components", {{{"weight", 1}, {"dist", {{"type", "beta"}}}}}}};
      },
      "times.talk.components[0].dist.type:");
  EXPECT_FALSE(ParseScenario("{ not json").ok());
}

TEST(ScenarioFiles, ShippedScenariosParse) {
  for (const char* name : {"public/n5-live10-amdoff.json", "public/n100-live30-amdon.json",
                           "n25-nonstationary.json", "n10-quick.json"}) {
    Load(name);
  }
  const Scenario s = Load("n25-nonstationary.json");
  EXPECT_NEAR(s.human.At(0), 0.10, 1e-12);
  EXPECT_NEAR(s.human.At(2 * 3600), 0.20, 1e-12);  // halfway from 0.10 to 0.30
  EXPECT_NEAR(s.human.At(9 * 3600), 0.20, 1e-12);  // flat after the last point
}

// --- The simulator against independent figures -----------------------------

TEST(Simulator, ClairvoyantReachesB0) {
  const Scenario s = Load("public/n50-live20-amdoff.json");
  std::vector<DayResult> days;
  for (int d = 0; d < 2; ++d) {
    Tape tape(s, 5, d);
    days.push_back(RunClairvoyant(s, tape, d, Ceiling::kB0));
  }
  const PolicySummary b0 = Summarize("b0", days, 2, s.abandon_cap);
  const double analytic = s.talk.Mean() / (s.talk.Mean() + s.wrap.Mean());  // 83.3 %
  EXPECT_NEAR(b0.occupancy, analytic, 0.015);
  EXPECT_EQ(b0.abandon, 0.0);
  // B1: machines reach agents (8 s + 5 s each, one per live answer here).
  std::vector<DayResult> b1_days;
  for (int d = 0; d < 2; ++d) {
    Tape tape(s, 5, d);
    b1_days.push_back(RunClairvoyant(s, tape, d, Ceiling::kB1));
  }
  const PolicySummary b1 = Summarize("b1", b1_days, 2, s.abandon_cap);
  EXPECT_NEAR(b1.occupancy, 150.0 / (150.0 + 30.0 + 13.0), 0.015);
}

// Progressive with constant durations: an agent's cycle is talk + wrap + the
// search: one answered attempt (setup + ring) plus (1-p)/p unanswered ones
// (setup + timeout), so occupancy = T / (T + W + s + r + (1-p)/p (s + tau)).
TEST(Simulator, ProgressiveMatchesRenewalFormula) {
  nlohmann::json j = nlohmann::json::parse(BaseText());
  j["agents"] = 20;
  j["outcomes"] = {{"human", 0.25}, {"machine", 0.0}, {"busy_failed", 0.0}};
  j["times"]["setup"] = {{"type", "constant"}, {"value", 1}};
  j["times"]["human_ring"] = {{"type", "constant"}, {"value", 9}};
  j["times"]["talk"] = {{"type", "constant"}, {"value", 150}};
  j["times"]["wrap"] = {{"type", "constant"}, {"value", 30}};
  j["no_answer_timeout_s"] = 20;
  auto s = ParseScenario(j.dump());
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<DayResult> days;
  for (int d = 0; d < 3; ++d) {
    Tape tape(*s, 11, d);
    ProgressivePolicy progressive;
    days.push_back(RunDay(*s, tape, d, progressive));
  }
  const PolicySummary summary = Summarize("progressive", days, 3, s->abandon_cap);
  const double p = 0.25, search = 1 + 9 + (1 - p) / p * (1 + 20);
  EXPECT_NEAR(summary.occupancy, 150.0 / (150.0 + 30.0 + search), 0.01);
  EXPECT_EQ(summary.abandon, 0.0);
  EXPECT_NEAR(summary.wait_mean_s, search, 3.0);
}

TEST(Simulator, PowerRatioOneIsProgressive) {
  const Scenario s = Load("n10-quick.json");
  Tape a(s, 3, 0), b(s, 3, 0);
  ProgressivePolicy progressive;
  PowerPolicy power(1.0);
  const DayResult x = RunDay(s, a, 0, progressive);
  const DayResult y = RunDay(s, b, 0, power);
  EXPECT_EQ(x.talk_s, y.talk_s);
  EXPECT_EQ(x.dials, y.dials);
}

TEST(Simulator, SameSeedSameOutputByteForByte) {
  const Scenario s = Load("n10-quick.json");
  RunOptions options;
  options.policies = {"progressive", "vicidial", "engine", "b0"};
  const std::string first = CaseJson(RunCase(s, options), false).dump();
  const std::string second = CaseJson(RunCase(s, options), false).dump();
  EXPECT_EQ(first, second);
  Scenario other = s;
  other.reporting_seeds = {8};
  EXPECT_NE(first, CaseJson(RunCase(other, options), false).dump());
}

TEST(Simulator, HigherRatioMoreAbandonsMoreTalk) {
  const Scenario s = Load("n10-quick.json");
  TapeSet tapes(s, {7}, 2);
  auto low = Summarize("k1.5", RunPolicy(s, tapes, [] { return std::make_unique<PowerPolicy>(1.5); }),
                       2, 0.03);
  auto high = Summarize("k4", RunPolicy(s, tapes, [] { return std::make_unique<PowerPolicy>(4.0); }),
                        2, 0.03);
  EXPECT_GT(high.occupancy, low.occupancy);
  EXPECT_GT(high.abandon, low.abandon);
}

// What the engine learns the live share and the wrap-up per talk from: each
// routed answer's call carries its age when it needed an agent, and each
// agent in wrap-up the talk before it.
class RecordingPolicy : public PowerPolicy {
 public:
  RecordingPolicy() : PowerPolicy(2.0) {}
  int Decide(const SimView& view) override {
    for (const pacing::AgentView& agent : view.agent_views) {
      if (agent.state == pacing::AgentState::kWrapUp) wrap_talks.push_back(agent.talk_s);
      if (agent.state != pacing::AgentState::kWrapUp && agent.talk_s >= 0.0) stray_talks++;
    }
    return PowerPolicy::Decide(view);
  }
  void OnCall(const CallEvent& call) override { calls.push_back(call); }
  std::vector<CallEvent> calls;
  std::vector<double> wrap_talks;
  int stray_talks = 0;
};

TEST(Simulator, CallsCarryTheirRoutedAgeAndWrapUpsTheirTalk) {
  nlohmann::json j = nlohmann::json::parse(BaseText());
  j["outcomes"] = {{"human", 0.25}, {"machine", 0.25}, {"busy_failed", 0.0}};
  j["times"]["setup"] = {{"type", "constant"}, {"value", 1}};
  j["times"]["human_ring"] = {{"type", "constant"}, {"value", 9}};
  j["times"]["machine_ring"] = {{"type", "constant"}, {"value", 17}};
  j["times"]["talk"] = {{"type", "constant"}, {"value", 150}};
  auto s = ParseScenario(j.dump());
  ASSERT_TRUE(s.ok()) << s.status();
  Tape tape(*s, 3, 0);
  RecordingPolicy policy;
  RunDay(*s, tape, 0, policy);
  int persons = 0, machines = 0, abandoned = 0;
  for (const CallEvent& call : policy.calls) {
    const double expected = call.human ? 10.0 : 18.0;
    EXPECT_NEAR(call.routed_age_s, expected, 1e-6);
    persons += call.human && call.reached_agent;
    machines += !call.human && call.reached_agent;
    abandoned += call.abandoned;
  }
  EXPECT_GT(persons, 100);
  EXPECT_GT(machines, 100);
  EXPECT_GT(abandoned, 0);  // power 2 with half the answers routed
  ASSERT_FALSE(policy.wrap_talks.empty());
  const double machine_talk = s->machine_talk.Mean();
  for (double talk : policy.wrap_talks) {
    EXPECT_TRUE(std::abs(talk - 150.0) < 1e-6 || std::abs(talk - machine_talk) < 1e-6) << talk;
  }
  EXPECT_EQ(policy.stray_talks, 0);
}

// The engine, end to end on a small campaign: within the cap every day and
// ahead of progressive.
TEST(Simulator, EngineCompliantAndAheadOfProgressive) {
  const Scenario s = Load("n10-quick.json");
  RunOptions options;
  options.policies = {"progressive", "engine"};
  const CaseResult r = RunCase(s, options);
  ASSERT_EQ(r.policies.size(), 2u);
  EXPECT_EQ(r.policies[1].days_over_cap, 0);
  EXPECT_GT(r.policies[1].occupancy, r.policies[0].occupancy + 0.03);
}

}  // namespace
}  // namespace dialgrid::sim
