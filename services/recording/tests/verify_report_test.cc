// What dialgrid-recording-verify prints and its exit code.
#include "services/recording/tools/verify_report.h"

#include <gtest/gtest.h>

namespace dialgrid::recording {
namespace {

TEST(VerifyReportTest, ACleanTenantExitsZero) {
  v1::VerifyRecordingsResponse r;
  r.set_recordings_checked(3);
  r.set_chain_entries(9);
  r.set_chain_head("ab12");
  VerifyReport report = RenderVerifyReport("acme", r);
  EXPECT_EQ(report.exit_code, kVerifyClean);
  EXPECT_EQ(report.text,
            "tenants/acme: 3 recordings checked, chain of 9 entries, head ab12: no problems\n");
}

TEST(VerifyReportTest, EachProblemIsALineAndTheExitCodeIsOne) {
  v1::VerifyRecordingsResponse r;
  r.set_recordings_checked(2);
  r.set_chain_entries(5);
  r.set_chain_head("cd34");
  auto* p = r.add_problems();
  p->set_kind(v1::VerifyProblem::KIND_FILE_ALTERED);
  p->set_recording("tenants/acme/recordings/r1");
  p->set_chain_entry(4);
  p->set_detail("the stored file's SHA-256 is x");
  p = r.add_problems();
  p->set_kind(v1::VerifyProblem::KIND_CHAIN_HEAD_MISMATCH);
  p->set_detail("head");
  VerifyReport report = RenderVerifyReport("acme", r);
  EXPECT_EQ(report.exit_code, kVerifyMismatch);
  EXPECT_EQ(report.text,
            "FILE_ALTERED\ttenants/acme/recordings/r1\tentry 4\tthe stored file's SHA-256 is x\n"
            "CHAIN_HEAD_MISMATCH\t-\t-\thead\n"
            "tenants/acme: 2 recordings checked, chain of 5 entries, head cd34: 2 problems\n");
}

}  // namespace
}  // namespace dialgrid::recording
