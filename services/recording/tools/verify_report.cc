#include "services/recording/tools/verify_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace dialgrid::recording {

VerifyReport RenderVerifyReport(const std::string& tenant,
                                const v1::VerifyRecordingsResponse& response) {
  VerifyReport out;
  for (const v1::VerifyProblem& p : response.problems()) {
    absl::string_view kind = v1::VerifyProblem::Kind_Name(p.kind());
    absl::ConsumePrefix(&kind, "KIND_");
    if (kind.empty()) kind = "UNKNOWN";
    absl::StrAppend(&out.text, kind, "\t", p.recording().empty() ? "-" : p.recording(), "\t",
                    p.chain_entry() > 0 ? absl::StrCat("entry ", p.chain_entry()) : "-", "\t",
                    p.detail(), "\n");
  }
  absl::StrAppend(&out.text, "tenants/", tenant, ": ", response.recordings_checked(),
                  " recordings checked, chain of ", response.chain_entries(), " entries, head ",
                  response.chain_head().empty() ? "(none)" : response.chain_head(), ": ");
  if (response.problems_size() == 0) {
    absl::StrAppend(&out.text, "no problems\n");
    out.exit_code = kVerifyClean;
  } else {
    absl::StrAppend(&out.text, response.problems_size(),
                    response.problems_size() == 1 ? " problem\n" : " problems\n");
    out.exit_code = kVerifyMismatch;
  }
  return out;
}

}  // namespace dialgrid::recording
