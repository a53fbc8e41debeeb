#include "tools/simulator/simulation.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>

namespace dialgrid::sim {

Tape::Tape(const Scenario& scenario, uint64_t seed, int day)
    : scenario_(scenario), seed_(seed), day_(day) {}

const Lead& Tape::At(size_t index) {
  while (leads_.size() <= index) {
    Rng rng(MixSeed(seed_, static_cast<uint64_t>(day_), leads_.size()));
    Lead lead;
    // A fixed order of draws: the same lead whatever the scenario's options.
    lead.u_outcome = rng.Uniform();
    lead.u_amd = rng.Uniform();
    lead.setup = std::max(0.0, scenario_.setup.Sample(rng));
    lead.human_ring = std::max(0.0, scenario_.human_ring.Sample(rng));
    lead.machine_ring = std::max(0.0, scenario_.machine_ring.Sample(rng));
    lead.fail = std::max(0.0, scenario_.fail.Sample(rng));
    lead.talk = std::max(0.0, scenario_.talk.Sample(rng));
    lead.wrap = std::max(0.0, scenario_.wrap.Sample(rng));
    lead.machine_talk = std::max(0.0, scenario_.machine_talk.Sample(rng));
    lead.machine_wrap = std::max(0.0, scenario_.machine_wrap.Sample(rng));
    leads_.push_back(lead);
  }
  return leads_[index];
}

Outcome Tape::OutcomeAt(const Lead& lead, double dial_time_s) const {
  double u = lead.u_outcome;
  const double human = scenario_.human.At(dial_time_s);
  if (u < human) return Outcome::kHuman;
  u -= human;
  if (u < scenario_.machine) return Outcome::kMachine;
  u -= scenario_.machine;
  if (u < scenario_.busy_failed) return Outcome::kBusyFailed;
  return Outcome::kNoAnswer;
}

namespace {

enum class Ev : uint8_t { kTick, kResolve, kDeadline, kTalkEnd, kWrapEnd };

struct Event {
  double t;
  uint64_t seq;
  Ev type;
  int32_t id;
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.t != b.t ? a.t > b.t : a.seq > b.seq;
  }
};

enum class Resolution : uint8_t { kNoAgent, kRouted, kAmdHangupHuman };

struct Attempt {
  double dial_t = 0.0;
  double routed_age = -1.0;  // age when it came to need an agent
  double deadline = 0.0;
  double talk = 0.0;
  double wrap = 0.0;
  int32_t slot = -1;  // position in the in-flight list
  Resolution resolution = Resolution::kNoAgent;
  bool human = false;
  bool waiting = false;
};

struct Agent {
  pacing::AgentState state = pacing::AgentState::kIdle;
  double since = 0.0;
  int32_t call = -1;
};

double Overlap(double a, double b, double end) {
  return std::max(0.0, std::min(b, end) - std::min(a, end));
}

void RecordWait(DayResult& r, double wait) {
  r.waits++;
  r.wait_sum_s += wait;
  const size_t bin = std::min(kWaitBins - 1, static_cast<size_t>(wait / kWaitBinS));
  r.wait_hist[bin]++;
}

}  // namespace

