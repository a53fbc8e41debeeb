// dialgrid-recording: flags -> config, wiring, run, drain, stop.
#include <malloc.h>

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/platform/platform_clients.h"
#include "services/common/platform/platform_flags.h"
#include "services/common/server/service_main.h"
#include "services/common/server/service_runtime.h"
#include "services/recording/adapters/file_key_ring.h"
#include "services/recording/adapters/fs_blob_store.h"
#include "services/recording/adapters/prometheus_recording_probe.h"
#include "services/recording/adapters/redis_recording_store.h"
#include "services/recording/application/call_events_handler.h"
#include "services/recording/application/recording_manager.h"
#include "services/recording/server/recording_service.h"

ABSL_FLAG(std::string, recordings_dir, "",
          "Directory (a volume) the encrypted recordings are stored in; required.");
ABSL_FLAG(std::string, kek_dir, "",
          "Directory of the tenants' key-encryption keys (a mounted secret): one file "
          "<tenant>.<key id>.key of 64 hex digits per key; required.");
ABSL_FLAG(int, retention_days, 365,
          "How long recordings are kept (their expire_time) when neither their campaign nor "
          "their tenant has a retention policy (SetRetentionPolicy).");
ABSL_FLAG(int64_t, min_retention_seconds, 86400,
          "The shortest retention policy SetRetentionPolicy takes (lower only for tests).");
ABSL_FLAG(int, purge_interval_seconds, 3600,
          "How often the retention purge runs (every replica; they share the work).");
ABSL_FLAG(int, upload_lease_seconds, 60,
          "An upload whose replica did not renew its lease for this long is taken over by "
          "the sweep and left INCOMPLETE (REPLICA_LOST) with the audio it stored.");
ABSL_FLAG(int, max_chunk_bytes, 1 << 20, "Largest audio chunk UploadAudio takes.");
ABSL_FLAG(int, malloc_keep_mib, 64,
          "Freed heap memory glibc keeps for reuse (M_TRIM_THRESHOLD, MiB), with buffers "
          "up to 8 MiB (gRPC's read buffers, 1 MiB chunks) taken from the heap, not mmap: "
          "without it every chunk's buffers are fresh pages the kernel faults in and zeroes "
          "(a third of ingest CPU). 0: glibc's defaults.");
ABSL_FLAG(int, metrics_sweep_seconds, 30,
          "How often dialgrid_recording_storage_bytes is read from Redis (all tenants).");
ABSL_FLAG(bool, record_calls, dialgrid::EnvOr("DIALGRID_RECORD_CALLS", "true") == "true",
          "Record the dialer's calls: consume topic calls (CallUpdated) and start a recording "
          "at CONNECTED, stop it at ENDED/RECONCILED, hold the call's recordings at "
          "ABUSIVE_FLAGGED. Env DIALGRID_RECORD_CALLS (true/false).");
ABSL_FLAG(std::string, call_recording_format, "mulaw",
          "Audio format of the recordings started for calls (what the media server sends): "
          "mulaw (G.711 mu-law), alaw, pcm8k or pcm16k.");
ABSL_FLAG(std::string, calls_consumer_group, "recording",
          "Kafka consumer group for topic calls (shared by all replicas).");

namespace {

// --call_recording_format -> the API's AudioFormat; UNSPECIFIED when unknown.
dialgrid::recording::v1::AudioFormat CallRecordingFormat(const std::string& name) {
  if (name == "mulaw") return dialgrid::recording::v1::AUDIO_FORMAT_G711_MULAW;
  if (name == "alaw") return dialgrid::recording::v1::AUDIO_FORMAT_G711_ALAW;
  if (name == "pcm8k") return dialgrid::recording::v1::AUDIO_FORMAT_PCM_S16LE_8K;
  if (name == "pcm16k") return dialgrid::recording::v1::AUDIO_FORMAT_PCM_S16LE_16K;
  return dialgrid::recording::v1::AUDIO_FORMAT_UNSPECIFIED;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  ServiceHost::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Dialgrid recording service: encrypted call recordings, playback, audit chain.");
  absl::ParseCommandLine(argc, argv);
  if (const int keep = absl::GetFlag(FLAGS_malloc_keep_mib); keep > 0) {
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, std::min(keep, 1024) << 20);
  }
  auto fail = [](absl::string_view what, const absl::Status& st) {
    return StartupFailure("recording", what, st);
  };
  if (absl::GetFlag(FLAGS_kek_dir).empty()) {
    return fail("--kek_dir", absl::InvalidArgumentError("--kek_dir is required"));
  }
  const recording::v1::AudioFormat call_format =
      CallRecordingFormat(absl::GetFlag(FLAGS_call_recording_format));
  if (call_format == recording::v1::AUDIO_FORMAT_UNSPECIFIED) {
    return fail("--call_recording_format",
                absl::InvalidArgumentError("mulaw, alaw, pcm8k or pcm16k"));
  }
  auto blobs = recording::FsBlobStore::Create(absl::GetFlag(FLAGS_recordings_dir));
  if (!blobs.ok()) return fail("--recordings_dir", blobs.status());

