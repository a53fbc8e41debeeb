#include "services/dialing/telephony/scenario.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dialgrid::sim {

// --- Random numbers ---------------------------------------------------------

namespace {
uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
constexpr double kPi = 3.14159265358979323846;
}  // namespace

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = SplitMix(seed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Rng::Normal() {
  const double u1 = 1.0 - Uniform();  // (0, 1]
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = a;
  uint64_t h = SplitMix(x);
  x = h ^ b;
  h = SplitMix(x);
  x = h ^ c;
  return SplitMix(x);
}

// --- Distributions ----------------------------------------------------------

namespace {
double SampleGamma(double shape, Rng& rng) {
  if (shape < 1.0) {
    // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
    const double u = 1.0 - rng.Uniform();
    return SampleGamma(shape + 1.0, rng) * std::pow(u, 1.0 / shape);
  }
  // Marsaglia and Tsang (2000).
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng.Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = 1.0 - rng.Uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}
}  // namespace

double Distribution::Sample(Rng& rng) const {
  switch (kind) {
    case Kind::kConstant:
      return value;
    case Kind::kUniform:
      return min + (max - min) * rng.Uniform();
    case Kind::kNormal: {
      // Clipped to [min, max] by redrawing (a truncated normal); after 64
      // misses the value is clamped.
      for (int i = 0; i < 64; ++i) {
        const double x = mean + sd * rng.Normal();
        if (x >= min && x <= max) return x;
      }
      return std::clamp(mean, min, max);
    }
    case Kind::kLognormal: {
      const double sigma2 = std::log1p(sd * sd / (mean * mean));
      const double mu = std::log(mean) - 0.5 * sigma2;
      return std::exp(mu + std::sqrt(sigma2) * rng.Normal());
    }
    case Kind::kGamma: {
      const double shape = mean * mean / (sd * sd);
      const double scale = sd * sd / mean;
      return SampleGamma(shape, rng) * scale;
    }
    case Kind::kMixture: {
      double u = rng.Uniform();
      for (const auto& [weight, component] : components) {
        if (u < weight) return component.Sample(rng);
        u -= weight;
      }
      return components.back().second.Sample(rng);
    }
  }
  return 0.0;
}

double Distribution::Mean() const {
  switch (kind) {
    case Kind::kConstant:
      return value;
    case Kind::kUniform:
      return 0.5 * (min + max);
    case Kind::kNormal:
    case Kind::kLognormal:
    case Kind::kGamma:
      return mean;
    case Kind::kMixture: {
      double m = 0.0;
      for (const auto& [weight, component] : components) m += weight * component.Mean();
      return m;
    }
  }
  return 0.0;
}

double Distribution::Sd() const {
  switch (kind) {
    case Kind::kConstant:
      return 0.0;
    case Kind::kUniform:
      return (max - min) / std::sqrt(12.0);
    case Kind::kNormal:
    case Kind::kLognormal:
    case Kind::kGamma:
      return sd;
    case Kind::kMixture: {
      double m = Mean(), second = 0.0;
      for (const auto& [weight, component] : components) {
        const double cm = component.Mean(), cs = component.Sd();
        second += weight * (cs * cs + cm * cm);
      }
      return std::sqrt(std::max(0.0, second - m * m));
    }
  }
  return 0.0;
}

double ShiftCurve::At(double seconds) const {
  const double hour = seconds / 3600.0;
  if (points.size() == 1 || hour <= points.front().first) return points.front().second;
  if (hour >= points.back().first) return points.back().second;
  for (size_t i = 1; i < points.size(); ++i) {
    if (hour <= points[i].first) {
      const auto& [h0, v0] = points[i - 1];
      const auto& [h1, v1] = points[i];
      return h1 > h0 ? v0 + (v1 - v0) * (hour - h0) / (h1 - h0) : v1;
    }
  }
  return points.back().second;
}

double ShiftCurve::Max() const {
  double m = 0.0;
  for (const auto& p : points) m = std::max(m, p.second);
  return m;
}

double ShiftCurve::Min() const {
  double m = 1.0;
  for (const auto& p : points) m = std::min(m, p.second);
  return m;
}

// --- Parsing ----------------------------------------------------------------

namespace {

using nlohmann::json;

struct ParseError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& field, const std::string& why) {
  throw ParseError{field + ": " + why};
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void OnlyKeys(const json& object, const std::string& path,
              std::initializer_list<const char*> keys) {
  if (!object.is_object()) Fail(path.empty() ? "scenario" : path, "must be an object");
  std::set<std::string> allowed(keys.begin(), keys.end());
  for (const auto& item : object.items()) {
    if (allowed.count(item.key()) == 0) {
      Fail(Join(path, item.key()),
           "unknown field (expected one of: " + absl::StrJoin(allowed, ", ") + ")");
    }
  }
}

const json& Required(const json& object, const std::string& path, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) Fail(Join(path, key), "missing");
  return *it;
}

double Number(const json& value, const std::string& field) {
  if (!value.is_number()) Fail(field, "must be a number");
  const double x = value.get<double>();
  if (!std::isfinite(x)) Fail(field, "must be finite");
  return x;
}

double NumberField(const json& object, const std::string& path, const char* key) {
  return Number(Required(object, path, key), Join(path, key));
}

double OptionalNumber(const json& object, const std::string& path, const char* key,
                      double fallback) {
  auto it = object.find(key);
  return it == object.end() ? fallback : Number(*it, Join(path, key));
}

double Positive(double x, const std::string& field) {
  if (!(x > 0.0)) Fail(field, "must be > 0");
  return x;
}

double NonNegative(double x, const std::string& field) {
  if (!(x >= 0.0)) Fail(field, "must be >= 0");
  return x;
}

double Probability(double x, const std::string& field) {
  if (!(x >= 0.0 && x <= 1.0)) Fail(field, "must be a probability in [0, 1]");
  return x;
}

int Integer(const json& object, const std::string& path, const char* key, int lo, int hi) {
  const json& value = Required(object, path, key);
  const std::string field = Join(path, key);
  if (!value.is_number_integer()) Fail(field, "must be an integer");
  const int64_t x = value.get<int64_t>();
  if (x < lo || x > hi) Fail(field, absl::StrCat("must be in [", lo, ", ", hi, "]"));
  return static_cast<int>(x);
}

std::vector<uint64_t> Seeds(const json& object, const std::string& path, const char* key) {
  const json& value = Required(object, path, key);
  const std::string field = Join(path, key);
  if (!value.is_array()) Fail(field, "must be an array of non-negative integers");
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_number_unsigned()) {
      Fail(absl::StrCat(field, "[", i, "]"), "must be a non-negative integer");
    }
    seeds.push_back(value[i].get<uint64_t>());
  }
  return seeds;
}

