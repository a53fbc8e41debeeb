// The recording manager over the Redis store (real redis-server), the
// filesystem store (temp dir; a 1 MiB tmpfs for the full disk) and key files.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/random.h"
#include "services/recording/adapters/file_key_ring.h"
#include "services/recording/adapters/fs_blob_store.h"
#include "services/recording/adapters/redis_recording_store.h"
#include "services/recording/application/recording_manager.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::recording {
namespace {

namespace fs = std::filesystem;
using dialgrid::testing::RedisServer;

std::string Audio(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed * 7 + i / 251) & 0xff);
  return s;
}

void WriteKey(const std::string& dir, const std::string& tenant, const std::string& id) {
  std::ofstream(absl::StrCat(dir, "/", tenant, ".", id, ".key")) << RandomHex(32) << "\n";
}

class RecordingComponentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
  }
  static void TearDownTestSuite() { delete redis_; }

  void SetUp() override {
    ASSERT_NE(redis_, nullptr);
    redis::Options o;
    ASSERT_TRUE(redis::ParseAddress(redis_->address(), o).ok());
    o.pool_size = 8;
    auto c = redis::Client::Create(o);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::shared_ptr<redis::Client>(std::move(*c));
    ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());
    events::RedisOutboxOptions oo;
    oo.stream = "recording";
    oo.instance = "test";
    outbox_ = std::make_shared<events::RedisOutbox>(client_, oo);
    store_ = std::make_shared<RedisRecordingStore>(client_, outbox_);
    dir_ = fs::temp_directory_path() / ("rec-" + RandomHex(6));
    fs::create_directories(dir_ + "/data");
    fs::create_directories(dir_ + "/keys");
    WriteKey(dir_ + "/keys", "acme", "2026-01");
    WriteKey(dir_ + "/keys", "globex", "2026-01");
    Build(dir_ + "/data");
  }
  void TearDown() override {
    manager_.reset();
    fs::remove_all(dir_);
  }

  void Build(const std::string& data_dir) {
    auto blobs = FsBlobStore::Create(data_dir);
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::shared_ptr<FsBlobStore>(std::move(*blobs));
    manager_ = Replica();
  }
  // Another manager over the same Redis and directory (a replica).
  std::unique_ptr<RecordingManager> Replica() {
    RecordingOptions o;
    o.purge_batch = 7;  // several steps per run
    return std::make_unique<RecordingManager>(std::make_shared<RedisRecordingStore>(client_, outbox_),
                                              blobs_, std::make_shared<FileKeyRing>(dir_ + "/keys"),
                                              clock_, o);
  }
  RecordingRef Stored(const std::string& call, const std::string& contact = "",
                      size_t bytes = 3000) {
    v1::Recording r;
    r.set_call_id(call);
    r.set_audio_format(v1::AUDIO_FORMAT_G711_MULAW);
    r.set_campaign("tenants/acme/campaigns/c1");
    r.set_contact(contact);
    auto started = manager_->Start("acme", r, "", actor_);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return {};
    RecordingRef ref = *RecordingManager::ParseRecordingName("name", started->name());
    auto up = Open(ref);
    if (up == nullptr) return ref;
    EXPECT_TRUE(up->Feed(1, Audio(bytes, 1)).ok());
    EXPECT_TRUE(up->Finish(absl::OkStatus()).ok());
    return ref;
  }
  int ChainCount(const std::string& kind) {
    int n = 0;
    auto chain = store_->ReadChain("acme");
    if (!chain.ok()) return -1;
    for (const auto& r : chain->records) {
      auto e = ParseChainRecord(r);
      n += e.ok() && e->kind == kind;
    }
    return n;
  }
  bool KeyExists(const std::string& key) {
    auto r = client_->Command({"EXISTS", key});
    return r.ok() && r->integer == 1;
  }

  RecordingRef Start(const std::string& tenant = "acme", const std::string& call = "call-1",
                     int format = v1::AUDIO_FORMAT_G711_MULAW) {
    v1::Recording r;
    r.set_call_id(call);
    r.set_audio_format(static_cast<v1::AudioFormat>(format));
    r.set_campaign(absl::StrCat("tenants/", tenant, "/campaigns/c1"));
    auto started = manager_->Start(tenant, r, "", actor_);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return {};
    auto ref = RecordingManager::ParseRecordingName("name", started->name());
    EXPECT_TRUE(ref.ok());
    return *ref;
  }

  std::unique_ptr<UploadSession> Open(const RecordingRef& ref, int64_t quota = -1) {
    auto s = manager_->OpenUpload(ref, quota, actor_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  absl::StatusOr<std::string> Download(const RecordingRef& ref, int64_t offset = 0,
                                       int64_t length = 0) {
    std::string out;
    absl::Status st = manager_->Download(ref, offset, length, actor_,
                                         [&out](v1::DownloadRecordingResponse& m) {
                                           out += m.audio();
                                           return true;
                                         });
    if (!st.ok()) return st;
    return out;
  }

  v1::Recording Get(const RecordingRef& ref) {
    auto r = manager_->Get(ref, actor_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::Recording();
  }

  std::vector<v1::VerifyProblem> Problems(const std::string& tenant = "acme") {
    auto v = manager_->Verify(tenant, true);
    EXPECT_TRUE(v.ok()) << v.status();
    if (!v.ok()) return {};
    return {v->problems().begin(), v->problems().end()};
  }

  static RedisServer* redis_;
  FakeClock clock_;
  Actor actor_{"tenants/acme/credentials/k1", "req-1"};
  std::shared_ptr<redis::Client> client_;
  std::shared_ptr<events::RedisOutbox> outbox_;
  std::shared_ptr<RedisRecordingStore> store_;
  std::shared_ptr<FsBlobStore> blobs_;
  std::unique_ptr<RecordingManager> manager_;
  std::string dir_;
};

RedisServer* RecordingComponentTest::redis_ = nullptr;

TEST_F(RecordingComponentTest, DecryptsToExactlyWhatWasSentMinusThePausedSpan) {
  RecordingRef ref = Start();
  auto up = Open(ref);
  ASSERT_NE(up, nullptr);
  std::string expected;
  int64_t seq = 0;
  // 40 chunks of 8000 bytes (1 s of G.711), paused for chunks 16-20.
  for (int i = 1; i <= 40; ++i) {
    if (i == 16) {
      clock_.Advance(absl::Seconds(1));
      auto p = manager_->Pause(ref, "card-data", Actor{"tenants/acme/credentials/agent7", "r"});
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(p->state(), v1::STATE_PAUSED);
    }
    if (i == 21) {
      clock_.Advance(absl::Seconds(5));
      ASSERT_TRUE(manager_->Resume(ref, actor_).ok());
    }
    std::string chunk = Audio(8000, i);
    ASSERT_TRUE(up->Feed(++seq, chunk).ok());
    if (i < 16 || i > 20) expected += chunk;
  }
  ASSERT_TRUE(up->Feed(7, Audio(8000, 7)).ok());  // a repeat: ignored
  auto done = up->Finish(absl::OkStatus());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->chunks_stored(), 35);
  EXPECT_EQ(done->chunks_discarded(), 5);
  EXPECT_EQ(done->duplicates_ignored(), 1);
  auto stopped = manager_->Stop(ref, actor_);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->state(), v1::STATE_STOPPED);

  v1::Recording r = Get(ref);
  EXPECT_TRUE(r.audio_stored());
  EXPECT_EQ(r.audio_bytes(), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(r.duration().seconds(), 35);
  EXPECT_EQ(r.segments(), 5);  // 280000 bytes in 64 KiB segments
  EXPECT_EQ(r.sha256(), Sha256Hex(expected));
  ASSERT_EQ(r.gaps_size(), 1);
  EXPECT_EQ(r.gaps(0).audio_offset(), 15 * 8000);
  EXPECT_EQ(r.gaps(0).discarded_bytes(), 5 * 8000);
  EXPECT_EQ(r.gaps(0).paused_by(), "tenants/acme/credentials/agent7");
  EXPECT_EQ(r.gaps(0).reason(), "card-data");
  EXPECT_EQ(r.gaps(0).end_time().seconds() - r.gaps(0).start_time().seconds(), 5);

  auto all = Download(ref);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(*all == expected) << "the playback differs from the audio sent";
  // A range across a segment boundary, and one to the end.
  auto part = Download(ref, 60000, 20000);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(*part, expected.substr(60000, 20000));
  auto tail = Download(ref, 270000);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, expected.substr(270000));
  EXPECT_EQ(Download(ref, 300000).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Problems().empty());
  // Creation, storage and three accesses are on the chain.
  auto chain = store_->ReadChain("acme");
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->records.size(), 5u);
}

