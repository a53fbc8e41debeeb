// The manager over the in-memory fakes (testing/): no Redis, no disk.
#include "services/recording/application/recording_manager.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "services/common/core/errors.h"
#include "services/recording/testing/in_memory_recording_store.h"

namespace dialgrid::recording {
namespace {

class RecordingManagerTest : public ::testing::Test {
 protected:
  void Build(int64_t capacity) {
    blobs_ = std::make_shared<testing::InMemoryBlobStore>(capacity, &clock_);
    manager_ = std::make_unique<RecordingManager>(store_, blobs_,
                                                  std::make_shared<testing::FixedKeyRing>(),
                                                  clock_, Options());
  }
  static RecordingOptions Options() {
    RecordingOptions o;
    o.retention = absl::Hours(24 * 30);
    o.upload_lease = absl::Seconds(60);
    o.purge_recheck = absl::Hours(1);
    return o;
  }
  RecordingRef Start(const std::string& call = "call", const std::string& campaign = "",
                     const std::string& contact = "", const std::string& tenant = "acme") {
    v1::Recording r;
    r.set_call_id(call);
    r.set_audio_format(v1::AUDIO_FORMAT_PCM_S16LE_16K);
    r.set_campaign(campaign);
    r.set_contact(contact);
    auto started = manager_->Start(tenant, r, "", actor_);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return {};
    return *RecordingManager::ParseRecordingName("name", started->name());
  }
  // Starts and stores `bytes` of audio.
  RecordingRef Stored(const std::string& call, const std::string& campaign = "",
                      const std::string& contact = "", int64_t bytes = 1000) {
    RecordingRef ref = Start(call, campaign, contact);
    auto up = manager_->OpenUpload(ref, -1, actor_);
    EXPECT_TRUE(up.ok()) << up.status();
    if (!up.ok()) return ref;
    EXPECT_TRUE((*up)->Feed(1, std::string(static_cast<size_t>(bytes), 'a')).ok());
    EXPECT_TRUE((*up)->Finish(absl::OkStatus()).ok());
    return ref;
  }
  bool Exists(const RecordingRef& ref) { return store_->Get(ref).ok(); }
  v1::LegalHold Hold(v1::HoldScope scope, const std::string& target) {
    v1::LegalHold h;
    h.set_scope(scope);
    h.set_target(target);
    h.set_reason("matter 2026-17");
    auto placed = manager_->PlaceHold("acme", h, "", actor_);
    EXPECT_TRUE(placed.ok()) << placed.status();
    return placed.ok() ? *placed : v1::LegalHold();
  }
  void SetRetention(const std::string& policy, absl::Duration d) {
    v1::RetentionPolicy p;
    p.set_name("tenants/acme/retentionPolicies/" + policy);
    p.mutable_retention()->set_seconds(absl::ToInt64Seconds(d));
    auto set = manager_->SetRetention(p, actor_);
    ASSERT_TRUE(set.ok()) << set.status();
  }
  std::vector<std::string> ChainKinds(const std::string& tenant = "acme") {
    std::vector<std::string> kinds;
    auto chain = store_->ReadChain(tenant);
    if (!chain.ok()) return kinds;
    for (const auto& r : chain->records) {
      auto e = ParseChainRecord(r);
      kinds.push_back(e.ok() ? e->kind : "?");
    }
    return kinds;
  }
  int Count(const std::vector<std::string>& v, const std::string& x) {
    return static_cast<int>(std::count(v.begin(), v.end(), x));
  }
  void ExpectVerifies(const std::string& tenant = "acme") {
    auto v = manager_->Verify(tenant, true);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->problems_size(), 0) << v->DebugString();
  }

  FakeClock clock_;
  Actor actor_{"tenants/acme/credentials/k", "q"};
  std::shared_ptr<testing::InMemoryRecordingStore> store_ =
      std::make_shared<testing::InMemoryRecordingStore>();
  std::shared_ptr<testing::InMemoryBlobStore> blobs_;
  std::unique_ptr<RecordingManager> manager_;
};

TEST_F(RecordingManagerTest, PlaybackIsWhatWasSentMinusThePause) {
  Build(int64_t{1} << 30);
  RecordingRef ref = Start();
  auto up = *manager_->OpenUpload(ref, -1, actor_);
  std::string expected;
  for (int i = 1; i <= 12; ++i) {
    if (i == 5) {
      ASSERT_TRUE(manager_->Pause(ref, "card-data", actor_).ok());
    }
    if (i == 8) {
      ASSERT_TRUE(manager_->Resume(ref, actor_).ok());
    }
    std::string chunk(32000, static_cast<char>('a' + i));
    ASSERT_TRUE(up->Feed(i, chunk).ok());
    if (i < 5 || i >= 8) expected += chunk;
  }
  auto done = up->Finish(absl::OkStatus());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->recording().duration().seconds(), 9);
  std::string played;
  ASSERT_TRUE(manager_->Download(ref, 0, 0, actor_, [&](v1::DownloadRecordingResponse& m) {
    played += m.audio();
    return true;
  }).ok());
  EXPECT_TRUE(played == expected);
  auto v = manager_->Verify("acme", true);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->problems_size(), 0) << v->DebugString();
  EXPECT_GE(store_->published(), 5u);  // started, paused, resumed, stored, accessed
}

