// dialgrid-contacts: flags -> config, wiring, run, drain, stop.
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/core/env.h"
#include "services/common/events/outbox_relay.h"
#include "services/common/events/redis_outbox.h"
#include "services/common/events/relay_metrics.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/backends.h"
#include "services/common/server/rate_limiter.h"
#include "services/common/server/service_host.h"
#include "services/common/server/service_main.h"
#include "services/contacts/adapters/redis_contact_store.h"
#include "services/contacts/contact_manager.h"
#include "services/contacts/server/contacts_service.h"

ABSL_FLAG(std::string, data_dir, dialgrid::EnvOr("DIALGRID_CONTACTS_DATA_DIR", DIALGRID_CONTACTS_DATA_DIR),
          "Directory with region_time_zones.tsv and postal_code_regions.tsv.");
ABSL_FLAG(std::string, zone_tab, dialgrid::EnvOr("DIALGRID_ZONE_TAB", "/usr/share/zoneinfo/zone.tab"),
          "tzdata's zone.tab (country -> zones).");

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage("Dialgrid contacts service: lists, import, dialer feed, erasure.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("contacts", what, st);
  };

  auto zones = contacts::ZoneResolver::Load(absl::GetFlag(FLAGS_data_dir), absl::GetFlag(FLAGS_zone_tab));
  if (!zones.ok()) return fail("time-zone tables", zones.status());

  BackendOptions backend_options = BackendOptionsFromFlags("contacts");
  backend_options.redis_command_timeout = absl::Seconds(10);  // imports send large batches
  auto platform_options = PlatformOptionsFromFlags("contacts", backend_options);
  if (!platform_options.ok()) return fail("--service_secret_file", platform_options.status());
  auto backends = ConnectBackends(backend_options);
  if (!backends.ok()) return fail("backends", backends.status());
  auto platform_or = PlatformClients::Create(*platform_options, SystemClock::Get());
  if (!platform_or.ok()) return fail("platform clients", platform_or.status());
  std::shared_ptr<PlatformClients> platform = std::move(*platform_or);

  auto outbox = std::make_shared<events::RedisOutbox>(
      backends->redis, contacts::RedisContactStore::OutboxOptions(backends->instance));
  auto store = std::make_shared<contacts::RedisContactStore>(backends->redis, outbox);
  contacts::ContactManager manager(store, *zones,
                                   platform->QuotaLookup(&tenancy::v1::Quota::max_contacts),
                                   SystemClock::Get(), backends->instance);

  auto host_or = ServiceHost::Create(HostOptionsFromFlags("contacts"));
  if (!host_or.ok()) return fail("service host", host_or.status());
  ServiceHost& host = **host_or;

  TenantRateLimiter limiter(platform->QuotaLookup(&tenancy::v1::Quota::max_requests_per_second),
                            SystemClock::Get());
  RpcEnv env = RpcEnvFor("contacts", &platform->verifier(), host, &limiter);
  contacts::ContactsServiceImpl service(env, manager);
  host.AddService(&service, "dialgrid.contacts.v1.ContactsService");
  RegisterBackends(host, *backends);
  events::OutboxRelayOptions relay_options;
  relay_options.service = "contacts";
  relay_options.default_topic = contacts::kContactsTopic;
  events::InstrumentRelay(host.registry(), "contacts", relay_options);
  events::OutboxRelay relay(outbox, backends->producer, relay_options);
  host.AddStopStep("outbox relay", [&relay] { relay.Stop(absl::Seconds(5)); });
  host.AddStopStep("tenancy events", [platform] { platform->Stop(); });

  platform->Start();
  relay.Start();
  return ServeUntilSignal(host);
}
