// dnc_index_bench: the DNC index at national-registry scale, side by side
// with a sorted uint64 array, sdsl's sd_vector (when built with libsdsl) and
// a Redis SET, in one run.
//
//   dnc_index_bench --count=250000000      # the figure (~4 GB RAM)
//   dnc_index_bench --count=10000000 --redis_count=1000000   # quick run
//
// Numbers are distinct random 10-digit NANP numbers (NPA 200-999, NXX
// 200-999, any line). Lookups are single-threaded, half hits, half misses
// drawn from the same number space, in random order.

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/compliance/domain/dnc_index.h"

#if defined(DIALGRID_HAVE_SDSL)
#include <sdsl/sd_vector.hpp>
#endif

ABSL_FLAG(uint64_t, count, 250'000'000, "distinct numbers in the generated registry");
ABSL_FLAG(uint64_t, lookups, 10'000'000, "lookups per structure and round");
ABSL_FLAG(int, rounds, 3, "timed rounds per structure; the median is reported");
ABSL_FLAG(uint64_t, redis_count, 10'000'000, "numbers loaded into Redis (0: skip Redis)");
ABSL_FLAG(uint64_t, seed, 20240601, "random seed");
ABSL_FLAG(bool, sdsl, true, "also measure sdsl::sd_vector (if built with libsdsl)");
ABSL_FLAG(std::string, dir, "", "directory for the index file (default: a temp dir)");

namespace dialgrid::compliance {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// splitmix64: fast, seedable, good enough for benchmark data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }  // bias < n / 2^64: negligible

 private:
  uint64_t s_;
};

constexpr uint64_t kValidSpace = 800ULL * 800 * 10000;  // NPA x NXX x line

// The n-th valid NANP number in (NPA, NXX, line) order.
uint64_t NanpFromOrdinal(uint64_t ordinal) {
  const uint64_t line = ordinal % 10000;
  const uint64_t nxx = 200 + (ordinal / 10000) % 800;
  const uint64_t npa = 200 + ordinal / (10000 * 800);
  return npa * 10'000'000 + nxx * 10'000 + line;
}

