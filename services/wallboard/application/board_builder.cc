#include "services/wallboard/application/board_builder.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "services/common/core/errors.h"

namespace dialgrid::wallboard {
namespace {

int StateOrder(const std::string& state) {
  if (state == "running") return 0;
  if (state == "paused") return 1;
  return 2;
}

}  // namespace

BoardBuilder::BoardBuilder(BoardSource& source, const Clock& clock, BoardBuilderOptions options)
    : source_(source), clock_(clock), options_(options) {}

absl::Status BoardBuilder::ReadFigures(const Viewer& viewer, CampaignList& list) const {
  // Running campaigns first, then paused, then stopped; drafts never dialed.
  std::vector<size_t> order;
  for (size_t i = 0; i < list.campaigns.size(); ++i) {
    CampaignRow& c = list.campaigns[i];
    if (c.state == "draft") {
      c.figures_state = PartState{false, "CAMPAIGN_NOT_STARTED", "the campaign has never run"};
    } else {
      order.push_back(i);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return StateOrder(list.campaigns[a].state) < StateOrder(list.campaigns[b].state);
  });
  size_t cap = static_cast<size_t>(std::max(0, options_.max_figures));
  for (size_t k = cap; k < order.size(); ++k) {
    list.campaigns[order[k]].figures_state =
        PartState{false, "FIGURES_NOT_READ", "more campaigns than the board reads figures of"};
  }
  order.resize(std::min(order.size(), cap));
  if (order.empty()) return absl::OkStatus();

  std::vector<absl::StatusOr<CampaignFigures>> results(
      order.size(), absl::StatusOr<CampaignFigures>(absl::UnknownError("not read")));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k = next.fetch_add(1); k < order.size(); k = next.fetch_add(1)) {
      results[k] = source_.GetFigures(viewer, list.campaigns[order[k]].name);
    }
  };
  size_t threads = std::min<size_t>(order.size(), std::max(1, options_.figure_readers));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t k = 0; k < order.size(); ++k) {
    if (IsAccessDenial(results[k].status())) return results[k].status();
    CampaignRow& c = list.campaigns[order[k]];
    c.figures_state = PartState::From(results[k].status());
    if (results[k].ok()) c.figures = *std::move(results[k]);
  }
  return absl::OkStatus();
}

absl::StatusOr<Board> BoardBuilder::Build(const Viewer& viewer) const {
  Board board;
  board.tenant_id = viewer.tenant;

  // Tenancy first: it refuses a bad credential or a foreign tenant before any
  // other service is asked, and gives the tenant's time zone for "today".
  absl::StatusOr<TenantInfo> tenant = source_.GetTenant(viewer);
  if (!tenant.ok() && IsAccessDenial(tenant.status())) return tenant.status();
  std::optional<absl::CivilDay> day;
  if (tenant.ok()) {
    absl::TimeZone zone = absl::UTCTimeZone();
    absl::TimeZone loaded;
    if (absl::LoadTimeZone(tenant->time_zone, &loaded)) zone = loaded;
    day = absl::ToCivilDay(clock_.Now(), zone);
  }

  absl::StatusOr<AgentList> agents = absl::UnknownError("not read");
  absl::StatusOr<TeamToday> today =
      day.has_value() ? absl::StatusOr<TeamToday>(absl::UnknownError("not read"))
                      : absl::StatusOr<TeamToday>(Unavailable(
                            "TENANCY_UNAVAILABLE",
                            "today's figures need the tenant's time zone, and tenancy did not "
                            "answer"));
  // Sales since the UTC hour holding the tenant's midnight, to the end of
  // this hour (reporting counts by whole UTC hours).
  absl::StatusOr<int64_t> sales =
      Unavailable("TENANCY_UNAVAILABLE", "today's sales need the tenant's time zone");
  absl::Time sales_since = absl::InfinitePast();
  if (day.has_value()) {
    absl::TimeZone zone = absl::UTCTimeZone();
    absl::TimeZone loaded;
    if (absl::LoadTimeZone(tenant->time_zone, &loaded)) zone = loaded;
    const absl::Time midnight = absl::FromCivil(*day, zone);
    sales_since = absl::FromCivil(absl::ToCivilHour(midnight, absl::UTCTimeZone()),
                                  absl::UTCTimeZone());
  }
  const absl::Time sales_until =
      absl::FromCivil(absl::ToCivilHour(clock_.Now(), absl::UTCTimeZone()) + 1,
                      absl::UTCTimeZone());
  std::thread agents_reader([&] { agents = source_.ListAgents(viewer, options_.max_agents); });
  std::thread today_reader([&] {
    if (day.has_value()) today = source_.GetTeamToday(viewer, *day);
  });
  std::thread sales_reader([&] {
    if (day.has_value()) sales = source_.GetSales(viewer, sales_since, sales_until);
  });
  absl::StatusOr<CampaignList> campaigns = source_.ListCampaigns(viewer, options_.max_campaigns);
  absl::Status figures = campaigns.ok() ? ReadFigures(viewer, *campaigns) : absl::OkStatus();
  agents_reader.join();
  today_reader.join();
  sales_reader.join();

  // One refusal anywhere refuses the whole board.
  const absl::Status* refusals[] = {&agents.status(), &today.status(), &campaigns.status(),
                                    &figures, &sales.status()};
  for (const absl::Status* st : refusals) {
    if (IsAccessDenial(*st)) return *st;
  }
  if (!tenant.ok() && !agents.ok() && !today.ok() && !campaigns.ok()) {
    return WithReason(
        absl::UnavailableError("none of the platform's services answered (tenancy, agent-state, "
                               "dialing); retry"),
        "PLATFORM_UNAVAILABLE");
  }

  board.generated_at = clock_.Now();
  board.tenant_state = PartState::From(tenant.status());
  if (tenant.ok()) board.tenant = *std::move(tenant);
  board.agents_state = PartState::From(agents.status());
  if (agents.ok()) board.agents = *std::move(agents);
  board.today_state = PartState::From(today.status());
  if (today.ok()) board.today = *std::move(today);
  board.sales_state = PartState::From(sales.status());
  if (sales.ok()) board.sales = SalesToday{*sales, sales_since};
  board.campaigns_state = PartState::From(campaigns.status());
  if (campaigns.ok()) board.campaigns = *std::move(campaigns);
  return board;
}

}  // namespace dialgrid::wallboard