Distribution ParseDistribution(const json& value, const std::string& field) {
  if (!value.is_object()) Fail(field, "must be a distribution object with a \"type\"");
  const json& type_value = Required(value, field, "type");
  if (!type_value.is_string()) Fail(Join(field, "type"), "must be a string");
  const std::string type = type_value.get<std::string>();
  Distribution d;
  if (type == "constant") {
    OnlyKeys(value, field, {"type", "value"});
    d.kind = Distribution::Kind::kConstant;
    d.value = NonNegative(NumberField(value, field, "value"), Join(field, "value"));
  } else if (type == "uniform") {
    OnlyKeys(value, field, {"type", "min", "max"});
    d.kind = Distribution::Kind::kUniform;
    d.min = NonNegative(NumberField(value, field, "min"), Join(field, "min"));
    d.max = NumberField(value, field, "max");
    if (!(d.max >= d.min)) Fail(Join(field, "max"), "must be >= min");
  } else if (type == "normal") {
    OnlyKeys(value, field, {"type", "mean", "sd", "min", "max"});
    d.kind = Distribution::Kind::kNormal;
    d.mean = NumberField(value, field, "mean");
    d.sd = NonNegative(NumberField(value, field, "sd"), Join(field, "sd"));
    d.min = NonNegative(OptionalNumber(value, field, "min", 0.0), Join(field, "min"));
    d.max = OptionalNumber(value, field, "max", d.mean + 10.0 * d.sd);
    if (!(d.max >= d.min)) Fail(Join(field, "max"), "must be >= min");
    if (d.mean < d.min || d.mean > d.max) Fail(Join(field, "mean"), "must lie in [min, max]");
  } else if (type == "lognormal" || type == "gamma") {
    OnlyKeys(value, field, {"type", "mean", "sd"});
    d.kind = type == "gamma" ? Distribution::Kind::kGamma : Distribution::Kind::kLognormal;
    d.mean = Positive(NumberField(value, field, "mean"), Join(field, "mean"));
    d.sd = Positive(NumberField(value, field, "sd"), Join(field, "sd"));
  } else if (type == "mixture") {
    OnlyKeys(value, field, {"type", "components"});
    d.kind = Distribution::Kind::kMixture;
    const json& components = Required(value, field, "components");
    const std::string cfield = Join(field, "components");
    if (!components.is_array() || components.empty()) Fail(cfield, "must be a non-empty array");
    double total = 0.0;
    for (size_t i = 0; i < components.size(); ++i) {
      const std::string item = absl::StrCat(cfield, "[", i, "]");
      OnlyKeys(components[i], item, {"weight", "dist"});
      const double weight =
          Positive(NumberField(components[i], item, "weight"), Join(item, "weight"));
      total += weight;
      d.components.emplace_back(weight,
                                ParseDistribution(Required(components[i], item, "dist"),
                                                  Join(item, "dist")));
    }
    for (auto& component : d.components) component.first /= total;
  } else {
    Fail(Join(field, "type"), "unknown distribution '" + type +
                                  "' (constant, uniform, normal, lognormal, gamma, mixture)");
  }
  return d;
}

