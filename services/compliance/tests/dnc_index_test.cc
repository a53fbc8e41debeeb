#include "services/compliance/domain/dnc_index.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/core/errors.h"
#include "services/compliance/domain/registry_manifest.h"

namespace dialgrid::compliance {
namespace {

constexpr uint64_t kNanp = 10'000'000'000ULL;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "dnc_index_test.XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

DncIndex MustBuild(const std::set<uint64_t>& keys, uint64_t universe) {
  std::vector<uint64_t> sorted(keys.begin(), keys.end());
  auto index = DncIndex::FromSortedKeys(sorted, universe);
  EXPECT_TRUE(index.ok()) << index.status();
  return std::move(index).value();
}

// Every key, its neighbours, random probes and both ends of the universe
// answer exactly as the reference set does; ForEach yields the set in order.
void ExpectSameAs(const DncIndex& index, const std::set<uint64_t>& ref, uint64_t universe,
                  std::mt19937_64& rng) {
  ASSERT_EQ(index.size(), ref.size());
  for (uint64_t key : ref) {
    ASSERT_TRUE(index.Contains(key)) << key;
    if (key > 0) {
      ASSERT_EQ(index.Contains(key - 1), ref.count(key - 1) == 1) << key - 1;
    }
    if (key + 1 < universe) {
      ASSERT_EQ(index.Contains(key + 1), ref.count(key + 1) == 1) << key + 1;
    }
  }
  std::uniform_int_distribution<uint64_t> any(0, universe - 1);
  std::vector<uint64_t> probes = {0, universe - 1, universe, ~uint64_t{0}};
  for (int i = 0; i < 20000; ++i) {
    const uint64_t key = any(rng);
    ASSERT_EQ(index.Contains(key), ref.count(key) == 1) << key;
    probes.push_back(key);
  }
  for (uint64_t key : ref) {
    if (probes.size() > 60000) break;
    probes.push_back(key);
    probes.push_back(key + 1);
  }
  std::shuffle(probes.begin(), probes.end(), rng);
  std::unique_ptr<bool[]> out(new bool[probes.size()]);
  size_t expected_hits = 0;
  for (uint64_t key : probes) expected_hits += ref.count(key);
  ASSERT_EQ(index.ContainsBatch(probes, absl::MakeSpan(out.get(), probes.size())), expected_hits);
  for (size_t i = 0; i < probes.size(); ++i) {
    ASSERT_EQ(out[i], ref.count(probes[i]) == 1) << probes[i];
  }
  EXPECT_EQ(index.Contains(0), ref.count(0) == 1);
  EXPECT_EQ(index.Contains(universe - 1), ref.count(universe - 1) == 1);
  EXPECT_FALSE(index.Contains(universe));
  EXPECT_FALSE(index.Contains(~uint64_t{0}));
  std::vector<uint64_t> all;
  index.ForEach([&](uint64_t key) { all.push_back(key); });
  EXPECT_EQ(all, std::vector<uint64_t>(ref.begin(), ref.end()));
}

TEST(ParseDncKey, NanpFormats) {
  for (const char* text : {"2015550123", "+1 (201) 555-0123", "1-201-555-0123", "201.555.0123",
                           "201,5550123", " 2015550123\r", "12015550123"}) {
    auto key = ParseDncKey(text, NumberPlan::kNanp);
    ASSERT_TRUE(key.ok()) << text << ": " << key.status();
    EXPECT_EQ(*key, 2015550123u) << text;
  }
  for (const char* text : {"", "201555012", "201555012345", "1015550123", "2011550123",
                           "+2015550123", "22015550123", "201-555-O123", "201555 0123 x1",
                           "++12015550123", "1+2015550123"}) {
    auto key = ParseDncKey(text, NumberPlan::kNanp);
    ASSERT_FALSE(key.ok()) << text;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(key.status()), "INVALID_NUMBER");
  }
}

TEST(ParseDncKey, E164Formats) {
  EXPECT_EQ(*ParseDncKey("+44 7911 123456", NumberPlan::kE164), 447911123456u);
  EXPECT_EQ(*ParseDncKey("+1 201 555 0123", NumberPlan::kE164), 12015550123u);
  EXPECT_EQ(*ParseDncKey("999999999999999", NumberPlan::kE164), 999999999999999u);
  EXPECT_FALSE(ParseDncKey("+0 201 555 0123", NumberPlan::kE164).ok());
  EXPECT_FALSE(ParseDncKey("1234560000000000", NumberPlan::kE164).ok());  // 16 digits
  EXPECT_FALSE(ParseDncKey("+123456", NumberPlan::kE164).ok());
}

TEST(DncBitOps, PopcountAndSelectMatchNaive) {
  std::mt19937_64 rng(1);
  const bool fast = dnc_internal::CpuHasFastBitOps();
  for (int i = 0; i < 20000; ++i) {
    uint64_t x = rng();
    if (i % 3 == 1) x &= rng();  // sparser words
    if (i % 3 == 2) x |= rng();  // denser words
    if (x == 0) continue;
    const unsigned count = static_cast<unsigned>(__builtin_popcountll(x));
    ASSERT_EQ(dnc_internal::PopcountPortable(x), count);
    if (fast) {
      ASSERT_EQ(dnc_internal::PopcountFast(x), count);
    }
    unsigned r = 0;
    for (unsigned bit = 0; bit < 64; ++bit) {
      if (((x >> bit) & 1) == 0) continue;
      ASSERT_EQ(dnc_internal::SelectInWordPortable(x, r), bit) << x << " " << r;
      if (fast) {
        ASSERT_EQ(dnc_internal::SelectInWordFast(x, r), bit) << x << " " << r;
      }
      ++r;
    }
  }
  ASSERT_EQ(dnc_internal::SelectInWordPortable(~uint64_t{0}, 63), 63u);
  if (fast) {
    ASSERT_EQ(dnc_internal::SelectInWordFast(~uint64_t{0}, 63), 63u);
  }
}

TEST(DncIndex, MembershipMatchesReferenceAcrossDensities) {
  std::mt19937_64 rng(42);
  struct Case {
    uint64_t universe;
    size_t count;
  };
  for (const Case& c : {Case{kNanp, 0}, Case{kNanp, 1}, Case{kNanp, 1000}, Case{kNanp, 200000},
                        Case{1'000'000'000'000'000ULL, 50000}, Case{1000, 700}, Case{64, 64},
                        Case{1, 1}, Case{12345, 1}}) {
    SCOPED_TRACE(absl::StrCat("universe ", c.universe, " count ", c.count));
    std::set<uint64_t> ref;
    std::uniform_int_distribution<uint64_t> any(0, c.universe - 1);
    if (c.count >= 2 && c.count < c.universe) {
      ref.insert(0);
      ref.insert(c.universe - 1);
    }
    while (ref.size() < c.count) ref.insert(any(rng));
    ExpectSameAs(MustBuild(ref, c.universe), ref, c.universe, rng);
  }
}

TEST(DncIndex, ClusteredKeysWithLongRuns) {
  // 300 consecutive keys in a sparse universe share one high value (a run
  // of ones longer than a word), plus a second cluster across a group edge.
  std::mt19937_64 rng(7);
  std::set<uint64_t> ref;
  for (uint64_t k = 0; k < 300; ++k) ref.insert(5'000'000'000ULL + k);
  for (uint64_t k = 0; k < 300; ++k) ref.insert(kNanp - 1 - 3 * k);
  const DncIndex index = MustBuild(ref, kNanp);
  EXPECT_GT(index.low_bits(), 20);
  ExpectSameAs(index, ref, kNanp, rng);
}

TEST(DncIndex, FromSortedKeysRejectsBadInput) {
  std::vector<uint64_t> unsorted = {5, 3};
  auto s = DncIndex::FromSortedKeys(unsorted, 10);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s.status()), "KEYS_NOT_SORTED");
  std::vector<uint64_t> dup = {3, 3};
  EXPECT_EQ(ReasonOf(DncIndex::FromSortedKeys(dup, 10).status()), "KEYS_NOT_SORTED");
  std::vector<uint64_t> big = {10};
  EXPECT_EQ(ReasonOf(DncIndex::FromSortedKeys(big, 10).status()), "KEY_OUT_OF_RANGE");
  EXPECT_EQ(ReasonOf(DncIndex::FromSortedKeys({}, 0).status()), "UNIVERSE_OUT_OF_RANGE");
}

TEST(DncIndex, SizeIsAboutOneBytePerNumberAtRegistryDensity) {
  // Registry density: 1 number in 40 (250 M of 10^10), here 1 M of 4 * 10^7.
  std::mt19937_64 rng(3);
  std::vector<uint64_t> keys(1'000'000);
  std::uniform_int_distribution<uint64_t> any(0, 40'000'000 - 1);
  for (auto& k : keys) k = any(rng);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto index = DncIndex::FromSortedKeys(keys, 40'000'000);
  ASSERT_TRUE(index.ok());
  const double per_key = static_cast<double>(index->SizeInBytes()) / keys.size();
  EXPECT_LT(per_key, 1.05);
  EXPECT_GT(per_key, 0.85);
}

TEST(DncIndex, MovedFromIsEmpty) {
  std::set<uint64_t> ref = {2015550123};
  DncIndex a = MustBuild(ref, kNanp);
  DncIndex b = std::move(a);
  EXPECT_TRUE(b.Contains(2015550123));
  EXPECT_FALSE(a.Contains(2015550123));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.size(), 0u);               // NOLINT(bugprone-use-after-move)
  a = std::move(b);
  EXPECT_TRUE(a.Contains(2015550123));
  DncIndex empty;
  EXPECT_EQ(empty.universe(), kNanp);
  EXPECT_FALSE(empty.Contains(2015550123));
}

