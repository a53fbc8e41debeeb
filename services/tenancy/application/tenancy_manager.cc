#include "services/tenancy/application/tenancy_manager.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "services/common/auth/tenancy_events.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/tenancy/application/request_seal.h"
#include "services/tenancy/domain/tenancy_rules.h"

namespace dialgrid::tenancy {
namespace {

absl::StatusOr<std::string> TenantIdOf(absl::string_view name,
                                       absl::string_view field = "name") {
  auto ids = ParseName(field, name, "tenants/{tenant}");
  if (!ids.ok()) return ids.status();
  return (*ids)[0];
}

}  // namespace

TenancyManager::TenancyManager(std::shared_ptr<TenancyStore> store, const Clock& clock,
                               std::string producer_name)
    : store_(std::move(store)), clock_(clock), producer_name_(std::move(producer_name)) {}

Events TenancyManager::Event(const auth::Principal& caller, absl::string_view tenant,
                             absl::string_view subject,
                             const google::protobuf::Message& payload) const {
  event::v1::Envelope e = kafka::MakeEnvelope(tenant, subject, payload, producer_name_, clock_);
  e.set_actor(caller.credential);
  return {std::move(e)};
}

absl::StatusOr<v1::Tenant> TenancyManager::CreateTenant(const auth::Principal& caller,
                                                        const v1::CreateTenantRequest& req) {
  DG_RETURN_IF_ERROR(ValidateTenantId(req.tenant_id()));
  DG_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
  v1::Tenant t = req.tenant();
  DG_RETURN_IF_ERROR(ValidateNewTenant(t));
  t.set_name(TenantName(req.tenant_id()));
  t.set_state(v1::Tenant::STATE_ACTIVE);
  t.clear_suspend_reason();
  absl::Time now = clock_.Now();
  *t.mutable_create_time() = ToTimestamp(now);
  *t.mutable_update_time() = ToTimestamp(now);
  t.set_etag(RandomHex(8));
  v1::TenantCreated ev;
  *ev.mutable_tenant() = t;
  // The request id is the vendor's: its record is named in the vendor scope
  // (the store keeps it with the tenant, and claims the id for this tenant).
  RequestRecord record;
  std::optional<RequestSeal> seal;
  std::string fingerprint;
  if (!req.request_id().empty()) {
    seal = RequestSeal::For("CreateTenant", "", req.request_id());
    fingerprint = RequestFingerprint(caller.credential, req);
    record.index = seal->index();
    DG_ASSIGN_OR_RETURN(record.sealed, seal->Seal(fingerprint, t.SerializeAsString()));
  }
  DG_ASSIGN_OR_RETURN(Created created,
                      store_->CreateTenant(t, Event(caller, req.tenant_id(), t.name(), ev), record));
  if (!created.replayed) return t;
  if (!seal) return absl::InternalError("the store replayed a request without a request id");
  DG_ASSIGN_OR_RETURN(std::string answer, seal->Open(created.sealed, fingerprint));
  v1::Tenant first;
  if (!first.ParseFromString(answer)) return absl::DataLossError("stored answer does not parse");
  return first;
}

absl::StatusOr<v1::Tenant> TenancyManager::GetTenant(const v1::GetTenantRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string id, TenantIdOf(req.name()));
  return store_->GetTenant(id);
}

absl::StatusOr<v1::ListTenantsResponse> TenancyManager::ListTenants(
    const v1::ListTenantsRequest& req) {
  Page page;
  DG_ASSIGN_OR_RETURN(page.size, EffectivePageSize(req.page_size()));
  DG_ASSIGN_OR_RETURN(page.after, DecodeIdPageToken(req.page_token()));
  std::string next;
  DG_ASSIGN_OR_RETURN(std::vector<v1::Tenant> tenants, store_->ListTenants(page, next));
  v1::ListTenantsResponse resp;
  for (auto& t : tenants) *resp.add_tenants() = std::move(t);
  if (!next.empty()) resp.set_next_page_token(EncodePageToken(next));
  return resp;
}