TEST_F(RecordingManagerTest, AFullDiskThroughThePortStoresNothingAndSaysSo) {
  Build(200000);  // room for three segments
  RecordingRef ref = Start();
  auto up = *manager_->OpenUpload(ref, -1, actor_);
  absl::Status st;
  for (int i = 1; i <= 20 && st.ok(); ++i) st = up->Feed(i, std::string(32000, 'x'));
  EXPECT_EQ(ReasonOf(st), "STORAGE_FULL");
  EXPECT_EQ(ReasonOf(up->Finish(st).status()), "STORAGE_FULL");
  EXPECT_EQ(blobs_->used(), 0);
  EXPECT_EQ(blobs_->blobs(), 0u);
  EXPECT_EQ(*store_->Usage("acme"), 0);
  auto r = store_->Get(ref);
  EXPECT_EQ(r->state, kStateIncomplete);
  EXPECT_EQ(r->upload, kUploadFailed);
}

TEST_F(RecordingManagerTest, AnAbandonedSessionEndsIncomplete) {
  Build(int64_t{1} << 30);
  RecordingRef ref = Start();
  {
    auto up = *manager_->OpenUpload(ref, -1, actor_);
    ASSERT_TRUE(up->Feed(1, "abcd").ok());
  }  // dropped without Finish
  auto r = store_->Get(ref);
  EXPECT_EQ(r->state, kStateIncomplete);
  EXPECT_EQ(r->incomplete_reason, "STREAM_BROKEN");
  EXPECT_EQ(r->audio_bytes, 4);
}


TEST_F(RecordingManagerTest, PurgeDeletesOnlyExpiredUnheldRecordingsByTheirPolicy) {
  Build(int64_t{1} << 30);
  SetRetention("default", absl::Hours(24 * 10));
  SetRetention("c-short", absl::Hours(24 * 2));
  RecordingRef short_one = Stored("call-1", "tenants/acme/campaigns/c-short");
  RecordingRef other = Stored("call-2", "tenants/acme/campaigns/c-other");  // the default: 10 days
  RecordingRef held = Stored("call-3", "tenants/acme/campaigns/c-short");
  RecordingRef by_contact = Stored("call-4", "tenants/acme/campaigns/c-short",
                                   "tenants/acme/contactLists/l/contacts/x");
  EXPECT_EQ(manager_->Get(short_one, actor_)->expire_time().seconds(),
            absl::ToUnixSeconds(clock_.Now() + absl::Hours(48)));
  v1::LegalHold on_recording = Hold(v1::HOLD_SCOPE_RECORDING, RecordingManager::NameOf(held));
  Hold(v1::HOLD_SCOPE_CONTACT, "tenants/acme/contactLists/l/contacts/x");
  EXPECT_TRUE(manager_->Get(held, actor_)->legal_hold());

  // Before anything expires, nothing goes.
  clock_.Advance(absl::Hours(47));
  auto r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, 0);

  clock_.Advance(absl::Hours(2));
  const size_t blobs_before = blobs_->blobs();
  r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, 1);
  EXPECT_EQ(r->kept, 2);
  EXPECT_FALSE(Exists(short_one));
  EXPECT_TRUE(Exists(other));
  EXPECT_TRUE(Exists(held));
  EXPECT_TRUE(Exists(by_contact));
  EXPECT_EQ(blobs_->blobs(), blobs_before - 1);
  EXPECT_EQ(ReasonOf(blobs_->Open(short_one).status()), "BLOB_MISSING");
  // The storage usage is given back: what is left is what the others use.
  int64_t left = 0;
  for (const auto& ref : {other, held, by_contact}) left += store_->Get(ref)->stored_bytes;
  EXPECT_EQ(*store_->Usage("acme"), left);
  auto kinds = ChainKinds();
  EXPECT_EQ(Count(kinds, kChainDeleted), 1);
  EXPECT_EQ(Count(kinds, kChainHeld), 2);
  ExpectVerifies();  // a purged recording is not "missing"

  // Released, the recording goes at the next look (after the recheck delay).
  auto released = manager_->ReleaseHold(on_recording.name(), "matter closed", actor_);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->state(), v1::HOLD_STATE_RELEASED);
  EXPECT_EQ(Count(ChainKinds(), kChainReleased), 1);
  EXPECT_FALSE(manager_->Get(held, actor_)->legal_hold());
  clock_.Advance(absl::Hours(2));
  r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, 1);
  EXPECT_FALSE(Exists(held));
  EXPECT_TRUE(Exists(by_contact));  // still held by contact
  // The default policy's recording after its 10 days.
  clock_.Advance(absl::Hours(24 * 8));
  ASSERT_TRUE(manager_->Purge("acme").ok());
  EXPECT_FALSE(Exists(other));
  EXPECT_TRUE(Exists(by_contact));
  ExpectVerifies();
}

