#include "services/recording/application/recording_manager.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/pages.h"
#include "services/common/core/random.h"
#include "services/common/core/request_ids.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/common/kafka/event_publisher.h"
#include "services/recording/domain/wav.h"

namespace dialgrid::recording {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kTries = 5;


v1::State StateOf(const std::string& s) {
  if (s == kStateRecording) return v1::STATE_RECORDING;
  if (s == kStatePaused) return v1::STATE_PAUSED;
  if (s == kStateStopped) return v1::STATE_STOPPED;
  if (s == kStateIncomplete) return v1::STATE_INCOMPLETE;
  return v1::STATE_UNSPECIFIED;
}

// A reference to another resource of the call: empty, or the tenant's own
// (PERMISSION_DENIED TENANT_MISMATCH for another tenant's, so nothing is
// tied to what the caller may not see); pool agents are the vendor's.
absl::Status CheckReference(absl::string_view field, const std::string& value,
                            absl::string_view tenant, absl::string_view pattern,
                            bool pool_allowed = false) {
  if (value.empty()) return absl::OkStatus();
  if (pool_allowed && absl::StartsWith(value, "agentPools/")) {
    return ParseName(field, value, "agentPools/{pool}/agents/{agent}").status();
  }
  DG_ASSIGN_OR_RETURN(std::string owner, TenantOfName(field, value));
  if (owner != tenant) {
    return WithMetadata(PermissionDenied("TENANT_MISMATCH",
                                         "the referenced resource belongs to another tenant"),
                        "field", field);
  }
  return ParseName(field, value, pattern).status();
}

absl::Status CheckCallId(absl::string_view field, const std::string& call_id, bool required) {
  if (call_id.empty()) {
    return required ? InvalidField(field, "FIELD_REQUIRED", "is required") : absl::OkStatus();
  }
  if (call_id.size() > 128) return InvalidField(field, "FIELD_TOO_LONG", "at most 128 characters");
  return ValidateText(field, call_id);
}

// A value inside a chain entry's "k=v" detail: no spaces (nor '%').
std::string DetailText(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '%') out += "%25";
    else if (c == ' ') out += "%20";
    else if (c == '\t' || c == '\n' || c == '\r') out += "%20";
    else out += c;
  }
  return out;
}

absl::Status CheckReason(absl::string_view field, absl::string_view reason) {
  if (reason.empty()) return InvalidField(field, "FIELD_REQUIRED", "is required");
  if (reason.size() > 500) return InvalidField(field, "FIELD_TOO_LONG", "at most 500 characters");
  return ValidateText(field, reason);
}

const char* ScopeName(v1::HoldScope s) {
  switch (s) {
    case v1::HOLD_SCOPE_RECORDING: return kHoldRecording;
    case v1::HOLD_SCOPE_CALL: return kHoldCall;
    case v1::HOLD_SCOPE_CONTACT: return kHoldContact;
    case v1::HOLD_SCOPE_CAMPAIGN: return kHoldCampaign;
    default: return "";
  }
}

v1::HoldScope ScopeOf(const std::string& s) {
  if (s == kHoldRecording) return v1::HOLD_SCOPE_RECORDING;
  if (s == kHoldCall) return v1::HOLD_SCOPE_CALL;
  if (s == kHoldContact) return v1::HOLD_SCOPE_CONTACT;
  if (s == kHoldCampaign) return v1::HOLD_SCOPE_CAMPAIGN;
  return v1::HOLD_SCOPE_UNSPECIFIED;
}

constexpr char kSystem[] = "system";

}  // namespace

RecordingManager::RecordingManager(std::shared_ptr<RecordingStore> store,
                                   std::shared_ptr<BlobStore> blobs,
                                   std::shared_ptr<KeyRing> keys, const Clock& clock,
                                   RecordingOptions options)
    : store_(std::move(store)),
      blobs_(std::move(blobs)),
      keys_(std::move(keys)),
      clock_(clock),
      options_(std::move(options)) {
  if (options_.probe == nullptr) options_.probe = std::make_shared<RecordingProbe>();
}

std::string RecordingManager::NameOf(const RecordingRef& ref) {
  return absl::StrCat("tenants/", ref.tenant, "/recordings/", ref.id);
}

std::string RecordingManager::HoldName(absl::string_view tenant, absl::string_view id) {
  return absl::StrCat("tenants/", tenant, "/legalHolds/", id);
}

absl::StatusOr<RecordingRef> RecordingManager::ParseRecordingName(absl::string_view field,
                                                                  absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName(field, name, "tenants/{tenant}/recordings/{recording}"));
  return RecordingRef{ids[0], ids[1]};
}

v1::Recording RecordingManager::ToProto(const RecordingMeta& m) {
  v1::Recording r;
  r.set_name(NameOf(m.ref));
  r.set_call_id(m.call_id);
  r.set_campaign(m.campaign);
  r.set_agent(m.agent);
  r.set_contact(m.contact);
  r.set_audio_format(static_cast<v1::AudioFormat>(m.audio_format));
  r.set_announcement_played(m.announcement_played);
  r.set_state(StateOf(m.state));
  if (m.create_time != absl::InfinitePast()) *r.mutable_create_time() = ToTimestamp(m.create_time);
  if (m.stop_time != absl::InfinitePast()) *r.mutable_stop_time() = ToTimestamp(m.stop_time);
  int64_t audio = m.upload == kUploadDone ? m.audio_bytes : m.accepted_bytes;
  *r.mutable_duration() = TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(AudioDuration(m.audio_format, audio)));
  r.set_audio_bytes(audio);
  r.set_stored_bytes(m.stored_bytes);
  r.set_segments(m.segments);
  r.set_sha256(m.sha256);
  for (const auto& g : m.gaps) {
    v1::Gap* out = r.add_gaps();
    if (g.start != absl::InfinitePast()) *out->mutable_start_time() = ToTimestamp(g.start);
    if (g.end != absl::InfiniteFuture()) *out->mutable_end_time() = ToTimestamp(g.end);
    out->set_audio_offset(g.audio_offset);
    out->set_paused_by(g.paused_by);
    out->set_reason(g.reason);
    out->set_discarded_bytes(g.discarded_bytes);
  }
  r.set_last_sequence(m.last_sequence);
  r.set_incomplete_reason(m.incomplete_reason);
  if (m.expire_time != absl::InfiniteFuture()) *r.mutable_expire_time() = ToTimestamp(m.expire_time);
  r.set_legal_hold(!m.holds.empty());
  for (const auto& h : m.holds) r.add_holds(HoldName(m.ref.tenant, h));
  r.set_key_id(m.key_id);
  r.set_audio_stored(m.upload == kUploadDone);
  r.set_lost_audio_bytes(m.lost_bytes);
  return r;
}

v1::LegalHold RecordingManager::ToProto(const HoldMeta& h) {
  v1::LegalHold out;
  out.set_name(HoldName(h.tenant, h.id));
  out.set_scope(ScopeOf(h.scope));
  out.set_target(h.scope == kHoldRecording ? NameOf(RecordingRef{h.tenant, h.target}) : h.target);
  out.set_reason(h.reason);
  out.set_state(h.released ? v1::HOLD_STATE_RELEASED : v1::HOLD_STATE_ACTIVE);
  out.set_placed_by(h.placed_by);
  if (h.create_time != absl::InfinitePast()) *out.mutable_create_time() = ToTimestamp(h.create_time);
  if (h.released) {
    if (h.release_time != absl::InfinitePast()) *out.mutable_release_time() = ToTimestamp(h.release_time);
    out.set_released_by(h.released_by);
    out.set_release_reason(h.release_reason);
  }
  return out;
}

event::v1::Envelope RecordingManager::Event(const RecordingRef& ref,
                                            const google::protobuf::Message& payload) {
  return kafka::MakeEnvelope(ref.tenant, NameOf(ref), payload, options_.producer, clock_);
}

event::v1::Envelope RecordingManager::Event(absl::string_view tenant, absl::string_view subject,
                                            const google::protobuf::Message& payload) {
  return kafka::MakeEnvelope(std::string(tenant), std::string(subject), payload,
                             options_.producer, clock_);
}

absl::StatusOr<SecretKey> RecordingManager::DataKey(const RecordingMeta& meta) {
  DG_ASSIGN_OR_RETURN(SecretKey kek, keys_->Get(meta.ref.tenant, meta.key_id));
  return UnwrapDataKey(kek, meta.ref.tenant, meta.ref.id, meta.wrapped_key);
}

