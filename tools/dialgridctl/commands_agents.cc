// agents list|watch (AgentStateService).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "dialgrid/agentstate/v1/agentstate.grpc.pb.h"
#include "tools/dialgridctl/commands.h"
#include "tools/dialgridctl/ctl_interrupt.h"

namespace dialgrid::ctl {
namespace {

using agentstate::v1::AgentStateService;
using Stub = AgentStateService::Stub;

std::string Since(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0) return "-";
  absl::Duration d = absl::Now() - absl::FromUnixSeconds(t.seconds());
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  return absl::FormatDuration(absl::Trunc(d, absl::Seconds(1)));
}

std::string Reason(const agentstate::v1::AgentStatus& s) {
  std::string r = s.reason_code();
  if (!s.pending_not_ready().empty())
    r = absl::StrCat(OrDash(r), " (next: ", s.pending_not_ready(), ")");
  if (s.pending_logout()) r = absl::StrCat(OrDash(r), " (logout pending)");
  return OrDash(r);
}

const std::vector<int> kWatchWidths = {19, 12, 30, 10, 20, 20};

absl::Status Watch(Ctl& ctl, const std::string& team) {
  auto parent = ctl.TenantParent();
  if (!parent.ok()) return parent.status();
  InterruptWatcher interrupt;
  grpc::ClientContext ctx;
  absl::Status st = ctl.PrepareStream("agent-state", ctx, absl::InfiniteDuration());
  if (!st.ok()) return st;
  auto stub = AgentStateService::NewStub((*ctl.Peer("agent-state"))->channel());
  agentstate::v1::WatchAgentsRequest req;
  req.set_parent(*parent);
  req.set_team(team);
  auto reader = stub->WatchAgents(&ctx, req);
  interrupt.Start([&ctx] { ctx.TryCancel(); });
  if (!ctl.json) {
    ctl.out() << FixedRow({"TIME", "EVENT", "AGENT", "STATE", "REASON", "CAMPAIGN"}, kWatchWidths)
              << std::endl;
  }
  agentstate::v1::WatchAgentsResponse m;
  while (reader->Read(&m)) {
    if (ctl.json) {
      ctl.out() << ToJson(m, /*one_line=*/true) << std::endl;
      continue;
    }
    std::string now = absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::LocalTimeZone());
    if (m.snapshot() && m.statuses_size() == 0) {
      ctl.out() << FixedRow({now, "snapshot", "(no agents)", "", "", ""}, kWatchWidths)
                << std::endl;
    }
    for (const auto& s : m.statuses()) {
      ctl.out() << FixedRow({now, m.snapshot() ? "snapshot" : "change", LastSegment(s.agent()),
                             ShortEnumOf(s.state()), Reason(s), OrDash(LastSegment(s.campaign()))},
                            kWatchWidths)
                << std::endl;
    }
  }
  grpc::Status done = reader->Finish();
  if (interrupt.interrupted()) return absl::OkStatus();
  if (!done.ok()) return ctl.StatusOf("agent-state", done);
  return absl::OkStatus();
}

}  // namespace

void AddAgentsCommands(CLI::App& app, Action& action) {
  CLI::App* agents = Group(app, "agents", "Agents and their live states");
  {
    auto team = std::make_shared<std::string>();
    CLI::App* list =
        Leaf(*agents, "list", "List the tenant's agents with their states", action,
             [team](Ctl& ctl) -> absl::Status {
               auto parent = ctl.TenantParent();
               if (!parent.ok()) return parent.status();
               agentstate::v1::ListAgentsRequest req;
               req.set_parent(*parent);
               req.set_team(*team);
               auto r = ListAll<AgentStateService>(ctl, "agent-state", &Stub::ListAgents, req);
               if (!r.ok()) return r.status();
               ctl.Print(*r, [&] {
                 Table t({"AGENT", "DISPLAY NAME", "TEAM", "STATE", "FOR", "REASON", "CAMPAIGN",
                          "SKILLS"});
                 for (const auto& a : r->agents()) {
                   std::vector<std::string> skills;
                   for (const auto& s : a.skills())
                     skills.push_back(absl::StrCat(s.name(), ":", s.level()));
                   t.AddRow({LastSegment(a.name()), a.display_name(), OrDash(a.team()),
                             ShortEnumOf(a.status().state()), Since(a.status().state_time()),
                             Reason(a.status()), OrDash(LastSegment(a.status().campaign())),
                             OrDash(absl::StrJoin(skills, ","))});
                 }
                 t.Print(ctl.out());
               });
               return absl::OkStatus();
             });
    list->add_option("--team", *team, "only this team");
  }
  {
    auto team = std::make_shared<std::string>();
    CLI::App* watch = Leaf(*agents, "watch",
                           "Watch agents' states: a snapshot, then a line per change, until Ctrl-C",
                           action, [team](Ctl& ctl) { return Watch(ctl, *team); });
    watch->add_option("--team", *team, "only this team");
  }
}

}  // namespace dialgrid::ctl