TEST_F(RecordingManagerTest, AHoldCoversRecordingsMadeAfterIt) {
  Build(int64_t{1} << 30);
  v1::LegalHold campaign = Hold(v1::HOLD_SCOPE_CAMPAIGN, "tenants/acme/campaigns/disputed");
  v1::LegalHold call = Hold(v1::HOLD_SCOPE_CALL, "call-77");
  EXPECT_EQ(campaign.state(), v1::HOLD_STATE_ACTIVE);
  EXPECT_EQ(campaign.placed_by(), actor_.credential);
  RecordingRef a = Stored("call-1", "tenants/acme/campaigns/disputed");
  RecordingRef b = Stored("call-77");
  RecordingRef c = Stored("call-2", "tenants/acme/campaigns/other");
  v1::Recording got = *manager_->Get(a, actor_);
  EXPECT_TRUE(got.legal_hold());
  ASSERT_EQ(got.holds_size(), 1);
  EXPECT_EQ(got.holds(0), campaign.name());
  clock_.Advance(absl::Hours(24 * 31));
  auto r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, 1);
  EXPECT_TRUE(Exists(a));
  EXPECT_TRUE(Exists(b));
  EXPECT_FALSE(Exists(c));
  // Listing holds, by state.
  v1::ListHoldsRequest req;
  req.set_state(v1::HOLD_STATE_ACTIVE);
  auto l = manager_->ListHolds("acme", req);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->holds_size(), 2);
  ASSERT_TRUE(manager_->ReleaseHold(call.name(), "settled", actor_).ok());
  // Release again: idempotent, unchanged, no second chain entry.
  auto again = manager_->ReleaseHold(call.name(), "other words", actor_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->release_reason(), "settled");
  EXPECT_EQ(Count(ChainKinds(), kChainReleased), 1);
  l = manager_->ListHolds("acme", req);
  EXPECT_EQ(l->holds_size(), 1);
  req.set_state(v1::HOLD_STATE_RELEASED);
  l = manager_->ListHolds("acme", req);
  ASSERT_EQ(l->holds_size(), 1);
  EXPECT_EQ(l->holds(0).name(), call.name());
}

TEST_F(RecordingManagerTest, ErasureRemovesAContactsUnheldRecordingsAndSaysWhyItKeptTheRest) {
  Build(int64_t{1} << 30);
  const std::string contact = "tenants/acme/contactLists/l/contacts/jane";
  RecordingRef a = Stored("call-1", "", contact);
  RecordingRef b = Stored("call-2", "", contact);
  RecordingRef c = Stored("call-3", "", contact);
  RecordingRef someone_else = Stored("call-4", "", "tenants/acme/contactLists/l/contacts/joe");
  v1::LegalHold hold = Hold(v1::HOLD_SCOPE_CALL, "call-2");
  const size_t events_before = store_->published();
  auto erased = manager_->EraseContact("acme", contact, "DSR-1234", actor_);
  ASSERT_TRUE(erased.ok()) << erased.status();
  std::vector<std::string> names(erased->erased().begin(), erased->erased().end());
  std::sort(names.begin(), names.end());
  std::vector<std::string> expected = {RecordingManager::NameOf(a), RecordingManager::NameOf(c)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected);
  ASSERT_EQ(erased->kept_size(), 1);
  EXPECT_EQ(erased->kept(0).recording(), RecordingManager::NameOf(b));
  EXPECT_EQ(erased->kept(0).reason(), "LEGAL_HOLD");
  ASSERT_EQ(erased->kept(0).holds_size(), 1);
  EXPECT_EQ(erased->kept(0).holds(0), hold.name());
  EXPECT_FALSE(Exists(a));
  EXPECT_TRUE(Exists(b));
  EXPECT_FALSE(Exists(c));
  EXPECT_TRUE(Exists(someone_else));
  auto kinds = ChainKinds();
  EXPECT_EQ(Count(kinds, kChainDeleted), 2);
  EXPECT_EQ(Count(kinds, kChainErasure), 1);
  EXPECT_EQ(store_->published(), events_before + 3);  // two deletions, the request
  ExpectVerifies();
  // Bad requests.
  EXPECT_EQ(ReasonOf(manager_->EraseContact("acme", "tenants/other/contactLists/l/contacts/x",
                                            "DSR", actor_).status()),
            "TENANT_MISMATCH");
  EXPECT_EQ(ReasonOf(manager_->EraseContact("acme", contact, "", actor_).status()),
            "FIELD_REQUIRED");
}

