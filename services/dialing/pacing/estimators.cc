#include "services/dialing/pacing/estimators.h"

#include <algorithm>
#include <cmath>

namespace dialgrid::pacing {

DecayedHistogram::DecayedHistogram(double bin_width, size_t bins, double half_life)
    : width_(bin_width),
      growth_(std::pow(2.0, 1.0 / std::max(half_life, 1.0))),
      counts_(std::max<size_t>(bins, 1), 0.0) {}

size_t DecayedHistogram::BinOf(double x) const {
  if (!(x > 0.0)) return 0;
  // A small epsilon so that an age of exactly n bins lands in bin n even
  // after floating-point subtraction.
  double b = std::floor(x / width_ + 1e-9);
  if (b >= static_cast<double>(counts_.size() - 1)) return counts_.size() - 1;
  return static_cast<size_t>(b);
}

void DecayedHistogram::Add(double x) { AddMany(x, 1.0); }

void DecayedHistogram::AddMany(double x, double count) {
  counts_[BinOf(x)] += scale_ * count;
  total_ += scale_ * count;
  scale_ *= growth_;
  if (scale_ > 1e100) Renormalize();
}

void DecayedHistogram::Renormalize() {
  for (double& c : counts_) c /= scale_;
  total_ /= scale_;
  scale_ = 1.0;
}

std::vector<double> DecayedHistogram::Pmf() const {
  std::vector<double> pmf(counts_.size(), 0.0);
  if (total_ <= 0.0) return pmf;
  for (size_t i = 0; i < counts_.size(); ++i) pmf[i] = counts_[i] / total_;
  return pmf;
}

double DecayedHistogram::Mean() const {
  if (total_ <= 0.0) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    sum += counts_[i] * (static_cast<double>(i) + 0.5) * width_;
  }
  return sum / total_;
}

AnswerModel::AnswerModel(double half_life)
    : routed_(kBinS, kBins, half_life),
      ended_(kBinS, kBins, half_life),
      outcomes_(kBinS, kBins, half_life),
      live_(kBinS, kBins, half_life),
      table_(kBins) {
  // Both histograms must forget at the same pace: every observation advances
  // both clocks (see Add), so their weights stay comparable.
  Rebuild();
}

void AnswerModel::Add(double age_s, bool needs_agent) {
  // Advance the other histogram's clock with a zero-weight observation so
  // that the two decay together.
  if (needs_agent) {
    routed_.Add(age_s);
    ended_.AddMany(age_s, 0.0);
  } else {
    ended_.Add(age_s);
    routed_.AddMany(age_s, 0.0);
  }
}

void AnswerModel::AddOutcome(double routed_age_s, bool live_person) {
  outcomes_.Add(routed_age_s);
  live_.AddMany(routed_age_s, live_person ? 1.0 : 0.0);
}

double AnswerModel::RoutedProbability() const {
  double r = routed_.Weight(), e = ended_.Weight();
  return r + e > 0.0 ? r / (r + e) : 0.0;
}

double AnswerModel::MeanAge() const {
  const double r = routed_.Weight(), e = ended_.Weight();
  return r + e > 0.0 ? (r * routed_.Mean() + e * ended_.Mean()) / (r + e) : 0.0;
}

