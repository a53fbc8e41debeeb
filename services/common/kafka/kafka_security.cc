#include "services/common/kafka/kafka_security.h"

#include <librdkafka/rdkafka.h>

#include <fstream>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/client_config.h"

namespace dialgrid::kafka {
namespace {

constexpr absl::string_view kReason = "INVALID_KAFKA_SECURITY";

std::mutex default_mu;
SecurityOptions& DefaultLocked() {
  static SecurityOptions* security = new SecurityOptions();
  return *security;
}

absl::Status Invalid(absl::string_view flag, absl::string_view description) {
  return InvalidField(flag, kReason, absl::StrCat("kafka security: ", description));
}

// The protocol in lower case, as librdkafka compares it (either case is
// accepted).
std::string Protocol(const SecurityOptions& s) { return absl::AsciiStrToLower(s.protocol); }
bool IsSasl(const SecurityOptions& s) {
  const std::string p = Protocol(s);
  return p == "sasl_plaintext" || p == "sasl_ssl";
}
bool IsTls(const SecurityOptions& s) {
  const std::string p = Protocol(s);
  return p == "ssl" || p == "sasl_ssl";
}

}  // namespace

absl::Status ValidateSecurity(const SecurityOptions& s) {
  const bool sasl = IsSasl(s);
  const bool tls = IsTls(s);
  if (!sasl && !tls && Protocol(s) != "plaintext") {
    return Invalid("kafka_security_protocol",
                   absl::StrCat("protocol \"", s.protocol,
                                "\" is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"));
  }
  if (sasl) {
    if (s.sasl_mechanism.empty()) {
      return Invalid("kafka_sasl_mechanism",
                     absl::StrCat(s.protocol,
                                  " needs a SASL mechanism: PLAIN, SCRAM-SHA-256 or "
                                  "SCRAM-SHA-512"));
    }
    if (s.sasl_mechanism != "PLAIN" && s.sasl_mechanism != "SCRAM-SHA-256" &&
        s.sasl_mechanism != "SCRAM-SHA-512") {
      return Invalid("kafka_sasl_mechanism",
                     absl::StrCat("SASL mechanism \"", s.sasl_mechanism,
                                  "\" is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"));
    }
    if (s.username.empty()) {
      return Invalid("kafka_sasl_username", absl::StrCat(s.protocol, " needs a SASL username"));
    }
    if (s.password.empty()) {
      return Invalid("kafka_sasl_password_file",
                     absl::StrCat(s.protocol, " needs a SASL password (from a file)"));
    }
  } else if (!s.sasl_mechanism.empty() || !s.username.empty() || !s.password.empty()) {
    // Credentials that would silently not be used: the protocol was forgotten.
    return Invalid(
        "kafka_security_protocol",
        absl::StrCat("SASL mechanism, username or password given with protocol ", s.protocol,
                     ", which does not use them (SASL_PLAINTEXT or SASL_SSL "
                     "does)"));
  }
  if (!s.ca_file.empty()) {
    if (!tls) {
      return Invalid("kafka_tls_ca_file", absl::StrCat("a CA file with protocol ", s.protocol,
                                                       ", which has no TLS (SSL or SASL_SSL has)"));
    }
    std::ifstream in(s.ca_file);
    if (!in) return Invalid("kafka_tls_ca_file", absl::StrCat("cannot read ", s.ca_file));
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> SecuritySettings(const SecurityOptions& s) {
  std::map<std::string, std::string> out = {{"security.protocol", s.protocol}};
  if (IsSasl(s)) {
    out["sasl.mechanism"] = s.sasl_mechanism;
    out["sasl.username"] = s.username;
    out["sasl.password"] = s.password;
  }
  if (!s.ca_file.empty()) out["ssl.ca.location"] = s.ca_file;
  return out;
}

absl::StatusOr<std::string> ConfigValueOf(rd_kafka_t* rk, absl::string_view name) {
  const std::string key(name);
  size_t size = 0;
  const rd_kafka_conf_t* conf = rd_kafka_conf(rk);
  // rd_kafka_conf_get takes a non-const conf but only reads it.
  auto* mutable_conf = const_cast<rd_kafka_conf_t*>(conf);
  if (rd_kafka_conf_get(mutable_conf, key.c_str(), nullptr, &size) != RD_KAFKA_CONF_OK) {
    return absl::NotFoundError(absl::StrCat("kafka: no setting ", name));
  }
  std::string value(size, '\0');
  if (rd_kafka_conf_get(mutable_conf, key.c_str(), value.data(), &size) != RD_KAFKA_CONF_OK) {
    return absl::NotFoundError(absl::StrCat("kafka: no setting ", name));
  }
  if (!value.empty() && value.back() == '\0') value.pop_back();
  return value;
}

void SetDefaultSecurity(SecurityOptions security) {
  std::lock_guard<std::mutex> lock(default_mu);
  DefaultLocked() = std::move(security);
}

SecurityOptions DefaultSecurity() {
  std::lock_guard<std::mutex> lock(default_mu);
  return DefaultLocked();
}

}  // namespace dialgrid::kafka
