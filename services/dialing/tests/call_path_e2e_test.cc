// End to end: every service as its own process over loopback gRPC with a
// real Redis and the broker (tenancy, contacts, compliance, agent state,
// dialing on its simulated carrier). A tenant's contact list, agents logged
// in and worked by simulated agent clients (they take calls, wrap up, give
// dispositions, get ready again), a predictive campaign started: checked from
// the outside that every dial had an allowed decision taken just before it,
// answered calls reached agents, abandons stayed under the cap, dispositions
// reached contacts and do-not-call ones compliance, and every step appeared
// on Kafka. Then a dialing replica is killed (SIGKILL) mid-campaign: another
// takes the campaign over, no attempt is lost and none is dialed twice.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "dialgrid/dialing/v1/dialing.grpc.pb.h"
#include "httplib.h"
#include "services/common/core/errors.h"
#include "services/common/core/proto_time.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::dialing {
namespace {

using dialgrid::testing::TestPlatform;
namespace as = agentstate::v1;
namespace cm = compliance::v1;
namespace ct = contacts::v1;

std::string ReasonOf(const grpc::Status& st) { return dialgrid::ReasonOf(FromGrpcStatus(st)); }

constexpr char kTenant[] = "e2e";
constexpr int kContacts = 80;
constexpr int kAgents = 8;

// Short calls so a campaign runs through its list in a minute: 60 % of the
// callees answer live after 2 s and talk 3 s; a fifth are busy or fail; the
// rest ring out (the 15 s ring timeout of the campaign).
const char kScenario[] = R"({
  "name": "e2e", "agents": 4, "shift_hours": 8, "days_per_seed": 1,
  "tuning_seeds": [], "reporting_seeds": [1],
  "outcomes": {"human": 0.6, "machine": 0.0, "busy_failed": 0.2},
  "times": {
    "setup": {"type": "constant", "value": 0.5},
    "human_ring": {"type": "constant", "value": 2},
    "machine_ring": {"type": "constant", "value": 3},
    "fail": {"type": "constant", "value": 1},
    "talk": {"type": "constant", "value": 3},
    "wrap": {"type": "constant", "value": 1},
    "patience": {"type": "constant", "value": 20}
  },
  "no_answer_timeout_s": 25,
  "machine_handling": {"talk": {"type": "constant", "value": 3},
                       "wrap": {"type": "constant", "value": 1}},
  "amd": {"enabled": false, "decision_delay_s": 2.0, "greeting_s": 1.0,
          "false_positive": 0.0, "false_negative": 0.0},
  "tick_s": 1, "max_lines_per_agent": 3.0, "abandon_cap": 0.03, "grace_s": 2.0
})";

constexpr char kInboundNumber[] = "+442079460150";

class CallPathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    p_ = platform->release();
    scenario_ = new std::string(p_->dir() + "/e2e-scenario.json");
    std::ofstream(*scenario_) << kScenario;
    ASSERT_TRUE(p_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok());
    ASSERT_TRUE(p_->StartService("compliance", DIALGRID_COMPLIANCE_BIN).ok())
        << "see " << p_->LogPath("compliance");
    ASSERT_TRUE(p_->StartService("agentstate", DIALGRID_AGENTSTATE_BIN,
                                 {"--reservation_timeout_ms=3000", "--timer_sweep_ms=100"})
                    .ok());
    ASSERT_TRUE(StartDialing("dialing"));
    tenancy::v1::Quota quota;
    quota.set_max_agents(1000);
    quota.set_max_contacts(100000);
    quota.set_max_concurrent_lines(100);
    quota.set_max_requests_per_second(100000);
    ASSERT_TRUE(p_->CreateTenant(kTenant, &quota).ok());
    admin_ = new std::string(*p_->Credential(kTenant, tenancy::v1::ROLE_TENANT_ADMIN));
    agent_ = new std::string(*p_->Credential(kTenant, tenancy::v1::ROLE_AGENT));
  }
  static void TearDownTestSuite() {
    delete p_;
    delete admin_;
    delete agent_;
    delete scenario_;
  }
  static bool StartDialing(const std::string& name) {
    absl::Status st = p_->StartService(
        name, DIALGRID_DIALING_BIN,
        {"--contacts=" + p_->Address("contacts"), "--compliance=" + p_->Address("compliance"),
         "--agent_state=" + p_->Address("agentstate"), "--carrier_scenario=" + *scenario_,
         "--tick_ms=200", "--lease_ttl_ms=3000", "--grace_ms=2000",
         // A caller every 2 s on average to the blended campaign's number.
         absl::StrCat("--carrier_inbound=", kInboundNumber, ":1800")});
    EXPECT_TRUE(st.ok()) << st << " see " << p_->LogPath(name);
    return st.ok();
  }
  static auto Ctx(const std::string& secret) { return TestPlatform::Context(secret); }
  // The last lines of a service's log, for a failure's message.
  static std::string Tail(const std::string& name, int lines = 25) {
    std::ifstream in(p_->LogPath(name));
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out = "\n--- " + name + " log ---\n";
    for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
      out += all[i] + "\n";
    }
    return out;
  }
  // Where the contacts and agents are, for a failure's message.
  static std::string Diagnose(const std::string& list) {
    std::map<std::string, int> contacts_by;
    auto cs = ct::ContactsService::NewStub(p_->Channel("contacts"));
    ct::ListContactsRequest lr;
    lr.set_parent(T() + "/contactLists/" + list);
    lr.set_page_size(1000);
    ct::ListContactsResponse resp;
    (void)cs->ListContacts(Ctx(*admin_).get(), lr, &resp);
    for (const auto& c : resp.contacts()) {
      ++contacts_by[absl::StrCat(ct::ContactStatus_Name(c.status()), " ", c.last_outcome())];
    }
    std::string out = "contacts:";
    for (const auto& [k, n] : contacts_by) absl::StrAppend(&out, " [", k, "]=", n);
    auto ag = as::AgentStateService::NewStub(p_->Channel("agentstate"));
    as::ListAgentsRequest ar;
    ar.set_parent(T());
    ar.set_page_size(1000);
    as::ListAgentsResponse agents;
    (void)ag->ListAgents(Ctx(*admin_).get(), ar, &agents);
    absl::StrAppend(&out, "\nagents:");
    for (const auto& a : agents.agents()) {
      absl::StrAppend(&out, " ", a.name(), "=", as::State_Name(a.status().state()), "(",
                      a.status().call_id(), ")");
    }
    return out + "\n";
  }
  // Which dialing process claimed a campaign, from its log.
  static std::string Owner(const std::string& campaign) {
    for (const char* name : {"dialing", "dialing-2"}) {
      auto* proc = p_->Process(name);
      if (proc == nullptr) continue;
      std::ifstream in(p_->LogPath(name));
      std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (all.find("\"campaign claimed\",\"campaign\":\"tenants/e2e/campaigns/" + campaign) !=
          std::string::npos) {
        return name;
      }
    }
    return "";
  }
  static std::string T() { return absl::StrCat("tenants/", kTenant); }

  // The tenant's rule set: the 3 % abandon cap; and written consent for
  // every number (automated dials may need it).
  static void SetUpCompliance(const std::vector<std::string>& numbers) {
    auto stub = cm::ComplianceService::NewStub(p_->Channel("compliance"));
    cm::UpdateRuleSetRequest req;
    cm::GetRuleSetRequest get;
    get.set_name(T() + "/ruleSet");
    cm::RuleSet current;
    if (stub->GetRuleSet(Ctx(*admin_).get(), get, &current).ok()) {
      req.set_expected_version(current.version());
    }
    auto* rs = req.mutable_rule_set();
    rs->set_name(T() + "/ruleSet");
    rs->set_max_abandon_rate(0.03);
    cm::RuleSet out;
    grpc::Status st = stub->UpdateRuleSet(Ctx(*admin_).get(), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const auto& n : numbers) {
      cm::RecordConsentRequest c;
      c.set_parent(T());
      c.mutable_consent()->set_phone_number(n);
      c.mutable_consent()->set_type(cm::CONSENT_TYPE_PRIOR_EXPRESS_WRITTEN);
      *c.mutable_consent()->mutable_grant_time() = ToTimestamp(absl::Now() - absl::Hours(24));
      c.mutable_consent()->set_source("e2e web form");
      cm::Consent consent;
      st = stub->RecordConsent(Ctx(*admin_).get(), c, &consent);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }

  static std::vector<std::string> CreateContacts(const std::string& list, int n, int first) {
    auto stub = ct::ContactsService::NewStub(p_->Channel("contacts"));
    ct::CreateContactListRequest lr;
    lr.set_parent(T());
    lr.set_contact_list_id(list);
    lr.mutable_contact_list()->set_display_name("E2E " + list);
    ct::ContactList made;
    grpc::Status st = stub->CreateContactList(Ctx(*admin_).get(), lr, &made);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> numbers;
    for (int i = 0; i < n; ++i) {
      ct::CreateContactRequest req;
      req.set_parent(T() + "/contactLists/" + list);
      auto* c = req.mutable_contact();
      c->set_external_id(absl::StrCat("e", first + i));
      c->set_first_name("Callee");
      c->set_last_name(absl::StrCat(first + i));
      // London numbers Ofcom keeps for drama (020 7946 0000-0999): the UK
      // has no statutory calling hours, so the test reads the same at any
      // hour of the day.
      const std::string number = absl::StrCat("+442079460", absl::Dec(first + i, absl::kZeroPad3));
      c->add_phones()->mutable_number()->set_e164(number);
      c->set_time_zone("Europe/London");
      c->set_country("GB");
      ct::Contact out;
      st = stub->CreateContact(Ctx(*admin_).get(), req, &out);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      numbers.push_back(number);
    }
    return numbers;
  }

  static void CreateCampaign(const std::string& id, const std::string& list,
                             v1::CampaignMode mode = v1::CAMPAIGN_MODE_PREDICTIVE) {
    auto stub = v1::DialingService::NewStub(p_->Channel("dialing"));
    v1::CreateCampaignRequest req;
    req.set_parent(T());
    req.set_campaign_id(id);
    auto* c = req.mutable_campaign();
    c->set_display_name("E2E " + id);
    c->add_contact_lists(T() + "/contactLists/" + list);
    c->set_mode(mode);
    c->set_max_lines(20);
    *c->mutable_ring_timeout() = ToDurationProto(absl::Seconds(15));
    c->add_caller_ids("+442079460999");
    c->set_time_zone("Europe/London");
    auto* d = c->add_dispositions();
    d->set_code("sale");
    d->set_outcome(v1::DISPOSITION_OUTCOME_SUCCESS);
    d->set_sale(true);
    d = c->add_dispositions();
    d->set_code("dnc");
    d->set_outcome(v1::DISPOSITION_OUTCOME_DO_NOT_CALL);
    v1::Campaign out;
    grpc::Status st = stub->CreateCampaign(Ctx(*admin_).get(), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static void StartCampaign(const std::string& id) {
    auto stub = v1::DialingService::NewStub(p_->Channel("dialing"));
    v1::StartCampaignRequest req;
    req.set_name(T() + "/campaigns/" + id);
    v1::Campaign out;
    grpc::Status st = stub->StartCampaign(Ctx(*admin_).get(), req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static void CreateAgents(const std::string& campaign, int n, const std::string& prefix) {
    auto stub = as::AgentStateService::NewStub(p_->Channel("agentstate"));
    for (int i = 0; i < n; ++i) {
      as::CreateAgentRequest req;
      req.set_parent(T());
      req.set_agent_id(absl::StrCat(prefix, i));
      req.mutable_agent()->set_display_name(absl::StrCat("Agent ", i));
      req.mutable_agent()->add_campaigns(T() + "/campaigns/" + campaign);
      as::Agent out;
      grpc::Status st = stub->CreateAgent(Ctx(*admin_).get(), req, &out);
      ASSERT_TRUE(st.ok()) << st.error_message();
      as::LoginRequest login;
      login.set_name(out.name());
      login.set_station(absl::StrCat("ext-", i));
      as::AgentStatus status;
      st = stub->Login(Ctx(*agent_).get(), login, &status);
      ASSERT_TRUE(st.ok()) << st.error_message();
      as::SetReadyRequest ready;
      ready.set_name(out.name());
      st = stub->SetReady(Ctx(*agent_).get(), ready, &status);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }

  static TestPlatform* p_;
  static std::string* admin_;
  static std::string* agent_;
  static std::string* scenario_;
};

TestPlatform* CallPathTest::p_ = nullptr;
std::string* CallPathTest::admin_ = nullptr;
std::string* CallPathTest::agent_ = nullptr;
std::string* CallPathTest::scenario_ = nullptr;

// Simulated agent clients over the public API: an agent in wrap-up gives
// its call's disposition (every fifth a do-not-call) and gets ready again,
// with the agent credential; they see their states as a supervisor's
// desktop would (ListAgents).
class SimulatedAgents {
 public:
  // `dialing`: the replicas, tried in turn (a desktop's client-side
  // failover).
  SimulatedAgents(std::shared_ptr<grpc::Channel> agents,
                  std::vector<std::shared_ptr<grpc::Channel>> dialing, std::string secret,
                  std::string viewer)
      : agents_(as::AgentStateService::NewStub(agents)),
        secret_(std::move(secret)),
        viewer_(std::move(viewer)),
        thread_([this] { Run(); }) {
    for (auto& c : dialing) dialing_.push_back(v1::DialingService::NewStub(c));
  }
  ~SimulatedAgents() {
    stop_ = true;
    thread_.join();
  }
  std::map<std::string, std::string> Disposed() {
    std::lock_guard<std::mutex> lock(mu_);
    return disposed_;
  }

 private:
  void Run() {
    while (!stop_) {
      as::ListAgentsRequest req;
      req.set_parent(absl::StrCat("tenants/", kTenant));
      req.set_page_size(1000);
      as::ListAgentsResponse resp;
      if (agents_->ListAgents(TestPlatform::Context(viewer_).get(), req, &resp).ok()) {
        const bool beat = absl::Now() - last_beat_ > absl::Seconds(5);
        if (beat) last_beat_ = absl::Now();
        for (const auto& a : resp.agents()) {
          if (beat && a.status().state() != as::STATE_LOGGED_OUT) {
            as::HeartbeatRequest hb;  // the desktop's keep-alive
            hb.set_name(a.name());
            hb.set_station(a.status().station());
            as::AgentStatus status;
            (void)agents_->Heartbeat(TestPlatform::Context(secret_).get(), hb, &status);
          }
          if (a.status().state() != as::STATE_WRAP_UP) continue;
          const std::string call = a.status().call_id();
          v1::SetDispositionRequest d;
          d.set_name(call);
          {
            std::lock_guard<std::mutex> lock(mu_);
            d.set_code(disposed_.size() % 5 == 4 ? "dnc" : "sale");
          }
          v1::Call out;
          grpc::Status st;
          for (auto& replica : dialing_) {
            st = replica->SetDisposition(TestPlatform::Context(secret_).get(), d, &out);
            if (st.error_code() != grpc::StatusCode::UNAVAILABLE) break;
          }
          if (st.ok()) {
            std::lock_guard<std::mutex> lock(mu_);
            disposed_.emplace(call, d.code());
          } else {
            std::cout << "disposition of " << call << " refused: " << st.error_message() << "\n";
          }
          as::SetReadyRequest ready;
          ready.set_name(a.name());
          as::AgentStatus status;
          (void)agents_->SetReady(TestPlatform::Context(secret_).get(), ready, &status);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::unique_ptr<as::AgentStateService::Stub> agents_;
  std::vector<std::unique_ptr<v1::DialingService::Stub>> dialing_;
  std::string secret_, viewer_;
  absl::Time last_beat_ = absl::InfinitePast();
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, std::string> disposed_;  // call -> code
  std::thread thread_;
};

struct CallFacts {
  std::vector<std::string> steps;
  v1::Call last;
  int ended_events = 0;  // CallAttemptEnded on the dialing topic
};

std::map<std::string, CallFacts> FactsOf(const std::vector<event::v1::Envelope>& events) {
  std::map<std::string, CallFacts> calls;
  for (const auto& e : events) {
    v1::CallUpdated u;
    v1::CallAttemptEnded ended;
    if (e.type() == "dialgrid.dialing.v1.CallUpdated" && e.payload().UnpackTo(&u)) {
      calls[u.call().name()].steps.push_back(u.step());
      calls[u.call().name()].last = u.call();
    } else if (e.type() == "dialgrid.dialing.v1.CallAttemptEnded" && e.payload().UnpackTo(&ended)) {
      ++calls[ended.call()].ended_events;
    }
  }
  return calls;
}

TEST_F(CallPathTest, APredictiveCampaignRunsThroughItsListLegallyAndEveryStepIsOnKafka) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(),
                                                          {"calls", "dialing"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  auto numbers = CreateContacts("spring", kContacts, 0);
  SetUpCompliance(numbers);
  CreateCampaign("spring-sale", "spring");
  CreateAgents("spring-sale", kAgents, "a");
  SimulatedAgents sim(p_->Channel("agentstate"), {p_->Channel("dialing")}, *agent_, *admin_);
  StartCampaign("spring-sale");

  // Every contact dialed once and its call over (answered ones disposed).
  std::map<std::string, CallFacts> calls;
  bool done = (*recorder)->WaitFor(
      [&](const std::vector<event::v1::Envelope>& events) {
        calls = FactsOf(events);
        std::set<std::string> dialed;
        int finished = 0;
        for (const auto& [name, f] : calls) {
          // Its CallAttemptEnded (dialing topic, own relay) seen too.
          if (f.last.state() == v1::CALL_STATE_ENDED && !f.last.awaiting_disposition() &&
              f.ended_events > 0) {
            ++finished;
          }
          dialed.insert(f.last.contact());
        }
        return static_cast<int>(dialed.size()) == kContacts &&
               finished == static_cast<int>(calls.size());
      },
      absl::Seconds(std::getenv("E2E_QUICK") ? 20 : 150));
  if (!done) std::cout << Diagnose("spring");
  ASSERT_TRUE(done) << calls.size() << " calls seen" << Tail("dialing") << Tail("compliance");

  auto comp = cm::ComplianceService::NewStub(p_->Channel("compliance"));
  int live = 0, abandoned = 0, connected = 0;
  std::set<std::string> contacts_dialed;
  for (const auto& [name, f] : calls) {
    const v1::Call& c = f.last;
    EXPECT_TRUE(contacts_dialed.insert(c.contact()).second) << c.contact() << " dialed twice";
    EXPECT_EQ(f.steps.front(), "DIALED") << name;
    EXPECT_EQ(f.ended_events, 1) << name;  // exactly one CallAttemptEnded for compliance
    // The decision that allowed it, from compliance's own audit: allowed,
    // for this number, taken before the dial and at most 2 s before it.
    ASSERT_FALSE(c.decision_id().empty()) << name;
    cm::ListDialRecordsRequest lr;
    lr.set_parent(T());
    lr.set_phone_number(c.phone_number());
    cm::ListDialRecordsResponse records;
    ASSERT_TRUE(comp->ListDialRecords(Ctx(*admin_).get(), lr, &records).ok());
    bool found = false;
    for (const auto& r : records.records()) {
      if (!r.has_decision() || r.decision().decision_id() != c.decision_id()) continue;
      found = true;
      EXPECT_TRUE(r.decision().allowed());
      const absl::Time decided = FromTimestamp(r.decision().decision_time());
      const absl::Time dialed = FromTimestamp(c.dial_time());
      EXPECT_LE(decided, dialed + absl::Milliseconds(5)) << name;  // clocks of one machine
      EXPECT_LE(dialed - decided, absl::Seconds(2)) << name;
    }
    EXPECT_TRUE(found) << "no decision " << c.decision_id() << " for " << name;
    if (c.outcome() == v1::CALL_OUTCOME_ANSWERED_CONNECTED) {
      ++live;
      ++connected;
      EXPECT_FALSE(c.agent().empty());
      EXPECT_FALSE(c.disposition().empty()) << name;
    }
    if (c.outcome() == v1::CALL_OUTCOME_ABANDONED) {
      ++live;
      ++abandoned;
    }
  }
  ASSERT_GT(connected, kContacts / 4) << "answered calls did not reach agents";
  EXPECT_LE(abandoned, static_cast<int>(0.03 * live)) << abandoned << " of " << live;

  // Dispositions reached contacts; do-not-call ones reached compliance.
  auto disposed = sim.Disposed();
  auto contacts = ct::ContactsService::NewStub(p_->Channel("contacts"));
  int dnc = 0;
  for (const auto& [name, f] : calls) {
    if (f.last.disposition().empty()) continue;
    ct::GetContactRequest gr;
    gr.set_name(f.last.contact());
    ct::Contact contact;
    ASSERT_TRUE(contacts->GetContact(Ctx(*admin_).get(), gr, &contact).ok());
    EXPECT_EQ(contact.last_outcome(), f.last.disposition()) << f.last.contact();
    if (f.last.disposition() != "dnc") continue;
    ++dnc;
    cm::CheckDoNotCallRequest dr;
    dr.set_parent(T());
    dr.set_phone_number(f.last.phone_number());
    cm::CheckDoNotCallResponse entries;
    ASSERT_TRUE(comp->CheckDoNotCall(Ctx(*admin_).get(), dr, &entries).ok());
    EXPECT_FALSE(entries.entries().empty()) << f.last.phone_number() << " not on the DNC list";
  }
  EXPECT_GT(dnc, 0);
  // Compliance's ledger counted the live answers from the dialing topic.
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    cm::GetAbandonRateRequest ar;
    ar.set_campaign(T() + "/campaigns/spring-sale");
    cm::AbandonRate rate;
    return comp->GetAbandonRate(Ctx(*admin_).get(), ar, &rate).ok() &&
           rate.last_24_hours().live_answers() == live;
  }));
}

// An agent's own dials through the whole platform: a PREVIEW campaign's
// contact previewed and dialed, another skipped, and manual dials, one to a
// number on the do-not-call list (refused, never placed) and one allowed;
// every dial after an allowed decision, the named agent on the call.
TEST_F(CallPathTest, AnAgentsPreviewAndManualDialsGoThroughComplianceAndAgentState) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(),
                                                          {"calls", "dialing"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  auto numbers = CreateContacts("preview", 3, 300);
  SetUpCompliance(numbers);
  CreateCampaign("preview-1", "preview", v1::CAMPAIGN_MODE_PREVIEW);
  CreateAgents("preview-1", 1, "pv");
  const std::string agent = T() + "/agents/pv0";
  // The agent's desk holds a credential bound to it; another agent's desk
  // may not act for it or on its calls.
  const std::string desk = *p_->AgentCredential(kTenant, agent);
  const std::string intruder = *p_->AgentCredential(kTenant, T() + "/agents/pv9");
  auto refused_as_another_agent = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
           ReasonOf(s) == "AGENT_MISMATCH";
  };
  StartCampaign("preview-1");
  auto dialing = v1::DialingService::NewStub(p_->Channel("dialing"));
  auto agents = as::AgentStateService::NewStub(p_->Channel("agentstate"));
  auto state_of = [&] {
    as::GetAgentRequest g;
    g.set_name(agent);
    as::Agent a;
    return agents->GetAgent(Ctx(*admin_).get(), g, &a).ok() ? a.status().state()
                                                            : as::STATE_UNSPECIFIED;
  };
  // The campaign is claimed and its hopper filled within a few seconds.
  v1::PreviewContactRequest pr;
  pr.set_campaign(T() + "/campaigns/preview-1");
  pr.set_agent(agent);
  v1::PreviewContactResponse preview;
  grpc::Status st;
  for (int i = 0; i < 100; ++i) {
    st = dialing->PreviewContact(Ctx(desk).get(), pr, &preview);
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(st.ok()) << st.error_message() << Tail("dialing");
  EXPECT_EQ(preview.call().state(), v1::CALL_STATE_PREVIEW);
  v1::PreviewContactResponse stolen;
  EXPECT_TRUE(refused_as_another_agent(dialing->PreviewContact(Ctx(intruder).get(), pr, &stolen)));
  EXPECT_FALSE(preview.contact().phones().empty());
  EXPECT_EQ(state_of(), as::STATE_READY);  // looking is not calling
  v1::DialPreviewRequest dr;
  dr.set_name(preview.call().name());
  v1::Call call;
  EXPECT_TRUE(refused_as_another_agent(dialing->DialPreview(Ctx(intruder).get(), dr, &call)));
  st = dialing->DialPreview(Ctx(desk).get(), dr, &call);
  ASSERT_TRUE(st.ok()) << st.error_message() << Tail("dialing");
  EXPECT_EQ(call.dialing_mode(), type::v1::DIALING_MODE_PREVIEW);
  EXPECT_FALSE(call.decision_id().empty());
  EXPECT_EQ(state_of(), as::STATE_ON_CALL);  // on the line from the dial
  // The call ends (answered and talked, or not); the agent wraps up, gives
  // a disposition if it talked, and is ready again.
  auto wait_ended = [&](const std::string& name) {
    v1::GetCallRequest g;
    g.set_name(name);
    v1::Call c;
    for (int i = 0; i < 150; ++i) {
      if (dialing->GetCall(Ctx(desk).get(), g, &c).ok() && c.state() == v1::CALL_STATE_ENDED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return c;
  };
  auto finish = [&](const v1::Call& c) {
    EXPECT_EQ(c.state(), v1::CALL_STATE_ENDED) << c.ShortDebugString();
    EXPECT_NE(c.outcome(), v1::CALL_OUTCOME_ABANDONED);
    EXPECT_EQ(c.agent(), agent);
    if (c.awaiting_disposition()) {
      v1::SetDispositionRequest d;
      d.set_name(c.name());
      d.set_code("sale");
      v1::Call out;
      EXPECT_TRUE(refused_as_another_agent(dialing->SetDisposition(Ctx(intruder).get(), d, &out)));
      grpc::Status ds = dialing->SetDisposition(Ctx(desk).get(), d, &out);
      EXPECT_TRUE(ds.ok()) << ds.error_message();
    }
    as::SetReadyRequest ready;
    ready.set_name(agent);
    as::AgentStatus status;
    EXPECT_TRUE(refused_as_another_agent(agents->SetReady(Ctx(intruder).get(), ready, &status)));
    grpc::Status rs = agents->SetReady(Ctx(desk).get(), ready, &status);
    EXPECT_TRUE(rs.ok()) << rs.error_message();
  };
  finish(wait_ended(call.name()));

  // The next preview is skipped: never checked, never dialed.
  v1::PreviewContactResponse second;
  ASSERT_TRUE(dialing->PreviewContact(Ctx(desk).get(), pr, &second).ok());
  v1::SkipPreviewRequest skip;
  skip.set_name(second.call().name());
  skip.set_reason("not today");
  v1::Call skipped;
  EXPECT_TRUE(refused_as_another_agent(dialing->SkipPreview(Ctx(intruder).get(), skip, &skipped)));
  ASSERT_TRUE(dialing->SkipPreview(Ctx(desk).get(), skip, &skipped).ok());
  EXPECT_EQ(skipped.outcome(), v1::CALL_OUTCOME_NOT_PLACED);

  // Manual dials: a number on the tenant's do-not-call list is refused with
  // the reason and not placed; an allowed one is dialed.
  auto compliance = cm::ComplianceService::NewStub(p_->Channel("compliance"));
  cm::AddDoNotCallNumbersRequest dnc;
  dnc.set_parent(T());
  dnc.add_phone_numbers("+442079460390");
  dnc.set_reason("asked on the phone");
  cm::AddDoNotCallNumbersResponse added;
  ASSERT_TRUE(compliance->AddDoNotCallNumbers(Ctx(*admin_).get(), dnc, &added).ok());
  v1::ManualDialRequest m;
  m.set_campaign(T() + "/campaigns/preview-1");
  m.set_agent(agent);
  m.set_phone_number("+442079460390");
  EXPECT_TRUE(refused_as_another_agent(dialing->ManualDial(Ctx(intruder).get(), m, &call)));
  st = dialing->ManualDial(Ctx(desk).get(), m, &call);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(ReasonOf(st), "DIAL_NOT_ALLOWED");
  EXPECT_EQ(state_of(), as::STATE_READY);
  m.set_phone_number("+442079460391");
  st = dialing->ManualDial(Ctx(desk).get(), m, &call);
  ASSERT_TRUE(st.ok()) << st.error_message() << Tail("dialing");
  EXPECT_EQ(call.dialing_mode(), type::v1::DIALING_MODE_MANUAL);
  const std::string manual = call.name();
  finish(wait_ended(manual));

  // From the events: two calls dialed, each DIALED once after its decision,
  // each ended once on the dialing topic; the skipped one never dialed.
  std::map<std::string, CallFacts> facts;
  ASSERT_TRUE((*recorder)->WaitFor(
      [&](const std::vector<event::v1::Envelope>& events) {
        facts = FactsOf(events);
        return facts[preview.call().name()].ended_events == 1 && facts[manual].ended_events == 1 &&
               facts[second.call().name()].steps.size() == 2;
      },
      absl::Seconds(30)));
  for (const std::string& name : {preview.call().name(), manual}) {
    const auto& steps = facts[name].steps;
    EXPECT_EQ(std::count(steps.begin(), steps.end(), "DIALED"), 1) << name;
    EXPECT_FALSE(facts[name].last.decision_id().empty());
  }
  EXPECT_EQ(facts[second.call().name()].steps,
            (std::vector<std::string>{"PREVIEWED", "SKIPPED"}));
  EXPECT_EQ(facts[second.call().name()].ended_events, 0);
}

TEST_F(CallPathTest, AKilledReplicasCampaignIsTakenOverWithoutLosingOrRedialingAttempts) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(),
                                                          {"calls", "dialing"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  auto numbers = CreateContacts("autumn", kContacts, 500);
  SetUpCompliance(numbers);
  CreateCampaign("autumn-sale", "autumn");
  CreateAgents("autumn-sale", kAgents, "b");
  // The second replica is up before the first dies: agents' desktops fail
  // over to it.
  ASSERT_TRUE(p_->StartService("dialing-2", DIALGRID_DIALING_BIN,
                               {"--contacts=" + p_->Address("contacts"),
                                "--compliance=" + p_->Address("compliance"),
                                "--agent_state=" + p_->Address("agentstate"),
                                "--carrier_scenario=" + *scenario_, "--tick_ms=200",
                                "--lease_ttl_ms=3000", "--carrier_seed=2"})
                  .ok());
  SimulatedAgents sim(p_->Channel("agentstate"), {p_->Channel("dialing"), p_->Channel("dialing-2")},
                      *agent_, *admin_);
  StartCampaign("autumn-sale");
  auto mine = [](const std::map<std::string, CallFacts>& calls) {
    int n = 0;
    for (const auto& [name, f] : calls) n += absl::StrContains(f.last.campaign(), "autumn-sale");
    return n;
  };
  std::map<std::string, CallFacts> calls;
  ASSERT_TRUE((*recorder)->WaitFor([&](const std::vector<event::v1::Envelope>& events) {
    calls = FactsOf(events);
    return mine(calls) >= 10;
  }));
  // Whichever replica owns the campaign dies mid-campaign; the other takes over.
  const std::string owner = Owner("autumn-sale");
  ASSERT_FALSE(owner.empty());
  ASSERT_EQ(kill(p_->Process(owner)->pid(), SIGKILL), 0);
  const std::string survivor = owner == "dialing" ? "dialing-2" : "dialing";
  bool done = (*recorder)->WaitFor(
      [&](const std::vector<event::v1::Envelope>& events) {
        calls = FactsOf(events);
        std::set<std::string> dialed;
        int finished = 0, total = 0;
        for (const auto& [name, f] : calls) {
          if (!absl::StrContains(f.last.campaign(), "autumn-sale")) continue;
          ++total;
          dialed.insert(f.last.contact());
          // Ended on the calls topic, and its CallAttemptEnded (the dialing
          // topic, a relay of its own that may lag under load) seen too.
          if (f.last.state() == v1::CALL_STATE_ENDED && f.ended_events > 0) ++finished;
        }
        return static_cast<int>(dialed.size()) == kContacts && finished == total;
      },
      absl::Seconds(150));
  ASSERT_TRUE(done) << Diagnose("autumn") << Tail(survivor) << Tail("compliance");
  std::set<std::string> contacts_dialed;
  int reconciled = 0;
  for (const auto& [name, f] : calls) {
    if (!absl::StrContains(f.last.campaign(), "autumn-sale")) continue;
    EXPECT_TRUE(contacts_dialed.insert(f.last.contact()).second) << f.last.contact() << " dialed twice";
    EXPECT_EQ(f.ended_events, 1) << name << " ended " << f.ended_events << " times";
    for (const auto& s : f.steps) reconciled += s == "RECONCILED";
  }
  // The calls in flight at the kill were ended by the new owner, and
  // compliance's ledger has every live answer, abandons included.
  std::cout << "calls in flight at the kill, ended by the new owner: " << reconciled << "\n";
  int live = 0;
  for (const auto& [name, f] : calls) {
    if (!absl::StrContains(f.last.campaign(), "autumn-sale")) continue;
    live += f.last.outcome() == v1::CALL_OUTCOME_ANSWERED_CONNECTED ||
            f.last.outcome() == v1::CALL_OUTCOME_ABANDONED;
  }
  auto comp = cm::ComplianceService::NewStub(p_->Channel("compliance"));
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    cm::GetAbandonRateRequest ar;
    ar.set_campaign(T() + "/campaigns/autumn-sale");
    cm::AbandonRate rate;
    return comp->GetAbandonRate(Ctx(*admin_).get(), ar, &rate).ok() &&
           rate.last_24_hours().live_answers() == live;
  })) << live << " live answers";
}

TEST_F(CallPathTest, CampaignsSpreadOverReplicasAndAnAgentsDialOnTheOtherOneReachesTheOwner) {
  auto numbers = CreateContacts("fwd", 4, 600);
  SetUpCompliance(numbers);
  CreateContacts("fwd-other", 1, 700);
  CreateCampaign("fwd-preview", "fwd", v1::CAMPAIGN_MODE_PREVIEW);
  CreateCampaign("fwd-other", "fwd-other", v1::CAMPAIGN_MODE_PREVIEW);
  CreateAgents("fwd-preview", 1, "fw");
  const std::string agent = T() + "/agents/fw0";
  ASSERT_TRUE(p_->StartService("dialing-2", DIALGRID_DIALING_BIN,
                               {"--contacts=" + p_->Address("contacts"),
                                "--compliance=" + p_->Address("compliance"),
                                "--agent_state=" + p_->Address("agentstate"),
                                "--carrier_scenario=" + *scenario_, "--tick_ms=200",
                                "--lease_ttl_ms=3000", "--carrier_seed=2"})
                  .ok());
  // Both replicas have advertised themselves before the campaigns start.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  StartCampaign("fwd-preview");
  StartCampaign("fwd-other");
  // Two running campaigns, two replicas: one each.
  std::string owner, other_owner;
  ASSERT_TRUE(TestPlatform::Eventually([&] {
    owner = Owner("fwd-preview");
    other_owner = Owner("fwd-other");
    return !owner.empty() && !other_owner.empty();
  })) << Tail("dialing") << Tail("dialing-2");
  EXPECT_NE(owner, other_owner) << "both campaigns on one replica";
  // The agent's desktop talks to the replica that does NOT own its campaign:
  // the preview, its dial and a manual dial are served by the owner.
  const std::string elsewhere = owner == "dialing" ? "dialing-2" : "dialing";
  auto dialing = v1::DialingService::NewStub(p_->Channel(elsewhere));
  v1::PreviewContactRequest pr;
  pr.set_campaign(T() + "/campaigns/fwd-preview");
  pr.set_agent(agent);
  v1::PreviewContactResponse preview;
  grpc::Status st;
  for (int i = 0; i < 100; ++i) {
    st = dialing->PreviewContact(Ctx(*agent_).get(), pr, &preview);
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(st.ok()) << st.error_message() << Tail(elsewhere) << Tail(owner);
  EXPECT_EQ(preview.call().state(), v1::CALL_STATE_PREVIEW);
  v1::DialPreviewRequest dr;
  dr.set_name(preview.call().name());
  v1::Call call;
  st = dialing->DialPreview(Ctx(*agent_).get(), dr, &call);
  ASSERT_TRUE(st.ok()) << st.error_message() << Tail(elsewhere) << Tail(owner);
  EXPECT_FALSE(call.decision_id().empty());
  EXPECT_EQ(call.state(), v1::CALL_STATE_DIALING) << call.ShortDebugString();
  // The owner's refusal comes back as the owner gave it: a number on the
  // do-not-call list, never dialed.
  auto compliance = cm::ComplianceService::NewStub(p_->Channel("compliance"));
  cm::AddDoNotCallNumbersRequest dnc;
  dnc.set_parent(T());
  dnc.add_phone_numbers("+442079460790");
  dnc.set_reason("asked on the phone");
  cm::AddDoNotCallNumbersResponse added;
  ASSERT_TRUE(compliance->AddDoNotCallNumbers(Ctx(*admin_).get(), dnc, &added).ok());
  v1::ManualDialRequest m;
  m.set_campaign(T() + "/campaigns/fwd-preview");
  m.set_agent(agent);
  m.set_phone_number("+442079460790");
  st = dialing->ManualDial(Ctx(*agent_).get(), m, &call);
  EXPECT_EQ(ReasonOf(st), "DIAL_NOT_ALLOWED") << st.error_message();
  // A supervisor's caller-ID rest is served by the owner too: the campaign's
  // only number cannot rest; ending a rest answers its status.
  v1::SetCallerIdRestRequest rest;
  rest.set_campaign(T() + "/campaigns/fwd-preview");
  rest.set_caller_id("+442079460999");
  rest.mutable_rest_duration()->set_seconds(3600);
  rest.set_reason("carrier label");
  v1::CallerIdStatus rested;
  st = dialing->SetCallerIdRest(Ctx(*admin_).get(), rest, &rested);
  EXPECT_EQ(ReasonOf(st), "LAST_CALLER_ID") << st.error_message();
  rest.clear_rest_duration();
  st = dialing->SetCallerIdRest(Ctx(*admin_).get(), rest, &rested);
  ASSERT_TRUE(st.ok()) << st.error_message() << Tail(elsewhere) << Tail(owner);
  EXPECT_EQ(rested.caller_id(), "+442079460999");
  EXPECT_FALSE(rested.has_resting_until());
  // Another tenant's credential is refused where it arrives, never forwarded.
  ASSERT_TRUE(p_->CreateTenant("e2e-other").ok());
  const std::string stranger = *p_->Credential("e2e-other", tenancy::v1::ROLE_AGENT);
  st = dialing->PreviewContact(Ctx(stranger).get(), pr, &preview);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // The replica that forwarded counts it (preview, dial, manual dial at
  // least; the counter is updated every second).
  httplib::Client admin(p_->AdminAddress(elsewhere));
  std::string body;
  EXPECT_TRUE(TestPlatform::Eventually([&] {
    auto metrics = admin.Get("/metrics");
    if (!metrics) return false;
    body = metrics->body;
    const std::string key = "dialgrid_dialing_call_steps_total{step=\"forwarded\"} ";
    size_t at = body.find(key);
    return at != std::string::npos && std::atof(body.c_str() + at + key.size()) >= 3;
  })) << body.substr(0, 3000);
}

TEST_F(CallPathTest, InboundCallersReachTheBlendedCampaignsAgentAndAnAbusiveOneIsBlocked) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(p_->broker().bootstrap(),
                                                          {"calls", "dialing"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  CreateContacts("blend", 1, 400);
  // PREVIEW: nothing is dialed unless the agent asks, so the agent is free
  // for the callers.
  CreateCampaign("blend-1", "blend", v1::CAMPAIGN_MODE_PREVIEW);
  auto dialing = v1::DialingService::NewStub(p_->Channel("dialing"));
  v1::UpdateCampaignRequest upd;
  upd.mutable_campaign()->set_name(T() + "/campaigns/blend-1");
  upd.mutable_campaign()->mutable_inbound()->add_numbers(kInboundNumber);
  upd.mutable_campaign()->mutable_inbound()->set_announce_recording(true);
  upd.mutable_update_mask()->add_paths("inbound");
  v1::Campaign campaign;
  grpc::Status st = dialing->UpdateCampaign(Ctx(*admin_).get(), upd, &campaign);
  ASSERT_TRUE(st.ok()) << st.error_message();
  CreateAgents("blend-1", 1, "bl");
  const std::string agent = T() + "/agents/bl0";
  StartCampaign("blend-1");

  // The agent takes a caller; while they talk (3 s), the agent flags them.
  auto agents = as::AgentStateService::NewStub(p_->Channel("agentstate"));
  v1::Call flagged;
  for (int i = 0; i < 600 && !flagged.has_abusive(); ++i) {
    as::GetAgentRequest g;
    g.set_name(agent);
    as::Agent a;
    if (agents->GetAgent(Ctx(*admin_).get(), g, &a).ok() && a.status().state() == as::STATE_ON_CALL &&
        absl::StrContains(a.status().call_id(), "/calls/i")) {
      v1::FlagAbusiveCallerRequest f;
      f.set_name(a.status().call_id());
      f.set_reason("threatened the agent");
      st = dialing->FlagAbusiveCaller(Ctx(*agent_).get(), f, &flagged);
      if (!st.ok()) {
        // Not connected yet (the bridge) or already over: the next one.
        EXPECT_EQ(ReasonOf(st), "CALL_NOT_CONNECTED") << st.error_message();
        flagged.Clear();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(flagged.has_abusive()) << Tail("dialing");
  EXPECT_EQ(flagged.direction(), v1::CALL_DIRECTION_INBOUND);
  EXPECT_EQ(flagged.called_number(), kInboundNumber);
  EXPECT_TRUE(flagged.recording_announcement());
  EXPECT_EQ(flagged.agent(), agent);

  // The agent is not ready under protection: its own SetReady is refused.
  as::GetAgentRequest g;
  g.set_name(agent);
  as::Agent a;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(agents->GetAgent(Ctx(*admin_).get(), g, &a).ok());
    if (a.status().state() == as::STATE_NOT_READY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(a.status().state(), as::STATE_NOT_READY) << a.status().ShortDebugString();
  EXPECT_EQ(a.status().reason_code(), "abusive-caller");
  EXPECT_TRUE(a.status().has_protected_until());
  as::SetReadyRequest ready;
  ready.set_name(agent);
  as::AgentStatus status;
  st = agents->SetReady(Ctx(*agent_).get(), ready, &status);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(st), "NOT_READY_PROTECTED");

  // The caller's number is on the tenant's block list.
  v1::ListBlockedNumbersRequest lb;
  lb.set_parent(T());
  v1::ListBlockedNumbersResponse blocked;
  ASSERT_TRUE(dialing->ListBlockedNumbers(Ctx(*admin_).get(), lb, &blocked).ok());
  ASSERT_EQ(blocked.blocked_numbers_size(), 1);
  EXPECT_EQ(blocked.blocked_numbers(0).number(), flagged.phone_number());
  EXPECT_EQ(blocked.blocked_numbers(0).call(), flagged.name());

  // On Kafka: the flagged call's steps, the block; no inbound call on the
  // `dialing` topic (they are not dials).
  std::map<std::string, CallFacts> facts;
  bool block_event = false;
  ASSERT_TRUE((*recorder)->WaitFor(
      [&](const std::vector<event::v1::Envelope>& events) {
        facts = FactsOf(events);
        for (const auto& e : events) {
          block_event = block_event || e.type() == "dialgrid.dialing.v1.InboundNumberBlockChanged";
        }
        const auto& steps = facts[flagged.name()].steps;
        return block_event && !steps.empty() && steps.back() == "ENDED";
      },
      absl::Seconds(30)))
      << Tail("dialing");
  EXPECT_EQ(facts[flagged.name()].steps,
            (std::vector<std::string>{"OFFERED", "QUEUED", "CONNECTED", "ABUSIVE_FLAGGED", "ENDED"}));
  EXPECT_EQ(facts[flagged.name()].last.outcome(), v1::CALL_OUTCOME_ANSWERED_CONNECTED);
  for (const auto& [name, f] : facts) {
    if (f.last.direction() == v1::CALL_DIRECTION_INBOUND) {
      EXPECT_EQ(f.ended_events, 0) << name;
    }
  }
}

}  // namespace
}  // namespace dialgrid::dialing