TEST_F(RecordingComponentTest, OutOfOrderChunkEndsTheUploadIncompleteWithWhatCame) {
  RecordingRef ref = Start();
  auto up = Open(ref);
  ASSERT_TRUE(up->Feed(1, Audio(500, 1)).ok());
  ASSERT_TRUE(up->Feed(2, Audio(500, 2)).ok());
  absl::Status st = up->Feed(4, Audio(500, 4));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(st), "OUT_OF_ORDER_CHUNK");
  ASSERT_TRUE(up->Finish(st).ok());  // what came is stored
  v1::Recording r = Get(ref);
  EXPECT_EQ(r.state(), v1::STATE_INCOMPLETE);
  EXPECT_EQ(r.incomplete_reason(), "OUT_OF_ORDER_CHUNK");
  EXPECT_EQ(r.last_sequence(), 2);
  auto all = Download(ref);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, Audio(500, 1) + Audio(500, 2));
  // A second stream for the same recording is refused.
  EXPECT_EQ(ReasonOf(manager_->OpenUpload(ref, -1, actor_).status()), "UPLOAD_EXISTS");
}

TEST_F(RecordingComponentTest, ABrokenStreamLeavesItIncompleteNotTruncatedSilently) {
  RecordingRef ref = Start();
  auto up = Open(ref);
  ASSERT_TRUE(up->Feed(1, Audio(70000, 1)).ok());
  ASSERT_TRUE(manager_->Pause(ref, "card-data", actor_).ok());
  ASSERT_TRUE(up->Feed(2, Audio(100, 2)).ok());
  EXPECT_TRUE(up->Finish(absl::CancelledError("broke")).ok());
  v1::Recording r = Get(ref);
  EXPECT_EQ(r.state(), v1::STATE_INCOMPLETE);
  EXPECT_EQ(r.incomplete_reason(), "STREAM_BROKEN");
  EXPECT_EQ(r.audio_bytes(), 70000);
  ASSERT_EQ(r.gaps_size(), 1);
  EXPECT_TRUE(r.gaps(0).has_end_time());  // the open pause was closed
  auto all = Download(ref);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, Audio(70000, 1));
  // Stop keeps it INCOMPLETE.
  auto stopped = manager_->Stop(ref, actor_);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->state(), v1::STATE_INCOMPLETE);
}

