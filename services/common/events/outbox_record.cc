#include "services/common/events/outbox_record.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dialgrid::events {

std::string FrameRecord(char kind, absl::string_view bytes) {
  return absl::StrCat(absl::string_view(&kind, 1), absl::StrFormat("%010d", bytes.size()), bytes);
}

absl::StatusOr<Frame> UnframeRecord(absl::string_view record) {
  size_t len = 0;
  if (record.size() < 11 || !absl::SimpleAtoi(record.substr(1, 10), &len) ||
      record.size() - 11 < len) {
    return absl::DataLossError("a record in Redis is not framed");
  }
  return Frame{record[0], record.substr(11, len), record.substr(11 + len)};
}

std::string EnvelopeRecord(const event::v1::Envelope& event) {
  return FrameRecord('E', event.SerializeAsString());
}

void AppendEnvelopeRecords(const std::vector<event::v1::Envelope>& events,
                           std::vector<std::string>& out) {
  for (const auto& e : events) out.push_back(EnvelopeRecord(e));
}

absl::StatusOr<event::v1::Envelope> DecodeEnvelopeRecord(absl::string_view record) {
  auto f = UnframeRecord(record);
  if (!f.ok()) return f.status();
  event::v1::Envelope env;
  if (f->kind != 'E' || !f->rest.empty() ||
      !env.ParseFromArray(f->bytes.data(), static_cast<int>(f->bytes.size()))) {
    return absl::DataLossError("an outbox record does not decode");
  }
  return env;
}

}  // namespace dialgrid::events
