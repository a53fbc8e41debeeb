// Recording benchmark (not a test; issue 18, "Benchmark"). In one run:
//
//   1. raw AES-256-GCM: `openssl speed -evp aes-256-gcm` (16 KiB blocks) and
//      the vault's own SealSegment over 64 KiB segments, in this process;
//   2. ingest: one UploadAudio stream of --ingest_mib MiB in 1 MiB chunks over
//      loopback gRPC into the encrypted filesystem store (Redis decision per
//      chunk, sealing, write, fsync and commit at the end);
//   3. playback: DownloadRecording of that recording (decrypt, authenticate);
//   4. live: --live concurrent uploads, each sending one chunk of 1 s of 8 kHz
//      16-bit PCM (16,000 bytes) per second for --live_seconds, started
//      evenly over the first second; the per-chunk latency is the service's
//      dialgrid_recording_chunk_duration_seconds histogram (scraped before
//      and after: from the chunk being read off the stream to its Redis
//      decision, sealing and writing, waiting for a handler included), plus
//      the client's count of writes still pending when the next second came.
//
// Beside each phase: CPU seconds of the service and of redis-server (from
// /proc/<pid>/stat), per MiB. The CPU model and the load average are printed
// first: everything (client, service, Redis, broker, tenancy) shares the
// machine.
//
//   build/services/recording/bench/recording_bench --ingest_mib=256 --live=1000
//
// Before/after in the same conditions: --service_bin=<a copy of an earlier
// dialgrid-recording> (and --client_malloc_keep_mib=0 for the client as it
// was before).
#include <arpa/inet.h>
#include <malloc.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "services/common/core/random.h"
#include "services/recording/domain/vault_crypto.h"
#include "tests/fixtures/test_platform.h"

ABSL_FLAG(int, ingest_mib, 256, "MiB uploaded (and played back) in the throughput phases.");
ABSL_FLAG(int, live, 1000, "Concurrent live recordings in the live phase (0: skip it).");
ABSL_FLAG(int, live_seconds, 20, "How long each live recording sends (one chunk per second).");
ABSL_FLAG(int, workers, 8, "The service's --workers (handler threads).");
ABSL_FLAG(int, openssl_seconds, 3, "Seconds of `openssl speed` (0: skip it).");
ABSL_FLAG(std::string, service_bin, DIALGRID_RECORDING_BIN,
          "The dialgrid-recording binary to measure (e.g. a copy of an earlier build, for "
          "before/after figures in the same conditions).");
ABSL_FLAG(std::string, service_args, "",
          "Extra flags for the service, comma-separated (e.g. --malloc_keep_mib=0).");
ABSL_FLAG(int, client_malloc_keep_mib, 64,
          "As the service's --malloc_keep_mib, for this client process (0: glibc's defaults, "
          "as the bench was before: every 1 MiB message then costs the client fresh pages).");

namespace {

using dialgrid::testing::TestPlatform;
namespace v1 = dialgrid::recording::v1;
namespace fs = std::filesystem;
using Stub = v1::RecordingService::Stub;

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
  pclose(f);
  return out;
}

// utime + stime of a process, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(text.substr(close + 2), ' ');
  double ut = 0, st = 0;
  if (f.size() < 13 || !absl::SimpleAtod(f[11], &ut) || !absl::SimpleAtod(f[12], &st)) return 0;
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string Scrape(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port))
    return "";
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
        out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// The chunk-duration histogram: cumulative counts by upper bound.
std::vector<std::pair<double, double>> ChunkHistogram(const std::string& scrape) {
  std::vector<std::pair<double, double>> out;
  const std::string prefix = "dialgrid_recording_chunk_duration_seconds_bucket{le=\"";
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    size_t q = line.find('"');
    if (q == absl::string_view::npos) continue;
    std::string le(line.substr(0, q));
    double bound = le == "+Inf" ? 1e9 : 0, count = 0;
    if (le != "+Inf" && !absl::SimpleAtod(le, &bound)) continue;
    if (!absl::SimpleAtod(line.substr(line.find(' ', q) + 1), &count)) continue;
    out.emplace_back(bound, count);
  }
  return out;
}

// The q-quantile of (after - before), linearly inside its bucket.
double Quantile(const std::vector<std::pair<double, double>>& before,
                const std::vector<std::pair<double, double>>& after, double q) {
  if (after.empty() || before.size() != after.size()) return -1;
  const double total = after.back().second - before.back().second;
  if (total <= 0) return -1;
  double lower = 0, prev = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    const double c = after[i].second - before[i].second;
    if (c >= q * total) {
      if (after[i].first >= 1e9) return lower;  // in +Inf: at least the last bound
      return lower + (after[i].first - lower) * (q * total - prev) / std::max(c - prev, 1e-9);
    }
    lower = after[i].first;
    prev = c;
  }
  return lower;
}

