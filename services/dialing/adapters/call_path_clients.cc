#include "services/dialing/adapters/call_path_clients.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "services/common/core/proto_time.h"

namespace dialgrid::dialing {

using AgentStub = agentstate::v1::AgentStateService;
using ComplianceStub = compliance::v1::ComplianceService;
using ContactsStub = contacts::v1::ContactsService;

ContactsLeaseClient::ContactsLeaseClient(std::shared_ptr<client::PeerChannel> contacts)
    : peer_(std::move(contacts)) {}

absl::StatusOr<std::vector<LeasedContact>> ContactsLeaseClient::Lease(const std::string& list,
                                                                      int count,
                                                                      const std::string& holder,
                                                                      absl::Duration duration) {
  client::PeerClient<ContactsStub> client(peer_);
  contacts::v1::LeaseContactsRequest req;
  req.set_parent(list);
  req.set_count(std::clamp(count, 1, 1000));
  req.set_holder(holder);
  *req.mutable_lease_duration() = ToDurationProto(duration);
  auto resp = client.Call(&ContactsStub::Stub::LeaseContacts, req);
  if (!resp.ok()) return resp.status();
  std::vector<LeasedContact> out;
  out.reserve(resp->leases_size());
  for (auto& l : *resp->mutable_leases()) {
    LeasedContact c;
    c.contact = std::move(*l.mutable_contact());
    c.lease_id = l.lease_id();
    c.expire_time = FromTimestamp(l.expire_time());
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status ContactsLeaseClient::Report(const std::string& contact, const std::string& lease_id,
                                         contacts::v1::OutcomeKind kind,
                                         const std::string& outcome, absl::Time next_callable) {
  client::PeerClient<ContactsStub> client(peer_);
  contacts::v1::ReportOutcomeRequest req;
  req.set_name(contact);
  req.set_lease_id(lease_id);
  req.set_kind(kind);
  req.set_outcome(outcome.substr(0, 64));
  if (next_callable != absl::InfinitePast()) {
    *req.mutable_next_callable_time() = ToTimestamp(next_callable);
  }
  return client.Call(&ContactsStub::Stub::ReportOutcome, req).status();
}

ComplianceClient::ComplianceClient(std::shared_ptr<client::PeerChannel> compliance)
    : peer_(std::move(compliance)) {}

absl::StatusOr<compliance::v1::DialDecision> ComplianceClient::CheckDial(
    const compliance::v1::CheckDialRequest& request) {
  client::PeerClient<ComplianceStub> client(peer_);
  return client.Call(&ComplianceStub::Stub::CheckDial, request);
}

absl::Status ComplianceClient::AddOptOut(const std::string& tenant, const std::string& number,
                                         const std::string& reason) {
  client::PeerClient<ComplianceStub> client(peer_);
  compliance::v1::AddDoNotCallNumbersRequest req;
  req.set_parent(absl::StrCat("tenants/", tenant));
  req.add_phone_numbers(number);
  req.set_reason(reason);
  return client.Call(&ComplianceStub::Stub::AddDoNotCallNumbers, req).status();
}

absl::Status ComplianceClient::RecordNotPlaced(const std::string& tenant,
                                               const v1::CallAttemptEnded& call) {
  client::PeerClient<ComplianceStub> client(peer_);
  compliance::v1::RecordCallOutcomeRequest req;
  req.set_parent(absl::StrCat("tenants/", tenant));
  *req.mutable_call() = call;
  req.set_request_id(absl::StrCat("not-placed:", call.call()));
  return client.Call(&ComplianceStub::Stub::RecordCallOutcome, req).status();
}

absl::StatusOr<compliance::v1::AbandonRate> ComplianceClient::AbandonRate(
    const std::string& campaign) {
  client::PeerClient<ComplianceStub> client(peer_);
  compliance::v1::GetAbandonRateRequest req;
  req.set_campaign(campaign);
  return client.Call(&ComplianceStub::Stub::GetAbandonRate, req);
}

AgentStateClient::AgentStateClient(std::shared_ptr<client::PeerChannel> agent_state)
    : peer_(std::move(agent_state)) {}

absl::StatusOr<std::string> AgentStateClient::Reserve(
    const std::string& campaign, const std::vector<v1::SkillRequirement>& skills,
    const std::string& call_id, const std::string& agent) {
  client::PeerClient<AgentStub> client(peer_);
  agentstate::v1::ReserveAgentRequest req;
  req.set_campaign(campaign);
  req.set_call_id(call_id);
  req.set_agent(agent);
  for (const auto& s : skills) {
    auto* k = req.add_skills();
    k->set_name(s.name());
    k->set_level(s.min_level());
  }
  auto r = client.Call(&AgentStub::Stub::ReserveAgent, req);
  if (!r.ok()) return r.status();
  return r->agent();
}

absl::Status AgentStateClient::Confirm(const std::string& agent, const std::string& call_id) {
  client::PeerClient<AgentStub> client(peer_);
  agentstate::v1::ConfirmReservationRequest req;
  req.set_name(agent);
  req.set_call_id(call_id);
  return client.Call(&AgentStub::Stub::ConfirmReservation, req).status();
}

absl::Status AgentStateClient::Release(const std::string& agent, const std::string& call_id) {
  client::PeerClient<AgentStub> client(peer_);
  agentstate::v1::ReleaseReservationRequest req;
  req.set_name(agent);
  req.set_call_id(call_id);
  return client.Call(&AgentStub::Stub::ReleaseReservation, req).status();
}

absl::Status AgentStateClient::EndCall(const std::string& agent, const std::string& call_id,
                                       const std::string& protected_reason,
                                       absl::Duration protect_for) {
  client::PeerClient<AgentStub> client(peer_);
  agentstate::v1::EndCallRequest req;
  req.set_name(agent);
  req.set_call_id(call_id);
  if (protect_for > absl::ZeroDuration()) {
    req.set_protected_reason(protected_reason);
    *req.mutable_protect_for() = ToDurationProto(protect_for);
  }
  return client.Call(&AgentStub::Stub::EndCall, req).status();
}

absl::StatusOr<std::vector<agentstate::v1::Agent>> ListTenantAgents(
    std::shared_ptr<client::PeerChannel> peer, const std::string& tenant) {
  client::PeerClient<AgentStub> client(std::move(peer));
  agentstate::v1::ListAgentsRequest req;
  req.set_parent(absl::StrCat("tenants/", tenant));
  req.set_page_size(1000);
  std::vector<agentstate::v1::Agent> out;
  for (int page = 0;; ++page) {
    if (page == 100) {
      return absl::ResourceExhaustedError(
          absl::StrCat("tenant ", tenant, " has more than 100,000 agents"));
    }
    auto resp = client.Call(&AgentStub::Stub::ListAgents, req);
    if (!resp.ok()) return resp.status();
    for (auto& a : *resp->mutable_agents()) out.push_back(std::move(a));
    if (resp->next_page_token().empty()) return out;
    req.set_page_token(resp->next_page_token());
  }
}

absl::StatusOr<std::vector<AgentSnapshot>> AgentStateClient::Agents(const std::string& tenant,
                                                                    const std::string& campaign) {
  auto agents = ListTenantAgents(peer_, tenant);
  if (!agents.ok()) return agents.status();
  std::vector<AgentSnapshot> out;
  for (const auto& a : *agents) {
    if (std::find(a.campaigns().begin(), a.campaigns().end(), campaign) == a.campaigns().end()) {
      continue;
    }
    const auto state = a.status().state();
    if (state == agentstate::v1::STATE_LOGGED_OUT || state == agentstate::v1::STATE_UNSPECIFIED) {
      continue;
    }
    AgentSnapshot s;
    s.agent = a.name();
    s.state = state;
    s.since = FromTimestamp(a.status().state_time());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dialgrid::dialing
