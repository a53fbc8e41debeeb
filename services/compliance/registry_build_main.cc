// dialgrid-registry-build: builds a do-not-call (or wireless) registry index
// from the registry's download files (one number per line), for
// dialgrid-compliance --registries=id:dnc:/path. Garbage lines are counted and
// reported, not fatal. The output is written atomically (temp file + rename),
// so replicas never map a half-written index, then its manifest
// (<output>.manifest: the data's date and how old it may get before it no
// longer clears a dial).
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "services/compliance/domain/dnc_index.h"
#include "services/compliance/domain/registry_manifest.h"

ABSL_FLAG(std::string, input, "", "Registry files, comma-separated (area-code files are fine).");
ABSL_FLAG(std::string, output, "", "The index file to write.");
ABSL_FLAG(std::string, plan, "nanp", "Number plan: nanp (10-digit) or e164.");
ABSL_FLAG(std::string, as_of, "",
          "The registry data's date, YYYY-MM-DD (the day it was downloaded from the registry).");
ABSL_FLAG(int, max_age_days, 31,
          "Days after --as_of the data may still clear a dial (US TSR and Canada: 31, UK TPS: 28; "
          "0: no limit).");
ABSL_FLAG(std::string, rules, "",
          "The registry's row of services/compliance/data/registry_rules.tsv (its grace period "
          "for new registrations), e.g. US-NATIONAL-DNC, CA-DNCL, GB-TPS, AU-DNCR; empty: every "
          "listing binds at once.");

int main(int argc, char** argv) {
  using namespace dialgrid::compliance;
  absl::SetProgramUsageMessage("Builds a registry index: --input=a.txt,b.txt --output=us.dncidx");
  absl::ParseCommandLine(argc, argv);
  std::string plan_flag = absl::GetFlag(FLAGS_plan);
  absl::CivilDay as_of;
  if (absl::GetFlag(FLAGS_input).empty() || absl::GetFlag(FLAGS_output).empty() ||
      (plan_flag != "nanp" && plan_flag != "e164") ||
      !absl::ParseCivilTime(absl::GetFlag(FLAGS_as_of), &as_of) || absl::GetFlag(FLAGS_max_age_days) < 0) {
    std::cerr << "usage: dialgrid-registry-build --input=FILES --output=FILE --as_of=YYYY-MM-DD "
                 "[--max_age_days=31] [--plan=nanp|e164] [--rules=US-NATIONAL-DNC]\n";
    return 2;
  }
  absl::Time start = absl::Now();
  DncIndexBuilder builder(plan_flag == "nanp" ? NumberPlan::kNanp : NumberPlan::kE164);
  for (absl::string_view path : absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty())) {
    auto report = builder.AddRegistryFile(std::string(path));
    if (!report.ok()) {
      std::cerr << path << ": " << report.status() << "\n";
      return 1;
    }
    std::cout << path << ": " << report->lines << " lines, " << report->numbers << " numbers, "
              << report->blank_lines << " blank, " << report->garbage_lines << " garbage";
    if (!report->first_garbage_lines.empty()) {
      std::cout << " (first at line";
      for (uint64_t l : report->first_garbage_lines) std::cout << " " << l;
      std::cout << ")";
    }
    std::cout << "\n";
  }
  auto index = builder.Build();
  if (!index.ok()) {
    std::cerr << "build: " << index.status() << "\n";
    return 1;
  }
  absl::Status st = index->WriteTo(absl::GetFlag(FLAGS_output));
  if (st.ok()) {
    st = WriteRegistryManifest(absl::GetFlag(FLAGS_output), *index, as_of,
                               absl::GetFlag(FLAGS_max_age_days), absl::GetFlag(FLAGS_rules));
  }
  if (!st.ok()) {
    std::cerr << "write: " << st << "\n";
    return 1;
  }
  std::cout << absl::GetFlag(FLAGS_output) << ": " << index->size() << " distinct numbers, "
            << index->SizeInBytes() << " bytes, built in " << absl::FormatDuration(absl::Now() - start)
            << "; data of " << as_of << ", clears dials for " << absl::GetFlag(FLAGS_max_age_days)
            << " days after\n";
  return 0;
}
