// Service tests: the dialgrid-recording binary with tenancy, a real Redis and
// the broker (tests/fixtures/test_platform.h), called over loopback gRPC as
// the media server, an agent, a supervisor and an auditor would.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"
#include "services/common/server/grpc_status.h"
#include "services/recording/domain/vault_crypto.h"
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

class RecordingServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dialgrid::testing::TestPlatformOptions options;
    options.topics = {"tenancy", "recordings"};
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
                                         "--min_retention_seconds=1"};
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
