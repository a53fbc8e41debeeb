#pragma once

// Where campaigns live. A campaign is stored whole (the API's Campaign,
// serialized) with its etag; every write is one atomic step in the tenant's
// slot with its events, guarded by the etag the caller read.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/event/v1/envelope.pb.h"

namespace dialgrid::dialing {

using Events = std::vector<event::v1::Envelope>;

struct StoredCampaign {
  std::string definition;  // v1::Campaign, serialized
  std::string etag;
};

class CampaignStore {
 public:
  virtual ~CampaignStore() = default;

  // Creates the campaign if its id is free. With a request id: a retry of the
  // same request (same `fingerprint`) answers kReplayed and writes nothing;
  // another request under the same id is ALREADY_EXISTS REQUEST_ID_REUSED.
  // ALREADY_EXISTS CAMPAIGN_EXISTS when the id is taken.
  enum class Created { kCreated, kReplayed };
  virtual absl::StatusOr<Created> Create(const std::string& tenant, const std::string& id,
                                         const StoredCampaign& campaign,
                                         absl::string_view request_id,
                                         absl::string_view fingerprint, const Events& events) = 0;

  // NOT_FOUND CAMPAIGN_NOT_FOUND when it does not exist.
  virtual absl::StatusOr<StoredCampaign> Get(const std::string& tenant, const std::string& id) = 0;

  // Up to `max` campaign ids after `after` (exclusive), in id order.
  virtual absl::StatusOr<std::vector<std::string>> ListIds(const std::string& tenant,
                                                           absl::string_view after, int max) = 0;

  // Replaces the campaign if its etag is still `etag`; `running` says
  // whether it is now RUNNING (the set of running campaigns the dialer
  // follows). ABORTED ETAG_MISMATCH, NOT_FOUND.
  virtual absl::Status Replace(const std::string& tenant, const std::string& id,
                               absl::string_view etag, const StoredCampaign& campaign,
                               bool running, const Events& events) = 0;

  // Deletes the campaign if its etag is still `etag`.
  virtual absl::Status Delete(const std::string& tenant, const std::string& id,
                              absl::string_view etag, const Events& events) = 0;

  // The running campaigns ("<tenant>/<campaign>"), for the dialer.
  virtual absl::StatusOr<std::vector<std::string>> Running() = 0;

  // Who holds an inbound number across the platform ("<tenant>/<campaign>",
  // empty when nobody): an index the campaigns write beside themselves (the
  // campaign's own settings are the truth).
  virtual absl::StatusOr<std::string> InboundNumberHolder(const std::string& number) = 0;
  // Sets the holder of `number` to `holder` (empty: frees it) only if it is
  // still `expected`; false when it changed meanwhile.
  virtual absl::StatusOr<bool> SwapInboundNumberHolder(const std::string& number,
                                                       const std::string& expected,
                                                       const std::string& holder) = 0;
};

}  // namespace dialgrid::dialing
