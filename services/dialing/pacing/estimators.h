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
  double Observations() const { return routed_.Weight() + ended_.Weight(); }
  // Probability that an attempt needs an agent at some age.
  double RoutedProbability() const;
  // Mean age at which attempts leave the in-flight set.
  double MeanAge() const;
  // Rebuilds the conditional table from the histograms.
  void Rebuild();
  // P(an attempt now aged age_s needs an agent within checkpoint k | it is
  // still in flight), from the last Rebuild().
  const std::array<double, kCheckpoints>& Conditional(double age_s) const;

 private:
  DecayedHistogram routed_;
  DecayedHistogram ended_;
  std::vector<std::array<double, kCheckpoints>> table_;
};

// Agents: talk (or machine handling) and wrap-up durations.
class ServiceModel {
 public:
  static constexpr double kTalkBinS = 2.0;
  static constexpr size_t kTalkBins = 1200;  // 0..2400 s
  static constexpr double kWrapBinS = 1.0;
  static constexpr size_t kWrapBins = 600;  // 0..600 s

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
  const std::array<double, kCheckpoints>& FreeWhileWrapping(double elapsed_s) const;

 private:
  DecayedHistogram talk_;
  DecayedHistogram wrap_;
  std::vector<std::array<double, kCheckpoints>> talking_;
  std::vector<std::array<double, kCheckpoints>> wrapping_;
};

}  // namespace dialgrid::pacing
