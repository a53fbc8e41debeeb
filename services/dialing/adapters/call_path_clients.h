#pragma once

// The call path's ports over the other services' public gRPC APIs, as a
// peer with this service's credential: contacts (LeaseContacts,
// ReportOutcome), compliance (CheckDial, AddDoNotCallNumbers) and agent
// state (ReserveAgent, ConfirmReservation, ReleaseReservation, EndCall,
// ListAgents). Every call has the peer's own deadline (--peer_timeout_ms).

#include <memory>

#include "dialgrid/agentstate/v1/agentstate.pb.h"
#include "services/common/client/peer_channel.h"
#include "services/dialing/ports/call_path.h"

namespace dialgrid::dialing {

// Every agent of a tenant (ListAgents, pages of 1,000), with their
// campaigns and status; RESOURCE_EXHAUSTED past 100 pages (100,000 agents)
// rather than a partial list.
absl::StatusOr<std::vector<agentstate::v1::Agent>> ListTenantAgents(
    std::shared_ptr<client::PeerChannel> peer, const std::string& tenant);

class ContactsLeaseClient final : public ContactSource {
 public:
  explicit ContactsLeaseClient(std::shared_ptr<client::PeerChannel> contacts);
  absl::StatusOr<std::vector<LeasedContact>> Lease(const std::string& list, int count,
                                                   const std::string& holder,
                                                   absl::Duration duration) override;
  absl::Status Report(const std::string& contact, const std::string& lease_id,
                      contacts::v1::OutcomeKind kind, const std::string& outcome,
                      absl::Time next_callable) override;

 private:
  std::shared_ptr<client::PeerChannel> peer_;
};

class ComplianceClient final : public ComplianceGate {
 public:
  explicit ComplianceClient(std::shared_ptr<client::PeerChannel> compliance);
  absl::StatusOr<compliance::v1::DialDecision> CheckDial(
      const compliance::v1::CheckDialRequest& request) override;
  absl::Status AddOptOut(const std::string& tenant, const std::string& number,
                         const std::string& reason) override;
  absl::StatusOr<compliance::v1::AbandonRate> AbandonRate(const std::string& campaign) override;
  absl::Status RecordNotPlaced(const std::string& tenant, const v1::CallAttemptEnded& call) override;

 private:
  std::shared_ptr<client::PeerChannel> peer_;
};

class AgentStateClient final : public AgentRouter {
 public:
  explicit AgentStateClient(std::shared_ptr<client::PeerChannel> agent_state);
  absl::StatusOr<std::string> Reserve(const std::string& campaign,
                                      const std::vector<v1::SkillRequirement>& skills,
                                      const std::string& call_id,
                                      const std::string& agent) override;
  absl::Status Confirm(const std::string& agent, const std::string& call_id) override;
  absl::Status Release(const std::string& agent, const std::string& call_id) override;
  absl::Status EndCall(const std::string& agent, const std::string& call_id,
                       const std::string& protected_reason = "",
                       absl::Duration protect_for = absl::ZeroDuration()) override;
  absl::StatusOr<std::vector<AgentSnapshot>> Agents(const std::string& tenant,
                                                    const std::string& campaign) override;

 private:
  std::shared_ptr<client::PeerChannel> peer_;
};

}  // namespace dialgrid::dialing