  auto options = PlatformRuntimeOptionsFromFlags("recording");
  if (!options.ok()) return fail("--service_secret_file", options.status());
  auto rt_or = ServiceRuntime::Create(*std::move(options));
  if (!rt_or.ok()) return fail("runtime", rt_or.status());
  ServiceRuntime& rt = **rt_or;

  events::RedisOutboxOptions outbox_options;
  outbox_options.stream = "recording";
  outbox_options.instance = rt.instance();
  auto outbox = rt.MakeOutbox(outbox_options);
  auto store = std::make_shared<recording::RedisRecordingStore>(rt.redis(), outbox);
  recording::RecordingOptions manager_options;
  manager_options.producer = rt.instance();
  manager_options.retention = absl::Hours(24) * absl::GetFlag(FLAGS_retention_days);
  manager_options.max_chunk_bytes = absl::GetFlag(FLAGS_max_chunk_bytes);
  manager_options.min_retention = absl::Seconds(absl::GetFlag(FLAGS_min_retention_seconds));
  manager_options.upload_lease = absl::Seconds(absl::GetFlag(FLAGS_upload_lease_seconds));
  auto probe = std::make_shared<recording::PrometheusRecordingProbe>(rt.metrics());
  manager_options.probe = probe;
  recording::RecordingManager manager(
      store, std::shared_ptr<recording::FsBlobStore>(std::move(*blobs)),
      std::make_shared<recording::FileKeyRing>(absl::GetFlag(FLAGS_kek_dir)), SystemClock::Get(),
      manager_options);

  events::OutboxRelayOptions relay;
  relay.default_topic = "recordings";
  rt.StartRelay(outbox, relay);
  // Periodic work, on every replica (each step is safe to race): the
  // heartbeat of this replica's uploads, the sweep of lost ones, the purge.
  const absl::Duration lease = manager_options.upload_lease;
  rt.scheduler().Every(lease / 4, [&manager] { manager.RenewLeases(); });
  rt.scheduler().Every(lease / 2, [&manager] {
    auto swept = manager.SweepUploads();
    if (!swept.ok()) {
      Log(LogLevel::kWarning, "recording", "upload sweep failed",
          {{"error", swept.status().ToString()}});
    } else if (swept->salvaged > 0) {
      Log(LogLevel::kInfo, "recording", "lost uploads salvaged",
          {{"salvaged", std::to_string(swept->salvaged)}});
    }
  });
  rt.scheduler().Every(absl::Seconds(absl::GetFlag(FLAGS_purge_interval_seconds)), [&manager] {
    auto removed = manager.RemoveStalePartials();
    if (!removed.ok()) {
      Log(LogLevel::kWarning, "recording", "temporary file sweep failed",
          {{"error", removed.status().ToString()}});
    }
    auto purged = manager.PurgeAll();
    if (!purged.ok()) {
      Log(LogLevel::kWarning, "recording", "retention purge failed",
          {{"error", purged.status().ToString()}});
    } else if (purged->deleted > 0 || purged->finished > 0) {
      Log(LogLevel::kInfo, "recording", "retention purge",
          {{"deleted", std::to_string(purged->deleted)},
           {"kept", std::to_string(purged->kept)},
           {"finished", std::to_string(purged->finished)}});
    }
  });
  rt.scheduler().Every(absl::Seconds(absl::GetFlag(FLAGS_metrics_sweep_seconds)), [&manager] {
    auto used = manager.StorageInUse();
    if (!used.ok()) {
      Log(LogLevel::kWarning, "recording", "storage metric not updated",
          {{"error", used.status().ToString()}});
    }
  });
  // The dialer's calls: recordings started, stopped and held by topic
  // `calls` (at least once, idempotent by call: see CallEventsHandler).
  recording::CallEventsOptions call_options;
  call_options.audio_format = call_format;
  call_options.probe = probe;
  recording::CallEventsHandler calls(manager, call_options);
  if (absl::GetFlag(FLAGS_record_calls)) {
    kafka::ConsumerOptions consumer_options;
    consumer_options.bootstrap_servers = rt.options().backends.kafka_bootstrap;
    consumer_options.group_id = absl::GetFlag(FLAGS_calls_consumer_group);
    consumer_options.topics = {"calls"};
    auto consumer = kafka::KafkaConsumer::Create(
        consumer_options, [&calls](const event::v1::Envelope& e) { return calls.Handle(e); },
        std::make_unique<kafka::LruEventDeduper>());
    if (!consumer.ok()) return fail("kafka consumer", consumer.status());
    rt.AddConsumer(*std::move(consumer));
  }
  recording::RecordingServiceImpl service(
      rt.Env(&rt.platform().verifier()), manager,
      rt.platform().QuotaLookup(&tenancy::v1::Quota::max_recording_storage_bytes));
  rt.AddService(&service, "dialgrid.recording.v1.RecordingService");
  return rt.Run();
}
