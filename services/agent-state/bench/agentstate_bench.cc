// Agent-state benchmark (not a test; issue 15, "Benchmark"): starts
// redis-server (AOF appendfsync always: acknowledged means durable), the
// Kafka-protocol broker, dialgrid-tenancy and dialgrid-agentstate, creates
// 100 tenants x 100 agents and a 500-agent pool granted to 5 tenants' campaigns,
// logs everyone in and ready, then measures over loopback gRPC:
//
//   1. reservations: ReserveAgent open loop at --rate for --seconds, a fresh
//      call id each, the tenant picked uniformly (the pool's tenants get pool
//      agents too); each reserved agent then goes through ConfirmReservation,
//      --talk_ms of talk, EndCall and SetReady off the measured path, so agents
//      cycle back. Latency from each call's scheduled start.
//   2. no double reservation, from the event log: the "agents" topic is read
//      back after the run (a consumer group of its own, from the start) until
//      every agent's newest version is in; per agent, its AgentStatus events in
//      version order must never hold two calls at once, every version must
//      appear once, and every reservation the dialer was given must be there.
//   3. a GetAgent baseline at the same rate (same auth and executor path, two
//      Redis reads, no write).
//   4. watch fan-out: --watchers WatchAgents streams on --watch_tenants
//      tenants, then --watch_rate state changes/s (SetNotReady / SetReady
//      toggles of those tenants' agents); the delay of every (change, watcher)
//      pair is the receive time minus the change's AgentStatus.state_time (one
//      host, one clock).
//
// Beside each phase: CPU time of every child process (from /proc/<pid>/stat)
// and Redis's command counts (INFO commandstats), so what limits it shows.
//
//   build/services/agent-state/bench/agentstate_bench --rate=1000 --seconds=20
//
// Everything runs on one machine: the client, the service, Redis, the broker
// and tenancy share its cores; the printed load average says how busy it was.
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/redis/redis_client.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

ABSL_FLAG(int, rate, 1000, "Reservations per second offered (and GetAgent calls of the baseline).");
ABSL_FLAG(int, seconds, 20, "Seconds of load per measurement.");
ABSL_FLAG(std::string, sweep, "",
          "Reservation rates to measure before --rate, comma-separated (e.g. 100,200,400): where "
          "the latency bends.");
ABSL_FLAG(int, tenants, 100, "Tenants.");
ABSL_FLAG(int, agents_per_tenant, 100, "Agents of each tenant.");
ABSL_FLAG(int, pool_agents, 500, "Agents of the vendor's pool.");
ABSL_FLAG(int, pool_tenants, 5, "Tenants the pool's agents are granted to (the first ones).");
ABSL_FLAG(int, talk_ms, 1000, "Talk time between ConfirmReservation and EndCall.");
ABSL_FLAG(int, watchers, 50, "WatchAgents streams.");
ABSL_FLAG(int, watch_tenants, 1,
          "Tenants the watchers are spread over (the first ones; with 1, every change reaches "
          "every watcher). Changes are made to these tenants' own agents.");
ABSL_FLAG(int, watch_rate, 500, "State changes per second during the watch measurement.");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) of the load clients.");
ABSL_FLAG(std::string, phases, "reserve,baseline,watch", "Which measurements to run.");
ABSL_FLAG(std::string, redis_appendfsync, "always",
          "Redis AOF fsync policy: always (as the platform runs it) or everysec / no (to see "
          "what the fsync costs).");
ABSL_FLAG(std::string, agentstate_args, "",
          "More dialgrid-agentstate arguments, comma-separated (e.g. --workers=16).");
ABSL_FLAG(std::string, perf_record, "",
          "perf record -g the named child processes (comma-separated comm names, e.g. "
          "dialgrid-agents,redis-server) during the reservation phase; the data files are "
          "left in the platform's temp dir.");

namespace {

using namespace dialgrid;
using agentstate::v1::AgentStateService;
using dialgrid::testing::TestPlatform;
using google::protobuf::util::TimeUtil;
namespace v1 = agentstate::v1;

int Fail(const std::string& what) {
  std::cerr << "agentstate_bench: " << what << "\n";
  return 1;
}

std::string Describe(const grpc::Status& st) {
  return absl::StrCat("code ", st.error_code(), ": ", st.error_message());
}

absl::Time FromTs(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(ts));
}

// ---------------------------------------------------------------------------
// Machine and process figures.

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string CpuModel() {
  for (absl::string_view line : absl::StrSplit(ReadFile("/proc/cpuinfo"), '\n')) {
    if (absl::StartsWith(line, "model name")) {
      size_t colon = line.find(':');
      if (colon != absl::string_view::npos) return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "unknown";
}

std::string LoadAverage() {
  std::vector<std::string> f = absl::StrSplit(ReadFile("/proc/loadavg"), ' ');
  if (f.size() < 3) return "unknown";
  return absl::StrCat(f[0], " ", f[1], " ", f[2]);
}

// utime + stime of a process in seconds, and its comm.
struct ProcCpu {
  std::string comm;
  double seconds = 0;  // user + sys
  double sys = 0;
  int64_t switches = 0;  // context switches of all its threads
};

// Voluntary + involuntary context switches of every thread of `pid`.
int64_t ContextSwitches(pid_t pid) {
  int64_t total = 0;
  const std::string dir_name = absl::StrCat("/proc/", pid, "/task");
  DIR* dir = opendir(dir_name.c_str());
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    for (absl::string_view line : absl::StrSplit(ReadFile(absl::StrCat(dir_name, "/", e->d_name, "/status")), '\n')) {
      if (absl::StrContains(line, "ctxt_switches:")) {
        long long n = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)), &n)) total += n;
      }
    }
  }
  closedir(dir);
  return total;
}

bool ReadProcCpu(pid_t pid, ProcCpu* out, pid_t* ppid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return false;
  out->comm = stat.substr(open + 1, close - open - 1);
  // Fields after the comm: 3 state, 4 ppid, ..., 14 utime, 15 stime.
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  if (f.size() < 13) return false;
  long long parent = 0, utime = 0, stime = 0;
  if (!absl::SimpleAtoi(f[1], &parent) || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return false;
  }
  if (ppid != nullptr) *ppid = static_cast<pid_t>(parent);
  out->seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  out->sys = static_cast<double>(stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  out->switches = ContextSwitches(pid);
  return true;
}

// This process and its children (the servers), by pid.
std::map<pid_t, ProcCpu> SampleCpu() {
  std::map<pid_t, ProcCpu> out;
  const pid_t self = getpid();
  ProcCpu me;
  if (ReadProcCpu(self, &me, nullptr)) {
    me.comm = "agentstate_bench (client)";
    out[self] = me;
  }
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    ProcCpu p;
    pid_t ppid = 0;
    if (ReadProcCpu(pid, &p, &ppid) && ppid == self) out[pid] = p;
  }
  closedir(dir);
  return out;
}

// CPU used by each process between two samples; `per` ops for the per-op cost.
void PrintCpu(const std::map<pid_t, ProcCpu>& before, const std::map<pid_t, ProcCpu>& after,
              double wall_seconds, int64_t per, const std::string& per_what) {
  std::cout << absl::StrFormat(
      "  CPU over %.1f s (user+sys, %% of one core, of which sys; per %s: CPU, context switches):\n",
      wall_seconds, per_what);
  double total = 0;
  const double n = per > 0 ? static_cast<double>(per) : 1.0;
  for (const auto& [pid, a] : after) {
    auto b = before.find(pid);
    const bool known = b != before.end();
    double used = a.seconds - (known ? b->second.seconds : 0.0);
    double sys = a.sys - (known ? b->second.sys : 0.0);
    double switches = static_cast<double>(a.switches - (known ? b->second.switches : 0));
    total += used;
    std::cout << absl::StrFormat("    %-28s %7.2f s  %5.1f%%  sys %4.0f%%  %7.1f us  %5.1f cs\n",
                                 a.comm, used, 100.0 * used / wall_seconds,
                                 used > 0 ? 100.0 * sys / used : 0.0, 1e6 * used / n, switches / n);
  }
  std::cout << absl::StrFormat("    %-28s %7.2f s  %5.1f%%  %7.1f us  (2 cores = 200%%)\n", "all",
                               total, 100.0 * total / wall_seconds,
                               per > 0 ? 1e6 * total / static_cast<double>(per) : 0.0);
}

