// dialgrid-recording-verify: checks a tenant's recording chain and every
// stored recording against it (VerifyRecordings) and prints what does not
// match. Exit 0: everything matches; 1: problems found; 2: bad usage or the
// call failed.
//
//   dialgrid-recording-verify --target recording:7010 --tenant acme
//       --credential_file /run/secrets/auditor [--check_audio] [--json]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "dialgrid/recording/v1/recording.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/client/peer_channel.h"
#include "services/common/core/errors.h"
#include "services/recording/tools/verify_report.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "dialgrid-recording-verify: %s\n", message.c_str());
  return dialgrid::recording::kVerifyFailed;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dialgrid;
  CLI::App app{"Checks a tenant's recording chain and stored recordings (VerifyRecordings)"};
  std::string target, tenant, credential_file, ca_file, server_name;
  bool check_audio = false, json = false, tls = false;
  int timeout_seconds = 600;
  app.add_option("--target", target, "the recording service, host:port")->required();
  app.add_option("--tenant", tenant, "the tenant id (not its resource name)")->required();
  app.add_option("--credential_file", credential_file,
                 "file holding the secret of a tenant-admin or vendor-admin credential "
                 "(default: $DIALGRID_CREDENTIAL)")
      ->check(CLI::ExistingFile);
  app.add_flag("--check_audio", check_audio,
               "also decrypt and authenticate every recording (reads all the audio)");
  app.add_flag("--json", json, "print the VerifyRecordings answer as JSON instead of text");
  app.add_flag("--tls", tls, "connect with TLS");
  app.add_option("--ca_file", ca_file, "PEM roots for --tls (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_option("--server_name", server_name, "the name the server's certificate carries");
  app.add_option("--timeout_seconds", timeout_seconds, "deadline of the call")
      ->check(CLI::Range(1, 86400));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help: 0; anything else is bad usage (2, not CLI11's own codes).
    return app.exit(e) == 0 ? 0 : recording::kVerifyFailed;
  }

  std::string credential;
  if (!credential_file.empty()) {
    std::ifstream in(credential_file);
    std::stringstream text;
    text << in.rdbuf();
    credential = std::string(absl::StripAsciiWhitespace(text.str()));
  } else if (const char* env = std::getenv("DIALGRID_CREDENTIAL"); env != nullptr) {
    credential = std::string(absl::StripAsciiWhitespace(env));
  }
  if (credential.empty()) {
    return Fail("no credential: give --credential_file or set DIALGRID_CREDENTIAL");
  }

  client::PeerOptions options;
  options.name = "recording";
  options.address = target;
  options.credential = credential;
  options.max_timeout = absl::Seconds(timeout_seconds);
  options.tls.enabled = tls;
  options.tls.server_name = server_name;
  if (!ca_file.empty()) {
    std::ifstream in(ca_file);
    std::stringstream pem;
    pem << in.rdbuf();
    options.tls.root_certs_pem = pem.str();
  }
  auto peer = client::PeerChannel::Create(options);
  if (!peer.ok()) return Fail(peer.status().ToString());
  client::PeerClient<recording::v1::RecordingService> client(*peer);

  recording::v1::VerifyRecordingsRequest req;
  req.set_parent("tenants/" + tenant);
  req.set_check_audio(check_audio);
  auto resp = client.Call(&recording::v1::RecordingService::Stub::VerifyRecordings, req);
  if (!resp.ok()) {
    const std::string reason = ReasonOf(resp.status());
    return Fail(absl::StatusCodeToString(resp.status().code()) +
                (reason.empty() ? "" : " " + reason) + ": " + std::string(resp.status().message()));
  }
  recording::VerifyReport report = recording::RenderVerifyReport(tenant, *resp);
  if (json) {
    std::string out;
    google::protobuf::util::JsonPrintOptions print;
    print.add_whitespace = true;
    print.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(*resp, &out, print).ok()) {
      return Fail("the answer does not print as JSON");
    }
    std::fputs(out.c_str(), stdout);
  } else {
    std::fputs(report.text.c_str(), stdout);
  }
  return report.exit_code;
}
