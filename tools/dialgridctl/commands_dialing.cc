// campaigns list|get|create|start|pause|resume|stop|watch|rest-caller-id, calls get,
// blocked list|unblock (DialingService).
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "dialgrid/dialing/v1/dialing.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tools/dialgridctl/commands.h"
#include "tools/dialgridctl/ctl_interrupt.h"
#include "tools/dialgridctl/ctl_yaml.h"

namespace dialgrid::ctl {
namespace {

using dialing::v1::DialingService;
using Stub = DialingService::Stub;

void CampaignRows(Table& t, const dialing::v1::Campaign& c) {
  t.AddRow(
      {LastSegment(c.name()), c.display_name(), ShortEnumOf(c.state()), ShortEnumOf(c.mode()),
       absl::StrCat(c.max_lines()),
       absl::StrJoin(c.contact_lists(), ",",
                     [](std::string* out, const std::string& l) { out->append(LastSegment(l)); }),
       OrDash(c.state_reason()), FormatTime(c.update_time())});
}

void PrintCampaign(Ctl& ctl, const dialing::v1::Campaign& c) {
  ctl.Print(c, [&] {
    std::vector<std::string> lists(c.contact_lists().begin(), c.contact_lists().end());
    std::vector<std::string> caller_ids(c.caller_ids().begin(), c.caller_ids().end());
    std::vector<std::string> dispositions;
    for (const auto& d : c.dispositions()) {
      dispositions.push_back(
          absl::StrCat(d.code(), " (", ShortEnumOf(d.outcome()), d.sale() ? ", sale" : "", ")"));
    }
    PrintFields(ctl.out(), {{"name", c.name()},
                            {"display name", c.display_name()},
                            {"state", ShortEnumOf(c.state())},
                            {"state reason", OrDash(c.state_reason())},
                            {"mode", ShortEnumOf(c.mode())},
                            {"purpose", ShortEnumOf(c.purpose())},
                            {"contact lists", absl::StrJoin(lists, ", ")},
                            {"max lines", absl::StrCat(c.max_lines())},
                            {"abandon target", FormatPercent(c.abandon_target().max_rate())},
                            {"ring timeout", FormatDuration(c.ring_timeout())},
                            {"caller ids", absl::StrJoin(caller_ids, ", ")},
                            {"time zone", OrDash(c.time_zone())},
                            {"dispositions", OrDash(absl::StrJoin(dispositions, ", "))},
                            {"created", FormatTime(c.create_time())},
                            {"updated", FormatTime(c.update_time())}});
  });
}

// A state change (start, pause, resume, stop) by name, and the campaign after.
template <typename Request>
Action StateChange(std::shared_ptr<std::string> name, std::shared_ptr<std::string> reason,
                   grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                dialing::v1::Campaign*)) {
  return [=](Ctl& ctl) -> absl::Status {
    auto full = ctl.Name("campaigns", *name);
    if (!full.ok()) return full.status();
    Request req;
    req.set_name(*full);
    if constexpr (std::is_same_v<Request, dialing::v1::PauseCampaignRequest> ||
                  std::is_same_v<Request, dialing::v1::StopCampaignRequest>) {
      req.set_reason(*reason);
    }
    auto r = ctl.Call<DialingService>("dialing", method, req);
    if (!r.ok()) return r.status();
    ctl.Print(*r, [&] {
      ctl.out() << r->name() << ": " << ShortEnumOf(r->state());
      if (!r->state_reason().empty()) ctl.out() << " (" << r->state_reason() << ")";
      ctl.out() << "\n";
    });
    return absl::OkStatus();
  };
}

const std::vector<int> kWatchWidths = {19, 8, 7, 11, 9, 5, 6, 13, 6, 8, 9, 9, 7, 11, 11};

std::vector<std::string> WatchHeader() {
  return {"TIME",      "STATE",     "DIALING",        "MODE",        "CALLS",
          "TICK",      "HOPPER",    "AGENTS R/C/W/N", "DIALS",       "ANSWERED",
          "CONNECTED", "ABANDONED", "REFUSED",        "ABANDON 24H", "ABANDON 30D"};
}

std::vector<std::string> WatchRow(const dialing::v1::CampaignProgress& p) {
  std::string time =
      p.update_time().seconds() == 0
          ? "-"
          : absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(p.update_time().seconds()),
                             absl::LocalTimeZone());
  auto ledger = [&](int64_t abandoned, int64_t live, double rate) {
    if (!p.ledger_known()) return std::string("-");
    return absl::StrCat(FormatPercent(rate), " ", abandoned, "/", live,
                        p.over_abandon_cap() ? " OVER" : "");
  };
  return {time,
          ShortEnumOf(p.state()),
          p.dialing() ? "yes" : "no",
          p.dialing_mode() == 0 ? "-" : ShortEnumOf(p.dialing_mode()),
          absl::StrCat(p.calls_in_progress(), "/", p.max_lines()),
          absl::StrCat(p.lines_last_tick()),
          p.hopper_dry() ? "dry" : absl::StrCat(p.hopper_contacts()),
          absl::StrCat(p.agents_ready(), "/", p.agents_on_call(), "/", p.agents_wrap_up(), "/",
                       p.agents_not_ready()),
          absl::StrCat(p.dials()),
          absl::StrCat(p.answered()),
          absl::StrCat(p.connected()),
          absl::StrCat(p.abandoned()),
          absl::StrCat(p.refused()),
          ledger(p.abandoned_24h(), p.live_answers_24h(), p.abandon_rate_24h()),
          ledger(p.abandoned_30d(), p.live_answers_30d(), p.abandon_rate_30d())};
}

