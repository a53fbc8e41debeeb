// Service tests: the dialgrid-recording binary with tenancy, a real Redis and
// the broker (tests/fixtures/test_platform.h), called over loopback gRPC as
// the media server, an agent, a supervisor and an auditor would.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"
#include "services/common/kafka/event_publisher.h"
#include "services/common/kafka/kafka_producer.h"
#include "services/common/server/grpc_status.h"
#include "services/recording/domain/vault_crypto.h"
#include "services/recording/domain/wav.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::recording {
namespace {

namespace fs = std::filesystem;
using dialgrid::testing::TestPlatform;
using Stub = v1::RecordingService::Stub;

std::string ReasonOf(const grpc::Status& st) { return dialgrid::ReasonOf(FromGrpcStatus(st)); }

std::string Audio(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 13 + seed * 5 + i / 97) & 0xff);
  return s;
}

// GET /metrics of an admin address ("host:port"): the Prometheus text.
std::string Scrape(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    return "";
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// The value of the series `series` (name with its labels, as exposed) in a
// scrape; -1 when it is not there.
double Metric(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line, &v)) return v;
  }
  return -1;
}

class RecordingServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dialgrid::testing::TestPlatformOptions options;
    options.topics = {"tenancy", "recordings", "calls"};
    auto platform = TestPlatform::Start(options);
    ASSERT_TRUE(platform.ok()) << platform.status();
    p_ = platform->release();
    const std::string keys = p_->dir() + "/keks";
    const std::string data = p_->dir() + "/recordings";
    fs::create_directories(keys);
    fs::create_directories(data);
    for (const char* t : {"rec-a", "rec-b", "rec-small"}) {
      std::ofstream(absl::StrCat(keys, "/", t, ".2026-01.key")) << RandomHex(32) << "\n";
    }
    // Short lease, purge interval and minimum retention, so the sweep and
    // the purge act within a test.
    args_ = new std::vector<std::string>{"--kek_dir=" + keys, "--recordings_dir=" + data,
                                         "--upload_lease_seconds=2", "--purge_interval_seconds=1",
                                         "--min_retention_seconds=1", "--metrics_sweep_seconds=1"};
    ASSERT_TRUE(p_->StartService("recording", DIALGRID_RECORDING_BIN, *args_).ok())
        << "see " << p_->LogPath("recording");
    tenancy::v1::Quota quota;
    quota.set_max_agents(10);
    quota.set_max_requests_per_second(100000);
    quota.set_max_recording_storage_bytes(100 << 20);
    ASSERT_TRUE(p_->CreateTenant("rec-a", &quota).ok());
    ASSERT_TRUE(p_->CreateTenant("rec-b", &quota).ok());
    quota.set_max_recording_storage_bytes(20000);
    ASSERT_TRUE(p_->CreateTenant("rec-small", &quota).ok());
    admin_a_ = new std::string(*p_->Credential("rec-a", tenancy::v1::ROLE_TENANT_ADMIN));
    super_a_ = new std::string(*p_->Credential("rec-a", tenancy::v1::ROLE_SUPERVISOR));
    agent_a_ = new std::string(*p_->Credential("rec-a", tenancy::v1::ROLE_AGENT));
    integ_a_ = new std::string(*p_->Credential("rec-a", tenancy::v1::ROLE_INTEGRATION));
    admin_b_ = new std::string(*p_->Credential("rec-b", tenancy::v1::ROLE_TENANT_ADMIN));
    admin_small_ = new std::string(*p_->Credential("rec-small", tenancy::v1::ROLE_TENANT_ADMIN));
  }
  static void TearDownTestSuite() {
    delete p_;
    delete args_;
    for (auto* s : {admin_a_, super_a_, agent_a_, integ_a_, admin_b_, admin_small_}) delete s;
  }
  void SetUp() override { ASSERT_NE(admin_small_, nullptr) << "suite setup failed"; }

  static std::unique_ptr<Stub> stub() { return v1::RecordingService::NewStub(p_->Channel("recording")); }
  static auto Ctx(const std::string& secret) { return TestPlatform::Context(secret); }
  static const std::string& service() { return p_->service_secret(); }

  static v1::Recording Start(const std::string& tenant, const std::string& call,
                             const std::string& secret = "") {
    v1::StartRecordingRequest req;
    req.set_parent("tenants/" + tenant);
    req.mutable_recording()->set_call_id(call);
    req.mutable_recording()->set_audio_format(v1::AUDIO_FORMAT_PCM_S16LE_8K);
    req.mutable_recording()->set_agent(absl::StrCat("tenants/", tenant, "/agents/a1"));
    req.mutable_recording()->set_announcement_played(true);
    v1::Recording out;
    grpc::Status st = stub()->StartRecording(Ctx(secret.empty() ? service() : secret).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  static v1::Recording Get(const std::string& name, const std::string& secret = "") {
    v1::GetRecordingRequest req;
    req.set_name(name);
    v1::Recording out;
    grpc::Status st = stub()->GetRecording(Ctx(secret.empty() ? *admin_a_ : secret).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  static grpc::Status Download(const std::string& name, const std::string& secret,
                               std::string* audio, int64_t offset = 0, int64_t length = 0) {
    v1::DownloadRecordingRequest req;
    req.set_name(name);
    req.set_offset(offset);
    req.set_length(length);
    auto ctx = Ctx(secret);
    auto reader = stub()->DownloadRecording(ctx.get(), req);
    v1::DownloadRecordingResponse m;
    while (reader->Read(&m)) *audio += m.audio();
    return reader->Finish();
  }
  // Uploads `chunks` (sequence 1..n) in one stream.
  static grpc::Status Upload(const std::string& name, const std::vector<std::string>& chunks,
                             v1::UploadAudioResponse* resp, const std::string& secret = "") {
    auto ctx = Ctx(secret.empty() ? service() : secret);
    auto writer = stub()->UploadAudio(ctx.get(), resp);
    int64_t seq = 0;
    for (const auto& c : chunks) {
      v1::UploadAudioRequest m;
      if (seq == 0) m.set_recording(name);
      m.set_sequence(++seq);
      m.set_audio(c);
      if (!writer->Write(m)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  static grpc::Status PlaceHold(const std::string& tenant, v1::HoldScope scope,
                                const std::string& target, const std::string& secret,
                                v1::LegalHold* out) {
    v1::PlaceHoldRequest req;
    req.set_parent("tenants/" + tenant);
    req.mutable_hold()->set_scope(scope);
    req.mutable_hold()->set_target(target);
    req.mutable_hold()->set_reason("matter 12");
    return stub()->PlaceHold(Ctx(secret).get(), req, out);
  }
  static grpc::Status GetStatus(const std::string& name) {
    v1::GetRecordingRequest req;
    req.set_name(name);
    v1::Recording out;
    return stub()->GetRecording(Ctx(*admin_a_).get(), req, &out);
  }

  static TestPlatform* p_;
  static std::vector<std::string>* args_;
  static std::string *admin_a_, *super_a_, *agent_a_, *integ_a_, *admin_b_, *admin_small_;
};

TestPlatform* RecordingServiceTest::p_ = nullptr;
std::vector<std::string>* RecordingServiceTest::args_ = nullptr;
std::string* RecordingServiceTest::admin_a_ = nullptr;
std::string* RecordingServiceTest::super_a_ = nullptr;
std::string* RecordingServiceTest::agent_a_ = nullptr;
std::string* RecordingServiceTest::integ_a_ = nullptr;
std::string* RecordingServiceTest::admin_b_ = nullptr;
std::string* RecordingServiceTest::admin_small_ = nullptr;

TEST_F(RecordingServiceTest, ACallRecordedPausedForCardDataAndPlayedBack) {
  v1::Recording r = Start("rec-a", "call-1");
  EXPECT_EQ(r.state(), v1::STATE_RECORDING);
  EXPECT_TRUE(r.announcement_played());
  EXPECT_EQ(r.key_id(), "2026-01");

  // The stream stays open while the agent pauses and resumes: each step
  // waits until the service has taken the chunks in (last_sequence).
  v1::UploadAudioResponse resp;
  auto ctx = Ctx(service());
  auto writer = stub()->UploadAudio(ctx.get(), &resp);
  std::string expected;
  auto send = [&](int64_t seq, bool kept) {
    v1::UploadAudioRequest m;
    if (seq == 1) m.set_recording(r.name());
    m.set_sequence(seq);
    m.set_audio(Audio(16000, static_cast<int>(seq)));
    ASSERT_TRUE(writer->Write(m));
    if (kept) expected += m.audio();
  };
  auto taken = [&](int64_t seq) {
    return TestPlatform::Eventually([&] { return Get(r.name()).last_sequence() == seq; });
  };
  for (int64_t i = 1; i <= 10; ++i) send(i, true);
  ASSERT_TRUE(taken(10));
  v1::PauseRecordingRequest pause;
  pause.set_name(r.name());
  pause.set_reason("card-data");
  v1::Recording out;
  ASSERT_TRUE(stub()->PauseRecording(Ctx(*agent_a_).get(), pause, &out).ok());
  for (int64_t i = 11; i <= 14; ++i) send(i, false);
  ASSERT_TRUE(taken(14));
  v1::ResumeRecordingRequest resume;
  resume.set_name(r.name());
  ASSERT_TRUE(stub()->ResumeRecording(Ctx(*agent_a_).get(), resume, &out).ok());
  for (int64_t i = 15; i <= 20; ++i) send(i, true);
  send(3, false);  // a repeat: ignored
  writer->WritesDone();
  grpc::Status st = writer->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.chunks_stored(), 16);
  EXPECT_EQ(resp.chunks_discarded(), 4);
  EXPECT_EQ(resp.duplicates_ignored(), 1);

  v1::StopRecordingRequest stop;
  stop.set_name(r.name());
  ASSERT_TRUE(stub()->StopRecording(Ctx(service()).get(), stop, &out).ok());
  EXPECT_EQ(out.state(), v1::STATE_STOPPED);
  EXPECT_EQ(out.duration().seconds(), 16);
  EXPECT_EQ(out.sha256(), Sha256Hex(expected));
  ASSERT_EQ(out.gaps_size(), 1);
  EXPECT_EQ(out.gaps(0).audio_offset(), 10 * 16000);
  EXPECT_EQ(out.gaps(0).reason(), "card-data");
  EXPECT_NE(out.gaps(0).paused_by().find("tenants/rec-a/credentials/"), std::string::npos);

  std::string audio;
  st = Download(r.name(), *super_a_, &audio);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(audio == expected) << "playback differs from what was sent minus the pause";
  std::string part;
  ASSERT_TRUE(Download(r.name(), *admin_a_, &part, 100000, 50000).ok());
  EXPECT_EQ(part, expected.substr(100000, 50000));
  // Only entitled roles listen.
  std::string none;
  EXPECT_EQ(Download(r.name(), *agent_a_, &none).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Download(r.name(), *integ_a_, &none).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Download(r.name(), "", &none).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(none.empty());

  // The accesses are on the chain, which verifies.
  v1::VerifyRecordingsRequest verify;
  verify.set_parent("tenants/rec-a");
  verify.set_check_audio(true);
  v1::VerifyRecordingsResponse report;
  ASSERT_TRUE(stub()->VerifyRecordings(Ctx(*admin_a_).get(), verify, &report).ok());
  EXPECT_EQ(report.problems_size(), 0) << report.DebugString();
  EXPECT_GE(report.chain_entries(), 4);

  // The facts reach the "recordings" topic.
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"recordings"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  EXPECT_TRUE((*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& evs) {
    bool started = false, stored = false, accessed = false;
    for (const auto& e : evs) {
      if (e.subject() != r.name()) continue;
      started |= e.type() == "dialgrid.recording.v1.RecordingStarted";
      stored |= e.type() == "dialgrid.recording.v1.RecordingStored";
      accessed |= e.type() == "dialgrid.recording.v1.RecordingAccessed";
    }
    return started && stored && accessed;
  }));
}

TEST_F(RecordingServiceTest, ABrokenUploadLeavesTheRecordingIncomplete) {
  v1::Recording r = Start("rec-a", "call-broken");
  v1::UploadAudioResponse resp;
  auto ctx = Ctx(service());
  auto writer = stub()->UploadAudio(ctx.get(), &resp);
  for (int64_t i = 1; i <= 3; ++i) {
    v1::UploadAudioRequest m;
    if (i == 1) m.set_recording(r.name());
    m.set_sequence(i);
    m.set_audio(Audio(16000, static_cast<int>(i)));
    ASSERT_TRUE(writer->Write(m));
  }
  ASSERT_TRUE(TestPlatform::Eventually([&] { return Get(r.name()).last_sequence() == 3; }));
  ctx->TryCancel();  // the media server goes away mid-call
  (void)writer->Finish();
  ASSERT_TRUE(TestPlatform::Eventually([&] { return Get(r.name()).state() == v1::STATE_INCOMPLETE; }));
  v1::Recording after = Get(r.name());
  EXPECT_EQ(after.incomplete_reason(), "STREAM_BROKEN");
  EXPECT_EQ(after.audio_bytes(), 3 * 16000);
  std::string audio;
  ASSERT_TRUE(Download(r.name(), *admin_a_, &audio).ok());
  EXPECT_EQ(audio, Audio(16000, 1) + Audio(16000, 2) + Audio(16000, 3));
}

TEST_F(RecordingServiceTest, BadInputIsRefusedWithReasons) {
  v1::StartRecordingRequest req;
  req.set_parent("tenants/rec-a");
  req.mutable_recording()->set_call_id("c");
  v1::Recording out;
  grpc::Status st = stub()->StartRecording(Ctx(service()).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "UNSUPPORTED_AUDIO_FORMAT");
  req.mutable_recording()->set_audio_format(v1::AUDIO_FORMAT_G711_ALAW);
  req.mutable_recording()->set_campaign("tenants/rec-b/campaigns/x");
  st = stub()->StartRecording(Ctx(service()).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Out of order: the stream ends, the recording is INCOMPLETE.
  v1::Recording r = Start("rec-a", "call-ooo");
  v1::UploadAudioResponse resp;
  auto ctx = Ctx(service());
  auto writer = stub()->UploadAudio(ctx.get(), &resp);
  v1::UploadAudioRequest m;
  m.set_recording(r.name());
  m.set_sequence(1);
  m.set_audio("abcd");
  writer->Write(m);
  m.set_sequence(3);
  writer->Write(m);
  writer->WritesDone();
  st = writer->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(st), "OUT_OF_ORDER_CHUNK");
  EXPECT_EQ(Get(r.name()).state(), v1::STATE_INCOMPLETE);
  // The tenant's storage quota.
  v1::Recording small = Start("rec-small", "call-q", *admin_small_);
  st = Upload(small.name(), {Audio(15000, 1), Audio(15000, 2)}, &resp, *admin_small_);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(st), "QUOTA_EXCEEDED");
  // A pause needs a reason; only a recording can be paused.
  v1::PauseRecordingRequest pause;
  pause.set_name(r.name());
  st = stub()->PauseRecording(Ctx(*agent_a_).get(), pause, &out);
  EXPECT_EQ(ReasonOf(st), "FIELD_REQUIRED");
  pause.set_reason("card-data");
  st = stub()->PauseRecording(Ctx(*agent_a_).get(), pause, &out);
  EXPECT_EQ(ReasonOf(st), "RECORDING_NOT_ACTIVE");
  // An unknown recording of the caller's own tenant.
  v1::GetRecordingRequest get;
  get.set_name("tenants/rec-a/recordings/rnope");
  st = stub()->GetRecording(Ctx(*admin_a_).get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RecordingServiceTest, EveryRpcRefusesAnotherTenantsRecordings) {
  v1::Recording b = Start("rec-b", "call-b", *admin_b_);
  const std::string other = b.name();
  const std::string svc = "/dialgrid.recording.v1.RecordingService/";
  v1::LegalHold hold_b;
  ASSERT_TRUE(PlaceHold("rec-b", v1::HOLD_SCOPE_CALL, "call-b", *admin_b_, &hold_b).ok());
  const std::vector<dialgrid::testing::IsolationCase> cases = {
      {svc + "StartRecording",
       "parent: 'tenants/rec-b' recording { call_id: 'x' audio_format: AUDIO_FORMAT_G711_MULAW }"},
      {svc + "UploadAudio", "recording: '" + other + "' sequence: 1 audio: 'abc'"},
      {svc + "PauseRecording", "name: '" + other + "' reason: 'card-data'"},
      {svc + "ResumeRecording", "name: '" + other + "'"},
      {svc + "StopRecording", "name: '" + other + "'"},
      {svc + "GetRecording", "name: '" + other + "'"},
      {svc + "GetRecording", "name: 'tenants/rec-b/recordings/rnone'"},
      {svc + "ListRecordings", "parent: 'tenants/rec-b'"},
      {svc + "DownloadRecording", "name: '" + other + "'"},
      {svc + "VerifyRecordings", "parent: 'tenants/rec-b'"},
      {svc + "RewrapDataKeys", "parent: 'tenants/rec-b'"},
      {svc + "SetRetentionPolicy",
       "policy { name: 'tenants/rec-b/retentionPolicies/default' retention { seconds: 86400 } }"},
      {svc + "GetRetentionPolicy", "name: 'tenants/rec-b/retentionPolicies/default'"},
      {svc + "GetRetentionPolicy", "name: 'tenants/rec-b/retentionPolicies/c1'"},
      {svc + "PlaceHold",
       "parent: 'tenants/rec-b' hold { scope: HOLD_SCOPE_CALL target: 'call-b' reason: 'x' }"},
      {svc + "PlaceHold", "parent: 'tenants/rec-a' hold { scope: HOLD_SCOPE_RECORDING target: '" +
                              other + "' reason: 'x' }"},
      {svc + "ReleaseHold", "name: '" + hold_b.name() + "' reason: 'x'"},
      {svc + "ReleaseHold", "name: 'tenants/rec-b/legalHolds/hnone' reason: 'x'"},
      {svc + "ListHolds", "parent: 'tenants/rec-b'"},
      {svc + "EraseContactRecordings",
       "parent: 'tenants/rec-b' contact: 'tenants/rec-b/contactLists/l/contacts/c' reason: 'x'"},
      {svc + "EraseContactRecordings",
       "parent: 'tenants/rec-a' contact: 'tenants/rec-b/contactLists/l/contacts/c' reason: 'x'"},
      {svc + "GetRecordingUsage", "tenant: 'tenants/rec-b'"},
  };
  for (const auto& m : dialgrid::testing::MethodsWithoutCase(
           *v1::Recording::descriptor()->file()->FindServiceByName("RecordingService"), cases)) {
    ADD_FAILURE() << "no isolation case for " << m;
  }
  for (const auto& secret : {*admin_a_, *super_a_, *agent_a_, *integ_a_}) {
    for (const auto& pr : dialgrid::testing::CheckTenantIsolation(p_->Channel("recording"), secret, cases)) {
      ADD_FAILURE() << pr;
    }
  }
  // The other tenant's recording is untouched.
  v1::Recording still = Get(other, *admin_b_);
  EXPECT_EQ(still.state(), v1::STATE_RECORDING);
  EXPECT_EQ(still.last_sequence(), 0);
  // And so is its hold; the policy was never set.
  v1::ListHoldsRequest list;
  list.set_parent("tenants/rec-b");
  v1::ListHoldsResponse holds;
  ASSERT_TRUE(stub()->ListHolds(Ctx(*admin_b_).get(), list, &holds).ok());
  ASSERT_EQ(holds.holds_size(), 1);
  EXPECT_EQ(holds.holds(0).state(), v1::HOLD_STATE_ACTIVE);
  v1::GetRetentionPolicyRequest get;
  get.set_name("tenants/rec-b/retentionPolicies/default");
  v1::RetentionPolicy policy;
  ASSERT_TRUE(stub()->GetRetentionPolicy(Ctx(*admin_b_).get(), get, &policy).ok());
  EXPECT_TRUE(policy.inherited());
}

TEST_F(RecordingServiceTest, HoldsAndPoliciesRefuseUndefinedEnumsAndTheWrongRoles) {
  v1::LegalHold out;
  grpc::Status st = PlaceHold("rec-a", static_cast<v1::HoldScope>(99), "call-1", *admin_a_, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE");
  st = PlaceHold("rec-a", v1::HOLD_SCOPE_UNSPECIFIED, "call-1", *admin_a_, &out);
  EXPECT_EQ(ReasonOf(st), "FIELD_REQUIRED");
  v1::ListHoldsRequest list;
  list.set_parent("tenants/rec-a");
  list.set_state(static_cast<v1::HoldState>(42));
  v1::ListHoldsResponse holds;
  st = stub()->ListHolds(Ctx(*admin_a_).get(), list, &holds);
  EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE");
  // Agents and supervisors place no holds; only admins set policies.
  st = PlaceHold("rec-a", v1::HOLD_SCOPE_CALL, "call-1", *agent_a_, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  st = PlaceHold("rec-a", v1::HOLD_SCOPE_CALL, "call-1", *super_a_, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::SetRetentionPolicyRequest set;
  set.mutable_policy()->set_name("tenants/rec-a/retentionPolicies/default");
  set.mutable_policy()->mutable_retention()->set_seconds(86400 * 30);
  v1::RetentionPolicy policy;
  st = stub()->SetRetentionPolicy(Ctx(*integ_a_).get(), set, &policy);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  set.mutable_policy()->mutable_retention()->set_seconds(0);
  st = stub()->SetRetentionPolicy(Ctx(*admin_a_).get(), set, &policy);
  EXPECT_EQ(ReasonOf(st), "INVALID_RETENTION");
}

TEST_F(RecordingServiceTest, ThePurgeJobDeletesExpiredRecordingsAndSparesHeldOnes) {
  v1::SetRetentionPolicyRequest set;
  set.mutable_policy()->set_name("tenants/rec-a/retentionPolicies/shortlived");
  set.mutable_policy()->mutable_retention()->set_seconds(2);
  v1::RetentionPolicy policy;
  grpc::Status st = stub()->SetRetentionPolicy(Ctx(*admin_a_).get(), set, &policy);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(policy.retention().seconds(), 2);
  v1::LegalHold hold;
  ASSERT_TRUE(PlaceHold("rec-a", v1::HOLD_SCOPE_CALL, "call-kept", *admin_a_, &hold).ok());
  auto start = [&](const std::string& call) {
    v1::StartRecordingRequest req;
    req.set_parent("tenants/rec-a");
    req.mutable_recording()->set_call_id(call);
    req.mutable_recording()->set_audio_format(v1::AUDIO_FORMAT_G711_MULAW);
    req.mutable_recording()->set_campaign("tenants/rec-a/campaigns/shortlived");
    v1::Recording out;
    grpc::Status s2 = stub()->StartRecording(Ctx(service()).get(), req, &out);
    EXPECT_TRUE(s2.ok()) << s2.error_message();
    v1::UploadAudioResponse resp;
    EXPECT_TRUE(Upload(out.name(), {Audio(8000, 1)}, &resp).ok());
    return out;
  };
  // The held one expires first: the purge run that deletes the other has
  // looked at it (the expiry index is taken in order).
  v1::Recording kept = start("call-kept");
  v1::Recording doomed = start("call-doomed");
  ASSERT_TRUE(TestPlatform::Eventually(
      [&] { return GetStatus(doomed.name()).error_code() == grpc::StatusCode::NOT_FOUND; }))
      << "the purge did not delete the expired recording";
  v1::Recording still = Get(kept.name());
  EXPECT_TRUE(still.legal_hold());
  ASSERT_EQ(still.holds_size(), 1);
  EXPECT_EQ(still.holds(0), hold.name());
  std::string audio;
  EXPECT_TRUE(Download(kept.name(), *admin_a_, &audio).ok());
  v1::VerifyRecordingsRequest verify;
  verify.set_parent("tenants/rec-a");
  v1::VerifyRecordingsResponse report;
  ASSERT_TRUE(stub()->VerifyRecordings(Ctx(*admin_a_).get(), verify, &report).ok());
  EXPECT_EQ(report.problems_size(), 0) << report.DebugString();
  // The deletion and the hold reach the topic.
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(), {"recordings"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  EXPECT_TRUE((*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& evs) {
    bool deleted = false, placed = false;
    for (const auto& e : evs) {
      deleted |= e.subject() == doomed.name() && e.type() == "dialgrid.recording.v1.RecordingDeleted";
      placed |= e.subject() == hold.name() && e.type() == "dialgrid.recording.v1.LegalHoldPlaced";
    }
    return deleted && placed;
  }));
}

// Usage for billing: a tenant of its own, so every figure is what this test did.
TEST_F(RecordingServiceTest, RecordingUsageCountsWhatTheTenantDid) {
  const std::string tenant = "rec-usage";
  std::ofstream(absl::StrCat(p_->dir(), "/keks/", tenant, ".2026-01.key")) << RandomHex(32) << "\n";
  tenancy::v1::Quota quota;
  quota.set_max_agents(10);
  quota.set_max_requests_per_second(100000);
  quota.set_max_recording_storage_bytes(100 << 20);
  ASSERT_TRUE(p_->CreateTenant(tenant, &quota).ok());
  const std::string admin = *p_->Credential(tenant, tenancy::v1::ROLE_TENANT_ADMIN);
  const std::string supervisor = *p_->Credential(tenant, tenancy::v1::ROLE_SUPERVISOR);
  auto usage = [&](const std::string& secret, v1::RecordingUsage* out,
                   const google::protobuf::Timestamp* start = nullptr,
                   const google::protobuf::Timestamp* end = nullptr) {
    v1::GetRecordingUsageRequest req;
    req.set_tenant("tenants/" + tenant);
    if (start != nullptr) *req.mutable_start_time() = *start;
    if (end != nullptr) *req.mutable_end_time() = *end;
    return stub()->GetRecordingUsage(Ctx(secret).get(), req, out);
  };
  v1::RecordingUsage u;
  grpc::Status st = usage(admin, &u);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(u.recordings_started(), 0);
  EXPECT_EQ(u.stored_bytes(), 0);

  // Recordings of campaign "short" expire after 2 s; the others after a year.
  v1::SetRetentionPolicyRequest set;
  set.mutable_policy()->set_name(absl::StrCat("tenants/", tenant, "/retentionPolicies/short"));
  set.mutable_policy()->mutable_retention()->set_seconds(2);
  v1::RetentionPolicy policy;
  ASSERT_TRUE(stub()->SetRetentionPolicy(Ctx(admin).get(), set, &policy).ok());
  const std::string contact = absl::StrCat("tenants/", tenant, "/contactLists/l/contacts/c1");
  auto record = [&](const std::string& call, v1::AudioFormat format, const std::string& campaign,
                    const std::vector<std::string>& chunks, bool of_contact) {
    v1::StartRecordingRequest req;
    req.set_parent("tenants/" + tenant);
    req.mutable_recording()->set_call_id(call);
    req.mutable_recording()->set_audio_format(format);
    if (of_contact) req.mutable_recording()->set_contact(contact);
    if (!campaign.empty()) {
      req.mutable_recording()->set_campaign(absl::StrCat("tenants/", tenant, "/campaigns/", campaign));
    }
    v1::Recording out;
    grpc::Status s = stub()->StartRecording(Ctx(service()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::UploadAudioResponse resp;
    s = Upload(out.name(), chunks, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.recording();
  };
  v1::LegalHold held_call, held_expired;
  ASSERT_TRUE(PlaceHold(tenant, v1::HOLD_SCOPE_CALL, "u-held", admin, &held_call).ok());
  ASSERT_TRUE(PlaceHold(tenant, v1::HOLD_SCOPE_CALL, "u-expired-held", admin, &held_expired).ok());
  // The contact's: 2 s of 8 kHz PCM in two chunks (erased), 3 s of mu-law
  // (held: kept by the erasure). Campaign "short": 1 s of PCM (purged), 1 s
  // of PCM expired but held.
  v1::Recording erased = record("u-erased", v1::AUDIO_FORMAT_PCM_S16LE_8K, "",
                                {Audio(16000, 1), Audio(16000, 2)}, true);
  v1::Recording kept = record("u-held", v1::AUDIO_FORMAT_G711_MULAW, "", {Audio(24000, 3)}, true);
  v1::Recording purged = record("u-purged", v1::AUDIO_FORMAT_PCM_S16LE_8K, "short",
                                {Audio(16000, 4)}, false);
  v1::Recording expired = record("u-expired-held", v1::AUDIO_FORMAT_PCM_S16LE_8K, "short",
                                 {Audio(16000, 5)}, false);
  ASSERT_EQ(kept.stored_bytes(), FileSizeFor(24000));
  ASSERT_EQ(expired.stored_bytes(), FileSizeFor(16000));

  v1::EraseContactRecordingsRequest erase;
  erase.set_parent("tenants/" + tenant);
  erase.set_contact(contact);
  erase.set_reason("data subject request");
  v1::EraseContactRecordingsResponse erase_resp;
  st = stub()->EraseContactRecordings(Ctx(admin).get(), erase, &erase_resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(erase_resp.erased_size(), 1) << erase_resp.DebugString();
  ASSERT_EQ(erase_resp.kept_size(), 1);
  // The purge deletes the expired recording and keeps the held one.
  auto gone = [&](const std::string& name) {
    v1::GetRecordingRequest get;
    get.set_name(name);
    v1::Recording out;
    return stub()->GetRecording(Ctx(admin).get(), get, &out).error_code() ==
           grpc::StatusCode::NOT_FOUND;
  };
  ASSERT_TRUE(TestPlatform::Eventually([&] { return gone(purged.name()); }))
      << "the purge did not delete the expired recording";
  ASSERT_TRUE(TestPlatform::Eventually([&] {
    return usage(admin, &u).ok() && u.held_past_retention() == 1;
  })) << u.DebugString();
  EXPECT_TRUE(gone(erased.name()));
  EXPECT_FALSE(gone(expired.name()));

  // Since the first recording, and in a range of whole UTC days around now.
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  auto midnight = [](absl::CivilDay d) {
    google::protobuf::Timestamp t;
    t.set_seconds(absl::ToUnixSeconds(absl::FromCivil(d, absl::UTCTimeZone())));
    return t;
  };
  const google::protobuf::Timestamp from = midnight(today - 1), to = midnight(today + 2);
  v1::RecordingUsage ranged;
  st = usage(p_->admin_secret(), &ranged, &from, &to);
  ASSERT_TRUE(st.ok()) << st.error_message();  // the vendor reads any tenant's
  for (const v1::RecordingUsage* r : {&u, &ranged}) {
    EXPECT_EQ(r->recordings_started(), 4) << r->DebugString();
    EXPECT_EQ(r->recordings_stored(), 4);
    EXPECT_EQ(r->recorded_audio().seconds(), 2 + 3 + 1 + 1);
    EXPECT_EQ(r->recorded_audio().nanos(), 0);
    EXPECT_EQ(r->ingested_bytes(), 32000 + 24000 + 16000 + 16000);
    EXPECT_EQ(r->recordings_purged(), 1);
    EXPECT_EQ(r->recordings_erased(), 1);
    EXPECT_EQ(r->recordings(), 2);
    EXPECT_EQ(r->stored_bytes(), FileSizeFor(24000) + FileSizeFor(16000));
    EXPECT_EQ(r->active_legal_holds(), 2);
    EXPECT_EQ(r->held_past_retention(), 1);
  }
  EXPECT_EQ(ranged.start_time().seconds(), from.seconds());
  // Days before anything happened: nothing in the period, the same now.
  const google::protobuf::Timestamp old_from = midnight(today - 10), old_to = midnight(today - 9);
  v1::RecordingUsage old;
  ASSERT_TRUE(usage(admin, &old, &old_from, &old_to).ok());
  EXPECT_EQ(old.recordings_started(), 0);
  EXPECT_EQ(old.ingested_bytes(), 0);
  EXPECT_EQ(old.recorded_audio().seconds(), 0);
  EXPECT_EQ(old.recordings(), 2);
  // Releasing a hold lets the expired recording go; the counters follow.
  v1::ReleaseHoldRequest release;
  release.set_name(held_expired.name());
  release.set_reason("matter closed");
  v1::LegalHold released;
  ASSERT_TRUE(stub()->ReleaseHold(Ctx(admin).get(), release, &released).ok());
  ASSERT_TRUE(usage(admin, &u).ok());
  EXPECT_EQ(u.active_legal_holds(), 1);

  // Another tenant's admin, and a role not entitled: PERMISSION_DENIED.
  st = usage(*admin_b_, &u);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "TENANT_MISMATCH");
  st = usage(supervisor, &u);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Bad ranges: INVALID_ARGUMENT USAGE_RANGE_INVALID.
  google::protobuf::Timestamp not_midnight = from;
  not_midnight.set_seconds(from.seconds() + 3600);
  const google::protobuf::Timestamp far = midnight(today + 500);
  const std::vector<std::pair<const google::protobuf::Timestamp*, const google::protobuf::Timestamp*>>
      bad = {{&from, nullptr}, {nullptr, &to}, {&not_midnight, &to}, {&from, &not_midnight},
             {&to, &from}, {&from, &from}, {&from, &far}};
  for (const auto& [a, b] : bad) {
    st = usage(admin, &u, a, b);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << (a ? a->seconds() : -1) << " " << (b ? b->seconds() : -1);
    EXPECT_EQ(ReasonOf(st), "USAGE_RANGE_INVALID");
  }
  // All tenants' usage as gauges, without a tenant label.
  const std::string admin_address = p_->AdminAddress("recording");
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    const std::string scrape = Scrape(admin_address);
    return Metric(scrape, "dialgrid_recording_usage_recordings") >= 2 &&
           Metric(scrape, "dialgrid_recording_usage_stored_bytes") >=
               FileSizeFor(24000) + FileSizeFor(16000) &&
           Metric(scrape, "dialgrid_recording_usage_audio_seconds") >= 7 &&
           Metric(scrape, "dialgrid_recording_usage_legal_holds") >= 1;
  }));
}

TEST_F(RecordingServiceTest, AReplicaKilledMidStreamLeavesTheRecordingIncompleteWithWhatItStored) {
  ASSERT_TRUE(p_->StartService("recording-doomed", DIALGRID_RECORDING_BIN, *args_).ok())
      << "see " << p_->LogPath("recording-doomed");
  v1::Recording r = Start("rec-a", "call-killed");
  v1::UploadAudioResponse resp;
  auto ctx = Ctx(service());
  auto writer =
      v1::RecordingService::NewStub(p_->Channel("recording-doomed"))->UploadAudio(ctx.get(), &resp);
  std::string sent;
  for (int64_t i = 1; i <= 3; ++i) {
    v1::UploadAudioRequest m;
    if (i == 1) m.set_recording(r.name());
    m.set_sequence(i);
    m.set_audio(Audio(30000, static_cast<int>(i)));
    sent += m.audio();
    ASSERT_TRUE(writer->Write(m));
  }
  ASSERT_TRUE(TestPlatform::Eventually([&] { return Get(r.name()).last_sequence() == 3; }));
  ASSERT_TRUE(p_->Process("recording-doomed")->Signal(SIGKILL).ok());
  ASSERT_TRUE(p_->Process("recording-doomed")->Wait(absl::Seconds(10)).ok());
  ctx->TryCancel();
  (void)writer->Finish();
  // The surviving replica sweeps it after the lease (2 s here).
  ASSERT_TRUE(TestPlatform::Eventually([&] { return Get(r.name()).state() == v1::STATE_INCOMPLETE; }))
      << Get(r.name()).DebugString();
  v1::Recording after = Get(r.name());
  EXPECT_EQ(after.incomplete_reason(), "REPLICA_LOST");
  EXPECT_TRUE(after.audio_stored());
  EXPECT_EQ(after.audio_bytes(), 65536);  // the one whole segment it had sealed
  EXPECT_EQ(after.lost_audio_bytes(), 90000 - 65536);
  std::string audio;
  grpc::Status st = Download(r.name(), *admin_a_, &audio);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(audio == sent.substr(0, 65536));
  // Its temporary file is gone.
  int temporary = 0;
  for (const auto& e : fs::recursive_directory_iterator(p_->dir() + "/recordings")) {
    temporary += e.path().filename().string().rfind(".", 0) == 0;
  }
  EXPECT_EQ(temporary, 0);
  v1::VerifyRecordingsRequest verify;
  verify.set_parent("tenants/rec-a");
  verify.set_check_audio(true);
  v1::VerifyRecordingsResponse report;
  ASSERT_TRUE(stub()->VerifyRecordings(Ctx(*admin_a_).get(), verify, &report).ok());
  EXPECT_EQ(report.problems_size(), 0) << report.DebugString();
}

}  // namespace
}  // namespace dialgrid::recording

namespace dialgrid::recording {
namespace {

TEST_F(RecordingServiceTest, TheVaultsMetricsCountWhatItDid) {
  const std::string admin = p_->AdminAddress("recording");
  const std::string before = Scrape(admin);
  auto delta = [&](const std::string& after, const std::string& series) {
    return Metric(after, series) - Metric(before, series);
  };
  // Every series is there from the start, without per-tenant labels.
  for (const char* series :
       {"dialgrid_recording_recordings_started_total",
        "dialgrid_recording_chunks_total{result=\"duplicate\"}",
        "dialgrid_recording_uploads_ended_total{result=\"not_stored\"}",
        "dialgrid_recording_verify_problems_total{kind=\"file_missing\"}",
        "dialgrid_recording_deleted_total{cause=\"erasure\"}", "dialgrid_recording_uploads_open",
        "dialgrid_recording_storage_bytes", "dialgrid_recording_playback_tampered_total"}) {
    EXPECT_GE(Metric(before, series), 0) << series;
  }
  EXPECT_EQ(before.find("tenant="), std::string::npos);

  v1::Recording r = Start("rec-b", "call-metrics", *admin_b_);
  v1::UploadAudioResponse resp;
  {
    auto ctx = Ctx(*admin_b_);
    auto writer = stub()->UploadAudio(ctx.get(), &resp);
    for (int64_t seq : {1, 2, 2}) {  // the second 2 is a repeat
      v1::UploadAudioRequest m;
      if (seq == 1) m.set_recording(r.name());
      m.set_sequence(seq);
      m.set_audio(Audio(1000, static_cast<int>(seq)));
      ASSERT_TRUE(writer->Write(m));
    }
    // Open while the stream is: the gauge shows this replica's live upload.
    ASSERT_TRUE(TestPlatform::Eventually([&] {
      return Metric(Scrape(admin), "dialgrid_recording_uploads_open") >= 1;
    }));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  v1::StopRecordingRequest stop;
  stop.set_name(r.name());
  v1::Recording stopped;
  ASSERT_TRUE(stub()->StopRecording(Ctx(*admin_b_).get(), stop, &stopped).ok());
  std::string audio;
  ASSERT_TRUE(Download(r.name(), *admin_b_, &audio).ok());
  ASSERT_EQ(audio.size(), 2000u);

  // A second recording whose file goes missing: verify names it.
  v1::Recording gone = Start("rec-b", "call-metrics-2", *admin_b_);
  ASSERT_TRUE(Upload(gone.name(), {Audio(500, 9)}, &resp, *admin_b_).ok());
  const std::string id = gone.name().substr(gone.name().rfind('/') + 1);
  ASSERT_TRUE(fs::remove(p_->dir() + "/recordings/rec-b/" + id + ".rec"));
  v1::VerifyRecordingsRequest verify;
  verify.set_parent("tenants/rec-b");
  v1::VerifyRecordingsResponse report;
  ASSERT_TRUE(stub()->VerifyRecordings(Ctx(*admin_b_).get(), verify, &report).ok());
  int missing = 0;
  for (const auto& problem : report.problems()) {
    missing += problem.kind() == v1::VerifyProblem::KIND_FILE_MISSING ? 1 : 0;
  }
  ASSERT_GE(missing, 1);

  const std::string after = Scrape(admin);
  EXPECT_EQ(delta(after, "dialgrid_recording_recordings_started_total"), 2);
  EXPECT_EQ(delta(after, "dialgrid_recording_chunks_total{result=\"stored\"}"), 3);
  EXPECT_EQ(delta(after, "dialgrid_recording_chunks_total{result=\"duplicate\"}"), 1);
  EXPECT_EQ(delta(after, "dialgrid_recording_ingested_bytes_total"), 2500);
  EXPECT_EQ(delta(after, "dialgrid_recording_chunk_duration_seconds_count"), 4);
  EXPECT_EQ(delta(after, "dialgrid_recording_uploads_ended_total{result=\"complete\"}"), 2);
  EXPECT_EQ(delta(after, "dialgrid_recording_state_changes_total{transition=\"stop\"}"), 1);
  EXPECT_EQ(delta(after, "dialgrid_recording_playbacks_total"), 1);
  EXPECT_EQ(delta(after, "dialgrid_recording_served_bytes_total"), 2000);
  EXPECT_EQ(delta(after, "dialgrid_recording_verify_problems_total{kind=\"file_missing\"}"),
            missing);
  EXPECT_TRUE(TestPlatform::Eventually(
      [&] { return Metric(Scrape(admin), "dialgrid_recording_uploads_open") == 0; }));
  // The storage gauge follows the quota counters (swept every second here).
  ASSERT_TRUE(TestPlatform::Eventually([&] {
    return Metric(Scrape(admin), "dialgrid_recording_storage_bytes") >=
           static_cast<double>(stopped.stored_bytes());
  }));
}

}  // namespace
}  // namespace dialgrid::recording

namespace dialgrid::recording {
namespace {

struct ToolRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs dialgrid-recording-verify with `args` (and nothing in the environment
// that gives it a credential).
ToolRun RunVerifyTool(const std::string& args) {
  ToolRun run;
  const std::string cmd =
      absl::StrCat("env -u DIALGRID_CREDENTIAL ", DIALGRID_RECORDING_VERIFY_BIN, " ", args, " 2>&1");
  FILE* out = popen(cmd.c_str(), "r");
  if (out == nullptr) return run;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), out)) > 0;) run.output.append(buf, n);
  const int status = pclose(out);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST_F(RecordingServiceTest, TheVerifyToolNamesATamperedFileAndExitsNonZero) {
  // A tenant of its own, so nothing another test did is in its chain.
  const std::string keys = p_->dir() + "/keks";
  std::ofstream(keys + "/rec-verify.2026-01.key") << RandomHex(32) << "\n";
  tenancy::v1::Quota quota;
  quota.set_max_agents(10);
  quota.set_max_requests_per_second(100000);
  quota.set_max_recording_storage_bytes(100 << 20);
  ASSERT_TRUE(p_->CreateTenant("rec-verify", &quota).ok());
  auto admin = p_->Credential("rec-verify", tenancy::v1::ROLE_TENANT_ADMIN);
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string secret_file = p_->dir() + "/verify-admin.secret";
  std::ofstream(secret_file) << *admin << "\n";
  const std::string common = absl::StrCat("--target ", p_->Address("recording"),
                                          " --tenant rec-verify --timeout_seconds 60");

  std::vector<v1::Recording> recs;
  for (int i = 0; i < 2; ++i) {
    recs.push_back(Start("rec-verify", absl::StrCat("call-v", i), *admin));
    v1::UploadAudioResponse resp;
    ASSERT_TRUE(Upload(recs.back().name(), {Audio(70000, i), Audio(3000, i + 1)}, &resp, *admin).ok());
  }
  ToolRun clean = RunVerifyTool(absl::StrCat(common, " --credential_file ", secret_file,
                                             " --check_audio"));
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_NE(clean.output.find("tenants/rec-verify: 2 recordings checked"), std::string::npos)
      << clean.output;
  EXPECT_NE(clean.output.find("no problems"), std::string::npos) << clean.output;

  // One byte of the second recording's ciphertext flipped on disk.
  const std::string id = recs[1].name().substr(recs[1].name().rfind('/') + 1);
  const std::string file = p_->dir() + "/recordings/rec-verify/" + id + ".rec";
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << file;
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(100);
    f.write(&c, 1);
  }
  ToolRun tampered = RunVerifyTool(absl::StrCat(common, " --credential_file ", secret_file,
                                                " --check_audio"));
  EXPECT_EQ(tampered.exit_code, 1) << tampered.output;
  EXPECT_NE(tampered.output.find("FILE_ALTERED\t" + recs[1].name()), std::string::npos)
      << tampered.output;
  EXPECT_NE(tampered.output.find("AUDIO_CORRUPT\t" + recs[1].name()), std::string::npos)
      << tampered.output;
  EXPECT_EQ(tampered.output.find(recs[0].name()), std::string::npos) << tampered.output;

  // JSON for anchoring the chain head elsewhere: the same verdict.
  ToolRun json = RunVerifyTool(absl::StrCat(common, " --credential_file ", secret_file, " --json"));
  EXPECT_EQ(json.exit_code, 1) << json.output;
  EXPECT_NE(json.output.find("\"KIND_FILE_ALTERED\""), std::string::npos) << json.output;

  // Another tenant's admin, and no credential at all: the call fails (2).
  const std::string other_file = p_->dir() + "/verify-other.secret";
  std::ofstream(other_file) << *admin_b_ << "\n";
  ToolRun denied = RunVerifyTool(absl::StrCat(common, " --credential_file ", other_file));
  EXPECT_EQ(denied.exit_code, 2) << denied.output;
  EXPECT_NE(denied.output.find("PERMISSION_DENIED TENANT_MISMATCH"), std::string::npos)
      << denied.output;
  ToolRun anonymous = RunVerifyTool(common);
  EXPECT_EQ(anonymous.exit_code, 2) << anonymous.output;
  ToolRun usage = RunVerifyTool("--tenant rec-verify");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace dialgrid::recording

namespace dialgrid::recording {
namespace {

TEST_F(RecordingServiceTest, AWavUploadIsCheckedAndPlaysBackAsWav) {
  v1::Recording r = Start("rec-a", "call-wav");  // PCM 16-bit 8 kHz
  const std::string audio = Audio(70000, 4);     // more than one segment
  const std::string header = WavHeader(1, 0);    // a live writer's: data size unknown
  v1::UploadAudioResponse resp;
  {
    auto ctx = Ctx(service());
    auto writer = stub()->UploadAudio(ctx.get(), &resp);
    v1::UploadAudioRequest m;
    m.set_recording(r.name());
    m.set_container(v1::AUDIO_CONTAINER_WAV);
    m.set_sequence(1);
    m.set_audio(header + audio.substr(0, 30000));
    ASSERT_TRUE(writer->Write(m));
    m.Clear();
    m.set_sequence(2);
    m.set_audio(audio.substr(30000));
    ASSERT_TRUE(writer->Write(m));
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  // The header is not stored: the audio is exactly the samples.
  EXPECT_EQ(resp.recording().audio_bytes(), static_cast<int64_t>(audio.size()));
  std::string raw;
  ASSERT_TRUE(Download(r.name(), *admin_a_, &raw).ok());
  EXPECT_EQ(raw, audio);

  // As a WAV file: the header (for the range returned), then the audio.
  auto as_wav = [&](int64_t offset, int64_t length, std::string* file) {
    v1::DownloadRecordingRequest req;
    req.set_name(r.name());
    req.set_offset(offset);
    req.set_length(length);
    req.set_container(v1::AUDIO_CONTAINER_WAV);
    auto ctx = Ctx(*admin_a_);
    auto reader = stub()->DownloadRecording(ctx.get(), req);
    v1::DownloadRecordingResponse m;
    int headers = 0;
    while (reader->Read(&m)) {
      headers += m.container_header().empty() ? 0 : 1;
      *file += m.container_header() + m.audio();
    }
    EXPECT_EQ(headers, 1);
    return reader->Finish();
  };
  std::string file;
  ASSERT_TRUE(as_wav(0, 0, &file).ok());
  EXPECT_EQ(file, WavHeader(1, static_cast<int64_t>(audio.size())) + audio);
  auto len = ParseWavHeader("file", file, 1);
  ASSERT_TRUE(len.ok()) << len.status();
  std::string part;
  ASSERT_TRUE(as_wav(1000, 2000, &part).ok());
  EXPECT_EQ(part, WavHeader(1, 2000) + audio.substr(1000, 2000));

  // A header of another format (mu-law for a PCM recording): refused with
  // both formats named; nothing of that stream is stored.
  v1::Recording other = Start("rec-a", "call-wav-2");
  {
    auto ctx = Ctx(service());
    v1::UploadAudioResponse r2;
    auto writer = stub()->UploadAudio(ctx.get(), &r2);
    v1::UploadAudioRequest m;
    m.set_recording(other.name());
    m.set_container(v1::AUDIO_CONTAINER_WAV);
    m.set_sequence(1);
    m.set_audio(WavHeader(3, 0) + Audio(800, 1));
    writer->Write(m);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ReasonOf(st), "WAV_FORMAT_MISMATCH") << st.error_message();
    EXPECT_NE(st.error_message().find("mu-law"), std::string::npos) << st.error_message();
  }
  v1::Recording after = Get(other.name());
  EXPECT_EQ(after.audio_bytes(), 0);
  EXPECT_EQ(after.incomplete_reason(), "WAV_FORMAT_MISMATCH");

  // An undefined container: refused before anything is read or opened.
  {
    v1::DownloadRecordingRequest req;
    req.set_name(r.name());
    req.set_container(static_cast<v1::AudioContainer>(99));
    auto ctx = Ctx(*admin_a_);
    auto reader = stub()->DownloadRecording(ctx.get(), req);
    v1::DownloadRecordingResponse m;
    EXPECT_FALSE(reader->Read(&m));
    grpc::Status st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE") << st.error_message();
  }
  {
    v1::Recording fourth = Start("rec-a", "call-wav-4");
    auto ctx = Ctx(service());
    v1::UploadAudioResponse r4;
    auto writer = stub()->UploadAudio(ctx.get(), &r4);
    v1::UploadAudioRequest m;
    m.set_recording(fourth.name());
    m.set_container(static_cast<v1::AudioContainer>(99));
    m.set_sequence(1);
    m.set_audio(Audio(800, 3));
    writer->Write(m);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(ReasonOf(st), "UNKNOWN_ENUM_VALUE") << st.error_message();
    EXPECT_EQ(Get(fourth.name()).last_sequence(), 0);  // the upload never opened
  }

  // A first chunk that is not a WAV header at all.
  v1::Recording third = Start("rec-a", "call-wav-3");
  {
    auto ctx = Ctx(service());
    v1::UploadAudioResponse r3;
    auto writer = stub()->UploadAudio(ctx.get(), &r3);
    v1::UploadAudioRequest m;
    m.set_recording(third.name());
    m.set_container(v1::AUDIO_CONTAINER_WAV);
    m.set_sequence(1);
    m.set_audio(Audio(800, 2));
    writer->Write(m);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(ReasonOf(st), "WAV_HEADER_INVALID") << st.error_message();
  }
}

}  // namespace
}  // namespace dialgrid::recording

namespace dialgrid::recording {
namespace {

TEST_F(RecordingServiceTest, AnUploadBrokenMidCallIsResumedOnANewStream) {
  // Sends chunks `from`..`to` on a new stream (`resume` on its first
  // message); `cut`: the stream breaks off once the service has them all.
  auto stream = [&](const std::string& name, int64_t from, int64_t to, bool resume, bool cut,
                    v1::UploadAudioResponse* resp) {
    auto ctx = Ctx(service());
    auto writer = stub()->UploadAudio(ctx.get(), resp);
    for (int64_t i = from; i <= to; ++i) {
      v1::UploadAudioRequest m;
      if (i == from) {
        m.set_recording(name);
        m.set_resume(resume);
      }
      m.set_sequence(i);
      m.set_audio(Audio(70000, static_cast<int>(i)));
      if (!writer->Write(m)) break;
    }
    if (cut) {
      EXPECT_TRUE(TestPlatform::Eventually([&] { return Get(name).last_sequence() == to; }));
      ctx->TryCancel();
      (void)writer->Finish();
      EXPECT_TRUE(TestPlatform::Eventually([&] { return Get(name).state() == v1::STATE_INCOMPLETE; }));
      return grpc::Status::CANCELLED;
    }
    writer->WritesDone();
    return writer->Finish();
  };
  std::string all;
  for (int i = 1; i <= 5; ++i) all += Audio(70000, i);

  v1::Recording r = Start("rec-a", "call-resumed");
  v1::UploadAudioResponse resp;
  stream(r.name(), 1, 3, false, true, &resp);
  ASSERT_EQ(Get(r.name()).incomplete_reason(), "STREAM_BROKEN");
  // The media server reconnects: chunk 3 again (it was not sure), then on.
  grpc::Status st = stream(r.name(), 3, 5, true, false, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.duplicates_ignored(), 1);
  EXPECT_EQ(resp.recording().state(), v1::STATE_RECORDING);
  EXPECT_EQ(resp.recording().last_sequence(), 5);
  EXPECT_EQ(resp.recording().audio_bytes(), static_cast<int64_t>(all.size()));
  EXPECT_TRUE(resp.recording().incomplete_reason().empty());
  std::string audio;
  ASSERT_TRUE(Download(r.name(), *admin_a_, &audio).ok());
  EXPECT_TRUE(audio == all);
  v1::VerifyRecordingsRequest verify;
  verify.set_parent("tenants/rec-a");
  verify.set_check_audio(true);
  v1::VerifyRecordingsResponse report;
  ASSERT_TRUE(stub()->VerifyRecordings(Ctx(*admin_a_).get(), verify, &report).ok());
  for (const auto& p : report.problems()) EXPECT_NE(p.recording(), r.name()) << p.DebugString();
  // Ended normally: nothing more to resume.
  st = stream(r.name(), 6, 6, true, false, &resp);
  EXPECT_EQ(ReasonOf(st), "UPLOAD_NOT_RESUMABLE") << st.error_message();

  // A stored file altered while the stream was away: not taken up again.
  v1::Recording t = Start("rec-a", "call-resume-tampered");
  stream(t.name(), 1, 2, false, true, &resp);
  const std::string id = t.name().substr(t.name().rfind('/') + 1);
  {
    std::fstream f(p_->dir() + "/recordings/rec-a/" + id + ".rec",
                   std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open());
    f.seekg(200);
    char c = 0;
    f.read(&c, 1);
    f.seekp(200);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  st = stream(t.name(), 3, 3, true, false, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << st.error_message();
  EXPECT_EQ(ReasonOf(st), "AUDIO_TAMPERED");
  v1::Recording after = Get(t.name());
  EXPECT_EQ(after.state(), v1::STATE_INCOMPLETE);
  EXPECT_EQ(after.incomplete_reason(), "STREAM_BROKEN");
  EXPECT_EQ(after.last_sequence(), 2);
}

// The dialer's call recorded end to end: CallUpdated CONNECTED on topic
// `calls` starts the recording (the service's consumer), the simulated
// media server streams audio to it, ENDED stops it and the stream ends
// complete; the audio plays back. A tenant without a key is counted and
// skipped.
TEST_F(RecordingServiceTest, TheDialersCallIsRecordedWithTheSimulatedMediaServer) {
  kafka::ProducerOptions po;
  po.bootstrap_servers = p_->broker().bootstrap();
  auto producer = kafka::KafkaProducer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto sim = dialgrid::testing::ChildProcess::Spawn(
      {DIALGRID_MEDIA_SIM_BIN, "--kafka=" + p_->broker().bootstrap(), "--from_beginning",
       "--consumer_group=sim-" + RandomHex(4), "--target=" + p_->Address("recording"),
       "--credential_file=" + p_->service_secret_file(), "--chunk_ms=200"},
      {}, p_->dir() + "/media-sim.log");
  ASSERT_TRUE(sim.ok()) << sim.status();

  const std::string call_id = "dial-" + RandomHex(4);
  dialing::v1::CallUpdated u;
  u.mutable_call()->set_name("tenants/rec-a/calls/" + call_id);
  u.mutable_call()->set_campaign("tenants/rec-a/campaigns/c1");
  u.mutable_call()->set_agent("tenants/rec-a/agents/a1");
  u.mutable_call()->set_state(dialing::v1::CALL_STATE_CONNECTED);
  u.mutable_call()->set_recording_announcement(true);
  u.set_step("CONNECTED");
  const Clock& clock = SystemClock::Get();
  ASSERT_TRUE((*producer)
                  ->Publish("calls", kafka::MakeEnvelope("rec-a", u.call().name(), u,
                                                         "dialing/test", clock))
                  .ok());
  v1::Recording rec;
  auto listed = [&] {
    v1::ListRecordingsRequest req;
    req.set_parent("tenants/rec-a");
    req.set_call_id(call_id);
    v1::ListRecordingsResponse out;
    if (!stub()->ListRecordings(Ctx(*admin_a_).get(), req, &out).ok() ||
        out.recordings_size() != 1) {
      return false;
    }
    rec = out.recordings(0);
    return true;
  };
  // Started by the consumer, and audio coming in from the simulator.
  ASSERT_TRUE(TestPlatform::Eventually([&] { return listed() && rec.last_sequence() >= 3; }))
      << "see " << p_->LogPath("recording") << " and " << p_->dir() << "/media-sim.log";
  EXPECT_EQ(rec.audio_format(), v1::AUDIO_FORMAT_G711_MULAW);
  EXPECT_TRUE(rec.announcement_played());
  EXPECT_EQ(rec.agent(), "tenants/rec-a/agents/a1");

  u.mutable_call()->set_state(dialing::v1::CALL_STATE_ENDED);
  u.set_step("ENDED");
  ASSERT_TRUE((*producer)
                  ->Publish("calls", kafka::MakeEnvelope("rec-a", u.call().name(), u,
                                                         "dialing/test", clock))
                  .ok());
  ASSERT_TRUE(TestPlatform::Eventually([&] {
    return listed() && rec.state() == v1::STATE_STOPPED && rec.audio_stored();
  })) << "see " << p_->dir() << "/media-sim.log";
  EXPECT_EQ(rec.incomplete_reason(), "");
  std::string audio;
  ASSERT_TRUE(Download(rec.name(), *admin_a_, &audio).ok());
  EXPECT_EQ(static_cast<int64_t>(audio.size()), rec.audio_bytes());
  EXPECT_GE(audio.size(), 3u * 1600);
  EXPECT_EQ(audio.size() % 1600, 0u);  // whole 200 ms chunks of 8 kHz G.711
  EXPECT_NE(audio, std::string(audio.size(), '\xff'));  // not digital silence

  // A tenant without a key-encryption key: counted, skipped.
  u.mutable_call()->set_name("tenants/rec-nokey/calls/" + call_id);
  u.mutable_call()->set_campaign("tenants/rec-nokey/campaigns/c1");
  u.mutable_call()->set_agent("tenants/rec-nokey/agents/a1");
  u.set_step("CONNECTED");
  ASSERT_TRUE((*producer)
                  ->Publish("calls", kafka::MakeEnvelope("rec-nokey", u.call().name(), u,
                                                         "dialing/test", clock))
                  .ok());
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    return Metric(Scrape(p_->AdminAddress("recording")),
                  "dialgrid_recording_call_events_total{action=\"start\",result=\"no_key\"}") >= 1;
  }));
  const std::string scrape = Scrape(p_->AdminAddress("recording"));
  EXPECT_GE(Metric(scrape, "dialgrid_recording_call_events_total{action=\"start\",result=\"done\"}"), 1);
  EXPECT_GE(Metric(scrape, "dialgrid_recording_call_events_total{action=\"stop\",result=\"done\"}"), 1);
  auto code = (*sim)->Terminate();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace dialgrid::recording