pid_t ChildPid(const std::string& comm) {
  for (const auto& [pid, p] : SampleCpu()) {
    if (p.comm == comm) return pid;
  }
  return -1;
}

// Redis's own account of the commands it ran (INFO commandstats).
struct RedisStats {
  std::unique_ptr<redis::Client> client;

  void Reset() {
    if (!client) return;
    (void)client->Command({"CONFIG", "RESETSTAT"});
    // Events of 1 ms or more (e.g. aof-fsync-always: an fsync in the event loop).
    (void)client->Command({"CONFIG", "SET", "latency-monitor-threshold", "1"});
    (void)client->Command({"LATENCY", "RESET"});
  }
  void Print(int64_t per, const std::string& per_what) {
    if (!client) return;
    auto info = client->Command({"INFO", "commandstats"});
    if (!info.ok()) return;
    struct Row {
      std::string cmd;
      long long calls = 0;
      double usec = 0;
    };
    std::vector<Row> rows;
    long long calls_total = 0;
    double usec_total = 0;
    for (absl::string_view line : absl::StrSplit(info->str, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
      if (!absl::StartsWith(line, "cmdstat_")) continue;
      size_t colon = line.find(':');
      Row r;
      r.cmd = std::string(line.substr(8, colon - 8));
      for (absl::string_view kv : absl::StrSplit(line.substr(colon + 1), ',')) {
        std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, '=');
        if (p.first == "calls") (void)absl::SimpleAtoi(p.second, &r.calls);
        if (p.first == "usec") (void)absl::SimpleAtod(p.second, &r.usec);
      }
      calls_total += r.calls;
      usec_total += r.usec;
      rows.push_back(r);
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.usec > b.usec; });
    std::cout << absl::StrFormat(
        "  Redis commands: %lld (%.1f per %s), %.2f s inside commands (%.1f us per %s); top:\n",
        calls_total, per > 0 ? static_cast<double>(calls_total) / static_cast<double>(per) : 0.0,
        per_what, usec_total / 1e6, per > 0 ? usec_total / static_cast<double>(per) : 0.0, per_what);
    for (size_t i = 0; i < rows.size() && i < 8; ++i) {
      std::cout << absl::StrFormat("    %-10s %9lld calls (%6.2f per %s)  %6.2f s\n", rows[i].cmd,
                                   rows[i].calls,
                                   per > 0 ? static_cast<double>(rows[i].calls) / static_cast<double>(per) : 0.0,
                                   per_what, rows[i].usec / 1e6);
    }
    // The event loop's fsyncs (appendfsync always): the worst of each second
    // that had one of 1 ms or more.
    auto history = client->Command({"LATENCY", "HISTORY", "aof-fsync-always"});
    if (history.ok() && !history->elements.empty()) {
      std::vector<long long> worst;
      for (const auto& e : history->elements) {
        if (e.elements.size() >= 2) worst.push_back(e.elements[1].integer);
      }
      std::sort(worst.begin(), worst.end());
      std::cout << absl::StrFormat(
          "    Redis fsync (aof-fsync-always) of >= 1 ms in %zu seconds; the worst of each such "
          "second: median %lld ms, max %lld ms\n",
          worst.size(), worst[worst.size() / 2], worst.back());
    }
    auto latest = client->Command({"LATENCY", "LATEST"});
    if (latest.ok()) {
      for (const auto& ev : latest->elements) {
        if (ev.elements.size() < 4) continue;
        const std::string& name = ev.elements[0].str;
        if (name != "aof-fsync-always" && name != "aof-write" && name != "command" && name != "fork") continue;
        std::cout << absl::StrFormat("    Redis latency event %s: latest %lld ms, max %lld ms (events of >= 1 ms)\n",
                                     ev.elements[0].str, ev.elements[2].integer, ev.elements[3].integer);
      }
    }
    auto persistence = client->Command({"INFO", "persistence"});
    if (persistence.ok()) {
      for (absl::string_view line : absl::StrSplit(persistence->str, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
        if (absl::StartsWith(line, "aof_delayed_fsync") || absl::StartsWith(line, "aof_enabled")) {
          std::cout << "    " << line << "\n";
        }
      }
    }
  }
};

// ---------------------------------------------------------------------------
// Percentiles.

struct Latencies {
  std::vector<double> us;
  double Pct(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    size_t i = std::min(us.size() - 1, static_cast<size_t>(p * static_cast<double>(us.size())));
    return us[i];
  }
  std::string Line() {
    return absl::StrFormat("p50 %7.0f us  p90 %7.0f us  p99 %7.0f us  p99.9 %7.0f us  max %7.0f us",
                           Pct(0.5), Pct(0.9), Pct(0.99), Pct(0.999), us.empty() ? 0.0 : Pct(1.0));
  }
};

// ---------------------------------------------------------------------------
// Asynchronous calls: everything completing on a completion queue is a Tag.

struct Tag {
  virtual ~Tag() = default;
  // Called on the queue's thread; deletes itself when done with.
  virtual void Complete(bool ok) = 0;
};

// One unary call: its context, answer, and what to do with them.
template <typename Resp>
struct UnaryCall final : Tag {
  using Then = std::function<void(const grpc::Status&, const Resp&)>;
  grpc::ClientContext ctx;
  grpc::Status status;
  Resp resp;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> reader;
  Then then;
  void Complete(bool) override {
    then(status, resp);
    delete this;
  }
};

// Starts `rpc` (a Stub::PrepareAsyncX member) with `req`; `then` runs on the
// completion queue's thread.
template <typename Req, typename Resp>
void Call(AgentStateService::Stub* stub,
          std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> (AgentStateService::Stub::*rpc)(
              grpc::ClientContext*, const Req&, grpc::CompletionQueue*),
          const Req& req, const std::string& secret, absl::Time deadline,
          grpc::CompletionQueue* cq, typename UnaryCall<Resp>::Then then) {
  auto* c = new UnaryCall<Resp>();
  c->ctx.set_deadline(absl::ToChronoTime(deadline));
  c->ctx.AddMetadata("authorization", "Bearer " + secret);
  c->then = std::move(then);
  c->reader = (stub->*rpc)(&c->ctx, req, cq);
  c->reader->StartCall();
  c->reader->Finish(&c->resp, &c->status, c);
}

// A completion queue with its own thread, which runs each Tag's Complete.
class Queue {
 public:
  Queue() : thread_([this] {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) static_cast<Tag*>(tag)->Complete(ok);
  }) {}
  ~Queue() {
    cq_.Shutdown();
    thread_.join();
  }
  grpc::CompletionQueue* cq() { return &cq_; }

 private:
  grpc::CompletionQueue cq_;
  std::thread thread_;
};

// Counts outstanding work and waits for none.
class InFlight {
 public:
  void Add(int64_t n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    n_ += n;
  }
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--n_ == 0) cv_.notify_all();
  }
  bool WaitZero(absl::Duration limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(limit), [this] { return n_ == 0; });
  }
  // Waits while `max` or more are outstanding.
  void WaitBelow(int64_t max) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return n_ < max; });
  }
  void DoneAndNotify() {
    std::lock_guard<std::mutex> lock(mu_);
    --n_;
    cv_.notify_all();
  }
  int64_t value() {
    std::lock_guard<std::mutex> lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t n_ = 0;
};

// Errors of a phase: count and the first few distinct messages.
class Errors {
 public:
  void Add(const std::string& what, const grpc::Status& st) {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    std::string key = absl::StrCat(what, ": ", Describe(st));
    if (++by_kind_[key.substr(0, 160)] == 1 && by_kind_.size() > 20) by_kind_.erase(key.substr(0, 160));
  }
  int64_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  void Print(const std::string& indent) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, n] : by_kind_) std::cout << indent << n << " x " << k << "\n";
  }

 private:
  std::mutex mu_;
  int64_t count_ = 0;
  std::map<std::string, int64_t> by_kind_;
};