absl::StatusOr<v1::Recording> RecordingManager::Start(absl::string_view tenant,
                                                      const v1::Recording& in,
                                                      absl::string_view request_id,
                                                      const Actor& actor,
                                                      const CreateOptions& create) {
  DG_RETURN_IF_ERROR(ValidateRequestId(request_id));
  if (!create.id.empty()) DG_RETURN_IF_ERROR(ValidateResourceId("recording.name", create.id));
  DG_RETURN_IF_ERROR(CheckCallId("recording.call_id", in.call_id(), true));
  DG_RETURN_IF_ERROR(CheckAudioFormat("recording.audio_format", in.audio_format()));
  DG_RETURN_IF_ERROR(CheckReference("recording.campaign", in.campaign(), tenant,
                                    "tenants/{tenant}/campaigns/{campaign}"));
  DG_RETURN_IF_ERROR(CheckReference("recording.agent", in.agent(), tenant,
                                    "tenants/{tenant}/agents/{agent}", true));
  DG_RETURN_IF_ERROR(CheckReference("recording.contact", in.contact(), tenant,
                                    "tenants/{tenant}/contactLists/{list}/contacts/{contact}"));
  DG_ASSIGN_OR_RETURN(Kek kek, keys_->Current(tenant));

  RecordingMeta m;
  m.ref = RecordingRef{std::string(tenant),
                       create.id.empty() ? absl::StrCat("r", RandomHex(12)) : create.id};
  m.call_id = in.call_id();
  m.campaign = in.campaign();
  m.agent = in.agent();
  m.contact = in.contact();
  m.audio_format = in.audio_format();
  m.announcement_played = in.announcement_played();
  DG_ASSIGN_OR_RETURN(absl::Duration retention, RetentionFor(tenant, m.campaign));
  m.create_time = clock_.Now();
  m.expire_time = m.create_time + retention;
  m.key_id = kek.id;
  SecretKey data_key = SecretKey::Random();
  DG_ASSIGN_OR_RETURN(m.wrapped_key, WrapDataKey(kek.key, m.ref.tenant, m.ref.id, data_key));

  // The request as the caller made it: a retry must repeat it exactly.
  v1::Recording asked;
  asked.set_call_id(in.call_id());
  asked.set_campaign(in.campaign());
  asked.set_agent(in.agent());
  asked.set_contact(in.contact());
  asked.set_audio_format(in.audio_format());
  asked.set_announcement_played(in.announcement_played());
  std::string fingerprint = Sha256Hex(absl::StrCat(actor.credential, "\n", asked.SerializeAsString()));

  ChainDraft created{kChainCreated, m.ref.id, actor.credential,
                     absl::StrCat("call=", m.call_id, " format=", m.audio_format,
                                  " key=", m.key_id, " request=", actor.request_id,
                                  " expire_ms=", absl::ToUnixMillis(m.expire_time)),
                     m.create_time};
  v1::RecordingStarted ev;
  *ev.mutable_recording() = ToProto(m);
  absl::StatusOr<std::string> made =
      store_->Create(m, request_id, fingerprint, created, {Event(m.ref, ev)});
  if (!made.ok() && !create.id.empty() && ReasonOf(made.status()) == "RECORDING_EXISTS") {
    // The id asked for is there: the same call's recording (started before)
    // is the answer; anything else keeps the error.
    auto there = store_->Get(m.ref);
    if (there.ok() && there->call_id == m.call_id) return ToProto(*there);
    return made.status();
  }
  DG_ASSIGN_OR_RETURN(std::string id, std::move(made));
  if (id == m.ref.id) {
    options_.probe->RecordingStarted();
    return ToProto(m);
  }
  DG_ASSIGN_OR_RETURN(RecordingMeta first, store_->Get(RecordingRef{m.ref.tenant, id}));
  return ToProto(first);
}

absl::StatusOr<v1::Recording> RecordingManager::Move(const RecordingRef& ref, Transition t,
                                                     absl::string_view reason,
                                                     const Actor& actor) {
  for (int attempt = 0; attempt < kTries; ++attempt) {
    DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
    DG_RETURN_IF_ERROR(CheckTransition(m, t));
    if (t == Transition::kStop && m.stop_time != absl::InfinitePast()) {
      return ToProto(m);  // stopped before: nothing changes
    }
    absl::Time now = clock_.Now();
    RecordingMeta next = m;
    next.state = StateAfter(m, t);
    if (t == Transition::kPause) {
      GapMeta g;
      g.start = now;
      g.audio_offset = m.accepted_bytes;
      g.paused_by = actor.credential;
      g.reason = std::string(reason);
      next.gaps.push_back(g);
    } else if (!m.gaps.empty() && m.gaps.back().end == absl::InfiniteFuture() &&
               m.state == kStatePaused) {
      next.gaps.back().end = now;
    }
    if (t == Transition::kStop) next.stop_time = now;
    v1::RecordingStateChanged ev;
    *ev.mutable_recording() = ToProto(next);
    ev.set_actor(actor.credential);
    absl::Status st = store_->ApplyTransition(ref, t, m.state, now, actor.credential, reason,
                                              {Event(ref, ev)});
    if (st.ok()) {
      options_.probe->StateChanged(t);
      DG_ASSIGN_OR_RETURN(RecordingMeta after, store_->Get(ref));
      return ToProto(after);
    }
    if (ReasonOf(st) != "STATE_CHANGED") return st;
  }
  return Aborted("STATE_CHANGED", "the recording kept changing; retry");
}

absl::StatusOr<v1::Recording> RecordingManager::Pause(const RecordingRef& ref,
                                                      absl::string_view reason,
                                                      const Actor& actor) {
  if (reason.empty()) return InvalidField("reason", "FIELD_REQUIRED", "say why (e.g. card-data)");
  if (reason.size() > 200) return InvalidField("reason", "FIELD_TOO_LONG", "at most 200 characters");
  DG_RETURN_IF_ERROR(ValidateText("reason", reason));
  return Move(ref, Transition::kPause, reason, actor);
}

absl::StatusOr<v1::Recording> RecordingManager::Resume(const RecordingRef& ref,
                                                       const Actor& actor) {
  return Move(ref, Transition::kResume, "", actor);
}

absl::StatusOr<v1::Recording> RecordingManager::Stop(const RecordingRef& ref, const Actor& actor) {
  return Move(ref, Transition::kStop, "", actor);
}

absl::StatusOr<v1::Recording> RecordingManager::Peek(const RecordingRef& ref) {
  DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
  return ToProto(m);
}

absl::StatusOr<v1::LegalHold> RecordingManager::PeekHold(absl::string_view tenant,
                                                         absl::string_view id) {
  DG_ASSIGN_OR_RETURN(HoldMeta h, store_->GetHold(tenant, id));
  return ToProto(h);
}

absl::StatusOr<v1::Recording> RecordingManager::Get(const RecordingRef& ref, const Actor& actor) {
  DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
  v1::RecordingAccessed ev;
  ev.set_recording(NameOf(ref));
  ev.set_actor(actor.credential);
  ev.set_access("metadata");
  ev.set_request_id(actor.request_id);
  DG_RETURN_IF_ERROR(store_->Publish(ref.tenant, {Event(ref, ev)}));
  return ToProto(m);
}

absl::StatusOr<v1::ListRecordingsResponse> RecordingManager::List(
    absl::string_view tenant, const v1::ListRecordingsRequest& req) {
  DG_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  DG_ASSIGN_OR_RETURN(std::string after, DecodePageToken(req.page_token()));
  DG_RETURN_IF_ERROR(CheckCallId("call_id", req.call_id(), false));
  DG_RETURN_IF_ERROR(
      CheckReference("campaign", req.campaign(), tenant, "tenants/{tenant}/campaigns/{campaign}"));
  DG_RETURN_IF_ERROR(
      CheckReference("agent", req.agent(), tenant, "tenants/{tenant}/agents/{agent}", true));
  DG_RETURN_IF_ERROR(CheckReference("contact", req.contact(), tenant,
                                    "tenants/{tenant}/contactLists/{list}/contacts/{contact}"));
  v1::ListRecordingsResponse out;
  int scanned = 0;
  const int scan_limit = std::max(10 * page_size, 1000);
  while (true) {
    DG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(tenant, after, page_size));
    std::vector<std::string> ids;
    for (const auto& k : keys) ids.push_back(RecordingStore::IdOfListKey(k));
    DG_ASSIGN_OR_RETURN(auto metas, store_->GetMany(tenant, ids));
    std::map<std::string, const RecordingMeta*> by_id;
    for (const auto& m : metas) by_id[m.ref.id] = &m;
    for (const auto& k : keys) {
      after = k;
      ++scanned;
      auto it = by_id.find(RecordingStore::IdOfListKey(k));
      if (it == by_id.end()) continue;
      const RecordingMeta& m = *it->second;
      if ((!req.call_id().empty() && m.call_id != req.call_id()) ||
          (!req.campaign().empty() && m.campaign != req.campaign()) ||
          (!req.agent().empty() && m.agent != req.agent()) ||
          (!req.contact().empty() && m.contact != req.contact()) ||
          (req.state() != v1::STATE_UNSPECIFIED && StateOf(m.state) != req.state())) {
        continue;
      }
      *out.add_recordings() = ToProto(m);
      if (out.recordings_size() == page_size) break;
    }
    bool at_end = static_cast<int>(keys.size()) < page_size &&
                  (keys.empty() || after == keys.back());
    if (out.recordings_size() == page_size || scanned >= scan_limit) {
      // More may follow unless this batch was the last and fully read.
      if (!at_end) out.set_next_page_token(EncodePageToken(after));
      return out;
    }
    if (at_end) return out;
  }
}

