#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace dialgrid {

// `bytes` bytes from the OS CSPRNG (getrandom), hex-encoded. For ids and
// secrets; aborts only if the kernel refuses randomness.
std::string RandomHex(int bytes);

// `bytes` bytes from the OS CSPRNG, base64url without padding.
std::string RandomBase64Url(int bytes);

// A source of random draws for logic that must be reproducible in tests and
// simulations (pacing, jitter, a simulated carrier): production passes
// SystemRandom, tests and simulators a SeededRandom. Not for ids or secrets
// (RandomHex above). Thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t Next() = 0;  // uniform over all 64-bit values
  // Uniform in [0, 1).
  double Uniform01();
  // Uniform in [lo, hi] (inclusive); lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  bool Bernoulli(double p);
  // Exponentially distributed with this mean (inter-arrival times).
  double Exponential(double mean);
};

// Seeded from the OS once; draws differ run to run.
class SystemRandom final : public RandomSource {
 public:
  SystemRandom();
  uint64_t Next() override;

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

// The same seed gives the same draws, on every run and machine (mt19937_64
// is fully specified by the C++ standard; the distributions above are
// computed here, not by the library).
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  uint64_t Next() override;

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace dialgrid
