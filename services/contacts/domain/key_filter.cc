#include "services/contacts/domain/key_filter.h"

namespace dialgrid::contacts {
namespace {

// FNV-1a, then a splitmix64 finalizer for a second, independent-looking
// hash; the k probes are h1 + i * h2 (Kirsch-Mitzenmacher).
uint64_t Fnv(absl::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

KeyFilter::KeyFilter(int log2_bits, int64_t max_keys)
    : log2_bits_(log2_bits), max_keys_(max_keys) {}

void KeyFilter::Add(absl::string_view key) {
  if (words_.empty()) words_.assign(size_t{1} << (log2_bits_ - 6), 0);
  uint64_t h1 = Mix(Fnv(key)), h2 = Mix(h1) | 1;
  uint64_t mask = (uint64_t{1} << log2_bits_) - 1;
  for (int i = 0; i < kHashes; ++i) {
    uint64_t bit = (h1 + static_cast<uint64_t>(i) * h2) & mask;
    words_[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
  ++keys_;
}

bool KeyFilter::MayContain(absl::string_view key) const {
  if (words_.empty()) return false;
  uint64_t h1 = Mix(Fnv(key)), h2 = Mix(h1) | 1;
  uint64_t mask = (uint64_t{1} << log2_bits_) - 1;
  for (int i = 0; i < kHashes; ++i) {
    uint64_t bit = (h1 + static_cast<uint64_t>(i) * h2) & mask;
    if ((words_[bit >> 6] & (uint64_t{1} << (bit & 63))) == 0) return false;
  }
  return true;
}

}  // namespace dialgrid::contacts
