#pragma once

// What every command runs with: the resolved configuration, one channel per
// service (services/common/client's PeerChannel: TLS or plaintext, the
// credential on every call, a deadline on every call, the server's reason
// kept in the status), the output streams, and resource-name helpers.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/client/peer_channel.h"
#include "tools/dialgridctl/ctl_config.h"
#include "tools/dialgridctl/ctl_output.h"

namespace dialgrid::ctl {

class Ctl {
 public:
  Ctl(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  CtlFlags flags;     // filled by the command line
  bool json = false;  // --json

  // Resolves flags, environment and config file (once; before any command
  // that needs them).
  absl::Status Resolve(const ConfigSources& sources);
  const CtlConfig& config() const { return config_; }

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // The channel to a service ("tenancy", "contacts", ...). UsageError when
  // no credential or no address for it is configured.
  absl::StatusOr<std::shared_ptr<client::PeerChannel>> Peer(const std::string& service);

  // One unary call on `service` with the configured timeout.
  template <typename Service, typename Owner, typename Request, typename Response>
  absl::StatusOr<Response> Call(const std::string& service,
                                grpc::Status (Owner::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                                const Request& request) {
    auto peer = Peer(service);
    if (!peer.ok()) return peer.status();
    auto stub = Service::NewStub((*peer)->channel());
    return (*peer)->Call(*stub, method, request);
  }

  // A context for a streaming call: the credential, and a deadline of
  // `timeout` from now unless it is InfiniteDuration (a watch).
  absl::Status PrepareStream(const std::string& service, grpc::ClientContext& ctx,
                             absl::Duration timeout);
  // A finished stream's status, as Call reports it.
  absl::Status StatusOf(const std::string& service, const grpc::Status& status);

  absl::Duration timeout() const { return absl::Seconds(config_.timeout_seconds); }
  // Transfers (import, fetch): --timeout when given, else 10 minutes.
  absl::Duration transfer_timeout() const {
    return config_.timeout_given ? timeout() : absl::Minutes(10);
  }

  // "tenants/{tenant}" from --tenant (or its env / config); UsageError
  // without one.
  absl::StatusOr<std::string> TenantParent() const;
  // A resource name from what the user typed: a full name ("tenants/...",
  // anything with a '/') is kept; a bare id becomes
  // "tenants/{tenant}/{collection}/{id}" with the configured tenant.
  absl::StatusOr<std::string> Name(absl::string_view collection, absl::string_view arg) const;

  // Prints a message as JSON (--json) or calls `table`.
  void Print(const google::protobuf::Message& message, const std::function<void()>& table);

 private:
  std::ostream& out_;
  std::ostream& err_;
  CtlConfig config_;
  bool resolved_ = false;
  std::map<std::string, std::shared_ptr<client::PeerChannel>> peers_;
};

// An action a leaf command runs once the command line is parsed.
using Action = std::function<absl::Status(Ctl&)>;

}  // namespace dialgrid::ctl