// Runs `n` calls, at most `window` at a time (setup). start(i, done) starts
// call i and must call done(status) once.
bool RunBounded(const std::string& what, int64_t n, int window,
                const std::function<void(int64_t, std::function<void(const grpc::Status&)>)>& start) {
  InFlight inflight;
  Errors errors;
  for (int64_t i = 0; i < n; ++i) {
    inflight.WaitBelow(window);
    inflight.Add();
    start(i, [&, i](const grpc::Status& st) {
      if (!st.ok()) errors.Add(absl::StrCat(what, " #", i), st);
      inflight.DoneAndNotify();
    });
  }
  inflight.WaitZero(absl::Minutes(10));
  if (errors.count() > 0) {
    std::cout << "  " << what << ": " << errors.count() << " errors\n";
    errors.Print("    ");
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The population.

struct Agent {
  std::string name;
  int tenant = -1;  // index; -1 = the pool
};

struct Population {
  std::vector<std::string> tenants;  // ids
  std::vector<Agent> agents;         // tenants' agents, then the pool's
  std::unordered_map<std::string, int> index;  // name -> agents index
  std::vector<std::string> agent_secret;       // per tenant: a ROLE_AGENT credential
  std::string pool_agent_secret;               // vendor-scope ROLE_AGENT
  std::vector<std::vector<int>> of_tenant;     // tenant -> its own agents' indexes
  std::string Campaign(int t) const { return absl::StrCat("tenants/", tenants[static_cast<size_t>(t)], "/campaigns/c1"); }
  const std::string& SecretFor(int agent) const {
    int t = agents[static_cast<size_t>(agent)].tenant;
    return t < 0 ? pool_agent_secret : agent_secret[static_cast<size_t>(t)];
  }
};

using ChildProcessList = std::vector<std::unique_ptr<dialgrid::testing::ChildProcess>>;

class Bench {
 public:
  Bench(TestPlatform& p, std::vector<std::unique_ptr<AgentStateService::Stub>> stubs)
      : p_(p), stubs_(std::move(stubs)) {}

  AgentStateService::Stub* stub(int64_t i) {
    return stubs_[static_cast<size_t>(i) % stubs_.size()].get();
  }

  // Tenants, agents, the pool and its grants; everyone logged in and ready.
  bool Setup();
  // Each prints its figures (a quiet run is a warm-up); false on failure.
  bool Reserve(int rate, int seconds, bool quiet);
  // Starts reading the "agents" topic (before the runs); checks it after.
  bool StartEventLog();
  bool CheckEventLog();
  bool Baseline(int rate, int seconds);
  bool Watch(int rate, int seconds);

  RedisStats redis_stats;

 private:
  bool FinalVersions(std::vector<int64_t>* versions);
  void Consume(const std::vector<event::v1::Envelope>& events);
  int64_t WaitForLog(const std::vector<int64_t>& versions, absl::Duration limit);
  ChildProcessList StartPerf();
  void StopPerf(ChildProcessList& perf);

  TestPlatform& p_;
  std::vector<std::unique_ptr<AgentStateService::Stub>> stubs_;
  Population pop_;
  Queue setup_queue_;
  int runs_ = 0;  // reservation runs so far

  // The reservations the dialer was given, for the event-log check.
  struct Granted {
    int agent;
    std::string call_id;
    std::string tenant;
  };
  std::mutex granted_mu_;
  std::vector<Granted> granted_;

  // The event log as read so far.
  struct Ev {
    int64_t version;
    v1::State state;
    std::string call_id, call_tenant;
  };
  struct EventLog {
    std::unique_ptr<dialgrid::testing::TopicRecorder> recorder;
    std::vector<int64_t> start_version;  // each agent's, when reading began
    std::vector<std::vector<Ev>> by_agent;
    std::vector<int64_t> max_seen;
    std::set<std::string> event_ids;
    size_t processed = 0;
    int64_t statuses = 0, redelivered = 0, other = 0, unknown_agent = 0;
  };
  EventLog log_;
};

bool Bench::Setup() {
  const int tenants = absl::GetFlag(FLAGS_tenants);
  const int per = absl::GetFlag(FLAGS_agents_per_tenant);
  const int pool = absl::GetFlag(FLAGS_pool_agents);
  const int pool_tenants = std::min(tenants, absl::GetFlag(FLAGS_pool_tenants));
  const absl::Time start = absl::Now();
  tenancy::v1::Quota quota;
  quota.set_max_agents(std::max(per, 100));
  quota.set_max_concurrent_lines(1000);
  quota.set_max_contacts(1000000);
  quota.set_max_requests_per_second(1000000);
  pop_.of_tenant.resize(static_cast<size_t>(tenants));
  for (int t = 0; t < tenants; ++t) {
    std::string id = absl::StrFormat("bench-%03d", t);
    absl::Status st = p_.CreateTenant(id, &quota);
    if (!st.ok()) return Fail(st.ToString()) == 0;
    auto secret = p_.Credential(id, tenancy::v1::ROLE_AGENT);
    if (!secret.ok()) return Fail(secret.status().ToString()) == 0;
    pop_.tenants.push_back(id);
    pop_.agent_secret.push_back(*secret);
    for (int a = 0; a < per; ++a) {
      pop_.of_tenant[static_cast<size_t>(t)].push_back(static_cast<int>(pop_.agents.size()));
      pop_.agents.push_back({absl::StrFormat("tenants/%s/agents/a%03d", id, a), t});
    }
  }
  for (int a = 0; a < pool; ++a) pop_.agents.push_back({absl::StrFormat("agentPools/bpo/agents/p%03d", a), -1});
  for (size_t i = 0; i < pop_.agents.size(); ++i) pop_.index[pop_.agents[i].name] = static_cast<int>(i);
  auto pool_secret = p_.Credential("", tenancy::v1::ROLE_AGENT);
  if (!pool_secret.ok()) return Fail(pool_secret.status().ToString()) == 0;
  pop_.pool_agent_secret = *pool_secret;
  const std::string& vendor = p_.admin_secret();
  std::cout << absl::StrFormat("setup: %d tenants, credentials in %.1f s\n", tenants,
                               absl::ToDoubleSeconds(absl::Now() - start));

  const int window = 64;
  const int64_t n = static_cast<int64_t>(pop_.agents.size());
  auto deadline = [] { return absl::Now() + absl::Seconds(30); };
  bool ok = RunBounded("CreateAgent", n, window, [&](int64_t i, auto done) {
    const Agent& a = pop_.agents[static_cast<size_t>(i)];
    v1::CreateAgentRequest req;
    std::vector<std::string> parts = absl::StrSplit(a.name, '/');
    req.set_parent(absl::StrCat(parts[0], "/", parts[1]));
    req.set_agent_id(parts[3]);
    req.mutable_agent()->set_display_name(absl::StrCat("Agent ", parts[3]));
    req.mutable_agent()->set_team(absl::StrCat("team-", parts[3].substr(1, 2)));
    if (a.tenant >= 0) req.mutable_agent()->add_campaigns(pop_.Campaign(a.tenant));
    Call<v1::CreateAgentRequest, v1::Agent>(stub(i), &AgentStateService::Stub::PrepareAsyncCreateAgent,
                                            req, vendor, deadline(), setup_queue_.cq(),
                                            [done](const grpc::Status& st, const v1::Agent&) { done(st); });
  });
  if (!ok) return false;
  const int64_t pool_first = static_cast<int64_t>(tenants) * per;
  ok = RunBounded("SetPoolGrant", static_cast<int64_t>(pool) * pool_tenants, window, [&](int64_t i, auto done) {
    // Neighbours in flight are different agents: one agent's grants would
    // race each other on its etag.
    const int t = static_cast<int>(i / pool);
    v1::SetPoolGrantRequest req;
    req.mutable_grant()->set_agent(pop_.agents[static_cast<size_t>(pool_first + i % pool)].name);
    req.mutable_grant()->set_tenant(absl::StrCat("tenants/", pop_.tenants[static_cast<size_t>(t)]));
    req.mutable_grant()->add_campaigns(pop_.Campaign(t));
    Call<v1::SetPoolGrantRequest, v1::Agent>(stub(i), &AgentStateService::Stub::PrepareAsyncSetPoolGrant,
                                             req, vendor, deadline(), setup_queue_.cq(),
                                             [done](const grpc::Status& st, const v1::Agent&) { done(st); });
  });
  if (!ok) return false;
  ok = RunBounded("Login", n, window, [&](int64_t i, auto done) {
    v1::LoginRequest req;
    req.set_name(pop_.agents[static_cast<size_t>(i)].name);
    req.set_station(absl::StrCat("ext-", i));
    Call<v1::LoginRequest, v1::AgentStatus>(stub(i), &AgentStateService::Stub::PrepareAsyncLogin, req,
                                            pop_.SecretFor(static_cast<int>(i)), deadline(),
                                            setup_queue_.cq(),
                                            [done](const grpc::Status& st, const v1::AgentStatus&) { done(st); });
  });
  if (!ok) return false;
  // Ready in a random order, so the pool's agents are not all the last ones
  // ready (the longest-ready agent is reserved first).
  std::vector<int> order(pop_.agents.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(99));
  ok = RunBounded("SetReady", n, window, [&](int64_t i, auto done) {
    const int a = order[static_cast<size_t>(i)];
    v1::SetReadyRequest req;
    req.set_name(pop_.agents[static_cast<size_t>(a)].name);
    Call<v1::SetReadyRequest, v1::AgentStatus>(stub(i), &AgentStateService::Stub::PrepareAsyncSetReady, req,
                                               pop_.SecretFor(a), deadline(),
                                               setup_queue_.cq(),
                                               [done](const grpc::Status& st, const v1::AgentStatus&) { done(st); });
  });
  if (!ok) return false;
  std::cout << absl::StrFormat(
      "setup: %d agents of %d tenants and %d pool agents granted to %d tenants' campaigns, all "
      "logged in and ready, in %.1f s (not part of the figures)\n",
      tenants * per, tenants, pool, pool_tenants, absl::ToDoubleSeconds(absl::Now() - start));
  return true;
}

// ---------------------------------------------------------------------------
// 1. Reservations.

// Calls start(i, due) at evenly spaced times from 100 ms from now (open
// loop: a slow server does not slow the sender down). Returns the start.
absl::Time Pace(int rate, int seconds, const std::function<void(int64_t, absl::Time)>& start) {
  const int64_t total = static_cast<int64_t>(rate) * seconds;
  const absl::Time begin = absl::Now() + absl::Milliseconds(100);
  const absl::Duration interval = absl::Seconds(1) / rate;
  for (int64_t i = 0; i < total; ++i) {
    const absl::Time due = begin + interval * i;
    const absl::Time now = absl::Now();
    if (due > now + absl::Microseconds(50)) absl::SleepFor(due - now);
    start(i, due);
  }
  return begin;
}

// A reserved agent's call, off the measured path: confirm at once, end it
// after the talk time, then the agent is ready again. As a dialer would, a
// step the service shed (UNAVAILABLE) is retried after a backoff.
class CallChain final : public Tag {
 public:
  struct Env {
    AgentStateService::Stub* stub;
    grpc::CompletionQueue* cq;
    std::string service_secret;
    absl::Duration talk;
    // Each step's outcome (0 confirm, 1 end, 2 ready); `last` once the chain ends.
    std::function<void(int step, const grpc::Status&, bool last)> on_step;
    std::atomic<int64_t>* retries;
  };
  CallChain(const Env& env, std::string agent, std::string agent_secret, std::string call_id)
      : env_(env), agent_(std::move(agent)), agent_secret_(std::move(agent_secret)),
        call_id_(std::move(call_id)) {}

  void Start() { Run(); }
  void Complete(bool) override { Run(); }  // an alarm: talk time over, or a retry's backoff

 private:
  static constexpr int kMaxAttempts = 20;

  void Run() {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    auto then = [this](const grpc::Status& st, const v1::AgentStatus&) { Done(st); };
    if (step_ == 0) {
      v1::ConfirmReservationRequest req;
      req.set_name(agent_);
      req.set_call_id(call_id_);
      Call<v1::ConfirmReservationRequest, v1::AgentStatus>(
          env_.stub, &AgentStateService::Stub::PrepareAsyncConfirmReservation, req,
          env_.service_secret, deadline, env_.cq, then);
    } else if (step_ == 1) {
      v1::EndCallRequest req;
      req.set_name(agent_);
      req.set_call_id(call_id_);
      Call<v1::EndCallRequest, v1::AgentStatus>(env_.stub, &AgentStateService::Stub::PrepareAsyncEndCall,
                                                req, env_.service_secret, deadline, env_.cq, then);
    } else {
      v1::SetReadyRequest req;
      req.set_name(agent_);
      Call<v1::SetReadyRequest, v1::AgentStatus>(env_.stub, &AgentStateService::Stub::PrepareAsyncSetReady,
                                                 req, agent_secret_, deadline, env_.cq, then);
    }
  }

  void Done(const grpc::Status& st) {
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE && ++attempts_ < kMaxAttempts) {
      ++*env_.retries;
      alarm_.Set(env_.cq, absl::ToChronoTime(absl::Now() + absl::Milliseconds(50) * attempts_), this);
      return;
    }
    const bool last = !st.ok() || step_ == 2;
    env_.on_step(step_, st, last);
    if (last) {
      delete this;
      return;
    }
    attempts_ = 0;
    ++step_;
    if (step_ == 1) {
      alarm_.Set(env_.cq, absl::ToChronoTime(absl::Now() + env_.talk), this);  // talking
    } else {
      Run();
    }
  }

  const Env& env_;
  const std::string agent_, agent_secret_, call_id_;
  int step_ = 0;
  int attempts_ = 0;
  grpc::Alarm alarm_;
};

bool Bench::Reserve(int rate, int seconds, bool quiet) {
  const int tenants = static_cast<int>(pop_.tenants.size());
  const absl::Duration talk = absl::Milliseconds(absl::GetFlag(FLAGS_talk_ms));
  InFlight reserves, chains;
  Errors reserve_errors, follow_errors;
  std::mutex mu;
  Latencies lat;
  int64_t ok_count = 0, no_agent = 0, pool_reserved = 0, in_window = 0;
  std::atomic<int64_t> follow_changes{0}, follow_retries{0};
  absl::Time window_end = absl::InfiniteFuture();
  lat.us.reserve(static_cast<size_t>(rate) * static_cast<size_t>(seconds));

  CallChain::Env chain_env{stub(0), nullptr, p_.service_secret(), talk,
                           [&](int step, const grpc::Status& st, bool last) {
                             static const char* kSteps[] = {"ConfirmReservation", "EndCall",
                                                            "SetReady"};
                             if (st.ok()) {
                               if (absl::Now() <= window_end) ++follow_changes;
                             } else {
                               follow_errors.Add(kSteps[step], st);
                             }
                             if (last) chains.Done();
                           },
                           &follow_retries};
  // Declared last, so destroyed first: their threads finish every callback
  // while what the callbacks use is still there.
  Queue reserve_queue, follow_queue;
  chain_env.cq = follow_queue.cq();
  const int run = ++runs_;
  std::mt19937_64 rng(7919 + static_cast<uint64_t>(run));
  const auto cpu_before = SampleCpu();
  redis_stats.Reset();
  ChildProcessList perf;
  if (!quiet) perf = StartPerf();
  int64_t sent = 0;
  const absl::Time begin = absl::Now() + absl::Milliseconds(100);
  window_end = begin + absl::Seconds(seconds);
  Pace(rate, seconds, [&](int64_t i, absl::Time due) {
    const int t = static_cast<int>(rng() % static_cast<uint64_t>(tenants));
    v1::ReserveAgentRequest req;
    req.set_campaign(pop_.Campaign(t));
    req.set_call_id(absl::StrCat("run", run, "-call-", i));  // unique across runs
    reserves.Add();
    ++sent;
    Call<v1::ReserveAgentRequest, v1::Reservation>(
        stub(i), &AgentStateService::Stub::PrepareAsyncReserveAgent, req, p_.service_secret(),
        due + absl::Seconds(10), reserve_queue.cq(),
        [&, due, t, call = req.call_id()](const grpc::Status& st, const v1::Reservation& r) {
          const absl::Time done = absl::Now();
          std::unique_lock<std::mutex> lock(mu);
          lat.us.push_back(absl::ToDoubleMicroseconds(done - due));
          if (st.ok()) {
            auto it = pop_.index.find(r.agent());
            ++ok_count;
            if (done <= window_end) ++in_window;
            if (it == pop_.index.end()) {
              lock.unlock();
              reserve_errors.Add("ReserveAgent answered an unknown agent " + r.agent(),
                                 grpc::Status::OK);
            } else {
              const int agent = it->second;
              if (pop_.agents[static_cast<size_t>(agent)].tenant < 0) ++pool_reserved;
              lock.unlock();
              {
                std::lock_guard<std::mutex> g(granted_mu_);
                granted_.push_back({agent, call, pop_.tenants[static_cast<size_t>(t)]});
              }
              chains.Add();
              (new CallChain(chain_env, r.agent(), pop_.SecretFor(agent), call))->Start();
            }
          } else if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                     st.error_message().find("no ready agent") != std::string::npos) {
            ++no_agent;
            lock.unlock();
          } else {
            lock.unlock();
            reserve_errors.Add("ReserveAgent", st);
          }
          reserves.Done();
        });
  });
  const double sent_seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  reserves.WaitZero(absl::Seconds(30));
  const double wall = absl::ToDoubleSeconds(absl::Now() - begin);
  const auto cpu_after = SampleCpu();
  StopPerf(perf);
  const bool drained = chains.WaitZero(talk + absl::Seconds(60));
  // The queues' threads must not outlive what their callbacks use.
  if (quiet) return drained && reserve_errors.count() == 0;

  std::cout << absl::StrFormat(
      "\n== reservations: ReserveAgent offered %d/s for %d s (open loop from an async client over "
      "%d channels), a fresh call id each, tenant uniform over %d; each reserved agent then gets "
      "ConfirmReservation, %s of talk, EndCall, SetReady, off the measured path\n",
      rate, seconds, static_cast<int>(stubs_.size()), tenants, absl::FormatDuration(talk));
  std::cout << absl::StrFormat(
      "  sent %lld in %.2f s; reserved %lld (%.0f/s acknowledged within the %d s; %lld of them pool "
      "agents), NO_AGENT_AVAILABLE %lld, errors %lld\n",
      static_cast<long long>(sent), sent_seconds, static_cast<long long>(ok_count),
      static_cast<double>(in_window) / seconds, seconds, static_cast<long long>(pool_reserved),
      static_cast<long long>(no_agent), static_cast<long long>(reserve_errors.count()));
  std::cout << "  ReserveAgent latency from scheduled start: " << lat.Line() << "\n";
  std::cout << absl::StrFormat(
      "  state changes: %.0f/s (reserve, confirm, end call, ready; each acknowledged durable)\n",
      static_cast<double>(in_window + follow_changes.load()) / seconds);
  reserve_errors.Print("    ");
  if (follow_retries.load() > 0) {
    std::cout << "  follow-up calls retried after the service shed them (UNAVAILABLE): "
              << follow_retries.load() << "\n";
  }
  if (follow_errors.count() > 0) {
    std::cout << "  follow-up errors (confirm / end / ready, after retries): " << follow_errors.count() << "\n";
    follow_errors.Print("    ");
  }
  if (!drained) std::cout << "  WARNING: follow-up calls still outstanding: " << chains.value() << "\n";
  // Per reservation includes its confirm, end call and ready.
  PrintCpu(cpu_before, cpu_after, wall, ok_count + no_agent, "reservation with its 3 follow-ups");
  redis_stats.Print(ok_count + no_agent, "reservation");
  const bool met = rate >= 1000 && lat.Pct(0.99) <= 2000 && reserve_errors.count() == 0;
  std::cout << absl::StrFormat("  target ReserveAgent p99 <= 2000 us at 1000/s, durable: %s (p99 %.0f us at %d/s)\n",
                               met ? "met" : "NOT met", lat.Pct(0.99), rate);
  return drained;
}

