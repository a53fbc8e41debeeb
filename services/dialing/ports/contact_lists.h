#pragma once

// What the dialing service asks of contacts about a campaign's lists.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace dialgrid::dialing {

class ContactLists {
 public:
  virtual ~ContactLists() = default;
  // OK when every list exists; INVALID_ARGUMENT CONTACT_LIST_NOT_FOUND
  // naming the first that does not; UNAVAILABLE when contacts cannot tell
  // (nothing is assumed). `deadline`: of the call being served.
  virtual absl::Status CheckExist(const std::vector<std::string>& lists, absl::Time deadline) = 0;
};

}  // namespace dialgrid::dialing