TEST_F(RecordingComponentTest, ChunkAfterStopIsRefusedAndTheAudioBeforeIsKept) {
  RecordingRef ref = Start();
  auto up = Open(ref);
  ASSERT_TRUE(up->Feed(1, Audio(1000, 1)).ok());
  ASSERT_TRUE(manager_->Stop(ref, actor_).ok());
  absl::Status st = up->Feed(2, Audio(1000, 2));
  EXPECT_EQ(ReasonOf(st), "RECORDING_STOPPED");
  EXPECT_TRUE(up->Finish(st).ok());
  v1::Recording r = Get(ref);
  EXPECT_EQ(r.state(), v1::STATE_STOPPED);
  EXPECT_EQ(*Download(ref), Audio(1000, 1));
  EXPECT_EQ(ReasonOf(manager_->Pause(ref, "x", actor_).status()), "RECORDING_NOT_ACTIVE");
}

TEST_F(RecordingComponentTest, TamperingIsFoundAndNeverPlayedBack) {
  RecordingRef a = Start("acme", "c-a");
  RecordingRef b = Start("acme", "c-b");
  RecordingRef c = Start("acme", "c-c");
  for (const auto& ref : {a, b, c}) {
    auto up = Open(ref);
    ASSERT_TRUE(up->Feed(1, Audio(150000, 3)).ok());
    ASSERT_TRUE(up->Finish(absl::OkStatus()).ok());
  }
  ASSERT_TRUE(Problems().empty());
  // A flipped byte in a's file.
  {
    std::fstream f(blobs_->PathOf(a), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100000);
    char ch;
    f.seekg(100000);
    f.read(&ch, 1);
    ch ^= 0x10;
    f.seekp(100000);
    f.write(&ch, 1);
  }
  auto played = Download(a);
  EXPECT_EQ(played.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(played.status()), "AUDIO_TAMPERED");
  auto first_segment = Download(a, 0, 1000);  // before the flipped byte: still fine
  EXPECT_TRUE(first_segment.ok());
  // b's file deleted.
  fs::remove(blobs_->PathOf(b));
  auto problems = Problems();
  std::map<v1::VerifyProblem::Kind, std::string> found;
  for (const auto& p : problems) found[p.kind()] = p.recording();
  EXPECT_EQ(found[v1::VerifyProblem::KIND_FILE_ALTERED], RecordingManager::NameOf(a));
  EXPECT_EQ(found[v1::VerifyProblem::KIND_FILE_MISSING], RecordingManager::NameOf(b));
  EXPECT_EQ(found.count(v1::VerifyProblem::KIND_CHAIN_BROKEN), 0u);
  // A chain entry removed (c's creation, the third entry).
  auto chain = store_->ReadChain("acme");
  ASSERT_TRUE(chain.ok());
  ASSERT_TRUE(client_->Command({"LREM", RedisRecordingStore::ChainKey("acme"), "1",
                                chain->records[2]}).ok());
  problems = Problems();
  bool broken = false;
  for (const auto& p : problems) {
    if (p.kind() == v1::VerifyProblem::KIND_CHAIN_BROKEN) {
      broken = true;
      EXPECT_EQ(p.chain_entry(), 3);
    }
    if (p.kind() == v1::VerifyProblem::KIND_NOT_IN_CHAIN) {
      EXPECT_EQ(p.recording(), RecordingManager::NameOf(c));
    }
  }
  EXPECT_TRUE(broken);
}