TEST(DncIndexBuilder, SortsAndDedups) {
  DncIndexBuilder builder;
  for (uint64_t key : {9995550123ULL, 2015550123ULL, 9995550123ULL, 0ULL, 2015550123ULL}) {
    ASSERT_TRUE(builder.Add(key).ok());
  }
  EXPECT_EQ(builder.pending(), 5u);
  auto index = builder.Build();
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->size(), 3u);
  EXPECT_TRUE(index->Contains(0));
  EXPECT_TRUE(index->Contains(9995550123ULL));
  EXPECT_FALSE(index->Contains(9995550124ULL));
  EXPECT_EQ(builder.pending(), 0u);

  const absl::Status out = builder.Add(kNanp);
  EXPECT_EQ(out.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(out), "KEY_OUT_OF_RANGE");
}

TEST(DncIndexBuilder, RegistryFileGarbageIsCountedNotFatal) {
  TempDir dir;
  const std::string path = dir.File("registry.txt");
  WriteFile(path,
            "\xEF\xBB\xBF"
            "2015550123\r\n"         // 1
            "+1 (212) 555-0199\n"    // 2
            "\n"                     // 3 blank
            "not a number\n"         // 4 garbage
            "   \t\n"                // 5 blank
            "1015550123\n"           // 6 garbage: NPA starts with 1
            "2015550123\n"           // 7 duplicate
            + std::string(1000, '9') + "\n"  // 8 garbage: over-long
            "415-555-0100");         // 9 no final newline
  DncIndexBuilder builder;
  auto report = builder.AddRegistryFile(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 9u);
  EXPECT_EQ(report->numbers, 4u);
  EXPECT_EQ(report->blank_lines, 2u);
  EXPECT_EQ(report->garbage_lines, 3u);
  EXPECT_EQ(report->first_garbage_lines, (std::vector<uint64_t>{4, 6, 8}));
  auto index = builder.Build();
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->size(), 3u);
  EXPECT_TRUE(index->Contains(2125550199));
  EXPECT_TRUE(index->Contains(4155550100));
}