// ---------------------------------------------------------------------------
// 2. No double reservation, from the event log.

// Every agent's status version now (ListAgents of every scope).
bool Bench::FinalVersions(std::vector<int64_t>* versions) {
  versions->assign(pop_.agents.size(), -1);
  std::vector<std::string> parents;
  for (const auto& t : pop_.tenants) parents.push_back("tenants/" + t);
  parents.push_back("agentPools/bpo");
  for (const auto& parent : parents) {
    v1::ListAgentsRequest req;
    req.set_parent(parent);
    req.set_page_size(1000);
    while (true) {
      v1::ListAgentsResponse resp;
      grpc::Status st = stub(0)->ListAgents(TestPlatform::Context(p_.admin_secret()).get(), req, &resp);
      if (!st.ok()) return Fail("ListAgents " + parent + ": " + Describe(st)) == 0;
      for (const auto& a : resp.agents()) {
        auto it = pop_.index.find(a.name());
        if (it != pop_.index.end()) (*versions)[static_cast<size_t>(it->second)] = a.status().version();
      }
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
  }
  return true;
}

void Bench::Consume(const std::vector<event::v1::Envelope>& events) {
  EventLog& log = log_;
  for (; log.processed < events.size(); ++log.processed) {
    const auto& e = events[log.processed];
    if (!e.payload().Is<v1::AgentStatus>()) {
      ++log.other;
      continue;
    }
    if (!log.event_ids.insert(e.event_id()).second) {
      ++log.redelivered;  // at-least-once delivery: consumers dedup by event id
      continue;
    }
    v1::AgentStatus s;
    if (!e.payload().UnpackTo(&s)) continue;
    auto it = pop_.index.find(s.agent());
    if (it == pop_.index.end()) {
      ++log.unknown_agent;
      continue;
    }
    ++log.statuses;
    const size_t a = static_cast<size_t>(it->second);
    log.by_agent[a].push_back({s.version(), s.state(), s.call_id(), s.call_tenant()});
    log.max_seen[a] = std::max(log.max_seen[a], s.version());
  }
}

// Waits until every agent's events reach `versions`; the agents short of them.
int64_t Bench::WaitForLog(const std::vector<int64_t>& versions, absl::Duration limit) {
  int64_t short_of = 0;
  log_.recorder->WaitFor(
      [&](const std::vector<event::v1::Envelope>& events) {
        Consume(events);
        short_of = 0;
        for (size_t a = 0; a < versions.size(); ++a) short_of += log_.max_seen[a] < versions[a] ? 1 : 0;
        return short_of == 0;
      },
      limit);
  return short_of;
}

// The broker keeps only the newest part of a topic (librdkafka's mock
// cluster drops old segments), so the log is read while the run goes on,
// not after it; what is checked is every change after this point.
bool Bench::StartEventLog() {
  if (!FinalVersions(&log_.start_version)) return false;
  log_.by_agent.assign(pop_.agents.size(), {});
  log_.max_seen.assign(pop_.agents.size(), 0);
  const absl::Time start = absl::Now();
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_.broker().bootstrap(), {"agents"});
  if (!recorder.ok()) return Fail(recorder.status().ToString()) == 0;
  log_.recorder = *std::move(recorder);
  const int64_t short_of = WaitForLog(log_.start_version, absl::Minutes(2));
  std::cout << absl::StrFormat(
      "event log: a consumer of topic \"agents\" in this process caught up with the setup's "
      "events in %.1f s%s; it reads alongside the runs\n",
      absl::ToDoubleSeconds(absl::Now() - start),
      short_of == 0 ? "" : absl::StrCat(" (NOT for ", short_of, " agents)").c_str());
  return true;
}