absl::StatusOr<std::unique_ptr<UploadSession>> RecordingManager::OpenUpload(
    const RecordingRef& ref, int64_t max_usage, const Actor& actor, UploadStart start) {
  DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
  const bool resuming = start.resume && m.upload != kUploadNone;
  if (resuming) {
    // The store decides again atomically; these answer before the stored
    // audio is read.
    if (m.upload == kUploadOpen || m.upload == kUploadSalvaging) {
      return FailedPrecondition("UPLOAD_EXISTS",
                                "the recording's upload is still open on another stream");
    }
    if (m.stop_time != absl::InfinitePast() && m.incomplete_reason == "STREAM_BROKEN") {
      return FailedPrecondition("RECORDING_STOPPED", "the recording has stopped");
    }
    if (m.upload != kUploadDone || m.incomplete_reason != "STREAM_BROKEN") {
      return FailedPrecondition(
          "UPLOAD_NOT_RESUMABLE",
          m.upload == kUploadDone && m.incomplete_reason.empty()
              ? "the recording's upload ended normally"
              : absl::StrCat("only an upload whose stream broke off (STREAM_BROKEN) can be "
                             "resumed; this one ended ",
                             m.incomplete_reason.empty() ? m.upload : m.incomplete_reason));
    }
  }
  DG_ASSIGN_OR_RETURN(SecretKey key, DataKey(m));
  DG_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, blobs_->Create(ref));
  auto session = std::unique_ptr<UploadSession>(
      new UploadSession(*this, ref, std::move(key), max_usage, std::move(writer), actor,
                        m.audio_format, !resuming && start.container == v1::AUDIO_CONTAINER_WAV));
  // The new file is ready (the stored audio copied into it) before the
  // upload opens: a process dying here leaves only a temporary file.
  absl::Status st = session->Write(FileHeader());
  if (st.ok() && resuming) st = session->Restore(m);
  if (st.ok()) {
    st = resuming ? store_->ResumeUpload(ref, clock_.Now()) : store_->OpenUpload(ref, clock_.Now());
  }
  if (!st.ok()) {
    session->Discard();
    return st;
  }
  Track(session.get());
  return session;
}

absl::Status RecordingManager::Download(
    const RecordingRef& ref, int64_t offset, int64_t length, const Actor& actor,
    const std::function<bool(v1::DownloadRecordingResponse&)>& write,
    v1::AudioContainer container) {
  RecordingProbe& probe = *options_.probe;
  bool began = false;
  absl::Status st = Play(ref, offset, length, &actor,
                         [&](v1::DownloadRecordingResponse& m) {
                           if (!began) probe.PlaybackStarted();
                           began = true;
                           const int64_t bytes = static_cast<int64_t>(m.audio().size());
                           if (!write(m)) return false;
                           probe.AudioServed(bytes);
                           return true;
                         },
                         container);
  if (absl::IsDataLoss(st)) probe.PlaybackTampered();
  return st;
}

