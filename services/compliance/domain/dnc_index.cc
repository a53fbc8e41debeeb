#include "services/compliance/domain/dnc_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/core/errors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the index image is little-endian");

namespace dialgrid::compliance {
namespace {

constexpr uint64_t kNanpUniverse = 10'000'000'000ULL;        // 10^10
constexpr uint64_t kE164Universe = 1'000'000'000'000'000ULL;  // 10^15
constexpr uint64_t kMaxUniverse = uint64_t{1} << 56;
constexpr uint64_t kMaxKeys = 0xFFFFFFFFULL;  // the directory holds uint32 ranks

// A group holds 2^kGroupShift high values.
constexpr int kGroupShift = 8;
constexpr uint64_t kGroupHighs = uint64_t{1} << kGroupShift;

constexpr char kMagic[8] = {'D', 'G', 'D', 'N', 'C', 'I', 'X', '\0'};
constexpr size_t kHeaderWords = 8;
constexpr size_t kHeaderBytes = kHeaderWords * 8;
// Header words.
constexpr size_t kMagicWord = 0;
constexpr size_t kVersionWord = 1;  // version | header bytes << 32
constexpr size_t kCountWord = 2;
constexpr size_t kUniverseWord = 3;
constexpr size_t kShapeWord = 4;  // low bits | group shift << 32
constexpr size_t kGroupsWord = 5;
constexpr size_t kDataWordsWord = 6;
constexpr size_t kChecksumWord = 7;

// ---- bit helpers ----------------------------------------------------------

// Bit operations in two flavours: portable broadword code, and the POPCNT /
// PDEP instructions (inline asm, so the library needs no -m flags) used when
// CpuHasFastBitOps() says the CPU has them and PDEP is not microcoded.
template <bool kFast>
inline unsigned Popcount(uint64_t x) {
#if defined(__x86_64__)
  if constexpr (kFast) {
    uint64_t r;
    asm("popcntq %1, %0" : "=r"(r) : "r"(x) : "cc");
    return static_cast<unsigned>(r);
  }
#endif
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<unsigned>((x * 0x0101010101010101ULL) >> 56);
}

// Position of the r-th (0-based) set bit of x; x has more than r set bits.
template <bool kFast>
inline unsigned SelectInWord(uint64_t x, unsigned r) {
#if defined(__x86_64__)
  if constexpr (kFast) {
    uint64_t bit;
    asm("pdepq %2, %1, %0" : "=r"(bit) : "r"(uint64_t{1} << r), "r"(x));
    return static_cast<unsigned>(__builtin_ctzll(bit));
  }
#endif
  // Broadword select (Vigna 2008) down to the byte, then within the byte.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  uint64_t s = x - ((x >> 1) & 0x5555555555555555ULL);
  s = (s & 0x3333333333333333ULL) + ((s >> 2) & 0x3333333333333333ULL);
  s = (s + (s >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  const uint64_t byte_sums = s * kOnes;  // byte i: set bits in bytes 0..i
  // High bit of byte i set when bytes 0..i hold at most r set bits.
  const uint64_t at_most_r = ((r * kOnes | kHighs) - byte_sums) & kHighs;
  const unsigned place = static_cast<unsigned>((((at_most_r >> 7) * kOnes) >> 56) * 8);
  unsigned rank = r - static_cast<unsigned>(((byte_sums << 8) >> place) & 0xFF);
  uint64_t byte = (x >> place) & 0xFF;
  for (; rank > 0; --rank) byte &= byte - 1;
  return place + static_cast<unsigned>(__builtin_ctzll(byte));
}

bool CpuHasFastBitOps() {
#if defined(__x86_64__)
  static const bool fast = [] {
    __builtin_cpu_init();
    // AMD Zen 1 and 2 run PDEP in microcode (hundreds of cycles).
    return __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("bmi2") &&
           !__builtin_cpu_is("znver1") && !__builtin_cpu_is("znver2");
  }();
  return fast;
#else
  return false;
#endif
}

// Asks for 2 MB pages (anonymous memory, or page-cache folios of a mapped
// file); harmless where the kernel does not support it.
void AdviseHugePages(void* addr, size_t bytes) {
  if (bytes >= (size_t{2} << 20)) madvise(addr, bytes, MADV_HUGEPAGE);
}

// 64 bits starting at bit p. The image has a zero word of padding at the
// end, so p may be anywhere below the last data bit.
inline uint64_t Read64(const uint64_t* words, uint64_t p) {
  const uint64_t i = p >> 6;
  const unsigned o = p & 63;
  return (words[i] >> o) | ((words[i + 1] << 1) << (63 - o));
}

inline void WriteBits(uint64_t* words, uint64_t p, uint64_t value, int bits) {
  if (bits == 0) return;
  const uint64_t i = p >> 6;
  const unsigned o = p & 63;
  words[i] |= value << o;
  if (o + static_cast<unsigned>(bits) > 64) words[i + 1] |= value >> (64 - o);
}

inline uint64_t LowMask(int bits) { return bits == 0 ? 0 : ~uint64_t{0} >> (64 - bits); }

// ---- shape ----------------------------------------------------------------

int LowBitsFor(uint64_t universe, uint64_t count) {
  const uint64_t q = universe / std::max<uint64_t>(count, 1);
  return q <= 1 ? 0 : 63 - __builtin_clzll(q);
}

uint64_t GroupsFor(uint64_t universe, int low_bits) {
  return ((universe - 1) >> (low_bits + kGroupShift)) + 1;
}

struct Shape {
  int low_bits;
  uint64_t groups;
  size_t dir_words;   // (groups + 1) uint32, padded to a word
  size_t data_words;  // bits, plus one word of padding
  size_t total_words;
};

Shape ShapeFor(uint64_t universe, uint64_t count) {
  Shape s;
  s.low_bits = LowBitsFor(universe, count);
  s.groups = GroupsFor(universe, s.low_bits);
  s.dir_words = (s.groups + 2) / 2;
  const uint64_t bits = s.groups * kGroupHighs + count * static_cast<uint64_t>(s.low_bits + 1);
  s.data_words = (bits + 63) / 64 + 1;
  s.total_words = kHeaderWords + s.dir_words + s.data_words;
  return s;
}

// ---- checksum: 4-lane xxHash64-style rounds over 64-bit words --------------

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t Round(uint64_t acc, uint64_t input) {
  return Rotl(acc + input * kPrime2, 31) * kPrime1;
}

// Checksum of the image with the checksum word taken as zero.
uint64_t ImageChecksum(const uint64_t* words, size_t n) {
  uint64_t lanes[4] = {kPrime1 + kPrime2, kPrime2, 0, 0 - kPrime1};
  auto word = [&](size_t i) { return i == kChecksumWord ? 0 : words[i]; };
  size_t i = 0;
  for (; i < kHeaderWords; ++i) lanes[i & 3] = Round(lanes[i & 3], word(i));
  for (; i + 4 <= n; i += 4) {
    lanes[0] = Round(lanes[0], words[i]);
    lanes[1] = Round(lanes[1], words[i + 1]);
    lanes[2] = Round(lanes[2], words[i + 2]);
    lanes[3] = Round(lanes[3], words[i + 3]);
  }
  for (; i < n; ++i) lanes[i & 3] = Round(lanes[i & 3], words[i]);
  uint64_t h = Rotl(lanes[0], 1) + Rotl(lanes[1], 7) + Rotl(lanes[2], 12) + Rotl(lanes[3], 18);
  h ^= n * kPrime1;
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  return h;
}

absl::Status DataLoss(absl::string_view reason, absl::string_view path,
                      absl::string_view what) {
  return WithReason(absl::DataLossError(absl::StrCat("DNC index ", path, ": ", what)), reason);
}

absl::Status FromErrno(int err, absl::string_view reason, absl::string_view what) {
  return WithReason(absl::ErrnoToStatus(err, what), reason);
}

// ---- number parsing -------------------------------------------------------

constexpr uint64_t kPow10[16] = {1ULL,
                                 10ULL,
                                 100ULL,
                                 1000ULL,
                                 10000ULL,
                                 100000ULL,
                                 1000000ULL,
                                 10000000ULL,
                                 100000000ULL,
                                 1000000000ULL,
                                 10000000000ULL,
                                 100000000000ULL,
                                 1000000000000ULL,
                                 10000000000000ULL,
                                 100000000000000ULL,
                                 1000000000000000ULL};

inline bool IsSeparator(char c) {
  return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == ',' ||
         c == '\r';
}

// The fast path of ParseDncKey: no Status on failure.
bool ParseKey(absl::string_view text, NumberPlan plan, uint64_t* key) {
  uint64_t v = 0;
  int digits = 0;
  bool plus = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      if (++digits > 15) return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    } else if (c == '+') {
      if (digits > 0 || plus) return false;
      plus = true;
    } else if (!IsSeparator(c)) {
      return false;
    }
  }
  if (plan == NumberPlan::kNanp) {
    if (digits == 11 && v / kPow10[10] == 1) {
      v -= kPow10[10];
    } else if (digits != 10 || plus) {
      return false;  // "+2015550123" is country code 20, not NANP
    }
    const uint64_t npa_first = v / kPow10[9];
    const uint64_t nxx_first = (v / kPow10[6]) % 10;
    if (npa_first < 2 || nxx_first < 2) return false;
  } else {
    if (digits < 7 || v < kPow10[digits - 1]) return false;  // leading 0
  }
  *key = v;
  return true;
}

inline bool IsBlank(absl::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// ---- lookup ---------------------------------------------------------------
//
// The prefetch helpers are always inlined: GCC 12 otherwise marks a helper
// made only of __builtin_prefetch as const and deletes its calls as dead code.

// Where a group's bits are.
struct GroupSpan {
  uint64_t block;  // first bit of the unary part
  uint64_t k;      // keys in the group
};

ABSL_ATTRIBUTE_ALWAYS_INLINE inline GroupSpan Locate(const uint32_t* dir, uint64_t g, int l) {
  const uint64_t first = dir[g];
  return {g * kGroupHighs + first * static_cast<uint64_t>(l + 1), dir[g + 1] - first};
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void PrefetchBit(const uint64_t* data, uint64_t bit) {
  __builtin_prefetch(data + (bit >> 6));
}

// Fetches the lines a lookup in the group reads: the unary part (the select
// scans it from its start; 2-3 lines at registry density) and the low bits
// around where high value h's keys probably are (keys spread evenly over the
// group's highs; +-8 keys covers 99.5 % of lookups at registry density).
// Branch-free on purpose: a mispredicted branch here, waiting on a
// directory load, stalls the whole pipeline of lookups.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void PrefetchData(const uint64_t* data, const GroupSpan& s, unsigned h, int l) {
  const uint64_t unary_end = s.block + kGroupHighs + s.k;
  PrefetchBit(data, s.block);
  PrefetchBit(data, s.block + 512);
  PrefetchBit(data, unary_end + 63);
  const uint64_t expected_idx = h * s.k / kGroupHighs;
  const uint64_t from = expected_idx > 8 ? expected_idx - 8 : 0;
  PrefetchBit(data, unary_end + from * static_cast<uint64_t>(l));
  PrefetchBit(data, unary_end + (expected_idx + 8) * static_cast<uint64_t>(l) + 63);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void PrefetchGroup(const uint32_t* dir, const uint64_t* data, int l,
                                   uint64_t key) {
  const uint64_t high = key >> l;
  const GroupSpan s = Locate(dir, high >> kGroupShift, l);
  PrefetchData(data, s, static_cast<unsigned>(high & (kGroupHighs - 1)), l);
}

// Membership of `key`, which is below the universe.
template <bool kFast>
inline bool Probe(const uint32_t* dir, const uint64_t* data, int l, uint64_t key) {
  const uint64_t high = key >> l;
  const unsigned h = static_cast<unsigned>(high & (kGroupHighs - 1));
  const GroupSpan s = Locate(dir, high >> kGroupShift, l);
  if (s.k == 0) return false;
  PrefetchData(data, s, h, l);
  const uint64_t unary_end = s.block + kGroupHighs + s.k;  // low bits start here

  // Skip the h zeros that close high values 0..h-1 of the group.
  uint64_t p = s.block;
  for (unsigned need = h; need > 0;) {
    const uint64_t zeros = ~Read64(data, p);
    const unsigned z = Popcount<kFast>(zeros);
    if (z >= need) {
      p += SelectInWord<kFast>(zeros, need - 1) + 1;
      break;
    }
    need -= z;
    p += 64;
    if (p >= unary_end) return false;  // corrupt group; never in a valid image
  }
  if (p >= unary_end) return false;  // likewise
  // p starts the run of ones for high value h; compare low bits in order.
  uint64_t idx = p - s.block - h;
  const uint64_t key_low = key & LowMask(l);
  for (;;) {
    const uint64_t ones = Read64(data, p);
    const unsigned run = ones == ~uint64_t{0} ? 64 : static_cast<unsigned>(__builtin_ctzll(~ones));
    for (unsigned i = 0; i < run; ++i, ++idx) {
      if (idx >= s.k) return false;
      const uint64_t low = Read64(data, unary_end + idx * static_cast<uint64_t>(l)) & LowMask(l);
      if (low >= key_low) return low == key_low;
    }
    if (run < 64) return false;
    p += 64;
  }
}

}  // namespace

uint64_t UniverseOf(NumberPlan plan) {
  return plan == NumberPlan::kNanp ? kNanpUniverse : kE164Universe;
}

absl::StatusOr<uint64_t> ParseDncKey(absl::string_view text, NumberPlan plan) {
  uint64_t key = 0;
  if (ParseKey(text, plan, &key)) return key;
  return InvalidField("number", "INVALID_NUMBER",
                      plan == NumberPlan::kNanp
                          ? "not a 10-digit NANP number (NPA and NXX start 2-9)"
                          : "not an E.164 number (7-15 digits, with country code)");
}

// ---- DncIndex -------------------------------------------------------------

DncIndex::DncIndex(Unbound) {}

DncIndex::DncIndex(uint64_t universe) {
  auto empty = FromSortedKeys({}, universe);
  if (empty.ok()) *this = std::move(*empty);
}

DncIndex::DncIndex(DncIndex&& other) noexcept { *this = std::move(other); }

DncIndex& DncIndex::operator=(DncIndex&& other) noexcept {
  if (this == &other) return *this;
  Reset();
  universe_ = other.universe_;
  count_ = other.count_;
  low_bits_ = other.low_bits_;
  groups_ = other.groups_;
  dir_ = other.dir_;
  data_ = other.data_;
  image_bytes_ = other.image_bytes_;
  checksum_ = other.checksum_;
  fast_bits_ = other.fast_bits_;
  map_ = std::exchange(other.map_, nullptr);  // the region moves; views stay valid
  map_bytes_ = std::exchange(other.map_bytes_, 0);
  file_backed_ = other.file_backed_;
  other.Reset();
  return *this;
}

DncIndex::~DncIndex() { Reset(); }

void DncIndex::Reset() {
  if (map_ != nullptr) munmap(map_, map_bytes_);
  map_ = nullptr;
  map_bytes_ = 0;
  file_backed_ = false;
  fast_bits_ = false;
  universe_ = 0;
  count_ = 0;
  low_bits_ = 0;
  groups_ = 0;
  dir_ = nullptr;
  data_ = nullptr;
  image_bytes_ = 0;
  checksum_ = 0;
}

void DncIndex::BindViews(const uint64_t* image, size_t bytes) {
  count_ = image[kCountWord];
  universe_ = image[kUniverseWord];
  low_bits_ = static_cast<int>(image[kShapeWord] & 0xFFFFFFFF);
  groups_ = image[kGroupsWord];
  checksum_ = image[kChecksumWord];
  dir_ = reinterpret_cast<const uint32_t*>(image + kHeaderWords);
  data_ = image + kHeaderWords + (groups_ + 2) / 2;
  image_bytes_ = bytes;
  fast_bits_ = CpuHasFastBitOps();
}

absl::StatusOr<DncIndex> DncIndex::FromSortedKeys(absl::Span<const uint64_t> keys,
                                                  uint64_t universe) {
  if (universe == 0 || universe > kMaxUniverse) {
    return InvalidField("universe", "UNIVERSE_OUT_OF_RANGE",
                        absl::StrCat("must be in [1, 2^56], got ", universe));
  }
  if (keys.size() > kMaxKeys) {
    return InvalidField("keys", "TOO_MANY_KEYS",
                        absl::StrCat("at most ", kMaxKeys, " keys, got ", keys.size()));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] >= universe) {
      return InvalidField("keys", "KEY_OUT_OF_RANGE",
                          absl::StrCat("key ", keys[i], " is not below ", universe));
    }
    if (i > 0 && keys[i] <= keys[i - 1]) {
      return InvalidField("keys", "KEYS_NOT_SORTED",
                          absl::StrCat("keys must be strictly increasing (index ", i, ")"));
    }
  }
  const uint64_t n = keys.size();
  const Shape shape = ShapeFor(universe, n);
  DncIndex index{Unbound{}};
  const size_t bytes = shape.total_words * 8;
  void* region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    return WithReason(absl::ResourceExhaustedError(
                          absl::StrCat("DNC index: cannot allocate ", bytes, " bytes")),
                      "DNC_INDEX_NO_MEMORY");
  }
  index.map_ = region;  // zero-filled; unmapped by ~DncIndex on any return
  index.map_bytes_ = bytes;
  AdviseHugePages(region, bytes);
  uint64_t* header = static_cast<uint64_t*>(region);
  uint32_t* dir = reinterpret_cast<uint32_t*>(header + kHeaderWords);
  uint64_t* data = header + kHeaderWords + shape.dir_words;
  const int l = shape.low_bits;
  const int group_shift = l + kGroupShift;
  const uint64_t low_mask = LowMask(l);

