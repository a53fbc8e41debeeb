#pragma once

// The hand-computed scenario the component and service tests publish: one
// tenant's campaign "spring" on day D = 2026-11-02 (UTC) and agent "ann".
// Every figure the tests expect is worked out in the comments of
// reporting_component_test.cc from the table below.
//
// Campaign spring: costs USD 0.005 per attempt, 0.02 per connected minute;
// dispositions "sale" (a sale), "no-interest", "callback".
//
// Attempts (topic dialing, CallAttemptEnded), by end time:
//   c0  D-10 12:00  ABANDONED            (outside the report range; 30-day ledger)
//   c1  D 09:05:05  ANSWERED_CONNECTED   agent ann  talk 09:03:05-09:05:05 = 120 s  sale
//   c3  D 09:40:45  ANSWERED_CONNECTED   agent bob  talk 09:40:00-09:40:45 =  45 s  sale
//   c4  D 09:53:20  ANSWERED_CONNECTED   agent bob  talk 09:50:00-09:53:20 = 200 s  callback
//   c6  D 09:15:00  ABANDONED
//   c7  D 09:20:00  NO_ANSWER
//   c2  D 10:25:00  ANSWERED_CONNECTED   agent ann  talk 10:20:00-10:25:00 = 300 s  no-interest
//   c5  D 10:06:35  ANSWERED_CONNECTED   agent bob  talk 10:05:00-10:06:35 =  95 s  no-interest,
//                                                   then corrected to sale
//   c8  D 10:01:00  BUSY
//   c9  D 10:10:00  MACHINE
//   c10 D 10:40:00  NO_ANSWER
//   c11 D 10:41:00  NOT_PLACED           (not an attempt)
// Calls (topic calls): CONNECTED and ENDED of c1-c5 (c1's ENDED published
// twice under two event ids, as a dialer replica taking over might), and
// DISPOSED as above (c5 twice: "no-interest", then "sale").
// Agent ann (topic agents): Agent (team north; targets 4 calls, 2 sales,
// occupancy 0.5), then statuses v1..v14:
//   08:50:00 NOT_READY login   09:00:00 READY   09:03:00 RESERVED (spring)
//   09:03:05 ON_CALL (spring)  09:05:05 WRAP_UP (spring)   09:05:35 READY
//   09:20:00 RESERVED (spring) 09:20:10 READY (released)   09:30:00 NOT_READY lunch
//   10:15:00 READY             10:20:00 ON_CALL (spring)   10:25:00 WRAP_UP (spring)
//   10:26:00 READY             10:30:00 LOGGED_OUT
// Recordings (topic recordings): r1 stored 09:10 with 1,000,000 bytes, then
// again (a resumed upload) 09:20 with 1,500,000; r2 stored 10:00 with
// 2,000,000 and deleted 10:30.
// Campaign spring's CampaignStateChanged (topic calls) at D 08:00.

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/agentstate/v1/agentstate.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "dialgrid/recording/v1/recording.pb.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/random.h"