TEST(DncIndexBuilder, RegistryFileLargerThanAReadChunk) {
  // ~3 MB: lines span the reader's 1 MiB chunks; every 1000th line is bad.
  TempDir dir;
  const std::string path = dir.File("big.txt");
  std::string text;
  std::set<uint64_t> ref;
  std::vector<uint64_t> bad;
  for (uint64_t i = 1; i <= 150000; ++i) {
    if (i % 1000 == 0) {
      text += "garbage line\n";
      bad.push_back(i);
      continue;
    }
    const uint64_t npa = 200 + i % 800, nxx = 200 + (i / 800) % 800, line = (i * 7919) % 10000;
    ref.insert(npa * 10000000 + nxx * 10000 + line);
    text += absl::StrFormat("+1 (%d) %d-%04d\n", npa, nxx, line);
  }
  WriteFile(path, text);
  DncIndexBuilder builder;
  auto report = builder.AddRegistryFile(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 150000u);
  EXPECT_EQ(report->numbers, ref.size());
  EXPECT_EQ(report->garbage_lines, bad.size());
  EXPECT_EQ(report->first_garbage_lines,
            std::vector<uint64_t>(bad.begin(), bad.begin() + RegistryFileReport::kMaxReportedGarbageLines));
  auto index = builder.Build();
  ASSERT_TRUE(index.ok());
  std::mt19937_64 rng(11);
  ExpectSameAs(*index, ref, kNanp, rng);
}

