// recordings list|hold|fetch (RecordingService).
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "tools/dialgridctl/commands.h"

namespace dialgrid::ctl {
namespace {

using recording::v1::RecordingService;
using Stub = RecordingService::Stub;

struct ListOpts {
  std::string call_id, campaign, agent, contact, state;
};

struct HoldOpts {
  std::string scope = "recording", target, reason, request_id;
};

struct FetchOpts {
  std::string name, out;
  bool raw = false;
};

absl::Status Fetch(Ctl& ctl, const FetchOpts& o) {
  auto full = ctl.Name("recordings", o.name);
  if (!full.ok()) return full.status();
  std::string tmp = o.out + ".part";
  std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
  if (!file) return UsageError(absl::StrCat("--out: cannot write ", tmp));
  recording::v1::DownloadRecordingRequest req;
  req.set_name(*full);
  req.set_container(o.raw ? recording::v1::AUDIO_CONTAINER_RAW
                          : recording::v1::AUDIO_CONTAINER_WAV);
  grpc::ClientContext ctx;
  absl::Status st = ctl.PrepareStream("recording", ctx, ctl.transfer_timeout());
  if (!st.ok()) return st;
  auto stub = RecordingService::NewStub((*ctl.Peer("recording"))->channel());
  auto reader = stub->DownloadRecording(&ctx, req);
  recording::v1::DownloadRecordingResponse m;
  recording::v1::Recording rec;
  int64_t audio = 0;
  while (reader->Read(&m)) {
    if (m.has_recording()) rec = m.recording();
    file << m.container_header() << m.audio();
    audio += static_cast<int64_t>(m.audio().size());
  }
  grpc::Status done = reader->Finish();
  file.close();
  if (!done.ok()) {
    std::remove(tmp.c_str());
    return ctl.StatusOf("recording", done);
  }
  if (!file || std::rename(tmp.c_str(), o.out.c_str()) != 0) {
    std::remove(tmp.c_str());
    return UsageError(absl::StrCat("--out: cannot write ", o.out));
  }
  ctl.Print(rec, [&] {
    PrintFields(ctl.out(), {{"recording", rec.name()},
                            {"written", absl::StrCat(o.out, " (", FormatBytes(audio), " of audio",
                                                     o.raw ? ", raw" : ", WAV", ")")},
                            {"format", ShortEnumOf(rec.audio_format())},
                            {"duration", FormatDuration(rec.duration())},
                            {"sha256", OrDash(rec.sha256())}});
  });
  return absl::OkStatus();
}

}  // namespace

void AddRecordingsCommands(CLI::App& app, Action& action) {
  CLI::App* recordings = Group(app, "recordings", "Call recordings: list, legal holds, fetch");
  {
    auto o = std::make_shared<ListOpts>();
    CLI::App* list = Leaf(
        *recordings, "list", "List the tenant's recordings", action, [o](Ctl& ctl) -> absl::Status {
          auto parent = ctl.TenantParent();
          if (!parent.ok()) return parent.status();
          recording::v1::ListRecordingsRequest req;
          req.set_parent(*parent);
          req.set_call_id(o->call_id);
          if (!o->campaign.empty()) {
            auto c = ctl.Name("campaigns", o->campaign);
            if (!c.ok()) return c.status();
            req.set_campaign(*c);
          }
          req.set_agent(o->agent);
          req.set_contact(o->contact);
          if (!o->state.empty()) {
            auto s = ParseEnum(recording::v1::State_descriptor(), o->state, "--state");
            if (!s.ok()) return s.status();
            req.set_state(static_cast<recording::v1::State>(*s));
          }
          auto r = ListAll<RecordingService>(ctl, "recording", &Stub::ListRecordings, req);
          if (!r.ok()) return r.status();
          ctl.Print(*r, [&] {
            Table t(
                {"RECORDING", "CALL", "CAMPAIGN", "STATE", "DURATION", "SIZE", "HOLD", "CREATED"});
            for (const auto& x : r->recordings()) {
              t.AddRow({LastSegment(x.name()), x.call_id(), OrDash(LastSegment(x.campaign())),
                        ShortEnumOf(x.state()), FormatDuration(x.duration()),
                        FormatBytes(x.audio_bytes()), x.legal_hold() ? "held" : "-",
                        FormatTime(x.create_time())});
            }
            t.Print(ctl.out());
          });
          return absl::OkStatus();
        });
    list->add_option("--call", o->call_id, "only this call's");
    list->add_option("--campaign", o->campaign, "only this campaign's");
    list->add_option("--agent", o->agent, "only this agent's (full name)");
    list->add_option("--contact", o->contact, "only this contact's (full name)");
    list->add_option("--state", o->state, EnumChoices(recording::v1::State_descriptor()));
  }
  {
    auto o = std::make_shared<HoldOpts>();
    CLI::App* hold = Leaf(
        *recordings, "hold", "Place a legal hold: the recordings it covers are never purged",
        action, [o](Ctl& ctl) -> absl::Status {
          auto parent = ctl.TenantParent();
          if (!parent.ok()) return parent.status();
          auto scope = ParseEnum(recording::v1::HoldScope_descriptor(), o->scope, "--scope");
          if (!scope.ok()) return scope.status();
          recording::v1::PlaceHoldRequest req;
          req.set_parent(*parent);
          req.set_request_id(o->request_id);
          auto* h = req.mutable_hold();
          h->set_scope(static_cast<recording::v1::HoldScope>(*scope));
          std::string target = o->target;
          if (*scope == recording::v1::HOLD_SCOPE_RECORDING ||
              *scope == recording::v1::HOLD_SCOPE_CAMPAIGN) {
            auto full = ctl.Name(
                *scope == recording::v1::HOLD_SCOPE_RECORDING ? "recordings" : "campaigns", target);
            if (!full.ok()) return full.status();
            target = *full;
          }
          h->set_target(target);
          h->set_reason(o->reason);
          auto r = ctl.Call<RecordingService>("recording", &Stub::PlaceHold, req);
          if (!r.ok()) return r.status();
          ctl.Print(*r, [&] {
            PrintFields(ctl.out(), {{"hold", r->name()},
                                    {"scope", ShortEnumOf(r->scope())},
                                    {"target", r->target()},
                                    {"reason", r->reason()},
                                    {"state", ShortEnumOf(r->state())}});
          });
          return absl::OkStatus();
        });
    hold->add_option("target", o->target,
                     "the recording (id or name), call id, contact name or campaign")
        ->required();
    hold->add_option("--scope", o->scope,
                     EnumChoices(recording::v1::HoldScope_descriptor()) + " (default recording)");
    hold->add_option("--reason", o->reason, "the matter or case (1-500 characters)")->required();
    hold->add_option("--request-id", o->request_id, "idempotency key");
  }
  {
    auto o = std::make_shared<FetchOpts>();
    CLI::App* fetch = Leaf(*recordings, "fetch", "Download a recording as a WAV file", action,
                           [o](Ctl& ctl) { return Fetch(ctl, *o); });
    fetch->add_option("recording", o->name, "recording id or full name")->required();
    fetch->add_option("--out", o->out, "the file to write (e.g. call.wav)")->required();
    fetch->add_flag("--raw", o->raw, "raw samples, no WAV header");
  }
}

}  // namespace dialgrid::ctl
