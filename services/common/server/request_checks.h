#pragma once

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace dialgrid {

// Checks what the wire format lets a client send but no handler should see,
// anywhere in `request` (nested messages, repeated fields and maps included):
//  - every enum value against its enum's defined values (UNKNOWN_ENUM_VALUE);
//  - every google.protobuf.Duration is one (|seconds| <= 10,000 years, |nanos|
//    < 1e9, both of one sign: INVALID_DURATION), every Timestamp within
//    0001-01-01..9999-12-31 with 0 <= nanos < 1e9 (INVALID_TIME).
// proto3 enums are open: a client may send any number, and generated code
// keeps it as is, so a handler comparing against named values would treat
// an undefined one like whichever branch its `else` takes. Refusing it here,
// for every request of every service, means an unknown value can never widen
// what is allowed. INVALID_ARGUMENT with the reason above, naming the field
// path (e.g. "entries[2].callee.time_zone_source"). google.protobuf.Any
// payloads are not entered (their type is the receiver's to check).
absl::Status CheckRequestValues(const google::protobuf::Message& request);

}  // namespace dialgrid