TEST(DncIndexBuilder, BadRegistryFilesAddNothing) {
  TempDir dir;
  DncIndexBuilder builder;
  ASSERT_TRUE(builder.Add(2015550123).ok());

  auto missing = builder.AddRegistryFile(dir.File("nope.txt"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(missing.status()), "REGISTRY_FILE_NOT_FOUND");

  const std::string garbage = dir.File("garbage.txt");
  WriteFile(garbage, "name,phone\nalice,unknown\n");
  auto none = builder.AddRegistryFile(garbage);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(none.status()), "REGISTRY_FILE_NO_NUMBERS");
  EXPECT_EQ(FieldOf(none.status()), "registry_file");

  const std::string binary = dir.File("binary.bin");
  WriteFile(binary, std::string("2015550124\n2015550125\n\0\x01\x02", 25));
  auto bin = builder.AddRegistryFile(binary);
  EXPECT_EQ(bin.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(bin.status()), "REGISTRY_FILE_BINARY");

  auto directory = builder.AddRegistryFile(dir.File(""));
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(directory.status()), "REGISTRY_FILE_UNREADABLE");

  EXPECT_EQ(builder.pending(), 1u);  // nothing half-applied

  const std::string empty = dir.File("empty.txt");
  WriteFile(empty, "");
  auto ok = builder.AddRegistryFile(empty);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->lines, 0u);
}

TEST(DncIndexFile, WriteThenMapRoundTrip) {
  TempDir dir;
  std::mt19937_64 rng(5);
  std::set<uint64_t> ref;
  std::uniform_int_distribution<uint64_t> any(0, kNanp - 1);
  while (ref.size() < 100000) ref.insert(any(rng));
  ref.insert(0);
  ref.insert(kNanp - 1);
  const DncIndex built = MustBuild(ref, kNanp);
  EXPECT_FALSE(built.mapped());
  const std::string path = dir.File("dnc.idx");
  ASSERT_TRUE(built.WriteTo(path).ok());
  EXPECT_EQ(std::filesystem::file_size(path), built.SizeInBytes());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  for (bool verify : {true, false}) {
    DncIndex::OpenOptions options;
    options.verify_checksum = verify;
    auto mapped = DncIndex::Open(path, options);
    ASSERT_TRUE(mapped.ok()) << mapped.status();
    EXPECT_TRUE(mapped->mapped());
    EXPECT_EQ(mapped->universe(), kNanp);
    EXPECT_EQ(mapped->SizeInBytes(), built.SizeInBytes());
    ExpectSameAs(*mapped, ref, kNanp, rng);
  }

  // An empty index round-trips too.
  const std::string empty_path = dir.File("empty.idx");
  ASSERT_TRUE(DncIndex().WriteTo(empty_path).ok());
  auto empty = DncIndex::Open(empty_path, {});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_FALSE(empty->Contains(2015550123));
}

