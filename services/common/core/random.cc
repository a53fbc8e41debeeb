#include "services/common/core/random.h"

#include <sys/random.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"

namespace dialgrid {
namespace {

std::string RandomBytes(int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = getrandom(out.data() + got, out.size() - got, 0);
    if (n < 0) std::abort();  // No entropy source: nothing safe to do.
    got += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace

std::string RandomHex(int bytes) { return absl::BytesToHexString(RandomBytes(bytes)); }

std::string RandomBase64Url(int bytes) { return absl::WebSafeBase64Escape(RandomBytes(bytes)); }

double RandomSource::Uniform01() {
  return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0);  // 53 bits
}

int64_t RandomSource::UniformInt(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (span == 0) return static_cast<int64_t>(Next());  // the whole 64-bit range
  // Rejection sampling: no modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x = Next();
  while (x >= limit) x = Next();
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % span);
}

bool RandomSource::Bernoulli(double p) { return Uniform01() < p; }

double RandomSource::Exponential(double mean) { return -mean * std::log1p(-Uniform01()); }

SystemRandom::SystemRandom() {
  std::string bytes = RandomBytes(8);
  uint64_t seed = 0;
  for (char c : bytes) seed = (seed << 8) | static_cast<unsigned char>(c);
  engine_.seed(seed);
}

uint64_t SystemRandom::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  return engine_();
}

uint64_t SeededRandom::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  return engine_();
}

}  // namespace dialgrid
