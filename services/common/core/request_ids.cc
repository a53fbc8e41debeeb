#include "services/common/core/request_ids.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid {

absl::Status ValidateRequestId(absl::string_view request_id, size_t min_length) {
  if (request_id.empty()) return absl::OkStatus();
  if (request_id.size() > kMaxRequestId) {
    return InvalidField("request_id", "FIELD_TOO_LONG",
                        absl::StrCat("must be at most ", kMaxRequestId, " characters, got ",
                                     request_id.size()));
  }
  for (size_t i = 0; i < request_id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(request_id[i]);
    if (c < 0x21 || c > 0x7e) {
      return InvalidField("request_id", "INVALID_REQUEST_ID",
                          absl::StrCat("must be printable ASCII without spaces; byte ", i,
                                       " is not"));
    }
  }
  if (request_id.size() < min_length) {
    return InvalidField("request_id", "INVALID_REQUEST_ID",
                        absl::StrCat("must be at least ", min_length,
                                     " characters here (a random id such as a UUID)"));
  }
  return absl::OkStatus();
}

absl::Status RequestIdReused() {
  return WithMetadata(AlreadyExists("REQUEST_ID_REUSED",
                                    "request_id was used within 24 hours for a different request; "
                                    "a retry must repeat the request exactly, a new request needs "
                                    "a new id"),
                      "field", "request_id");
}

}  // namespace dialgrid