TEST_F(RecordingComponentTest, RotationRewrapsWithoutTouchingTheAudio) {
  RecordingRef ref = Start();
  auto up = Open(ref);
  ASSERT_TRUE(up->Feed(1, Audio(3000, 1)).ok());
  ASSERT_TRUE(up->Finish(absl::OkStatus()).ok());
  std::string file_before = Get(ref).sha256();
  WriteKey(dir_ + "/keys", "acme", "2026-07");
  auto rw = manager_->Rewrap("acme");
  ASSERT_TRUE(rw.ok()) << rw.status();
  EXPECT_EQ(rw->key_id(), "2026-07");
  EXPECT_EQ(rw->rewrapped(), 1);
  fs::remove(dir_ + "/keys/acme.2026-01.key");  // the old key is gone
  EXPECT_EQ(Get(ref).key_id(), "2026-07");
  EXPECT_EQ(*Download(ref), Audio(3000, 1));
  rw = manager_->Rewrap("acme");
  EXPECT_EQ(rw->unchanged(), 1);
  // Another tenant's key does not open it: put globex's key in acme's place.
  fs::copy_file(dir_ + "/keys/globex.2026-01.key", dir_ + "/keys/acme.2026-07.key",
                fs::copy_options::overwrite_existing);
  EXPECT_EQ(ReasonOf(Download(ref).status()), "KEY_UNWRAP_FAILED");
  bool unwrap = false;
  for (const auto& p : Problems()) unwrap |= p.kind() == v1::VerifyProblem::KIND_KEY_UNWRAP_FAILED;
  EXPECT_TRUE(unwrap);
  // No key at all: nothing starts.
  v1::Recording r;
  r.set_call_id("x");
  r.set_audio_format(v1::AUDIO_FORMAT_G711_ALAW);
  EXPECT_EQ(ReasonOf(manager_->Start("nokey", r, "", actor_).status()), "KEK_MISSING");
}