absl::StatusOr<v1::Tenant> TenancyManager::UpdateTenant(const auth::Principal& caller,
                                                        const v1::UpdateTenantRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string id, TenantIdOf(req.tenant().name(), "tenant.name"));
  if (UpdateTouchesQuota(req.tenant(), req.update_mask().paths()) &&
      !caller.HasRole(v1::ROLE_VENDOR_ADMIN)) {
    return PermissionDenied("QUOTA_VENDOR_ONLY", "only vendor admins may change quotas");
  }
  DG_ASSIGN_OR_RETURN(v1::Tenant current, store_->GetTenant(id));
  if (!req.tenant().etag().empty() && req.tenant().etag() != current.etag()) {
    return Aborted("ETAG_MISMATCH", "the tenant changed since it was read; read it again and retry");
  }
  std::string read_etag = current.etag();
  DG_ASSIGN_OR_RETURN(TenantUpdate u,
                      ApplyTenantUpdate(req.tenant(), req.update_mask().paths(), current));
  (void)u;
  *current.mutable_update_time() = ToTimestamp(clock_.Now());
  current.set_etag(RandomHex(8));
  v1::TenantUpdated ev;
  *ev.mutable_tenant() = current;
  DG_RETURN_IF_ERROR(store_->ReplaceTenant(current, read_etag, Event(caller, id, current.name(), ev)));
  return current;
}

absl::StatusOr<v1::Tenant> TenancyManager::SetState(const auth::Principal& caller,
                                                    absl::string_view name,
                                                    v1::Tenant::State state,
                                                    absl::string_view reason) {
  DG_ASSIGN_OR_RETURN(std::string id, TenantIdOf(name));
  if (reason.size() > kMaxSuspendReason) {
    return InvalidField("reason", "FIELD_TOO_LONG",
                        absl::StrCat("must be at most ", kMaxSuspendReason, " bytes"));
  }
  // Compare-and-set loop: a concurrent update of the tenant retries here.
  // Already in that state: nothing to write, and the event of the change that
  // put it there is already in the outbox.
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(v1::Tenant t, store_->GetTenant(id));
    if (t.state() == state) return t;
    std::string etag = t.etag();
    t.set_state(state);
    t.set_suspend_reason(state == v1::Tenant::STATE_SUSPENDED ? std::string(reason) : "");
    *t.mutable_update_time() = ToTimestamp(clock_.Now());
    t.set_etag(RandomHex(8));
    Events events;
    if (state == v1::Tenant::STATE_SUSPENDED) {
      v1::TenantSuspended ev;
      *ev.mutable_tenant() = t;
      events = Event(caller, id, t.name(), ev);
    } else {
      v1::TenantResumed ev;
      *ev.mutable_tenant() = t;
      events = Event(caller, id, t.name(), ev);
    }
    absl::Status st = store_->ReplaceTenant(t, etag, events);
    if (absl::IsAborted(st) && attempt < 5) continue;
    DG_RETURN_IF_ERROR(st);
    return t;
  }
}

absl::StatusOr<v1::Tenant> TenancyManager::SuspendTenant(const auth::Principal& caller,
                                                         const v1::SuspendTenantRequest& req) {
  return SetState(caller, req.name(), v1::Tenant::STATE_SUSPENDED, req.reason());
}

absl::StatusOr<v1::Tenant> TenancyManager::ResumeTenant(const auth::Principal& caller,
                                                        const v1::ResumeTenantRequest& req) {
  return SetState(caller, req.name(), v1::Tenant::STATE_ACTIVE, "");
}

