// dialgrid-contacts: flags -> config, wiring, run, drain, stop.
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/core/env.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "services/contacts/adapters/redis_contact_store.h"
#include "services/contacts/application/contact_manager.h"
#include "services/contacts/server/contacts_service.h"

ABSL_FLAG(std::string, zone_data_dir, dialgrid::EnvOr("DIALGRID_ZONE_DATA_DIR", DIALGRID_ZONE_DATA_DIR),
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

  auto zones = geo::ZoneResolver::Load(absl::GetFlag(FLAGS_zone_data_dir), absl::GetFlag(FLAGS_zone_tab));
  if (!zones.ok()) return fail("time-zone tables", zones.status());

  auto options = PlatformRuntimeOptionsFromFlags("contacts");
  if (!options.ok()) return fail("--service_secret_file", options.status());
  options->backends.redis_command_timeout = absl::Seconds(10);  // imports send large batches
  auto rt_or = ServiceRuntime::Create(*std::move(options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;

  auto outbox = rt.MakeOutbox(contacts::RedisContactStore::OutboxOptions(rt.instance()));
  auto store = std::make_shared<contacts::RedisContactStore>(rt.redis(), outbox);
  contacts::ContactManager manager(store, *zones,
                                   rt.platform().QuotaLookup(&tenancy::v1::Quota::max_contacts),
                                   SystemClock::Get(), rt.instance());
  events::OutboxRelayOptions relay;
  relay.default_topic = contacts::kContactsTopic;
  rt.StartRelay(outbox, relay);
  contacts::ContactsServiceImpl service(rt.Env(&rt.platform().verifier()), manager);
  rt.AddService(&service, "dialgrid.contacts.v1.ContactsService");
  return rt.Run();
}
