#pragma once

#include <map>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/recording/ports/recording_probe.h"

namespace dialgrid::recording {

// The recording vault's own metrics, declared in one block (README
// "Metrics"); none has a per-tenant, per-recording or per-call label.
//   dialgrid_recording_recordings_started_total
//   dialgrid_recording_state_changes_total{transition="pause|resume|stop"}
//   dialgrid_recording_uploads_open                        (gauge, this replica)
//   dialgrid_recording_uploads_ended_total{result="complete|incomplete|not_stored"}
//   dialgrid_recording_uploads_salvaged_total
//   dialgrid_recording_chunks_total{result="stored|discarded|duplicate|refused"}
//   dialgrid_recording_ingested_bytes_total                (audio bytes taken in)
//   dialgrid_recording_chunk_duration_seconds              (histogram)
//   dialgrid_recording_playbacks_total
//   dialgrid_recording_served_bytes_total                  (audio bytes played back)
//   dialgrid_recording_playback_tampered_total
//   dialgrid_recording_verify_problems_total{kind}
//   dialgrid_recording_deleted_total{cause="retention|erasure"}
//   dialgrid_recording_storage_bytes                       (gauge, all tenants)
//   dialgrid_recording_usage_recordings                    (gauge, all tenants)
//   dialgrid_recording_usage_stored_bytes                  (gauge, all tenants, at rest)
//   dialgrid_recording_usage_audio_seconds                 (gauge, all tenants, ever stored)
//   dialgrid_recording_usage_legal_holds                   (gauge, all tenants, active)
//   dialgrid_recording_call_events_total{action="start|stop|hold|none",
//       result="done|repeat|no_key|not_recorded|refused|ignored|failed"}
//                                                          (the `calls` consumer)
// Every labelled series exists from the start (at 0). The registry must
// outlive the probe.
class PrometheusRecordingProbe final : public RecordingProbe {
 public:
  explicit PrometheusRecordingProbe(prometheus::Registry& registry);

  void RecordingStarted() override { started_.Increment(); }
  void StateChanged(Transition t) override;
  void UploadsOpen(int64_t n) override { uploads_open_.Set(static_cast<double>(n)); }
  void UploadEnded(UploadEnd end) override;
  void UploadSalvaged() override { salvaged_.Increment(); }
  void Chunk(ChunkResult result, int64_t audio_bytes, absl::Duration latency) override;
  void PlaybackStarted() override { playbacks_.Increment(); }
  void AudioServed(int64_t bytes) override { served_bytes_.Increment(static_cast<double>(bytes)); }
  void PlaybackTampered() override { tampered_.Increment(); }
  void VerifyProblem(absl::string_view kind) override;
  void Deleted(DeleteCause cause) override;
  void StorageBytes(int64_t bytes) override { storage_bytes_.Set(static_cast<double>(bytes)); }
  void UsageTotals(const UsageNow& all) override;
  void CallEvent(CallAction action, CallResult result) override;

 private:
  prometheus::Counter& started_;
  prometheus::Family<prometheus::Counter>& transitions_;
  prometheus::Counter &pause_, &resume_, &stop_;
  prometheus::Gauge& uploads_open_;
  prometheus::Family<prometheus::Counter>& uploads_ended_;
  prometheus::Counter &complete_, &incomplete_, &not_stored_;
  prometheus::Counter& salvaged_;
  prometheus::Family<prometheus::Counter>& chunks_;
  prometheus::Counter &chunk_stored_, &chunk_discarded_, &chunk_duplicate_, &chunk_refused_;
  prometheus::Counter& ingested_bytes_;
  prometheus::Histogram& chunk_duration_;
  prometheus::Counter& playbacks_;
  prometheus::Counter& served_bytes_;
  prometheus::Counter& tampered_;
  prometheus::Family<prometheus::Counter>& verify_problems_;
  std::map<std::string, prometheus::Counter*, std::less<>>
      verify_by_kind_;  // fixed after construction
  prometheus::Family<prometheus::Counter>& deleted_;
  prometheus::Counter &deleted_retention_, &deleted_erasure_;
  prometheus::Gauge& storage_bytes_;
  prometheus::Gauge &usage_recordings_, &usage_stored_bytes_, &usage_audio_seconds_,
      &usage_legal_holds_;
  prometheus::Family<prometheus::Counter>& call_events_;
  // [action][result]: the combinations that happen, fixed after construction.
  prometheus::Counter* call_event_[4][7] = {};
};

}  // namespace dialgrid::recording
