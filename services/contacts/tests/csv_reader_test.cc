#include "services/contacts/domain/csv_reader.h"

#include <gtest/gtest.h>

namespace dialgrid::contacts {
namespace {

std::vector<CsvReader::Record> ReadAll(const std::string& input, size_t chunk = 0,
                                       size_t max_record = 1 << 20) {
  CsvReader reader(max_record);
  std::vector<CsvReader::Record> out;
  auto sink = [&](CsvReader::Record& r) { out.push_back(r); };
  if (chunk == 0) chunk = input.size() + 1;
  for (size_t i = 0; i < input.size(); i += chunk) reader.Feed(input.substr(i, chunk), sink);
  reader.Finish(sink);
  return out;
}

TEST(CsvReader, PlainQuotedEmbeddedAndCrlf) {
  std::string in = "a,b,c\r\n1,\"x, y\",\"he said \"\"hi\"\"\"\r\n2,\"multi\nline\",\r\n";
  for (size_t chunk : {0, 1, 2, 3, 7}) {
    auto rows = ReadAll(in, chunk);
    ASSERT_EQ(rows.size(), 3u) << chunk;
    EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"1", "x, y", "he said \"hi\""}));
    EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"2", "multi\nline", ""}));
    EXPECT_EQ(rows[2].line, 3);
    for (const auto& r : rows) EXPECT_EQ(r.error, "");
  }
}

TEST(CsvReader, BomIsStrippedEvenWhenSplit) {
  std::string in = "\xEF\xBB\xBFid,phone\n1,555\n";
  for (size_t chunk : {0, 1, 2}) {
    auto rows = ReadAll(in, chunk);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].fields[0], "id") << chunk;
  }
}

TEST(CsvReader, LastRowWithoutNewlineAndBlankLines) {
  auto rows = ReadAll("a,b\n\n1,2");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(ReadAll("").empty());
}

TEST(CsvReader, UnbalancedQuoteIsReported) {
  auto rows = ReadAll("a,b\n1,\"never closed\n2,3\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].error, "UNBALANCED_QUOTE");
}

TEST(CsvReader, StrayQuotesAreMalformed) {
  auto rows = ReadAll("a,b\n1,ab\"c\n2,\"x\"y\n3,ok\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].error, "MALFORMED_QUOTES");
  EXPECT_EQ(rows[2].error, "MALFORMED_QUOTES");
  EXPECT_EQ(rows[3].error, "");
}

TEST(CsvReader, OverlongRecordIsSkippedAndReadingResumes) {
  std::string big(5000, 'x');
  auto rows = ReadAll("a,b\n1," + big + "\n2,ok\n", 64, 1000);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].error, "RECORD_TOO_LONG");
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"2", "ok"}));
}

TEST(Utf8, ValidAndInvalid) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("Zürich — 東京 😀"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
}

}  // namespace
}  // namespace dialgrid::contacts

namespace dialgrid::contacts {
namespace {

// Regression: while skipping an over-long quoted field, a newline inside the
// quotes ended the record and the rest of the field was read as new rows.
TEST(CsvReader, OverlongQuotedFieldWithNewlinesIsSkippedWhole) {
  std::string big(3000, 'x');
  auto rows = ReadAll("a,b\n1,\"" + big + "\nstill, \"\"inside\"\"\n" + big + "\"\n2,ok\n3,ok\n", 100,
                      1000);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].error, "RECORD_TOO_LONG");
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"2", "ok"}));
  EXPECT_EQ(rows[3].fields, (std::vector<std::string>{"3", "ok"}));
}

}  // namespace
}  // namespace dialgrid::contacts

namespace dialgrid::contacts {
namespace {

TEST(CsvReader, OverlongQuotedFieldAcrossMegabyteChunks) {
  std::string csv = "h1,h2,h3,h4,h5,h6\nm1,Short,One,+1 212 201 0311,1,gold\nm2,\"" +
                    std::string(2 << 20, 'x') + "\n,\"\"\",Long,+1 212 201 0312,1,gold\n" +
                    "m3,Short,Three,+1 212 201 0313,1,gold\nm4,Short,Four,+1 212 201 0314,1,gold\n";
  auto rows = ReadAll(csv, 1 << 20);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[2].error, "RECORD_TOO_LONG");
  EXPECT_EQ(rows[3].fields[0], "m3");
  EXPECT_EQ(rows[3].error, "");
  EXPECT_EQ(rows[4].fields[0], "m4");
}

}  // namespace
}  // namespace dialgrid::contacts
