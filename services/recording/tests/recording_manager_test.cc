// The manager over the in-memory fakes (testing/): no Redis, no disk.
#include "services/recording/application/recording_manager.h"

#include <gtest/gtest.h>

#include "services/common/core/errors.h"
#include "services/recording/testing/in_memory_recording_store.h"

namespace dialgrid::recording {
namespace {

class RecordingManagerTest : public ::testing::Test {
 protected:
  void Build(int64_t capacity) {
    blobs_ = std::make_shared<testing::InMemoryBlobStore>(capacity);
    manager_ = std::make_unique<RecordingManager>(store_, blobs_,
                                                  std::make_shared<testing::FixedKeyRing>(),
                                                  clock_, RecordingOptions());
  }
  RecordingRef Start() {
    v1::Recording r;
    r.set_call_id("call");
    r.set_audio_format(v1::AUDIO_FORMAT_PCM_S16LE_16K);
    auto started = manager_->Start("acme", r, "", actor_);
    EXPECT_TRUE(started.ok()) << started.status();
    return *RecordingManager::ParseRecordingName("name", started->name());
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

}  // namespace
}  // namespace dialgrid::recording
