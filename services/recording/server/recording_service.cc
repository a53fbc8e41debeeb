#include "services/recording/server/recording_service.h"

#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/server/grpc_status.h"
#include "services/common/server/request_checks.h"

namespace dialgrid::recording {
namespace {

using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_INTEGRATION;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_SUPERVISOR;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

const std::vector<auth::Role> kRecorders = {ROLE_PLATFORM_SERVICE, ROLE_TENANT_ADMIN,
                                            ROLE_INTEGRATION};
const std::vector<auth::Role> kPausers = {ROLE_PLATFORM_SERVICE, ROLE_TENANT_ADMIN,
                                          ROLE_INTEGRATION, ROLE_AGENT, ROLE_SUPERVISOR};
const std::vector<auth::Role> kReaders = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR, ROLE_INTEGRATION,
                                          ROLE_PLATFORM_SERVICE, ROLE_VENDOR_ADMIN};
const std::vector<auth::Role> kListeners = {ROLE_TENANT_ADMIN, ROLE_SUPERVISOR};
const std::vector<auth::Role> kAuditors = {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN};
const std::vector<auth::Role> kPolicyMakers = {ROLE_TENANT_ADMIN};
const std::vector<auth::Role> kLegal = {ROLE_TENANT_ADMIN, ROLE_INTEGRATION};
// Usage for billing: the tenant's admins and the vendor's (who bills it).
const std::vector<auth::Role> kUsageReaders = {ROLE_TENANT_ADMIN, ROLE_VENDOR_ADMIN};
const std::vector<auth::Role> kHoldReaders = {ROLE_TENANT_ADMIN, ROLE_INTEGRATION,
                                              ROLE_VENDOR_ADMIN};

Actor ActorOf(const CallContext& call) {
  return Actor{call.principal.credential.empty() ? "unknown" : call.principal.credential,
               call.request_id};
}

// UploadAudio: messages are handled in order on the executor, one at a
// time; once the upload is open, the next message is read (into the other
// of two buffers) while the current one is sealed and written, so the
// network and the vault work at once. At most two chunks per stream are in
// memory besides the segment being filled.
class UploadReactor final : public grpc::ServerReadReactor<v1::UploadAudioRequest> {
 public:
  UploadReactor(RpcEnv& env, RecordingManager& manager,
                const std::function<absl::StatusOr<int64_t>(const std::string&)>& max_storage,
                grpc::CallbackServerContext* ctx, v1::UploadAudioResponse* resp)
      : env_(env),
        manager_(manager),
        max_storage_(max_storage),
        ctx_(ctx),
        resp_(resp),
        start_(env.clock->Now()) {
    BeginCall(env_, ctx_, "UploadAudio", call_);
    StartRead(&msgs_[0]);
  }

  void OnReadDone(bool ok) override {
    const absl::Time now = env_.clock->Now();  // the chunk's latency counts from here
    int slot = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;  // a read still outstanding when the call ended
      read_at_[reading_] = now;
      if (busy_) {  // the previous message is still being handled: it takes this one next
        pending_ = true;
        pending_ok_ = ok;
        return;
      }
      busy_ = true;
      slot = reading_;
    }
    bool queued = env_.executor->TrySubmit([this, slot, ok] { Handle(slot, ok); });
    if (!queued) {
      env_.metrics->Shed("UploadAudio");
      Done(Unavailable("OVERLOADED", "the service is at capacity; retry with backoff"));
    }
  }

  void OnDone() override { delete this; }

