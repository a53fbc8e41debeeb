#include "services/contacts/domain/csv_reader.h"

namespace dialgrid::contacts {

void CsvReader::EndField() {
  if (after_quote_garbage_ && record_.error.empty()) record_.error = "MALFORMED_QUOTES";
  record_.fields.push_back(std::move(field_));
  field_.clear();
  field_was_quoted_ = false;
  after_quote_garbage_ = false;
}

void CsvReader::EndRecord(const Sink& sink) {
  EndField();
  // A blank line is not a record.
  bool blank = record_.fields.size() == 1 && record_.fields[0].empty() && record_.error.empty();
  if (!blank) sink(record_);
  record_ = Record();
  record_started_ = false;
  record_bytes_ = 0;
}

void CsvReader::EndSkippedRecord(char terminator, const Sink& sink) {
  record_.fields.clear();
  record_.error = "RECORD_TOO_LONG";
  sink(record_);
  record_ = Record();
  record_started_ = false;
  record_bytes_ = 0;
  skipping_ = false;
  in_quotes_ = false;
  quote_pending_ = false;
  field_was_quoted_ = false;
  after_quote_garbage_ = false;
  field_.clear();
  pending_cr_ = terminator == '\r';
}

void CsvReader::Feed(absl::string_view bytes, const Sink& sink) {
  bytes_seen_ += static_cast<int64_t>(bytes.size());
  size_t i = 0;
  if (at_start_) {
    // Strip a UTF-8 BOM, which may itself be split across chunks.
    while (i < bytes.size() && bom_buffer_.size() < 3) bom_buffer_.push_back(bytes[i++]);
    if (bom_buffer_.size() < 3) return;
    at_start_ = false;
    std::string head = bom_buffer_ == "\xEF\xBB\xBF" ? std::string() : bom_buffer_;
    bom_buffer_.clear();
    Feed(head, sink);
    bytes_seen_ -= static_cast<int64_t>(head.size());
  }
  for (; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (!record_started_) {
      record_started_ = true;
      record_.line = line_;
    }
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') continue;  // CRLF already ended the record
    }
    if (skipping_) {
      // Quotes still count while skipping, so a newline inside the long
      // quoted field does not end the record ("" toggles twice: no change).
      if (c == '"') {
        in_quotes_ = !in_quotes_;
        continue;
      }
      if (c == '\n') ++line_;
      if ((c == '\n' || c == '\r') && !in_quotes_) EndSkippedRecord(c, sink);
      continue;
    }
    if (++record_bytes_ > max_record_bytes_) {
      skipping_ = true;
      // Carry the quote state into skipping mode: a pending '"' followed by
      // another is an escaped quote (still inside), otherwise it closed.
      if (quote_pending_) {
        quote_pending_ = false;
        if (c != '"') in_quotes_ = false;
      } else if (c == '"') {
        in_quotes_ = !in_quotes_;
      } else if (c == '\n' || c == '\r') {
        // Only reachable outside quotes: the limit hit exactly at a line end.
        if (!in_quotes_) {
          if (c == '\n') ++line_;
          EndSkippedRecord(c, sink);
          continue;
        }
      }
      field_.clear();
      field_.shrink_to_fit();
      continue;
    }
    if (in_quotes_) {
      if (quote_pending_) {
        quote_pending_ = false;
        if (c == '"') {
          field_.push_back('"');
          continue;
        }
        in_quotes_ = false;  // the quote closed the field; fall through
      } else if (c == '"') {
        quote_pending_ = true;
        continue;
      } else {
        if (c == '\n') ++line_;
        field_.push_back(c);
        continue;
      }
    }
    switch (c) {
      case ',':
        EndField();
        break;
      case '\r':
      case '\n':
        ++line_;
        EndRecord(sink);
        pending_cr_ = c == '\r';
        break;
      case '"':
        if (field_.empty() && !field_was_quoted_) {
          in_quotes_ = true;
          field_was_quoted_ = true;
        } else {
          if (record_.error.empty()) record_.error = "MALFORMED_QUOTES";
          field_.push_back(c);
        }
        break;
      default:
        if (field_was_quoted_) after_quote_garbage_ = true;
        field_.push_back(c);
    }
  }
}

void CsvReader::Finish(const Sink& sink) {
  if (at_start_ && !bom_buffer_.empty()) {
    at_start_ = false;
    std::string head = bom_buffer_ == "\xEF\xBB\xBF" ? std::string() : bom_buffer_;
    bom_buffer_.clear();
    Feed(head, sink);
  }
  if (skipping_) {
    EndSkippedRecord('\0', sink);
    return;
  }
  if (quote_pending_) {  // closing quote was the last byte
    quote_pending_ = false;
    in_quotes_ = false;
  }
  if (in_quotes_) {
    record_.error = "UNBALANCED_QUOTE";
    EndField();
    sink(record_);
    record_ = Record();
    record_started_ = false;
    in_quotes_ = false;
    return;
  }
  if (record_started_ && (!field_.empty() || !record_.fields.empty() || field_was_quoted_)) {
    EndRecord(sink);
  }
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<size_t>(len);
  }
  return true;
}

}  // namespace dialgrid::contacts