namespace dialgrid::reporting::testing {

struct Published {
  std::string topic;
  event::v1::Envelope event;
};

// Midnight UTC of day D.
inline absl::Time DayD() {
  return absl::FromCivil(absl::CivilDay(2026, 11, 2), absl::UTCTimeZone());
}
// D + hh:mm:ss.
inline absl::Time At(int h, int m, int s = 0) {
  return DayD() + absl::Hours(h) + absl::Minutes(m) + absl::Seconds(s);
}

inline event::v1::Envelope Envelope(const std::string& tenant, const std::string& subject,
                                    const google::protobuf::Message& payload, absl::Time when) {
  event::v1::Envelope e;
  e.set_event_id(RandomHex(16));
  e.set_tenant(tenant);
  e.set_type(payload.GetDescriptor()->full_name());
  *e.mutable_time() = ToTimestamp(when);
  e.set_producer("test/hand");
  e.set_subject(subject);
  e.mutable_payload()->PackFrom(payload);
  return e;
}

inline std::vector<Published> HandScenario(const std::string& t) {
  std::vector<Published> out;
  const std::string campaign = absl::StrCat("tenants/", t, "/campaigns/spring");
  const std::string ann = absl::StrCat("tenants/", t, "/agents/ann");
  const std::string bob = absl::StrCat("tenants/", t, "/agents/bob");
  auto call_name = [&](const std::string& id) {
    return absl::StrCat("tenants/", t, "/calls/", id);
  };

  {  // the campaign's settings
    dialing::v1::CampaignStateChanged s;
    dialing::v1::Campaign* c = s.mutable_campaign();
    c->set_name(campaign);
    c->set_state(dialing::v1::CAMPAIGN_STATE_RUNNING);
    c->mutable_costs()->set_currency_code("USD");
    c->mutable_costs()->set_per_attempt_micros(5000);
    c->mutable_costs()->set_per_minute_micros(20000);
    const std::vector<std::pair<const char*, bool>> codes = {
        {"sale", true}, {"no-interest", false}, {"callback", false}};
    for (const auto& [code, sale] : codes) {
      dialing::v1::Disposition* d = c->add_dispositions();
      d->set_code(code);
      d->set_sale(sale);
    }
    out.push_back({"calls", Envelope(t, campaign, s, At(8, 0))});
  }
  {  // ann's definition
    agentstate::v1::Agent a;
    a.set_name(ann);
    a.set_team("north");
    a.mutable_targets()->set_calls_handled(4);
    a.mutable_targets()->set_sales(2);
    a.mutable_targets()->set_occupancy(0.5);
    out.push_back({"agents", Envelope(t, ann, a, At(7, 0))});
  }
  struct Attempt {
    const char* id;
    dialing::v1::CallOutcome outcome;
    absl::Time end;
  };
  const std::vector<Attempt> attempts = {
      {"c0", dialing::v1::CALL_OUTCOME_ABANDONED, DayD() - absl::Hours(24 * 10) + absl::Hours(12)},
      {"c1", dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, At(9, 5, 5)},
      {"c3", dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, At(9, 40, 45)},
      {"c4", dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, At(9, 53, 20)},
      {"c6", dialing::v1::CALL_OUTCOME_ABANDONED, At(9, 15)},
      {"c7", dialing::v1::CALL_OUTCOME_NO_ANSWER, At(9, 20)},
      {"c2", dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, At(10, 25)},
      {"c5", dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED, At(10, 6, 35)},
      {"c8", dialing::v1::CALL_OUTCOME_BUSY, At(10, 1)},
      {"c9", dialing::v1::CALL_OUTCOME_MACHINE, At(10, 10)},
      {"c10", dialing::v1::CALL_OUTCOME_NO_ANSWER, At(10, 40)},
      {"c11", dialing::v1::CALL_OUTCOME_NOT_PLACED, At(10, 41)},
  };
  for (const Attempt& a : attempts) {
    dialing::v1::CallAttemptEnded e;
    e.set_call(call_name(a.id));
    e.set_campaign(campaign);
    e.set_outcome(a.outcome);
    *e.mutable_dial_time() = ToTimestamp(a.end - absl::Minutes(1));
    *e.mutable_end_time() = ToTimestamp(a.end);
    out.push_back({"dialing", Envelope(t, e.call(), e, a.end)});
  }
  struct Talk {
    const char* id;
    const std::string* agent;
    absl::Time connect, end;
    std::vector<const char*> dispositions;
  };
  const std::vector<Talk> talks = {
      {"c1", &ann, At(9, 3, 5), At(9, 5, 5), {"sale"}},
      {"c3", &bob, At(9, 40), At(9, 40, 45), {"sale"}},
      {"c4", &bob, At(9, 50), At(9, 53, 20), {"callback"}},
      {"c2", &ann, At(10, 20), At(10, 25), {"no-interest"}},
      {"c5", &bob, At(10, 5), At(10, 6, 35), {"no-interest", "sale"}},
  };
  for (const Talk& k : talks) {
    dialing::v1::Call call;
    call.set_name(call_name(k.id));
    call.set_campaign(campaign);
    call.set_agent(*k.agent);
    call.set_direction(dialing::v1::CALL_DIRECTION_OUTBOUND);
    *call.mutable_dial_time() = ToTimestamp(k.connect - absl::Seconds(20));
    *call.mutable_answer_time() = ToTimestamp(k.connect - absl::Seconds(1));
    *call.mutable_connect_time() = ToTimestamp(k.connect);
    dialing::v1::CallUpdated u;
    call.set_state(dialing::v1::CALL_STATE_CONNECTED);
    *u.mutable_call() = call;
    u.set_step("CONNECTED");
    out.push_back({"calls", Envelope(t, call.name(), u, k.connect)});
    call.set_state(dialing::v1::CALL_STATE_ENDED);
    call.set_outcome(dialing::v1::CALL_OUTCOME_ANSWERED_CONNECTED);
    *call.mutable_end_time() = ToTimestamp(k.end);
    *u.mutable_call() = call;
    u.set_step("ENDED");
    out.push_back({"calls", Envelope(t, call.name(), u, k.end)});
    if (std::string(k.id) == "c1") {  // the same end, published again under a new event id
      out.push_back({"calls", Envelope(t, call.name(), u, k.end)});
    }
    int n = 0;
    for (const char* code : k.dispositions) {
      call.set_disposition(code);
      *u.mutable_call() = call;
      u.set_step("DISPOSED");
      out.push_back({"calls", Envelope(t, call.name(), u, k.end + absl::Seconds(10 + n++))});
    }
  }
  struct Move {
    agentstate::v1::State state;
    const char* reason;
    bool spring;
    absl::Time at;
  };
  const std::vector<Move> moves = {
      {agentstate::v1::STATE_NOT_READY, "login", false, At(8, 50)},
      {agentstate::v1::STATE_READY, "", false, At(9, 0)},
      {agentstate::v1::STATE_RESERVED, "", true, At(9, 3)},
      {agentstate::v1::STATE_ON_CALL, "", true, At(9, 3, 5)},
      {agentstate::v1::STATE_WRAP_UP, "", true, At(9, 5, 5)},
      {agentstate::v1::STATE_READY, "", false, At(9, 5, 35)},
      {agentstate::v1::STATE_RESERVED, "", true, At(9, 20)},
      {agentstate::v1::STATE_READY, "", false, At(9, 20, 10)},
      {agentstate::v1::STATE_NOT_READY, "lunch", false, At(9, 30)},
      {agentstate::v1::STATE_READY, "", false, At(10, 15)},
      {agentstate::v1::STATE_ON_CALL, "", true, At(10, 20)},
      {agentstate::v1::STATE_WRAP_UP, "", true, At(10, 25)},
      {agentstate::v1::STATE_READY, "", false, At(10, 26)},
      {agentstate::v1::STATE_LOGGED_OUT, "", false, At(10, 30)},
  };
  int64_t version = 0;
  for (const Move& m : moves) {
    agentstate::v1::AgentStatus s;
    s.set_agent(ann);
    s.set_state(m.state);
    s.set_reason_code(m.reason);
    if (m.spring) s.set_campaign(campaign);
    *s.mutable_state_time() = ToTimestamp(m.at);
    s.set_version(++version);
    out.push_back({"agents", Envelope(t, ann, s, m.at)});
  }
  auto recording = [&](const std::string& id, int64_t bytes) {
    recording::v1::Recording r;
    r.set_name(absl::StrCat("tenants/", t, "/recordings/", id));
    r.set_stored_bytes(bytes);
    return r;
  };
  const std::vector<std::tuple<const char*, int64_t, absl::Time>> stored = {
      {"r1", 1000000, At(9, 10)}, {"r1", 1500000, At(9, 20)}, {"r2", 2000000, At(10, 0)}};
  for (const auto& [id, bytes, when] : stored) {
    recording::v1::RecordingStored s;
    *s.mutable_recording() = recording(id, bytes);
    out.push_back({"recordings", Envelope(t, s.recording().name(), s, when)});
  }
  recording::v1::RecordingDeleted d;
  *d.mutable_recording() = recording("r2", 2000000);
  d.set_cause("erasure");
  out.push_back({"recordings", Envelope(t, d.recording().name(), d, At(10, 30))});
  return out;
}

}  // namespace dialgrid::reporting::testing