TEST_F(RecordingManagerTest, ADeletionCutShortIsFinishedByTheNextRunAndNeverReportedMissing) {
  Build(int64_t{1} << 30);
  RecordingRef ref = Stored("call-1");
  clock_.Advance(absl::Hours(24 * 31));
  // A replica decides the deletion and dies before the audio goes.
  auto v = store_->BeginDelete(ref, DeleteCause::kRetention, clock_.Now(),
                               ChainDraft{kChainDeleted, ref.id, "system", "cause=retention",
                                          clock_.Now()},
                               {});
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->kind, RecordingStore::DeleteVerdict::Kind::kDeleted);
  EXPECT_FALSE(Exists(ref));  // reads as gone at once
  EXPECT_TRUE(blobs_->Open(ref).ok());
  ExpectVerifies();
  auto r = manager_->Purge("acme");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finished, 1);
  EXPECT_EQ(r->deleted, 0);
  EXPECT_EQ(store_->deleting(), 0u);
  EXPECT_EQ(blobs_->blobs(), 0u);
  EXPECT_EQ(Count(ChainKinds(), kChainDeleted), 1);
  ExpectVerifies();
}

TEST_F(RecordingManagerTest, PoliciesAndHoldsRefuseBadInput) {
  Build(int64_t{1} << 30);
  v1::RetentionPolicy p;
  p.set_name("tenants/acme/retentionPolicies/default");
  EXPECT_EQ(ReasonOf(manager_->SetRetention(p, actor_).status()), "FIELD_REQUIRED");
  p.mutable_retention()->set_seconds(3600);  // under a day
  EXPECT_EQ(ReasonOf(manager_->SetRetention(p, actor_).status()), "INVALID_RETENTION");
  p.mutable_retention()->set_seconds(86400);
  p.mutable_retention()->set_nanos(5);
  EXPECT_EQ(ReasonOf(manager_->SetRetention(p, actor_).status()), "INVALID_RETENTION");
  // Never set: the period that applies, marked inherited.
  auto got = manager_->GetRetention("tenants/acme/retentionPolicies/c9");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->inherited());
  EXPECT_EQ(got->retention().seconds(), 30 * 86400);
  SetRetention("default", absl::Hours(24 * 5));
  got = manager_->GetRetention("tenants/acme/retentionPolicies/c9");
  EXPECT_EQ(got->retention().seconds(), 5 * 86400);
  got = manager_->GetRetention("tenants/acme/retentionPolicies/default");
  EXPECT_FALSE(got->inherited());
  EXPECT_EQ(got->updated_by(), actor_.credential);

  v1::LegalHold h;
  h.set_target("call-1");
  h.set_reason("r");
  EXPECT_EQ(FieldOf(manager_->PlaceHold("acme", h, "", actor_).status()), "hold.scope");
  h.set_scope(v1::HOLD_SCOPE_CAMPAIGN);
  h.set_target("tenants/globex/campaigns/c1");
  EXPECT_EQ(ReasonOf(manager_->PlaceHold("acme", h, "", actor_).status()), "TENANT_MISMATCH");
  h.set_scope(v1::HOLD_SCOPE_RECORDING);
  h.set_target("tenants/acme/recordings/rnone");
  EXPECT_EQ(ReasonOf(manager_->PlaceHold("acme", h, "", actor_).status()), "RECORDING_NOT_FOUND");
  h.set_scope(v1::HOLD_SCOPE_CALL);
  h.set_target("call-1");
  h.set_reason("");
  EXPECT_EQ(ReasonOf(manager_->PlaceHold("acme", h, "", actor_).status()), "FIELD_REQUIRED");
  // Idempotent by request id.
  h.set_reason("matter");
  auto first = manager_->PlaceHold("acme", h, "req-1", actor_);
  auto second = manager_->PlaceHold("acme", h, "req-1", actor_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->name(), second->name());
  h.set_target("call-2");
  EXPECT_EQ(ReasonOf(manager_->PlaceHold("acme", h, "req-1", actor_).status()),
            "REQUEST_ID_REUSED");
  EXPECT_EQ(ReasonOf(manager_->ReleaseHold("tenants/acme/legalHolds/hnone", "x", actor_).status()),
            "HOLD_NOT_FOUND");
}

