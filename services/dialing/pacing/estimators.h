// Online estimators the pacer learns from the finished-attempt and
// finished-call streams: exponentially forgetting histograms, the answer model
// (probability that an attempt of a given age needs an agent within a
// horizon) and the service model (probability that a busy agent is free within
// a horizon, given the time already spent talking or wrapping up).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace dialgrid::pacing {

// Horizons (seconds from now) at which the pacer balances answers against
// free agents. The last one is beyond any ring time the law allows.
inline constexpr std::array<double, 15> kCheckpointsS = {1,  2,  3,  4,  5,  6,  8, 10,
                                                         12, 15, 18, 22, 26, 30, 36};
inline constexpr size_t kCheckpoints = kCheckpointsS.size();

// A histogram with fixed-width bins (the last bin holds everything beyond)
// in which an observation's weight halves every half_life observations.
class DecayedHistogram {
 public:
  DecayedHistogram(double bin_width, size_t bins, double half_life);

  void Add(double x);
  // Adds `count` observations at x with the current weight each (priors).
  void AddMany(double x, double count);
  // Effective number of observations (sum of the decayed weights).
  double Weight() const { return total_ / scale_; }
  // Probability mass of every bin (sums to 1; all zero when empty).
  std::vector<double> Pmf() const;
  double Mean() const;
  size_t bins() const { return counts_.size(); }
  double bin_width() const { return width_; }
  size_t BinOf(double x) const;

 private:
  void Renormalize();

  double width_;
  double growth_;
  double scale_ = 1.0;  // weight of the next observation
  double total_ = 0.0;
  std::vector<double> counts_;
};

// Attempts: when (age) they need an agent, or end without needing one.
class AnswerModel {
 public:
  static constexpr double kBinS = 1.0;
  static constexpr size_t kBins = 90;  // ages 0..89 s, beyond in the last bin

  explicit AnswerModel(double half_life);

  void Add(double age_s, bool needs_agent);
  // A routed answer's outcome, once known (the agent's disposition): whether
  // the answer that came to need an agent at routed_age_s was a live person.
  // Without AMD, live persons answer after a human ring and machines after
  // their greeting's detection, so the live share depends on the age.
  void AddOutcome(double routed_age_s, bool live_person);
  double Observations() const { return routed_.Weight() + ended_.Weight(); }
  // Outcomes seen (decayed weight); 0 when the caller never reports them.
  double OutcomeObservations() const { return outcomes_.Weight(); }
  // Probability that an attempt needs an agent at some age.
  double RoutedProbability() const;
  // Mean age at which attempts leave the in-flight set.
  double MeanAge() const;
  // Rebuilds the conditional table from the histograms.
  void Rebuild();
  // P(an attempt now aged age_s needs an agent within checkpoint k | it is
  // still in flight), from the last Rebuild().
  const std::array<double, kCheckpoints>& Conditional(double age_s) const;
  // P(a new attempt needs an agent within checkpoint k and is a live
  // person), from the last Rebuild(). Equal to Conditional(0) while no
  // outcome has been reported (every answer is then taken as live).
  const std::array<double, kCheckpoints>& NewLineLive() const { return new_live_; }

 private:
  DecayedHistogram routed_;
  DecayedHistogram ended_;
  // Routed answers with a known outcome, and of them the live persons, by
  // age at routing.
  DecayedHistogram outcomes_;
  DecayedHistogram live_;
  std::vector<std::array<double, kCheckpoints>> table_;
  std::array<double, kCheckpoints> new_live_{};
};

// Agents: talk (or machine handling) and wrap-up durations.
class ServiceModel {
 public:
  static constexpr double kTalkBinS = 2.0;
  static constexpr size_t kTalkBins = 1200;  // 0..2400 s
  static constexpr double kWrapBinS = 1.0;
  static constexpr size_t kWrapBins = 600;  // 0..600 s

  // Wrap-up is learned per class of the talk before it (a machine or a wrong
  // number talks seconds and wraps up in seconds; a conversation wraps up
  // longer): talk shorter than each bound, and the rest.
  static constexpr std::array<double, 6> kTalkClassBoundsS = {10, 20, 40, 80, 160, 320};
  static constexpr size_t kTalkClasses = kTalkClassBoundsS.size() + 1;
  static size_t TalkClass(double talk_s);

  explicit ServiceModel(double half_life);

  void Add(double talk_s, double wrap_s);
  double Observations() const { return talk_.Weight(); }
  double MeanTalk() const { return talk_.Mean(); }
  double MeanWrap() const { return wrap_.Mean(); }
  // Rebuilds the tables for a grace period of grace_s.
  void Rebuild(double grace_s);
  // P(an agent talking for elapsed_s is free within checkpoint k + grace).
  const std::array<double, kCheckpoints>& FreeWhileTalking(double elapsed_s) const;
  // P(an agent wrapping up for elapsed_s is free within checkpoint k + grace).
  // talk_s: how long the call before it talked, if known (< 0: unknown).
  const std::array<double, kCheckpoints>& FreeWhileWrapping(double elapsed_s,
                                                            double talk_s = -1.0) const;

 private:
  DecayedHistogram talk_;
  DecayedHistogram wrap_;
  std::vector<DecayedHistogram> class_wrap_;  // per talk class
  std::vector<std::array<double, kCheckpoints>> talking_;
  std::vector<std::array<double, kCheckpoints>> wrapping_;
  // Per talk class (wrap-up after a call of known talk).
  std::vector<std::vector<std::array<double, kCheckpoints>>> class_wrapping_;
};

}  // namespace dialgrid::pacing
