// dialgrid-dialing: flags -> config, wiring, run, drain, stop.
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"
#include "services/common/core/scheduler.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "services/dialing/adapters/call_path_clients.h"
#include "services/dialing/adapters/watched_agents.h"
#include "services/dialing/adapters/contacts_client.h"
#include "services/dialing/adapters/redis_call_store.h"
#include "services/dialing/adapters/redis_campaign_store.h"
#include "services/dialing/application/campaign_manager.h"
#include "services/dialing/application/dialer.h"
#include "services/dialing/application/executor.h"
#include "services/dialing/server/dialing_service.h"
#include "services/dialing/telephony/simulated_carrier.h"

ABSL_FLAG(std::string, contacts, "", "The contacts service's gRPC address (host:port).");
ABSL_FLAG(std::string, compliance, "",
          "The compliance service's gRPC address: every dial is checked there just before it "
          "is placed. Without it (and --agent_state) the service keeps campaigns but dials "
          "nothing.");
ABSL_FLAG(std::string, agent_state, "", "The agent-state service's gRPC address.");
ABSL_FLAG(int, peer_timeout_ms, 2000, "The longest a call to a peer service may take.");
ABSL_FLAG(bool, agent_watch, true,
          "Keep each tenant's agents by one WatchAgents stream (and a ListAgents every "
          "--agent_membership_refresh_ms for the campaigns each takes) instead of a ListAgents "
          "per campaign every agent refresh.");
ABSL_FLAG(int, agent_membership_refresh_ms, 10000,
          "With --agent_watch: how old the campaigns each agent takes may get (an agent added "
          "to a campaign is paced with within this).");
ABSL_FLAG(std::string, carrier_scenario, "",
          "The simulated carrier's scenario file (the pacing simulator's JSON format): who "
          "answers, ring, talk and AMD times. Required to dial.");
ABSL_FLAG(uint64_t, carrier_seed, 1, "The simulated carrier's seed.");
ABSL_FLAG(int, carrier_max_calls, 2000, "Calls the simulated carrier carries at once.");
ABSL_FLAG(double, carrier_opt_out_share, 0.0,
          "The share of the simulated carrier's live callees who press the opt-out key while a "
          "recorded message plays (0 to 1).");
ABSL_FLAG(std::string, opt_out_key, "9",
          "The key a callee presses during a recorded message (AGENTLESS, the abandon message) "
          "to be put on the tenant's do-not-call list, for campaigns that name none "
          "(Campaign.opt_out_key); the messages must say so.");
ABSL_FLAG(std::vector<std::string>, carrier_inbound, {},
          "Inbound calls the simulated carrier offers by itself, as NUMBER:CALLS_PER_HOUR "
          "(comma-separated, e.g. +15550100000:120): callers dialing a blended campaign's "
          "inbound number.");
ABSL_FLAG(int, abusive_protect_minutes, 10,
          "Minutes an agent who flagged an abusive caller stays not ready (agent state refuses "
          "its SetReady until then).");
ABSL_FLAG(int, dialer_threads, 8, "Threads of the call path (peer calls block one).");
ABSL_FLAG(int, tick_ms, 250, "How often each owned campaign's pacing is decided.");
ABSL_FLAG(int, lease_ttl_ms, 6000,
          "How long a campaign's ownership lasts unless renewed: a dead replica's campaigns "
          "are taken over after this.");
ABSL_FLAG(int, grace_ms, 2000,
          "Answer -> agent connected within this, or the abandon message plays (FCC: 2 s).");
ABSL_FLAG(double, amd_false_positive_rate, 0.03,
          "AMD's false-positive rate (live persons taken for machines and hung up on) "
          "reported for campaigns that detect machines without their own estimate: "
          "compliance counts the estimated hang-ups as abandoned calls. Above 0, at most 0.5.");
ABSL_FLAG(int, disposition_timeout_seconds, 900,
          "A connected call without a disposition after this is closed as NO_DISPOSITION.");
ABSL_FLAG(int, preview_timeout_seconds, 120,
          "A PREVIEW campaign's contact held for an agent is skipped (given back) after this "
          "unless the agent dials it.");
ABSL_FLAG(int, call_retention_days, 35, "How long a call's record is kept after its last write.");
ABSL_FLAG(std::string, advertise_address, dialgrid::EnvOr("DIALGRID_ADVERTISE_ADDRESS", ""),
          "Where the other dialing replicas reach this one's gRPC (host:port): an agent's own "
          "dial, a preview or an abusive flag received by a replica that does not own the "
          "campaign is forwarded there. Default: the --listen host (this host's name when it "
          "listens on every address) and the port it serves on. In Kubernetes: the pod's IP.");