bool Bench::CheckEventLog() {
  std::cout << "\n== no double reservation, from the event log (topic \"agents\", every change "
               "since the setup)\n";
  if (!log_.recorder) return false;
  std::vector<int64_t> final_version;
  if (!FinalVersions(&final_version)) return false;
  const absl::Time start = absl::Now();
  const int64_t remaining = WaitForLog(final_version, absl::Minutes(3));
  const bool caught_up = remaining == 0;
  log_.recorder->Stop();
  const double took = absl::ToDoubleSeconds(absl::Now() - start);
  const int64_t statuses = log_.statuses, redelivered = log_.redelivered, other = log_.other,
                unknown_agent = log_.unknown_agent;
  auto& by_agent = log_.by_agent;
  const auto& max_seen = log_.max_seen;
  if (!caught_up) {
    std::cout << absl::StrFormat(
        "  the recorder did NOT catch up within %.0f s after the run: %lld agents' newest "
        "versions are not in what it read (%lld status events read); the check below covers "
        "only what was read\n",
        took, static_cast<long long>(remaining), static_cast<long long>(statuses));
  }

  // Per agent, in version order.
  int64_t duplicates = 0, missing = 0, doubles = 0, reserved_not_ready = 0, confirm_other = 0;
  std::vector<std::string> examples, gap_examples;
  auto example = [&](const std::string& s) {
    if (examples.size() < 5) examples.push_back(s);
  };
  std::unordered_map<std::string, int> reserved_on;  // "tenant/call" -> agent
  int64_t call_on_two = 0;
  std::set<std::pair<int, std::string>> reserved_calls;  // (agent, call id) RESERVED in the log
  for (size_t a = 0; a < by_agent.size(); ++a) {
    auto& evs = by_agent[a];
    std::sort(evs.begin(), evs.end(), [](const Ev& x, const Ev& y) { return x.version < y.version; });
    for (size_t i = 1; i < evs.size(); ++i) {
      if (evs[i].version == evs[i - 1].version) {
        ++duplicates;
        example(absl::StrCat(pop_.agents[a].name, " version ", evs[i].version, " twice"));
      }
    }
    std::set<int64_t> distinct;
    for (const auto& e : evs) distinct.insert(e.version);
    const int64_t last = std::max<int64_t>(final_version[a], max_seen[a]);
    const int64_t first = log_.start_version[a] + 1;  // changes since the setup
    for (int64_t v = first; v <= last; ++v) missing += distinct.count(v) == 0 ? 1 : 0;
    for (int64_t v = first; v <= last && gap_examples.size() < 5; ++v) {
      if (distinct.count(v) > 0) continue;
      std::string around;
      for (const auto& e : evs) {
        if (e.version == v - 1 || e.version == v + 1) {
          absl::StrAppend(&around, " v", e.version, " ", v1::State_Name(e.state), " ", e.call_id);
        }
      }
      gap_examples.push_back(absl::StrCat(pop_.agents[a].name, " v", v, " has no event;", around));
    }
    const Ev* prev = nullptr;
    for (const auto& e : evs) {
      const bool holds = e.state == v1::STATE_RESERVED || e.state == v1::STATE_ON_CALL;
      if (e.state == v1::STATE_RESERVED) {
        reserved_calls.insert({static_cast<int>(a), e.call_id});
        const std::string ref = e.call_tenant + "/" + e.call_id;
        auto [it, fresh] = reserved_on.emplace(ref, static_cast<int>(a));
        if (!fresh && it->second != static_cast<int>(a)) {
          ++call_on_two;
          example(absl::StrCat("call ", ref, " RESERVED on ", pop_.agents[static_cast<size_t>(it->second)].name,
                               " and ", pop_.agents[a].name));
        }
      }
      if (prev != nullptr && holds) {
        const bool prev_holds = prev->state == v1::STATE_RESERVED || prev->state == v1::STATE_ON_CALL;
        const bool same_call = prev->call_id == e.call_id && prev->call_tenant == e.call_tenant;
        if (prev_holds && !same_call) {
          ++doubles;
          example(absl::StrCat(pop_.agents[a].name, " v", e.version, " ", v1::State_Name(e.state),
                               " call ", e.call_id, " while v", prev->version, " ",
                               v1::State_Name(prev->state), " call ", prev->call_id));
        }
        if (e.state == v1::STATE_RESERVED && prev->state != v1::STATE_READY && !(prev_holds && same_call)) {
          ++reserved_not_ready;
          example(absl::StrCat(pop_.agents[a].name, " v", e.version, " RESERVED from ",
                               v1::State_Name(prev->state)));
        }
        if (e.state == v1::STATE_ON_CALL && !(prev->state == v1::STATE_RESERVED && same_call) &&
            !(prev->state == v1::STATE_ON_CALL && same_call)) {
          ++confirm_other;
          example(absl::StrCat(pop_.agents[a].name, " v", e.version, " ON_CALL ", e.call_id,
                               " after ", v1::State_Name(prev->state), " ", prev->call_id));
        }
      }
      prev = &e;
    }
  }
  // Every reservation the dialer was given is in the log.
  int64_t acked_not_logged = 0;
  {
    std::lock_guard<std::mutex> lock(granted_mu_);
    for (const auto& g : granted_) {
      if (reserved_calls.count({g.agent, g.call_id}) == 0) {
        ++acked_not_logged;
        example(absl::StrCat("reservation of ", g.call_id, " on ", pop_.agents[static_cast<size_t>(g.agent)].name,
                             " acknowledged but not in the log"));
      }
    }
  }
  const int64_t violations = duplicates + doubles + reserved_not_ready + confirm_other + call_on_two +
                             acked_not_logged + missing + (caught_up ? 0 : 1);
  std::cout << absl::StrFormat(
      "  read %lld AgentStatus events of %zu agents (%lld redelivered copies dropped by "
      "event id, %lld other events), the last of them %.1f s after the run; %zu reservations "
      "acknowledged to the dialer\n",
      static_cast<long long>(statuses), pop_.agents.size(), static_cast<long long>(redelivered),
      static_cast<long long>(other), took, granted_.size());
  std::cout << absl::StrFormat(
      "  an agent holding two calls: %lld; RESERVED not from READY: %lld; ON_CALL not for the "
      "reserved call: %lld; one call on two agents: %lld; a version twice: %lld; acknowledged "
      "reservations missing from the log: %lld\n",
      static_cast<long long>(doubles), static_cast<long long>(reserved_not_ready),
      static_cast<long long>(confirm_other), static_cast<long long>(call_on_two),
      static_cast<long long>(duplicates), static_cast<long long>(acked_not_logged));
  std::cout << absl::StrFormat(
      "  status versions since the setup without their event: %lld (every change here is one "
      "watchers see, so each must have one)\n",
      static_cast<long long>(missing));
  for (const auto& e : gap_examples) std::cout << "    e.g. " << e << "\n";
  if (unknown_agent > 0) std::cout << "  events of agents not in the bench: " << unknown_agent << "\n";
  for (const auto& e : examples) std::cout << "    e.g. " << e << "\n";
  std::cout << "  violations: " << violations << (violations == 0 ? " (target: 0, met)" : " (target: 0, NOT met)")
            << "\n";
  return violations == 0;
}

