#include "services/recording/application/recording_manager.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/pages.h"
#include "services/common/core/random.h"
#include "services/common/core/request_ids.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/common/kafka/event_publisher.h"

namespace dialgrid::recording {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kTries = 5;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

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

}  // namespace

RecordingManager::RecordingManager(std::shared_ptr<RecordingStore> store,
                                   std::shared_ptr<BlobStore> blobs,
                                   std::shared_ptr<KeyRing> keys, const Clock& clock,
                                   RecordingOptions options)
    : store_(std::move(store)),
      blobs_(std::move(blobs)),
      keys_(std::move(keys)),
      clock_(clock),
      options_(std::move(options)) {}

std::string RecordingManager::NameOf(const RecordingRef& ref) {
  return absl::StrCat("tenants/", ref.tenant, "/recordings/", ref.id);
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
  if (m.create_time != absl::InfinitePast()) *r.mutable_create_time() = Ts(m.create_time);
  if (m.stop_time != absl::InfinitePast()) *r.mutable_stop_time() = Ts(m.stop_time);
  int64_t audio = m.upload == kUploadDone ? m.audio_bytes : m.accepted_bytes;
  *r.mutable_duration() = TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(AudioDuration(m.audio_format, audio)));
  r.set_audio_bytes(audio);
  r.set_stored_bytes(m.stored_bytes);
  r.set_segments(m.segments);
  r.set_sha256(m.sha256);
  for (const auto& g : m.gaps) {
    v1::Gap* out = r.add_gaps();
    if (g.start != absl::InfinitePast()) *out->mutable_start_time() = Ts(g.start);
    if (g.end != absl::InfiniteFuture()) *out->mutable_end_time() = Ts(g.end);
    out->set_audio_offset(g.audio_offset);
    out->set_paused_by(g.paused_by);
    out->set_reason(g.reason);
    out->set_discarded_bytes(g.discarded_bytes);
  }
  r.set_last_sequence(m.last_sequence);
  r.set_incomplete_reason(m.incomplete_reason);
  if (m.expire_time != absl::InfiniteFuture()) *r.mutable_expire_time() = Ts(m.expire_time);
  r.set_legal_hold(m.legal_hold);
  r.set_key_id(m.key_id);
  r.set_audio_stored(m.upload == kUploadDone);
  return r;
}

event::v1::Envelope RecordingManager::Event(const RecordingRef& ref,
                                            const google::protobuf::Message& payload) {
  return kafka::MakeEnvelope(ref.tenant, NameOf(ref), payload, options_.producer, clock_);
}

absl::StatusOr<SecretKey> RecordingManager::DataKey(const RecordingMeta& meta) {
  DG_ASSIGN_OR_RETURN(SecretKey kek, keys_->Get(meta.ref.tenant, meta.key_id));
  return UnwrapDataKey(kek, meta.ref.tenant, meta.ref.id, meta.wrapped_key);
}

absl::StatusOr<v1::Recording> RecordingManager::Start(absl::string_view tenant,
                                                      const v1::Recording& in,
                                                      absl::string_view request_id,
                                                      const Actor& actor) {
  DG_RETURN_IF_ERROR(ValidateRequestId(request_id));
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
  m.ref = RecordingRef{std::string(tenant), absl::StrCat("r", RandomHex(12))};
  m.call_id = in.call_id();
  m.campaign = in.campaign();
  m.agent = in.agent();
  m.contact = in.contact();
  m.audio_format = in.audio_format();
  m.announcement_played = in.announcement_played();
  m.create_time = clock_.Now();
  m.expire_time = m.create_time + options_.retention;
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
                                  " key=", m.key_id, " request=", actor.request_id),
                     m.create_time};
  v1::RecordingStarted ev;
  *ev.mutable_recording() = ToProto(m);
  DG_ASSIGN_OR_RETURN(std::string id, store_->Create(m, request_id, fingerprint, created,
                                                     {Event(m.ref, ev)}));
  if (id == m.ref.id) return ToProto(m);
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
    const RecordingRef& ref, int64_t max_usage, const Actor& actor) {
  DG_ASSIGN_OR_RETURN(RecordingMeta m, store_->Get(ref));
  DG_ASSIGN_OR_RETURN(SecretKey key, DataKey(m));
  DG_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, blobs_->Create(ref));
  absl::Status st = store_->OpenUpload(ref, clock_.Now());
  if (!st.ok()) {
    writer->Abort();
    return st;
  }
  auto session = std::unique_ptr<UploadSession>(
      new UploadSession(*this, ref, std::move(key), max_usage, std::move(writer), actor));
  DG_RETURN_IF_ERROR(session->Write(FileHeader()));
  return session;
}

absl::Status RecordingManager::Download(
    const RecordingRef& ref, int64_t offset, int64_t length, const Actor& actor,
    const std::function<bool(v1::DownloadRecordingResponse&)>& write) {
  return Play(ref, offset, length, &actor, write);
}