  // Directory: keys before each group.
  for (uint64_t key : keys) ++dir[(key >> group_shift) + 1];
  for (uint64_t g = 0; g < shape.groups; ++g) dir[g + 1] += dir[g];

  // Each key: a 1 at (group start + its index in the group + high value
  // within the group), its low bits after the group's unary part.
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t key = keys[i];
    const uint64_t g = key >> group_shift;
    const uint64_t first = dir[g];
    const uint64_t k = dir[g + 1] - first;
    const uint64_t idx = i - first;
    const uint64_t block = g * kGroupHighs + first * static_cast<uint64_t>(l + 1);
    const uint64_t one = block + idx + ((key >> l) & (kGroupHighs - 1));
    data[one >> 6] |= uint64_t{1} << (one & 63);
    WriteBits(data, block + kGroupHighs + k + idx * static_cast<uint64_t>(l), key & low_mask, l);
  }

  std::memcpy(&header[kMagicWord], kMagic, sizeof(kMagic));
  header[kVersionWord] = kFormatVersion | (uint64_t{kHeaderBytes} << 32);
  header[kCountWord] = n;
  header[kUniverseWord] = universe;
  header[kShapeWord] = static_cast<uint64_t>(l) | (uint64_t{kGroupShift} << 32);
  header[kGroupsWord] = shape.groups;
  header[kDataWordsWord] = shape.data_words;
  header[kChecksumWord] = ImageChecksum(header, shape.total_words);

  index.BindViews(header, bytes);
  return index;
}