absl::Status RecordingManager::Play(
    const RecordingRef& ref, int64_t offset, int64_t length, const Actor* audit,
    const std::function<bool(v1::DownloadRecordingResponse&)>& write,
    v1::AudioContainer container) {
  if (offset < 0) return InvalidField("offset", "INVALID_RANGE", "must not be negative");
  if (length < 0) return InvalidField("length", "INVALID_RANGE", "must not be negative");
  DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
  if (m.upload != kUploadDone) {
    return FailedPrecondition("AUDIO_NOT_STORED",
                              "the recording's audio is not stored (yet): its upload has not ended");
  }
  if (offset > m.audio_bytes) {
    return WithReason(absl::OutOfRangeError(absl::StrCat("offset is past the audio's end (",
                                                         m.audio_bytes, " bytes)")),
                      "OFFSET_OUT_OF_RANGE");
  }
  const int64_t end = length == 0 ? m.audio_bytes : std::min(m.audio_bytes, offset + length);
  DG_ASSIGN_OR_RETURN(SecretKey key, DataKey(m));
  DG_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, blobs_->Open(ref));
  DG_ASSIGN_OR_RETURN(SegmentLayout layout, LayoutOfFile(reader->Size()));
  if (layout.audio_bytes != m.audio_bytes || reader->Size() != m.stored_bytes) {
    return WithReason(absl::DataLossError("the stored recording's size differs from its record"),
                      "AUDIO_TAMPERED");
  }
  DG_ASSIGN_OR_RETURN(std::string header, reader->ReadAt(0, kFileHeaderBytes));
  DG_RETURN_IF_ERROR(CheckFileHeader(header));

  // The access is on record before a byte is served.
  if (audit != nullptr) {
    ChainDraft accessed{kChainAccessed, ref.id, audit->credential,
                        absl::StrCat("range=", offset, "+", end - offset,
                                     " request=", audit->request_id),
                        clock_.Now()};
    v1::RecordingAccessed ev;
    ev.set_recording(NameOf(ref));
    ev.set_actor(audit->credential);
    ev.set_access("download");
    ev.set_offset(offset);
    ev.set_length(end - offset);
    ev.set_request_id(audit->request_id);
    DG_RETURN_IF_ERROR(store_->AppendChain(ref.tenant, accessed, {Event(ref, ev)}));
  }

  const bool whole = offset == 0 && end == m.audio_bytes;
  Sha256 sha;
  bool first_message = true;
  int64_t pos = offset;
  for (int64_t i = offset / int64_t{kSegmentPlaintext}; i < layout.segments; ++i) {
    if (pos >= end && !(whole && first_message)) break;
    DG_ASSIGN_OR_RETURN(std::string sealed, reader->ReadAt(layout.Offset(i), layout.SealedLength(i)));
    DG_ASSIGN_OR_RETURN(std::string plain,
                        OpenSegment(key, ref.tenant, ref.id, static_cast<uint64_t>(i),
                                    i + 1 == layout.segments, sealed));
    if (whole) sha.Update(plain);
    const int64_t seg_start = i * int64_t{kSegmentPlaintext};
    const int64_t from = pos - seg_start;
    const int64_t to = std::min<int64_t>(static_cast<int64_t>(plain.size()), end - seg_start);
    v1::DownloadRecordingResponse msg;
    if (first_message) {
      *msg.mutable_recording() = ToProto(m);
      if (container == v1::AUDIO_CONTAINER_WAV) {
        msg.set_container_header(WavHeader(m.audio_format, end - offset));
      }
    }
    first_message = false;
    msg.set_offset(pos);
    if (to > from) msg.set_audio(plain.substr(from, to - from));
    pos += std::max<int64_t>(0, to - from);
    if (whole && i + 1 == layout.segments && sha.FinalHex() != m.sha256) {
      return WithReason(absl::DataLossError("the recording's SHA-256 differs from its record"),
                        "AUDIO_TAMPERED");
    }
    if (!write(msg)) return absl::CancelledError("the client stopped reading");
  }
  if (first_message) {  // an empty range: still answer with the recording
    v1::DownloadRecordingResponse msg;
    *msg.mutable_recording() = ToProto(m);
    if (container == v1::AUDIO_CONTAINER_WAV) {
      msg.set_container_header(WavHeader(m.audio_format, 0));
    }
    msg.set_offset(offset);
    if (!write(msg)) return absl::CancelledError("the client stopped reading");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RecordingMeta>> RecordingManager::All(absl::string_view tenant) {
  std::vector<RecordingMeta> out;
  std::string after;
  while (true) {
    DG_ASSIGN_OR_RETURN(auto keys, store_->ListKeys(tenant, after, 500));
    if (keys.empty()) return out;
    std::vector<std::string> ids;
    for (const auto& k : keys) ids.push_back(RecordingStore::IdOfListKey(k));
    DG_ASSIGN_OR_RETURN(auto metas, store_->GetMany(tenant, ids));
    for (auto& m : metas) out.push_back(std::move(m));
    after = keys.back();
  }
}

absl::StatusOr<v1::VerifyRecordingsResponse> RecordingManager::Verify(absl::string_view tenant,
                                                                      bool check_audio) {
  v1::VerifyRecordingsResponse out;
  auto problem = [&out](v1::VerifyProblem::Kind kind, const std::string& recording, int64_t entry,
                        std::string detail) {
    v1::VerifyProblem* p = out.add_problems();
    p->set_kind(kind);
    p->set_recording(recording);
    p->set_chain_entry(entry);
    p->set_detail(std::move(detail));
  };
  DG_ASSIGN_OR_RETURN(ChainSnapshot chain, store_->ReadChain(tenant));
  ChainCheck check = CheckChain(chain.records, chain.head_hash, chain.head_seq);
  out.set_chain_entries(static_cast<int64_t>(chain.records.size()));
  out.set_chain_head(chain.head_hash);
  for (const auto& b : check.breaks) {
    problem(b.head ? v1::VerifyProblem::KIND_CHAIN_HEAD_MISMATCH : v1::VerifyProblem::KIND_CHAIN_BROKEN,
            "", b.entry, b.detail);
  }
  DG_ASSIGN_OR_RETURN(std::vector<RecordingMeta> metas, All(tenant));
  std::map<std::string, bool> present;
  for (const RecordingMeta& m : metas) {
    present[m.ref.id] = true;
    const std::string name = NameOf(m.ref);
    out.set_recordings_checked(out.recordings_checked() + 1);
    auto it = check.recordings.find(m.ref.id);
    ChainFacts facts = it == check.recordings.end() ? ChainFacts() : it->second;
    if (facts.created_seq == 0) {
      problem(v1::VerifyProblem::KIND_NOT_IN_CHAIN, name, 0, "no creation entry in the chain");
    }
    auto key = DataKey(m);
    if (!key.ok()) {
      problem(v1::VerifyProblem::KIND_KEY_UNWRAP_FAILED, name, 0, std::string(key.status().message()));
    }
    if (m.upload != kUploadDone) continue;
    if (facts.stored_seq == 0) {
      problem(v1::VerifyProblem::KIND_NOT_IN_CHAIN, name, 0, "no storage entry in the chain");
    } else if (m.file_sha256 != facts.stored_file_sha256 || m.sha256 != facts.stored_audio_sha256) {
      problem(v1::VerifyProblem::KIND_METADATA_ALTERED, name, facts.stored_seq,
              "the recorded checksums differ from the chain's storage entry");
    }
    auto reader = blobs_->Open(m.ref);
    if (!reader.ok()) {
      problem(ReasonOf(reader.status()) == "BLOB_MISSING" ? v1::VerifyProblem::KIND_FILE_MISSING
                                                          : v1::VerifyProblem::KIND_FILE_ALTERED,
              name, facts.stored_seq, std::string(reader.status().message()));
      continue;
    }
    Sha256 file_sha;
    const int64_t size = (*reader)->Size();
    bool read_ok = true;
    for (int64_t pos = 0; pos < size; pos += 1 << 20) {
      auto piece = (*reader)->ReadAt(pos, std::min<int64_t>(1 << 20, size - pos));
      if (!piece.ok()) {
        problem(v1::VerifyProblem::KIND_FILE_ALTERED, name, facts.stored_seq,
                std::string(piece.status().message()));
        read_ok = false;
        break;
      }
      file_sha.Update(*piece);
    }
    if (!read_ok) continue;
    std::string digest = file_sha.FinalHex();
    if (facts.stored_seq != 0 && digest != facts.stored_file_sha256) {
      problem(v1::VerifyProblem::KIND_FILE_ALTERED, name, facts.stored_seq,
              absl::StrCat("the stored file's SHA-256 is ", digest, ", the chain recorded ",
                           facts.stored_file_sha256));
    }
    if (check_audio && key.ok()) {
      // Not an access to audit: nothing leaves the service.
      absl::Status audio = Play(m.ref, 0, 0, nullptr,
                                [](v1::DownloadRecordingResponse&) { return true; },
                                v1::AUDIO_CONTAINER_RAW);
      if (!audio.ok()) {
        problem(v1::VerifyProblem::KIND_AUDIO_CORRUPT, name, facts.stored_seq,
                std::string(audio.message()));
      }
    }
  }
  for (const auto& [id, facts] : check.recordings) {
    if (facts.created_seq != 0 && facts.deleted_seq == 0 && !present.count(id)) {
      problem(v1::VerifyProblem::KIND_METADATA_MISSING, NameOf(RecordingRef{std::string(tenant), id}),
              facts.created_seq, "the chain has the recording, its metadata is gone");
    }
  }
  for (const auto& p : out.problems()) {
    absl::string_view kind = v1::VerifyProblem::Kind_Name(p.kind());
    absl::ConsumePrefix(&kind, "KIND_");
    options_.probe->VerifyProblem(absl::AsciiStrToLower(kind));
  }
  return out;
}

absl::StatusOr<v1::RewrapDataKeysResponse> RecordingManager::Rewrap(absl::string_view tenant) {
  DG_ASSIGN_OR_RETURN(Kek kek, keys_->Current(tenant));
  DG_ASSIGN_OR_RETURN(std::vector<RecordingMeta> metas, All(tenant));
  v1::RewrapDataKeysResponse out;
  out.set_key_id(kek.id);
  for (const RecordingMeta& m : metas) {
    if (m.key_id == kek.id) {
      out.set_unchanged(out.unchanged() + 1);
      continue;
    }
    DG_ASSIGN_OR_RETURN(SecretKey data_key, DataKey(m));
    DG_ASSIGN_OR_RETURN(std::string wrapped, WrapDataKey(kek.key, m.ref.tenant, m.ref.id, data_key));
    absl::Status st = store_->Rewrap(m.ref, m.key_id, kek.id, wrapped);
    if (!st.ok() && ReasonOf(st) != "STATE_CHANGED") return st;
    out.set_rewrapped(out.rewrapped() + (st.ok() ? 1 : 0));
  }
  return out;
}

// Retention.

absl::StatusOr<absl::Duration> RecordingManager::RetentionFor(absl::string_view tenant,
                                                              absl::string_view campaign) {
  if (!campaign.empty()) {
    const std::string id(campaign.substr(campaign.rfind('/') + 1));
    auto p = store_->GetRetention(tenant, id);
    if (p.ok()) return p->retention;
    if (!absl::IsNotFound(p.status())) return p.status();
  }
  auto d = store_->GetRetention(tenant, kRetentionDefault);
  if (d.ok()) return d->retention;
  if (!absl::IsNotFound(d.status())) return d.status();
  return options_.retention;
}

namespace {
absl::StatusOr<std::vector<std::string>> ParsePolicyName(absl::string_view field,
                                                         absl::string_view name) {
  return ParseName(field, name, "tenants/{tenant}/retentionPolicies/{policy}");
}
v1::RetentionPolicy PolicyProto(absl::string_view name, const RetentionMeta& m, bool inherited) {
  v1::RetentionPolicy out;
  out.set_name(std::string(name));
  *out.mutable_retention() =
      TimeUtil::SecondsToDuration(absl::ToInt64Seconds(m.retention));
  if (!inherited && m.update_time != absl::InfinitePast()) {
    *out.mutable_update_time() = ToTimestamp(m.update_time);
  }
  out.set_updated_by(m.updated_by);
  out.set_inherited(inherited);
  return out;
}
}  // namespace

absl::StatusOr<v1::RetentionPolicy> RecordingManager::SetRetention(const v1::RetentionPolicy& in,
                                                                   const Actor& actor) {
  DG_ASSIGN_OR_RETURN(auto ids, ParsePolicyName("policy.name", in.name()));
  if (!in.has_retention()) {
    return InvalidField("policy.retention", "FIELD_REQUIRED", "is required");
  }
  const auto& d = in.retention();
  const absl::Duration retention = absl::Seconds(d.seconds());
  if (d.nanos() != 0 || retention < options_.min_retention || retention > options_.max_retention) {
    return InvalidField("policy.retention", "INVALID_RETENTION",
                        absl::StrCat("whole seconds from ", absl::FormatDuration(options_.min_retention),
                                     " to ", absl::FormatDuration(options_.max_retention)));
  }
  RetentionMeta m;
  m.scope = ids[1];
  m.retention = retention;
  m.update_time = clock_.Now();
  m.updated_by = actor.credential;
  v1::RetentionPolicyChanged ev;
  *ev.mutable_policy() = PolicyProto(in.name(), m, false);
  DG_RETURN_IF_ERROR(store_->PutRetention(ids[0], m, {Event(ids[0], in.name(), ev)}));
  return ev.policy();
}

absl::StatusOr<v1::RetentionPolicy> RecordingManager::GetRetention(absl::string_view name) {
  DG_ASSIGN_OR_RETURN(auto ids, ParsePolicyName("name", name));
  auto p = store_->GetRetention(ids[0], ids[1]);
  if (p.ok()) return PolicyProto(name, *p, false);
  if (!absl::IsNotFound(p.status())) return p.status();
  // Never set: what applies in its place (the default policy, then the flag).
  RetentionMeta inherited;
  inherited.retention = options_.retention;
  if (ids[1] != kRetentionDefault) {
    DG_ASSIGN_OR_RETURN(inherited.retention, RetentionFor(ids[0], ""));
  }
  return PolicyProto(name, inherited, true);
}

// Legal holds.

absl::StatusOr<v1::LegalHold> RecordingManager::PlaceHold(absl::string_view tenant,
                                                          const v1::LegalHold& in,
                                                          absl::string_view request_id,
                                                          const Actor& actor,
                                                          const CreateOptions& create) {
  DG_RETURN_IF_ERROR(ValidateRequestId(request_id));
  if (!create.id.empty()) DG_RETURN_IF_ERROR(ValidateResourceId("hold.name", create.id));
  HoldMeta h;
  h.tenant = std::string(tenant);
  h.scope = ScopeName(in.scope());
  if (h.scope.empty()) return InvalidField("hold.scope", "FIELD_REQUIRED", "is required");
  if (in.target().empty()) return InvalidField("hold.target", "FIELD_REQUIRED", "is required");
  switch (in.scope()) {
    case v1::HOLD_SCOPE_RECORDING: {
      DG_RETURN_IF_ERROR(CheckReference("hold.target", in.target(), tenant,
                                        "tenants/{tenant}/recordings/{recording}"));
      DG_ASSIGN_OR_RETURN(RecordingRef ref, ParseRecordingName("hold.target", in.target()));
      DG_RETURN_IF_ERROR(store_->Get(ref).status());
      h.target = ref.id;
      break;
    }
    case v1::HOLD_SCOPE_CALL:
      DG_RETURN_IF_ERROR(CheckCallId("hold.target", in.target(), true));
      h.target = in.target();
      break;
    case v1::HOLD_SCOPE_CONTACT:
      DG_RETURN_IF_ERROR(CheckReference("hold.target", in.target(), tenant,
                                        "tenants/{tenant}/contactLists/{list}/contacts/{contact}"));
      h.target = in.target();
      break;
    default:
      DG_RETURN_IF_ERROR(CheckReference("hold.target", in.target(), tenant,
                                        "tenants/{tenant}/campaigns/{campaign}"));
      h.target = in.target();
      break;
  }
  DG_RETURN_IF_ERROR(CheckReason("hold.reason", in.reason()));
  h.id = create.id.empty() ? absl::StrCat("h", RandomHex(12)) : create.id;
  h.reason = in.reason();
  h.placed_by = actor.credential;
  h.create_time = clock_.Now();
  v1::LegalHold asked;
  asked.set_scope(in.scope());
  asked.set_target(in.target());
  asked.set_reason(in.reason());
  std::string fingerprint =
      Sha256Hex(absl::StrCat(actor.credential, "\n", asked.SerializeAsString()));
  ChainDraft held{kChainHeld, h.scope == kHoldRecording ? h.target : std::string(),
                  actor.credential,
                  absl::StrCat("hold=", h.id, " scope=", h.scope, " target=", DetailText(h.target),
                               " reason=", DetailText(h.reason), " request=", actor.request_id),
                  h.create_time};
  v1::LegalHoldPlaced ev;
  *ev.mutable_hold() = ToProto(h);
  absl::StatusOr<std::string> placed = store_->PlaceHold(
      h, request_id, fingerprint, held, {Event(tenant, HoldName(tenant, h.id), ev)});
  if (!placed.ok() && !create.id.empty() && ReasonOf(placed.status()) == "HOLD_EXISTS") {
    // The id asked for is there: the same hold (placed before) is the answer.
    auto there = store_->GetHold(tenant, h.id);
    if (there.ok() && there->scope == h.scope && there->target == h.target) return ToProto(*there);
    return placed.status();
  }
  DG_ASSIGN_OR_RETURN(std::string id, std::move(placed));
  if (id == h.id) return ev.hold();
  DG_ASSIGN_OR_RETURN(HoldMeta first, store_->GetHold(tenant, id));
  return ToProto(first);
}

absl::StatusOr<v1::LegalHold> RecordingManager::ReleaseHold(absl::string_view name,
                                                            absl::string_view reason,
                                                            const Actor& actor) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", name, "tenants/{tenant}/legalHolds/{hold}"));
  DG_RETURN_IF_ERROR(CheckReason("reason", reason));
  DG_ASSIGN_OR_RETURN(HoldMeta h, store_->GetHold(ids[0], ids[1]));
  if (h.released) return ToProto(h);  // released before: as it is
  const absl::Time now = clock_.Now();
  HoldMeta after = h;
  after.released = true;
  after.release_time = now;
  after.released_by = actor.credential;
  after.release_reason = std::string(reason);
  ChainDraft released{kChainReleased, h.scope == kHoldRecording ? h.target : std::string(),
                      actor.credential,
                      absl::StrCat("hold=", h.id, " reason=", DetailText(reason),
                                   " request=", actor.request_id),
                      now};
  v1::LegalHoldReleased ev;
  *ev.mutable_hold() = ToProto(after);
  DG_ASSIGN_OR_RETURN(bool changed,
                      store_->ReleaseHold(ids[0], ids[1], now, actor.credential, reason, released,
                                          {Event(ids[0], name, ev)}));
  if (changed) return ev.hold();
  DG_ASSIGN_OR_RETURN(HoldMeta current, store_->GetHold(ids[0], ids[1]));
  return ToProto(current);
}

