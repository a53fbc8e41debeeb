#include "services/contacts/application/dialer_feed.h"

#include <optional>
#include <string>

#include "services/common/core/proto_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/contacts/application/contact_support.h"
#include "services/contacts/domain/contact_rules.h"
#include "services/contacts/domain/csv_reader.h"

namespace dialgrid::contacts {
namespace {

absl::StatusOr<absl::Duration> LeaseDuration(const v1::LeaseContactsRequest& req) {
  if (!req.has_lease_duration()) return absl::Minutes(5);
  absl::Duration d = absl::Seconds(req.lease_duration().seconds()) +
                     absl::Nanoseconds(req.lease_duration().nanos());
  if (d < absl::Seconds(1) || d > absl::Hours(1)) {
    return InvalidField("lease_duration", "INVALID_DURATION", "must be between 1 s and 1 h");
  }
  return d;
}

}  // namespace

absl::StatusOr<v1::LeaseContactsResponse> LeaseContacts(const ContactsContext& ctx,
                                                        const v1::LeaseContactsRequest& req) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("parent", req.parent()));
  if (req.count() < 1 || req.count() > 1000) {
    return InvalidField("count", "INVALID_COUNT", "must be 1-1000");
  }
  if (req.holder().empty() || req.holder().size() > 128 || !IsValidUtf8(req.holder()) ||
      req.holder().find('|') != std::string::npos) {
    return InvalidField("holder", "INVALID_HOLDER", "1-128 bytes, no '|'");
  }
  DG_ASSIGN_OR_RETURN(absl::Duration duration, LeaseDuration(req));
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, ctx.store().GetList(ref.tenant, ref.list));
  (void)cl;
  DG_ASSIGN_OR_RETURN(auto leases, ctx.store().LeaseDue(ref.tenant, ref.list, req.count(),
                                                        ctx.clock().Now(), duration, req.holder()));
  v1::LeaseContactsResponse resp;
  for (const auto& l : leases) {
    if (l.bytes.empty()) continue;
    auto* lc = resp.add_leases();
    DG_ASSIGN_OR_RETURN(*lc->mutable_contact(), FromStored(l.bytes, ref.name, l.seq));
    lc->mutable_contact()->set_status(v1::CONTACT_STATUS_LEASED);
    lc->set_lease_id(l.lease_id);
    *lc->mutable_expire_time() = ToTimestamp(l.expire_time);
  }
  return resp;
}

absl::StatusOr<v1::Contact> ReportOutcome(const ContactsContext& ctx,
                                          const v1::ReportOutcomeRequest& req) {
  if (req.lease_id().empty())
    return InvalidField("lease_id", "FIELD_REQUIRED", "lease_id is required");
  if (req.outcome().size() > 64 || !IsValidUtf8(req.outcome())) {
    return InvalidField("outcome", "FIELD_TOO_LONG", "at most 64 bytes of UTF-8");
  }
  if (req.kind() == v1::OUTCOME_KIND_UNSPECIFIED || !v1::OutcomeKind_IsValid(req.kind())) {
    return InvalidField("kind", "FIELD_REQUIRED", "give the outcome kind");
  }
  DG_ASSIGN_OR_RETURN(LoadedContact l, LoadContact(ctx, req.name()));
  DG_ASSIGN_OR_RETURN(Lease held, ctx.store().LeaseOf(l.tenant, l.list, l.seq));
  absl::Time now = ctx.clock().Now();
  // An expired lease no longer holds the contact, even before the next
  // LeaseContacts returns it to the queue.
  if (held.lease_id != req.lease_id() || held.expire_time <= now) {
    return FailedPrecondition("LEASE_NOT_HELD",
                              "the lease is not held (expired, reported or wrong id)");
  }
  v1::Contact next = l.contact;
  *next.mutable_update_time() = ToTimestamp(now);
  if (req.kind() != v1::OUTCOME_KIND_RELEASED) {
    next.set_attempts(next.attempts() + 1);
    next.set_last_outcome(req.outcome());
  }
  switch (req.kind()) {
    case v1::OUTCOME_KIND_RETRY:
      next.set_status(v1::CONTACT_STATUS_CALLABLE);
      *next.mutable_next_callable_time() =
          req.has_next_callable_time() ? req.next_callable_time() : ToTimestamp(now);
      break;
    case v1::OUTCOME_KIND_COMPLETED: next.set_status(v1::CONTACT_STATUS_COMPLETED); break;
    case v1::OUTCOME_KIND_UNREACHABLE: next.set_status(v1::CONTACT_STATUS_UNREACHABLE); break;
    case v1::OUTCOME_KIND_DO_NOT_CALL: next.set_status(v1::CONTACT_STATUS_DO_NOT_CALL); break;
    default: break;  // RELEASED: back to the queue unchanged
  }
  if (req.kind() == v1::OUTCOME_KIND_DO_NOT_CALL) {
    // The opt-out is made durable before the contact changes.
    v1::ContactOptedOut ev;
    ev.set_contact(l.contact.name());
    for (const auto& n : Phones(l.contact)) ev.add_do_not_call_numbers(n);
    DG_RETURN_IF_ERROR(
        ctx.store().AppendEvents(l.tenant, {ctx.Event(l.tenant, l.contact.name(), ev)}));
  }
  std::string bytes = ToStored(next);
  ContactWrite w = MakeWrite(l.seq, l.bytes, &l.contact, &next, bytes);
  w.lease_id = req.lease_id();
  w.old_queued = false;  // a leased contact is out of the queue already
  DG_ASSIGN_OR_RETURN(v1::Contact out, FromStored(bytes, l.list_name, l.seq));
  v1::ContactUpdated ev;
  *ev.mutable_contact() = out;
  DG_ASSIGN_OR_RETURN(BatchResult res,
                      ctx.store().Commit(l.tenant, l.list, {w}, nullptr, -1,
                                         {{ctx.Event(l.tenant, out.name(), ev)}, std::nullopt}));
  (void)res;
  return out;
}

}  // namespace dialgrid::contacts