TEST_F(RecordingManagerTest, ALostReplicasUploadIsSweptIncompleteWithItsWholeSegments) {
  Build(int64_t{1} << 30);
  RecordingRef ref = Start("call-lost");
  auto up = *manager_->OpenUpload(ref, -1, actor_);
  std::string sent;
  for (int i = 1; i <= 3; ++i) {
    std::string chunk(50000, static_cast<char>('a' + i));
    ASSERT_TRUE(up->Feed(i, chunk).ok());
    sent += chunk;
  }
  blobs_->DropWriters();  // the replica is killed: its writer stops, its file stays
  // Within the lease nothing happens.
  clock_.Advance(absl::Seconds(59));
  auto swept = manager_->SweepUploads();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(swept->salvaged, 0);
  clock_.Advance(absl::Seconds(2));
  swept = manager_->SweepUploads();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(swept->salvaged, 1);
  auto r = store_->Get(ref);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, kStateIncomplete);
  EXPECT_EQ(r->incomplete_reason, "REPLICA_LOST");
  EXPECT_EQ(r->upload, kUploadDone);
  // Two whole 64 KiB segments were sealed; the tail was in the lost memory.
  EXPECT_EQ(r->audio_bytes, 2 * 65536);
  EXPECT_EQ(r->lost_bytes, 150000 - 2 * 65536);
  EXPECT_EQ(*store_->Usage("acme"), r->stored_bytes);
  std::string played;
  ASSERT_TRUE(manager_->Download(ref, 0, 0, actor_, [&](v1::DownloadRecordingResponse& m) {
    played += m.audio();
    return true;
  }).ok());
  EXPECT_TRUE(played == sent.substr(0, 2 * 65536));
  EXPECT_EQ(blobs_->partials(), 0u);
  ExpectVerifies();
  // The zombie stream, if it ever comes back, cannot overwrite the outcome.
  EXPECT_EQ(ReasonOf(up->Finish(absl::OkStatus()).status()), "UPLOAD_CLOSED");
  EXPECT_EQ(store_->Get(ref)->incomplete_reason, "REPLICA_LOST");
  ExpectVerifies();
}

TEST_F(RecordingManagerTest, TheHeartbeatKeepsALiveUploadAndStaleTemporaryFilesGo) {
  Build(int64_t{1} << 30);
  RecordingRef live = Start("call-live");
  auto up = *manager_->OpenUpload(live, -1, actor_);
  ASSERT_TRUE(up->Feed(1, std::string(1000, 'x')).ok());
  // A file left by a process killed before it opened the upload.
  RecordingRef orphan = Start("call-orphan");
  {
    auto w = blobs_->Create(orphan);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("partial").ok());
    blobs_->DropWriters();
  }
  for (int i = 0; i < 5; ++i) {  // a long silence (e.g. a pause), heartbeats every 15 s
    clock_.Advance(absl::Seconds(15));
    manager_->RenewLeases();
  }
  clock_.Advance(absl::Seconds(10));
  auto swept = manager_->SweepUploads();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(swept->salvaged, 0);
  auto removed = manager_->RemoveStalePartials();
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(blobs_->partials(), 1u);  // the live upload's
  ASSERT_TRUE(up->Feed(2, std::string(1000, 'y')).ok());
  auto done = up->Finish(absl::OkStatus());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->recording().audio_bytes(), 2000);
  EXPECT_EQ(blobs_->partials(), 0u);
}


// Helpers for the resume tests: a broken first stream of `bytes` in
// 100,000-byte chunks (sequence 1..n), its audio returned.
std::string Chunk(int i, size_t n = 100000) {
  std::string c(n, '\0');
  for (size_t k = 0; k < n; ++k) c[k] = static_cast<char>((k * 7 + static_cast<size_t>(i) * 31) & 0xff);
  return c;
}