DayResult RunDay(const Scenario& scenario, Tape& tape, int64_t day, Policy& policy) {
  const double end = scenario.shift_s();
  const int n_agents = scenario.agents;
  const int line_cap =
      static_cast<int>(std::floor(scenario.max_lines_per_agent * n_agents + 1e-9));
  DayResult r;
  r.day = day;
  r.logged_in_s = n_agents * end;
  r.wait_hist.assign(kWaitBins, 0);

  std::priority_queue<Event, std::vector<Event>, Later> events;
  uint64_t seq = 0;
  auto push = [&](double t, Ev type, int32_t id) { events.push({t, seq++, type, id}); };

  std::vector<Agent> agents(n_agents);
  std::deque<int32_t> idle;
  for (int32_t i = 0; i < n_agents; ++i) idle.push_back(i);
  std::vector<Attempt> attempts;
  std::vector<int32_t> in_flight;
  std::deque<int32_t> waiting;
  int queued = 0;
  size_t next_lead = 0;
  double last_t = 0.0;
  std::vector<pacing::AgentView> views(n_agents);
  std::vector<double> ages;

  policy.StartDay(day);
  push(0.0, Ev::kTick, 0);
  double now = 0.0;

  auto connect = [&](int32_t agent_id, int32_t call_id) {
    Agent& agent = agents[agent_id];
    Attempt& call = attempts[call_id];
    RecordWait(r, now - agent.since);
    agent.state = pacing::AgentState::kTalking;
    agent.since = now;
    agent.call = call_id;
    if (call.human) {
      r.contacts++;
      r.talk_s += Overlap(now, now + call.talk, end);
    } else {
      r.machines_to_agent++;
    }
    r.busy_s += Overlap(now, now + call.talk + call.wrap, end);
    push(now + call.talk, Ev::kTalkEnd, agent_id);
  };

  auto abandon = [&](int32_t call_id) {
    Attempt& call = attempts[call_id];
    CallEvent event;
    event.human = call.human;
    event.abandoned = true;
    event.day = day;
    event.routed_age_s = call.routed_age;
    if (call.human) {
      r.abandoned++;
    } else {
      r.machines_dropped++;
    }
    policy.OnCall(event);
  };

  auto route = [&](int32_t call_id) {
    Attempt& call = attempts[call_id];
    if (now > call.deadline + 1e-9) {
      abandon(call_id);
    } else if (!idle.empty()) {
      const int32_t agent = idle.front();
      idle.pop_front();
      connect(agent, call_id);
    } else {
      call.waiting = true;
      waiting.push_back(call_id);
      queued++;
      push(call.deadline, Ev::kDeadline, call_id);
    }
  };

  auto dial = [&]() {
    const Lead& lead = tape.At(next_lead++);
    const Outcome outcome = tape.OutcomeAt(lead, now);
    Attempt a;
    a.dial_t = now;
    r.dials++;
    double resolve_t = now + lead.setup + scenario.no_answer_timeout_s;
    a.resolution = Resolution::kNoAgent;
    const AmdSettings& amd = scenario.amd;
    if (outcome == Outcome::kHuman && lead.human_ring <= scenario.no_answer_timeout_s) {
      const double answer_t = now + lead.setup + lead.human_ring;
      a.human = true;
      a.talk = lead.talk;
      a.wrap = lead.wrap;
      if (!amd.enabled) {
        resolve_t = answer_t;
        a.resolution = Resolution::kRouted;
        a.deadline = answer_t + scenario.grace_s;
      } else {
        resolve_t = answer_t + amd.decision_delay_s;
        a.resolution = lead.u_amd < amd.false_positive ? Resolution::kAmdHangupHuman
                                                       : Resolution::kRouted;
        a.deadline = answer_t + amd.greeting_s + scenario.grace_s;
      }
    } else if (outcome == Outcome::kMachine &&
               lead.machine_ring <= scenario.no_answer_timeout_s) {
      const double answer_t = now + lead.setup + lead.machine_ring;
      a.talk = lead.machine_talk;
      a.wrap = lead.machine_wrap;
      if (!amd.enabled) {
        resolve_t = answer_t;
        a.resolution = Resolution::kRouted;
        a.deadline = answer_t + scenario.grace_s;
      } else {
        resolve_t = answer_t + amd.decision_delay_s;
        a.resolution =
            lead.u_amd < amd.false_negative ? Resolution::kRouted : Resolution::kNoAgent;
        a.deadline = answer_t + amd.greeting_s + scenario.grace_s;
      }
    } else if (outcome == Outcome::kBusyFailed) {
      resolve_t = now + lead.setup + lead.fail;
    }
    a.slot = static_cast<int32_t>(in_flight.size());
    const int32_t id = static_cast<int32_t>(attempts.size());
    attempts.push_back(a);
    in_flight.push_back(id);
    push(resolve_t, Ev::kResolve, id);
  };

  while (!events.empty()) {
    const Event e = events.top();
    events.pop();
    now = e.t;
    r.line_s += Overlap(last_t, now, end) * static_cast<double>(in_flight.size());
    last_t = now;
    switch (e.type) {
      case Ev::kTick: {
        SimView view;
        view.now_s = now;
        view.day = day;
        view.agents = n_agents;
        view.queued = queued;
        for (int i = 0; i < n_agents; ++i) {
          views[i].state = agents[i].state;
          views[i].elapsed_s = now - agents[i].since;
          views[i].talk_s = agents[i].state == pacing::AgentState::kWrapUp
                                ? attempts[agents[i].call].talk
                                : -1.0;
          switch (agents[i].state) {
            case pacing::AgentState::kIdle:
              view.idle++;
              break;
            case pacing::AgentState::kTalking:
              view.talking++;
              break;
            case pacing::AgentState::kWrapUp:
              view.wrapping++;
              break;
          }
        }
        ages.clear();
        for (int32_t id : in_flight) ages.push_back(now - attempts[id].dial_t);
        view.agent_views = views;
        view.in_flight_ages = ages;
        int lines = policy.Decide(view);
        lines = std::min(lines, line_cap - static_cast<int>(in_flight.size()));
        for (int i = 0; i < lines; ++i) dial();
        const double next = now + scenario.tick_s;
        if (next < end - 1e-9) push(next, Ev::kTick, 0);
        break;
      }
      case Ev::kResolve: {
        Attempt& a = attempts[e.id];
        // Leave the in-flight list (swap with the last).
        const int32_t last = in_flight.back();
        in_flight[a.slot] = last;
        attempts[last].slot = a.slot;
        in_flight.pop_back();
        a.slot = -1;
        const double age = now - a.dial_t;
        switch (a.resolution) {
          case Resolution::kNoAgent:
            policy.OnAttemptFinished(age, false);
            break;
          case Resolution::kAmdHangupHuman: {
            policy.OnAttemptFinished(age, false);
            r.live_answers++;
            r.abandoned++;
            r.amd_abandoned++;
            CallEvent event;
            event.human = true;
            event.abandoned = true;
            event.amd_hangup = true;
            event.day = day;
            policy.OnCall(event);
            break;
          }
          case Resolution::kRouted:
            a.routed_age = age;
            policy.OnAttemptFinished(age, true);
            if (a.human) r.live_answers++;
            route(e.id);
            break;
        }
        break;
      }
      case Ev::kDeadline: {
        Attempt& call = attempts[e.id];
        if (call.waiting) {
          call.waiting = false;
          queued--;
          abandon(e.id);
        }
        break;
      }
      case Ev::kTalkEnd: {
        Agent& agent = agents[e.id];
        agent.state = pacing::AgentState::kWrapUp;
        agent.since = now;
        push(now + attempts[agent.call].wrap, Ev::kWrapEnd, e.id);
        break;
      }
      case Ev::kWrapEnd: {
        Agent& agent = agents[e.id];
        const Attempt& call = attempts[agent.call];
        CallEvent event;
        event.human = call.human;
        event.reached_agent = true;
        event.talk_s = call.talk;
        event.wrap_s = call.wrap;
        event.day = day;
        event.routed_age_s = call.routed_age;
        policy.OnCall(event);
        agent.state = pacing::AgentState::kIdle;
        agent.since = now;
        agent.call = -1;
        int32_t next = -1;
        while (!waiting.empty()) {
          const int32_t id = waiting.front();
          waiting.pop_front();
          if (attempts[id].waiting) {
            next = id;
            break;
          }
        }
        if (next >= 0) {
          attempts[next].waiting = false;
          queued--;
          connect(e.id, next);
        } else {
          idle.push_back(e.id);
        }
        break;
      }
    }
  }
  return r;
}

