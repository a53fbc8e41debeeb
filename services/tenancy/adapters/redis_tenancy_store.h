#pragma once

#include <memory>

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/tenancy/ports/tenancy_store.h"

namespace dialgrid::tenancy {

// TenancyStore on Redis. Keys (see README), <tag> = {t:<tenant>} or {vendor}:
//   {t:<tenant>}:tenant                 HASH proto, etag
//   {dg}:tenants                        ZSET of tenant ids (lexicographic listing)
//   <tag>:credential:<id>               HASH proto, hash, tenant
//   <tag>:credentials                   ZSET of credential ids
//   {dg}:credential-index               HASH credential id -> tenant ("" = vendor)
//   <tag>:request:<index>               STRING sealed answer of a create (PX 24 h)
//   {vendor}:tenant-claim:<index>       STRING tenant id a CreateTenant request id is for (PX 24 h)
//   <tag>:outbox:tenancy                LIST events of the changes (RedisOutbox)
// Each script (adapters/lua/) touches the keys of one <tag> only; the {dg}
// and {vendor} claims are single commands made before the script (README).
class RedisTenancyStore final : public TenancyStore {
 public:
  // `outbox` is the "tenancy" stream's; every write appends its events there.
  RedisTenancyStore(std::shared_ptr<redis::Client> redis,
                    std::shared_ptr<events::RedisOutbox> outbox);

  absl::StatusOr<Created> CreateTenant(const v1::Tenant& tenant, const Events& events,
                                       const RequestRecord& request) override;
  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& page,
                                                      std::string& next_after) override;
  absl::Status ReplaceTenant(const v1::Tenant& tenant, absl::string_view expected_etag,
                             const Events& events) override;
  absl::StatusOr<Created> CreateCredential(const StoredCredential& credential,
                                           const Events& events,
                                           const RequestRecord& request) override;
  absl::StatusOr<std::string> GetCredentialRequest(absl::string_view tenant,
                                                   absl::string_view index) override;
  absl::StatusOr<StoredCredential> GetCredential(absl::string_view tenant,
                                                 absl::string_view id) override;
  absl::StatusOr<StoredCredential> FindCredential(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::Credential>> ListCredentials(absl::string_view tenant,
                                                              const Page& page,
                                                              std::string& next_after) override;
  absl::Status UpdateCredential(const StoredCredential& credential, const Events& events) override;
  absl::Status Ping() override;

 private:
  absl::StatusOr<std::vector<std::string>> RangeIds(const std::string& key, const Page& page,
                                                    std::string& next_after);
  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
};

}  // namespace dialgrid::tenancy
