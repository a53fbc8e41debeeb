#pragma once

// Builds one tenant's board for one viewer: tenancy first (who the tenant is,
// its time zone, and the first say on the credential), then agents, today's
// KPIs and campaigns in parallel, then each campaign's live figures. A part
// whose service does not answer in time is marked unavailable; any answer
// that refuses the credential refuses the whole board, so a viewer never
// gets part of a board it may not see.

#include "absl/status/statusor.h"
#include "services/common/core/clock.h"
#include "services/wallboard/domain/access.h"
#include "services/wallboard/domain/board.h"
#include "services/wallboard/ports/board_source.h"

namespace dialgrid::wallboard {

struct BoardBuilderOptions {
  int max_agents = 2000;    // agents read (the rest: truncated)
  int max_campaigns = 500;  // campaigns listed
  int max_figures = 50;     // campaigns whose live figures are read (not drafts)
  int figure_readers = 8;   // figures read at once
};

class BoardBuilder {
 public:
  BoardBuilder(BoardSource& source, const Clock& clock, BoardBuilderOptions options = {});

  // The board, or the refusal (UNAUTHENTICATED / PERMISSION_DENIED) a
  // service gave the viewer's credential, or UNAVAILABLE
  // PLATFORM_UNAVAILABLE when no service answered at all.
  absl::StatusOr<Board> Build(const Viewer& viewer) const;

 private:
  // Fills each campaign's figures; the first refusal of the credential, if any.
  absl::Status ReadFigures(const Viewer& viewer, CampaignList& campaigns) const;

  BoardSource& source_;
  const Clock& clock_;
  BoardBuilderOptions options_;
};

}  // namespace dialgrid::wallboard
