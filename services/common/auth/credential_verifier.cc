#include "services/common/auth/credential_verifier.h"

#include "services/common/core/errors.h"

namespace dialgrid::auth {

CachingCredentialVerifier::CachingCredentialVerifier(std::shared_ptr<CredentialVerifier> inner,
                                                     const CacheOptions& options,
                                                     const Clock& clock)
    : inner_(std::move(inner)), options_(options), clock_(clock) {}

absl::StatusOr<Principal> CachingCredentialVerifier::Verify(absl::string_view secret) {
  std::string key = HashSecret(secret);
  absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (now < it->second.valid_until) {
        const auto& answer = it->second.answer;
        if (answer.ok() && now >= answer->expire_time) {
          return Unauthenticated("CREDENTIAL_EXPIRED", "the credential has expired");
        }
        return answer;
      }
      entries_.erase(it);
    }
  }
  absl::StatusOr<Principal> answer = inner_->Verify(secret);
  if (!answer.ok() && absl::IsUnavailable(answer.status())) return answer;
  if (!answer.ok() && !absl::IsUnauthenticated(answer.status()) &&
      !absl::IsPermissionDenied(answer.status())) {
    return answer;  // e.g. DEADLINE_EXCEEDED: do not remember
  }
  absl::Time until = now + (answer.ok() ? options_.ttl : options_.negative_ttl);
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= options_.max_entries) entries_.clear();  // crude but bounded
  entries_[key] = Entry{answer, until};
  return answer;
}

void CachingCredentialVerifier::InvalidateCredential(absl::string_view credential_name) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::erase_if(entries_, [&](const auto& kv) {
    return kv.second.answer.ok() && kv.second.answer->credential == credential_name;
  });
}

void CachingCredentialVerifier::InvalidateTenant(absl::string_view tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  // Refusals are dropped too: a resumed tenant must work again at once.
  absl::erase_if(entries_, [&](const auto& kv) {
    return !kv.second.answer.ok() || kv.second.answer->tenant == tenant;
  });
}

void CachingCredentialVerifier::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
}

}  // namespace dialgrid::auth