absl::StatusOr<v1::ListHoldsResponse> RecordingManager::ListHolds(
    absl::string_view tenant, const v1::ListHoldsRequest& req) {
  DG_ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  DG_ASSIGN_OR_RETURN(std::string after, DecodePageToken(req.page_token()));
  v1::ListHoldsResponse out;
  int scanned = 0;
  const int scan_limit = std::max(10 * page_size, 1000);
  while (true) {
    DG_ASSIGN_OR_RETURN(auto page, store_->ListHolds(tenant, after, page_size));
    for (const auto& [key, h] : page) {
      after = key;
      ++scanned;
      const v1::HoldState state = h.released ? v1::HOLD_STATE_RELEASED : v1::HOLD_STATE_ACTIVE;
      if (req.state() != v1::HOLD_STATE_UNSPECIFIED && req.state() != state) continue;
      *out.add_holds() = ToProto(h);
      if (out.holds_size() == page_size) break;
    }
    const bool at_end = static_cast<int>(page.size()) < page_size &&
                        (page.empty() || after == page.back().first);
    if (out.holds_size() == page_size || scanned >= scan_limit) {
      if (!at_end) out.set_next_page_token(EncodePageToken(after));
      return out;
    }
    if (at_end) return out;
  }
}

// Deletion: retention purge and erasure.

absl::StatusOr<RecordingStore::DeleteVerdict> RecordingManager::Delete(const RecordingMeta& m,
                                                                       DeleteCause cause,
                                                                       const Actor& actor) {
  const absl::Time now = clock_.Now();
  const char* cause_name = cause == DeleteCause::kRetention ? "retention" : "erasure";
  ChainDraft deleted{kChainDeleted, m.ref.id, actor.credential,
                     absl::StrCat("cause=", cause_name, " sha256=", m.sha256,
                                  " file_sha256=", m.file_sha256, " bytes=", m.audio_bytes,
                                  " request=", actor.request_id),
                     now};
  v1::RecordingDeleted ev;
  *ev.mutable_recording() = ToProto(m);
  ev.set_cause(cause_name);
  ev.set_actor(actor.credential);
  ev.set_request_id(actor.request_id);
  DG_ASSIGN_OR_RETURN(RecordingStore::DeleteVerdict v,
                      store_->BeginDelete(m.ref, cause, now, deleted, {Event(m.ref, ev)}));
  if (v.kind == RecordingStore::DeleteVerdict::Kind::kDeleted) {
    options_.probe->Deleted(cause);
    // Decided and on record: a failure from here on is finished by the
    // next purge run (Deleting).
    (void)FinishDelete(m.ref);
  }
  return v;
}

absl::Status RecordingManager::FinishDelete(const RecordingRef& ref) {
  DG_RETURN_IF_ERROR(blobs_->Delete(ref));
  return store_->FinishDelete(ref);
}

absl::StatusOr<v1::EraseContactRecordingsResponse> RecordingManager::EraseContact(
    absl::string_view tenant, absl::string_view contact, absl::string_view reason,
    const Actor& actor) {
  if (contact.empty()) return InvalidField("contact", "FIELD_REQUIRED", "is required");
  DG_RETURN_IF_ERROR(CheckReference("contact", std::string(contact), tenant,
                                    "tenants/{tenant}/contactLists/{list}/contacts/{contact}"));
  DG_RETURN_IF_ERROR(CheckReason("reason", reason));
  DG_ASSIGN_OR_RETURN(std::vector<std::string> ids, store_->OfContact(tenant, contact));
  DG_ASSIGN_OR_RETURN(std::vector<RecordingMeta> metas, store_->GetMany(tenant, ids));
  v1::EraseContactRecordingsResponse out;
  using K = RecordingStore::DeleteVerdict::Kind;
  for (const RecordingMeta& m : metas) {
    if (m.contact != contact) continue;
    DG_ASSIGN_OR_RETURN(RecordingStore::DeleteVerdict v, Delete(m, DeleteCause::kErasure, actor));
    if (v.kind == K::kDeleted) {
      out.add_erased(NameOf(m.ref));
    } else if (v.kind == K::kHeld || v.kind == K::kUploading) {
      v1::KeptRecording* kept = out.add_kept();
      kept->set_recording(NameOf(m.ref));
      kept->set_reason(v.kind == K::kHeld ? "LEGAL_HOLD" : "UPLOAD_OPEN");
      for (const auto& h : v.holds) kept->add_holds(HoldName(tenant, h));
    }
  }
  ChainDraft request{kChainErasure, "", actor.credential,
                     absl::StrCat("contact=", DetailText(contact), " erased=", out.erased_size(),
                                  " kept=", out.kept_size(), " reason=", DetailText(reason),
                                  " request=", actor.request_id),
                     clock_.Now()};
  v1::ContactRecordingsErased ev;
  ev.set_contact(std::string(contact));
  ev.set_actor(actor.credential);
  ev.set_reason(std::string(reason));
  *ev.mutable_result() = out;
  ev.set_request_id(actor.request_id);
  DG_RETURN_IF_ERROR(store_->AppendChain(tenant, request, {Event(tenant, contact, ev)}));
  return out;
}