struct Usage {
  double service = 0, redis = 0, client = 0;
  absl::Time at;
};

class Bench {
 public:
  Bench(TestPlatform& p, pid_t service_pid, pid_t redis_pid, std::string admin, std::string tenant)
      : p_(p),
        service_pid_(service_pid),
        redis_pid_(redis_pid),
        admin_(std::move(admin)),
        tenant_(std::move(tenant)),
        stub_(v1::RecordingService::NewStub(p.Channel("recording"))) {}

  Usage Now() const {
    return Usage{CpuSeconds(service_pid_), CpuSeconds(redis_pid_), CpuSeconds(getpid()),
                 absl::Now()};
  }

  void Report(const std::string& what, const Usage& a, const Usage& b, double mib) const {
    const double secs = absl::ToDoubleSeconds(b.at - a.at);
    std::printf(
        "%-9s %8.1f MiB in %6.2f s = %7.1f MiB/s; CPU per MiB: service %.1f ms, redis %.2f ms,"
        " this client %.1f ms (service %.0f%% of a core)\n",
        what.c_str(), mib, secs, mib / secs, 1000 * (b.service - a.service) / mib,
        1000 * (b.redis - a.redis) / mib, 1000 * (b.client - a.client) / mib,
        100 * (b.service - a.service) / secs);
  }

  std::string StartRecording(const std::string& call) {
    v1::StartRecordingRequest req;
    req.set_parent("tenants/" + tenant_);
    req.mutable_recording()->set_call_id(call);
    req.mutable_recording()->set_audio_format(v1::AUDIO_FORMAT_PCM_S16LE_8K);
    v1::Recording out;
    grpc::Status st = stub_->StartRecording(TestPlatform::Context(admin_).get(), req, &out);
    if (!st.ok()) {
      std::fprintf(stderr, "StartRecording: %s\n", st.error_message().c_str());
      return "";
    }
    return out.name();
  }

  void Ingest(int mib) {
    name_ = StartRecording("bench-ingest");
    std::string chunk = dialgrid::RandomHex(1 << 19);  // 1 MiB of text: incompressible enough
    Usage a = Now();
    v1::UploadAudioResponse resp;
    auto ctx = TestPlatform::Context(admin_, absl::Minutes(30));
    auto writer = stub_->UploadAudio(ctx.get(), &resp);
    for (int i = 1; i <= mib; ++i) {
      v1::UploadAudioRequest m;
      if (i == 1) m.set_recording(name_);
      m.set_sequence(i);
      chunk[static_cast<size_t>(i) % chunk.size()] ^= 1;
      m.set_audio(chunk);
      if (!writer->Write(m)) break;
    }
    const absl::Time sent = absl::Now();
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    Usage b = Now();
    if (!st.ok()) std::printf("ingest failed: %s\n", st.error_message().c_str());
    Report("ingest", a, b, static_cast<double>(resp.recording().audio_bytes()) / (1 << 20));
    // The end: the last segment sealed, the file fsynced and linked, the
    // directory fsynced, the metadata and chain entry written.
    std::printf("          of which the end of the stream (fsync, commit, metadata): %.2f s\n",
                absl::ToDoubleSeconds(b.at - sent));
  }

  void Playback() {
    Usage a = Now();
    v1::DownloadRecordingRequest req;
    req.set_name(name_);
    auto ctx = TestPlatform::Context(admin_, absl::Minutes(30));
    auto reader = stub_->DownloadRecording(ctx.get(), req);
    v1::DownloadRecordingResponse m;
    int64_t bytes = 0;
    while (reader->Read(&m)) bytes += static_cast<int64_t>(m.audio().size());
    grpc::Status st = reader->Finish();
    Usage b = Now();
    if (!st.ok()) std::printf("playback failed: %s\n", st.error_message().c_str());
    Report("playback", a, b, static_cast<double>(bytes) / (1 << 20));
  }

