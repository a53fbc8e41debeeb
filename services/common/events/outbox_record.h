#pragma once

// How an outbox (or audit) record is framed in Redis, by Lua scripts and C++
// alike: "<kind><10-digit length><bytes><rest>". Kind 'E' holds a serialized
// event::v1::Envelope and nothing after it; services may define other kinds
// (compliance's 'D': a decision completed by the script's verdict in `rest`).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/event/v1/envelope.pb.h"

namespace dialgrid::events {

struct Frame {
  char kind = 0;
  absl::string_view bytes;
  absl::string_view rest;
};

std::string FrameRecord(char kind, absl::string_view bytes);
// DATA_LOSS when the record is not framed.
absl::StatusOr<Frame> UnframeRecord(absl::string_view record);

// An 'E' record of `event`.
std::string EnvelopeRecord(const event::v1::Envelope& event);
// Appends an 'E' record of each event to `out` (e.g. a script's ARGV).
void AppendEnvelopeRecords(const std::vector<event::v1::Envelope>& events,
                           std::vector<std::string>& out);
// Decodes an 'E' record; DATA_LOSS for anything else.
absl::StatusOr<event::v1::Envelope> DecodeEnvelopeRecord(absl::string_view record);

}  // namespace dialgrid::events
