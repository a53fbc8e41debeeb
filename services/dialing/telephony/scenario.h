// Scenarios of the campaign simulator (tools/simulator) and the simulated
// carrier (simulated_carrier.h): the JSON schema (docs/pacing.md, "Scenario
// files"; the carrier-only fields in this folder's README), its parser with
// field-named errors, the time distributions and the random generator they
// draw from. Library `dialing_scenario`: the standard library, Abseil and
// nlohmann_json only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dialgrid::sim {

// xoshiro256** seeded through splitmix64: small, fast, and the same numbers
// on every platform (the std:: distributions are not specified bit for bit).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  double Uniform();  // [0, 1)
  double Normal();   // standard normal (Box-Muller)

 private:
  uint64_t s_[4];
};

// splitmix64 of a combination of values; how tapes derive per-lead seeds.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c);

struct Distribution {
  enum class Kind { kConstant, kUniform, kNormal, kLognormal, kGamma, kMixture };
  Kind kind = Kind::kConstant;
  double value = 0.0;             // constant
  double min = 0.0, max = 0.0;    // uniform; normal's clip range
  double mean = 0.0, sd = 0.0;    // normal, lognormal, gamma
  std::vector<std::pair<double, Distribution>> components;  // mixture (weights sum to 1)

  static Distribution Constant(double value) {
    Distribution d;
    d.value = value;
    return d;
  }
  // By mean and standard deviation (both > 0).
  static Distribution Gamma(double mean, double sd) {
    Distribution d;
    d.kind = Kind::kGamma;
    d.mean = mean;
    d.sd = sd;
    return d;
  }

  double Sample(Rng& rng) const;
  // Mean and standard deviation of the distribution as specified (a clipped
  // normal's are those of the unclipped one).
  double Mean() const;
  double Sd() const;
};

// A probability over the shift: constant, or piecewise linear in hours since
// the shift started (held flat outside the points).
struct ShiftCurve {
  std::vector<std::pair<double, double>> points;  // (hour, value), hours ascending
  double At(double seconds) const;
  double Max() const;
  double Min() const;
};

struct AmdSettings {
  bool enabled = false;
  double decision_delay_s = 2.0;  // after the answer
  double greeting_s = 1.0;        // a live person's greeting; the grace runs from its end
  double false_positive = 0.0;    // live person classified as machine (hung up)
  double false_negative = 0.0;    // machine classified as live (routed)
};

struct Scenario {
  std::string name;
  int agents = 0;
  double shift_hours = 8.0;
  int days_per_seed = 10;
  std::vector<uint64_t> tuning_seeds;
  std::vector<uint64_t> reporting_seeds;
  ShiftCurve human;  // live person answers
  double machine = 0.0;
  double busy_failed = 0.0;  // the rest is no answer
  // Optional (the simulated carrier's; the simulator does not use them):
  // outcomes.busy_share, the share of busy_failed that is busy (the rest
  // fails), 0.5 when absent; times.patience, how long a live person who
  // answered waits for someone to speak before hanging up.
  double busy_share = 0.5;
  std::optional<Distribution> patience;
  Distribution setup, human_ring, machine_ring, fail, talk, wrap;
  double no_answer_timeout_s = 25.0;
  Distribution machine_talk, machine_wrap;  // a machine routed to an agent
  AmdSettings amd;
  double tick_s = 1.0;
  double max_lines_per_agent = 3.0;
  double abandon_cap = 0.03;
  double grace_s = 2.0;

  double shift_s() const { return shift_hours * 3600.0; }
};

// Parses and validates a scenario. Errors are INVALID_ARGUMENT and name the
// field ("times.talk.sd: must be > 0", "outcomes: probabilities sum to 1.2 > 1
// at hour 3", "times.wrap.type: unknown distribution 'weibull'").
absl::StatusOr<Scenario> ParseScenario(absl::string_view json_text);
absl::StatusOr<Scenario> LoadScenario(const std::string& path);

}  // namespace dialgrid::sim