bool DncIndex::Contains(uint64_t key) const {
  if (key >= universe_) return false;
  return fast_bits_ ? Probe<true>(dir_, data_, low_bits_, key)
                    : Probe<false>(dir_, data_, low_bits_, key);
}

size_t DncIndex::ContainsBatch(absl::Span<const uint64_t> keys, absl::Span<bool> out) const {
  return fast_bits_ ? ContainsBatchImpl<true>(keys, out) : ContainsBatchImpl<false>(keys, out);
}

template <bool kFast>
size_t DncIndex::ContainsBatchImpl(absl::Span<const uint64_t> keys, absl::Span<bool> out) const {
  // Software pipeline: the directory entry of key i + kDirAhead and the data
  // lines of key i + kDataAhead are on their way while key i is answered.
  constexpr size_t kDirAhead = 16;
  constexpr size_t kDataAhead = 8;
  const size_t n = std::min(keys.size(), out.size());
  const int shift = low_bits_ + kGroupShift;
  for (size_t i = 0; i < std::min(n, kDirAhead); ++i) {
    if (keys[i] < universe_) __builtin_prefetch(dir_ + (keys[i] >> shift));
  }
  size_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + kDirAhead < n && keys[i + kDirAhead] < universe_) {
      __builtin_prefetch(dir_ + (keys[i + kDirAhead] >> shift));
    }
    if (i + kDataAhead < n && keys[i + kDataAhead] < universe_) {
      PrefetchGroup(dir_, data_, low_bits_, keys[i + kDataAhead]);
    }
    const bool hit = keys[i] < universe_ && Probe<kFast>(dir_, data_, low_bits_, keys[i]);
    out[i] = hit;
    hits += hit ? 1 : 0;
  }
  return hits;
}