absl::StatusOr<PurgeReport> RecordingManager::Purge(absl::string_view tenant) {
  PurgeReport report;
  const Actor system{kSystem, ""};
  using K = RecordingStore::DeleteVerdict::Kind;
  // Deletions begun by a run that died: their audio, then their metadata.
  DG_ASSIGN_OR_RETURN(std::vector<std::string> begun, store_->Deleting(tenant, options_.purge_batch));
  for (const auto& id : begun) {
    DG_RETURN_IF_ERROR(FinishDelete(RecordingRef{std::string(tenant), id}));
    ++report.finished;
  }
  // Each step takes the expired recordings the index has; everything it
  // looks at leaves the range (deleted, postponed, or gone), so it ends.
  for (int step = 0; step < 100; ++step) {
    const absl::Time now = clock_.Now();
    DG_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        store_->Expired(tenant, now, options_.purge_batch));
    if (ids.empty()) break;
    DG_ASSIGN_OR_RETURN(std::vector<RecordingMeta> metas, store_->GetMany(tenant, ids));
    std::set<std::string> found;
    for (const RecordingMeta& m : metas) {
      found.insert(m.ref.id);
      DG_ASSIGN_OR_RETURN(RecordingStore::DeleteVerdict v,
                          Delete(m, DeleteCause::kRetention, system));
      switch (v.kind) {
        case K::kDeleted:
          ++report.deleted;
          break;
        case K::kHeld:
        case K::kUploading:
          ++report.kept;
          DG_RETURN_IF_ERROR(store_->PostponeExpiry(m.ref, now + options_.purge_recheck));
          break;
        case K::kNotDue:
          DG_RETURN_IF_ERROR(store_->PostponeExpiry(m.ref, m.expire_time));
          break;
        case K::kGone:
          break;
      }
    }
    for (const auto& id : ids) {
      if (found.count(id)) continue;
      // Gone, or its deletion begun by another replica (it reads as gone):
      // BeginDelete drops a dangling index entry and decides nothing.
      DG_RETURN_IF_ERROR(store_->BeginDelete(RecordingRef{std::string(tenant), id},
                                             DeleteCause::kRetention, now,
                                             ChainDraft{kChainDeleted, id, kSystem, "", now}, {})
                             .status());
    }
    if (static_cast<int>(ids.size()) < options_.purge_batch) break;
  }
  return report;
}

absl::StatusOr<PurgeReport> RecordingManager::PurgeAll() {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> tenants, store_->Tenants());
  PurgeReport all;
  absl::Status first;
  for (const auto& t : tenants) {
    auto r = Purge(t);
    if (!r.ok()) {
      if (first.ok()) first = r.status();
      continue;
    }
    all.deleted += r->deleted;
    all.kept += r->kept;
    all.finished += r->finished;
  }
  if (!first.ok()) return first;
  return all;
}

// Lost uploads.

void RecordingManager::Track(UploadSession* session) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_.insert(session);
  options_.probe->UploadsOpen(static_cast<int64_t>(sessions_.size()));
}

void RecordingManager::Untrack(UploadSession* session) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_.erase(session);
  options_.probe->UploadsOpen(static_cast<int64_t>(sessions_.size()));
}

absl::StatusOr<int64_t> RecordingManager::StorageInUse() {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> tenants, store_->Tenants());
  int64_t total = 0;
  UsageNow all;
  for (const auto& t : tenants) {
    DG_ASSIGN_OR_RETURN(int64_t used, store_->Usage(t));
    total += used;
    DG_ASSIGN_OR_RETURN(UsageNow u, store_->UsageTotals(t));
    all.recordings += u.recordings;
    all.stored_bytes += u.stored_bytes;
    all.active_holds += u.active_holds;
    all.held_past_retention += u.held_past_retention;
    all.all_time.audio_ms += u.all_time.audio_ms;
  }
  options_.probe->StorageBytes(total);
  options_.probe->UsageTotals(all);
  return total;
}

absl::StatusOr<v1::RecordingUsage> RecordingManager::Usage(
    absl::string_view tenant, const v1::GetRecordingUsageRequest& req) {
  const bool has_start = req.has_start_time(), has_end = req.has_end_time();
  auto bad = [](absl::string_view field, absl::string_view why) {
    return InvalidField(field, "USAGE_RANGE_INVALID", why);
  };
  if (has_start != has_end) {
    return bad(has_start ? "end_time" : "start_time",
               "set both start_time and end_time (whole UTC days), or neither");
  }
  UsageCounts counts;
  if (has_start) {
    const absl::Time start = FromTimestamp(req.start_time());
    const absl::Time end = FromTimestamp(req.end_time());
    const absl::CivilDay first = absl::ToCivilDay(start, absl::UTCTimeZone());
    const absl::CivilDay after = absl::ToCivilDay(end, absl::UTCTimeZone());
    if (absl::FromCivil(first, absl::UTCTimeZone()) != start) {
      return bad("start_time", "must be a UTC midnight (the counters are per UTC day)");
    }
    if (absl::FromCivil(after, absl::UTCTimeZone()) != end) {
      return bad("end_time", "must be a UTC midnight (the counters are per UTC day)");
    }
    if (after <= first) return bad("end_time", "must be after start_time");
    if (after - first > options_.max_usage_days) {
      return bad("end_time", absl::StrCat("the range is at most ", options_.max_usage_days,
                                          " days"));
    }
    DG_ASSIGN_OR_RETURN(counts, store_->UsageOfDays(tenant, first, after - 1));
  }
  DG_ASSIGN_OR_RETURN(UsageNow now, store_->UsageTotals(tenant));
  if (!has_start) counts = now.all_time;
  v1::RecordingUsage out;
  out.set_tenant(absl::StrCat("tenants/", tenant));
  if (has_start) {
    *out.mutable_start_time() = req.start_time();
    *out.mutable_end_time() = req.end_time();
  }
  out.set_recordings_started(counts.started);
  out.set_recordings_stored(counts.stored);
  *out.mutable_recorded_audio() = TimeUtil::MillisecondsToDuration(counts.audio_ms);
  out.set_ingested_bytes(counts.ingested_bytes);
  out.set_recordings_purged(counts.purged);
  out.set_recordings_erased(counts.erased);
  out.set_recordings(now.recordings);
  out.set_stored_bytes(now.stored_bytes);
  out.set_active_legal_holds(now.active_holds);
  out.set_held_past_retention(now.held_past_retention);
  return out;
}

void RecordingManager::RenewLeases() {
  std::vector<RecordingRef> refs;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (UploadSession* s : sessions_) refs.push_back(s->ref());
  }
  const absl::Time now = clock_.Now();
  // Best effort: a renewal that fails is retried at the next beat, well
  // within the lease.
  for (const auto& ref : refs) (void)store_->RenewLease(ref, now);
}