 private:
  // Handles the message in `slot`, then any read that completed meanwhile.
  void Handle(int slot, bool ok) {
    while (Step(slot, ok)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pending_) {
        busy_ = false;
        return;
      }
      pending_ = false;
      slot = reading_;
      ok = pending_ok_;
    }
  }

  // One message; false when the call ended (Done: `this` may be gone).
  bool Step(int slot, bool ok) {
    v1::UploadAudioRequest& msg = msgs_[slot];
    if (ctx_->IsCancelled()) {
      Done(WithReason(absl::CancelledError("the upload stream broke off"), "STREAM_BROKEN"));
      return false;
    }
    if (!ok) {  // the client finished sending
      if (!session_) {
        Done(InvalidField("recording", "FIELD_REQUIRED", "the stream was empty"));
      } else {
        Done(absl::OkStatus());
      }
      return false;
    }
    if (!session_) {
      absl::Status st = AuthorizeCall(env_, ctx_, msg, Resource{"recording", msg.recording()},
                                      kRecorders, call_);
      if (!st.ok()) {
        Done(st);
        return false;
      }
      auto ref = RecordingManager::ParseRecordingName("recording", msg.recording());
      if (!ref.ok()) {
        Done(ref.status());
        return false;
      }
      auto quota = max_storage_(ref->tenant);
      if (!quota.ok()) {
        Done(quota.status());
        return false;
      }
      UploadStart start;
      start.container = msg.container();
      start.resume = msg.resume();
      auto session = manager_.OpenUpload(*ref, *quota, ActorOf(call_), start);
      if (!session.ok()) {
        Done(session.status());
        return false;
      }
      session_ = *std::move(session);
      name_ = msg.recording();
    } else {
      absl::Status st = CheckRequestValues(msg);
      if (!st.ok()) {
        Done(st);
        return false;
      }
      if (!msg.recording().empty() && msg.recording() != name_) {
        Done(InvalidField("recording", "RECORDING_CHANGED",
                          "a stream uploads one recording; later messages name it or leave it "
                          "empty"));
        return false;
      }
    }
    // The next message comes in while this one is sealed and written.
    const int next = 1 - slot;
    msgs_[next].Clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = next;
    }
    StartRead(&msgs_[next]);
    absl::Status st = session_->Feed(msg.sequence(), msg.audio(), read_at_[slot]);
    if (!st.ok()) {
        Done(st);
        return false;
      }
    return true;
  }

  void Done(const absl::Status& st) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    absl::Status out = st;
    if (session_) {
      auto finished = session_->Finish(st);
      if (!finished.ok()) {
        out = st.ok() ? finished.status() : st;
      } else if (st.ok()) {
        *resp_ = *std::move(finished);
      } else {
        out = WithMetadata(st, "last_sequence",
                           std::to_string(finished->recording().last_sequence()));
      }
      session_.reset();
    }
    EndCall(env_, call_, start_, out);
    Finish(ToGrpcStatus(out, env_.error_domain));
  }

  RpcEnv& env_;
  RecordingManager& manager_;
  const std::function<absl::StatusOr<int64_t>(const std::string&)>& max_storage_;
  grpc::CallbackServerContext* ctx_;
  v1::UploadAudioResponse* resp_;
  absl::Time start_;
  CallContext call_;
  // Two buffers: the message being handled and the one being read.
  v1::UploadAudioRequest msgs_[2];
  absl::Time read_at_[2] = {absl::InfinitePast(), absl::InfinitePast()};
  std::mutex mu_;
  int reading_ = 0;         // the buffer the outstanding (or last) read fills
  bool busy_ = false;       // a message is being handled (on the executor)
  bool pending_ = false;    // a read completed while busy: handle it next
  bool pending_ok_ = false;
  bool finished_ = false;   // Done was called: ignore reads still completing
  std::string name_;
  std::unique_ptr<UploadSession> session_;
};

// DownloadRecording: the playback runs on the executor and hands each
// message to the writer, waiting for the previous write (flow control).
class DownloadReactor final : public grpc::ServerWriteReactor<v1::DownloadRecordingResponse> {
 public:
  DownloadReactor(RpcEnv& env, RecordingManager& manager, grpc::CallbackServerContext* ctx,
                  const v1::DownloadRecordingRequest* req)
      : env_(env), manager_(manager), ctx_(ctx), req_(*req), start_(env.clock->Now()) {
    BeginCall(env_, ctx_, "DownloadRecording", call_);
    if (!env_.executor->TrySubmit([this] { Run(); })) {
      env_.metrics->Shed("DownloadRecording");
      Done(Unavailable("OVERLOADED", "the service is at capacity; retry with backoff"));
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    write_ok_ = ok;
    cv_.notify_all();
  }

  void OnDone() override {
    std::unique_lock<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !running_; });
    lock.unlock();
    delete this;
  }

 private:
  void Run() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = true;
    }
    absl::Status st =
        AuthorizeCall(env_, ctx_, req_, Resource{"name", req_.name()}, kListeners, call_);
    if (st.ok()) {
      auto ref = RecordingManager::ParseRecordingName("name", req_.name());
      st = ref.ok() ? manager_.Download(
                          *ref, req_.offset(), req_.length(), ActorOf(call_),
                          [this](v1::DownloadRecordingResponse& m) { return Write(m); },
                          req_.container())
                    : ref.status();
    }
    Done(st);
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    cv_.notify_all();
  }

  bool Write(v1::DownloadRecordingResponse& m) {
    std::unique_lock<std::mutex> lock(mu_);
    if (done_ || !write_ok_) return false;
    out_ = std::move(m);
    writing_ = true;
    StartWrite(&out_);
    // A client that stops reading for a minute loses its playback.
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [this] { return !writing_ || done_; })) {
      return false;
    }
    return write_ok_ && !done_;
  }

  void Done(const absl::Status& st) {
    EndCall(env_, call_, start_, st);
    Finish(ToGrpcStatus(st, env_.error_domain));
  }

  RpcEnv& env_;
  RecordingManager& manager_;
  grpc::CallbackServerContext* ctx_;
  v1::DownloadRecordingRequest req_;
  absl::Time start_;
  CallContext call_;
  v1::DownloadRecordingResponse out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool write_ok_ = true;
  bool done_ = false;
  bool running_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* RecordingServiceImpl::StartRecording(
    grpc::CallbackServerContext* ctx, const v1::StartRecordingRequest* req, v1::Recording* resp) {
  return ServeUnary(env_, ctx, "StartRecording", *req, Resource{"parent", req->parent()},
                    kRecorders, [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req->parent(), "tenants/{tenant}"));
                      return Into(manager_.Start(ids[0], req->recording(), req->request_id(),
                                                 ActorOf(call)),
                                  resp);
                    });
}