absl::StatusOr<v1::CreateCredentialResponse> TenancyManager::CreateCredential(
    const auth::Principal& caller, const v1::CreateCredentialRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseCredentialParent(req.parent()));
  DG_RETURN_IF_ERROR(ValidateRequestId(req.request_id(), kMinCredentialRequestId));
  RequestRecord record;
  std::optional<RequestSeal> seal;
  std::string fingerprint;
  auto replay = [&](const std::string& sealed) -> absl::StatusOr<v1::CreateCredentialResponse> {
    DG_ASSIGN_OR_RETURN(std::string answer, seal->Open(sealed, fingerprint));
    v1::CreateCredentialResponse first;
    if (!first.ParseFromString(answer)) return absl::DataLossError("stored answer does not parse");
    return first;
  };
  if (!req.request_id().empty()) {
    seal = RequestSeal::For("CreateCredential", tenant, req.request_id());
    fingerprint = RequestFingerprint(caller.credential, req);
    record.index = seal->index();
    // A retry is answered before validation: the first request passed it,
    // and an expire_time that was in the future then may not be now.
    auto kept = store_->GetCredentialRequest(tenant, record.index);
    if (kept.ok()) return replay(*kept);
    if (!absl::IsNotFound(kept.status())) return kept.status();
  }
  absl::Time now = clock_.Now();
  DG_RETURN_IF_ERROR(ValidateNewCredential(req.credential(), tenant.empty(), now));
  DG_RETURN_IF_ERROR(ValidateCredentialAgent(req.credential(), tenant));
  if (!tenant.empty()) {
    DG_ASSIGN_OR_RETURN(v1::Tenant t, store_->GetTenant(tenant));
    (void)t;
  }
  StoredCredential c;
  c.tenant = tenant;
  std::string id = auth::NewCredentialId();
  std::string secret = auth::NewSecret(id);
  c.secret_hash = auth::HashSecret(secret);
  c.credential.set_name(CredentialName(tenant, id));
  c.credential.set_display_name(req.credential().display_name());
  *c.credential.mutable_roles() = req.credential().roles();
  c.credential.set_agent(req.credential().agent());
  if (req.credential().has_expire_time()) {
    *c.credential.mutable_expire_time() = req.credential().expire_time();
  }
  *c.credential.mutable_create_time() = ToTimestamp(now);
  c.credential.set_creator(caller.credential);
  v1::CredentialCreated ev;
  *ev.mutable_credential() = c.credential;
  ev.mutable_credential()->set_state(CredentialStateAt(c.credential, now));
  v1::CreateCredentialResponse resp;
  *resp.mutable_credential() = c.credential;
  resp.mutable_credential()->set_state(CredentialStateAt(c.credential, now));
  resp.set_secret(secret);
  if (seal) {
    // The answer, secret included, is kept only sealed under the request id.
    DG_ASSIGN_OR_RETURN(record.sealed, seal->Seal(fingerprint, resp.SerializeAsString()));
  }
  DG_ASSIGN_OR_RETURN(Created created,
                      store_->CreateCredential(c, Event(caller, tenant, c.credential.name(), ev), record));
  if (created.replayed) {
    // A concurrent retry of the same request stored first: its answer wins.
    if (!seal) return absl::InternalError("the store replayed a request without a request id");
    return replay(created.sealed);
  }
  return resp;
}

absl::StatusOr<v1::Credential> TenancyManager::GetCredential(const v1::GetCredentialRequest& req) {
  DG_ASSIGN_OR_RETURN(CredentialRef ref, ParseCredentialName(req.name()));
  DG_ASSIGN_OR_RETURN(StoredCredential c, store_->GetCredential(ref.tenant, ref.id));
  c.credential.set_state(CredentialStateAt(c.credential, clock_.Now()));
  return c.credential;
}

absl::StatusOr<v1::ListCredentialsResponse> TenancyManager::ListCredentials(
    const v1::ListCredentialsRequest& req) {
  DG_ASSIGN_OR_RETURN(std::string tenant, ParseCredentialParent(req.parent()));
  Page page;
  DG_ASSIGN_OR_RETURN(page.size, EffectivePageSize(req.page_size()));
  DG_ASSIGN_OR_RETURN(page.after, DecodeIdPageToken(req.page_token()));
  std::string next;
  DG_ASSIGN_OR_RETURN(std::vector<v1::Credential> creds,
                      store_->ListCredentials(tenant, page, next));
  v1::ListCredentialsResponse resp;
  absl::Time now = clock_.Now();
  for (auto& c : creds) {
    c.set_state(CredentialStateAt(c, now));
    *resp.add_credentials() = std::move(c);
  }
  if (!next.empty()) resp.set_next_page_token(EncodePageToken(next));
  return resp;
}