TEST_F(RecordingManagerTest, AnUploadResumedAfterABrokenStreamContinuesItsSequenceAndAudio) {
  Build(int64_t{1} << 30);
  RecordingRef ref = Start("call-resume");
  std::string sent;
  {
    auto up = *manager_->OpenUpload(ref, -1, actor_);
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(up->Feed(i, Chunk(i)).ok());
      sent += Chunk(i);
    }
    ASSERT_TRUE(up->Finish(absl::CancelledError("broke")).ok());  // stored, INCOMPLETE
  }
  ASSERT_EQ(store_->Get(ref)->incomplete_reason, "STREAM_BROKEN");
  // Without `resume` a second stream is still refused.
  EXPECT_EQ(ReasonOf(manager_->OpenUpload(ref, -1, actor_).status()), "UPLOAD_EXISTS");

  UploadStart resume;
  resume.resume = true;
  auto up = manager_->OpenUpload(ref, -1, actor_, resume);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(store_->Get(ref)->state, kStateRecording);
  // A second resume while this one is open: refused.
  EXPECT_EQ(ReasonOf(manager_->OpenUpload(ref, -1, actor_, resume).status()), "UPLOAD_EXISTS");
  ASSERT_TRUE((*up)->Feed(3, Chunk(3)).ok());  // a repeat of what was stored: ignored
  EXPECT_EQ(ReasonOf((*up)->Feed(5, Chunk(5))), "OUT_OF_ORDER_CHUNK");
  for (int i = 4; i <= 5; ++i) {
    ASSERT_TRUE((*up)->Feed(i, Chunk(i, 30000)).ok());
    sent += Chunk(i, 30000);
  }
  auto done = (*up)->Finish(absl::OkStatus());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->duplicates_ignored(), 1);
  EXPECT_EQ(done->chunks_stored(), 2);
  EXPECT_EQ(done->recording().audio_bytes(), static_cast<int64_t>(sent.size()));
  EXPECT_EQ(done->recording().last_sequence(), 5);
  EXPECT_EQ(done->recording().state(), v1::STATE_RECORDING);
  EXPECT_EQ(done->recording().sha256(), Sha256Hex(sent));
  std::string played;
  ASSERT_TRUE(manager_->Download(ref, 0, 0, actor_, [&](v1::DownloadRecordingResponse& m) {
    played += m.audio();
    return true;
  }).ok());
  EXPECT_TRUE(played == sent);
  // One file, counted once; the chain has both storage entries.
  EXPECT_EQ(blobs_->blobs(), 1u);
  EXPECT_EQ(blobs_->partials(), 0u);
  EXPECT_EQ(*store_->Usage("acme"), done->recording().stored_bytes());
  EXPECT_EQ(Count(ChainKinds(), "stored"), 2);
  ExpectVerifies();
  // Nothing to resume after a stream that ended normally.
  EXPECT_EQ(ReasonOf(manager_->OpenUpload(ref, -1, actor_, resume).status()),
            "UPLOAD_NOT_RESUMABLE");
}

TEST_F(RecordingManagerTest, OnlyABrokenStreamOfARecordingNotStoppedIsResumed) {
  Build(int64_t{1} << 30);
  UploadStart resume;
  resume.resume = true;
  // No upload yet: resume opens one.
  RecordingRef fresh = Start("call-fresh");
  auto first = manager_->OpenUpload(fresh, -1, actor_, resume);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->Feed(1, "abcd").ok());
  ASSERT_TRUE((*first)->Finish(absl::OkStatus()).ok());
  // Broken, then stopped: the call is over.
  RecordingRef stopped = Start("call-stopped");
  {
    auto up = *manager_->OpenUpload(stopped, -1, actor_);
    ASSERT_TRUE(up->Feed(1, "abcd").ok());
    (void)up->Finish(absl::CancelledError("broke"));
  }
  ASSERT_TRUE(manager_->Stop(stopped, actor_).ok());
  EXPECT_EQ(ReasonOf(manager_->OpenUpload(stopped, -1, actor_, resume).status()),
            "RECORDING_STOPPED");
  // Ended by a refused chunk (out of order), not a broken stream.
  RecordingRef refused = Start("call-refused");
  {
    auto up = *manager_->OpenUpload(refused, -1, actor_);
    absl::Status st = up->Feed(2, "abcd");
    ASSERT_EQ(ReasonOf(st), "OUT_OF_ORDER_CHUNK");
    (void)up->Finish(st);
  }
  EXPECT_EQ(ReasonOf(manager_->OpenUpload(refused, -1, actor_, resume).status()),
            "UPLOAD_NOT_RESUMABLE");
  EXPECT_EQ(blobs_->partials(), 0u);  // refusals leave no temporary file
}