grpc::ServerReadReactor<v1::UploadAudioRequest>* RecordingServiceImpl::UploadAudio(
    grpc::CallbackServerContext* ctx, v1::UploadAudioResponse* resp) {
  return new UploadReactor(env_, manager_, max_storage_, ctx, resp);
}

#define DG_SERVE_NAMED(Method, Roles, Body)                                             \
  return ServeUnary(env_, ctx, #Method, *req, Resource{"name", req->name()}, Roles,     \
                    [=](const CallContext& call) -> absl::Status {                      \
                      DG_ASSIGN_OR_RETURN(RecordingRef ref,                             \
                                          RecordingManager::ParseRecordingName("name",  \
                                                                               req->name())); \
                      return Into(Body, resp);                                          \
                    });

grpc::ServerUnaryReactor* RecordingServiceImpl::PauseRecording(
    grpc::CallbackServerContext* ctx, const v1::PauseRecordingRequest* req, v1::Recording* resp) {
  DG_SERVE_NAMED(PauseRecording, kPausers, manager_.Pause(ref, req->reason(), ActorOf(call)))
}
grpc::ServerUnaryReactor* RecordingServiceImpl::ResumeRecording(
    grpc::CallbackServerContext* ctx, const v1::ResumeRecordingRequest* req, v1::Recording* resp) {
  DG_SERVE_NAMED(ResumeRecording, kPausers, manager_.Resume(ref, ActorOf(call)))
}
grpc::ServerUnaryReactor* RecordingServiceImpl::StopRecording(
    grpc::CallbackServerContext* ctx, const v1::StopRecordingRequest* req, v1::Recording* resp) {
  DG_SERVE_NAMED(StopRecording, kRecorders, manager_.Stop(ref, ActorOf(call)))
}
grpc::ServerUnaryReactor* RecordingServiceImpl::GetRecording(
    grpc::CallbackServerContext* ctx, const v1::GetRecordingRequest* req, v1::Recording* resp) {
  DG_SERVE_NAMED(GetRecording, kReaders, manager_.Get(ref, ActorOf(call)))
}
#undef DG_SERVE_NAMED

#define DG_SERVE_PARENT(Method, Roles, Body)                                             \
  return ServeUnary(env_, ctx, #Method, *req, Resource{"parent", req->parent()}, Roles,  \
                    [=](const CallContext&) -> absl::Status {                            \
                      DG_ASSIGN_OR_RETURN(auto ids,                                      \
                                          ParseName("parent", req->parent(), "tenants/{tenant}")); \
                      return Into(Body, resp);                                           \
                    });