absl::Status RecordingManager::Play(
    const RecordingRef& ref, int64_t offset, int64_t length, const Actor* audit,
    const std::function<bool(v1::DownloadRecordingResponse&)>& write) {
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
    if (first_message) *msg.mutable_recording() = ToProto(m);
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
                                [](v1::DownloadRecordingResponse&) { return true; });
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

// UploadSession.

UploadSession::UploadSession(RecordingManager& manager, RecordingRef ref, SecretKey key,
                             int64_t max_usage, std::unique_ptr<BlobWriter> writer, Actor actor)
    : manager_(manager),
      ref_(std::move(ref)),
      key_(std::move(key)),
      max_usage_(max_usage),
      writer_(std::move(writer)),
      actor_(std::move(actor)) {}

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

absl::Status UploadSession::SealNext(absl::string_view plaintext, bool last) {
  DG_ASSIGN_OR_RETURN(std::string sealed,
                      SealSegment(key_, ref_.tenant, ref_.id, static_cast<uint64_t>(segments_),
                                  last, plaintext));
  DG_RETURN_IF_ERROR(Write(sealed));
  ++segments_;
  return absl::OkStatus();
}

absl::Status UploadSession::Feed(int64_t sequence, absl::string_view audio) {
  if (sequence < 1) return InvalidField("sequence", "INVALID_SEQUENCE", "starts at 1");
  if (static_cast<int64_t>(audio.size()) > manager_.options_.max_chunk_bytes) {
    return InvalidField("audio", "CHUNK_TOO_LARGE",
                        absl::StrCat("chunks are at most ", manager_.options_.max_chunk_bytes,
                                     " bytes"));
  }
  DG_RETURN_IF_ERROR(write_error_);
  DG_ASSIGN_OR_RETURN(ChunkVerdict v, manager_.store_->Chunk(ref_, sequence,
                                                             static_cast<int64_t>(audio.size()),
                                                             max_usage_));
  using K = ChunkVerdict::Kind;
  switch (v.kind) {
    case K::kStored:
      break;
    case K::kDiscarded:
      ++discarded_;
      return absl::OkStatus();
    case K::kDuplicate:
      ++duplicates_;
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
  audio_sha_.Update(audio);
  audio_bytes_ += static_cast<int64_t>(audio.size());
  buffer_.append(audio.data(), audio.size());
  // Keep the last (possibly full) segment back: only Finish knows it is the last.
  size_t used = 0;
  while (buffer_.size() - used > kSegmentPlaintext) {
    DG_RETURN_IF_ERROR(SealNext(absl::string_view(buffer_).substr(used, kSegmentPlaintext), false));
    used += kSegmentPlaintext;
  }
  buffer_.erase(0, used);
  return absl::OkStatus();
}

absl::StatusOr<v1::UploadAudioResponse> UploadSession::Finish(const absl::Status& ended) {
  finished_ = true;
  UploadOutcome o;
  if (!ended.ok() && ReasonOf(ended) != "RECORDING_STOPPED") {
    o.incomplete_reason = absl::IsCancelled(ended) ? "STREAM_BROKEN" : ReasonOf(ended);
    if (o.incomplete_reason.empty()) o.incomplete_reason = "UPLOAD_FAILED";
  }
  // After a failed write nothing more is written (the rest is thrown away).
  absl::Status stored = write_error_;
  if (stored.ok()) stored = SealNext(buffer_, true);
  if (stored.ok()) stored = writer_->Commit();
  buffer_.clear();
  if (stored.ok()) {
    o.audio_bytes = audio_bytes_;
    o.stored_bytes = file_bytes_;
    o.segments = segments_;
    o.sha256 = audio_sha_.FinalHex();
    o.file_sha256 = file_sha_.FinalHex();
    o.usage_delta = file_bytes_ - audio_bytes_;
  } else {
    writer_->Abort();
    o.stored = false;
    o.usage_delta = -audio_bytes_;
    o.incomplete_reason = ReasonOf(stored).empty() ? "STORAGE_UNAVAILABLE" : ReasonOf(stored);
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
  absl::Status st = manager_.store_->FinishUpload(ref_, o, now, o.stored ? &entry : nullptr, events);
  if (!st.ok()) {
    // The metadata could not record the file: take the file away again, so
    // the two never disagree (the upload stays open in the metadata).
    if (o.stored) (void)manager_.blobs_->Delete(ref_);
    return st;
  }
  if (!o.stored) return stored;
  DG_ASSIGN_OR_RETURN(RecordingMeta after, manager_.store_->Get(ref_));
  v1::UploadAudioResponse resp;
  *resp.mutable_recording() = RecordingManager::ToProto(after);
  resp.set_chunks_stored(stored_);
  resp.set_chunks_discarded(discarded_);
  resp.set_duplicates_ignored(duplicates_);
  return resp;
}

}  // namespace dialgrid::recording