TEST_F(RecordingManagerTest, AResumedUploadThatCannotBeStoredKeepsWhatWasStoredBefore) {
  Build(500000);  // the first stream and its copy fit, not much more
  RecordingRef ref = Start("call-full");
  std::string sent;
  {
    auto up = *manager_->OpenUpload(ref, -1, actor_);
    for (int i = 1; i <= 2; ++i) {
      ASSERT_TRUE(up->Feed(i, Chunk(i)).ok());
      sent += Chunk(i);
    }
    (void)up->Finish(absl::CancelledError("broke"));
  }
  const RecordingMeta before = *store_->Get(ref);
  UploadStart resume;
  resume.resume = true;
  auto up = *manager_->OpenUpload(ref, -1, actor_, resume);
  absl::Status st;
  for (int i = 3; i <= 10 && st.ok(); ++i) st = up->Feed(i, Chunk(i));
  ASSERT_EQ(ReasonOf(st), "STORAGE_FULL");
  EXPECT_EQ(ReasonOf(up->Finish(st).status()), "STORAGE_FULL");
  auto r = store_->Get(ref);
  EXPECT_EQ(r->state, kStateIncomplete);
  EXPECT_EQ(r->incomplete_reason, "STORAGE_FULL");
  EXPECT_EQ(r->upload, kUploadDone);
  EXPECT_EQ(r->audio_bytes, before.audio_bytes);
  EXPECT_EQ(r->sha256, before.sha256);
  EXPECT_GT(r->lost_bytes, 0);
  EXPECT_EQ(*store_->Usage("acme"), before.stored_bytes);
  std::string played;
  ASSERT_TRUE(manager_->Download(ref, 0, 0, actor_, [&](v1::DownloadRecordingResponse& m) {
    played += m.audio();
    return true;
  }).ok());
  EXPECT_TRUE(played == sent);
  EXPECT_EQ(blobs_->partials(), 0u);
  ExpectVerifies();
}

TEST_F(RecordingManagerTest, AResumedUploadWhoseReplicaDiesIsSalvagedWithTheEarlierAudio) {
  Build(int64_t{1} << 30);
  RecordingRef ref = Start("call-resume-lost");
  std::string sent;
  {
    auto up = *manager_->OpenUpload(ref, -1, actor_);
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(up->Feed(i, Chunk(i)).ok());
      sent += Chunk(i);
    }
    (void)up->Finish(absl::CancelledError("broke"));
  }
  UploadStart resume;
  resume.resume = true;
  auto up = *manager_->OpenUpload(ref, -1, actor_, resume);
  for (int i = 4; i <= 5; ++i) {
    ASSERT_TRUE(up->Feed(i, Chunk(i)).ok());
    sent += Chunk(i);
  }
  blobs_->DropWriters();  // killed mid-stream
  clock_.Advance(absl::Seconds(61));
  auto swept = manager_->SweepUploads();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(swept->salvaged, 1);
  auto r = store_->Get(ref);
  EXPECT_EQ(r->incomplete_reason, "REPLICA_LOST");
  // The whole segments written (old and new): 500,000 bytes sent, 7 whole
  // 64 KiB segments sealed; the rest was in the dead process's memory.
  EXPECT_EQ(r->audio_bytes, 7 * 65536);
  EXPECT_EQ(r->lost_bytes, 500000 - 7 * 65536);
  EXPECT_EQ(*store_->Usage("acme"), r->stored_bytes);
  std::string played;
  ASSERT_TRUE(manager_->Download(ref, 0, 0, actor_, [&](v1::DownloadRecordingResponse& m) {
    played += m.audio();
    return true;
  }).ok());
  EXPECT_TRUE(played == sent.substr(0, 7 * 65536));
  EXPECT_EQ(blobs_->partials(), 0u);
  ExpectVerifies();
}


