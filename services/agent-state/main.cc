// dialgrid-agentstate: flags -> config, wiring, run, drain, stop.
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "services/agent-state/adapters/redis_agent_store.h"
#include "services/agent-state/application/agent_state_manager.h"
#include "services/agent-state/server/agent_state_service.h"
#include "services/common/core/log.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/redis/redis_subscriber.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"

ABSL_FLAG(int, reservation_timeout_ms, 5000,
          "How long a reserved agent waits for the dialer's confirm before it is freed.");
ABSL_FLAG(int, max_wrap_up_seconds, 120, "Wrap-up longer than this ends by itself.");
ABSL_FLAG(int, heartbeat_grace_seconds, 60,
          "A station silent this long is logged out (ready and not-ready agents).");
ABSL_FLAG(bool, login_takes_over, false,
          "A login from a second station takes the session over instead of being refused.");
ABSL_FLAG(int, timer_sweep_ms, 250, "How often due timers are looked for.");
ABSL_FLAG(int, idle_alert_seconds, 0,
          "An agent ready (idle) longer than this raises an AgentAlert event, once per state "
          "entered (0: never).");
ABSL_FLAG(int, not_ready_alert_seconds, 0,
          "An agent not ready longer than this raises an AgentAlert event (0: never).");
ABSL_FLAG(int, metrics_sweep_seconds, 5,
          "How often the agents-per-state gauges and the alerts are brought up to date.");
ABSL_FLAG(int, watch_max_pending, 10000,
          "A watcher with more unsent changes than this gets a fresh snapshot instead.");

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Dialgrid agent-state service: agents, sessions, states with timers, reservations.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("agentstate", what, st);
  };

  auto options = PlatformRuntimeOptionsFromFlags("agentstate");
  if (!options.ok()) return fail("--service_secret_file", options.status());
  auto rt_or = ServiceRuntime::Create(*std::move(options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;

  events::RedisOutboxOptions outbox_options;
  outbox_options.stream = "agentstate";
  outbox_options.instance = rt.instance();
  auto outbox = rt.MakeOutbox(outbox_options);
  auto store = std::make_shared<agentstate::RedisAgentStore>(rt.redis(), outbox);
  agentstate::AgentStateOptions manager_options;
  manager_options.producer = rt.instance();
  manager_options.policy.reservation_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_reservation_timeout_ms));
  manager_options.policy.max_wrap_up = absl::Seconds(absl::GetFlag(FLAGS_max_wrap_up_seconds));
  manager_options.policy.heartbeat_grace =
      absl::Seconds(absl::GetFlag(FLAGS_heartbeat_grace_seconds));
  manager_options.policy.login_takes_over = absl::GetFlag(FLAGS_login_takes_over);
  manager_options.idle_alert = absl::Seconds(absl::GetFlag(FLAGS_idle_alert_seconds));
  manager_options.not_ready_alert = absl::Seconds(absl::GetFlag(FLAGS_not_ready_alert_seconds));
  // KPI days are the tenant's (tenancy's time zone of the tenant).
  auto platform = rt.shared_platform();
  manager_options.zone_of = [platform](const std::string& tenant) {
    absl::TimeZone zone = absl::UTCTimeZone();
    auto t = platform->tenants().Get(tenant);
    if (t.ok() && !t->time_zone().empty() && !absl::LoadTimeZone(t->time_zone(), &zone)) {
      zone = absl::UTCTimeZone();
    }
    return zone;
  };
  agentstate::AgentStateManager manager(store, SystemClock::Get(), manager_options);

  // Agents per state and over an alert threshold, across the platform (every
  // replica reports the same figures: aggregate with max, not sum). No
  // per-agent labels.
  auto& agents_gauge = prometheus::BuildGauge()
                           .Name("dialgrid_agentstate_agents")
                           .Help("Logged-in agents by state, across tenants and pools.")
                           .Register(rt.metrics());
  auto& over_gauge = prometheus::BuildGauge()
                         .Name("dialgrid_agentstate_agents_over_threshold")
                         .Help("Agents ready or not ready longer than the alert threshold.")
                         .Register(rt.metrics());
  auto& alerts = prometheus::BuildCounter()
                     .Name("dialgrid_agentstate_alerts_total")
                     .Help("AgentAlert events raised by this replica.")
                     .Register(rt.metrics())
                     .Add({});
  rt.scheduler().Every(absl::Seconds(absl::GetFlag(FLAGS_metrics_sweep_seconds)), [&] {
    auto counts = manager.StateCounts();
    if (counts.ok()) {
      for (auto state : {agentstate::AgentState::kReady, agentstate::AgentState::kNotReady,
                         agentstate::AgentState::kReserved, agentstate::AgentState::kOnCall,
                         agentstate::AgentState::kWrapUp}) {
        auto it = counts->find(state);
        agents_gauge.Add({{"state", std::string(agentstate::StateName(state))}})
            .Set(it == counts->end() ? 0 : static_cast<double>(it->second));
      }
    }
    auto sweep = manager.SweepAlerts();
    if (!sweep.ok()) {
      Log(LogLevel::kWarning, "agentstate", "alert sweep failed",
          {{"error", sweep.status().ToString()}});
      return;
    }
    for (auto state : {agentstate::AgentState::kReady, agentstate::AgentState::kNotReady}) {
      auto it = sweep->over_threshold.find(state);
      over_gauge.Add({{"state", std::string(agentstate::StateName(state))}})
          .Set(it == sweep->over_threshold.end() ? 0 : static_cast<double>(it->second));
    }
    alerts.Increment(sweep->raised);
  });

  events::OutboxRelayOptions relay;
  relay.default_topic = "agents";
  rt.StartRelay(outbox, relay);
  // Timers live in Redis: whichever replica sweeps first fires a due one.
  rt.scheduler().Every(absl::Milliseconds(absl::GetFlag(FLAGS_timer_sweep_ms)), [&manager] {
    auto fired = manager.FireDueTimers(1000);
    if (!fired.ok()) {
      Log(LogLevel::kWarning, "agentstate", "timer sweep failed",
          {{"error", fired.status().ToString()}});
    }
  });
  // Watchers of every replica follow the store's change channel; after a
  // break in it (messages may be lost) they take fresh snapshots.
  // One feed per Redis the tenants are placed on (a change is published
  // where its agent is stored).
  agentstate::AgentWatchHub hub;
  std::vector<std::unique_ptr<redis::Subscriber>> feeds;
  for (redis::Client* shard : rt.redis()->Shards()) {
    feeds.push_back(std::make_unique<redis::Subscriber>(
        shard->options(), agentstate::RedisAgentStore::kChangesChannel,
        [&hub](absl::string_view message) { hub.OnMessage(message); },
        [&hub] { hub.OnFeedLost(); }));
    feeds.back()->Start();
  }
  rt.AddStopStep("change feed", [&feeds] {
    for (auto& feed : feeds) feed->Stop();
  });
  agentstate::AgentStateServiceImpl service(
      rt.Env(&rt.platform().verifier()), manager,
      rt.platform().QuotaLookup(&tenancy::v1::Quota::max_agents), hub,
      absl::GetFlag(FLAGS_watch_max_pending));
  rt.AddService(&service, "dialgrid.agentstate.v1.AgentStateService");
  return rt.Run();
}