ABSL_FLAG(std::string, forward_tls_server_name, "",
          "With --peer_tls: the name the replicas' certificate carries, checked when a call is "
          "forwarded to the owner at its advertised address (an IP address, which the "
          "certificate need not carry). Default: the address's host.");

namespace {

// --advertise_address, or the --listen host and the port being served (empty
// until it serves).
std::string AdvertisedAddress(const dialgrid::ServiceRuntime& rt, dialgrid::ServiceHost& host) {
  std::string flag = absl::GetFlag(FLAGS_advertise_address);
  if (!flag.empty()) return flag;
  if (host.port() <= 0) return "";
  const std::string& listen = rt.options().host.listen_address;
  std::string name = listen.substr(0, listen.rfind(':'));
  if (name.empty() || name == "0.0.0.0" || name == "[::]") {
    char buf[256] = {0};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
    name = buf;
  }
  return absl::StrCat(name, ":", host.port());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Dialgrid dialing service: campaigns, and the call path that dials them.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("dialing", what, st);
  };
  if (absl::GetFlag(FLAGS_contacts).empty()) {
    return fail("--contacts", absl::InvalidArgumentError("the contacts service's address is required"));
  }
  const bool dials = !absl::GetFlag(FLAGS_compliance).empty() &&
                     !absl::GetFlag(FLAGS_agent_state).empty() &&
                     !absl::GetFlag(FLAGS_carrier_scenario).empty();

  auto options = PlatformRuntimeOptionsFromFlags("dialing");
  if (!options.ok()) return fail("--service_secret_file", options.status());
  auto rt_or = ServiceRuntime::Create(*std::move(options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;
  const absl::Duration peer_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_peer_timeout_ms));

  auto contacts = rt.platform().ConnectPeer("contacts", absl::GetFlag(FLAGS_contacts), peer_timeout);
  if (!contacts.ok()) return fail("--contacts", contacts.status());

  events::RedisOutboxOptions outbox_options;
  outbox_options.stream = "dialing";
  outbox_options.instance = rt.instance();
  auto outbox = rt.MakeOutbox(outbox_options);
  auto store = std::make_shared<dialing::RedisCampaignStore>(rt.redis(), outbox);
  dialing::CampaignOptions campaign_options;
  campaign_options.producer = rt.instance();
  dialing::CampaignManager campaigns(store, std::make_shared<dialing::ContactsClient>(*contacts),
                                     SystemClock::Get(), campaign_options);