// ---------------------------------------------------------------------------
// 3. Baseline: GetAgent at the same rate.

bool Bench::Baseline(int rate, int seconds) {
  InFlight inflight;
  Errors errors;
  std::mutex mu;
  Latencies lat;
  int64_t ok_count = 0;
  Queue queue;  // last: destroyed first
  std::mt19937_64 rng(4242);
  const auto cpu_before = SampleCpu();
  redis_stats.Reset();
  const absl::Time begin = Pace(rate, seconds, [&](int64_t i, absl::Time due) {
    v1::GetAgentRequest req;
    req.set_name(pop_.agents[rng() % pop_.agents.size()].name);
    inflight.Add();
    Call<v1::GetAgentRequest, v1::Agent>(stub(i), &AgentStateService::Stub::PrepareAsyncGetAgent, req,
                                         p_.service_secret(), due + absl::Seconds(10), queue.cq(),
                                         [&, due](const grpc::Status& st, const v1::Agent&) {
                                           const absl::Time done = absl::Now();
                                           {
                                             std::lock_guard<std::mutex> lock(mu);
                                             lat.us.push_back(absl::ToDoubleMicroseconds(done - due));
                                             if (st.ok()) ++ok_count;
                                           }
                                           if (!st.ok()) errors.Add("GetAgent", st);
                                           inflight.Done();
                                         });
  });
  inflight.WaitZero(absl::Seconds(30));
  const double wall = absl::ToDoubleSeconds(absl::Now() - begin);
  const auto cpu_after = SampleCpu();
  std::cout << absl::StrFormat(
      "\n== baseline: GetAgent offered %d/s for %d s (same server path: authentication, quota, "
      "executor; two Redis reads, no write, no fsync)\n",
      rate, seconds);
  std::cout << absl::StrFormat("  ok %lld (%.0f/s), errors %lld\n", static_cast<long long>(ok_count),
                               static_cast<double>(ok_count) / wall, static_cast<long long>(errors.count()));
  std::cout << "  GetAgent latency from scheduled start: " << lat.Line() << "\n";
  errors.Print("    ");
  PrintCpu(cpu_before, cpu_after, wall, ok_count, "call");
  redis_stats.Print(ok_count, "call");
  return true;
}

// ---------------------------------------------------------------------------
// 4. Watch fan-out.

