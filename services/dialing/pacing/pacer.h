// The pacing engine: how many lines a campaign dials now.
//
// Pure logic. No I/O, no clock and no randomness of its own: the caller gives
// the campaign's time (seconds since some origin of its choosing), the state a
// live dialer knows, and the stream of finished attempts and calls; the engine
// answers with a number of lines to dial. The simulator (tools/simulator) and
// the dialing service run this same code. docs/pacing.md describes the model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/dialing/pacing/abandon_ledger.h"
#include "services/dialing/pacing/estimators.h"

namespace dialgrid::pacing {

enum class DialingMode {
  kPreview,      // no line until an agent asks for one (preview_requests)
  kProgressive,  // one line per free agent
  kPower,        // power_ratio lines per free agent
  kPredictive,   // the model below, controlled against the abandon ledger
  kAgentless,    // agentless_lines in flight, no agents
};

// A campaign's pacing settings. The defaults are the engine's; nothing in
// them depends on a campaign's size or list.
struct PacingSettings {
  DialingMode mode = DialingMode::kPredictive;
  // The law's cap on abandoned live answers / live answers (FCC 3 %), per
  // calendar day and over ledger_window_days.
  double abandon_cap = 0.03;
  int ledger_window_days = 30;
  // Grace period: an answer not connected to an agent within it is abandoned.
  double grace_s = 2.0;
  // Cap on lines in flight (ringing or being classified) per logged-in agent.
  double max_lines_per_agent = 3.0;
  // kPower: lines per free agent.
  double power_ratio = 2.0;
  // kAgentless: lines kept in flight.
  int agentless_lines = 0;

  // Validates the settings; INVALID_ARGUMENT naming the field otherwise.
  absl::Status Validate() const;
};

// The controller's constants. One set for every campaign (tuned once on the
// simulator's tuning seeds, docs/pacing.md); exposed for tests and studies.
struct ControllerOptions {
  // The abandon rate is steered to a set point s below the cap by
  // set_point_sds standard deviations of a day's rate (Poisson at s: s +
  // z sqrt(s / L) = cap, L the live answers of a typical day, learned from
  // the ledger's past days), and to at most set_point_share of the cap.
  // Small pools, whose daily rate is noisier, get a lower set point; nothing
  // is configured per pool size.
  double set_point_share = 0.85;
  double set_point_sds = 2.0;
  // Before the ledger has a past day: this share of the cap.
  double first_day_set_point_share = 0.70;
  // The guard: when the day's rate, projected to the end of a typical day
  // with guard_margin_abandons more abandons than the ledger holds, reaches
  // this share of the cap, the engine dials progressive (no over-dialing)
  // until the projection falls back.
  double guard_share = 0.95;
  double guard_margin_abandons = 2.0;
  // Pseudo live answers at the set point that every day starts with, so the
  // first abandons of a day do not swing the controller.
  double prior_live_answers = 100.0;
  // The integral term, per live answer (the default): log(lambda) += gain *
  // (abandoned - set point) / set point, a stochastic approximation whose
  // speed follows the information (live answers), not the clock, so a
  // 5-agent pool's lambda is not pushed around by its few abandons. At 0,
  // the older per-second rule: log(lambda) moves by integral_gain_per_s * dt
  // * (rate today - set point) / set point.
  double integral_gain_per_live_answer = 0.0037;
  double integral_gain_per_s = 1.0 / 900.0;
  // Range of lambda: the agent idle time (seconds) one abandoned answer is
  // worth. A line is dialed when the idle time it is expected to save
  // exceeds lambda times the abandons it is expected to cause.
  double lambda_min = 1.0;
  double lambda_max = 1e5;
  // A new campaign starts cautious and lowers lambda as live answers come
  // in without abandons (about 600 of them per factor of 10).
  double lambda_initial = 3000.0;
  // Learning: half-lives in observations, and what is needed before the
  // predictive model is used (progressive until then).
  double attempt_half_life = 1500.0;
  double call_half_life = 600.0;
  int min_attempts = 60;
  int min_calls = 25;
  // Credit for an answer that reaches an agent who is not free now but frees
  // by then (dialing ahead), relative to one that reaches an agent waiting
  // now (1: the same). At 0 (the default) lines are dialed for agents who
  // wait now, as many as their risk allows; agents about to free still
  // lower that risk, but no line is dialed for them alone. Measured on the
  // tuning seeds: crediting it fully cost up to 0.9 points at 5-25 agents
  // and gained at most 0.2 at 100 (docs/pacing.md section 4).
  double ahead_credit = 0.0;
  // How much a line's expected abandons and saved idle time count only its
  // live-person answers (1) or every answer that needs an agent (0). A
  // dropped machine is no abandon in law, and a machine that reaches an
  // agent gives no talk; without AMD machines answer later than persons, so
  // the share depends on when the answer comes (learned from
  // FinishedCall::routed_age_s; without it every answer counts as live).
  double live_share_in_cost = 1.0;
  double live_share_in_value = 1.0;
  // A machine (or other non-live answer) that reaches an agent takes that
  // agent for its handling time (learned from calls reported with
  // routed_age_s) with no talk: counted against a line's saved idle time,
  // times this weight (chosen on the tuning seeds: 0 -> 72.2 %, 0.5 ->
  // 72.4 %, 1 -> 72.2 % at 50 agents, 20 % live, AMD off).
  double machine_time_weight = 0.5;
  // How often the derived tables are rebuilt, in seconds of campaign time.
  double answer_refresh_s = 15.0;
  double service_refresh_s = 120.0;
};

enum class AgentState { kIdle, kTalking, kWrapUp };

struct AgentView {
  AgentState state = AgentState::kIdle;
  double elapsed_s = 0.0;  // time in the current state
  // kWrapUp: how long the call before it talked, if the caller knows (< 0:
  // unknown). A short call (a machine, a wrong number) wraps up faster.
  double talk_s = -1.0;
};

// What a live dialer knows at one tick.
struct CampaignSnapshot {
  double now_s = 0.0;  // campaign time; must not go backwards
  int64_t day = 0;     // calendar day index (the ledger's day)
  absl::Span<const AgentView> agents;
  // Age of every attempt that is dialing, ringing or being classified by AMD
  // (not yet needing an agent, not yet ended).
  absl::Span<const double> attempts_in_flight_age_s;
  // Answers that need an agent and wait for one (within their grace period).
  int queued_answers = 0;
  // kPreview: agents who asked for their next call.
  int preview_requests = 0;
};

// An attempt that left the in-flight set: either its answer now needs an
// agent (needs_agent, at age_s after the dial) or it ended without needing
// one (no answer, busy, failed, AMD hang-up) at age_s.
struct FinishedAttempt {
  double age_s = 0.0;
  bool needs_agent = false;
};

// A routed answer's end. Talk and wrap are the agent's time on it (a machine
// routed to an agent is a short talk). live_person and abandoned feed the
// ledger; an AMD hang-up on a live person is reported as a call with
// live_person and abandoned set and no agent time.
struct FinishedCall {
  bool live_person = false;
  bool abandoned = false;
  bool reached_agent = false;
  double talk_s = 0.0;
  double wrap_s = 0.0;
  int64_t day = 0;
  // The attempt's age when its answer came to need an agent (the age_s of
  // its FinishedAttempt), if the caller knows it; < 0: unknown. With it the
  // engine learns which answer ages are live persons (a machine's greeting
  // comes later than a person's hello) and prices a line's risk by the
  // abandons the law counts. Calls without it (AMD hang-ups, callers that
  // do not report it) teach nothing here.
  double routed_age_s = -1.0;
  // A live answer of an attempt AMD screened, in production: the live
  // persons estimated to have been hung up on as machines alongside it
  // (f / (1 - f) for AMD's false-positive rate f), abandoned calls the
  // dialer cannot see. The simulator, which knows them, reports them as
  // live, abandoned calls instead and leaves this 0.
  double estimated_amd_hangups = 0.0;
};

struct PacingDecision {
  int lines = 0;
  // Diagnostics: the model's view at this tick (lambda 0: the guard holds
  // the campaign at progressive).
  double lambda = 0.0;
  double expected_answers = 0.0;
  double expected_free_agents = 0.0;
  bool model_ready = false;
};

class Pacer {
 public:
  static absl::StatusOr<std::unique_ptr<Pacer>> Create(const PacingSettings& settings,
                                                        const ControllerOptions& options = {});

