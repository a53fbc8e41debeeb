#include "services/recording/domain/hash_chain.h"

#include <gtest/gtest.h>

namespace dialgrid::recording {
namespace {

std::vector<std::string> Chain(int n, std::string* head) {
  std::vector<std::string> out;
  std::string prev = kChainGenesis;
  for (int i = 1; i <= n; ++i) {
    ChainDraft d{i % 2 ? kChainCreated : kChainStored, "r" + std::to_string((i + 1) / 2), "k1",
                 "sha256=aa file_sha256=bb", absl::FromUnixSeconds(1000 + i)};
    out.push_back(ChainRecord(d, i, prev));
    prev = HashOfRecord(out.back());
  }
  *head = prev;
  return out;
}

TEST(HashChain, AnIntactChainChecksAndGivesFacts) {
  std::string head;
  auto c = Chain(6, &head);
  ChainCheck check = CheckChain(c, head, 6);
  EXPECT_TRUE(check.breaks.empty());
  ASSERT_EQ(check.recordings.count("r2"), 1u);
  EXPECT_EQ(check.recordings["r2"].created_seq, 3);
  EXPECT_EQ(check.recordings["r2"].stored_seq, 4);
  EXPECT_EQ(check.recordings["r2"].stored_file_sha256, "bb");
  EXPECT_TRUE(CheckChain({}, "", 0).breaks.empty());
}

TEST(HashChain, RemovedAlteredAndTruncatedEntriesAreFound) {
  std::string head;
  auto c = Chain(6, &head);
  auto removed = c;
  removed.erase(removed.begin() + 2);
  auto check = CheckChain(removed, head, 6);
  ASSERT_EQ(check.breaks.size(), 1u);
  EXPECT_EQ(check.breaks[0].entry, 3);
  EXPECT_NE(check.breaks[0].detail.find("missing"), std::string::npos);

  auto altered = c;
  altered[1].replace(altered[1].find("aa"), 2, "ab");
  check = CheckChain(altered, head, 6);
  ASSERT_FALSE(check.breaks.empty());
  EXPECT_EQ(check.breaks[0].entry, 2);

  auto truncated = c;
  truncated.pop_back();
  check = CheckChain(truncated, head, 6);
  ASSERT_EQ(check.breaks.size(), 1u);
  EXPECT_TRUE(check.breaks[0].head);
}

}  // namespace
}  // namespace dialgrid::recording
