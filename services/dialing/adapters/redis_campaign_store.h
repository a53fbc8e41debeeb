#pragma once

// CampaignStore on Redis. Keys of a tenant T (hash tag {t:T}, one slot):
//   {t:T}:campaign:<id>         hash: def (the Campaign, serialized), etag
//   {t:T}:campaigns             zset of campaign ids (score 0: id order)
//   {t:T}:campaign-req:<rid>    a create's request id: "<fingerprint>|<id>" (a day)
//   {t:T}:outbox:dialing        the tenant's events (services/common/events)
// and, outside the tenants' slots, a hint for the dialer:
//   {dg}:dialing:running        set of "<tenant>/<campaign>" that are RUNNING
//                               (written right after the campaign; the
//                               campaign's own state is the truth)
//   {dg}:dialing:inbound-numbers hash: E.164 number -> "<tenant>/<campaign>"
//                               of the blended campaign it reaches (claimed
//                               before the campaign is written, freed after;
//                               the campaign's own numbers are the truth)

#include <memory>

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/dialing/ports/campaign_store.h"

namespace dialgrid::dialing {

class RedisCampaignStore final : public CampaignStore {
 public:
  RedisCampaignStore(std::shared_ptr<redis::Client> redis,
                     std::shared_ptr<events::RedisOutbox> outbox);

  absl::StatusOr<Created> Create(const std::string& tenant, const std::string& id,
                                 const StoredCampaign& campaign, absl::string_view request_id,
                                 absl::string_view fingerprint, const Events& events) override;
  absl::StatusOr<StoredCampaign> Get(const std::string& tenant, const std::string& id) override;
  absl::StatusOr<std::vector<std::string>> ListIds(const std::string& tenant,
                                                   absl::string_view after, int max) override;
  absl::Status Replace(const std::string& tenant, const std::string& id, absl::string_view etag,
                       const StoredCampaign& campaign, bool running,
                       const Events& events) override;
  absl::Status Delete(const std::string& tenant, const std::string& id, absl::string_view etag,
                      const Events& events) override;
  absl::StatusOr<std::vector<std::string>> Running() override;
  absl::StatusOr<std::string> InboundNumberHolder(const std::string& number) override;
  absl::StatusOr<bool> SwapInboundNumberHolder(const std::string& number,
                                               const std::string& expected,
                                               const std::string& holder) override;

  static constexpr char kRunningKey[] = "{dg}:dialing:running";
  static constexpr char kInboundNumbersKey[] = "{dg}:dialing:inbound-numbers";

 private:
  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
};

}  // namespace dialgrid::dialing
