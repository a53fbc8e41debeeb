#pragma once

// What dialgrid-recording-verify prints for a VerifyRecordings answer, and
// its exit code: kept apart from main so tests reach it without a server.

#include <string>

#include "dialgrid/recording/v1/recording.pb.h"

namespace dialgrid::recording {

// Exit codes of the tool.
inline constexpr int kVerifyClean = 0;     // the chain and every recording match
inline constexpr int kVerifyMismatch = 1;  // at least one problem
inline constexpr int kVerifyFailed = 2;    // bad usage, or the call failed

struct VerifyReport {
  std::string text;  // one line per problem, then a summary
  int exit_code = kVerifyClean;
};

// `tenant` is the tenant id, for the summary line.
VerifyReport RenderVerifyReport(const std::string& tenant,
                                const v1::VerifyRecordingsResponse& response);

}  // namespace dialgrid::recording
