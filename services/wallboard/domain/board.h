#pragma once

// What a wallboard shows for one tenant: its agents by state, its campaigns
// with their live figures, and today's KPIs, each part with whether its
// source answered. Plain value types and the JSON the page reads; no gRPC,
// no HTTP (services/wallboard/README.md describes the JSON).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace dialgrid::wallboard {

// Whether one part of the board could be read. A part that could not shows
// "unavailable" on the page, with the reason (e.g. PEER_UNAVAILABLE,
// PEER_DEADLINE_EXCEEDED, QUOTA_EXCEEDED); never stale data.
struct PartState {
  bool available = false;
  std::string reason;   // empty when available
  std::string message;  // for people; empty when available

  static PartState Ok() { return PartState{true, "", ""}; }
  static PartState From(const absl::Status& status);
};

struct TenantInfo {
  std::string id;
  std::string display_name;
  std::string time_zone;  // IANA
};

// One agent as the board shows it. States are lower-case names of the
// agent-state API's State without its prefix: "ready", "not_ready",
// "reserved", "on_call", "wrap_up", "logged_out".
struct AgentRow {
  std::string name;  // resource name: tenants/{t}/agents/{a} or agentPools/{p}/agents/{a}
  std::string display_name;
  std::string team;
  std::string state;
  std::string reason_code;
  std::string station;
  std::string campaign;
  absl::Time state_since = absl::InfinitePast();
};

struct AgentList {
  std::vector<AgentRow> agents;
  bool truncated = false;  // more agents than the board reads
};

// The tenant's agents' time and calls for one day (agent-state GetTeamKpis).
struct TeamToday {
  absl::CivilDay day;
  int64_t calls_handled = 0;
  int64_t missed_reservations = 0;
  absl::Duration logged_in = absl::ZeroDuration();
  absl::Duration ready = absl::ZeroDuration();
  absl::Duration talk = absl::ZeroDuration();
  absl::Duration wrap_up = absl::ZeroDuration();
  absl::Duration not_ready = absl::ZeroDuration();
  double occupancy = 0;  // talk / logged in
  int64_t target_calls = 0;
  int64_t target_sales = 0;
};

// Sales so far today: dispositions the campaigns count as sales, from
// reporting (GetAgentReport for every agent) since `since`, the start of the
// UTC hour holding the tenant's midnight (reporting counts by whole UTC
// hours; for a zone off UTC by whole hours, exactly the tenant's day).
struct SalesToday {
  int64_t sales = 0;
  absl::Time since = absl::InfinitePast();
};

// A campaign's live figures (dialing WatchCampaign's first message).
struct CampaignFigures {
  bool dialing = false;  // a replica dials it now and the figures are fresh
  absl::Time update_time = absl::InfinitePast();
  std::string dialing_mode;  // lower case, e.g. "predictive"
  int64_t calls_in_progress = 0;
  int64_t max_lines = 0;
  int64_t lines_last_tick = 0;
  int64_t hopper_contacts = 0;
  bool hopper_dry = false;
  int64_t agents_ready = 0;
  int64_t agents_on_call = 0;
  int64_t agents_wrap_up = 0;
  int64_t agents_not_ready = 0;
  double answer_rate = 0;
  absl::Time counted_since = absl::InfinitePast();
  int64_t dials = 0;
  int64_t answered = 0;
  int64_t connected = 0;
  int64_t abandoned = 0;
  int64_t machines = 0;
  int64_t refused = 0;
  bool ledger_known = false;
  int64_t abandoned_24h = 0;
  int64_t live_answers_24h = 0;
  double abandon_rate_24h = 0;
  int64_t abandoned_30d = 0;
  int64_t live_answers_30d = 0;
  double abandon_rate_30d = 0;
  double max_abandon_rate = 0;
  bool over_abandon_cap = false;
  int64_t inbound_waiting = 0;
  int64_t inbound_offered = 0;
  int64_t inbound_answered = 0;
  double service_level = 0;
};

// Lines per agent taking calls: calls in progress over the agents ready or
// on a call; nullopt when no agent is.
std::optional<double> LinesPerAgent(const CampaignFigures& f);

struct CampaignRow {
  std::string name;  // tenants/{t}/campaigns/{c}
  std::string display_name;
  std::string mode;   // lower case, e.g. "predictive"
  std::string state;  // lower case: "draft", "running", "paused", "stopped"
  std::string state_reason;
  double power_ratio = 0;
  int64_t max_lines = 0;
  // The live figures: read for campaigns that are not drafts, up to a cap.
  PartState figures_state;
  std::optional<CampaignFigures> figures;
};

struct CampaignList {
  std::vector<CampaignRow> campaigns;
  bool truncated = false;
};

struct Board {
  std::string tenant_id;
  absl::Time generated_at = absl::InfinitePast();
  PartState tenant_state;  // tenancy: name and time zone
  TenantInfo tenant;
  PartState agents_state;  // agent-state ListAgents
  AgentList agents;
  PartState today_state;  // agent-state GetTeamKpis for the tenant's today
  TeamToday today;
  PartState sales_state;  // reporting: sales so far today
  SalesToday sales;
  PartState campaigns_state;  // dialing ListCampaigns
  CampaignList campaigns;
};

// The board as the JSON the page polls (see README.md, "The board JSON").
std::string BoardToJson(const Board& board);

// {"error":{"code":"PERMISSION_DENIED","reason":"TENANT_MISMATCH","message":"..."}}
std::string ErrorToJson(const absl::Status& status);

// The HTTP status that carries an error of this code: 401, 403, 400, 404,
// 429, 503, 504 or 500.
int HttpStatusOf(absl::StatusCode code);

// An answer about the caller's credential (UNAUTHENTICATED) or its right to
// the tenant (PERMISSION_DENIED): the whole board is refused with it.
bool IsAccessDenial(const absl::Status& status);

// The agent-state / dialing enum value name as the board writes it:
// the value named STATE_ON_CALL, prefix STATE_, is written on_call.
std::string EnumLabel(absl::string_view enum_name, absl::string_view prefix);

}  // namespace dialgrid::wallboard
