// The policies the simulator compares (pacing.md 1.1, 1.3): progressive,
// power at a fixed ratio, VICIdial's adaptive level (ADAPT_HARD_LIMIT, as
// implemented in AST_VDadapt.pl / AST_VDauto_dial.pl) and the pacing engine.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "services/dialing/pacing/pacer.h"
#include "tools/simulator/simulation.h"

namespace dialgrid::sim {

// One line per free agent.
class ProgressivePolicy : public Policy {
 public:
  std::string Name() const override { return "progressive"; }
  int Decide(const SimView& view) override;
};

// `ratio` lines per free agent (Five9 CallsAgentRatio).
class PowerPolicy : public Policy {
 public:
  explicit PowerPolicy(double ratio) : ratio_(ratio) {}
  std::string Name() const override;
  int Decide(const SimView& view) override;

 private:
  double ratio_;
};

// VICIdial ADAPT_HARD_LIMIT with its defaults (dropped percentage 3, maximum
// level 3.0, intensity 0, dl_diff_target 0, available_only_ratio_tally N) and
// drop_call_seconds = the grace period. Its drop metric is VICIdial's: DROP
// over human_answered (dropped machines count without AMD; AMD hang-ups do
// not count).
class VicidialAdaptivePolicy : public Policy {
 public:
  std::string Name() const override { return "vicidial-adapt"; }
  void StartDay(int64_t day) override;
  int Decide(const SimView& view) override;
  void OnCall(const CallEvent& call) override;

 private:
  double level_ = 1.0;
  struct Sample {
    int ready, waiting, total;
  };
  std::deque<Sample> samples_;
  int64_t seconds_ = 0;
  int64_t calls_today_ = 0, answers_today_ = 0, drops_today_ = 0;
  int64_t calls_minute_ = 0, drops_minute_ = 0;
  int64_t calls_last_minute_ = 0, drops_last_minute_ = 0;
  double drop_pct_today_ = 0.0;
};

// The pacing engine (services/dialing/pacing) in predictive mode.
class EnginePolicy : public Policy {
 public:
  static std::unique_ptr<EnginePolicy> Create(const Scenario& scenario,
                                              const pacing::ControllerOptions& options = {});
  std::string Name() const override { return "engine"; }
  int Decide(const SimView& view) override;
  void OnAttemptFinished(double age_s, bool needs_agent) override;
  void OnCall(const CallEvent& call) override;
  double DecideNs() const override { return decide_ns_; }
  // CPU time of this thread spent in Decide (CLOCK_THREAD_CPUTIME_ID).
  double DecideCpuNs() const { return decide_cpu_ns_; }
  int64_t Decisions() const override { return decisions_; }
  // Diagnostics: share of ticks the guard held the campaign at progressive,
  // and the mean of log10(lambda) over the other ticks with a ready model.
  double guard_share() const { return decisions_ > 0 ? double(guard_ticks_) / decisions_ : 0; }
  double mean_log10_lambda() const { return priced_ticks_ > 0 ? log_lambda_sum_ / priced_ticks_ : 0; }
  const pacing::Pacer& pacer() const { return *pacer_; }

 private:
  explicit EnginePolicy(std::unique_ptr<pacing::Pacer> pacer) : pacer_(std::move(pacer)) {}
  std::unique_ptr<pacing::Pacer> pacer_;
  double decide_ns_ = 0.0;
  double decide_cpu_ns_ = 0.0;
  int64_t decisions_ = 0;
  int64_t guard_ticks_ = 0, priced_ticks_ = 0;
  double log_lambda_sum_ = 0.0;
};

}  // namespace dialgrid::sim