void AnswerModel::Rebuild() {
  const double r = routed_.Weight(), e = ended_.Weight();
  std::vector<double> pr = routed_.Pmf(), pe = ended_.Pmf();
  const double share = r + e > 0.0 ? r / (r + e) : 0.0;
  for (size_t b = 0; b < kBins; ++b) {
    pr[b] *= share;
    pe[b] *= 1.0 - share;
  }
  // Suffix sums: survival S(a) = mass at ages >= a; routed prefix sums.
  std::vector<double> survival(kBins + 1, 0.0), routed_prefix(kBins + 1, 0.0);
  for (size_t b = kBins; b-- > 0;) survival[b] = survival[b + 1] + pr[b] + pe[b];
  for (size_t b = 0; b < kBins; ++b) routed_prefix[b + 1] = routed_prefix[b] + pr[b];
  for (size_t a = 0; a < kBins; ++a) {
    for (size_t k = 0; k < kCheckpoints; ++k) {
      if (survival[a] < 1e-9) {
        table_[a][k] = 0.0;
        continue;
      }
      size_t end = std::min(kBins, a + static_cast<size_t>(kCheckpointsS[k] / kBinS));
      double p = (routed_prefix[end] - routed_prefix[a]) / survival[a];
      table_[a][k] = std::clamp(p, 0.0, 1.0);
    }
  }
  // The live share by age at routing, shrunk towards the overall share by a
  // few pseudo-observations where a bin has little data.
  std::vector<double> live_share(kBins, 1.0);
  if (outcomes_.Weight() > 0.0) {
    const std::vector<double> po = outcomes_.Pmf(), pl = live_.Pmf();
    const double total = outcomes_.Weight();
    const double overall = live_.Weight() / total;
    constexpr double kPseudo = 3.0;
    for (size_t b = 0; b < kBins; ++b) {
      // Pmf() is per histogram: back to (decayed) counts.
      const double n = po[b] * total;
      const double live = pl[b] * live_.Weight();
      live_share[b] = std::clamp((live + kPseudo * overall) / (n + kPseudo), 0.0, 1.0);
    }
  }
  double cumulative = 0.0;
  size_t b = 0;
  for (size_t k = 0; k < kCheckpoints; ++k) {
    const size_t end = std::min(kBins, static_cast<size_t>(kCheckpointsS[k] / kBinS));
    for (; b < end; ++b) cumulative += pr[b] * live_share[b];
    new_live_[k] = survival[0] < 1e-9 ? 0.0 : std::clamp(cumulative / survival[0], 0.0, 1.0);
  }
}

const std::array<double, kCheckpoints>& AnswerModel::Conditional(double age_s) const {
  return table_[routed_.BinOf(age_s)];
}

ServiceModel::ServiceModel(double half_life)
    : talk_(kTalkBinS, kTalkBins, half_life),
      wrap_(kWrapBinS, kWrapBins, half_life),
      class_wrap_(kTalkClasses, DecayedHistogram(kWrapBinS, kWrapBins, half_life)),
      talking_(kTalkBins),
      wrapping_(kWrapBins),
      class_wrapping_(kTalkClasses, std::vector<std::array<double, kCheckpoints>>(kWrapBins)) {
  Rebuild(0.0);
}

size_t ServiceModel::TalkClass(double talk_s) {
  size_t c = 0;
  while (c < kTalkClassBoundsS.size() && talk_s >= kTalkClassBoundsS[c]) ++c;
  return c;
}

void ServiceModel::Add(double talk_s, double wrap_s) {
  talk_.Add(talk_s);
  wrap_.Add(wrap_s);
  class_wrap_[TalkClass(talk_s)].Add(wrap_s);
}

namespace {

// P(W <= x) from a 1-bin-wide pmf, linear inside a bin.
class Cdf {
 public:
  Cdf(const std::vector<double>& pmf, double width) : width_(width), prefix_(pmf.size() + 1) {
    for (size_t i = 0; i < pmf.size(); ++i) prefix_[i + 1] = prefix_[i] + pmf[i];
  }
  double operator()(double x) const {
    if (x <= 0.0) return 0.0;
    double pos = x / width_;
    size_t i = static_cast<size_t>(pos);
    if (i >= prefix_.size() - 1) return prefix_.back();
    double frac = pos - static_cast<double>(i);
    return prefix_[i] + frac * (prefix_[i + 1] - prefix_[i]);
  }

 private:
  double width_;
  std::vector<double> prefix_;
};

}  // namespace

