#pragma once

// Campaigns over the CampaignStore port: create (idempotent by request id),
// read, list, update with field masks and etags, delete, and the lifecycle
// (start, pause, resume, stop with a reason), each write with its event. No
// Redis, gRPC or Kafka here.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "services/common/core/clock.h"
#include "services/dialing/domain/campaign_rules.h"
#include "services/dialing/ports/campaign_store.h"
#include "services/dialing/ports/contact_lists.h"

namespace dialgrid::dialing {

struct CampaignOptions {
  std::string producer = "dialing";
  int max_attempts = 8;  // of an update when other writes keep coming first
};

// "tenants/{t}/campaigns/{c}" <-> {t, c}.
struct CampaignKey {
  std::string tenant;
  std::string id;
};
absl::StatusOr<CampaignKey> ParseCampaignName(absl::string_view field, absl::string_view name);

class CampaignManager {
 public:
  // `lists` checks that a campaign's contact lists exist (may be null: not
  // checked, for unit tests).
  CampaignManager(std::shared_ptr<CampaignStore> store, std::shared_ptr<ContactLists> lists,
                  const Clock& clock, CampaignOptions options = {});

  struct Caller {
    std::string actor;      // credential name, for the audit
    absl::Time deadline = absl::InfiniteFuture();
    std::string time_zone;  // the tenant's, for defaults
  };

  absl::StatusOr<v1::Campaign> Create(const v1::CreateCampaignRequest& request,
                                      const Caller& caller);
  absl::StatusOr<v1::Campaign> Get(const CampaignKey& key);
  absl::StatusOr<v1::ListCampaignsResponse> List(const v1::ListCampaignsRequest& request);
  absl::StatusOr<v1::Campaign> Update(const v1::Campaign& patch,
                                      const std::vector<std::string>& mask, const Caller& caller);
  absl::Status Delete(const CampaignKey& key, absl::string_view etag, const Caller& caller);
  // Start, pause, resume, stop; `reason` for pause and stop (required).
  absl::StatusOr<v1::Campaign> Transition(const CampaignKey& key, CampaignAction action,
                                          absl::string_view reason, const Caller& caller);

 private:
  absl::StatusOr<v1::Campaign> Parse(const StoredCampaign& stored) const;
  std::string NewEtag() const;
  // Claims the inbound numbers `next` adds to `current` (nullptr: a new
  // campaign) in the platform's index, before the campaign is written:
  // ALREADY_EXISTS INBOUND_NUMBER_TAKEN when another campaign (of any
  // tenant) lists one; nothing stays claimed then. Answers what it claimed.
  absl::StatusOr<std::vector<std::string>> ClaimNumbers(const CampaignKey& key,
                                                        const v1::Campaign* current,
                                                        const v1::Campaign& next);
  // Frees `numbers` where `key` holds them (best effort: a number left
  // claimed is taken over once its campaign no longer lists it).
  void ReleaseNumbers(const CampaignKey& key, const std::vector<std::string>& numbers);

  std::shared_ptr<CampaignStore> store_;
  std::shared_ptr<ContactLists> lists_;
  const Clock& clock_;
  CampaignOptions options_;
};

}  // namespace dialgrid::dialing
