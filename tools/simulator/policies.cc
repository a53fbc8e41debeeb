#include "tools/simulator/policies.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"

namespace dialgrid::sim {

int ProgressivePolicy::Decide(const SimView& view) {
  return view.idle - static_cast<int>(view.in_flight_ages.size()) - view.queued;
}

std::string PowerPolicy::Name() const { return absl::StrFormat("power k=%.2f", ratio_); }

int PowerPolicy::Decide(const SimView& view) {
  return static_cast<int>(std::lround(ratio_ * view.idle)) -
         static_cast<int>(view.in_flight_ages.size()) - view.queued;
}

void VicidialAdaptivePolicy::StartDay(int64_t /*day*/) {
  // "Today" resets at the end of the timeclock day; the level carries over.
  calls_today_ = answers_today_ = drops_today_ = 0;
  calls_minute_ = drops_minute_ = calls_last_minute_ = drops_last_minute_ = 0;
  drop_pct_today_ = 0.0;
  samples_.clear();
  seconds_ = 0;
}

int VicidialAdaptivePolicy::Decide(const SimView& view) {
  // count_agents_lines, every loop: the last 15 samples.
  samples_.push_back({view.idle, view.queued, view.agents});
  if (samples_.size() > 15) samples_.pop_front();
  ++seconds_;
  // Drop statistics every 60 s.
  if (seconds_ % 60 == 0) {
    drop_pct_today_ = answers_today_ > 0 ? 100.0 * static_cast<double>(drops_today_) /
                                               static_cast<double>(answers_today_)
                                         : 0.0;
    calls_last_minute_ = calls_minute_;
    drops_last_minute_ = drops_minute_;
    calls_minute_ = drops_minute_ = 0;
  }
  // calculate_dial_level every 15 s.
  if (seconds_ % 15 == 0 && !samples_.empty()) {
    double ready = 0, waiting = 0, total = 0;
    for (const Sample& s : samples_) {
      ready += s.ready;
      waiting += s.waiting;
      total += s.total;
    }
    const double n = static_cast<double>(samples_.size());
    const double differential = ready / n - waiting / n;
    const double agents_avg = total / n;
    const double mul = agents_avg > 0.0 ? differential / agents_avg : 0.0;
    const double ipct = 100.0 * mul;  // adaptive_intensity 0
    double level = level_ * (1.0 + ipct / 100.0);
    level = std::min(level, 3.0);
    level = std::max(level, 1.0);
    if (calls_last_minute_ > 20 &&
        static_cast<double>(drops_last_minute_) / static_cast<double>(calls_last_minute_) > 0.5) {
      level /= 2.0;
    }
    if (calls_today_ > 50 && drop_pct_today_ > 3.0) level = 1.0;  // ADAPT_HARD_LIMIT
    level_ = std::max(level, 1.0);
  }
  // AST_VDauto_dial.pl: goal = round(level * (READY + INCALL)); existing calls
  // include those connected to agents.
  const int counted = view.idle + view.talking;
  const int goal = static_cast<int>(std::lround(level_ * counted));
  const int existing = static_cast<int>(view.in_flight_ages.size()) + view.queued + view.talking;
  const int place = std::max(0, goal - existing);
  calls_today_ += place;
  calls_minute_ += place;
  return place;
}

void VicidialAdaptivePolicy::OnCall(const CallEvent& call) {
  if (call.abandoned && !call.amd_hangup) {
    // DROP is a human_answered status, whatever answered.
    drops_today_++;
    drops_minute_++;
    answers_today_++;
  } else if (call.reached_agent && call.human) {
    answers_today_++;
  }
}

std::unique_ptr<EnginePolicy> EnginePolicy::Create(const Scenario& scenario,
                                                   const pacing::ControllerOptions& options) {
  // Only the campaign's settings (cap, grace, line cap) come from the
  // scenario, as they would from a campaign's configuration.
  pacing::PacingSettings settings;
  settings.mode = pacing::DialingMode::kPredictive;
  settings.abandon_cap = scenario.abandon_cap;
  settings.grace_s = scenario.grace_s;
  settings.max_lines_per_agent = scenario.max_lines_per_agent;
  auto pacer = pacing::Pacer::Create(settings, options);
  if (!pacer.ok()) {
    std::fprintf(stderr, "engine: %s\n", pacer.status().ToString().c_str());
    std::abort();
  }
  return std::unique_ptr<EnginePolicy>(new EnginePolicy(std::move(*pacer)));
}

int EnginePolicy::Decide(const SimView& view) {
  pacing::CampaignSnapshot snapshot;
  snapshot.now_s = static_cast<double>(view.day) * 86400.0 + view.now_s;
  snapshot.day = view.day;
  snapshot.agents = view.agent_views;
  snapshot.attempts_in_flight_age_s = view.in_flight_ages;
  snapshot.queued_answers = view.queued;
  timespec cpu_start{}, cpu_stop{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
  const auto start = std::chrono::steady_clock::now();
  const pacing::PacingDecision decision = pacer_->Decide(snapshot);
  const auto stop = std::chrono::steady_clock::now();
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_stop);
  decide_cpu_ns_ += 1e9 * static_cast<double>(cpu_stop.tv_sec - cpu_start.tv_sec) +
                    static_cast<double>(cpu_stop.tv_nsec - cpu_start.tv_nsec);
  decide_ns_ += static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count());
  decisions_++;
  if (decision.model_ready) {
    if (decision.lambda <= 0.0) {
      guard_ticks_++;
    } else {
      priced_ticks_++;
      log_lambda_sum_ += std::log10(decision.lambda);
    }
  }
  static const bool trace = std::getenv("DIALGRID_SIM_TRACE") != nullptr;
  if (trace && decisions_ % 600 == 0) {
    std::fprintf(stderr, "t=%.0f idle=%d lines=%d lambda=%.1f answers=%.2f free=%.2f\n",
                 view.now_s, view.idle, decision.lines, decision.lambda,
                 decision.expected_answers, decision.expected_free_agents);
  }
  return decision.lines;
}

void EnginePolicy::OnAttemptFinished(double age_s, bool needs_agent) {
  pacer_->OnAttemptFinished({age_s, needs_agent});
}

void EnginePolicy::OnCall(const CallEvent& call) {
  pacing::FinishedCall finished;
  finished.live_person = call.human;
  finished.abandoned = call.abandoned;
  finished.reached_agent = call.reached_agent;
  finished.talk_s = call.talk_s;
  finished.wrap_s = call.wrap_s;
  finished.day = call.day;
  finished.routed_age_s = call.routed_age_s;
  pacer_->OnCallFinished(finished);
}

}  // namespace dialgrid::sim
