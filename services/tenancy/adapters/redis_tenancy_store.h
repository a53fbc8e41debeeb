#pragma once

#include <memory>

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/tenancy/ports/tenancy_store.h"

namespace dialgrid::tenancy {

// TenancyStore on Redis. Keys (see README):
//   {t:<tenant>}:tenant                 HASH proto, etag
//   {dg}:tenants                        ZSET of tenant ids (lexicographic listing)
//   <tag>:credential:<id>               HASH proto, hash, tenant   (<tag> = {t:<tenant>} or {vendor})
//   <tag>:credentials                   ZSET of credential ids
//   {dg}:credential-index               HASH credential id -> tenant ("" = vendor)
//   <tag>:outbox:tenancy                LIST events of the changes (RedisOutbox)
class RedisTenancyStore final : public TenancyStore {
 public:
  // `outbox` is the "tenancy" stream's; every write appends its events there.
  RedisTenancyStore(std::shared_ptr<redis::Client> redis,
                    std::shared_ptr<events::RedisOutbox> outbox);

  absl::Status CreateTenant(const v1::Tenant& tenant, const Events& events) override;
  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& page,
                                                      std::string& next_after) override;
  absl::Status ReplaceTenant(const v1::Tenant& tenant, absl::string_view expected_etag,
                             const Events& events) override;
  absl::Status CreateCredential(const StoredCredential& credential, const Events& events) override;
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
