// One simulated day of a campaign in virtual time: the callee tape, the
// policies' interface and the discrete-event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "services/dialing/pacing/pacer.h"
#include "services/dialing/telephony/scenario.h"

namespace dialgrid::sim {

// Everything about one callee, drawn once per (seed, day, position in the
// list) and shared by every policy. Which outcome applies is decided at dial
// time from u_outcome (the live-answer probability may vary over the shift).
struct Lead {
  double u_outcome = 0.0;
  double u_amd = 0.0;
  double setup = 0.0;
  double human_ring = 0.0;
  double machine_ring = 0.0;
  double fail = 0.0;
  double talk = 0.0;
  double wrap = 0.0;
  double machine_talk = 0.0;
  double machine_wrap = 0.0;
};

enum class Outcome { kHuman, kMachine, kBusyFailed, kNoAnswer };

// The callee list of one (seed, day): leads are drawn lazily, each from its
// own generator, so lead i is the same whoever asks and in whatever order.
class Tape {
 public:
  Tape(const Scenario& scenario, uint64_t seed, int day);
  const Lead& At(size_t index);
  Outcome OutcomeAt(const Lead& lead, double dial_time_s) const;

 private:
  const Scenario& scenario_;
  uint64_t seed_;
  int day_;
  std::vector<Lead> leads_;
};

// What a policy sees at a tick (what a live dialer knows).
struct SimView {
  double now_s = 0.0;
  int64_t day = 0;
  int agents = 0;
  int idle = 0;
  int talking = 0;  // on a call (human or routed machine)
  int wrapping = 0;
  int queued = 0;   // answers waiting for an agent
  absl::Span<const pacing::AgentView> agent_views;
  absl::Span<const double> in_flight_ages;
};

// An answer's end as the dialer sees it (with the truth the ledger needs).
struct CallEvent {
  bool human = false;
  bool abandoned = false;     // not connected within the grace (or AMD hang-up on a human)
  bool amd_hangup = false;    // the abandon was an AMD false positive
  bool reached_agent = false;
  double talk_s = 0.0;
  double wrap_s = 0.0;
  int64_t day = 0;
  double routed_age_s = -1.0;  // age of the attempt when it needed an agent (< 0: AMD hang-up)
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string Name() const = 0;
  virtual void StartDay(int64_t /*day*/) {}
  virtual int Decide(const SimView& view) = 0;
  virtual void OnAttemptFinished(double /*age_s*/, bool /*needs_agent*/) {}
  virtual void OnCall(const CallEvent& /*call*/) {}
  // Time spent in Decide, for the engine's cost per decision.
  virtual double DecideNs() const { return 0.0; }
  virtual int64_t Decisions() const { return 0; }
};

struct DayResult {
  int64_t day = 0;
  double logged_in_s = 0.0;
  double talk_s = 0.0;           // live-person talk inside the shift
  double busy_s = 0.0;           // talk + wrap + machine handling inside the shift
  int64_t live_answers = 0;      // live persons who answered (incl. AMD hang-ups)
  int64_t abandoned = 0;         // of which abandoned (queue timeouts + AMD hang-ups)
  int64_t amd_abandoned = 0;     // of which AMD hang-ups
  int64_t machines_dropped = 0;  // machines not connected within the grace
  int64_t machines_to_agent = 0;
  int64_t contacts = 0;          // live persons connected to an agent
  int64_t dials = 0;
  double line_s = 0.0;           // integral of lines in flight over the shift
  // Idle spells ending in a connect: count, sum, and a histogram (0.5 s bins).
  int64_t waits = 0;
  double wait_sum_s = 0.0;
  std::vector<int64_t> wait_hist;
  double TrueAbandonRate() const {
    return live_answers > 0 ? static_cast<double>(abandoned) / static_cast<double>(live_answers)
                            : 0.0;
  }
};

inline constexpr double kWaitBinS = 0.5;
inline constexpr size_t kWaitBins = 7200;  // one hour; the last bin holds longer spells

// Runs one day of `scenario` on `tape` with `policy`.
DayResult RunDay(const Scenario& scenario, Tape& tape, int64_t day, Policy& policy);

// The clairvoyant ceilings (pacing.md 1.7) on the same tape: every agent
// gets, the moment it is free, the next lead on the list that it would have
// to handle, dialed exactly early enough; leads it would not have to handle
// cost nothing. kB0 hands agents live persons only; kB1 also the machines
// that would reach an agent (all of them without AMD, the false negatives
// with AMD). Live persons an AMD would hang up on are skipped (the oracle
// knows).
enum class Ceiling { kB0, kB1 };
DayResult RunClairvoyant(const Scenario& scenario, Tape& tape, int64_t day, Ceiling ceiling);

}  // namespace dialgrid::sim