grpc::ServerUnaryReactor* RecordingServiceImpl::ListRecordings(
    grpc::CallbackServerContext* ctx, const v1::ListRecordingsRequest* req,
    v1::ListRecordingsResponse* resp) {
  DG_SERVE_PARENT(ListRecordings, kReaders, manager_.List(ids[0], *req))
}
grpc::ServerUnaryReactor* RecordingServiceImpl::VerifyRecordings(
    grpc::CallbackServerContext* ctx, const v1::VerifyRecordingsRequest* req,
    v1::VerifyRecordingsResponse* resp) {
  DG_SERVE_PARENT(VerifyRecordings, kAuditors, manager_.Verify(ids[0], req->check_audio()))
}
grpc::ServerUnaryReactor* RecordingServiceImpl::RewrapDataKeys(
    grpc::CallbackServerContext* ctx, const v1::RewrapDataKeysRequest* req,
    v1::RewrapDataKeysResponse* resp) {
  DG_SERVE_PARENT(RewrapDataKeys, kAuditors, manager_.Rewrap(ids[0]))
}
grpc::ServerUnaryReactor* RecordingServiceImpl::GetRecordingUsage(
    grpc::CallbackServerContext* ctx, const v1::GetRecordingUsageRequest* req,
    v1::RecordingUsage* resp) {
  return ServeUnary(env_, ctx, "GetRecordingUsage", *req, Resource{"tenant", req->tenant()},
                    kUsageReaders, [=](const CallContext&) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("tenant", req->tenant(), "tenants/{tenant}"));
                      return Into(manager_.Usage(ids[0], *req), resp);
                    });
}
grpc::ServerUnaryReactor* RecordingServiceImpl::ListHolds(grpc::CallbackServerContext* ctx,
                                                          const v1::ListHoldsRequest* req,
                                                          v1::ListHoldsResponse* resp) {
  DG_SERVE_PARENT(ListHolds, kHoldReaders, manager_.ListHolds(ids[0], *req))
}
#undef DG_SERVE_PARENT

grpc::ServerUnaryReactor* RecordingServiceImpl::SetRetentionPolicy(
    grpc::CallbackServerContext* ctx, const v1::SetRetentionPolicyRequest* req,
    v1::RetentionPolicy* resp) {
  return ServeUnary(env_, ctx, "SetRetentionPolicy", *req,
                    Resource{"policy.name", req->policy().name()}, kPolicyMakers,
                    [=](const CallContext& call) -> absl::Status {
                      return Into(manager_.SetRetention(req->policy(), ActorOf(call)), resp);
                    });
}
grpc::ServerUnaryReactor* RecordingServiceImpl::GetRetentionPolicy(
    grpc::CallbackServerContext* ctx, const v1::GetRetentionPolicyRequest* req,
    v1::RetentionPolicy* resp) {
  return ServeUnary(env_, ctx, "GetRetentionPolicy", *req, Resource{"name", req->name()},
                    kReaders, [=](const CallContext&) -> absl::Status {
                      return Into(manager_.GetRetention(req->name()), resp);
                    });
}
grpc::ServerUnaryReactor* RecordingServiceImpl::PlaceHold(grpc::CallbackServerContext* ctx,
                                                          const v1::PlaceHoldRequest* req,
                                                          v1::LegalHold* resp) {
  return ServeUnary(env_, ctx, "PlaceHold", *req, Resource{"parent", req->parent()}, kLegal,
                    [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("parent", req->parent(), "tenants/{tenant}"));
                      return Into(manager_.PlaceHold(ids[0], req->hold(), req->request_id(),
                                                     ActorOf(call)),
                                  resp);
                    });
}
grpc::ServerUnaryReactor* RecordingServiceImpl::ReleaseHold(grpc::CallbackServerContext* ctx,
                                                            const v1::ReleaseHoldRequest* req,
                                                            v1::LegalHold* resp) {
  return ServeUnary(env_, ctx, "ReleaseHold", *req, Resource{"name", req->name()}, kLegal,
                    [=](const CallContext& call) -> absl::Status {
                      return Into(manager_.ReleaseHold(req->name(), req->reason(), ActorOf(call)),
                                  resp);
                    });
}
grpc::ServerUnaryReactor* RecordingServiceImpl::EraseContactRecordings(
    grpc::CallbackServerContext* ctx, const v1::EraseContactRecordingsRequest* req,
    v1::EraseContactRecordingsResponse* resp) {
  return ServeUnary(env_, ctx, "EraseContactRecordings", *req, Resource{"parent", req->parent()},
                    kLegal, [=](const CallContext& call) -> absl::Status {
                      DG_ASSIGN_OR_RETURN(auto ids,
                                          ParseName("parent", req->parent(), "tenants/{tenant}"));
                      return Into(manager_.EraseContact(ids[0], req->contact(), req->reason(),
                                                        ActorOf(call)),
                                  resp);
                    });
}

grpc::ServerWriteReactor<v1::DownloadRecordingResponse>* RecordingServiceImpl::DownloadRecording(
    grpc::CallbackServerContext* ctx, const v1::DownloadRecordingRequest* req) {
  return new DownloadReactor(env_, manager_, ctx, req);
}

}  // namespace dialgrid::recording