void DncIndex::ForEach(absl::FunctionRef<void(uint64_t)> fn) const {
  const int l = low_bits_;
  const uint64_t low_mask = LowMask(l);
  for (uint64_t g = 0; g < groups_; ++g) {
    const uint64_t first = dir_[g];
    const uint64_t k = dir_[g + 1] - first;
    if (k == 0) continue;
    const uint64_t block = g * kGroupHighs + first * static_cast<uint64_t>(l + 1);
    const uint64_t unary_bits = kGroupHighs + k;
    uint64_t i = 0;  // keys of the group seen so far
    for (uint64_t off = 0; i < k && off < unary_bits; off += 64) {
      uint64_t ones = Read64(data_, block + off);
      if (unary_bits - off < 64) ones &= LowMask(static_cast<int>(unary_bits - off));
      for (; ones != 0 && i < k; ++i, ones &= ones - 1) {
        // The i-th 1 sits after (its high value) zeros and i ones.
        const uint64_t high = g * kGroupHighs + (off + static_cast<uint64_t>(__builtin_ctzll(ones)) - i);
        const uint64_t low = Read64(data_, block + unary_bits + i * static_cast<uint64_t>(l)) & low_mask;
        fn((high << l) | low);
      }
    }
  }
}

absl::Status DncIndex::WriteTo(const std::string& path) const {
  if (universe_ == 0) return FailedPrecondition("DNC_INDEX_MOVED_FROM", "index has no image");
  const std::string tmp = absl::StrCat(path, ".tmp");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FromErrno(errno, "DNC_INDEX_WRITE_FAILED", absl::StrCat("open ", tmp));
  const char* bytes = static_cast<const char*>(map_);
  size_t left = image_bytes_;
  while (left > 0) {
    const ssize_t w = write(fd, bytes, std::min<size_t>(left, size_t{1} << 30));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = w < 0 ? errno : EIO;
      close(fd);
      unlink(tmp.c_str());
      return FromErrno(err, "DNC_INDEX_WRITE_FAILED", absl::StrCat("write ", tmp));
    }
    bytes += w;
    left -= static_cast<size_t>(w);
  }
  if (fsync(fd) != 0) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return FromErrno(err, "DNC_INDEX_WRITE_FAILED", absl::StrCat("fsync ", tmp));
  }
  // Drop the small pages the writes left in the page cache, so the first
  // Open reads the file back into 2 MB folios (see Open).
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return FromErrno(err, "DNC_INDEX_WRITE_FAILED", absl::StrCat("close ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return FromErrno(err, "DNC_INDEX_WRITE_FAILED", absl::StrCat("rename to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<DncIndex> DncIndex::Open(const std::string& path, const OpenOptions& options) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "DNC_INDEX_OPEN_FAILED", absl::StrCat("open ", path));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return FromErrno(err, "DNC_INDEX_OPEN_FAILED", absl::StrCat("stat ", path));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (!S_ISREG(st.st_mode) || size < kHeaderBytes || size % 8 != 0) {
    close(fd);
    return DataLoss("DNC_INDEX_SIZE_MISMATCH", path,
                    absl::StrCat("not an index image (", size, " bytes)"));
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const int map_err = errno;
  close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) {
    return FromErrno(map_err, "DNC_INDEX_OPEN_FAILED", absl::StrCat("mmap ", path));
  }
  DncIndex index{Unbound{}};
  index.map_ = map;
  index.map_bytes_ = size;
  index.file_backed_ = true;
  // Before the first touch: lets the page cache fill with 2 MB folios that
  // every replica then maps with 2 MB pages (far fewer TLB misses).
  AdviseHugePages(map, size);
  const uint64_t* w = static_cast<const uint64_t*>(map);

  if (std::memcmp(&w[kMagicWord], kMagic, sizeof(kMagic)) != 0) {
    return DataLoss("DNC_INDEX_BAD_MAGIC", path, "bad magic");
  }
  const uint32_t version = static_cast<uint32_t>(w[kVersionWord] & 0xFFFFFFFF);
  if (version != kFormatVersion) {
    return FailedPrecondition("DNC_INDEX_UNSUPPORTED_VERSION",
                              absl::StrCat("DNC index ", path, ": format version ", version,
                                           ", this build reads ", kFormatVersion));
  }
  const uint64_t count = w[kCountWord];
  const uint64_t universe = w[kUniverseWord];
  if ((w[kVersionWord] >> 32) != kHeaderBytes || universe == 0 || universe > kMaxUniverse ||
      count > kMaxKeys || count > universe) {
    return DataLoss("DNC_INDEX_CORRUPT", path, "bad header");
  }
  const Shape shape = ShapeFor(universe, count);
  if (w[kShapeWord] != (static_cast<uint64_t>(shape.low_bits) | (uint64_t{kGroupShift} << 32)) ||
      w[kGroupsWord] != shape.groups || w[kDataWordsWord] != shape.data_words) {
    return DataLoss("DNC_INDEX_CORRUPT", path, "header fields disagree");
  }
  if (size != shape.total_words * 8) {
    return DataLoss("DNC_INDEX_SIZE_MISMATCH", path,
                    absl::StrCat(size, " bytes, header says ", shape.total_words * 8));
  }
  if (options.verify_checksum && ImageChecksum(w, shape.total_words) != w[kChecksumWord]) {
    return DataLoss("DNC_INDEX_CHECKSUM_MISMATCH", path, "checksum mismatch");
  }
  // The directory bounds every read Contains makes, so check it even
  // without the checksum.
  const uint32_t* dir = reinterpret_cast<const uint32_t*>(w + kHeaderWords);
  const uint64_t group_capacity = uint64_t{1} << (shape.low_bits + kGroupShift);
  bool dir_ok = dir[0] == 0 && dir[shape.groups] == count;
  for (uint64_t g = 0; dir_ok && g < shape.groups; ++g) {
    dir_ok = dir[g + 1] >= dir[g] && dir[g + 1] - dir[g] <= group_capacity;
  }
  if (!dir_ok) return DataLoss("DNC_INDEX_CORRUPT", path, "inconsistent directory");

  index.BindViews(w, size);
  return index;
}