ShiftCurve ParseCurve(const json& value, const std::string& field) {
  ShiftCurve curve;
  if (value.is_number()) {
    curve.points.emplace_back(0.0, Probability(Number(value, field), field));
    return curve;
  }
  if (!value.is_array() || value.empty()) {
    Fail(field, "must be a probability or a non-empty array of [hour, probability] points");
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item = absl::StrCat(field, "[", i, "]");
    if (!value[i].is_array() || value[i].size() != 2) Fail(item, "must be [hour, probability]");
    const double hour = NonNegative(Number(value[i][0], item + "[0]"), item + "[0]");
    const double p = Probability(Number(value[i][1], item + "[1]"), item + "[1]");
    if (!curve.points.empty() && hour < curve.points.back().first) {
      Fail(item + "[0]", "hours must not decrease");
    }
    curve.points.emplace_back(hour, p);
  }
  return curve;
}

Scenario ParseRoot(const json& root) {
  OnlyKeys(root, "",
           {"name", "agents", "shift_hours", "days_per_seed", "tuning_seeds", "reporting_seeds",
            "outcomes", "times", "no_answer_timeout_s", "machine_handling", "amd", "tick_s",
            "max_lines_per_agent", "abandon_cap", "grace_s", "description"});
  Scenario s;
  const json& name = Required(root, "", "name");
  if (!name.is_string() || name.get<std::string>().empty()) {
    Fail("name", "must be a non-empty string");
  }
  s.name = name.get<std::string>();
  s.agents = Integer(root, "", "agents", 1, 10000);
  s.shift_hours = Positive(NumberField(root, "", "shift_hours"), "shift_hours");
  if (s.shift_hours > 24.0) Fail("shift_hours", "must be <= 24");
  s.days_per_seed = Integer(root, "", "days_per_seed", 1, 1000);
  s.tuning_seeds = Seeds(root, "", "tuning_seeds");
  s.reporting_seeds = Seeds(root, "", "reporting_seeds");
  if (s.reporting_seeds.empty()) Fail("reporting_seeds", "must not be empty");
  for (uint64_t seed : s.tuning_seeds) {
    if (std::find(s.reporting_seeds.begin(), s.reporting_seeds.end(), seed) !=
        s.reporting_seeds.end()) {
      Fail("tuning_seeds", absl::StrCat("seed ", seed, " is also a reporting seed"));
    }
  }

  const json& outcomes = Required(root, "", "outcomes");
  OnlyKeys(outcomes, "outcomes", {"human", "machine", "busy_failed", "busy_share"});
  s.human = ParseCurve(Required(outcomes, "outcomes", "human"), "outcomes.human");
  s.machine = Probability(NumberField(outcomes, "outcomes", "machine"), "outcomes.machine");
  s.busy_failed =
      Probability(NumberField(outcomes, "outcomes", "busy_failed"), "outcomes.busy_failed");
  s.busy_share = Probability(OptionalNumber(outcomes, "outcomes", "busy_share", 0.5),
                             "outcomes.busy_share");
  for (const auto& [hour, p] : s.human.points) {
    const double sum = p + s.machine + s.busy_failed;
    if (sum > 1.0 + 1e-9) {
      Fail("outcomes", absl::StrCat("probabilities sum to ", sum, " > 1 at hour ", hour,
                                    " (human + machine + busy_failed; no answer is the rest)"));
    }
  }

  const json& times = Required(root, "", "times");
  OnlyKeys(times, "times",
           {"setup", "human_ring", "machine_ring", "fail", "talk", "wrap", "patience"});
  s.setup = ParseDistribution(Required(times, "times", "setup"), "times.setup");
  s.human_ring = ParseDistribution(Required(times, "times", "human_ring"), "times.human_ring");
  s.machine_ring =
      ParseDistribution(Required(times, "times", "machine_ring"), "times.machine_ring");
  s.fail = ParseDistribution(Required(times, "times", "fail"), "times.fail");
  s.talk = ParseDistribution(Required(times, "times", "talk"), "times.talk");
  s.wrap = ParseDistribution(Required(times, "times", "wrap"), "times.wrap");
  if (auto it = times.find("patience"); it != times.end()) {
    s.patience = ParseDistribution(*it, "times.patience");
  }

  s.no_answer_timeout_s =
      Positive(NumberField(root, "", "no_answer_timeout_s"), "no_answer_timeout_s");
  const json& machine = Required(root, "", "machine_handling");
  OnlyKeys(machine, "machine_handling", {"talk", "wrap"});
  s.machine_talk =
      ParseDistribution(Required(machine, "machine_handling", "talk"), "machine_handling.talk");
  s.machine_wrap =
      ParseDistribution(Required(machine, "machine_handling", "wrap"), "machine_handling.wrap");

  const json& amd = Required(root, "", "amd");
  OnlyKeys(amd, "amd",
           {"enabled", "decision_delay_s", "greeting_s", "false_positive", "false_negative"});
  const json& enabled = Required(amd, "amd", "enabled");
  if (!enabled.is_boolean()) Fail("amd.enabled", "must be true or false");
  s.amd.enabled = enabled.get<bool>();
  s.amd.decision_delay_s = NonNegative(NumberField(amd, "amd", "decision_delay_s"),
                                       "amd.decision_delay_s");
  s.amd.greeting_s = NonNegative(NumberField(amd, "amd", "greeting_s"), "amd.greeting_s");
  s.amd.false_positive =
      Probability(NumberField(amd, "amd", "false_positive"), "amd.false_positive");
  s.amd.false_negative =
      Probability(NumberField(amd, "amd", "false_negative"), "amd.false_negative");

  s.tick_s = Positive(NumberField(root, "", "tick_s"), "tick_s");
  if (s.tick_s > 60.0) Fail("tick_s", "must be <= 60");
  s.max_lines_per_agent = NumberField(root, "", "max_lines_per_agent");
  if (!(s.max_lines_per_agent >= 1.0 && s.max_lines_per_agent <= 100.0)) {
    Fail("max_lines_per_agent", "must be in [1, 100]");
  }
  s.abandon_cap = NumberField(root, "", "abandon_cap");
  if (!(s.abandon_cap > 0.0 && s.abandon_cap < 1.0)) Fail("abandon_cap", "must be in (0, 1)");
  s.grace_s = NonNegative(NumberField(root, "", "grace_s"), "grace_s");
  return s;
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(absl::string_view json_text) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("scenario: not JSON: ", e.what()));
  }
  try {
    return ParseRoot(root);
  } catch (const ParseError& e) {
    return absl::InvalidArgumentError(e.message);
  }
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<Scenario> scenario = ParseScenario(buffer.str());
  if (!scenario.ok()) {
    return absl::Status(scenario.status().code(),
                        absl::StrCat(path, ": ", scenario.status().message()));
  }
  return scenario;
}

}  // namespace dialgrid::sim
