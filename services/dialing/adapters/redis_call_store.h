#pragma once

// CallStore on Redis. Keys of a tenant T (hash tag {t:T}, one slot):
//   {t:T}:call:<id>                 hash: def (the Call, serialized), lease,
//                                   attempts, awaiting; expires `retention`
//                                   after its last write
//   {t:T}:calls-open:<campaign>     zset of the campaign's open calls (score:
//                                   dial time, ms)
//   {t:T}:lines                     zset: the tenant's calls holding a line
//                                   (not ended), by dial time, all campaigns
//   {t:T}:hopper:<campaign>         hash: contact name -> its lease
//                                   (contacts.v1.LeasedContact), leased and
//                                   not dialed yet
//   {t:T}:campaign-owner:<campaign> "<token>|<instance>", with a TTL: the
//                                   replica pacing the running campaign
//   {t:T}:campaign-fence:<campaign> the campaign's last fencing token
//   {t:T}:inbound-blocked           hash: number digits -> v1.BlockedNumber
//                                   (serialized), the inbound block list
//   {t:T}:outbox:dialing            the tenant's events
// Every call write checks the owner in the same script (same slot), so a
// replica that lost a campaign cannot write its calls any more.

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/dialing/ports/call_path.h"

namespace dialgrid::dialing {

class RedisCallStore final : public CallStore {
 public:
  RedisCallStore(std::shared_ptr<redis::Client> redis, std::shared_ptr<events::RedisOutbox> outbox,
                 absl::Duration retention);

  absl::StatusOr<int64_t> Own(const std::string& tenant, const std::string& campaign,
                              const std::string& instance, absl::Duration ttl) override;
  absl::Status Disown(const std::string& tenant, const std::string& campaign,
                      const std::string& instance) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AwaitingDisposition(
      absl::Time ended_before, int max) override;
  absl::Status ForgetAwaiting(const std::string& tenant, const std::string& id) override;
  absl::StatusOr<int> Advertise(const std::string& instance, const std::string& address,
                                absl::Duration ttl) override;
  absl::StatusOr<Owner> CampaignOwner(const std::string& tenant,
                                      const std::string& campaign) override;
  absl::Status Put(const std::string& tenant, const std::string& campaign_id,
                   const StoredCall& call, int64_t token,
                   const std::vector<event::v1::Envelope>& events,
                   int64_t max_tenant_lines) override;
  absl::Status AddToHopper(const std::string& tenant, const std::string& campaign_id,
                           const std::vector<LeasedContact>& leases) override;
  absl::Status RemoveFromHopper(const std::string& tenant, const std::string& campaign_id,
                                const std::string& contact) override;
  absl::StatusOr<std::vector<LeasedContact>> Hopper(const std::string& tenant,
                                                    const std::string& campaign_id) override;
  absl::Status PutAgentCallback(const std::string& tenant, const std::string& campaign_id,
                                const std::string& contact,
                                const AgentCallback& callback) override;
  absl::Status RemoveAgentCallback(const std::string& tenant, const std::string& campaign_id,
                                   const std::string& contact) override;
  absl::StatusOr<std::map<std::string, AgentCallback>> AgentCallbacks(
      const std::string& tenant, const std::string& campaign_id) override;
  absl::Status PutProgress(const std::string& tenant, const std::string& campaign_id,
                           const v1::CampaignProgress& progress, absl::Duration ttl) override;
  absl::StatusOr<v1::CampaignProgress> GetProgress(const std::string& tenant,
                                                   const std::string& campaign_id) override;
  absl::Status PutCallerIds(const std::string& tenant, const std::string& campaign_id,
                            const std::vector<v1::CallerIdStatus>& statuses,
                            const std::vector<event::v1::Envelope>& events) override;
  absl::StatusOr<std::vector<v1::CallerIdStatus>> GetCallerIds(
      const std::string& tenant, const std::string& campaign_id) override;
  absl::Status Publish(const std::string& tenant,
                       const std::vector<event::v1::Envelope>& events) override;
  absl::Status BlockNumber(const std::string& tenant, const v1::BlockedNumber& blocked,
                           const std::vector<event::v1::Envelope>& events) override;
  absl::StatusOr<v1::BlockedNumber> GetBlockedNumber(const std::string& tenant,
                                                     const std::string& digits) override;
  absl::Status UnblockNumber(const std::string& tenant, const std::string& digits,
                             const std::vector<event::v1::Envelope>& events) override;
  absl::StatusOr<std::vector<v1::BlockedNumber>> BlockedNumbers(const std::string& tenant) override;
  absl::StatusOr<StoredCall> Get(const std::string& tenant, const std::string& id) override;
  absl::StatusOr<std::vector<StoredCall>> Open(const std::string& tenant,
                                               const std::string& campaign_id) override;

 private:
  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
  absl::Duration retention_;
  std::mutex mu_;
  std::set<std::string> awaiting_tenants_;  // hinted by this process already
};

}  // namespace dialgrid::dialing