// ---- DncIndexBuilder ------------------------------------------------------

DncIndexBuilder::DncIndexBuilder(NumberPlan plan) : plan_(plan), universe_(UniverseOf(plan)) {}

absl::Status DncIndexBuilder::KeyOutOfRange(uint64_t key) const {
  return InvalidField("number", "KEY_OUT_OF_RANGE",
                      absl::StrCat("key ", key, " is not below ", universe_));
}

absl::StatusOr<RegistryFileReport> DncIndexBuilder::AddRegistryFile(const std::string& path) {
  constexpr size_t kChunk = size_t{1} << 20;
  constexpr size_t kMaxLine = 256;  // longer lines are garbage, never buffered
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return NotFound("REGISTRY_FILE_NOT_FOUND", absl::StrCat("registry file ", path));
    }
    return InvalidField("registry_file", "REGISTRY_FILE_UNREADABLE",
                        absl::StrCat(path, ": ", std::strerror(err)));
  }
  const size_t rollback = keys_.size();
  RegistryFileReport report;
  std::string line;   // the current line when it spans chunks
  bool overlong = false;
  bool first_bytes = true;
  auto end_line = [&](absl::string_view text) {
    ++report.lines;
    uint64_t key = 0;
    if (!overlong && IsBlank(text)) {
      ++report.blank_lines;
    } else if (!overlong && ParseKey(text, plan_, &key)) {
      keys_.push_back(key);
      ++report.numbers;
    } else {
      ++report.garbage_lines;
      if (report.first_garbage_lines.size() < RegistryFileReport::kMaxReportedGarbageLines) {
        report.first_garbage_lines.push_back(report.lines);
      }
    }
    overlong = false;
  };
  auto append = [&](absl::string_view part) {
    if (overlong) return;
    if (line.size() + part.size() > kMaxLine) {
      overlong = true;
      line.clear();
    } else {
      line.append(part.data(), part.size());
    }
  };
  std::vector<char> buf(kChunk);
  absl::Status error;
  for (;;) {
    const ssize_t r = read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      error = InvalidField("registry_file", "REGISTRY_FILE_UNREADABLE",
                           absl::StrCat(path, ": ", std::strerror(errno)));
      break;
    }
    if (r == 0) break;
    absl::string_view chunk(buf.data(), static_cast<size_t>(r));
    if (first_bytes) {
      first_bytes = false;
      if (absl::StartsWith(chunk, "\xEF\xBB\xBF")) chunk.remove_prefix(3);  // UTF-8 BOM
    }
    if (chunk.find('\0') != absl::string_view::npos) {
      error = InvalidField("registry_file", "REGISTRY_FILE_BINARY",
                           absl::StrCat(path, ": contains NUL bytes, not a text file"));
      break;
    }
    size_t start = 0;
    for (size_t nl = chunk.find('\n'); nl != absl::string_view::npos;
         nl = chunk.find('\n', start)) {
      const absl::string_view part = chunk.substr(start, nl - start);
      if (line.empty() && !overlong) {
        if (part.size() > kMaxLine) overlong = true;
        end_line(part);
      } else {
        append(part);
        end_line(line);
        line.clear();
      }
      start = nl + 1;
    }
    append(chunk.substr(start));
  }
  close(fd);
  if (error.ok() && (!line.empty() || overlong)) end_line(line);  // no final newline
  if (error.ok() && report.numbers == 0 && report.garbage_lines > 0) {
    error = InvalidField(
        "registry_file", "REGISTRY_FILE_NO_NUMBERS",
        absl::StrCat(path, ": ", report.garbage_lines, " lines, none a number (first bad lines ",
                     absl::StrJoin(report.first_garbage_lines, ", "), ")"));
  }
  if (!error.ok()) {
    keys_.resize(rollback);
    return error;
  }
  return report;
}