absl::StatusOr<v1::Credential> TenancyManager::RevokeCredential(
    const auth::Principal& caller, const v1::RevokeCredentialRequest& req) {
  DG_ASSIGN_OR_RETURN(CredentialRef ref, ParseCredentialName(req.name()));
  DG_ASSIGN_OR_RETURN(StoredCredential c, store_->GetCredential(ref.tenant, ref.id));
  absl::Time now = clock_.Now();
  if (!c.credential.has_revoke_time()) {
    // Revoked once: a repeated call changes nothing and has no event of its own.
    *c.credential.mutable_revoke_time() = ToTimestamp(now);
    v1::CredentialRevoked ev;
    *ev.mutable_credential() = c.credential;
    ev.mutable_credential()->set_state(CredentialStateAt(c.credential, now));
    DG_RETURN_IF_ERROR(store_->UpdateCredential(c, Event(caller, ref.tenant, c.credential.name(), ev)));
  }
  c.credential.set_state(CredentialStateAt(c.credential, now));
  return c.credential;
}

absl::Status TenancyManager::EnsureBootstrapCredential(absl::string_view secret, v1::Role role,
                                                       absl::string_view display_name) {
  auto parsed = auth::ParseSecret(secret);
  if (!parsed.ok()) {
    return InvalidField("bootstrap secret", "MALFORMED_CREDENTIAL",
                        "expected dgk_<16 chars [a-z0-9]>_<43 chars base64url>");
  }
  auto existing = store_->FindCredential(parsed->credential_id);
  if (existing.ok()) {
    if (!auth::DigestsEqual(existing->secret_hash, auth::HashSecret(secret))) {
      return FailedPrecondition("BOOTSTRAP_CONFLICT",
                                "a different credential with this id already exists");
    }
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  StoredCredential c;
  c.secret_hash = auth::HashSecret(secret);
  c.credential.set_name(CredentialName("", parsed->credential_id));
  c.credential.set_display_name(std::string(display_name));
  c.credential.add_roles(role);
  *c.credential.mutable_create_time() = ToTimestamp(clock_.Now());
  c.credential.set_creator("bootstrap");
  absl::Status st = store_->CreateCredential(c, {}, {}).status();  // no event: nobody listens yet
  if (absl::IsAlreadyExists(st)) {
    // Another replica bootstrapped the same secret at the same moment.
    auto now_there = store_->FindCredential(parsed->credential_id);
    if (now_there.ok() && auth::DigestsEqual(now_there->secret_hash, c.secret_hash)) {
      return absl::OkStatus();
    }
  }
  return st;
}

absl::StatusOr<auth::Principal> TenancyManager::Authenticate(absl::string_view secret) {
  DG_ASSIGN_OR_RETURN(auth::ParsedSecret parsed, auth::ParseSecret(secret));
  auto c = store_->FindCredential(parsed.credential_id);
  if (absl::IsNotFound(c.status()) ||
      (c.ok() && !auth::DigestsEqual(c->secret_hash, auth::HashSecret(secret)))) {
    return Unauthenticated("CREDENTIAL_UNKNOWN", "the bearer credential is not valid");
  }
  if (!c.ok()) return c.status();
  absl::Time now = clock_.Now();
  switch (CredentialStateAt(c->credential, now)) {
    case v1::Credential::STATE_REVOKED:
      return Unauthenticated("CREDENTIAL_REVOKED", "the credential has been revoked");
    case v1::Credential::STATE_EXPIRED:
      return Unauthenticated("CREDENTIAL_EXPIRED", "the credential has expired");
    default:
      break;
  }
  if (!c->tenant.empty()) {
    auto t = store_->GetTenant(c->tenant);
    if (absl::IsNotFound(t.status())) {
      return Unauthenticated("CREDENTIAL_UNKNOWN", "the bearer credential is not valid");
    }
    if (!t.ok()) return t.status();
    if (t->state() == v1::Tenant::STATE_SUSPENDED) {
      return PermissionDenied("TENANT_SUSPENDED", "the caller's tenant is suspended");
    }
  }
  auth::Principal p;
  p.credential = c->credential.name();
  p.tenant = c->tenant;
  for (int r : c->credential.roles()) p.roles.push_back(static_cast<auth::Role>(r));
  p.agent = c->credential.agent();
  if (c->credential.has_expire_time()) p.expire_time = FromTimestamp(c->credential.expire_time());
  return p;
}

}  // namespace dialgrid::tenancy
