// dialgrid-sim: runs campaign scenarios in virtual time and compares pacing
// policies on the same callee tapes. docs/pacing.md and docs/performance.md.
//
//   dialgrid-sim tools/simulator/scenarios/public/*.json -j 2 --json out.json
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/str_split.h"
#include "services/dialing/telephony/scenario.h"
#include "tools/simulator/runner.h"

int main(int argc, char** argv) {
  CLI::App app{"Dialgrid campaign simulator: pacing policies side by side in virtual time"};
  std::vector<std::string> files;
  std::string json_path;
  std::string policies = "progressive,power-best,vicidial,engine,b0,b1";
  bool tuning = false;
  bool no_timing = false;
  int days = 0;
  int jobs = 1;
  double ratio_step = 0.25;
  app.add_option("scenarios", files, "scenario JSON files")->required()->check(CLI::ExistingFile);
  app.add_option("--json", json_path, "write the results as JSON to this file ('-' for stdout)");
  app.add_option("--policies", policies,
                 "comma-separated: progressive, power-best, vicidial, engine, b0, b1");
  app.add_flag("--tuning-seeds", tuning, "run the scenarios' tuning seeds instead of reporting");
  app.add_flag("--no-timing", no_timing,
               "leave wall times and ns per decision out (byte-for-byte comparable output)");
  app.add_option("--days", days, "days per seed (default: the scenario's days_per_seed)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-j,--jobs", jobs, "scenarios run in parallel")->check(CLI::Range(1, 64));
  app.add_option("--ratio-step", ratio_step, "step of the hindsight fixed-ratio search")
      ->check(CLI::Range(0.01, 4.0));
  dialgrid::pacing::ControllerOptions engine;
  app.add_option("--engine-set-point", engine.set_point_share,
                 "tuning studies only: the engine's set point as a share of the cap");
  app.add_option("--engine-set-point-sds", engine.set_point_sds,
                 "tuning studies only: the engine's set point distance below the cap, in sds");
  app.add_option("--engine-guard", engine.guard_share,
                 "tuning studies only: the engine's guard as a share of the cap");
  double engine_lambda = 0.0;
  app.add_option("--engine-lambda", engine_lambda,
                 "tuning studies only: pin the engine's price of an abandon (seconds of idle "
                 "time; no integral term), to trace its occupancy/abandon frontier")
      ->check(CLI::PositiveNumber);
  app.add_option("--engine-integral-gain", engine.integral_gain_per_s,
                 "tuning studies only: the speed of the engine's integral term, per second");
  app.add_option("--engine-ahead-credit", engine.ahead_credit,
                 "tuning studies only: the engine's credit for answers reaching agents who "
                 "free by then (1: as for agents waiting now)");
  app.add_option("--engine-gain-per-live-answer", engine.integral_gain_per_live_answer,
                 "tuning studies only: the engine's integral step per live answer (0: per second)");
  app.add_option("--engine-live-share-cost", engine.live_share_in_cost,
                 "tuning studies only: weight of the live share in a line's expected abandons");
  app.add_option("--engine-live-share-value", engine.live_share_in_value,
                 "tuning studies only: weight of the live share in a line's saved idle time");
  app.add_option("--engine-machine-time-weight", engine.machine_time_weight,
                 "tuning studies only: weight of a machine's agent time against a line");
  app.add_option("--engine-lambda-initial", engine.lambda_initial,
                 "tuning studies only: the engine's first price of an abandon");
  double ratio_max = 16.0;
  app.add_option("--ratio-max", ratio_max, "largest ratio of the hindsight fixed-ratio search")
      ->check(CLI::Range(1.0, 100.0));
  CLI11_PARSE(app, argc, argv);

  std::vector<dialgrid::sim::Scenario> scenarios;
  for (const std::string& file : files) {
    auto scenario = dialgrid::sim::LoadScenario(file);
    if (!scenario.ok()) {
      std::fprintf(stderr, "dialgrid-sim: %s\n", std::string(scenario.status().message()).c_str());
      return 2;
    }
    scenarios.push_back(*std::move(scenario));
  }
  if (engine_lambda > 0.0) {
    engine.lambda_min = engine.lambda_initial = engine.lambda_max = engine_lambda;
  }
  dialgrid::sim::RunOptions options;
  options.tuning_seeds = tuning;
  options.days = days;
  options.ratio_step = ratio_step;
  options.ratio_max = ratio_max;
  options.engine = engine;
  options.policies = absl::StrSplit(policies, ',', absl::SkipEmpty());
  for (const std::string& p : options.policies) {
    if (p != "progressive" && p != "power-best" && p != "vicidial" && p != "engine" &&
        p != "b0" && p != "b1") {
      std::fprintf(stderr, "dialgrid-sim: --policies: unknown policy '%s'\n", p.c_str());
      return 2;
    }
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<dialgrid::sim::CaseResult> results(scenarios.size());
  std::vector<bool> done(scenarios.size(), false);
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < std::min<int>(jobs, static_cast<int>(scenarios.size())); ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < scenarios.size(); i = next++) {
        results[i] = dialgrid::sim::RunCase(scenarios[i], options);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json all;
  all["cases"] = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    std::cout << dialgrid::sim::FormatCase(results[i], !no_timing) << "\n";
    all["cases"].push_back(dialgrid::sim::CaseJson(results[i], !no_timing));
  }
  if (!no_timing) {
    std::printf("%zu scenario(s) in %.1f s wall (-j %d)\n", results.size(), seconds, jobs);
    all["seconds"] = seconds;
  }
  if (!json_path.empty()) {
    if (json_path == "-") {
      std::cout << all.dump(1) << "\n";
    } else {
      std::ofstream out(json_path);
      out << all.dump(1) << "\n";
      if (!out) {
        std::fprintf(stderr, "dialgrid-sim: cannot write %s\n", json_path.c_str());
        return 1;
      }
    }
  }
  return 0;
}