absl::StatusOr<DncIndex> DncIndexBuilder::Build() {
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  auto index = DncIndex::FromSortedKeys(keys_, universe_);
  if (index.ok()) {
    keys_.clear();
    keys_.shrink_to_fit();
  }
  return index;
}

// ---- DncList --------------------------------------------------------------

DncList::DncList(std::shared_ptr<const DncIndex> base) : base_(std::move(base)) {}

absl::Status DncList::CheckKey(uint64_t key) const {
  if (key < base_->universe()) return absl::OkStatus();
  return InvalidField("number", "KEY_OUT_OF_RANGE",
                      absl::StrCat("key ", key, " is not below ", base_->universe()));
}

bool DncList::Contains(uint64_t key) const {
  absl::ReaderMutexLock lock(&mu_);
  if (!added_.empty() && added_.contains(key)) return true;
  return base_->Contains(key) && (removed_.empty() || !removed_.contains(key));
}

size_t DncList::ContainsBatch(absl::Span<const uint64_t> keys, absl::Span<bool> out) const {
  absl::ReaderMutexLock lock(&mu_);
  size_t hits = base_->ContainsBatch(keys, out);
  if (added_.empty() && removed_.empty()) return hits;
  const size_t n = std::min(keys.size(), out.size());
  for (size_t i = 0; i < n; ++i) {
    const bool hit = added_.contains(keys[i]) || (out[i] && !removed_.contains(keys[i]));
    if (hit != out[i]) hits += hit ? 1 : size_t{0} - 1;
    out[i] = hit;
  }
  return hits;
}