TEST_F(RecordingComponentTest, StorageQuotaIsEnforced) {
  RecordingRef ref = Start();
  auto up = Open(ref, 10000);
  ASSERT_TRUE(up->Feed(1, Audio(6000, 1)).ok());
  absl::Status st = up->Feed(2, Audio(6000, 2));
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(st), "QUOTA_EXCEEDED");
  ASSERT_TRUE(up->Finish(st).ok());
  EXPECT_EQ(Get(ref).incomplete_reason(), "QUOTA_EXCEEDED");
  auto usage = store_->Usage("acme");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(*usage, Get(ref).stored_bytes());
}

TEST_F(RecordingComponentTest, AFullDiskLeavesNothingHalfWritten) {
  std::string small = dir_ + "/small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  }
  Build(small);
  RecordingRef ref = Start();
  auto up = Open(ref);
  absl::Status st;
  for (int i = 1; i <= 40 && st.ok(); ++i) st = up->Feed(i, Audio(64000, i));
  EXPECT_EQ(ReasonOf(st), "STORAGE_FULL");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(up->Finish(st).status()), "STORAGE_FULL");
  v1::Recording r = Get(ref);
  EXPECT_EQ(r.state(), v1::STATE_INCOMPLETE);
  EXPECT_EQ(r.incomplete_reason(), "STORAGE_FULL");
  EXPECT_FALSE(r.audio_stored());
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(small)) files += e.is_regular_file();
  EXPECT_EQ(files, 0) << "a half-written file was left behind";
  EXPECT_EQ(*store_->Usage("acme"), 0);
  EXPECT_EQ(ReasonOf(Download(ref).status()), "AUDIO_NOT_STORED");
  manager_.reset();
  blobs_.reset();
  ::umount(small.c_str());
}

TEST_F(RecordingComponentTest, StartIsIdempotentByRequestIdAndListsFilterAndPage) {
  v1::Recording r;
  r.set_call_id("call-9");
  r.set_audio_format(v1::AUDIO_FORMAT_PCM_S16LE_8K);
  auto a = manager_->Start("acme", r, "req-abc", actor_);
  auto b = manager_->Start("acme", r, "req-abc", actor_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->name(), b->name());
  r.set_call_id("call-10");
  EXPECT_EQ(ReasonOf(manager_->Start("acme", r, "req-abc", actor_).status()), "REQUEST_ID_REUSED");
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(1));
    Start("acme", i % 2 ? "odd" : "even");
  }
  v1::ListRecordingsRequest req;
  req.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto l = manager_->List("acme", req);
    ASSERT_TRUE(l.ok()) << l.status();
    for (const auto& x : l->recordings()) seen.push_back(x.name());
    if (l->next_page_token().empty()) break;
    req.set_page_token(l->next_page_token());
  }
  EXPECT_EQ(seen.size(), 6u);
  v1::ListRecordingsRequest odd;
  odd.set_call_id("odd");
  auto l = manager_->List("acme", odd);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->recordings_size(), 2);
  odd.set_campaign("tenants/globex/campaigns/c1");
  EXPECT_EQ(ReasonOf(manager_->List("acme", odd).status()), "TENANT_MISMATCH");
  EXPECT_TRUE(manager_->List("globex", v1::ListRecordingsRequest())->recordings().empty());
}


