#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace dialgrid::contacts {

// Streaming RFC 4180 reader: bytes go in by chunks of any size (a record may
// span chunks); complete records come out. Memory is bounded by the longest
// record allowed. Handles quoted fields with embedded commas, quotes ("")
// and newlines, CRLF or LF line ends, and a UTF-8 byte-order mark.
class CsvReader {
 public:
  struct Record {
    int64_t line = 0;  // 1-based physical line where the record starts
    std::vector<std::string> fields;
    std::string error;  // non-empty: the record is unusable (reason code)
  };
  using Sink = std::function<void(Record&)>;

  explicit CsvReader(size_t max_record_bytes = 1 << 20) : max_record_bytes_(max_record_bytes) {}

  // Feeds bytes; calls `sink` for each complete record.
  void Feed(absl::string_view bytes, const Sink& sink);
  // End of input: flushes the last record (without a trailing newline) and
  // reports an unterminated quoted field as UNBALANCED_QUOTE.
  void Finish(const Sink& sink);

  int64_t bytes_seen() const { return bytes_seen_; }

 private:
  void EndField();
  void EndRecord(const Sink& sink);
  // Reports the over-long record being skipped and resets the parser state.
  void EndSkippedRecord(char terminator, const Sink& sink);

  size_t max_record_bytes_;
  int64_t bytes_seen_ = 0;
  int64_t line_ = 1;
  bool at_start_ = true;      // BOM check pending
  std::string bom_buffer_;
  bool in_quotes_ = false;
  bool quote_pending_ = false;  // saw '"' inside quotes: end or escaped quote
  bool field_was_quoted_ = false;
  bool after_quote_garbage_ = false;
  bool skipping_ = false;       // record too long: drop until newline
  bool pending_cr_ = false;
  size_t record_bytes_ = 0;
  std::string field_;
  Record record_;
  bool record_started_ = false;
};

// True when `s` is valid UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(absl::string_view s);

}  // namespace dialgrid::contacts