  // The call path.
  dialing::DialerPorts ports;
  ports.campaigns = store;
  ports.calls = std::make_shared<dialing::RedisCallStore>(
      rt.redis(), outbox, absl::Hours(24 * absl::GetFlag(FLAGS_call_retention_days)));
  ports.contacts = std::make_shared<dialing::ContactsLeaseClient>(*contacts);
  if (dials) {
    auto compliance = rt.platform().ConnectPeer("compliance", absl::GetFlag(FLAGS_compliance),
                                                peer_timeout);
    if (!compliance.ok()) return fail("--compliance", compliance.status());
    auto agents = rt.platform().ConnectPeer("agent-state", absl::GetFlag(FLAGS_agent_state),
                                            peer_timeout);
    if (!agents.ok()) return fail("--agent_state", agents.status());
    ports.compliance = std::make_shared<dialing::ComplianceClient>(*compliance);
    ports.agents = std::make_shared<dialing::AgentStateClient>(*agents);
    if (absl::GetFlag(FLAGS_agent_watch)) {
      if (absl::GetFlag(FLAGS_agent_membership_refresh_ms) < 100) {
        return fail("--agent_membership_refresh_ms",
                    absl::InvalidArgumentError("must be at least 100"));
      }
      dialing::WatchedAgentsOptions watch;
      watch.membership_refresh = absl::Milliseconds(absl::GetFlag(FLAGS_agent_membership_refresh_ms));
      ports.agents = std::make_shared<dialing::WatchedAgentRouter>(*agents, ports.agents, watch);
    }
  }
  dialing::DialerOptions dialer_options;
  dialer_options.instance = rt.instance();
  dialer_options.advertise_address = [&rt] { return AdvertisedAddress(rt, rt.host()); };
  dialer_options.tick = absl::Milliseconds(absl::GetFlag(FLAGS_tick_ms));
  dialer_options.lease_ttl = absl::Milliseconds(absl::GetFlag(FLAGS_lease_ttl_ms));
  dialer_options.grace = absl::Milliseconds(absl::GetFlag(FLAGS_grace_ms));
  dialer_options.amd_false_positive_rate = absl::GetFlag(FLAGS_amd_false_positive_rate);
  if (!(dialer_options.amd_false_positive_rate > 0.0 &&
        dialer_options.amd_false_positive_rate <= 0.5)) {
    return fail("--amd_false_positive_rate",
                absl::InvalidArgumentError("must be above 0 and at most 0.5"));
  }
  dialer_options.opt_out_digit = absl::GetFlag(FLAGS_opt_out_key);
  if (dialer_options.opt_out_digit.size() != 1 ||
      !absl::StrContains("0123456789*#", dialer_options.opt_out_digit)) {
    return fail("--opt_out_key", absl::InvalidArgumentError("one key: 0-9, * or #"));
  }
  dialer_options.disposition_timeout =
      absl::Seconds(absl::GetFlag(FLAGS_disposition_timeout_seconds));
  dialer_options.preview_timeout = absl::Seconds(absl::GetFlag(FLAGS_preview_timeout_seconds));
  const int protect = absl::GetFlag(FLAGS_abusive_protect_minutes);
  if (protect < 1 || protect > 60) {
    return fail("--abusive_protect_minutes", absl::InvalidArgumentError("must be 1-60"));
  }
  dialer_options.abusive_protect_for = absl::Minutes(protect);
  auto& answer_to_connect =
      prometheus::BuildHistogram()
          .Name("dialgrid_dialing_answer_to_connect_seconds")
          .Help("From a live answer to the agent's connection asked of the carrier (the agent "
                "reserved); over the grace period the call is abandoned instead.")
          .Register(rt.metrics())
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                           0.1, 0.2, 0.5, 1, 2});
  dialer_options.on_answer_to_connect = [&answer_to_connect](double s) {
    answer_to_connect.Observe(s);
  };
  {
    auto platform = rt.shared_platform();
    dialer_options.tenant_max_lines = [platform](const std::string& tenant) -> int64_t {
      auto t = platform->tenants().Get(tenant);  // cached by the platform client
      return t.ok() ? t->quota().max_concurrent_lines() : 0;
    };
  }
  ThreadScheduler call_scheduler;
  auto executor = std::make_unique<dialing::StripedExecutor>(absl::GetFlag(FLAGS_dialer_threads));
  dialing::Dialer dialer(ports, call_scheduler, *executor, dialer_options);
  std::unique_ptr<telephony::SimulatedCarrier> carrier;
  if (dials) {
    auto scenario = sim::LoadScenario(absl::GetFlag(FLAGS_carrier_scenario));
    if (!scenario.ok()) return fail("--carrier_scenario", scenario.status());
    telephony::SimulatedCarrierOptions carrier_options;
    carrier_options.scenario = *std::move(scenario);
    carrier_options.seed = absl::GetFlag(FLAGS_carrier_seed);
    carrier_options.max_concurrent_calls = absl::GetFlag(FLAGS_carrier_max_calls);
    carrier_options.opt_out_share = absl::GetFlag(FLAGS_carrier_opt_out_share);
    for (const std::string& line : absl::GetFlag(FLAGS_carrier_inbound)) {
      std::vector<std::string> parts = absl::StrSplit(line, ':');
      double rate = 0;
      if (parts.size() != 2 || !absl::SimpleAtod(parts[1], &rate)) {
        return fail("--carrier_inbound",
                    absl::InvalidArgumentError(absl::StrCat("\"", line, "\": want NUMBER:CALLS_PER_HOUR")));
      }
      carrier_options.inbound.push_back({parts[0], rate});
    }
    auto made = telephony::SimulatedCarrier::Create(std::move(carrier_options), call_scheduler, dialer);
    if (!made.ok()) return fail("--carrier_scenario", made.status());
    carrier = *std::move(made);
    dialer.SetTelephony(carrier.get());
  } else {
    Log(LogLevel::kWarning, "dialing",
        "not dialing: --compliance, --agent_state and --carrier_scenario are needed to dial");
  }

  // Agents' own dials and abusive flags that reach a replica not owning the
  // campaign go to its owner.
  client::PeerTlsOptions forward_tls = rt.options().platform->peer_tls;
  if (!absl::GetFlag(FLAGS_forward_tls_server_name).empty()) {
    forward_tls.server_name = absl::GetFlag(FLAGS_forward_tls_server_name);
  }
  dialing::OwnerForwarder forwarder(forward_tls, peer_timeout);

  // Call-path counters (no per-tenant or per-campaign labels).
  auto& calls_total = prometheus::BuildCounter()
                          .Name("dialgrid_dialing_call_steps_total")
                          .Help("Call-path steps taken by this replica, by step.")
                          .Register(rt.metrics());
  std::map<std::string, int64_t> reported;
  auto& owned = prometheus::BuildGauge()
                    .Name("dialgrid_dialing_campaigns_owned")
                    .Help("Running campaigns this replica paces.")
                    .Register(rt.metrics())
                    .Add({});
  auto& in_flight = prometheus::BuildGauge()
                        .Name("dialgrid_dialing_calls_in_progress")
                        .Help("Calls of this replica being checked, placed or in progress, not yet ended.")
                        .Register(rt.metrics())
                        .Add({});
  auto& ownership_total = prometheus::BuildCounter()
                             .Name("dialgrid_dialing_campaign_moves_total")
                             .Help("Campaigns this replica handed off to balance the replicas "
                                   "(handed_off) or took over its share, left unclaimed (rescued).")
                             .Register(rt.metrics());
  rt.scheduler().Every(absl::Seconds(1), [&] {
    dialing::DialerStats s = dialer.Stats();
    const std::pair<const char*, int64_t> moves[] = {{"handed_off", s.handoffs},
                                                     {"rescued", s.rescued}};
    for (const auto& [move, n] : moves) {
      int64_t& before = reported[absl::StrCat("move:", move)];
      ownership_total.Add({{"move", move}}).Increment(static_cast<double>(n - before));
      before = n;
    }
    const dialing::OwnerForwarder::Stats f = forwarder.stats();
    const std::pair<const char*, int64_t> steps[] = {
        {"checked", s.checks},         {"denied", s.denied},
        {"check_failed", s.check_errors}, {"placed", s.placed},
        {"place_failed", s.place_errors}, {"answered", s.answered},
        {"connected", s.connected},    {"abandoned", s.abandoned},
        {"machine", s.machines},       {"ended", s.ended},
        {"hopper_dry", s.hopper_dry},  {"fenced", s.fenced},
        {"reconciled", s.reconciled},  {"disposed", s.dispositions},
        {"store_failed", s.store_errors}, {"caller_id_rested", s.caller_ids_rested},
        {"line_quota", s.line_quota}, {"previewed", s.previews},
        {"preview_skipped", s.previews_skipped}, {"agent_dialed", s.agent_dials},
        {"message_played", s.messages}, {"inbound_offered", s.inbound_offered},
        {"inbound_refused", s.inbound_refused}, {"inbound_blocked", s.inbound_blocked},
        {"inbound_connected", s.inbound_connected}, {"abusive_flagged", s.abusive_flagged},
        {"opted_out", s.opted_out}, {"opt_out_not_recorded", s.opt_outs_not_recorded},
        {"forwarded", f.forwarded}, {"forward_failed", f.failed}};
    for (const auto& [step, n] : steps) {
      int64_t& before = reported[step];
      calls_total.Add({{"step", step}}).Increment(static_cast<double>(n - before));
      before = n;
    }
    owned.Set(static_cast<double>(s.owned_campaigns));
    in_flight.Set(static_cast<double>(s.in_flight));
  });

  events::OutboxRelayOptions relay;
  relay.default_topic = "calls";
  relay.topic_by_type["dialgrid.dialing.v1.CallAttemptEnded"] = "dialing";
  rt.StartRelay(outbox, relay);

  auto platform = rt.shared_platform();
  dialing::DialingServiceImpl service(
      rt.Env(&rt.platform().verifier()), campaigns, dialer,
      [platform](const std::string& tenant) {
        auto t = platform->tenants().Get(tenant);
        return t.ok() ? t->time_zone() : std::string();
      },
      &forwarder);
  rt.AddService(&service, "dialgrid.dialing.v1.DialingService");
  if (dials) dialer.Start();
  int code = rt.Run();
  // Stop pacing and give the campaigns up, then the carrier, then let the
  // call path's threads finish what they hold.
  dialer.Stop();
  call_scheduler.Stop();
  carrier.reset();
  executor.reset();
  return code;
}
