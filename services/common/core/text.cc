#include "services/common/core/text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid {
namespace {

bool IsControl(uint32_t cp, TextKind kind) {
  if (kind == TextKind::kMultiLine && (cp == '\t' || cp == '\n' || cp == '\r')) return false;
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool IsBidiControl(uint32_t cp) {
  return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

size_t FirstInvalidTextOffset(absl::string_view text, TextKind kind) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return i;  // a continuation byte first, or 0xf8..0xff
    }
    if (len > n - i) return i;  // truncated sequence
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                          (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || IsControl(cp, kind) ||
        IsBidiControl(cp)) {
      return i;
    }
    i += len;
  }
  return absl::string_view::npos;
}

absl::Status ValidateText(absl::string_view field, absl::string_view text, TextKind kind) {
  const size_t bad = FirstInvalidTextOffset(text, kind);
  if (bad == absl::string_view::npos) return absl::OkStatus();
  return InvalidField(field, "INVALID_TEXT",
                      absl::StrCat("must be UTF-8 without control or text-direction characters "
                                   "(first bad character at byte ",
                                   bad, ")"));
}

}  // namespace dialgrid