TEST(DncIndexFile, CorruptFilesAreRefused) {
  TempDir dir;
  std::set<uint64_t> ref;
  for (uint64_t i = 0; i < 5000; ++i) ref.insert(2000000000ULL + i * 1000003);
  const std::string good_path = dir.File("good.idx");
  ASSERT_TRUE(MustBuild(ref, kNanp).WriteTo(good_path).ok());
  const std::string good = ReadFile(good_path);

  struct Case {
    std::string name;
    std::string bytes;
    absl::StatusCode code;
    std::string reason;
    bool verify;
  };
  auto with_byte = [&](size_t offset, char value) {
    std::string b = good;
    b[offset] = value;
    return b;
  };
  std::string newer = good;
  newer[8] = 2;  // format version 2
  const size_t dir_start = 64;
  const std::vector<Case> cases = {
      {"bad magic", with_byte(0, 'X'), absl::StatusCode::kDataLoss, "DNC_INDEX_BAD_MAGIC", true},
      {"truncated", good.substr(0, good.size() - 8), absl::StatusCode::kDataLoss,
       "DNC_INDEX_SIZE_MISMATCH", true},
      {"tiny", good.substr(0, 10), absl::StatusCode::kDataLoss, "DNC_INDEX_SIZE_MISMATCH", true},
      {"extended", good + std::string(8, '\0'), absl::StatusCode::kDataLoss,
       "DNC_INDEX_SIZE_MISMATCH", true},
      {"flipped data bit", with_byte(good.size() - 100, good[good.size() - 100] ^ 0x10),
       absl::StatusCode::kDataLoss, "DNC_INDEX_CHECKSUM_MISMATCH", true},
      {"count changed", with_byte(19, 0x10), absl::StatusCode::kDataLoss,
       "DNC_INDEX_CORRUPT", true},
      {"directory broken, checksum off", with_byte(dir_start + 23, '\x7f'),
       absl::StatusCode::kDataLoss, "DNC_INDEX_CORRUPT", false},
      {"newer version", newer, absl::StatusCode::kFailedPrecondition,
       "DNC_INDEX_UNSUPPORTED_VERSION", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.File("corrupt.idx");
    WriteFile(path, c.bytes);
    DncIndex::OpenOptions options;
    options.verify_checksum = c.verify;
    auto index = DncIndex::Open(path, options);
    ASSERT_FALSE(index.ok());
    EXPECT_EQ(index.status().code(), c.code) << index.status();
    EXPECT_EQ(ReasonOf(index.status()), c.reason) << index.status();
  }

  // With the checksum off, flipped data bits load but every lookup stays in
  // bounds (checked under ASan in the sanitizer build).
  std::string scrambled = good;
  for (size_t i = dir_start + 4096; i < scrambled.size(); i += 7) scrambled[i] ^= 0x5A;
  const std::string path = dir.File("scrambled.idx");
  WriteFile(path, scrambled);
  auto loose = DncIndex::Open(path, DncIndex::OpenOptions{false});
  ASSERT_TRUE(loose.ok()) << loose.status();
  uint64_t seen = 0;
  for (uint64_t key : ref) seen += loose->Contains(key) ? 1 : 0;
  loose->ForEach([&](uint64_t) { ++seen; });
  EXPECT_GT(seen, 0u);

  auto missing = DncIndex::Open(dir.File("missing.idx"), {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(missing.status()), "DNC_INDEX_OPEN_FAILED");
}

TEST(DncList, OverlayAddsAndRemoves) {
  std::set<uint64_t> ref = {2015550123, 2125550199, 4155550100};
  auto base = std::make_shared<const DncIndex>(MustBuild(ref, kNanp));
  DncList list(base);
  EXPECT_TRUE(list.Contains(2015550123));
  EXPECT_FALSE(list.Contains(3055550111));

  ASSERT_TRUE(list.Add(3055550111).ok());
  ASSERT_TRUE(list.Add(2015550123).ok());  // already in the base: no overlay entry
  EXPECT_TRUE(list.Contains(3055550111));
  EXPECT_EQ(list.overlay_size(), 1u);

  ASSERT_TRUE(list.Remove(2125550199).ok());  // tombstone over the base
  EXPECT_FALSE(list.Contains(2125550199));
  ASSERT_TRUE(list.Remove(3055550111).ok());  // undoes the addition
  EXPECT_FALSE(list.Contains(3055550111));
  ASSERT_TRUE(list.Remove(9995550100).ok());  // not listed anywhere: no-op
  EXPECT_EQ(list.overlay_size(), 1u);
  ASSERT_TRUE(list.Add(2125550199).ok());  // re-added: tombstone gone
  EXPECT_TRUE(list.Contains(2125550199));
  EXPECT_EQ(list.overlay_size(), 0u);

  const absl::Status out = list.Add(kNanp);
  EXPECT_EQ(out.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(out), "KEY_OUT_OF_RANGE");
}

TEST(DncList, CompactAndReplaceBase) {
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<uint64_t> any(0, kNanp - 1);
  std::set<uint64_t> base_keys;
  while (base_keys.size() < 20000) base_keys.insert(any(rng));
  DncList list(std::make_shared<const DncIndex>(MustBuild(base_keys, kNanp)));
  std::set<uint64_t> expected = base_keys;
  for (int i = 0; i < 500; ++i) {
    const uint64_t added = any(rng);
    ASSERT_TRUE(list.Add(added).ok());
    expected.insert(added);
    auto it = expected.begin();
    std::advance(it, static_cast<long>(rng() % expected.size()));
    ASSERT_TRUE(list.Remove(*it).ok());
    expected.erase(it);
  }
  auto check = [&] {
    for (uint64_t key : base_keys) ASSERT_EQ(list.Contains(key), expected.count(key) == 1);
    for (uint64_t key : expected) ASSERT_TRUE(list.Contains(key));
    std::vector<uint64_t> probes(base_keys.begin(), base_keys.end());
    probes.insert(probes.end(), expected.begin(), expected.end());
    std::unique_ptr<bool[]> out(new bool[probes.size()]);
    size_t hits = 0;
    for (uint64_t key : probes) hits += expected.count(key);
    ASSERT_EQ(list.ContainsBatch(probes, absl::MakeSpan(out.get(), probes.size())), hits);
    for (size_t i = 0; i < probes.size(); ++i) ASSERT_EQ(out[i], expected.count(probes[i]) == 1);
  };
  check();
  EXPECT_GT(list.overlay_size(), 0u);

  auto compacted = list.Compact();
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  EXPECT_EQ(compacted->size(), expected.size());
  ASSERT_TRUE(list.ReplaceBase(std::make_shared<const DncIndex>(std::move(*compacted))).ok());
  EXPECT_EQ(list.overlay_size(), 0u);
  check();

  // A new registry download: its new numbers apply, the overlay's changes
  // (a removal here) still win.
  ASSERT_TRUE(list.Remove(*expected.begin()).ok());
  const uint64_t removed = *expected.begin();
  expected.erase(expected.begin());
  std::set<uint64_t> download = expected;
  download.insert(removed);
  download.insert(2015550123);
  ASSERT_TRUE(list.ReplaceBase(std::make_shared<const DncIndex>(MustBuild(download, kNanp))).ok());
  EXPECT_TRUE(list.Contains(2015550123));
  EXPECT_FALSE(list.Contains(removed));
  EXPECT_EQ(list.overlay_size(), 1u);

  auto wrong = list.ReplaceBase(std::make_shared<const DncIndex>(1000));
  EXPECT_EQ(ReasonOf(wrong), "UNIVERSE_MISMATCH");
}

}  // namespace
}  // namespace dialgrid::compliance

