#pragma once

// How every Kafka client of a process logs in to the cluster: librdkafka's
// own security settings (security.protocol, sasl.*, ssl.ca.location), checked
// as a whole before any client is made.

#include <map>
#include <string>

#include "absl/status/status.h"

namespace dialgrid::kafka {

struct SecurityOptions {
  // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (librdkafka's
  // security.protocol; like librdkafka, either case).
  std::string protocol = "PLAINTEXT";
  // SASL_* only, required there: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
  std::string sasl_mechanism;
  // SASL_* only, both required there.
  std::string username;
  std::string password;
  // SSL / SASL_SSL only: PEM roots the brokers' certificates chain to;
  // empty: the system's roots.
  std::string ca_file;
};

// OK when the combination is one a client can log in with; else
// INVALID_ARGUMENT INVALID_KAFKA_SECURITY naming what is wrong (the field is
// the service flag: kafka_security_protocol, kafka_sasl_mechanism,
// kafka_sasl_username, kafka_sasl_password_file, kafka_tls_ca_file). Refused:
// an unknown protocol or mechanism; SASL without a mechanism, a username or a
// password; SASL settings without SASL; a CA file without TLS, or one that
// cannot be read. Never quotes the password.
absl::Status ValidateSecurity(const SecurityOptions& security);

// The librdkafka settings for `security` (validated first).
std::map<std::string, std::string> SecuritySettings(const SecurityOptions& security);

// The settings of clients whose options leave them unset: one Kafka cluster
// per process, so the runtime sets them once at start-up (ConnectBackends)
// and every producer and consumer of the process uses them, including those
// a service builds from the bootstrap servers alone. Thread-safe; PLAINTEXT
// until set.
void SetDefaultSecurity(SecurityOptions security);
SecurityOptions DefaultSecurity();

}  // namespace dialgrid::kafka
