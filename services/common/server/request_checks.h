#pragma once

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace dialgrid {

// Checks every enum value set anywhere in `request` (nested messages,
// repeated fields and maps included) against its enum's defined values.
// proto3 enums are open: a client may send any number, and generated code
// keeps it as is, so a handler comparing against named values would treat
// an undefined one like whichever branch its `else` takes. Refusing it here,
// for every request of every service, means an unknown value can never widen
// what is allowed. INVALID_ARGUMENT UNKNOWN_ENUM_VALUE naming the field path
// (e.g. "entries[2].callee.line_type"). google.protobuf.Any payloads are not
// entered (their type is the receiver's to check).
absl::Status CheckEnumValues(const google::protobuf::Message& request);

}  // namespace dialgrid
