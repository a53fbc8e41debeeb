#include "services/recording/tools/media_server_simulator.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "dialgrid/dialing/v1/dialing.pb.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/recording/domain/call_recording.h"

namespace dialgrid::recording {
namespace {

constexpr char kComponent[] = "media-simulator";

}  // namespace

MediaServerSimulator::MediaServerSimulator(std::shared_ptr<client::PeerChannel> recording,
                                           MediaSimulatorOptions options)
    : recording_(std::move(recording)), options_(std::move(options)) {}

MediaServerSimulator::~MediaServerSimulator() { Stop(); }

absl::Status MediaServerSimulator::Handle(const event::v1::Envelope& event) {
  Reap();
  if (event.type() != "dialgrid.dialing.v1.CallUpdated") return absl::OkStatus();
  dialing::v1::CallUpdated update;
  if (!event.payload().UnpackTo(&update)) return absl::OkStatus();
  const CallStep step = ParseCallStep(update.step());
  if (step != CallStep::kConnected && step != CallStep::kEnded &&
      step != CallStep::kAbusiveFlagged) {
    return absl::OkStatus();
  }
  auto call = ParseCallName(update.call().name());
  if (!call.ok()) return absl::OkStatus();
  const std::string key = absl::StrCat(call->tenant, "/", call->call_id);
  if (step != CallStep::kConnected) {
    // An abusive caller's flag ends the call too when it says so.
    if (step == CallStep::kEnded || update.call().state() == dialing::v1::CALL_STATE_ENDED) {
      End(key);
    }
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_ || sessions_.count(key) > 0) return absl::OkStatus();  // a redelivery
  if (static_cast<int>(sessions_.size()) >= options_.max_calls) {
    ++totals_.skipped;
    Log(LogLevel::kWarning, kComponent, "call not streamed: --max_calls streams open",
        {{"tenant", call->tenant}, {"call", call->call_id}});
    return absl::OkStatus();
  }
  ++totals_.calls;
  auto s = std::make_unique<Session>();
  s->tenant = call->tenant;
  s->call_id = call->call_id;
  Session* raw = s.get();
  sessions_[key] = std::move(s);
  raw->thread = std::thread([this, raw] { Run(*raw); });
  return absl::OkStatus();
}

void MediaServerSimulator::End(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  {
    std::lock_guard<std::mutex> s(it->second->mu);
    it->second->end = true;
  }
  it->second->cv.notify_all();
}

void MediaServerSimulator::Reap() {
  std::vector<std::unique_ptr<Session>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->done.load()) {
        finished.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : finished) s->thread.join();
}

void MediaServerSimulator::Stop() {
  std::map<std::string, std::unique_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    all.swap(sessions_);
  }
  for (auto& [key, s] : all) {
    {
      std::lock_guard<std::mutex> l(s->mu);
      s->end = true;
    }
    s->cv.notify_all();
  }
  for (auto& [key, s] : all) s->thread.join();
}

int MediaServerSimulator::active() {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [key, s] : sessions_) n += !s->done.load();
  return n;
}

MediaSimulatorTotals MediaServerSimulator::totals() {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

void MediaServerSimulator::Run(Session& s) {
  const std::string name = absl::StrCat("tenants/", s.tenant, "/recordings/",
                                        CallRecordingId(s.tenant, s.call_id));
  auto stub = v1::RecordingService::NewStub(recording_->channel());
  auto audio = SyntheticAudio::Create(options_.audio);
  const absl::Time began = absl::Now();
  auto count = [this](int64_t MediaSimulatorTotals::*field, int64_t n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    totals_.*field += n;
  };
  auto finish = [&s](const char* message, const absl::Status& st) {
    Log(st.ok() ? LogLevel::kInfo : LogLevel::kWarning, kComponent, message,
        {{"tenant", s.tenant}, {"call", s.call_id}, {"error", st.ok() ? "" : st.ToString()}});
    s.done.store(true);
  };
  if (!audio.ok()) return finish("call not streamed", audio.status());
  // Each try opens a stream; a refused one (no recording yet) is tried again.
  while (true) {
    grpc::ClientContext ctx;
    if (absl::Status st = recording_->Prepare(ctx, client::IncomingCall()); !st.ok()) {
      count(&MediaSimulatorTotals::failed);
      return finish("stream not opened", st);
    }
    v1::UploadAudioResponse resp;
    auto writer = stub->UploadAudio(&ctx, &resp);
    int64_t sequence = 0;
    bool ended = false;  // the call ended (or the simulator stops)
    absl::Time next = absl::Now() + options_.chunk;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(s.mu);
        s.cv.wait_until(lock, absl::ToChronoTime(next), [&s] { return s.end; });
        ended = s.end;
      }
      if (ended) break;
      if (absl::Now() - began > options_.max_call) {
        Log(LogLevel::kWarning, kComponent, "call ended here: no end seen within --max_call_seconds",
            {{"tenant", s.tenant}, {"call", s.call_id}});
        ended = true;
        break;
      }
      v1::UploadAudioRequest m;
      if (sequence == 0) m.set_recording(name);
      m.set_sequence(++sequence);
      m.set_audio(audio->Next(options_.chunk));
      if (!writer->Write(m)) break;  // the service ended the stream: Finish says why
      count(&MediaSimulatorTotals::chunks);
      next += options_.chunk;
    }
    if (sequence == 0) {  // ended before its first chunk: nothing to send
      ctx.TryCancel();
      (void)writer->Finish();
      count(&MediaSimulatorTotals::not_recorded);
      return finish("call ended before its first chunk", absl::OkStatus());
    }
    writer->WritesDone();
    const absl::Status st = recording_->StatusOf(writer->Finish());
    const std::string reason = ReasonOf(st);
    if (st.ok()) {
      count(&MediaSimulatorTotals::completed);
      return finish("call streamed", st);
    }
    if (reason == "RECORDING_STOPPED") {  // stopped by the call's end before our last chunk
      count(&MediaSimulatorTotals::completed);
      return finish("call streamed (stopped first)", absl::OkStatus());
    }
    if (reason == "RECORDING_NOT_FOUND" && !ended &&
        absl::Now() - began < options_.start_wait) {
      continue;  // the recording service has not started it yet
    }
    if (reason == "RECORDING_NOT_FOUND") {
      count(&MediaSimulatorTotals::not_recorded);
      return finish("call not recorded (no recording for it: no key, or recording off)", st);
    }
    count(&MediaSimulatorTotals::failed);
    return finish("call stream failed", st);
  }
}

}  // namespace dialgrid::recording