namespace dialgrid::compliance {
namespace {

TEST(RegistryManifestTest, RoundTripsAndBindsToItsIndex) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/manifest-test.dncidx";
  DncIndexBuilder b;
  ASSERT_TRUE(b.Add(2125550100).ok());
  ASSERT_TRUE(b.Add(3125550147).ok());
  auto index = b.Build();
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(index->WriteTo(path).ok());
  ASSERT_TRUE(WriteRegistryManifest(path, *index, absl::CivilDay(2026, 11, 20), 28).ok());
  auto opened = DncIndex::Open(path, DncIndex::OpenOptions{});
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto m = ReadRegistryManifest(path, *opened);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->as_of, absl::CivilDay(2026, 11, 20));
  EXPECT_EQ(m->max_age_days, 28);
  EXPECT_EQ(m->numbers, 2u);
  EXPECT_EQ(m->index_checksum, opened->checksum());

  // Another image under the same name: the manifest no longer belongs to it.
  ASSERT_TRUE(b.Add(3125550148).ok());
  auto other = b.Build();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other->WriteTo(path).ok());
  auto reopened = DncIndex::Open(path, DncIndex::OpenOptions{});
  ASSERT_TRUE(reopened.ok());
  auto stale = ReadRegistryManifest(path, *reopened);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(ReasonOf(stale.status()), "REGISTRY_MANIFEST_MISMATCH");

  EXPECT_EQ(WriteRegistryManifest(path, *reopened, absl::CivilDay(2026, 11, 20), -1).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RegistryManifestTest, StaleFromTheDayAfterTheLimitAndParsingIsStrict) {
  RegistryManifest m;
  m.as_of = absl::CivilDay(2026, 1, 31);
  m.max_age_days = 31;  // a call on 2026-03-03 is 31 days after: still in time
  EXPECT_EQ(m.StaleFrom(), absl::FromCivil(absl::CivilDay(2026, 3, 4), absl::UTCTimeZone()));
  m.max_age_days = 0;
  EXPECT_EQ(m.StaleFrom(), absl::InfiniteFuture());

  m.max_age_days = 31;
  m.index_checksum = 0xfeedface12345678ULL;
  m.numbers = 250000000;
  auto back = ParseRegistryManifest("# comment\n" + FormatRegistryManifest(m) + "future_key=1\n");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->as_of, m.as_of);
  EXPECT_EQ(back->index_checksum, m.index_checksum);
  EXPECT_EQ(back->numbers, m.numbers);
  for (const char* bad : {"", "as_of=2026-13-01\nmax_age_days=31\nindex_checksum=1\nnumbers=1\n",
                          "as_of=2026-01-01\nmax_age_days=-2\nindex_checksum=1\nnumbers=1\n",
                          "as_of=2026-01-01\nmax_age_days=31\nnumbers=1\n",
                          "as_of=2026-01-01\nmax_age_days=31\nindex_checksum=xyz\nnumbers=1\n"}) {
    EXPECT_EQ(ReasonOf(ParseRegistryManifest(bad).status()), "REGISTRY_MANIFEST_MISMATCH") << bad;
  }
}

}  // namespace
}  // namespace dialgrid::compliance
