#pragma once

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace dialgrid::contacts {

// A Bloom filter over strings (external ids, E.164 numbers): MayContain is
// never false for a key that was added, and true for a key never added with
// a small probability (about 0.1 % at 1 M keys, 2 % at 2 M keys with the
// default size). Fixed memory: `bits` / 8 bytes, allocated on the first Add.
// Past `max_keys` keys it reports itself full and the caller stops trusting
// it. Not thread-safe.
class KeyFilter {
 public:
  explicit KeyFilter(int log2_bits = 24, int64_t max_keys = 4'000'000);

  void Add(absl::string_view key);
  bool MayContain(absl::string_view key) const;
  bool full() const { return keys_ >= max_keys_; }
  int64_t keys() const { return keys_; }

 private:
  static constexpr int kHashes = 5;
  int log2_bits_;
  int64_t max_keys_;
  int64_t keys_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace dialgrid::contacts