DayResult RunClairvoyant(const Scenario& scenario, Tape& tape, int64_t day, Ceiling ceiling) {
  const double end = scenario.shift_s();
  DayResult r;
  r.day = day;
  r.logged_in_s = scenario.agents * end;
  r.wait_hist.assign(kWaitBins, 0);
  // (time the agent is free, agent), earliest first.
  using Slot = std::pair<double, int>;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> free_at;
  for (int i = 0; i < scenario.agents; ++i) free_at.push({0.0, i});
  size_t next_lead = 0;
  const AmdSettings& amd = scenario.amd;
  while (!free_at.empty()) {
    const auto [t, agent] = free_at.top();
    free_at.pop();
    if (t >= end) continue;
    // The next lead on the list this agent would have to handle.
    for (;;) {
      const Lead& lead = tape.At(next_lead++);
      const Outcome outcome = tape.OutcomeAt(lead, t);
      bool human = false, routed = false;
      double reach = 0.0;  // earliest connect if dialed at time 0
      if (outcome == Outcome::kHuman && lead.human_ring <= scenario.no_answer_timeout_s) {
        human = true;
        routed = !amd.enabled || lead.u_amd >= amd.false_positive;
        reach = lead.setup + lead.human_ring;
      } else if (outcome == Outcome::kMachine &&
                 lead.machine_ring <= scenario.no_answer_timeout_s) {
        routed = ceiling == Ceiling::kB1 && (!amd.enabled || lead.u_amd < amd.false_negative);
        reach = lead.setup + lead.machine_ring;
      }
      if (!routed) continue;
      if (amd.enabled) reach += amd.decision_delay_s;
      r.dials++;
      const double c = std::max(t, reach);
      RecordWait(r, c - t);
      const double talk = human ? lead.talk : lead.machine_talk;
      const double wrap = human ? lead.wrap : lead.machine_wrap;
      if (human) {
        r.live_answers++;
        r.contacts++;
        r.talk_s += Overlap(c, c + talk, end);
      } else {
        r.machines_to_agent++;
      }
      r.busy_s += Overlap(c, c + talk + wrap, end);
      free_at.push({c + talk + wrap, agent});
      break;
    }
  }
  return r;
}

}  // namespace dialgrid::sim