  void OnAttemptFinished(const FinishedAttempt& attempt);
  void OnCallFinished(const FinishedCall& call);

  // How many lines to dial now.
  PacingDecision Decide(const CampaignSnapshot& snapshot);

  const AbandonLedger& ledger() const { return ledger_; }
  const PacingSettings& settings() const { return settings_; }
  // The abandon rate the controller steers a day to (a share of the cap
  // that depends on the ledger's past days).
  double set_point(int64_t day) const { return SetPoint(day); }
  // The controller's current price of an abandon, in seconds of idle time.
  double lambda() const;
  // Learned probability that an attempt's answer needs an agent.
  double learned_answer_probability() const { return answers_.RoutedProbability(); }
  double learned_mean_talk_s() const { return service_.MeanTalk(); }
  double learned_mean_wrap_s() const { return service_.MeanWrap(); }

 private:
  Pacer(const PacingSettings& settings, const ControllerOptions& options);

  int Predictive(const CampaignSnapshot& snapshot, int idle, int room,
                 PacingDecision& decision);
  void UpdateController(const CampaignSnapshot& snapshot);
  double EffectiveLambda(int64_t day) const;
  double SetPoint(int64_t day) const;

  PacingSettings settings_;
  ControllerOptions options_;
  AnswerModel answers_;
  ServiceModel service_;
  AbandonLedger ledger_;
  double log_lambda_;
  // Mean agent time (talk + wrap-up) of non-live answers that reached an
  // agent, and its weight (exponentially forgetting).
  double machine_time_s_ = 0.0;
  double machine_time_weight_ = 0.0;
  double last_now_s_ = -1.0;
  double answers_built_at_s_ = -1e18;
  double service_built_at_s_ = -1e18;
  // Scratch, per checkpoint.
  std::vector<double> mean_answers_, var_answers_, mean_free_, var_free_;
};

}  // namespace dialgrid::pacing
