#include "services/recording/adapters/prometheus_recording_probe.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "dialgrid/recording/v1/recording.pb.h"

namespace dialgrid::recording {
namespace {

prometheus::Family<prometheus::Counter>& Counters(prometheus::Registry& r, const char* name,
                                                  const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
prometheus::Gauge& OneGauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

// Chunk handling takes a Redis round trip and, every 64 KiB, a seal and a
// write: from 100 µs to a second.
prometheus::Histogram::BucketBoundaries ChunkBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
}

const char* ActionLabel(CallAction a) {
  switch (a) {
    case CallAction::kStart: return "start";
    case CallAction::kStop: return "stop";
    case CallAction::kHold: return "hold";
    case CallAction::kNone: return "none";
  }
  return "none";
}

const char* ResultLabel(CallResult r) {
  switch (r) {
    case CallResult::kDone: return "done";
    case CallResult::kRepeat: return "repeat";
    case CallResult::kNoKey: return "no_key";
    case CallResult::kNotRecorded: return "not_recorded";
    case CallResult::kRefused: return "refused";
    case CallResult::kIgnored: return "ignored";
    case CallResult::kFailed: return "failed";
  }
  return "failed";
}

}  // namespace

PrometheusRecordingProbe::PrometheusRecordingProbe(prometheus::Registry& r)
    : started_(Counters(r, "dialgrid_recording_recordings_started_total",
                        "Recordings started (idempotent retries not counted).")
                   .Add({})),
      transitions_(Counters(r, "dialgrid_recording_state_changes_total",
                            "Pause, resume and stop requests that changed a recording.")),
      pause_(transitions_.Add({{"transition", "pause"}})),
      resume_(transitions_.Add({{"transition", "resume"}})),
      stop_(transitions_.Add({{"transition", "stop"}})),
      uploads_open_(OneGauge(r, "dialgrid_recording_uploads_open",
                             "Upload streams open on this replica (live recordings).")),
      uploads_ended_(Counters(r, "dialgrid_recording_uploads_ended_total",
                              "Uploads ended: complete, incomplete (stored, ended early), or "
                              "not stored at all (storage error).")),
      complete_(uploads_ended_.Add({{"result", "complete"}})),
      incomplete_(uploads_ended_.Add({{"result", "incomplete"}})),
      not_stored_(uploads_ended_.Add({{"result", "not_stored"}})),
      salvaged_(Counters(r, "dialgrid_recording_uploads_salvaged_total",
                         "Uploads of lost replicas salvaged by this replica (REPLICA_LOST).")
                    .Add({})),
      chunks_(
          Counters(r, "dialgrid_recording_chunks_total", "Audio chunks by what became of them.")),
      chunk_stored_(chunks_.Add({{"result", "stored"}})),
      chunk_discarded_(chunks_.Add({{"result", "discarded"}})),
      chunk_duplicate_(chunks_.Add({{"result", "duplicate"}})),
      chunk_refused_(chunks_.Add({{"result", "refused"}})),
      ingested_bytes_(Counters(r, "dialgrid_recording_ingested_bytes_total",
                               "Audio bytes taken in (stored chunks, before encryption).")
                          .Add({})),
      chunk_duration_(prometheus::BuildHistogram()
                          .Name("dialgrid_recording_chunk_duration_seconds")
                          .Help("From a chunk's arrival (read off the stream) to its decision "
                                "and the sealing of what it filled, waiting for a handler "
                                "thread included.")
                          .Register(r)
                          .Add({}, ChunkBuckets())),
      playbacks_(Counters(r, "dialgrid_recording_playbacks_total",
                          "Downloads that began sending audio (each one audited).")
                     .Add({})),
      served_bytes_(Counters(r, "dialgrid_recording_served_bytes_total",
                             "Decrypted audio bytes sent to listeners.")
                        .Add({})),
      tampered_(Counters(r, "dialgrid_recording_playback_tampered_total",
                         "Downloads stopped because a segment or checksum did not "
                         "authenticate (DATA_LOSS AUDIO_TAMPERED).")
                    .Add({})),
      verify_problems_(Counters(r, "dialgrid_recording_verify_problems_total",
                                "Problems VerifyRecordings found, by kind.")),
      deleted_(Counters(r, "dialgrid_recording_deleted_total",
                        "Recordings deleted, by cause (retention purge or erasure request).")),
      deleted_retention_(deleted_.Add({{"cause", "retention"}})),
      deleted_erasure_(deleted_.Add({{"cause", "erasure"}})),
      storage_bytes_(OneGauge(r, "dialgrid_recording_storage_bytes",
                              "Storage in use by all tenants' recordings (the quota counters; "
                              "every replica reports the same figure: aggregate with max).")),
      usage_recordings_(OneGauge(r, "dialgrid_recording_usage_recordings",
                                 "Recordings in the vault, all tenants (the usage counters; "
                                 "aggregate with max).")),
      usage_stored_bytes_(OneGauge(r, "dialgrid_recording_usage_stored_bytes",
                                   "Encrypted recording files at rest, all tenants, bytes (the "
                                   "usage counters; aggregate with max).")),
      usage_audio_seconds_(OneGauge(r, "dialgrid_recording_usage_audio_seconds",
                                    "Recorded audio ever stored, all tenants, seconds (the usage "
                                    "counters; aggregate with max).")),
      usage_legal_holds_(OneGauge(r, "dialgrid_recording_usage_legal_holds",
                                  "Active legal holds, all tenants (aggregate with max).")),
      call_events_(Counters(r, "dialgrid_recording_call_events_total",
                            "CallUpdated events of topic calls, by the action their step asks "
                            "for and how it went (failed: an attempt that is retried).")) {
  using A = CallAction;
  using R = CallResult;
  const std::pair<A, std::vector<R>> combos[] = {
      {A::kStart, {R::kDone, R::kRepeat, R::kNoKey, R::kRefused, R::kFailed}},
      {A::kStop, {R::kDone, R::kRepeat, R::kNotRecorded, R::kRefused, R::kFailed}},
      {A::kHold, {R::kDone, R::kRepeat, R::kRefused, R::kFailed}},
      {A::kNone, {R::kIgnored, R::kRefused}},
  };
  for (const auto& [action, results] : combos) {
    for (R result : results) {
      call_event_[static_cast<int>(action)][static_cast<int>(result)] =
          &call_events_.Add({{"action", ActionLabel(action)}, {"result", ResultLabel(result)}});
    }
  }
  const auto* kinds = v1::VerifyProblem::Kind_descriptor();
  for (int i = 0; i < kinds->value_count(); ++i) {
    absl::string_view name = kinds->value(i)->name();
    if (!absl::ConsumePrefix(&name, "KIND_") || name == "UNSPECIFIED") continue;
    std::string label = absl::AsciiStrToLower(name);
    verify_by_kind_[label] = &verify_problems_.Add({{"kind", label}});
  }
  verify_by_kind_["other"] = &verify_problems_.Add({{"kind", "other"}});
}

void PrometheusRecordingProbe::StateChanged(Transition t) {
  switch (t) {
    case Transition::kPause: return pause_.Increment();
    case Transition::kResume: return resume_.Increment();
    case Transition::kStop: return stop_.Increment();
  }
}

void PrometheusRecordingProbe::UploadEnded(UploadEnd end) {
  switch (end) {
    case UploadEnd::kComplete: return complete_.Increment();
    case UploadEnd::kIncomplete: return incomplete_.Increment();
    case UploadEnd::kNotStored: return not_stored_.Increment();
  }
}

void PrometheusRecordingProbe::Chunk(ChunkResult result, int64_t audio_bytes,
                                     absl::Duration latency) {
  switch (result) {
    case ChunkResult::kStored:
      chunk_stored_.Increment();
      ingested_bytes_.Increment(static_cast<double>(audio_bytes));
      break;
    case ChunkResult::kDiscarded: chunk_discarded_.Increment(); break;
    case ChunkResult::kDuplicate: chunk_duplicate_.Increment(); break;
    case ChunkResult::kRefused: chunk_refused_.Increment(); break;
  }
  chunk_duration_.Observe(absl::ToDoubleSeconds(latency));
}

void PrometheusRecordingProbe::UsageTotals(const UsageNow& all) {
  usage_recordings_.Set(static_cast<double>(all.recordings));
  usage_stored_bytes_.Set(static_cast<double>(all.stored_bytes));
  usage_audio_seconds_.Set(static_cast<double>(all.all_time.audio_ms) / 1000);
  usage_legal_holds_.Set(static_cast<double>(all.active_holds));
}

void PrometheusRecordingProbe::VerifyProblem(absl::string_view kind) {
  auto it = verify_by_kind_.find(kind);
  if (it == verify_by_kind_.end()) it = verify_by_kind_.find("other");
  it->second->Increment();
}

void PrometheusRecordingProbe::Deleted(DeleteCause cause) {
  (cause == DeleteCause::kRetention ? deleted_retention_ : deleted_erasure_).Increment();
}

void PrometheusRecordingProbe::CallEvent(CallAction action, CallResult result) {
  prometheus::Counter* c = call_event_[static_cast<int>(action)][static_cast<int>(result)];
  if (c == nullptr) {  // a combination not declared: Add is thread-safe (and finds it again)
    c = &call_events_.Add({{"action", ActionLabel(action)}, {"result", ResultLabel(result)}});
  }
  c->Increment();
}

}  // namespace dialgrid::recording
