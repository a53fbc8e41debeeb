#include "tools/simulator/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/simulator/policies.h"

namespace dialgrid::sim {

TapeSet::TapeSet(const Scenario& scenario, std::vector<uint64_t> seeds, int days)
    : seeds_(std::move(seeds)), days_(days) {
  for (uint64_t seed : seeds_) {
    for (int d = 0; d < days_; ++d) tapes_.push_back(std::make_unique<Tape>(scenario, seed, d));
  }
}

PolicySummary Summarize(const std::string& name, const std::vector<DayResult>& days,
                        int days_per_seed, double cap) {
  PolicySummary s;
  s.policy = name;
  s.days = static_cast<int64_t>(days.size());
  double logged = 0, talk = 0, busy = 0, contacts = 0, dials = 0, line_s = 0, machines = 0;
  double live = 0, abandoned = 0, amd = 0, waits = 0, wait_sum = 0;
  std::vector<int64_t> hist(kWaitBins, 0);
  std::vector<double> seed_occupancy;
  double seed_logged = 0, seed_talk = 0;
  for (size_t i = 0; i < days.size(); ++i) {
    const DayResult& d = days[i];
    logged += d.logged_in_s;
    talk += d.talk_s;
    busy += d.busy_s;
    contacts += static_cast<double>(d.contacts);
    dials += static_cast<double>(d.dials);
    line_s += d.line_s;
    machines += static_cast<double>(d.machines_to_agent);
    live += static_cast<double>(d.live_answers);
    abandoned += static_cast<double>(d.abandoned);
    amd += static_cast<double>(d.amd_abandoned);
    waits += static_cast<double>(d.waits);
    wait_sum += d.wait_sum_s;
    for (size_t b = 0; b < kWaitBins && b < d.wait_hist.size(); ++b) hist[b] += d.wait_hist[b];
    const double rate = d.TrueAbandonRate();
    s.day_abandon.push_back(rate);
    s.day_occupancy.push_back(d.logged_in_s > 0 ? d.talk_s / d.logged_in_s : 0.0);
    s.abandon_worst_day = std::max(s.abandon_worst_day, rate);
    if (rate > cap + 1e-12) s.days_over_cap++;
    seed_logged += d.logged_in_s;
    seed_talk += d.talk_s;
    if ((i + 1) % static_cast<size_t>(days_per_seed) == 0 || i + 1 == days.size()) {
      seed_occupancy.push_back(seed_logged > 0 ? seed_talk / seed_logged : 0.0);
      seed_logged = seed_talk = 0;
    }
  }
  const double hours = logged / 3600.0;
  s.occupancy = logged > 0 ? talk / logged : 0.0;
  s.utilization = logged > 0 ? busy / logged : 0.0;
  s.talk_min_per_agent_hour = 60.0 * s.occupancy;
  s.abandon = live > 0 ? abandoned / live : 0.0;
  s.amd_abandon_share = live > 0 ? amd / live : 0.0;
  s.wait_mean_s = waits > 0 ? wait_sum / waits : 0.0;
  int64_t total = 0;
  for (int64_t h : hist) total += h;
  int64_t cumulative = 0;
  for (size_t b = 0; b < kWaitBins && total > 0; ++b) {
    cumulative += hist[b];
    if (static_cast<double>(cumulative) >= 0.95 * static_cast<double>(total)) {
      s.wait_p95_s = static_cast<double>(b + 1) * kWaitBinS;
      break;
    }
  }
  s.contacts_per_agent_hour = hours > 0 ? contacts / hours : 0.0;
  s.dials_per_agent_hour = hours > 0 ? dials / hours : 0.0;
  s.machines_to_agent_per_agent_hour = hours > 0 ? machines / hours : 0.0;
  s.lines_per_agent = logged > 0 ? line_s / logged : 0.0;
  if (!seed_occupancy.empty()) {
    s.occupancy_seed_min = *std::min_element(seed_occupancy.begin(), seed_occupancy.end());
    s.occupancy_seed_max = *std::max_element(seed_occupancy.begin(), seed_occupancy.end());
    double mean = 0;
    for (double o : seed_occupancy) mean += o;
    mean /= static_cast<double>(seed_occupancy.size());
    double var = 0;
    for (double o : seed_occupancy) var += (o - mean) * (o - mean);
    s.occupancy_seed_sd = seed_occupancy.size() > 1
                              ? std::sqrt(var / static_cast<double>(seed_occupancy.size() - 1))
                              : 0.0;
  }
  return s;
}

std::vector<DayResult> RunPolicy(const Scenario& scenario, TapeSet& tapes,
                                 const std::function<std::unique_ptr<Policy>()>& make,
                                 double* decide_ns, int64_t* decisions,
                                 const std::function<void(Policy&)>& after_seed) {
  std::vector<DayResult> days;
  for (size_t s = 0; s < tapes.seeds(); ++s) {
    std::unique_ptr<Policy> policy = make();
    for (int d = 0; d < tapes.days(); ++d) {
      days.push_back(RunDay(scenario, tapes.Get(s, d), d, *policy));
    }
    if (decide_ns != nullptr) *decide_ns += policy->DecideNs();
    if (decisions != nullptr) *decisions += policy->Decisions();
    if (after_seed) after_seed(*policy);
  }
  return days;
}

namespace {

double MeanHuman(const Scenario& scenario) {
  double sum = 0;
  const int steps = 96;
  for (int i = 0; i < steps; ++i) {
    sum += scenario.human.At((i + 0.5) * scenario.shift_s() / steps);
  }
  return sum / steps;
}

}  // namespace

CaseResult RunCase(const Scenario& scenario, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CaseResult result;
  result.scenario = scenario.name;
  result.agents = scenario.agents;
  result.amd = scenario.amd.enabled;
  result.human_mean = MeanHuman(scenario);
  const double t = scenario.talk.Mean(), w = scenario.wrap.Mean();
  result.b0_analytic = t / (t + w);
  {
    const double p =
        result.human_mean * (scenario.amd.enabled ? 1.0 - scenario.amd.false_positive : 1.0);
    const double pm = scenario.machine * (scenario.amd.enabled ? scenario.amd.false_negative : 1.0);
    const double m = scenario.machine_talk.Mean() + scenario.machine_wrap.Mean();
    result.b1_analytic = p > 0 ? t / (t + w + pm / p * m) : 0.0;
  }
  const std::vector<uint64_t>& seeds =
      options.tuning_seeds ? scenario.tuning_seeds : scenario.reporting_seeds;
  const int days = options.days > 0 ? options.days : scenario.days_per_seed;
  TapeSet tapes(scenario, seeds, days);
  const double cap = scenario.abandon_cap;

  for (const std::string& name : options.policies) {
    if (name == "progressive") {
      auto runs = RunPolicy(scenario, tapes, [] { return std::make_unique<ProgressivePolicy>(); });
      result.policies.push_back(Summarize("progressive", runs, days, cap));
    } else if (name == "vicidial") {
      auto runs =
          RunPolicy(scenario, tapes, [] { return std::make_unique<VicidialAdaptivePolicy>(); });
      result.policies.push_back(Summarize("vicidial-adapt", runs, days, cap));
    } else if (name == "engine") {
      double ns = 0;
      int64_t decisions = 0;
      double guard = 0, log_lambda = 0, cpu_ns = 0;
      auto runs = RunPolicy(
          scenario, tapes, [&] { return EnginePolicy::Create(scenario, options.engine); }, &ns,
          &decisions, [&](Policy& p) {
            auto& engine = static_cast<EnginePolicy&>(p);
            guard += engine.guard_share() / static_cast<double>(tapes.seeds());
            log_lambda += engine.mean_log10_lambda() / static_cast<double>(tapes.seeds());
            cpu_ns += engine.DecideCpuNs();
          });
      PolicySummary summary = Summarize("engine", runs, days, cap);
      summary.engine_guard_share = guard;
      summary.engine_mean_log10_lambda = log_lambda;
      summary.decisions = decisions;
      summary.ns_per_decision = decisions > 0 ? ns / static_cast<double>(decisions) : 0.0;
      summary.cpu_ns_per_decision =
          decisions > 0 ? cpu_ns / static_cast<double>(decisions) : 0.0;
      result.policies.push_back(summary);
    } else if (name == "power-best") {
      // Fixed ratios upward from 1; stop after two non-compliant ratios in a
      // row (worst-day abandon grows with the ratio).
      PolicySummary best;
      bool found = false;
      int misses = 0;
      for (double k = 1.0; k <= options.ratio_max + 1e-9 && misses < 2; k += options.ratio_step) {
        auto runs =
            RunPolicy(scenario, tapes, [k] { return std::make_unique<PowerPolicy>(k); });
        PolicySummary s = Summarize(absl::StrFormat("power k=%.2f (hindsight best)", k), runs,
                                    days, cap);
        result.ratio_search.push_back({k, s.occupancy, s.abandon, s.abandon_worst_day});
        if (s.days_over_cap == 0) {
          misses = 0;
          if (!found || s.occupancy > best.occupancy) {
            best = s;
            found = true;
            result.best_ratio = k;
          }
        } else {
          misses++;
        }
      }
      if (!found) best.policy = "power (no compliant ratio)";
      result.policies.push_back(best);
    } else if (name == "b0" || name == "b1") {
      const Ceiling ceiling = name == "b0" ? Ceiling::kB0 : Ceiling::kB1;
      std::vector<DayResult> runs;
      for (size_t s = 0; s < tapes.seeds(); ++s) {
        for (int d = 0; d < days; ++d) {
          runs.push_back(RunClairvoyant(scenario, tapes.Get(s, d), d, ceiling));
        }
      }
      result.policies.push_back(Summarize(name == "b0" ? "B0 clairvoyant" : "B1 clairvoyant+machines",
                                          runs, days, cap));
    }
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string FormatCase(const CaseResult& r, bool timing) {
  std::string out = absl::StrFormat(
      "== %s: %d agents, live %.0f%%, AMD %s (B0 %.1f%%, B1 %.1f%% analytic%s)\n", r.scenario,
      r.agents, 100.0 * r.human_mean, r.amd ? "on" : "off", 100.0 * r.b0_analytic,
      100.0 * r.b1_analytic, timing ? absl::StrFormat("; %.1f s", r.seconds) : std::string());
  absl::StrAppendFormat(&out, "%-30s %8s %13s %7s %7s %7s %5s %6s %6s %7s %6s %15s\n",
                        "policy", "occup%", "seeds min-max", "talk/h", "aband%", "worst%", ">cap",
                        "wait_s", "p95_s", "cont/h", "lines", "ns/dec wall/cpu");
  for (const PolicySummary& s : r.policies) {
    absl::StrAppendFormat(
        &out, "%-30s %8.1f %6.1f-%-6.1f %7.1f %7.2f %7.2f %5d %6.1f %6.1f %7.2f %6.2f %15s\n",
        s.policy, 100.0 * s.occupancy, 100.0 * s.occupancy_seed_min,
        100.0 * s.occupancy_seed_max, s.talk_min_per_agent_hour, 100.0 * s.abandon,
        100.0 * s.abandon_worst_day, static_cast<int>(s.days_over_cap), s.wait_mean_s,
        s.wait_p95_s, s.contacts_per_agent_hour, s.lines_per_agent,
        s.decisions > 0 && timing
            ? absl::StrFormat("%.0f/%.0f", s.ns_per_decision, s.cpu_ns_per_decision)
            : std::string("-"));
  }
  return out;
}

nlohmann::json CaseJson(const CaseResult& r, bool timing) {
  nlohmann::json j;
  j["scenario"] = r.scenario;
  j["agents"] = r.agents;
  j["live_answer_probability"] = r.human_mean;
  j["amd"] = r.amd;
  j["b0_analytic"] = r.b0_analytic;
  j["b1_analytic"] = r.b1_analytic;
  j["best_ratio"] = r.best_ratio;
  if (timing) j["seconds"] = r.seconds;
  for (const RatioPoint& p : r.ratio_search) {
    j["ratio_search"].push_back({{"ratio", p.ratio},
                                 {"occupancy", p.occupancy},
                                 {"abandon", p.abandon},
                                 {"abandon_worst_day", p.abandon_worst_day}});
  }
  for (const PolicySummary& s : r.policies) {
    nlohmann::json p;
    p["policy"] = s.policy;
    p["days"] = s.days;
    p["occupancy"] = s.occupancy;
    p["occupancy_seed_min"] = s.occupancy_seed_min;
    p["occupancy_seed_max"] = s.occupancy_seed_max;
    p["occupancy_seed_sd"] = s.occupancy_seed_sd;
    p["talk_min_per_agent_hour"] = s.talk_min_per_agent_hour;
    p["utilization"] = s.utilization;
    p["abandon"] = s.abandon;
    p["abandon_worst_day"] = s.abandon_worst_day;
    p["days_over_cap"] = s.days_over_cap;
    p["amd_abandon_share"] = s.amd_abandon_share;
    p["wait_mean_s"] = s.wait_mean_s;
    p["wait_p95_s"] = s.wait_p95_s;
    p["contacts_per_agent_hour"] = s.contacts_per_agent_hour;
    p["dials_per_agent_hour"] = s.dials_per_agent_hour;
    p["machines_to_agent_per_agent_hour"] = s.machines_to_agent_per_agent_hour;
    p["lines_per_agent"] = s.lines_per_agent;
    if (s.decisions > 0) {
      p["decisions"] = s.decisions;
      p["engine_guard_share"] = s.engine_guard_share;
      p["engine_mean_log10_lambda"] = s.engine_mean_log10_lambda;
      if (timing) {
        p["ns_per_decision"] = s.ns_per_decision;
        p["cpu_ns_per_decision"] = s.cpu_ns_per_decision;
      }
    }
    p["day_abandon"] = s.day_abandon;
    p["day_occupancy"] = s.day_occupancy;
    j["policies"].push_back(p);
  }
  return j;
}

}  // namespace dialgrid::sim