absl::StatusOr<bool> RecordingManager::Salvage(const RecordingRef& ref) {
  const absl::Time now = clock_.Now();
  DG_ASSIGN_OR_RETURN(bool claimed, store_->ClaimStaleUpload(ref, now - options_.upload_lease, now));
  if (!claimed) return false;
  DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
  DG_ASSIGN_OR_RETURN(std::vector<PartialBlob> partials, blobs_->ListPartials(&ref));
  // The lost stream's file is the oldest (a dead salvage's own is newer).
  const PartialBlob* source = nullptr;
  for (const auto& p : partials) {
    if (source == nullptr || p.modified < source->modified) source = &p;
  }
  UploadOutcome o;
  o.incomplete_reason = "REPLICA_LOST";
  o.bytes_per_second = BytesPerSecond(m.audio_format);
  auto key = DataKey(m);
  std::unique_ptr<BlobWriter> writer;
  Sha256 audio_sha, file_sha;
  int64_t segments = 0, file_bytes = 0, last_plain = 0;
  // What the tenant's usage counter holds for this upload: the stored file
  // of a resumed upload (its audio_bytes/stored_bytes are the previous
  // upload's until this one ends; both 0 otherwise) plus the chunks since.
  const int64_t counted = m.stored_bytes + m.accepted_bytes - m.audio_bytes;
  // From the lost stream's temporary file; without one, from the committed
  // file (a resumed upload that died after replacing it, before its
  // metadata was written). Whatever it holds is replaced at the end.
  absl::StatusOr<std::unique_ptr<BlobReader>> reader =
      source != nullptr ? blobs_->OpenPartial(*source) : blobs_->Open(ref);
  if (key.ok()) {
    if (reader.ok()) {
      const int64_t size = (*reader)->Size();
      auto header = (*reader)->ReadAt(0, kFileHeaderBytes);
      if (header.ok() && CheckFileHeader(*header).ok()) {
        // Whole sealed segments that authenticate, in order; the last of
        // them is sealed again as the last one.
        DG_ASSIGN_OR_RETURN(writer, blobs_->Create(ref));
        auto append = [&](absl::string_view bytes) -> absl::Status {
          DG_RETURN_IF_ERROR(writer->Append(bytes));
          file_sha.Update(bytes);
          file_bytes += static_cast<int64_t>(bytes.size());
          return absl::OkStatus();
        };
        DG_RETURN_IF_ERROR(append(FileHeader()));
        std::string prev_sealed, prev_plain;
        // Segments in order while they authenticate as inner ones; one that
        // authenticates as the last (a committed file's tail) ends it.
        for (int64_t i = 0;; ++i) {
          const int64_t at = int64_t{kFileHeaderBytes} + i * int64_t{kSealedSegment};
          if (at + int64_t{kSegmentOverhead} > size) break;
          auto sealed = (*reader)->ReadAt(at, std::min<int64_t>(kSealedSegment, size - at));
          if (!sealed.ok()) break;
          bool last = false;
          auto plain = OpenSegment(*key, ref.tenant, ref.id, static_cast<uint64_t>(i), false, *sealed);
          if (!plain.ok()) {
            plain = OpenSegment(*key, ref.tenant, ref.id, static_cast<uint64_t>(i), true, *sealed);
            if (!plain.ok()) break;
            last = true;
          }
          if (i > 0) DG_RETURN_IF_ERROR(append(prev_sealed));
          audio_sha.Update(*plain);
          prev_sealed = *std::move(sealed);
          prev_plain = *std::move(plain);
          last_plain = static_cast<int64_t>(prev_plain.size());
          ++segments;
          if (last) break;
        }
        if (segments > 0) {
          DG_ASSIGN_OR_RETURN(std::string last,
                              SealSegment(*key, ref.tenant, ref.id,
                                          static_cast<uint64_t>(segments - 1), true, prev_plain));
          DG_RETURN_IF_ERROR(append(last));
          DG_RETURN_IF_ERROR(writer->Replace());
        } else {
          writer->Abort();
        }
      }
    }
  }
  if (segments > 0) {
    o.audio_bytes = (segments - 1) * int64_t{kSegmentPlaintext} +
                    last_plain;
    o.stored_bytes = file_bytes;
    o.segments = segments;
    o.sha256 = audio_sha.FinalHex();
    o.file_sha256 = file_sha.FinalHex();
    o.usage_delta = file_bytes - counted;
  } else {
    // Nothing authenticates: no audio is kept (a committed file goes too).
    if (key.ok()) DG_RETURN_IF_ERROR(blobs_->Delete(ref));
    o.stored = false;
    o.usage_delta = -counted;
  }
  o.lost_bytes = m.accepted_bytes - o.audio_bytes;
  ChainDraft entry{kChainStored, ref.id, kSystem,
                   absl::StrCat("sha256=", o.sha256, " file_sha256=", o.file_sha256,
                                " bytes=", o.audio_bytes, " segments=", o.segments,
                                " incomplete=", o.incomplete_reason, " lost=", o.lost_bytes),
                   now};
  RecordingMeta after = m;
  after.upload = o.stored ? kUploadDone : kUploadFailed;
  after.audio_bytes = o.audio_bytes;
  after.stored_bytes = o.stored_bytes;
  after.segments = o.segments;
  after.sha256 = o.sha256;
  after.state = kStateIncomplete;
  after.incomplete_reason = o.incomplete_reason;
  after.lost_bytes = o.lost_bytes;
  v1::RecordingStored ev;
  *ev.mutable_recording() = ToProto(after);
  absl::Status st = store_->FinishUpload(ref, o, now, o.stored ? &entry : nullptr,
                                         {Event(ref, ev)}, kUploadSalvaging);
  if (!st.ok()) {
    if (o.stored) (void)blobs_->Delete(ref);
    return st;
  }
  for (const auto& p : partials) DG_RETURN_IF_ERROR(blobs_->DeletePartial(p));
  return true;
}

absl::StatusOr<SweepReport> RecordingManager::SweepUploads() {
  SweepReport report;
  const absl::Time cutoff = clock_.Now() - options_.upload_lease;
  DG_ASSIGN_OR_RETURN(std::vector<std::string> tenants, store_->Tenants());
  // One upload that cannot be salvaged now (it stays claimed and is taken
  // up again after a lease) does not hold the others back.
  absl::Status first;
  for (const auto& t : tenants) {
    auto ids = store_->StaleUploads(t, cutoff, 100);
    if (!ids.ok()) {
      if (first.ok()) first = ids.status();
      continue;
    }
    for (const auto& id : *ids) {
      auto salvaged = Salvage(RecordingRef{t, id});
      if (!salvaged.ok()) {
        if (first.ok()) first = salvaged.status();
        continue;
      }
      if (*salvaged) {
        ++report.salvaged;
        options_.probe->UploadSalvaged();
      }
    }
  }
  DG_RETURN_IF_ERROR(first);
  return report;
}

absl::StatusOr<int64_t> RecordingManager::RemoveStalePartials() {
  int64_t removed = 0;
  const absl::Time cutoff = clock_.Now() - options_.upload_lease;
  // Temporary files nobody writes: of no upload that is open (or being
  // salvaged), and untouched for a lease.
  DG_ASSIGN_OR_RETURN(std::vector<PartialBlob> partials, blobs_->ListPartials(nullptr));
  for (const auto& p : partials) {
    if (p.modified >= cutoff) continue;
    auto m = store_->Get(p.ref);
    if (m.ok() && (m->upload == kUploadOpen || m->upload == kUploadSalvaging)) continue;
    if (!m.ok() && !absl::IsNotFound(m.status())) return m.status();
    DG_RETURN_IF_ERROR(blobs_->DeletePartial(p));
    ++removed;
  }
  return removed;
}

// UploadSession.

UploadSession::UploadSession(RecordingManager& manager, RecordingRef ref, SecretKey key,
                             int64_t max_usage, std::unique_ptr<BlobWriter> writer, Actor actor,
                             int audio_format, bool wav_header)
    : manager_(manager),
      ref_(std::move(ref)),
      key_(std::move(key)),
      max_usage_(max_usage),
      writer_(std::move(writer)),
      actor_(std::move(actor)),
      audio_format_(audio_format),
      wav_header_(wav_header) {}

UploadSession::~UploadSession() {
  if (!finished_) {
    (void)Finish(WithReason(absl::AbortedError("the upload was abandoned"), "STREAM_BROKEN"));
  }
}

absl::Status UploadSession::Write(absl::string_view bytes) {
  if (!write_error_.ok()) return write_error_;
  write_error_ = writer_->Append(bytes);
  if (!write_error_.ok()) return write_error_;
  file_sha_.Update(bytes);
  file_bytes_ += static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::Status UploadSession::Restore(const RecordingMeta& m) {
  auto tampered = [](absl::string_view why) {
    return WithReason(
        absl::DataLossError(absl::StrCat("the stored recording cannot be resumed: ", why)),
        "AUDIO_TAMPERED");
  };
  DG_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, manager_.blobs_->Open(ref_));
  DG_ASSIGN_OR_RETURN(SegmentLayout layout, LayoutOfFile(reader->Size()));
  if (layout.audio_bytes != m.audio_bytes || reader->Size() != m.stored_bytes) {
    return tampered("its size differs from its record");
  }
  DG_ASSIGN_OR_RETURN(std::string header, reader->ReadAt(0, kFileHeaderBytes));
  DG_RETURN_IF_ERROR(CheckFileHeader(header));
  for (int64_t i = 0; i < layout.segments; ++i) {
    const bool last = i + 1 == layout.segments;
    DG_ASSIGN_OR_RETURN(std::string sealed, reader->ReadAt(layout.Offset(i), layout.SealedLength(i)));
    DG_ASSIGN_OR_RETURN(std::string plain, OpenSegment(key_, ref_.tenant, ref_.id,
                                                       static_cast<uint64_t>(i), last, sealed));
    audio_sha_.Update(plain);
    if (last) {
      buffer_ = std::move(plain);  // sealed again, as an inner or the last segment
    } else {
      DG_RETURN_IF_ERROR(Write(sealed));
      ++segments_;
    }
  }
  audio_bytes_ = base_audio_ = m.audio_bytes;
  base_stored_ = m.stored_bytes;
  base_ = m;
  resumed_ = true;
  return absl::OkStatus();
}