absl::Status DncList::Add(uint64_t key) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  if (removed_.erase(key) > 0) return absl::OkStatus();  // back to the base's answer
  if (!base_->Contains(key)) added_.insert(key);
  return absl::OkStatus();
}

absl::Status DncList::Remove(uint64_t key) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  if (added_.erase(key) > 0) return absl::OkStatus();
  if (base_->Contains(key)) removed_.insert(key);
  return absl::OkStatus();
}

absl::Status DncList::ReplaceBase(std::shared_ptr<const DncIndex> base) {
  std::shared_ptr<const DncIndex> old;  // released outside the lock
  absl::MutexLock lock(&mu_);
  if (base->universe() != base_->universe()) {
    return InvalidField("base", "UNIVERSE_MISMATCH",
                        absl::StrCat("new base covers [0, ", base->universe(), "), this list [0, ",
                                     base_->universe(), ")"));
  }
  absl::erase_if(added_, [&](uint64_t key) { return base->Contains(key); });
  absl::erase_if(removed_, [&](uint64_t key) { return !base->Contains(key); });
  old = std::exchange(base_, std::move(base));
  return absl::OkStatus();
}

absl::StatusOr<DncIndex> DncList::Compact() const {
  std::shared_ptr<const DncIndex> base;
  std::vector<uint64_t> added;
  absl::flat_hash_set<uint64_t> removed;
  {
    absl::ReaderMutexLock lock(&mu_);  // copy the small overlay; build unlocked
    base = base_;
    added.assign(added_.begin(), added_.end());
    removed = removed_;
  }
  std::sort(added.begin(), added.end());
  std::vector<uint64_t> keys;
  keys.reserve(base->size() - removed.size() + added.size());
  auto next_added = added.begin();
  base->ForEach([&](uint64_t key) {
    for (; next_added != added.end() && *next_added < key; ++next_added) keys.push_back(*next_added);
    if (!removed.contains(key)) keys.push_back(key);
  });
  keys.insert(keys.end(), next_added, added.end());
  return DncIndex::FromSortedKeys(keys, base->universe());
}

size_t DncList::overlay_size() const {
  absl::ReaderMutexLock lock(&mu_);
  return added_.size() + removed_.size();
}

size_t DncList::added_size() const {
  absl::ReaderMutexLock lock(&mu_);
  return added_.size();
}

size_t DncList::removed_size() const {
  absl::ReaderMutexLock lock(&mu_);
  return removed_.size();
}

std::shared_ptr<const DncIndex> DncList::base() const {
  absl::ReaderMutexLock lock(&mu_);
  return base_;
}

namespace dnc_internal {
bool CpuHasFastBitOps() { return compliance::CpuHasFastBitOps(); }
unsigned PopcountPortable(uint64_t x) { return Popcount<false>(x); }
unsigned PopcountFast(uint64_t x) { return Popcount<true>(x); }
unsigned SelectInWordPortable(uint64_t x, unsigned r) { return SelectInWord<false>(x, r); }
unsigned SelectInWordFast(uint64_t x, unsigned r) { return SelectInWord<true>(x, r); }
}  // namespace dnc_internal

}  // namespace dialgrid::compliance