  // One live recording's stream (callback API: no thread per stream).
  class LiveStream : public grpc::ClientWriteReactor<v1::UploadAudioRequest> {
   public:
    LiveStream(Stub* stub, const std::string& secret, std::string name, std::string chunk)
        : name_(std::move(name)), chunk_(std::move(chunk)) {
      ctx_.AddMetadata("authorization", "Bearer " + secret);
      ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
      stub->async()->UploadAudio(&ctx_, &resp_, this);
      AddHold();
      StartCall();
    }
    // Sends the next chunk unless one is still pending (then: false).
    bool Tick() {
      std::lock_guard<std::mutex> lock(mu_);
      if (writing_ || closed_) return false;
      msg_.Clear();
      if (seq_ == 0) msg_.set_recording(name_);
      msg_.set_sequence(++seq_);
      msg_.set_audio(chunk_);
      writing_ = true;
      StartWrite(&msg_);
      return true;
    }
    void Close() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !writing_; });
      if (!closed_) {
        closed_ = true;
        StartWritesDone();
      }
      RemoveHold();
    }
    void OnWriteDone(bool ok) override {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) closed_ = true;
      cv_.notify_all();
    }
    void OnDone(const grpc::Status& s) override {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
      done_ = true;
      cv_.notify_all();
    }
    grpc::Status Wait() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return done_; });
      return status_;
    }
    int64_t sent() const { return seq_; }

   private:
    grpc::ClientContext ctx_;
    v1::UploadAudioResponse resp_;
    v1::UploadAudioRequest msg_;
    std::string name_, chunk_;
    std::mutex mu_;
    std::condition_variable cv_;
    int64_t seq_ = 0;
    bool writing_ = false, closed_ = false, done_ = false;
    grpc::Status status_;
  };

  void Live(int n, int seconds) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      std::string name = StartRecording(absl::StrCat("bench-live-", i));
      if (name.empty()) return;
      names.push_back(name);
    }
    const std::string admin_address = p_.AdminAddress("recording");
    auto before = ChunkHistogram(Scrape(admin_address));
    const std::string chunk = dialgrid::RandomHex(8000);  // 16,000 bytes: 1 s of 8 kHz PCM
    std::vector<std::unique_ptr<LiveStream>> streams;
    for (const auto& name : names) {
      streams.push_back(std::make_unique<LiveStream>(stub_.get(), admin_, name, chunk));
    }
    Usage a = Now();
    const absl::Time start = absl::Now();
    int64_t late = 0;
    // Stream i sends at start + i/n s, then every second.
    for (int s = 0; s < seconds; ++s) {
      for (int i = 0; i < n; ++i) {
        absl::Time due = start + absl::Seconds(s) + absl::Seconds(1) * i / n;
        absl::Time now = absl::Now();
        if (due > now) absl::SleepFor(due - now);
        if (!streams[static_cast<size_t>(i)]->Tick()) ++late;
      }
    }
    for (auto& st : streams) st->Close();
    int failed = 0;
    int64_t sent = 0;
    for (auto& st : streams) {
      grpc::Status status = st->Wait();
      sent += st->sent();
      if (!status.ok()) {
        if (failed == 0) std::printf("live upload failed: %s\n", status.error_message().c_str());
        ++failed;
      }
    }
    Usage b = Now();
    auto after = ChunkHistogram(Scrape(admin_address));
    const double mib = static_cast<double>(sent) * 16000 / (1 << 20);
    std::printf(
        "live      %d recordings x %d s: %lld chunks sent, %lld skipped (previous write "
        "still pending), %d streams failed\n",
        n, seconds, static_cast<long long>(sent), static_cast<long long>(late), failed);
    std::printf(
        "          chunk latency in the service: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms "
        "(histogram, interpolated)\n",
        1000 * Quantile(before, after, 0.5), 1000 * Quantile(before, after, 0.99),
        1000 * Quantile(before, after, 0.999));
    Report("live", a, b, mib);
  }

 private:
  TestPlatform& p_;
  pid_t service_pid_, redis_pid_;
  std::string admin_, tenant_;
  std::unique_ptr<Stub> stub_;
  std::string name_;
};