// One WatchAgents stream read on a thread of its own; every status received
// is recorded with its arrival time.
class Watcher {
 public:
  struct Receipt {
    int agent;
    int64_t version;
    absl::Time at;
    bool snapshot;
  };
  Watcher(AgentStateService::Stub* stub, const std::string& secret, const std::string& parent,
          const std::unordered_map<std::string, int>& index, absl::Duration limit)
      : index_(index) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + limit));
    ctx_.AddMetadata("authorization", "Bearer " + secret);
    v1::WatchAgentsRequest req;
    req.set_parent(parent);
    reader_ = stub->WatchAgents(&ctx_, req);
    thread_ = std::thread([this] {
      v1::WatchAgentsResponse msg;
      while (reader_->Read(&msg)) {
        const absl::Time at = absl::Now();
        std::lock_guard<std::mutex> lock(mu_);
        if (msg.snapshot()) ++snapshots_;
        for (const auto& s : msg.statuses()) {
          auto it = index_.find(s.agent());
          if (it != index_.end()) receipts_.push_back({it->second, s.version(), at, msg.snapshot()});
        }
      }
      status_ = reader_->Finish();
    });
  }
  ~Watcher() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    ctx_.TryCancel();
    thread_.join();
  }
  int snapshots() {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshots_;
  }
  // After Stop.
  const std::vector<Receipt>& receipts() const { return receipts_; }
  const grpc::Status& status() const { return status_; }

 private:
  const std::unordered_map<std::string, int>& index_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchAgentsResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  int snapshots_ = 0;
  std::vector<Receipt> receipts_;
  grpc::Status status_;
};

bool Bench::Watch(int rate, int seconds) {
  const int n_watchers = absl::GetFlag(FLAGS_watchers);
  const int n_tenants = std::max(1, std::min(absl::GetFlag(FLAGS_watch_tenants),
                                             static_cast<int>(pop_.tenants.size())));
  // The changed agents: the watched tenants' own, interleaved.
  std::vector<int> agents;
  for (size_t k = 0; k < pop_.of_tenant[0].size(); ++k) {
    for (int t = 0; t < n_tenants; ++t) agents.push_back(pop_.of_tenant[static_cast<size_t>(t)][k]);
  }
  // Everyone ready to start with: a call an overloaded run left reserved or
  // on call is released or ended first.
  int repaired = 0;
  for (int a : agents) {
    const std::string& name = pop_.agents[static_cast<size_t>(a)].name;
    v1::GetAgentRequest get;
    get.set_name(name);
    v1::Agent agent;
    if (!stub(a)->GetAgent(TestPlatform::Context(p_.service_secret()).get(), get, &agent).ok()) continue;
    const v1::AgentStatus& st = agent.status();
    v1::AgentStatus out;
    if (st.state() == v1::STATE_RESERVED) {
      v1::ReleaseReservationRequest req;
      req.set_name(name);
      req.set_call_id(st.call_id());
      (void)stub(a)->ReleaseReservation(TestPlatform::Context(p_.service_secret()).get(), req, &out);
    } else if (st.state() == v1::STATE_ON_CALL) {
      v1::EndCallRequest req;
      req.set_name(name);
      req.set_call_id(st.call_id());
      (void)stub(a)->EndCall(TestPlatform::Context(p_.service_secret()).get(), req, &out);
    }
    if (st.state() != v1::STATE_READY) {
      ++repaired;
      v1::SetReadyRequest req;
      req.set_name(name);
      grpc::Status rs = stub(a)->SetReady(TestPlatform::Context(pop_.SecretFor(a)).get(), req, &out);
      if (!rs.ok()) std::cout << "  " << name << " not made ready: " << Describe(rs) << "\n";
    }
  }
  if (repaired > 0) std::cout << "  (" << repaired << " watched agents were made ready again first)\n";
  std::vector<std::string> supervisor;
  for (int t = 0; t < n_tenants; ++t) {
    auto s = p_.Credential(pop_.tenants[static_cast<size_t>(t)], tenancy::v1::ROLE_SUPERVISOR);
    if (!s.ok()) return Fail(s.status().ToString()) == 0;
    supervisor.push_back(*s);
  }
  std::vector<std::unique_ptr<Watcher>> watchers;
  std::vector<int> tenant_of;
  for (int w = 0; w < n_watchers; ++w) {
    const int t = w % n_tenants;
    tenant_of.push_back(t);
    watchers.push_back(std::make_unique<Watcher>(
        stub(w), supervisor[static_cast<size_t>(t)], "tenants/" + pop_.tenants[static_cast<size_t>(t)],
        pop_.index, absl::Seconds(seconds + 300)));
  }
  if (!TestPlatform::Eventually([&] {
        for (auto& w : watchers) {
          if (w->snapshots() < 1) return false;
        }
        return true;
      })) {
    return Fail("not every watcher got its first snapshot") == 0;
  }
  std::vector<int> initial_snapshots;
  for (auto& w : watchers) initial_snapshots.push_back(w->snapshots());

  struct Change {
    int agent;
    int64_t version;
    absl::Time state_time;
  };
  std::mutex mu;
  std::vector<Change> changes;
  std::vector<int64_t> last_version(pop_.agents.size(), 0);
  Latencies lat;
  Errors errors;
  InFlight inflight;
  int64_t unchanged = 0;
  Queue queue;  // last: destroyed first
  const auto cpu_before = SampleCpu();
  redis_stats.Reset();
  const absl::Time begin = Pace(rate, seconds, [&](int64_t i, absl::Time due) {
    const size_t k = static_cast<size_t>(i) % agents.size();
    const int a = agents[k];
    const bool not_ready = (static_cast<size_t>(i) / agents.size()) % 2 == 0;
    auto then = [&, due, a, not_ready](const grpc::Status& st, const v1::AgentStatus& s) {
      const absl::Time done = absl::Now();
      std::unique_lock<std::mutex> lock(mu);
      lat.us.push_back(absl::ToDoubleMicroseconds(done - due));
      if (st.ok()) {
        const v1::State want = not_ready ? v1::STATE_NOT_READY : v1::STATE_READY;
        if (s.state() == want && s.version() > last_version[static_cast<size_t>(a)]) {
          last_version[static_cast<size_t>(a)] = s.version();
          changes.push_back({a, s.version(), FromTs(s.state_time())});
        } else {
          ++unchanged;
        }
        lock.unlock();
      } else {
        lock.unlock();
        errors.Add(not_ready ? "SetNotReady" : "SetReady", st);
      }
      inflight.Done();
    };
    inflight.Add();
    if (not_ready) {
      v1::SetNotReadyRequest req;
      req.set_name(pop_.agents[static_cast<size_t>(a)].name);
      req.set_reason_code("break");
      Call<v1::SetNotReadyRequest, v1::AgentStatus>(stub(i), &AgentStateService::Stub::PrepareAsyncSetNotReady,
                                                    req, pop_.SecretFor(a), due + absl::Seconds(10),
                                                    queue.cq(), then);
    } else {
      v1::SetReadyRequest req;
      req.set_name(pop_.agents[static_cast<size_t>(a)].name);
      Call<v1::SetReadyRequest, v1::AgentStatus>(stub(i), &AgentStateService::Stub::PrepareAsyncSetReady,
                                                 req, pop_.SecretFor(a), due + absl::Seconds(10),
                                                 queue.cq(), then);
    }
  });
  inflight.WaitZero(absl::Seconds(30));
  const double wall = absl::ToDoubleSeconds(absl::Now() - begin);
  const auto cpu_after = SampleCpu();
  // Until every watcher has every change's agent at its newest version (or 30 s).
  std::vector<std::pair<int, int64_t>> newest;
  for (size_t a = 0; a < last_version.size(); ++a) {
    if (last_version[a] > 0) newest.push_back({static_cast<int>(a), last_version[a]});
  }
  const absl::Time settle_start = absl::Now();
  absl::SleepFor(absl::Seconds(2));
  for (auto& w : watchers) w->Stop();
  const double settle = absl::ToDoubleSeconds(absl::Now() - settle_start);

  // Per (change, watcher) pair.
  Latencies delay;
  int64_t superseded_by_change = 0, superseded_by_snapshot = 0, missed = 0, pairs = 0;
  int extra_snapshots = 0, ended = 0;
  std::vector<int64_t> missed_per_watcher;
  for (size_t w = 0; w < watchers.size(); ++w) {
    const int t = tenant_of[w];
    extra_snapshots += watchers[w]->snapshots() - initial_snapshots[w];
    if (!watchers[w]->status().ok() && watchers[w]->status().error_code() != grpc::StatusCode::CANCELLED) {
      ++ended;
      errors.Add("WatchAgents ended", watchers[w]->status());
    }
    // (agent, version) -> first arrival as a change; newest version by snapshot / change.
    std::unordered_map<uint64_t, absl::Time> got;
    std::unordered_map<int, int64_t> newest_change, newest_snapshot;
    for (const auto& r : watchers[w]->receipts()) {
      if (r.snapshot) {
        newest_snapshot[r.agent] = std::max(newest_snapshot[r.agent], r.version);
      } else {
        got.emplace((static_cast<uint64_t>(r.agent) << 32) | static_cast<uint64_t>(r.version), r.at);
        newest_change[r.agent] = std::max(newest_change[r.agent], r.version);
      }
    }
    int64_t m = 0;
    for (const auto& c : changes) {
      if (pop_.agents[static_cast<size_t>(c.agent)].tenant != t) continue;
      ++pairs;
      auto it = got.find((static_cast<uint64_t>(c.agent) << 32) | static_cast<uint64_t>(c.version));
      if (it != got.end()) {
        delay.us.push_back(absl::ToDoubleMicroseconds(it->second - c.state_time));
      } else if (newest_snapshot[c.agent] >= c.version) {
        ++superseded_by_snapshot;
      } else if (newest_change[c.agent] > c.version) {
        ++superseded_by_change;
      } else {
        ++m;
      }
    }
    missed += m;
    missed_per_watcher.push_back(m);
  }
  std::cout << absl::StrFormat(
      "\n== watch fan-out: %d WatchAgents streams (supervisors) on %d tenant(s) (%s), %zu agents "
      "toggled SetNotReady/SetReady at %d changes/s for %d s\n",
      n_watchers, n_tenants,
      n_tenants == 1 ? "every change reaches all of them"
                     : absl::StrCat("each change reaches ", n_watchers / n_tenants, " of them").c_str(),
      agents.size(), rate, seconds);
  std::cout << absl::StrFormat(
      "  changes acknowledged %zu (%.0f/s), calls that changed nothing %lld, errors %lld\n",
      changes.size(), static_cast<double>(changes.size()) / wall, static_cast<long long>(unchanged),
      static_cast<long long>(errors.count()));
  std::cout << "  state change latency (durable) from scheduled start: " << lat.Line() << "\n";
  std::cout << absl::StrFormat(
      "  delay change -> watcher (receive time - AgentStatus.state_time), %lld (change, watcher) "
      "pairs, %zu received as that change:\n    %s\n",
      static_cast<long long>(pairs), delay.us.size(), delay.Line());
  std::cout << absl::StrFormat(
      "  not received as such: %lld coalesced into a newer status of the agent (a watcher behind), "
      "%lld covered by a fresh snapshot, %lld missed (max per watcher %lld); fresh snapshots "
      "after the first: %d; streams ended early: %d; waited %.1f s after the last change\n",
      static_cast<long long>(superseded_by_change), static_cast<long long>(superseded_by_snapshot),
      static_cast<long long>(missed),
      static_cast<long long>(missed_per_watcher.empty()
                                 ? 0
                                 : *std::max_element(missed_per_watcher.begin(), missed_per_watcher.end())),
      extra_snapshots, ended, settle);
  errors.Print("    ");
  PrintCpu(cpu_before, cpu_after, wall, static_cast<int64_t>(changes.size()), "change");
  redis_stats.Print(static_cast<int64_t>(changes.size()), "change");
  const bool met = rate >= 500 && delay.Pct(0.99) <= 50000 && missed == 0 && !delay.us.empty();
  std::cout << absl::StrFormat("  target watch delay p99 <= 50 ms at 500 changes/s: %s (p99 %.1f ms at %d/s)\n",
                               met ? "met" : "NOT met", delay.Pct(0.99) / 1000, rate);
  return true;
}