TEST_F(RecordingComponentTest, ThePurgeDeletesExpiredUnheldRecordingsFromRedisAndDisk) {
  const std::string jane = "tenants/acme/contactLists/l/contacts/jane";
  RecordingRef gone = Stored("call-1", jane);
  RecordingRef held = Stored("call-2");
  v1::LegalHold h;
  h.set_scope(v1::HOLD_SCOPE_CALL);
  h.set_target("call-2");
  h.set_reason("matter 9");
  auto hold = manager_->PlaceHold("acme", h, "hold-req", actor_);
  ASSERT_TRUE(hold.ok()) << hold.status();
  // A hold on a campaign covers a recording started after it.
  h.set_scope(v1::HOLD_SCOPE_CAMPAIGN);
  h.set_target("tenants/acme/campaigns/c2");
  ASSERT_TRUE(manager_->PlaceHold("acme", h, "", actor_).ok());
  v1::Recording later;
  later.set_call_id("call-3");
  later.set_audio_format(v1::AUDIO_FORMAT_G711_ALAW);
  later.set_campaign("tenants/acme/campaigns/c2");
  auto later_started = manager_->Start("acme", later, "", actor_);
  ASSERT_TRUE(later_started.ok());
  EXPECT_TRUE(later_started->holds().empty());  // as created; Get shows it held
  RecordingRef later_ref = *RecordingManager::ParseRecordingName("n", later_started->name());
  EXPECT_TRUE(Get(later_ref).legal_hold());
  EXPECT_EQ(Get(held).holds(0), hold->name());

  const std::string file = blobs_->PathOf(gone);
  ASSERT_TRUE(fs::exists(file));
  clock_.Advance(absl::Hours(24 * 366));
  auto r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, 1);
  EXPECT_EQ(r->kept, 2);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(KeyExists(RedisRecordingStore::RecordingKey(gone)));
  EXPECT_FALSE(KeyExists("{t:acme}:rec-contact:" + jane));
  EXPECT_EQ(manager_->Get(gone, actor_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fs::exists(blobs_->PathOf(held)));
  EXPECT_EQ(*store_->Usage("acme"), Get(held).stored_bytes());
  EXPECT_EQ(ChainCount(kChainDeleted), 1);
  EXPECT_EQ(ChainCount(kChainHeld), 2);
  EXPECT_TRUE(Problems().empty());
  // Listed neither.
  auto all = manager_->List("acme", v1::ListRecordingsRequest());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->recordings_size(), 2);
  // The held ones are not looked at again within the recheck delay.
  r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kept, 0);
}

TEST_F(RecordingComponentTest, ReplicasPurgingAtOnceDeleteEachRecordingOnce) {
  std::vector<RecordingRef> refs;
  for (int i = 0; i < 20; ++i) refs.push_back(Stored(absl::StrCat("call-", i)));
  clock_.Advance(absl::Hours(24 * 366));
  auto other = Replica();
  absl::StatusOr<PurgeReport> a, b;
  std::thread t1([&] { a = manager_->Purge("acme"); });
  std::thread t2([&] { b = other->Purge("acme"); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->deleted + b->deleted, 20);
  EXPECT_EQ(ChainCount(kChainDeleted), 20);
  for (const auto& ref : refs) EXPECT_FALSE(fs::exists(blobs_->PathOf(ref)));
  EXPECT_EQ(*store_->Usage("acme"), 0);
  EXPECT_TRUE(Problems().empty());
  auto v = manager_->Verify("acme", false);
  EXPECT_EQ(v->recordings_checked(), 0);
}

TEST_F(RecordingComponentTest, ADeletionCutShortIsFinishedAndVerifyNeverCallsItMissing) {
  const std::string joe = "tenants/acme/contactLists/l/contacts/joe";
  RecordingRef ref = Stored("call-1", joe);
  clock_.Advance(absl::Hours(24 * 366));
  // The purge decided (chain entry, usage given back) and died.
  auto v = store_->BeginDelete(ref, DeleteCause::kRetention, clock_.Now(),
                               ChainDraft{kChainDeleted, ref.id, "system", "cause=retention",
                                          clock_.Now()},
                               {});
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->kind, RecordingStore::DeleteVerdict::Kind::kDeleted);
  EXPECT_TRUE(fs::exists(blobs_->PathOf(ref)));
  EXPECT_EQ(*store_->Usage("acme"), 0);
  EXPECT_TRUE(Problems().empty());
  // A second decision is not taken (nothing more on the chain).
  v = store_->BeginDelete(ref, DeleteCause::kRetention, clock_.Now(),
                          ChainDraft{kChainDeleted, ref.id, "system", "x", clock_.Now()}, {});
  EXPECT_EQ(v->kind, RecordingStore::DeleteVerdict::Kind::kGone);
  auto r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finished, 1);
  EXPECT_FALSE(fs::exists(blobs_->PathOf(ref)));
  EXPECT_FALSE(KeyExists(RedisRecordingStore::RecordingKey(ref)));
  EXPECT_FALSE(KeyExists("{t:acme}:rec-deleting"));
  EXPECT_FALSE(KeyExists("{t:acme}:rec-contact:" + joe));
  EXPECT_EQ(ChainCount(kChainDeleted), 1);
  EXPECT_TRUE(Problems().empty());
}

