#pragma once

// A SIMULATED media server for the local platform, where no real one runs:
// it follows topic `calls` and, for each CONNECTED call, streams synthetic
// audio (tools/synthetic_audio.h) in real time, one chunk per `chunk`,
// sequence 1, 2, ..., to UploadAudio of the recording the recording service
// started for that call (the id derived from the call,
// domain/call_recording.h), until the call's ENDED (or RECONCILED) arrives;
// then it half-closes, so the upload ends complete. Not for production: a
// real media server sends the call's audio.
//
// One thread per streamed call (bounded by max_calls). The recording may
// not exist yet when CONNECTED arrives here (the recording service consumes
// the same event): a stream refused with RECORDING_NOT_FOUND is opened
// again, from sequence 1, until `start_wait` has passed (a tenant without a
// key-encryption key is never recorded). A stream that breaks is not
// resumed: the recording keeps what it stored (INCOMPLETE).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/common/client/peer_channel.h"
#include "services/recording/tools/synthetic_audio.h"

namespace dialgrid::recording {

struct MediaSimulatorOptions {
  SyntheticAudioOptions audio;
  absl::Duration chunk = absl::Seconds(1);  // audio per message, sent in real time
  int max_calls = 500;                      // calls streamed at once; more are skipped
  absl::Duration max_call = absl::Hours(1);  // a call whose end never comes is ended here
  absl::Duration start_wait = absl::Seconds(15);  // for the call's recording to appear
};

// What it did so far (for logs and tests).
struct MediaSimulatorTotals {
  int64_t calls = 0;           // CONNECTED calls streamed
  int64_t skipped = 0;         // CONNECTED calls over max_calls
  int64_t chunks = 0;          // chunks written
  int64_t completed = 0;       // streams the service finished OK
  int64_t not_recorded = 0;    // no recording appeared within start_wait, or ended before a chunk
  int64_t failed = 0;          // streams that ended with another error
};

class MediaServerSimulator {
 public:
  // `recording`: the recording service, with the credential (platform
  // service, tenant admin or integration) and a max_timeout longer than
  // max_call + start_wait (it is each stream's deadline).
  MediaServerSimulator(std::shared_ptr<client::PeerChannel> recording,
                       MediaSimulatorOptions options);
  ~MediaServerSimulator();  // Stop()

  // One envelope of topic `calls`. Always OK: nothing here is worth
  // holding the partition for.
  absl::Status Handle(const event::v1::Envelope& event);
  // Ends every stream (half-close: the recordings keep what came) and waits.
  void Stop();
  int active();
  MediaSimulatorTotals totals();

 private:
  struct Session {
    std::string tenant, call_id;
    std::mutex mu;
    std::condition_variable cv;
    bool end = false;  // the call ended (or Stop)
    std::atomic<bool> done{false};
    std::thread thread;
  };
  void Run(Session& s);
  void End(const std::string& key);
  void Reap();  // joins sessions whose thread finished

  std::shared_ptr<client::PeerChannel> recording_;
  MediaSimulatorOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;  // by "<tenant>/<call>"
  MediaSimulatorTotals totals_;
  bool stopped_ = false;
};

}  // namespace dialgrid::recording