// ---------------------------------------------------------------------------
// perf record of some children during the reservation phase (--perf_record).

ChildProcessList Bench::StartPerf() {
  ChildProcessList out;
  for (absl::string_view comm : absl::StrSplit(absl::GetFlag(FLAGS_perf_record), ',', absl::SkipEmpty())) {
    pid_t pid = ChildPid(std::string(comm));
    if (pid < 0) {
      std::cout << "  perf: no child process named " << comm << "\n";
      continue;
    }
    std::string file = absl::StrCat(p_.dir(), "/perf-", comm, ".data");
    auto proc = dialgrid::testing::ChildProcess::Spawn(
        {"perf", "record", "-g", "-F", "499", "-p", std::to_string(pid), "-o", file}, {},
        absl::StrCat(p_.dir(), "/perf-", comm, ".log"));
    if (proc.ok()) {
      std::cout << "  perf record of " << comm << " (pid " << pid << ") -> " << file << "\n";
      out.push_back(*std::move(proc));
    }
  }
  return out;
}

void Bench::StopPerf(ChildProcessList& perf) {
  for (auto& p : perf) {
    (void)p->Signal(SIGINT);
    (void)p->Wait(absl::Seconds(30));
  }
  perf.clear();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int rate = absl::GetFlag(FLAGS_rate), seconds = absl::GetFlag(FLAGS_seconds);
  const std::set<std::string> phases = absl::StrSplit(absl::GetFlag(FLAGS_phases), ',');
  std::cout << "agentstate_bench: " << absl::StrJoin(argv, argv + argc, " ") << "\n";
  std::cout << absl::StrFormat("machine: %s, %ld cores; load average before: %s\n", CpuModel(),
                               sysconf(_SC_NPROCESSORS_ONLN), LoadAverage());

  dialgrid::testing::TestPlatformOptions options;
  options.redis_args = {"--appendonly", "yes", "--appendfsync", absl::GetFlag(FLAGS_redis_appendfsync)};
  auto platform = TestPlatform::Start(options);
  if (!platform.ok()) return Fail(platform.status().ToString());
  TestPlatform& p = **platform;
  std::vector<std::string> service_args = {"--heartbeat_grace_seconds=86400"};
  for (absl::string_view a : absl::StrSplit(absl::GetFlag(FLAGS_agentstate_args), ',', absl::SkipEmpty())) {
    service_args.emplace_back(a);
  }
  absl::Status st = p.StartService("agentstate", DIALGRID_AGENTSTATE_BIN, service_args);
  if (!st.ok()) return Fail(st.ToString());
  std::cout << absl::StrFormat(
      "platform: redis-server (appendonly, appendfsync %s), dialgrid-broker, dialgrid-tenancy, "
      "dialgrid-agentstate %s; logs in %s\n",
      absl::GetFlag(FLAGS_redis_appendfsync), absl::StrJoin(service_args, " "), p.dir());

  std::vector<std::unique_ptr<AgentStateService::Stub>> stubs;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("bench-channel", i);  // separate connections
    stubs.push_back(AgentStateService::NewStub(
        grpc::CreateCustomChannel(p.Address("agentstate"), grpc::InsecureChannelCredentials(), args)));
  }
  Bench bench(p, std::move(stubs));
  redis::Options ro;
  if (redis::ParseAddress(p.redis().address(), ro).ok()) {
    auto client = redis::Client::Create(ro);
    if (client.ok()) bench.redis_stats.client = *std::move(client);
  }
  if (!bench.Setup()) return 1;

  bool ok = true;
  if (phases.count("reserve") > 0) {
    if (!bench.StartEventLog()) return 1;
    // Warm-up: connections, the credential caches, the scripts.
    if (!bench.Reserve(std::max(100, rate / 2), 2, /*quiet=*/true)) std::cout << "warm-up had errors\n";
    for (absl::string_view r : absl::StrSplit(absl::GetFlag(FLAGS_sweep), ',', absl::SkipEmpty())) {
      int sweep_rate = 0;
      if (!absl::SimpleAtoi(r, &sweep_rate) || sweep_rate <= 0) return Fail("--sweep: bad rate");
      std::cout << "\nload average before the reservation run: " << LoadAverage() << "\n";
      ok = bench.Reserve(sweep_rate, seconds, /*quiet=*/false) && ok;
    }
    std::cout << "\nload average before the reservation run: " << LoadAverage() << "\n";
    ok = bench.Reserve(rate, seconds, /*quiet=*/false) && ok;
    ok = bench.CheckEventLog() && ok;
  }
  if (phases.count("baseline") > 0) {
    std::cout << "\nload average before the baseline: " << LoadAverage() << "\n";
    ok = bench.Baseline(rate, seconds) && ok;
  }
  if (phases.count("watch") > 0) {
    std::cout << "\nload average before the watch run: " << LoadAverage() << "\n";
    ok = bench.Watch(absl::GetFlag(FLAGS_watch_rate), seconds) && ok;
  }
  std::cout << "\nload average after: " << LoadAverage() << "\n";
  return ok ? 0 : 2;
}
