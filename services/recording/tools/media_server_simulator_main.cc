// dialgrid-media-server-simulator: a SIMULATED media server for the local
// platform (there is no real one there). It follows topic `calls` and, for
// each CONNECTED call, streams synthetic audio (a quiet tone over comfort
// noise) in real time to UploadAudio of the recording the recording service
// started for the call, until the call ends. Flags -> options, run, stop.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/env.h"
#include "services/common/core/log.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/recording/tools/media_server_simulator.h"

ABSL_FLAG(std::string, kafka, dialgrid::EnvOr("DIALGRID_KAFKA", "127.0.0.1:9092"),
          "Kafka bootstrap servers (plaintext). Env DIALGRID_KAFKA.");
ABSL_FLAG(std::string, consumer_group, "media-server-simulator",
          "Kafka consumer group for topic calls (one group per simulator, not the recording "
          "service's).");
ABSL_FLAG(bool, from_beginning, false,
          "A new consumer group starts at the earliest offset of topic calls instead of the "
          "latest (replays old calls: only for tests).");
ABSL_FLAG(std::string, target, dialgrid::EnvOr("DIALGRID_RECORDING", "127.0.0.1:7010"),
          "The recording service, host:port. Env DIALGRID_RECORDING.");
ABSL_FLAG(std::string, credential_file, "",
          "File holding the secret of a credential allowed to upload audio (platform service, "
          "tenant admin or integration); default: $DIALGRID_CREDENTIAL.");
ABSL_FLAG(bool, tls, false, "Connect to the recording service with TLS.");
ABSL_FLAG(std::string, ca_file, "", "PEM roots for --tls (default: the system's).");
ABSL_FLAG(std::string, server_name, "", "The name the recording service's certificate carries.");
ABSL_FLAG(std::string, audio_format, "mulaw",
          "What to send: mulaw, alaw, pcm8k or pcm16k; must be the recording service's "
          "--call_recording_format.");
ABSL_FLAG(int, chunk_ms, 1000, "Audio per UploadAudio message, sent in real time (10-10000).");
ABSL_FLAG(double, tone_hz, 425, "The tone's frequency; 0: comfort noise only.");
ABSL_FLAG(double, tone_dbfs, -30, "The tone's level, dB below full scale.");
ABSL_FLAG(double, noise_dbfs, -60, "The comfort noise's level, dB below full scale; -200: none.");
ABSL_FLAG(int, max_calls, 500, "Calls streamed at once (one thread each); more are skipped.");
ABSL_FLAG(int, max_call_seconds, 3600, "A call whose end never comes is ended after this.");
ABSL_FLAG(int, start_wait_seconds, 15,
          "How long a connected call's recording may take to appear before the call is given up "
          "(a tenant without a key-encryption key is never recorded).");

