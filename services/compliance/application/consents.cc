#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {

absl::StatusOr<v1::Consent> ComplianceManager::RecordConsent(const Actor& actor,
                                                             const v1::RecordConsentRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const v1::Consent& in = req.consent();
  DG_ASSIGN_OR_RETURN(auto n,
                      Normalize("consent.phone_number", in.phone_number(), req.default_country()));
  if (in.type() == v1::CONSENT_TYPE_UNSPECIFIED) {
    return InvalidField("consent.type", "FIELD_REQUIRED", "consent.type is required");
  }
  for (int i = 0; i < in.scopes_size(); ++i) {
    const int scope = in.scopes(i);
    const std::string field = absl::StrCat("consent.scopes[", i, "]");
    if (scope == v1::CONSENT_SCOPE_UNSPECIFIED || !v1::ConsentScope_IsValid(scope)) {
      return InvalidField(field, "UNKNOWN_ENUM_VALUE",
                          absl::StrCat(field, ": ", scope, " is not a defined consent scope"));
    }
    for (int j = 0; j < i; ++j) {
      if (in.scopes(j) == scope) {
        return InvalidField(field, "DUPLICATE_SCOPE", "each consent scope is given once");
      }
    }
  }
  if (!in.has_grant_time()) {
    return InvalidField("consent.grant_time", "FIELD_REQUIRED", "consent.grant_time is required");
  }
  absl::Time now = clock_.Now();
  if (FromProto(in.grant_time()) > now + absl::Minutes(5)) {
    return InvalidField("consent.grant_time", "TIME_IN_FUTURE",
                        "consent cannot be granted in the future");
  }
  if (in.has_expire_time() && FromProto(in.expire_time()) <= FromProto(in.grant_time())) {
    return InvalidField("consent.expire_time", "EXPIRES_BEFORE_GRANT",
                        "consent.expire_time must be after grant_time");
  }
  DG_RETURN_IF_ERROR(CheckText("consent.source", in.source(), 500));
  DG_RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  v1::Consent c = in;
  c.set_phone_number(n.number.e164());
  c.set_name(absl::StrCat("tenants/", ids[0], "/consents/tel-", n.number.e164().substr(1)));
  c.clear_revoke_time();
  c.clear_revoked_by();
  c.clear_revoke_record_time();
  c.set_recorded_by(actor.subject);
  *c.mutable_record_time() = ToProto(now);
  v1::ConsentChanged changed;
  *changed.mutable_consent() = c;
  // A retry of the request id gets the record the first call stored.
  return store_->PutConsent(ids[0], c, Event(actor, ids[0], c.name(), changed),
                            ChangeKey("RecordConsent", req.request_id(), req));
}

absl::StatusOr<v1::Consent> ComplianceManager::RevokeConsent(const Actor& actor,
                                                             const v1::RevokeConsentRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseConsentName(req.name()));
  DG_RETURN_IF_ERROR(CheckText("reason", req.reason(), 500));
  DG_RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  const absl::Time now = clock_.Now();
  absl::Time at = now;
  if (req.has_revoke_time()) {
    at = FromProto(req.revoke_time());
    if (at > now + absl::Minutes(5)) {
      return InvalidField("revoke_time", "TIME_IN_FUTURE",
                          "a revocation is recorded once the callee has revoked");
    }
    at = std::min(at, now);  // clock skew: never later than now
  }
  DG_ASSIGN_OR_RETURN(v1::Consent c, store_->GetConsent(ids.first, ids.second));
  if (at < FromProto(c.grant_time())) {
    return InvalidField("revoke_time", "REVOKED_BEFORE_GRANT",
                        "revoke_time is before the consent's grant_time");
  }
  // Already revoked no later than this: nothing to change. With a request
  // id the record is still written (unchanged) so the id is kept with its
  // answer: a retry after the number's consent is recorded again must not
  // revoke that one.
  const bool earlier = !c.has_revoke_time() || at < FromProto(c.revoke_time());
  if (!earlier && req.request_id().empty()) return c;
  if (earlier) {
    *c.mutable_revoke_time() = ToProto(at);
    c.set_revoked_by(actor.subject);
    *c.mutable_revoke_record_time() = ToProto(now);
  }
  v1::ConsentChanged changed;
  *changed.mutable_consent() = c;
  changed.set_reason(req.reason().empty() ? absl::StrCat("revoked by ", actor.subject)
                                          : req.reason());
  return store_->PutConsent(ids.first, c, Event(actor, ids.first, c.name(), changed),
                            ChangeKey("RevokeConsent", req.request_id(), req));
}

absl::StatusOr<v1::Consent> ComplianceManager::GetConsent(const v1::GetConsentRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseConsentName(req.name()));
  return store_->GetConsent(ids.first, ids.second);
}

absl::StatusOr<v1::ListConsentsResponse> ComplianceManager::ListConsents(
    const v1::ListConsentsRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  DG_ASSIGN_OR_RETURN(PageRequest page, ParsePage(req.page_size(), req.page_token(), req.parent()));
  DG_ASSIGN_OR_RETURN(auto consents, store_->ListConsents(ids[0], page.after, page.size + 1));
  v1::ListConsentsResponse resp;
  for (size_t i = 0; i < consents.size() && static_cast<int>(i) < page.size; ++i) {
    *resp.add_consents() = std::move(consents[i]);
  }
  if (static_cast<int>(consents.size()) > page.size) {
    resp.set_next_page_token(PageToken(req.parent(), resp.consents(page.size - 1).phone_number()));
  }
  return resp;
}

}  // namespace dialgrid::compliance