void UploadSession::Discard() {
  finished_ = true;
  writer_->Abort();
}

absl::Status UploadSession::SealNext(absl::string_view plaintext, bool last) {
  DG_RETURN_IF_ERROR(SealSegmentInto(key_, ref_.tenant, ref_.id, static_cast<uint64_t>(segments_),
                                     last, plaintext, &sealed_));
  DG_RETURN_IF_ERROR(Write(sealed_));
  ++segments_;
  return absl::OkStatus();
}

absl::Status UploadSession::Feed(int64_t sequence, absl::string_view audio, absl::Time arrived) {
  if (arrived == absl::InfinitePast()) arrived = manager_.clock_.Now();
  ChunkResult result = ChunkResult::kRefused;
  const int64_t before = audio_bytes_;
  absl::Status st = Take(sequence, audio, &result);
  manager_.options_.probe->Chunk(result, audio_bytes_ - before, manager_.clock_.Now() - arrived);
  return st;
}

absl::Status UploadSession::Take(int64_t sequence, absl::string_view audio, ChunkResult* result) {
  if (sequence < 1) return InvalidField("sequence", "INVALID_SEQUENCE", "starts at 1");
  if (static_cast<int64_t>(audio.size()) > manager_.options_.max_chunk_bytes) {
    return InvalidField("audio", "CHUNK_TOO_LARGE",
                        absl::StrCat("chunks are at most ", manager_.options_.max_chunk_bytes,
                                     " bytes"));
  }
  DG_RETURN_IF_ERROR(write_error_);
  if (wav_header_ && sequence == 1) {
    // The container's header: checked against the recording's format, not
    // stored (nor counted). A repeat of chunk 1 is a duplicate as any other.
    DG_ASSIGN_OR_RETURN(size_t header, ParseWavHeader("audio", audio, audio_format_));
    audio.remove_prefix(header);
    wav_header_ = false;
  }
  DG_ASSIGN_OR_RETURN(ChunkVerdict v, manager_.store_->Chunk(ref_, sequence,
                                                             static_cast<int64_t>(audio.size()),
                                                             max_usage_, manager_.clock_.Now()));
  using K = ChunkVerdict::Kind;
  switch (v.kind) {
    case K::kStored:
      break;
    case K::kDiscarded:
      ++discarded_;
      *result = ChunkResult::kDiscarded;
      return absl::OkStatus();
    case K::kDuplicate:
      ++duplicates_;
      *result = ChunkResult::kDuplicate;
      return absl::OkStatus();
    case K::kOutOfOrder:
      return WithMetadata(
          FailedPrecondition("OUT_OF_ORDER_CHUNK",
                             absl::StrCat("chunk ", sequence, " came before chunk ", v.expected)),
          "expected_sequence", std::to_string(v.expected));
    case K::kStopped:
      return FailedPrecondition("RECORDING_STOPPED", "the recording has stopped");
    case K::kQuota:
      return QuotaExceeded("max_recording_storage_bytes",
                           "the tenant's recording storage quota is used up");
    case K::kClosed:
      return FailedPrecondition("UPLOAD_CLOSED", "the recording's upload was closed");
    case K::kGone:
      return NotFound("RECORDING_NOT_FOUND", "no such recording");
  }
  ++stored_;
  *result = ChunkResult::kStored;
  audio_sha_.Update(audio);
  audio_bytes_ += static_cast<int64_t>(audio.size());
  // Keep the last (possibly full) segment back: only Finish knows it is the
  // last. Whole segments are sealed straight from the chunk; only what
  // completes the buffered segment, or is left over, is copied.
  while (!audio.empty()) {
    if (buffer_.size() == kSegmentPlaintext) {  // more follows: not the last
      DG_RETURN_IF_ERROR(SealNext(buffer_, false));
      buffer_.clear();
    } else if (buffer_.empty() && audio.size() > kSegmentPlaintext) {
      DG_RETURN_IF_ERROR(SealNext(audio.substr(0, kSegmentPlaintext), false));
      audio.remove_prefix(kSegmentPlaintext);
    } else {
      const size_t take = std::min(kSegmentPlaintext - buffer_.size(), audio.size());
      if (buffer_.capacity() < kSegmentPlaintext) buffer_.reserve(kSegmentPlaintext);
      buffer_.append(audio.data(), take);
      audio.remove_prefix(take);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::UploadAudioResponse> UploadSession::Finish(const absl::Status& ended) {
  finished_ = true;
  manager_.Untrack(this);
  UploadOutcome o;
  o.bytes_per_second = BytesPerSecond(audio_format_);
  if (!ended.ok() && ReasonOf(ended) != "RECORDING_STOPPED") {
    o.incomplete_reason = absl::IsCancelled(ended) ? "STREAM_BROKEN" : ReasonOf(ended);
    if (o.incomplete_reason.empty()) o.incomplete_reason = "UPLOAD_FAILED";
  }
  // After a failed write nothing more is written (the rest is thrown away).
  absl::Status stored = write_error_;
  if (stored.ok()) stored = SealNext(buffer_, true);
  if (stored.ok()) stored = resumed_ ? writer_->Replace() : writer_->Commit();
  buffer_.clear();
  // The usage counter holds the previous file (resumed) and every chunk
  // of this stream; it is set to this file's size.
  const int64_t counted = base_stored_ + audio_bytes_ - base_audio_;
  bool keep_previous = false;  // a resumed upload that could not be stored
  if (stored.ok()) {
    o.audio_bytes = audio_bytes_;
    o.stored_bytes = file_bytes_;
    o.segments = segments_;
    o.sha256 = audio_sha_.FinalHex();
    o.file_sha256 = file_sha_.FinalHex();
    o.usage_delta = file_bytes_ - counted;
  } else {
    writer_->Abort();
    o.incomplete_reason = ReasonOf(stored).empty() ? "STORAGE_UNAVAILABLE" : ReasonOf(stored);
    if (resumed_) {
      // The previous file is untouched: the recording keeps it, and what
      // this stream brought is lost (and said so).
      keep_previous = true;
      o.audio_bytes = base_.audio_bytes;
      o.stored_bytes = base_.stored_bytes;
      o.segments = base_.segments;
      o.sha256 = base_.sha256;
      o.file_sha256 = base_.file_sha256;
      o.lost_bytes = audio_bytes_ - base_audio_;
      o.usage_delta = base_stored_ - counted;
    } else {
      o.stored = false;
      o.usage_delta = -audio_bytes_;
    }
  }
  const absl::Time now = manager_.clock_.Now();
  ChainDraft entry{kChainStored, ref_.id, actor_.credential,
                   absl::StrCat("sha256=", o.sha256, " file_sha256=", o.file_sha256,
                                " bytes=", o.audio_bytes, " segments=", o.segments,
                                o.incomplete_reason.empty() ? "" : " incomplete=",
                                o.incomplete_reason),
                   now};
  Events events;
  auto before = manager_.store_->Get(ref_);
  if (before.ok()) {
    RecordingMeta m = *before;
    m.upload = o.stored ? kUploadDone : kUploadFailed;
    m.audio_bytes = o.audio_bytes;
    m.stored_bytes = o.stored_bytes;
    m.segments = o.segments;
    m.sha256 = o.sha256;
    if (!o.incomplete_reason.empty()) {
      m.state = kStateIncomplete;
      m.incomplete_reason = o.incomplete_reason;
    }
    v1::RecordingStored ev;
    *ev.mutable_recording() = RecordingManager::ToProto(m);
    events.push_back(manager_.Event(ref_, ev));
  }
  absl::Status st = manager_.store_->FinishUpload(
      ref_, o, now, o.stored && !keep_previous ? &entry : nullptr, events);
  if (st.ok()) {
    manager_.options_.probe->UploadEnded(!o.stored                        ? UploadEnd::kNotStored
                                         : o.incomplete_reason.empty() ? UploadEnd::kComplete
                                                                       : UploadEnd::kIncomplete);
  }
  if (!st.ok()) {
    // The metadata could not record the file: take the file away again, so
    // the two never disagree (the upload stays open in the metadata). A
    // resumed upload's file replaced the previous one: it stays, and the
    // sweep takes the upload over from it after the lease.
    if (o.stored && !resumed_) (void)manager_.blobs_->Delete(ref_);
    return st;
  }
  if (!o.stored || keep_previous) return stored;
  DG_ASSIGN_OR_RETURN(RecordingMeta after, manager_.store_->Get(ref_));
  v1::UploadAudioResponse resp;
  *resp.mutable_recording() = RecordingManager::ToProto(after);
  resp.set_chunks_stored(stored_);
  resp.set_chunks_discarded(discarded_);
  resp.set_duplicates_ignored(duplicates_);
  return resp;
}

}  // namespace dialgrid::recording