// Whether `key` is one of the generated numbers (`seen`: a bit per ordinal
// of the valid space); false for anything outside that space.
bool Generated(const std::vector<uint64_t>& seen, uint64_t key) {
  if (key >= 10'000'000'000ULL) return false;
  const uint64_t npa = key / 10'000'000, nxx = (key / 10'000) % 1000, line = key % 10'000;
  if (npa < 200 || nxx < 200) return false;
  const uint64_t ordinal = (npa - 200) * 800 * 10'000 + (nxx - 200) * 10'000 + line;
  return (seen[ordinal >> 6] >> (ordinal & 63)) & 1;
}

// Every way of asking, key by key, against the generated input: numbers
// generated (drawn from `listed`, the decoded keys already checked to be
// exactly the input), their neighbours (+-1, often not generated), numbers of the
// valid space not generated, and numbers outside it (too short, too long,
// an NPA or NXX below 200, the largest key). Prints what was checked;
// false (after printing the first wrong answer) when any answer is wrong.
bool CheckAnswersAgainstInput(const std::vector<uint64_t>& seen,
                              const std::vector<uint64_t>& listed, const DncIndex& mapped,
                              const DncIndex& heap, Rng& rng) {
  std::vector<uint64_t> probes;
  const int present = 20000, absent = 20000;
  for (int i = 0; i < present; ++i) {
    const uint64_t key = listed[rng.Below(listed.size())];
    probes.insert(probes.end(), {key, key - 1, key + 1});
  }
  for (int i = 0; i < absent;) {
    const uint64_t key = NanpFromOrdinal(rng.Below(kValidSpace));
    if (!Generated(seen, key)) {
      probes.push_back(key);
      ++i;
    }
  }
  const uint64_t outside[] = {0, 1, 999'999'999, 1'234'567'890, 2'121'000'000, 2'121'999'999,
                              9'999'999'999, 10'000'000'000, 10'000'000'001, 99'999'999'999,
                              UINT64_MAX};
  probes.insert(probes.end(), std::begin(outside), std::end(outside));
  std::unique_ptr<bool[]> batch(new bool[probes.size()]);
  mapped.ContainsBatch(absl::MakeConstSpan(probes), absl::MakeSpan(batch.get(), probes.size()));
  uint64_t expected_present = 0;
  for (size_t i = 0; i < probes.size(); ++i) {
    const bool want = Generated(seen, probes[i]);
    expected_present += want;
    const bool got[] = {mapped.Contains(probes[i]), heap.Contains(probes[i]), batch[i]};
    const char* how[] = {"mmapped Contains", "heap Contains", "ContainsBatch"};
    for (int h = 0; h < 3; ++h) {
      if (got[h] != want) {
        std::fprintf(stderr, "%s(%llu) = %d, generated: %d: WRONG ANSWER\n", how[h],
                     static_cast<unsigned long long>(probes[i]), got[h], want);
        return false;
      }
    }
  }
  std::printf("  answers checked against the generated input: %zu probes (%d generated, their "
              "%d neighbours, %d not generated, %zu outside the valid space; %llu listed), "
              "3 ways each: all right\n",
              probes.size(), present, 2 * present, absent, std::size(outside),
              static_cast<unsigned long long>(expected_present));
  return true;
}

// log2(C(u, n)) / n / 8: the fewest bytes per number any set representation
// can use in the worst case.
double BoundBytesPerNumber(double u, double n) {
  const double bits = (std::lgamma(u + 1) - std::lgamma(n + 1) - std::lgamma(u - n + 1)) / std::log(2.0);
  return bits / n / 8;
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A structure under test: run(queries) answers every query, returns the hits.
struct Contender {
  std::string name;
  std::function<uint64_t(absl::Span<const uint64_t>)> run;
  std::vector<double> wall;  // lookups per second, one entry per round
  std::vector<double> cpu;   // lookups per second of this thread's CPU time
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Times every contender over all queries, `rounds` times, round-robin so a
// noisy neighbour (this machine is shared) hits all of them alike. Exits on
// a wrong hit count.
void MeasureRounds(std::vector<Contender>& contenders, const std::vector<uint64_t>& queries,
                   uint64_t expected_hits, int rounds) {
  const auto warm = absl::MakeConstSpan(queries.data(), std::min<size_t>(queries.size(), 1'000'000));
  for (Contender& c : contenders) c.run(warm);
  for (int r = 0; r < rounds; ++r) {
    for (Contender& c : contenders) {
      const auto start = Clock::now();
      const double cpu_start = ThreadCpuSeconds();
      const uint64_t hits = c.run(absl::MakeConstSpan(queries));
      const double cpu = ThreadCpuSeconds() - cpu_start;
      const double wall = Seconds(start);
      if (hits != expected_hits) {
        std::fprintf(stderr, "%s: %llu hits, expected %llu: WRONG ANSWERS\n", c.name.c_str(),
                     static_cast<unsigned long long>(hits),
                     static_cast<unsigned long long>(expected_hits));
        std::exit(1);
      }
      const double n = static_cast<double>(queries.size());
      c.wall.push_back(n / wall);
      c.cpu.push_back(n / cpu);
    }
  }
}

// One call per lookup.
template <typename Contains>
std::function<uint64_t(absl::Span<const uint64_t>)> EachKey(Contains contains) {
  return [contains](absl::Span<const uint64_t> keys) {
    uint64_t hits = 0;
    for (uint64_t k : keys) hits += contains(k) ? 1 : 0;
    return hits;
  };
}

// ---- Redis ----------------------------------------------------------------

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string Run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t r;
  while ((r = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, r);
  pclose(p);
  return out;
}

uint64_t InfoField(const std::string& info, const std::string& field) {
  const std::string key = field + ":";
  const size_t at = info.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(info.c_str() + at + key.size(), nullptr, 10);
}

struct RedisResult {
  bool ok = false;
  std::string error;
  uint64_t members = 0;
  uint64_t used_before = 0;
  uint64_t used_after = 0;
  double load_seconds = 0;
};

// Starts a throwaway redis-server, SADDs `numbers` into one SET in pipelined
// batches of 1000 through redis-cli --pipe, reads INFO memory, stops it.
RedisResult MeasureRedis(const std::vector<uint64_t>& numbers, const std::string& dir) {
  RedisResult result;
  const int port = FreePort();
  if (port <= 0) {
    result.error = "no free port";
    return result;
  }
  const std::string port_s = std::to_string(port);
  std::vector<std::string> args = {"redis-server", "--port", port_s, "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", dir,
                                   "--logfile", dir + "/redis.log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) {
    result.error = "redis-server not found";
    return result;
  }
  const std::string cli = absl::StrCat("redis-cli -p ", port_s);
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {  // up to 10 s for startup
    up = Run(cli + " PING 2>/dev/null").find("PONG") != std::string::npos;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (up) {
    result.used_before = InfoField(Run(cli + " INFO memory"), "used_memory");
    const auto start = Clock::now();
    FILE* pipe = popen((cli + " --pipe > " + dir + "/pipe.out 2>&1").c_str(), "w");
    std::string batch;
    for (size_t i = 0; i < numbers.size(); i += 1000) {
      const size_t end = std::min(numbers.size(), i + 1000);
      batch = absl::StrCat("*", end - i + 2, "\r\n$4\r\nSADD\r\n$3\r\ndnc\r\n");
      for (size_t j = i; j < end; ++j) {
        const std::string member = std::to_string(numbers[j]);
        absl::StrAppend(&batch, "$", member.size(), "\r\n", member, "\r\n");
      }
      std::fwrite(batch.data(), 1, batch.size(), pipe);
    }
    const int rc = pclose(pipe);
    result.load_seconds = Seconds(start);
    result.members = std::strtoull(Run(cli + " SCARD dnc").c_str(), nullptr, 10);
    result.used_after = InfoField(Run(cli + " INFO memory"), "used_memory");
    result.ok = rc == 0 && result.members > 0;
    if (!result.ok) result.error = "redis-cli --pipe failed: " + Run("cat " + dir + "/pipe.out");
  } else {
    result.error = "redis-server did not answer PING";
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return result;
}

int Main() {
  const uint64_t n = absl::GetFlag(FLAGS_count);
  const uint64_t lookups = absl::GetFlag(FLAGS_lookups);
  const uint64_t redis_count = absl::GetFlag(FLAGS_redis_count);
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  const uint64_t universe = UniverseOf(NumberPlan::kNanp);
  if (n == 0 || n > kValidSpace / 2) {
    std::fprintf(stderr, "--count must be in [1, %llu]\n",
                 static_cast<unsigned long long>(kValidSpace / 2));
    return 2;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  bool own_dir = false;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dnc_index_bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return 2;
    dir = tmpl;
    own_dir = true;
  }
  Rng rng(absl::GetFlag(FLAGS_seed));

  std::printf("load average at start: %s", Run("cat /proc/loadavg").c_str());
  std::printf("dnc_index_bench: %llu distinct random NANP numbers (NPA 200-999, NXX 200-999),"
              " universe 10^10\n",
              static_cast<unsigned long long>(n));

  // 1. Generate distinct numbers in random order (a bitmap over the valid
  //    space rejects repeats), straight into the builder.
  auto t = Clock::now();
  DncIndexBuilder builder(NumberPlan::kNanp);
  builder.Reserve(n);
  // What was generated, the ground truth every answer is checked against.
  std::vector<uint64_t> seen((kValidSpace + 63) / 64, 0);
  {
    for (uint64_t added = 0; added < n;) {
      const uint64_t ordinal = rng.Below(kValidSpace);
      uint64_t& word = seen[ordinal >> 6];
      const uint64_t bit = uint64_t{1} << (ordinal & 63);
      if (word & bit) continue;
      word |= bit;
      if (!builder.Add(NanpFromOrdinal(ordinal)).ok()) return 1;
      ++added;
    }
  }
  std::printf("  generated in %.1f s\n", Seconds(t));

  // 2. Build: DncIndexBuilder::Build = sort + dedup + encode.
  t = Clock::now();
  auto built = builder.Build();
  const double build_secs = Seconds(t);
  if (!built.ok()) {
    std::fprintf(stderr, "build: %s\n", built.status().ToString().c_str());
    return 1;
  }

  // 3. Persist and map, as a replica would.
  const std::string path = dir + "/dnc.idx";
  t = Clock::now();
  if (absl::Status s = built->WriteTo(path); !s.ok()) {
    std::fprintf(stderr, "write: %s\n", s.ToString().c_str());
    return 1;
  }
  const double write_secs = Seconds(t);
  t = Clock::now();
  auto mapped = DncIndex::Open(path, DncIndex::OpenOptions{});
  const double open_secs = Seconds(t);
  if (!mapped.ok()) {
    std::fprintf(stderr, "open: %s\n", mapped.status().ToString().c_str());
    return 1;
  }

  // 4. The sorted-array baseline, decoded from the index (checks ForEach).
  t = Clock::now();
  std::vector<uint64_t> sorted;
  sorted.reserve(n);
  mapped->ForEach([&](uint64_t key) { sorted.push_back(key); });
  const double decode_secs = Seconds(t);
  if (sorted.size() != n || !std::is_sorted(sorted.begin(), sorted.end())) {
    std::fprintf(stderr, "decode mismatch: %zu keys\n", sorted.size());
    return 1;
  }
  // n distinct decoded keys, each generated: the index holds exactly the input.
  for (uint64_t key : sorted) {
    if (!Generated(seen, key)) {
      std::fprintf(stderr, "decoded key %llu was not generated: WRONG INDEX\n",
                   static_cast<unsigned long long>(key));
      return 1;
    }
  }
  if (!CheckAnswersAgainstInput(seen, sorted, *mapped, *built, rng)) return 1;

  // 5. Queries: half hits, half misses from the same space, shuffled.
  const uint64_t q = std::max<uint64_t>(lookups, 2);
  std::vector<uint64_t> queries;
  queries.reserve(q);
  for (uint64_t i = 0; i < q / 2; ++i) queries.push_back(sorted[rng.Below(sorted.size())]);
  while (queries.size() < q) {
    const uint64_t key = NanpFromOrdinal(rng.Below(kValidSpace));
    if (!std::binary_search(sorted.begin(), sorted.end(), key)) queries.push_back(key);
  }
  for (size_t i = queries.size() - 1; i > 0; --i) std::swap(queries[i], queries[rng.Below(i + 1)]);
  const uint64_t expected_hits = q / 2;

  // Bulk scrub: ContainsBatch over chunks of 1024 numbers.
  constexpr size_t kChunk = 1024;
  std::unique_ptr<bool[]> out(new bool[kChunk]);
  const DncIndex* mapped_index = &*mapped;
  const DncIndex* heap_index = &*built;
  const std::vector<uint64_t>* sorted_keys = &sorted;
  std::vector<Contender> contenders;
  contenders.push_back({"DncIndex mmapped, Contains (1 call/lookup)",
                        EachKey([mapped_index](uint64_t k) { return mapped_index->Contains(k); }),
                        {}, {}});
  contenders.push_back({"DncIndex mmapped, ContainsBatch (1024/call)",
                        [&](absl::Span<const uint64_t> keys) {
                          uint64_t hits = 0;
                          for (size_t i = 0; i < keys.size(); i += kChunk) {
                            const size_t len = std::min(kChunk, keys.size() - i);
                            hits += mapped_index->ContainsBatch(keys.subspan(i, len),
                                                                absl::MakeSpan(out.get(), len));
                          }
                          return hits;
                        },
                        {}, {}});
  contenders.push_back({"DncIndex on the heap, Contains",
                        EachKey([heap_index](uint64_t k) { return heap_index->Contains(k); }), {},
                        {}});
  contenders.push_back({"sorted uint64 array, std::binary_search", EachKey([sorted_keys](uint64_t k) {
                          return std::binary_search(sorted_keys->begin(), sorted_keys->end(), k);
                        }),
                        {}, {}});

  // sdsl::sd_vector (reference Elias-Fano; in-memory only, no mmap load).
  double sdsl_bytes = 0, sdsl_build = 0;
#if defined(DIALGRID_HAVE_SDSL)
  std::unique_ptr<sdsl::sd_vector<>> sdv;
  if (absl::GetFlag(FLAGS_sdsl)) {
    t = Clock::now();
    sdv = std::make_unique<sdsl::sd_vector<>>(sorted.begin(), sorted.end());
    sdsl_build = Seconds(t);
    sdsl_bytes = static_cast<double>(sdsl::size_in_bytes(*sdv));
    const sdsl::sd_vector<>* v = sdv.get();
    const uint64_t sdv_size = sdv->size();
    contenders.push_back({"sdsl::sd_vector<> (heap only; from sorted)",
                          EachKey([v, sdv_size](uint64_t k) { return k < sdv_size && (*v)[k] == 1; }),
                          {}, {}});
  }
#endif
  MeasureRounds(contenders, queries, expected_hits, rounds);
#if defined(DIALGRID_HAVE_SDSL)
  sdv.reset();
#endif

  // 7. Redis SET at --redis_count numbers (a random sample of the registry).
  RedisResult redis;
  std::vector<uint64_t>().swap(queries);
  if (redis_count > 0) {
    // Distinct members: selection sampling (Knuth's algorithm S), shuffled.
    const uint64_t want = std::min(redis_count, n);
    std::vector<uint64_t> sample;
    sample.reserve(want);
    for (uint64_t i = 0; i < n && sample.size() < want; ++i) {
      if (rng.Below(n - i) < want - sample.size()) sample.push_back(sorted[i]);
    }
    for (size_t i = sample.size() - 1; i > 0; --i) std::swap(sample[i], sample[rng.Below(i + 1)]);
    redis = MeasureRedis(sample, dir);
  }

  // ---- report ---------------------------------------------------------------
  const double dn = static_cast<double>(n);
  const double ours_bpn = static_cast<double>(mapped->SizeInBytes()) / dn;
  const double bound = BoundBytesPerNumber(static_cast<double>(universe), dn);
  const double bound_valid = BoundBytesPerNumber(static_cast<double>(kValidSpace), dn);
  std::printf("\n");
  std::printf("  index: %llu bytes, low bits %d, build %.1f s, write %.2f s, "
              "mmap open + checksum %.2f s, full decode %.1f s\n",
              static_cast<unsigned long long>(mapped->SizeInBytes()), mapped->low_bits(),
              build_secs, write_secs, open_secs, decode_secs);
  std::printf("  lookups: %llu per structure per round, %d rounds (round-robin), one thread, "
              "50%% hits / 50%% misses, random order\n\n",
              static_cast<unsigned long long>(q), rounds);
  auto row = [](const std::string& name, const std::string& bpn, const std::string& total,
                const std::string& lps, const std::string& cpu, const std::string& build) {
    std::printf("  %-46s %12s %10s %26s %9s %8s\n", name.c_str(), bpn.c_str(), total.c_str(),
                lps.c_str(), cpu.c_str(), build.c_str());
  };
  auto fmt = [](double v, int digits) { return absl::StrFormat("%.*f", digits, v); };
  auto gb = [](double bytes) { return absl::StrFormat("%.2f GB", bytes / 1e9); };
  auto rate = [](const Contender& c) {
    const auto [lo, hi] = std::minmax_element(c.wall.begin(), c.wall.end());
    return absl::StrFormat("%.2f M  (%.2f-%.2f)", Median(c.wall) / 1e6, *lo / 1e6, *hi / 1e6);
  };
  auto cpu = [](const Contender& c) { return absl::StrFormat("%.2f M", Median(c.cpu) / 1e6); };
  row("structure", "bytes/number", absl::StrFormat("at %.0f M", dn / 1e6),
      "lookups/s median (min-max)", "per CPU-s", "build s");
  for (const Contender& c : contenders) {
    const bool ours = absl::StartsWith(c.name, "DncIndex");
    const bool sdsl = absl::StartsWith(c.name, "sdsl");
    const bool array = absl::StartsWith(c.name, "sorted");
    const double bytes = ours ? ours_bpn * dn : sdsl ? sdsl_bytes : 8 * dn;
    std::string build = "";
    if (c.name == contenders.front().name) build = fmt(build_secs, 1);
    if (sdsl) build = fmt(sdsl_build, 1);
    if (array) build = "-";
    row(c.name, fmt(bytes / dn, 3), gb(bytes), rate(c), cpu(c), build);
    if (array) {
      row("information-theoretic bound, universe 10^10", fmt(bound, 3), gb(bound * dn), "-", "-",
          "-");
      row("  (bound over the 6.4e9 valid NANP numbers)", fmt(bound_valid, 3),
          gb(bound_valid * dn), "-", "-", "-");
    }
  }
  if (redis.ok) {
    const double members = static_cast<double>(redis.members);
    const double per = static_cast<double>(redis.used_after - redis.used_before) / members;
    row(absl::StrFormat("Redis SET, measured at %.3g M, scaled x%.0f", members / 1e6, dn / members),
        fmt(per, 1), gb(per * dn), "-", "-", "-");
    std::printf("\n  redis-server: used_memory %llu -> %llu bytes for SCARD %llu (one SET, members"
                " as 10-digit strings; SADD batches of 1000 via redis-cli --pipe, %.1f s)\n",
                static_cast<unsigned long long>(redis.used_before),
                static_cast<unsigned long long>(redis.used_after),
                static_cast<unsigned long long>(redis.members), redis.load_seconds);
  } else if (redis_count > 0) {
    std::printf("  Redis: not measured (%s)\n", redis.error.c_str());
  }
  std::printf("\n  target <= 1.2 bytes/number: %s (%.3f)\n", ours_bpn <= 1.2 ? "met" : "NOT met",
              ours_bpn);
  const double single = Median(contenders[0].wall), batch = Median(contenders[1].wall);
  std::printf("  target >= 5 M lookups/s on one core (median, wall clock): ContainsBatch %s "
              "(%.2f M/s); Contains one call at a time %s (%.2f M/s, %.0f ns each)\n",
              batch >= 5e6 ? "met" : "NOT met", batch / 1e6, single >= 5e6 ? "met" : "NOT met",
              single / 1e6, 1e9 / single);
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace dialgrid::compliance

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up when piped
  return dialgrid::compliance::Main();
}