TEST_F(RecordingComponentTest, ErasureKeepsHeldRecordingsAndNamesTheHolds) {
  const std::string jane = "tenants/acme/contactLists/l/contacts/jane";
  RecordingRef a = Stored("call-1", jane);
  RecordingRef b = Stored("call-2", jane);
  v1::LegalHold h;
  h.set_scope(v1::HOLD_SCOPE_RECORDING);
  h.set_target(RecordingManager::NameOf(b));
  h.set_reason("dispute 4411");
  auto hold = manager_->PlaceHold("acme", h, "", actor_);
  ASSERT_TRUE(hold.ok()) << hold.status();
  auto erased = manager_->EraseContact("acme", jane, "DSR 77", actor_);
  ASSERT_TRUE(erased.ok()) << erased.status();
  ASSERT_EQ(erased->erased_size(), 1);
  EXPECT_EQ(erased->erased(0), RecordingManager::NameOf(a));
  ASSERT_EQ(erased->kept_size(), 1);
  EXPECT_EQ(erased->kept(0).recording(), RecordingManager::NameOf(b));
  ASSERT_EQ(erased->kept(0).holds_size(), 1);
  EXPECT_EQ(erased->kept(0).holds(0), hold->name());
  EXPECT_FALSE(fs::exists(blobs_->PathOf(a)));
  EXPECT_TRUE(fs::exists(blobs_->PathOf(b)));
  EXPECT_EQ(ChainCount(kChainErasure), 1);
  EXPECT_TRUE(Problems().empty());
  // Released, a second request erases it.
  ASSERT_TRUE(manager_->ReleaseHold(hold->name(), "dispute settled", actor_).ok());
  erased = manager_->EraseContact("acme", jane, "DSR 77", actor_);
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(erased->erased_size(), 1);
  EXPECT_EQ(erased->kept_size(), 0);
  EXPECT_FALSE(fs::exists(blobs_->PathOf(b)));
  EXPECT_EQ(*store_->Usage("acme"), 0);
  EXPECT_TRUE(Problems().empty());
}

TEST_F(RecordingComponentTest, AStaleUploadIsSalvagedFromItsTemporaryFile) {
  RecordingRef ref = Start();
  auto up = Open(ref);
  ASSERT_NE(up, nullptr);
  std::string sent;
  for (int i = 1; i <= 5; ++i) {
    std::string chunk = Audio(40000, i);
    ASSERT_TRUE(up->Feed(i, chunk).ok());
    sent += chunk;
  }
  // The replica hangs (no chunk, no heartbeat) past the lease; another sweeps.
  clock_.Advance(absl::Seconds(61));
  auto other = Replica();
  auto swept = other->SweepUploads();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(swept->salvaged, 1);
  v1::Recording r = Get(ref);
  EXPECT_EQ(r.state(), v1::STATE_INCOMPLETE);
  EXPECT_EQ(r.incomplete_reason(), "REPLICA_LOST");
  EXPECT_EQ(r.audio_bytes(), 3 * 65536);
  EXPECT_EQ(r.lost_audio_bytes(), 200000 - 3 * 65536);
  auto played = Download(ref);
  ASSERT_TRUE(played.ok()) << played.status();
  EXPECT_TRUE(*played == sent.substr(0, 3 * 65536));
  EXPECT_TRUE(Problems().empty());
  int temporary = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ + "/data")) {
    temporary += e.path().filename().string()[0] == '.';
  }
  EXPECT_EQ(temporary, 0);
  // The hung stream comes back: refused, the salvaged recording stays.
  EXPECT_EQ(ReasonOf(up->Feed(6, Audio(100, 6))), "UPLOAD_CLOSED");
  EXPECT_EQ(ReasonOf(up->Finish(absl::OkStatus()).status()), "UPLOAD_CLOSED");
  EXPECT_EQ(Get(ref).incomplete_reason(), "REPLICA_LOST");
  EXPECT_TRUE(Problems().empty());
  EXPECT_EQ(*store_->Usage("acme"), Get(ref).stored_bytes());
}

}  // namespace
}  // namespace dialgrid::recording
