// Runs the policies of a scenario over its seeds and days and summarizes
// them (the figures the simulator prints and writes as JSON).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/dialing/telephony/scenario.h"
#include "tools/simulator/simulation.h"

namespace dialgrid::sim {

struct PolicySummary {
  std::string policy;
  int64_t days = 0;
  double occupancy = 0.0;  // talk / logged-in over all days
  double occupancy_seed_min = 0.0, occupancy_seed_max = 0.0, occupancy_seed_sd = 0.0;
  double talk_min_per_agent_hour = 0.0;
  double utilization = 0.0;  // talk + wrap + machines / logged-in
  double abandon = 0.0;      // true abandon rate over all days
  double abandon_worst_day = 0.0;
  int64_t days_over_cap = 0;
  double amd_abandon_share = 0.0;  // AMD hang-ups / live answers
  double wait_mean_s = 0.0, wait_p95_s = 0.0;
  double contacts_per_agent_hour = 0.0;
  double dials_per_agent_hour = 0.0;
  double lines_per_agent = 0.0;
  double machines_to_agent_per_agent_hour = 0.0;
  double ns_per_decision = 0.0;  // engine only: wall time in Decide
  double cpu_ns_per_decision = 0.0;  // engine only: thread CPU time in Decide
  int64_t decisions = 0;
  double engine_guard_share = 0.0;         // ticks held at progressive by the guard
  double engine_mean_log10_lambda = 0.0;  // the controller's price of an abandon
  std::vector<double> day_abandon;  // per day, seeds in order
  std::vector<double> day_occupancy;
};

PolicySummary Summarize(const std::string& name, const std::vector<DayResult>& days,
                        int days_per_seed, double cap);

struct RatioPoint {
  double ratio = 0.0;
  double occupancy = 0.0;
  double abandon = 0.0;  // over all days
  double abandon_worst_day = 0.0;
};

struct CaseResult {
  std::string scenario;
  int agents = 0;
  double human_mean = 0.0;
  bool amd = false;
  double b0_analytic = 0.0, b1_analytic = 0.0;
  std::vector<PolicySummary> policies;
  std::vector<RatioPoint> ratio_search;  // the hindsight fixed-ratio search
  double best_ratio = 0.0;               // 0 if no ratio complied
  double seconds = 0.0;                  // wall time of the case
};

struct RunOptions {
  bool tuning_seeds = false;  // run the tuning seeds instead of the reporting ones
  int days = 0;               // override days_per_seed when > 0
  // Policies to run: progressive, power-best, vicidial, engine, b0, b1.
  std::vector<std::string> policies = {"progressive", "power-best", "vicidial", "engine", "b0",
                                       "b1"};
  double ratio_step = 0.25;
  double ratio_max = 16.0;  // above the 3-lines-per-agent cap's reach in the suite
  // The engine's controller constants (the defaults unless a tuning study
  // overrides them; the published runs use the defaults).
  pacing::ControllerOptions engine;
};

// The tapes of a scenario's (seed, day) pairs, drawn once and shared by
// every policy run on them.
class TapeSet {
 public:
  TapeSet(const Scenario& scenario, std::vector<uint64_t> seeds, int days);
  Tape& Get(size_t seed_index, int day) { return *tapes_[seed_index * days_ + day]; }
  size_t seeds() const { return seeds_.size(); }
  int days() const { return days_; }

 private:
  std::vector<uint64_t> seeds_;
  int days_;
  std::vector<std::unique_ptr<Tape>> tapes_;
};

// Runs one policy family on every (seed, day) of the tape set. `make` builds
// a fresh policy per seed (a campaign keeps its learning across its days;
// day d of seed s is calendar day d of that campaign).
std::vector<DayResult> RunPolicy(const Scenario& scenario, TapeSet& tapes,
                                 const std::function<std::unique_ptr<Policy>()>& make,
                                 double* decide_ns = nullptr, int64_t* decisions = nullptr,
                                 const std::function<void(Policy&)>& after_seed = nullptr);

CaseResult RunCase(const Scenario& scenario, const RunOptions& options);

// Timing (the case's wall time, the engine's ns per decision) is the only
// thing that differs between two runs of the same scenario; leave it out to
// compare outputs byte for byte.
std::string FormatCase(const CaseResult& result, bool timing = true);
nlohmann::json CaseJson(const CaseResult& result, bool timing = true);

}  // namespace dialgrid::sim
