#pragma once

// Calls to other Dialgrid services ("peers"): one channel per peer per
// process, TLS or plaintext, this service's credential on every call, the
// deadline derived from the call being served, and failures as absl::Status
// with the peer's reason. See services/common/README.md, "Calling a peer".
//
//   // once, at start-up (or PlatformClients::ConnectPeer, which fills TLS and
//   // the credential from the platform's options):
//   auto contacts = PeerChannel::Create(options);   // name, address, tls, credential, cap
//   PeerClient<contacts::v1::ContactsService> client(*contacts);
//   // in a handler, with the CallContext of the call being served:
//   DG_ASSIGN_OR_RETURN(contacts::v1::Contact c,
//                       client.Call(&contacts::v1::ContactsService::Stub::GetContact, req, call));

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/tls/tls_files.h"

namespace dialgrid::client {

// How the channel is secured: plaintext unless `enabled`.
struct PeerTlsOptions {
  bool enabled = false;
  // PEM roots that the peer's certificate must chain to; empty: the system's.
  std::string root_certs_pem;
  // The name the certificate must carry when it is not the address's host
  // (an IP address, a test certificate); empty: the host of the address.
  std::string server_name;
  // Mutual TLS: this service's client certificate, presented to peers that
  // verify clients (--tls_client_ca_file); none when null. Followed on disk
  // (shared by every peer channel of the process): a renewed pair is
  // presented from the next handshake on, so a long-running pod does not
  // outlive its certificate. With it, the roots are read from
  // `root_certs_file` (followed too; empty: the system's roots) rather
  // than root_certs_pem.
  std::shared_ptr<TlsFiles> client_identity;
  std::string root_certs_file;
  // How often the followed files are read again (at least 1 s).
  absl::Duration reload_interval = absl::Seconds(60);
};

struct PeerOptions {
  std::string name;     // "contacts": in errors (metadata "peer")
  std::string address;  // gRPC target, e.g. "contacts:7002" or "127.0.0.1:7002"
  PeerTlsOptions tls;
  // Sent as "authorization: Bearer <credential>" on every call (this
  // service's ROLE_PLATFORM_SERVICE secret); nothing when empty.
  std::string credential;
  // The longest a call may take: the cap of a deadline derived from the
  // incoming call, and the timeout of a call made outside of one.
  absl::Duration max_timeout = absl::Seconds(2);
  // Left to the caller to answer its own client after the peer's deadline.
  absl::Duration deadline_margin = absl::Milliseconds(20);
};

// The call being served that an outgoing call is made for. Default: none
// (a background task), so the peer's max_timeout applies.
struct IncomingCall {
  IncomingCall() = default;
  explicit IncomingCall(absl::Time due, std::string id = "")
      : deadline(due), request_id(std::move(id)) {}
  // From the CallContext a handler gets (anything with `deadline` and
  // `request_id`), so `client.Call(method, request, call)` reads naturally.
  template <typename Call,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<Call>, IncomingCall>>,
            typename = decltype(std::declval<const Call&>().deadline),
            typename = decltype(std::declval<const Call&>().request_id)>
  IncomingCall(const Call& call)  // NOLINT(google-explicit-constructor)
      : deadline(call.deadline), request_id(call.request_id) {}

  absl::Time deadline = absl::InfiniteFuture();
  std::string request_id;  // forwarded as x-request-id when set
};

// The deadline of a call to a peer made at `now` while serving a call due at
// `incoming`: `margin` before it, and no later than now + `max_timeout`. At or
// before `now` when no time is left.
absl::Time PeerDeadline(absl::Time now, absl::Time incoming, absl::Duration margin,
                        absl::Duration max_timeout);

// One peer service: its channel and how every call to it is made. Thread-safe;
// share one per peer in a process (gRPC multiplexes calls on the channel).
class PeerChannel {
 public:
  // INVALID_ARGUMENT without a name or an address, or with a max_timeout that
  // is not positive. The channel connects lazily (a peer that is down at
  // start-up is not an error; its calls fail with UNAVAILABLE until it is up).
  static absl::StatusOr<std::shared_ptr<PeerChannel>> Create(PeerOptions options);
  // Over a channel made elsewhere (options.address and options.tls unused;
  // the options are not checked: a max_timeout that is not positive fails
  // every call with DEADLINE_EXCEEDED).
  static std::shared_ptr<PeerChannel> Wrap(std::shared_ptr<grpc::Channel> channel,
                                           PeerOptions options);

  const std::string& name() const { return options_.name; }
  const PeerOptions& options() const { return options_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Readies `ctx` for one call made for `incoming`: the derived deadline, the
  // credential and the request id. DEADLINE_EXCEEDED (PEER_DEADLINE_EXCEEDED)
  // when the incoming call has no time left for it.
  absl::Status Prepare(grpc::ClientContext& ctx, const IncomingCall& incoming) const;

  // A finished call's status as absl::Status. What the peer said is kept
  // (code, message, reason, metadata and field: FromGrpcStatus); a failure
  // the peer did not describe (unreachable, our deadline, a transport error)
  // gets reason PEER_UNAVAILABLE, PEER_DEADLINE_EXCEEDED or PEER_CALL_FAILED
  // and metadata peer=<name>, code unchanged.
  absl::Status StatusOf(const grpc::Status& status) const;

  // One unary call: `(stub.*method)(ctx, request, &response)` with a context
  // from Prepare, the status through StatusOf. Blocks the calling thread (call
  // from an executor thread, as ServeUnary handlers run).
  template <typename Stub, typename Owner, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub& stub,
                                grpc::Status (Owner::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                                const Request& request, const IncomingCall& incoming = {}) const {
    static_assert(std::is_base_of_v<Owner, Stub>, "method must be a method of the stub");
    grpc::ClientContext ctx;
    absl::Status prepared = Prepare(ctx, incoming);
    if (!prepared.ok()) return prepared;
    Response response;
    grpc::Status st = (stub.*method)(&ctx, request, &response);
    if (!st.ok()) return StatusOf(st);
    return response;
  }

 private:
  PeerChannel(PeerOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)), channel_(std::move(channel)) {}

  PeerOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A typed client of one service of a peer (`Service` is the generated class,
// e.g. contacts::v1::ContactsService): its stub on the peer's channel.
template <typename Service>
class PeerClient {
 public:
  explicit PeerClient(std::shared_ptr<PeerChannel> peer)
      : peer_(std::move(peer)), stub_(Service::NewStub(peer_->channel())) {}

  // client.Call(&Service::Stub::GetFoo, request, call) -> StatusOr<Foo>.
  template <typename Owner, typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Owner::*method)(grpc::ClientContext*,
                                                              const Request&, Response*),
                                const Request& request, const IncomingCall& incoming = {}) const {
    return peer_->Call(*stub_, method, request, incoming);
  }

  const PeerChannel& peer() const { return *peer_; }

 private:
  std::shared_ptr<PeerChannel> peer_;
  std::unique_ptr<typename Service::Stub> stub_;
};

}  // namespace dialgrid::client