void RawCipher() {
  if (absl::GetFlag(FLAGS_openssl_seconds) > 0) {
    std::string out = Shell(absl::StrCat("openssl speed -evp aes-256-gcm -bytes 16384 -seconds ",
                                         absl::GetFlag(FLAGS_openssl_seconds), " 2>/dev/null"));
    // The last line: "AES-256-GCM  <thousands of bytes per second>k".
    std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
    std::vector<std::string> cols = lines.empty()
                                        ? std::vector<std::string>{}
                                        : absl::StrSplit(lines.back(), ' ', absl::SkipEmpty());
    double kbps = 0;
    absl::string_view rate = cols.empty() ? absl::string_view() : absl::string_view(cols.back());
    if (cols.size() >= 2 && absl::ConsumeSuffix(&rate, "k") && absl::SimpleAtod(rate, &kbps)) {
      std::printf("openssl speed -evp aes-256-gcm -bytes 16384: %.0f MiB/s (one core)\n",
                  kbps * 1000 / (1 << 20));
    } else {
      std::printf("openssl speed: unexpected output: %s\n", out.c_str());
    }
  }
  using namespace dialgrid::recording;
  SecretKey key = SecretKey::Random();
  const std::string plain = dialgrid::RandomHex(kSegmentPlaintext / 2);
  const int segments = 4096;  // 256 MiB
  const absl::Time a = absl::Now();
  for (int i = 0; i < segments; ++i) {
    auto sealed = SealSegment(key, "t", "r", static_cast<uint64_t>(i), false, plain);
    if (!sealed.ok()) {
      std::printf("SealSegment failed: %s\n", sealed.status().ToString().c_str());
      return;
    }
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - a);
  const double mib = static_cast<double>(segments) * kSegmentPlaintext / (1 << 20);
  std::printf("SealSegment (64 KiB segments, this process): %.0f MiB in %.2f s = %.0f MiB/s\n", mib,
              secs, mib / secs);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (const int keep = absl::GetFlag(FLAGS_client_malloc_keep_mib); keep > 0) {
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, std::min(keep, 1024) << 20);
  }
  std::string cpu = Shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
  std::printf("cpu model:%s cores: %s", cpu.c_str(), Shell("nproc").c_str());
  std::printf("load before: %s", Shell("cat /proc/loadavg").c_str());
  RawCipher();

  dialgrid::testing::TestPlatformOptions options;
  options.topics = {"tenancy", "recordings"};
  auto platform = TestPlatform::Start(options);
  if (!platform.ok()) {
    std::fprintf(stderr, "platform: %s\n", platform.status().ToString().c_str());
    return 1;
  }
  TestPlatform& p = **platform;
  const std::string keys = p.dir() + "/keks", data = p.dir() + "/recordings";
  fs::create_directories(keys);
  fs::create_directories(data);
  std::ofstream(keys + "/bench.2026-01.key") << dialgrid::RandomHex(32) << "\n";
  std::vector<std::string> service_args = {"--kek_dir=" + keys, "--recordings_dir=" + data,
                                           absl::StrCat("--workers=", absl::GetFlag(FLAGS_workers))};
  for (absl::string_view a : absl::StrSplit(absl::GetFlag(FLAGS_service_args), ',', absl::SkipEmpty())) {
    service_args.emplace_back(a);
  }
  std::printf("service: %s %s\n", absl::GetFlag(FLAGS_service_bin).c_str(),
              absl::GetFlag(FLAGS_service_args).c_str());
  absl::Status st = p.StartService("recording", absl::GetFlag(FLAGS_service_bin), service_args);
  if (!st.ok()) {
    std::fprintf(stderr, "service: %s (see %s)\n", st.ToString().c_str(),
                 p.LogPath("recording").c_str());
    return 1;
  }
  dialgrid::tenancy::v1::Quota quota;
  quota.set_max_agents(10);
  quota.set_max_requests_per_second(1000000);
  quota.set_max_recording_storage_bytes(int64_t{64} << 30);
  if (auto s = p.CreateTenant("bench", &quota); !s.ok()) {
    std::fprintf(stderr, "tenant: %s\n", s.ToString().c_str());
    return 1;
  }
  auto admin = p.Credential("bench", dialgrid::tenancy::v1::ROLE_TENANT_ADMIN);
  if (!admin.ok()) return 1;
  // redis-server's pid, for its CPU time.
  pid_t redis_pid = 0;
  std::string info = Shell(absl::StrCat("redis-cli -p ", p.redis().port(), " info server"));
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    if (absl::ConsumePrefix(&line, "process_id:")) {
      int v = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &v)) redis_pid = v;
    }
  }
  std::string fs_type = Shell(absl::StrCat("df -T ", data, " | tail -1 | awk '{print $2}'"));
  std::printf("recordings dir: %s (%s)\n", data.c_str(),
              std::string(absl::StripAsciiWhitespace(fs_type)).c_str());

  Bench bench(p, p.Process("recording")->pid(), redis_pid, *admin, "bench");
  bench.Ingest(absl::GetFlag(FLAGS_ingest_mib));
  bench.Playback();
  if (absl::GetFlag(FLAGS_live) > 0) {
    bench.Live(absl::GetFlag(FLAGS_live), absl::GetFlag(FLAGS_live_seconds));
  }
  std::printf("load after: %s", Shell("cat /proc/loadavg").c_str());
  return 0;
}
