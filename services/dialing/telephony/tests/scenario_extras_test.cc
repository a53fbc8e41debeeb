// The scenario fields only the simulated carrier reads (outcomes.busy_share,
// times.patience); the rest of the schema is tested with the simulator
// (tools/simulator/tests).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "services/dialing/telephony/scenario.h"

namespace dialgrid::sim {
namespace {

nlohmann::json Public() {
  std::ifstream in(std::string(DIALGRID_SCENARIO_DIR) + "/public/n10-live20-amdoff.json");
  return nlohmann::json::parse(
      std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
}

TEST(ScenarioExtras, AbsentTheyDefault) {
  auto s = ParseScenario(Public().dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->busy_share, 0.5);
  EXPECT_FALSE(s->patience.has_value());
}

TEST(ScenarioExtras, PresentTheyAreRead) {
  nlohmann::json j = Public();
  j["outcomes"]["busy_share"] = 0.7;
  j["times"]["patience"] = {{"type", "gamma"}, {"mean", 5}, {"sd", 2}};
  auto s = ParseScenario(j.dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->busy_share, 0.7);
  ASSERT_TRUE(s->patience.has_value());
  EXPECT_EQ(s->patience->kind, Distribution::Kind::kGamma);
  EXPECT_EQ(s->patience->Mean(), 5);
}

TEST(ScenarioExtras, BadValuesNameTheField) {
  nlohmann::json j = Public();
  j["outcomes"]["busy_share"] = 1.5;
  auto s = ParseScenario(j.dump());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.status().message()).rfind("outcomes.busy_share:", 0), 0u) << s.status();
  j = Public();
  j["times"]["patience"] = {{"type", "gamma"}, {"mean", 5}, {"sd", -1}};
  s = ParseScenario(j.dump());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.status().message()).rfind("times.patience.sd:", 0), 0u) << s.status();
}

}  // namespace
}  // namespace dialgrid::sim
