// dialgrid-reporting: flags -> config, wiring, run, drain, stop.
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "services/common/core/log.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "services/reporting/adapters/prometheus_reporting_probe.h"
#include "services/reporting/adapters/redis_report_store.h"
#include "services/reporting/application/event_applier.h"
#include "services/reporting/application/report_manager.h"
#include "services/reporting/server/reporting_service.h"

ABSL_FLAG(std::string, consumer_group, "reporting",
          "Kafka consumer group for topics dialing, calls, agents and recordings (shared by "
          "all replicas). A rebuild uses a new group with a new --key_prefix.");
ABSL_FLAG(std::string, key_prefix, "rp1",
          "Prefix of every Redis key (the counters' generation), 1-32 characters of "
          "[a-z0-9-]. A rebuild replays the topics into a new prefix.");
ABSL_FLAG(int, dedup_ttl_hours, 24 * 14,
          "How long an applied event id (and a call's markers) is remembered; longer than the "
          "topics' retention.");
ABSL_FLAG(int, retention_days, 400, "How long hour and day counters are kept.");
ABSL_FLAG(std::string, billing_plans, "",
          "File of billing plans, one line per tenant ('*': the default): '<tenant> <plan> "
          "<currency> <fixed_micros> <included_minutes> <minute_overage_micros> "
          "<included_storage_bytes> <gib_overage_micros>'. Empty: GetUsage has no bill.");
ABSL_FLAG(bool, consume, true, "Consume the topics (off: a query-only replica).");

namespace {

bool ValidPrefix(const std::string& p) {
  if (p.empty() || p.size() > 32) return false;
  for (char c : p) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Dialgrid reporting service: campaign, agent and usage reports from the platform's events.");
  absl::ParseCommandLine(argc, argv);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("reporting", what, st);
  };
  const std::string prefix = absl::GetFlag(FLAGS_key_prefix);
  if (!ValidPrefix(prefix)) {
    return fail("--key_prefix", absl::InvalidArgumentError("1-32 characters of [a-z0-9-]"));
  }
  if (absl::GetFlag(FLAGS_dedup_ttl_hours) < 1 || absl::GetFlag(FLAGS_retention_days) < 31) {
    return fail("--dedup_ttl_hours/--retention_days",
                absl::InvalidArgumentError("at least 1 hour / 31 days"));
  }
  reporting::ReportOptions report_options;
  if (const std::string path = absl::GetFlag(FLAGS_billing_plans); !path.empty()) {
    std::ifstream in(path);
    if (!in) return fail("--billing_plans", absl::NotFoundError("cannot read " + path));
    std::stringstream text;
    text << in.rdbuf();
    auto plans = reporting::ParseBillingPlans(text.str());
    if (!plans.ok()) return fail("--billing_plans", plans.status());
    report_options.plans = *std::move(plans);
  }

  auto options = PlatformRuntimeOptionsFromFlags("reporting");
  if (!options.ok()) return fail("--service_secret_file", options.status());
  auto rt_or = ServiceRuntime::Create(*std::move(options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;

  reporting::RedisReportStoreOptions store_options;
  store_options.prefix = prefix;
  store_options.dedup_ttl = absl::Hours(absl::GetFlag(FLAGS_dedup_ttl_hours));
  store_options.bucket_ttl = absl::Hours(24) * absl::GetFlag(FLAGS_retention_days);
  auto store = std::make_shared<reporting::RedisReportStore>(rt.redis(), store_options);
  auto probe = std::make_shared<reporting::PrometheusReportingProbe>(rt.metrics());
  reporting::EventApplier applier(store, probe);
  reporting::ReportManager manager(store, std::move(report_options));

  if (absl::GetFlag(FLAGS_consume)) {
    kafka::ConsumerOptions consumer_options;
    consumer_options.bootstrap_servers = rt.options().backends.kafka_bootstrap;
    consumer_options.group_id = absl::GetFlag(FLAGS_consumer_group);
    consumer_options.topics = {"dialing", "calls", "agents", "recordings"};
    auto consumer = kafka::KafkaConsumer::Create(
        consumer_options, [&applier](const event::v1::Envelope& e) { return applier.Handle(e); },
        std::make_unique<kafka::StoreDedups>());
    if (!consumer.ok()) return fail("kafka consumer", consumer.status());
    rt.AddConsumer(*std::move(consumer));
  }
  reporting::ReportingServiceImpl service(rt.Env(&rt.platform().verifier()), manager);
  rt.AddService(&service, "dialgrid.reporting.v1.ReportingService");
  return rt.Run();
}