absl::Status Watch(Ctl& ctl, const std::string& name) {
  auto full = ctl.Name("campaigns", name);
  if (!full.ok()) return full.status();
  InterruptWatcher interrupt;
  grpc::ClientContext ctx;
  absl::Status st = ctl.PrepareStream("dialing", ctx, absl::InfiniteDuration());
  if (!st.ok()) return st;
  auto stub = DialingService::NewStub((*ctl.Peer("dialing"))->channel());
  dialing::v1::WatchCampaignRequest req;
  req.set_name(*full);
  auto reader = stub->WatchCampaign(&ctx, req);
  interrupt.Start([&ctx] { ctx.TryCancel(); });
  if (!ctl.json) ctl.out() << FixedRow(WatchHeader(), kWatchWidths) << std::endl;
  dialing::v1::CampaignProgress p;
  while (reader->Read(&p)) {
    if (ctl.json) {
      ctl.out() << ToJson(p, /*one_line=*/true) << std::endl;
    } else {
      ctl.out() << FixedRow(WatchRow(p), kWatchWidths) << std::endl;
    }
  }
  grpc::Status done = reader->Finish();
  if (interrupt.interrupted()) return absl::OkStatus();  // Ctrl-C: the normal end
  if (!done.ok()) return ctl.StatusOf("dialing", done);
  return absl::OkStatus();
}

}  // namespace