void ServiceModel::Rebuild(double grace_s) {
  const std::vector<double> pt = talk_.Pmf();
  const std::vector<double> all_wrap = wrap_.Pmf();
  const Cdf wrap_cdf(all_wrap, kWrapBinS);
  const double wrap_total = wrap_cdf(1e18);
  // Wrap-up per talk class, shrunk towards all wrap-ups by a few
  // pseudo-observations where a class has little data.
  constexpr double kPseudo = 5.0;
  std::vector<Cdf> class_cdf;
  class_cdf.reserve(kTalkClasses);
  for (size_t c = 0; c < kTalkClasses; ++c) {
    const double n = class_wrap_[c].Weight();
    std::vector<double> pmf = class_wrap_[c].Pmf();
    for (size_t i = 0; i < pmf.size(); ++i) {
      pmf[i] = (n * pmf[i] + kPseudo * all_wrap[i]) / (n + kPseudo);
    }
    class_cdf.emplace_back(pmf, kWrapBinS);
  }
  std::vector<double> talk_survival(kTalkBins + 1, 0.0);
  for (size_t j = kTalkBins; j-- > 0;) talk_survival[j] = talk_survival[j + 1] + pt[j];
  std::vector<const Cdf*> cdf_after(kTalkBins);  // the wrap-up after a talk in bin j
  for (size_t j = 0; j < kTalkBins; ++j) {
    cdf_after[j] = &class_cdf[TalkClass((static_cast<double>(j) + 0.5) * kTalkBinS)];
  }

  for (size_t r = 0; r < kTalkBins; ++r) {
    const double elapsed = static_cast<double>(r) * kTalkBinS;
    if (talk_survival[r] < 1e-9 || wrap_total <= 0.0) {
      // Longer than anything seen: reuse the last row with data (or zero).
      talking_[r] = r > 0 ? talking_[r - 1] : std::array<double, kCheckpoints>{};
      continue;
    }
    for (size_t k = 0; k < kCheckpoints; ++k) {
      const double horizon = elapsed + kCheckpointsS[k] + grace_s;
      double p = 0.0;
      for (size_t j = r; j < kTalkBins; ++j) {
        const double t = (static_cast<double>(j) + 0.5) * kTalkBinS;
        if (t >= horizon) break;
        // The wrap-up that follows a talk of t.
        p += pt[j] * (*cdf_after[j])(horizon - t);
      }
      talking_[r][k] = std::clamp(p / talk_survival[r] / wrap_total, 0.0, 1.0);
    }
  }
  auto wrap_rows = [&](const Cdf& cdf, std::vector<std::array<double, kCheckpoints>>& rows) {
    const double total = cdf(1e18);
    for (size_t w = 0; w < kWrapBins; ++w) {
      const double elapsed = static_cast<double>(w) * kWrapBinS;
      const double done = cdf(elapsed);
      const double left = total - done;
      if (left < 1e-9) {
        rows[w] = w > 0 ? rows[w - 1] : std::array<double, kCheckpoints>{};
        continue;
      }
      for (size_t k = 0; k < kCheckpoints; ++k) {
        const double p = (cdf(elapsed + kCheckpointsS[k] + grace_s) - done) / left;
        rows[w][k] = std::clamp(p, 0.0, 1.0);
      }
    }
  };
  wrap_rows(wrap_cdf, wrapping_);
  for (size_t c = 0; c < kTalkClasses; ++c) wrap_rows(class_cdf[c], class_wrapping_[c]);
}

const std::array<double, kCheckpoints>& ServiceModel::FreeWhileTalking(double elapsed_s) const {
  return talking_[talk_.BinOf(elapsed_s)];
}

const std::array<double, kCheckpoints>& ServiceModel::FreeWhileWrapping(double elapsed_s,
                                                                        double talk_s) const {
  if (talk_s >= 0.0) return class_wrapping_[TalkClass(talk_s)][wrap_.BinOf(elapsed_s)];
  return wrapping_[wrap_.BinOf(elapsed_s)];
}

}  // namespace dialgrid::pacing