namespace {

int Fail(const std::string& message) {
  dialgrid::Log(dialgrid::LogLevel::kError, "media-simulator", "cannot start",
                {{"error", message}});
  return 2;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  absl::SetProgramUsageMessage(
      "SIMULATED media server for the local platform, not for production: follows topic calls "
      "and, for each CONNECTED call, streams synthetic audio (a quiet tone over comfort noise, "
      "one chunk per --chunk_ms in real time, sequence 1, 2, ...) to UploadAudio of the "
      "recording the recording service started for the call, until the call's ENDED.");
  // --help lists this file's flags (absl's default looks for main.cc).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "media_server_simulator_main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread: sigwait below

  std::string credential;
  if (!absl::GetFlag(FLAGS_credential_file).empty()) {
    credential = std::string(absl::StripAsciiWhitespace(ReadFile(absl::GetFlag(FLAGS_credential_file))));
  } else if (const char* env = std::getenv("DIALGRID_CREDENTIAL"); env != nullptr) {
    credential = std::string(absl::StripAsciiWhitespace(env));
  }
  if (credential.empty()) return Fail("no credential: give --credential_file or set DIALGRID_CREDENTIAL");

  recording::MediaSimulatorOptions options;
  const std::string format = absl::GetFlag(FLAGS_audio_format);
  if (format == "mulaw") options.audio.audio_format = recording::v1::AUDIO_FORMAT_G711_MULAW;
  else if (format == "alaw") options.audio.audio_format = recording::v1::AUDIO_FORMAT_G711_ALAW;
  else if (format == "pcm8k") options.audio.audio_format = recording::v1::AUDIO_FORMAT_PCM_S16LE_8K;
  else if (format == "pcm16k") options.audio.audio_format = recording::v1::AUDIO_FORMAT_PCM_S16LE_16K;
  else return Fail("--audio_format: mulaw, alaw, pcm8k or pcm16k");
  options.audio.tone_hz = absl::GetFlag(FLAGS_tone_hz);
  options.audio.tone_dbfs = absl::GetFlag(FLAGS_tone_dbfs);
  options.audio.noise_dbfs = absl::GetFlag(FLAGS_noise_dbfs);
  if (auto check = recording::SyntheticAudio::Create(options.audio); !check.ok()) {
    return Fail(std::string(check.status().message()));
  }
  const int chunk_ms = absl::GetFlag(FLAGS_chunk_ms);
  if (chunk_ms < 10 || chunk_ms > 10000) return Fail("--chunk_ms: 10 to 10000");
  options.chunk = absl::Milliseconds(chunk_ms);
  options.max_calls = absl::GetFlag(FLAGS_max_calls);
  options.max_call = absl::Seconds(absl::GetFlag(FLAGS_max_call_seconds));
  options.start_wait = absl::Seconds(absl::GetFlag(FLAGS_start_wait_seconds));
  if (options.max_calls < 1 || options.max_call <= absl::ZeroDuration() ||
      options.start_wait < absl::ZeroDuration()) {
    return Fail("--max_calls and --max_call_seconds must be positive, --start_wait_seconds not negative");
  }

  client::PeerOptions peer;
  peer.name = "recording";
  peer.address = absl::GetFlag(FLAGS_target);
  peer.credential = credential;
  // Each stream's deadline: the longest call, the wait for its recording, a margin.
  peer.max_timeout = options.max_call + options.start_wait + absl::Minutes(1);
  peer.tls.enabled = absl::GetFlag(FLAGS_tls);
  peer.tls.server_name = absl::GetFlag(FLAGS_server_name);
  if (!absl::GetFlag(FLAGS_ca_file).empty()) {
    peer.tls.root_certs_pem = ReadFile(absl::GetFlag(FLAGS_ca_file));
  }
  auto channel = client::PeerChannel::Create(peer);
  if (!channel.ok()) return Fail(channel.status().ToString());
  recording::MediaServerSimulator simulator(*channel, options);

  kafka::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = absl::GetFlag(FLAGS_kafka);
  consumer_options.group_id = absl::GetFlag(FLAGS_consumer_group);
  consumer_options.topics = {"calls"};
  consumer_options.auto_offset_reset = absl::GetFlag(FLAGS_from_beginning) ? "earliest" : "latest";
  auto consumer = kafka::KafkaConsumer::Create(
      consumer_options,
      [&simulator](const event::v1::Envelope& e) { return simulator.Handle(e); },
      std::make_unique<kafka::LruEventDeduper>());
  if (!consumer.ok()) return Fail(consumer.status().ToString());
  (*consumer)->Start();
  Log(LogLevel::kInfo, "media-simulator", "simulating a media server (synthetic audio)",
      {{"target", peer.address}, {"kafka", consumer_options.bootstrap_servers},
       {"format", format}});

  int sig = 0;
  sigwait(&signals, &sig);
  (*consumer)->Stop();  // no new calls
  simulator.Stop();     // open streams half-closed: their recordings keep what came
  const recording::MediaSimulatorTotals t = simulator.totals();
  Log(LogLevel::kInfo, "media-simulator", "stopped",
      {{"calls", std::to_string(t.calls)}, {"chunks", std::to_string(t.chunks)},
       {"completed", std::to_string(t.completed)}, {"not_recorded", std::to_string(t.not_recorded)},
       {"failed", std::to_string(t.failed)}, {"skipped", std::to_string(t.skipped)}});
  return 0;
}
