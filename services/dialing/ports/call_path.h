#pragma once

// What the dialer needs of the other services and of its store to run the
// call path: contacts to dial (leases from the contacts service), a decision
// for every dial (compliance), agents (agent state), and a place for calls
// and campaign ownership (Redis). The dialer (application/dialer.h) is
// written against these; the adapters speak gRPC and Redis.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dialgrid/agentstate/v1/agentstate.pb.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"

namespace dialgrid::dialing {

// A contact leased for dialing: nobody else dials it until the lease is
// reported or expires.
struct LeasedContact {
  contacts::v1::Contact contact;
  std::string lease_id;
  absl::Time expire_time;
};

class ContactSource {
 public:
  virtual ~ContactSource() = default;
  // Up to `count` callable contacts of `list` (fewer, or none, when the list
  // has no more callable now). UNAVAILABLE when contacts cannot answer.
  virtual absl::StatusOr<std::vector<LeasedContact>> Lease(const std::string& list, int count,
                                                           const std::string& holder,
                                                           absl::Duration duration) = 0;
  // Reports what a leased contact's attempt led to (ends the lease).
  virtual absl::Status Report(const std::string& contact, const std::string& lease_id,
                              contacts::v1::OutcomeKind kind, const std::string& outcome,
                              absl::Time next_callable) = 0;
};

class ComplianceGate {
 public:
  virtual ~ComplianceGate() = default;
  // The decision for one dial. Any error (compliance down, a timeout) means
  // no decision: the dialer does not dial.
  virtual absl::StatusOr<compliance::v1::DialDecision> CheckDial(
      const compliance::v1::CheckDialRequest& request) = 0;
  // Puts `number` on the tenant's do-not-call list at once (a DO_NOT_CALL
  // disposition).
  virtual absl::Status AddOptOut(const std::string& tenant, const std::string& number,
                                 const std::string& reason) = 0;
  // Tells compliance an allowed dial was never placed (its first write
  // failed: Redis down, or the campaign taken over), so its caps give the
  // attempt back; idempotent by the call. The outbox cannot carry it then.
  virtual absl::Status RecordNotPlaced(const std::string& tenant,
                                       const v1::CallAttemptEnded& call) = 0;
  // The campaign's abandon ledger (24 hours, 30 days) and the cap, for the
  // live watch.
  virtual absl::StatusOr<compliance::v1::AbandonRate> AbandonRate(const std::string& campaign) = 0;
};

// An agent as the pacer sees it.
struct AgentSnapshot {
  std::string agent;  // name
  agentstate::v1::State state = agentstate::v1::STATE_UNSPECIFIED;
  absl::Time since;
};

class AgentRouter {
 public:
  virtual ~AgentRouter() = default;
  // Reserves a ready agent of `campaign` with `skills` for `call_id`
  // (idempotent by call id); with `agent`, that agent only (its own dial:
  // FAILED_PRECONDITION AGENT_NOT_READY / AGENT_NOT_ELIGIBLE). Nobody free:
  // FAILED_PRECONDITION NO_AGENT_AVAILABLE.
  virtual absl::StatusOr<std::string> Reserve(const std::string& campaign,
                                              const std::vector<v1::SkillRequirement>& skills,
                                              const std::string& call_id,
                                              const std::string& agent = "") = 0;
  virtual absl::Status Confirm(const std::string& agent, const std::string& call_id) = 0;
  virtual absl::Status Release(const std::string& agent, const std::string& call_id) = 0;
  // The call ended: the agent goes to wrap-up, or with `protect_for` > 0
  // to a protected not-ready period under `protected_reason` (after an
  // abusive caller).
  virtual absl::Status EndCall(const std::string& agent, const std::string& call_id,
                               const std::string& protected_reason = "",
                               absl::Duration protect_for = absl::ZeroDuration()) = 0;
  // The logged-in agents who take `campaign`'s calls, by state.
  virtual absl::StatusOr<std::vector<AgentSnapshot>> Agents(const std::string& tenant,
                                                            const std::string& campaign) = 0;
};

// A call as stored: the API's resource and what the dialer needs to finish
// it on any replica (the contact's lease, its attempts before this one).
struct StoredCall {
  v1::Call call;
  std::string lease_id;
  int contact_attempts = 0;
};

class CallStore {
 public:
  virtual ~CallStore() = default;
  // Takes or renews `campaign`'s ownership for `instance` for `ttl`:
  // the fencing token (> 0, larger than every earlier owner's), or 0 when
  // another instance owns it.
  virtual absl::StatusOr<int64_t> Own(const std::string& tenant, const std::string& campaign,
                                      const std::string& instance, absl::Duration ttl) = 0;
  // Gives ownership up (only if `instance` holds it).
  virtual absl::Status Disown(const std::string& tenant, const std::string& campaign,
                              const std::string& instance) = 0;
  // Calls that have awaited their disposition since before `ended_before`
  // (tenant, call id), at most `max`: for the sweep that closes those whose
  // replica died before its timer fired, in any campaign, running or not.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> AwaitingDisposition(
      absl::Time ended_before, int max) = 0;
  // Takes a call whose record is gone (its retention ran out) off that list.
  virtual absl::Status ForgetAwaiting(const std::string& tenant, const std::string& id) = 0;
  // Replicas: each says every ownership round that it is alive and where it
  // serves gRPC (`address`, empty: it takes no forwarded calls), kept `ttl`.
  // Answers how many replicas are alive, itself included.
  virtual absl::StatusOr<int> Advertise(const std::string& instance, const std::string& address,
                                        absl::Duration ttl) = 0;
  // Who owns `campaign` now and where it serves: both empty when nobody does;
  // the address empty when the owner advertised none (or is gone).
  struct Owner {
    std::string instance;
    std::string address;
  };
  virtual absl::StatusOr<Owner> CampaignOwner(const std::string& tenant,
                                              const std::string& campaign) = 0;
  // Writes `call` with `events` in one atomic step. With a token: only if
  // it still owns the call's campaign (FAILED_PRECONDITION FENCED otherwise:
  // another replica took it). With token 0 (a disposition, on any replica):
  // only if the stored call still awaits its disposition
  // (FAILED_PRECONDITION CALL_NOT_AWAITING_DISPOSITION). The call is kept in
  // its campaign's set of open calls while it is in flight or awaits its
  // disposition (call.awaiting_disposition), and kept `retention` in all.
  // A call not ended holds one of the tenant's lines: the write that would
  // take a line over `max_tenant_lines` (> 0) writes nothing and answers
  // RESOURCE_EXHAUSTED LINE_QUOTA.
  virtual absl::Status Put(const std::string& tenant, const std::string& campaign_id,
                           const StoredCall& call, int64_t token,
                           const std::vector<event::v1::Envelope>& events,
                           int64_t max_tenant_lines = 0) = 0;
  // The campaign's hopper: contacts leased and not dialed yet, kept so a
  // replica that takes the campaign over dials them (a call's first write
  // takes its contact out in the same atomic step).
  virtual absl::Status AddToHopper(const std::string& tenant, const std::string& campaign_id,
                                   const std::vector<LeasedContact>& leases) = 0;
  virtual absl::Status RemoveFromHopper(const std::string& tenant, const std::string& campaign_id,
                                        const std::string& contact) = 0;
  virtual absl::StatusOr<std::vector<LeasedContact>> Hopper(const std::string& tenant,
                                                            const std::string& campaign_id) = 0;
  // Events with no call write (a campaign's hopper ran dry).
  virtual absl::Status Publish(const std::string& tenant,
                               const std::vector<event::v1::Envelope>& events) = 0;
  // NOT_FOUND CALL_NOT_FOUND.
  virtual absl::StatusOr<StoredCall> Get(const std::string& tenant, const std::string& id) = 0;
  // The campaign's open calls (for a replica that takes the campaign over).
  virtual absl::StatusOr<std::vector<StoredCall>> Open(const std::string& tenant,
                                                       const std::string& campaign_id) = 0;
  // Agent-owned callbacks of a campaign: the contact's callback is dialed
  // for `agent` only until `due` plus the grace.
  struct AgentCallback {
    std::string agent;
    absl::Time due;
  };
  virtual absl::Status PutAgentCallback(const std::string& tenant, const std::string& campaign_id,
                                        const std::string& contact, const AgentCallback& callback) = 0;
  virtual absl::Status RemoveAgentCallback(const std::string& tenant,
                                           const std::string& campaign_id,
                                           const std::string& contact) = 0;
  // contact -> its callback.
  virtual absl::StatusOr<std::map<std::string, AgentCallback>> AgentCallbacks(
      const std::string& tenant, const std::string& campaign_id) = 0;
  // The live figures of a campaign, written by its owner and kept `ttl`
  // (a dead owner's lapse); NOT_FOUND when none are kept.
  virtual absl::Status PutProgress(const std::string& tenant, const std::string& campaign_id,
                                   const v1::CampaignProgress& progress, absl::Duration ttl) = 0;
  virtual absl::StatusOr<v1::CampaignProgress> GetProgress(const std::string& tenant,
                                                           const std::string& campaign_id) = 0;
  // The health of a campaign's caller IDs (CallerIdStatus, by number), kept
  // with no lapse shorter than a rest: PutCallerIds writes `statuses` (each
  // replacing its number's) with `events` in one atomic step;
  // GetCallerIds answers every number kept (none: empty).
  virtual absl::Status PutCallerIds(const std::string& tenant, const std::string& campaign_id,
                                    const std::vector<v1::CallerIdStatus>& statuses,
                                    const std::vector<event::v1::Envelope>& events) = 0;
  virtual absl::StatusOr<std::vector<v1::CallerIdStatus>> GetCallerIds(
      const std::string& tenant, const std::string& campaign_id) = 0;
  // The tenant's inbound block list, keyed by the number's digits (E.164
  // without "+"). Block writes the entry with `events` in one atomic step
  // (a number blocked again keeps its latest entry).
  virtual absl::Status BlockNumber(const std::string& tenant, const v1::BlockedNumber& blocked,
                                   const std::vector<event::v1::Envelope>& events) = 0;
  // NOT_FOUND BLOCKED_NUMBER_NOT_FOUND.
  virtual absl::StatusOr<v1::BlockedNumber> GetBlockedNumber(const std::string& tenant,
                                                             const std::string& digits) = 0;
  virtual absl::Status UnblockNumber(const std::string& tenant, const std::string& digits,
                                     const std::vector<event::v1::Envelope>& events) = 0;
  // Every entry (no order).
  virtual absl::StatusOr<std::vector<v1::BlockedNumber>> BlockedNumbers(
      const std::string& tenant) = 0;
};

}  // namespace dialgrid::dialing
