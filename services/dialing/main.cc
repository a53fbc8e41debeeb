// dialgrid-dialing: flags -> config, wiring, run, drain, stop.
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/core/log.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "services/dialing/adapters/contacts_client.h"
#include "services/dialing/adapters/redis_campaign_store.h"
#include "services/dialing/application/campaign_manager.h"
#include "services/dialing/server/dialing_service.h"

ABSL_FLAG(std::string, contacts, "", "The contacts service's gRPC address (host:port).");
ABSL_FLAG(int, peer_timeout_ms, 2000, "The longest a call to a peer service may take.");

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage("Dialgrid dialing service: campaigns and their lifecycle.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("dialing", what, st);
  };
  if (absl::GetFlag(FLAGS_contacts).empty()) {
    return fail("--contacts", absl::InvalidArgumentError("the contacts service's address is required"));
  }

  auto options = PlatformRuntimeOptionsFromFlags("dialing");
  if (!options.ok()) return fail("--service_secret_file", options.status());
  auto rt_or = ServiceRuntime::Create(*std::move(options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;

  auto contacts = rt.platform().ConnectPeer(
      "contacts", absl::GetFlag(FLAGS_contacts),
      absl::Milliseconds(absl::GetFlag(FLAGS_peer_timeout_ms)));
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

  events::OutboxRelayOptions relay;
  relay.default_topic = "calls";
  rt.StartRelay(outbox, relay);

  auto platform = rt.shared_platform();
  dialing::DialingServiceImpl service(rt.Env(&rt.platform().verifier()), campaigns,
                                      [platform](const std::string& tenant) {
                                        auto t = platform->tenants().Get(tenant);
                                        return t.ok() ? t->time_zone() : std::string();
                                      });
  rt.AddService(&service, "dialgrid.dialing.v1.DialingService");
  return rt.Run();
}