TEST_F(RecordingManagerTest, ASalvageWithoutATemporaryFileKeepsTheCommittedOneWhole) {
  // A resumed upload whose file replaced the previous one and whose
  // process died before the metadata said so: the upload is open, there is
  // no temporary file, the committed file holds everything.
  Build(int64_t{1} << 30);
  RecordingRef ref = Start("call-committed");
  std::string sent;
  {
    auto up = *manager_->OpenUpload(ref, -1, actor_);
    for (int i = 1; i <= 2; ++i) {
      ASSERT_TRUE(up->Feed(i, Chunk(i)).ok());
      sent += Chunk(i);
    }
    ASSERT_TRUE(up->Finish(absl::CancelledError("broke")).ok());
  }
  ASSERT_TRUE(store_->ResumeUpload(ref, clock_.Now()).ok());
  ASSERT_EQ(blobs_->partials(), 0u);
  clock_.Advance(absl::Seconds(61));
  auto swept = manager_->SweepUploads();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(swept->salvaged, 1);
  auto r = store_->Get(ref);
  EXPECT_EQ(r->incomplete_reason, "REPLICA_LOST");
  EXPECT_EQ(r->audio_bytes, 200000);  // the short last segment too
  EXPECT_EQ(r->lost_bytes, 0);
  EXPECT_EQ(*store_->Usage("acme"), r->stored_bytes);
  std::string played;
  ASSERT_TRUE(manager_->Download(ref, 0, 0, actor_, [&](v1::DownloadRecordingResponse& m) {
    played += m.audio();
    return true;
  }).ok());
  EXPECT_TRUE(played == sent);
  ExpectVerifies();
}

// An id chosen by the caller (the calls consumer's, derived from the call):
// taken again by the same call's start (another request id, or none) it
// answers with the recording there; by another call it is refused. The
// same for a hold's id and its scope and target. Peek reads without audit.
TEST_F(RecordingManagerTest, ChosenIdsAnswerWithWhatIsThere) {
  Build(1 << 20);
  v1::Recording r;
  r.set_call_id("call-9");
  r.set_audio_format(v1::AUDIO_FORMAT_G711_MULAW);
  r.set_announcement_played(true);
  CreateOptions create;
  create.id = "rcall9";
  auto first = manager_->Start("acme", r, "req-1", actor_, create);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->name(), "tenants/acme/recordings/rcall9");
  auto again = manager_->Start("acme", r, "req-2", actor_, create);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->name(), first->name());
  EXPECT_EQ(again->create_time().seconds(), first->create_time().seconds());
  v1::Recording other = r;
  other.set_call_id("call-10");
  EXPECT_EQ(ReasonOf(manager_->Start("acme", other, "", actor_, create).status()),
            "RECORDING_EXISTS");
  CreateOptions bad;
  bad.id = "Not An Id";
  EXPECT_EQ(manager_->Start("acme", r, "", actor_, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  const size_t chain = ChainKinds().size();
  auto peeked = manager_->Peek(RecordingRef{"acme", "rcall9"});
  ASSERT_TRUE(peeked.ok()) << peeked.status();
  EXPECT_TRUE(peeked->announcement_played());
  EXPECT_EQ(ChainKinds().size(), chain);  // not audited
  EXPECT_EQ(ReasonOf(manager_->Peek(RecordingRef{"acme", "rnone"}).status()),
            "RECORDING_NOT_FOUND");

  v1::LegalHold h;
  h.set_scope(v1::HOLD_SCOPE_CALL);
  h.set_target("call-9");
  h.set_reason("ABUSIVE_CALLER: caller flagged as abusive by a1: threats");
  CreateOptions hold_id;
  hold_id.id = "hcall9";
  auto placed = manager_->PlaceHold("acme", h, "", actor_, hold_id);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(placed->name(), "tenants/acme/legalHolds/hcall9");
  auto placed_again = manager_->PlaceHold("acme", h, "", actor_, hold_id);
  ASSERT_TRUE(placed_again.ok()) << placed_again.status();
  EXPECT_EQ(placed_again->name(), placed->name());
  v1::LegalHold elsewhere = h;
  elsewhere.set_target("call-10");
  EXPECT_EQ(ReasonOf(manager_->PlaceHold("acme", elsewhere, "", actor_, hold_id).status()),
            "HOLD_EXISTS");
  auto holds = manager_->ListHolds("acme", v1::ListHoldsRequest());
  ASSERT_TRUE(holds.ok());
  EXPECT_EQ(holds->holds_size(), 1);
  EXPECT_TRUE(manager_->PeekHold("acme", "hcall9").ok());
  EXPECT_EQ(ReasonOf(manager_->PeekHold("acme", "hnone").status()), "HOLD_NOT_FOUND");
  EXPECT_TRUE(manager_->Peek(RecordingRef{"acme", "rcall9"})->legal_hold());
}

}  // namespace
}  // namespace dialgrid::recording
