#pragma once

// Checks on short free text from clients: display names, external ids,
// person names, attribute keys and values. Every service validates such
// fields with ValidateText so they are refused the same way everywhere.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dialgrid {

// kSingleLine for names and ids; kMultiLine for notes-like values (contact
// attributes), which may also hold tab, LF and CR.
enum class TextKind { kSingleLine, kMultiLine };

// Byte offset of the first code point plain text may not contain, or
// absl::string_view::npos when there is none. Plain text is valid UTF-8 (no
// overlong forms, surrogates or code points past U+10FFFF) without:
//  - C0 controls U+0000..U+001F (NUL, tab, newline...; kMultiLine allows
//    tab, LF and CR), DEL U+007F and C1 controls U+0080..U+009F;
//  - the Unicode bidirectional controls (property Bidi_Control): U+061C,
//    U+200E, U+200F, U+202A..U+202E and U+2066..U+2069, which make text show
//    in another order than it is stored in ("Trojan Source").
// One pass over the bytes.
size_t FirstInvalidTextOffset(absl::string_view text, TextKind kind = TextKind::kSingleLine);

inline bool IsPlainText(absl::string_view text, TextKind kind = TextKind::kSingleLine) {
  return FirstInvalidTextOffset(text, kind) == absl::string_view::npos;
}

// OK for plain text (the empty string included; callers check presence and
// length). Otherwise INVALID_ARGUMENT about `field` with reason INVALID_TEXT;
// the message gives the byte offset, never the text itself.
absl::Status ValidateText(absl::string_view field, absl::string_view text,
                          TextKind kind = TextKind::kSingleLine);

}  // namespace dialgrid
