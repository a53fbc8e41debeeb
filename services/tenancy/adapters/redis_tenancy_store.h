#pragma once

#include <memory>

#include "services/common/redis/redis_client.h"
#include "services/tenancy/ports/tenancy_store.h"

namespace dialgrid::tenancy {

// TenancyStore on Redis. Keys (see README):
//   {t:<tenant>}:tenant                 HASH proto, etag
//   {dg}:tenants                        ZSET of tenant ids (lexicographic listing)
//   <tag>:credential:<id>               HASH proto, hash, tenant   (<tag> = {t:<tenant>} or {vendor})
//   <tag>:credentials                   ZSET of credential ids
//   {dg}:credential-index               HASH credential id -> tenant ("" = vendor)
class RedisTenancyStore final : public TenancyStore {
 public:
  explicit RedisTenancyStore(std::shared_ptr<redis::Client> redis);

  absl::Status CreateTenant(v1::Tenant& tenant) override;
  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<v1::Tenant>> ListTenants(const Page& page,
                                                      std::string& next_after) override;
  absl::Status ReplaceTenant(v1::Tenant& tenant, absl::string_view expected_etag) override;
  absl::Status CreateCredential(const StoredCredential& credential) override;
  absl::StatusOr<StoredCredential> GetCredential(absl::string_view tenant,
                                                 absl::string_view id) override;
  absl::StatusOr<StoredCredential> FindCredential(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::Credential>> ListCredentials(absl::string_view tenant,
                                                              const Page& page,
                                                              std::string& next_after) override;
  absl::Status UpdateCredential(const StoredCredential& credential) override;
  absl::Status Ping() override;

 private:
  absl::StatusOr<std::vector<std::string>> RangeIds(const std::string& key, const Page& page,
                                                    std::string& next_after);
  std::shared_ptr<redis::Client> redis_;
};

}  // namespace dialgrid::tenancy