void AddDialingCommands(CLI::App& app, Action& action) {
  CLI::App* campaigns = Group(app, "campaigns", "Campaigns: create, run, watch");
  Leaf(*campaigns, "list", "List the tenant's campaigns", action, [](Ctl& ctl) -> absl::Status {
    auto parent = ctl.TenantParent();
    if (!parent.ok()) return parent.status();
    dialing::v1::ListCampaignsRequest req;
    req.set_parent(*parent);
    auto r = ListAll<DialingService>(ctl, "dialing", &Stub::ListCampaigns, req);
    if (!r.ok()) return r.status();
    ctl.Print(*r, [&] {
      Table t({"CAMPAIGN", "DISPLAY NAME", "STATE", "MODE", "LINES", "LISTS", "REASON", "UPDATED"});
      for (const auto& c : r->campaigns()) CampaignRows(t, c);
      t.Print(ctl.out());
    });
    return absl::OkStatus();
  });
  {
    auto name = std::make_shared<std::string>();
    CLI::App* get =
        Leaf(*campaigns, "get", "Show a campaign", action, [name](Ctl& ctl) -> absl::Status {
          auto full = ctl.Name("campaigns", *name);
          if (!full.ok()) return full.status();
          dialing::v1::GetCampaignRequest req;
          req.set_name(*full);
          auto r = ctl.Call<DialingService>("dialing", &Stub::GetCampaign, req);
          if (!r.ok()) return r.status();
          PrintCampaign(ctl, *r);
          return absl::OkStatus();
        });
    get->add_option("campaign", *name, "campaign id or full name")->required();
  }
  {
    struct Opts {
      std::string file, id, request_id;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* create = Leaf(
        *campaigns, "create",
        "Create a campaign (state DRAFT) from a YAML (.yaml, .yml) or JSON file holding a "
        "dialgrid.dialing.v1.Campaign",
        action, [o](Ctl& ctl) -> absl::Status {
          auto text = ReadFile(o->file);
          if (!text.ok()) return UsageError(absl::StrCat("--file: ", text.status().message()));
          const bool yaml = IsYamlFile(o->file);
          if (yaml) {
            text = YamlToJson(*text);
            if (!text.ok()) {
              return UsageError(absl::StrCat(o->file, ": ", text.status().message()));
            }
          }
          dialing::v1::CreateCampaignRequest req;
          auto parsed = google::protobuf::util::JsonStringToMessage(*text, req.mutable_campaign());
          if (!parsed.ok()) {
            return UsageError(absl::StrCat(o->file, " is not a Campaign in ",
                                           yaml ? "YAML" : "JSON", ": ",
                                           std::string(parsed.message())));
          }
          // The id: --id, else the last part of the file's "name".
          std::string name = req.campaign().name();
          std::string id = !o->id.empty() ? o->id : LastSegment(name);
          if (id.empty()) return UsageError("no campaign id: give --id or a \"name\" in the file");
          std::vector<std::string> parts = absl::StrSplit(name, '/');
          if (parts.size() == 4 && parts[0] == "tenants") {
            req.set_parent(absl::StrCat("tenants/", parts[1]));
          } else {
            auto parent = ctl.TenantParent();
            if (!parent.ok()) return parent.status();
            req.set_parent(*parent);
          }
          req.mutable_campaign()->clear_name();
          // Bare list ids in contact_lists are the campaign's tenant's.
          for (auto& l : *req.mutable_campaign()->mutable_contact_lists()) {
            if (!absl::StrContains(l, '/')) l = absl::StrCat(req.parent(), "/contactLists/", l);
          }
          req.set_campaign_id(id);
          req.set_request_id(o->request_id);
          auto r = ctl.Call<DialingService>("dialing", &Stub::CreateCampaign, req);
          if (!r.ok()) return r.status();
          PrintCampaign(ctl, *r);
          return absl::OkStatus();
        });
    create->add_option("--file", o->file,
                       "the campaign in YAML (.yaml/.yml) or JSON (proto3 JSON field names)")
        ->required()
        ->check(CLI::ExistingFile);
    create->add_option("--id", o->id, "the campaign id (default: from the file's name)");
    create->add_option("--request-id", o->request_id, "idempotency key");
  }
  auto add_change = [&](const char* verb, const char* what, auto method, bool with_reason) {
    auto name = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    CLI::App* c = Leaf(*campaigns, verb, what, action, StateChange(name, reason, method));
    c->add_option("campaign", *name, "campaign id or full name")->required();
    if (with_reason) c->add_option("--reason", *reason, "why (1-200 characters)")->required();
  };
  add_change("start", "DRAFT or STOPPED -> RUNNING", &Stub::StartCampaign, false);
  add_change("pause", "RUNNING -> PAUSED: no new dials", &Stub::PauseCampaign, true);
  add_change("resume", "PAUSED -> RUNNING", &Stub::ResumeCampaign, false);
  add_change("stop", "RUNNING or PAUSED -> STOPPED", &Stub::StopCampaign, true);
  {
    auto name = std::make_shared<std::string>();
    CLI::App* watch =
        Leaf(*campaigns, "watch", "Watch a campaign live: a line per change until Ctrl-C", action,
             [name](Ctl& ctl) { return Watch(ctl, *name); });
    watch->add_option("campaign", *name, "campaign id or full name")->required();
  }
  {
    struct Opts {
      std::string campaign, number, reason, rest_for;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* rest = Leaf(
        *campaigns, "rest-caller-id",
        "Rest a number of a running campaign's caller-ID pool (--for 0s ends its rest)", action,
        [o](Ctl& ctl) -> absl::Status {
          auto full = ctl.Name("campaigns", o->campaign);
          if (!full.ok()) return full.status();
          absl::Duration d;
          if (!absl::ParseDuration(o->rest_for, &d) || d < absl::ZeroDuration()) {
            return UsageError("--for: a duration such as 24h or 90m (0s ends the rest)");
          }
          dialing::v1::SetCallerIdRestRequest req;
          req.set_campaign(*full);
          req.set_caller_id(o->number);
          req.mutable_rest_duration()->set_seconds(absl::ToInt64Seconds(d));
          req.set_reason(o->reason);
          auto r = ctl.Call<DialingService>("dialing", &Stub::SetCallerIdRest, req);
          if (!r.ok()) return r.status();
          ctl.Print(*r, [&] {
            PrintFields(ctl.out(), {{"caller id", r->caller_id()},
                                    {"resting until", FormatTime(r->resting_until())},
                                    {"attempts", absl::StrCat(static_cast<int64_t>(r->attempts()))},
                                    {"answer rate", absl::StrCat(r->answer_rate())}});
          });
          return absl::OkStatus();
        });
    rest->add_option("campaign", o->campaign, "campaign id or full name")->required();
    rest->add_option("number", o->number, "the caller ID, E.164 (+1555...)")->required();
    rest->add_option("--for", o->rest_for, "how long: 1m to 720h; 0s ends the rest")->required();
    rest->add_option("--reason", o->reason, "why (1-200 characters)")->required();
  }

  CLI::App* calls = Group(app, "calls", "Call attempts");
  {
    auto name = std::make_shared<std::string>();
    CLI::App* get = Leaf(*calls, "get", "Show a call: where it is, how it ended", action,
                         [name](Ctl& ctl) -> absl::Status {
                           auto full = ctl.Name("calls", *name);
                           if (!full.ok()) return full.status();
                           dialing::v1::GetCallRequest req;
                           req.set_name(*full);
                           auto r = ctl.Call<DialingService>("dialing", &Stub::GetCall, req);
                           if (!r.ok()) return r.status();
                           ctl.Print(*r, [&] {
                             PrintFields(ctl.out(), {{"name", r->name()},
                                                     {"campaign", r->campaign()},
                                                     {"direction", ShortEnumOf(r->direction())},
                                                     {"contact", OrDash(r->contact())},
                                                     {"number", r->phone_number()},
                                                     {"caller id", OrDash(r->caller_id())},
                                                     {"state", ShortEnumOf(r->state())},
                                                     {"outcome", ShortEnumOf(r->outcome())},
                                                     {"mode", ShortEnumOf(r->dialing_mode())},
                                                     {"agent", OrDash(r->agent())},
                                                     {"disposition", OrDash(r->disposition())},
                                                     {"decision", OrDash(r->decision_id())},
                                                     {"dialed", FormatTime(r->dial_time())},
                                                     {"answered", FormatTime(r->answer_time())},
                                                     {"connected", FormatTime(r->connect_time())},
                                                     {"ended", FormatTime(r->end_time())},
                                                     {"amd", ShortEnumOf(r->amd_result())}});
                           });
                           return absl::OkStatus();
                         });
    get->add_option("call", *name, "call id or full name")->required();
  }

  CLI::App* blocked = Group(app, "blocked", "The tenant's inbound block list (abusive callers)");
  Leaf(*blocked, "list", "List blocked numbers, newest first", action,
       [](Ctl& ctl) -> absl::Status {
         auto parent = ctl.TenantParent();
         if (!parent.ok()) return parent.status();
         dialing::v1::ListBlockedNumbersRequest req;
         req.set_parent(*parent);
         auto r = ListAll<DialingService>(ctl, "dialing", &Stub::ListBlockedNumbers, req);
         if (!r.ok()) return r.status();
         ctl.Print(*r, [&] {
           Table t({"NUMBER", "BLOCKED", "BY", "REASON", "CALL"});
           for (const auto& b : r->blocked_numbers()) {
             t.AddRow({b.number(), FormatTime(b.block_time()), b.flagged_by(), b.reason(),
                       LastSegment(b.call())});
           }
           t.Print(ctl.out());
         });
         return absl::OkStatus();
       });
  {
    auto number = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    CLI::App* unblock = Leaf(*blocked, "unblock", "Take a number off the block list", action,
                             [number, reason](Ctl& ctl) -> absl::Status {
                               // "+15551230000" -> "tenants/{t}/blockedNumbers/n15551230000".
                               std::string arg = *number;
                               if (absl::StartsWith(arg, "+"))
                                 arg = absl::StrCat("n", arg.substr(1));
                               auto full = ctl.Name("blockedNumbers", arg);
                               if (!full.ok()) return full.status();
                               dialing::v1::UnblockNumberRequest req;
                               req.set_name(*full);
                               req.set_reason(*reason);
                               auto r =
                                   ctl.Call<DialingService>("dialing", &Stub::UnblockNumber, req);
                               if (!r.ok()) return r.status();
                               ctl.Print(*r, [&] { ctl.out() << r->number() << ": unblocked\n"; });
                               return absl::OkStatus();
                             });
    unblock->add_option("number", *number, "E.164 number (+1555...) or the full name")->required();
    unblock->add_option("--reason", *reason, "why (1-200 characters)")->required();
  }
}

}  // namespace dialgrid::ctl
