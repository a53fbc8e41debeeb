#include "tools/dialgridctl/ctl_context.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dialgrid::ctl {

absl::Status Ctl::Resolve(const ConfigSources& sources) {
  if (resolved_) return absl::OkStatus();
  auto c = ResolveConfig(sources);
  if (!c.ok()) return UsageError(c.status().message());
  config_ = std::move(*c);
  resolved_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<client::PeerChannel>> Ctl::Peer(const std::string& service) {
  if (auto it = peers_.find(service); it != peers_.end()) return it->second;
  if (config_.credential.empty()) {
    return UsageError(
        "no credential: give --credential or --credential-file, set DIALGRID_CREDENTIAL or "
        "DIALGRID_CREDENTIAL_FILE, or put credential= in the config file "
        "(~/.config/dialgrid/config)");
  }
  auto address = config_.endpoints.find(service);
  if (address == config_.endpoints.end()) {
    const ServiceInfo* info = nullptr;
    for (const auto& s : Services()) {
      if (s.key == service) info = &s;
    }
    return UsageError(absl::StrCat("no address for the ", service, " service: give --", service,
                                   " host:port, set ", info ? info->env : "", ", put ", service,
                                   "= in the config file, or give --run-dir of a local platform"));
  }
  client::PeerOptions o;
  o.name = service;
  o.address = address->second;
  o.credential = config_.credential;
  o.max_timeout = timeout();
  o.tls.enabled = config_.tls;
  o.tls.server_name = config_.server_name;
  if (!config_.ca_file.empty()) {
    auto pem = ReadFile(config_.ca_file);
    if (!pem.ok()) return UsageError(absl::StrCat("--ca-file: ", pem.status().message()));
    o.tls.root_certs_pem = *pem;
  }
  auto peer = client::PeerChannel::Create(std::move(o));
  if (!peer.ok()) return UsageError(peer.status().message());
  peers_[service] = *peer;
  return *peer;
}

absl::Status Ctl::PrepareStream(const std::string& service, grpc::ClientContext& ctx,
                                absl::Duration timeout) {
  auto peer = Peer(service);
  if (!peer.ok()) return peer.status();
  if (timeout != absl::InfiniteDuration()) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", config_.credential));
  return absl::OkStatus();
}

absl::Status Ctl::StatusOf(const std::string& service, const grpc::Status& status) {
  auto peer = Peer(service);
  if (!peer.ok()) return peer.status();
  return (*peer)->StatusOf(status);
}

absl::StatusOr<std::string> Ctl::TenantParent() const {
  if (config_.tenant.empty()) {
    return UsageError(
        "no tenant: give --tenant (or set DIALGRID_TENANT, or tenant= in the config file)");
  }
  return absl::StrCat("tenants/", config_.tenant);
}

absl::StatusOr<std::string> Ctl::Name(absl::string_view collection, absl::string_view arg) const {
  if (arg.empty()) return UsageError(absl::StrCat("an empty ", collection, " name"));
  if (absl::StrContains(arg, '/')) return std::string(arg);
  auto parent = TenantParent();
  if (!parent.ok()) {
    return UsageError(absl::StrCat("\"", arg, "\" is a bare id: give --tenant, or the full name (",
                                   "tenants/<tenant>/", collection, "/", arg, ")"));
  }
  return absl::StrCat(*parent, "/", collection, "/", arg);
}

void Ctl::Print(const google::protobuf::Message& message, const std::function<void()>& table) {
  if (json) {
    out_ << ToJson(message) << "\n";
  } else {
    table();
  }
}

}  // namespace dialgrid::ctl
