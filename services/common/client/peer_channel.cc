#include "services/common/client/peer_channel.h"

#include <algorithm>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/core/errors.h"
#include "services/common/server/grpc_status.h"

namespace dialgrid::client {

absl::Time PeerDeadline(absl::Time now, absl::Time incoming, absl::Duration margin,
                        absl::Duration max_timeout) {
  return std::min(incoming - margin, now + max_timeout);
}

namespace {

absl::Status CheckOptions(const PeerOptions& options) {
  if (options.name.empty()) return absl::InvalidArgumentError("a peer needs a name");
  if (options.max_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer ", options.name, ": max_timeout must be positive"));
  }
  if (options.deadline_margin < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer ", options.name, ": deadline_margin must not be negative"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<PeerChannel>> PeerChannel::Create(PeerOptions options) {
  absl::Status st = CheckOptions(options);
  if (!st.ok()) return st;
  if (options.address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("peer ", options.name, ": no address"));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  // Calls spread over every address the target resolves to (the replicas
  // behind a headless Service, or "ipv4:a:1,b:2"); one that goes away is
  // skipped until it is back. A single address behaves as before.
  args.SetLoadBalancingPolicyName("round_robin");
  if (options.tls.enabled && options.tls.client_identity != nullptr) {
    // Mutual TLS: gRPC's file watcher presents the staged pair (and reads
    // the roots) again every interval; names checked as with SslCredentials.
    const PeerTlsOptions& tls = options.tls;
    const auto interval = static_cast<unsigned int>(
        std::max<int64_t>(1, absl::ToInt64Seconds(tls.reload_interval)));
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.client_identity->key_path(), tls.client_identity->cert_path(), tls.root_certs_file,
        interval);
    grpc::experimental::TlsChannelCredentialsOptions o;
    o.set_certificate_provider(provider);
    o.watch_identity_key_cert_pairs();
    if (!tls.root_certs_file.empty()) o.watch_root_certs();
    o.set_verify_server_certs(true);
    o.set_certificate_verifier(std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
    credentials = grpc::experimental::TlsCredentials(o);
    if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  } else if (options.tls.enabled) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls.root_certs_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls.server_name.empty()) args.SetSslTargetNameOverride(options.tls.server_name);
  }
  auto channel = grpc::CreateCustomChannel(options.address, credentials, args);
  return std::shared_ptr<PeerChannel>(new PeerChannel(std::move(options), std::move(channel)));
}

std::shared_ptr<PeerChannel> PeerChannel::Wrap(std::shared_ptr<grpc::Channel> channel,
                                               PeerOptions options) {
  return std::shared_ptr<PeerChannel>(new PeerChannel(std::move(options), std::move(channel)));
}

absl::Status PeerChannel::Prepare(grpc::ClientContext& ctx, const IncomingCall& incoming) const {
  absl::Time now = absl::Now();
  absl::Time deadline =
      PeerDeadline(now, incoming.deadline, options_.deadline_margin, options_.max_timeout);
  if (deadline <= now) {
    return WithMetadata(WithReason(absl::DeadlineExceededError(absl::StrCat(
                                       "no time left to call ", options_.name,
                                       " before the caller's deadline")),
                                   "PEER_DEADLINE_EXCEEDED"),
                        "peer", options_.name);
  }
  ctx.set_deadline(absl::ToChronoTime(deadline));
  if (!options_.credential.empty()) {
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options_.credential));
  }
  if (!incoming.request_id.empty()) ctx.AddMetadata("x-request-id", incoming.request_id);
  return absl::OkStatus();
}

absl::Status PeerChannel::StatusOf(const grpc::Status& status) const {
  absl::Status s = FromGrpcStatus(status);
  if (s.ok() || !ReasonOf(s).empty()) return s;
  // No ErrorInfo: gRPC's own verdict (the peer unreachable, our deadline) or
  // a server that is not a Dialgrid service.
  const char* reason = "PEER_CALL_FAILED";
  if (absl::IsUnavailable(s)) reason = "PEER_UNAVAILABLE";
  if (absl::IsDeadlineExceeded(s)) reason = "PEER_DEADLINE_EXCEEDED";
  return WithMetadata(WithReason(s, reason), "peer", options_.name);
}

}  // namespace dialgrid::client
