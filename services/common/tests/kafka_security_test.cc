// Kafka security settings (SASL, TLS) of the shared producer and consumer:
// which combinations are refused, that the accepted ones reach librdkafka
// (read back from the live client with rd_kafka_conf_get), and that they are
// used on the wire against dialgrid-broker (tests/fixtures). librdkafka 2.0.2's
// mock cluster, which dialgrid-broker runs, has no SASL and no TLS (its
// listeners are plaintext and it has no SaslHandshake / SaslAuthenticate
// handler), so a real login cannot be tested here: a SASL client must fail
// against it where a PLAINTEXT one succeeds.

#include "services/common/kafka/kafka_security.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/kafka/kafka_producer.h"
#include "tests/fixtures/servers.h"

#ifndef DIALGRID_TEST_DATA_DIR
#error "DIALGRID_TEST_DATA_DIR must name services/common/tests/testdata"
#endif

namespace dialgrid::kafka {
namespace {

constexpr char kPassword[] = "sasl-pw-4b8e1f";
const std::string kCaFile = std::string(DIALGRID_TEST_DATA_DIR) + "/peer_tls_cert.pem";

SecurityOptions Sasl(const std::string& protocol, const std::string& mechanism) {
  SecurityOptions s;
  s.protocol = protocol;
  s.sasl_mechanism = mechanism;
  s.username = "dialgrid-svc";
  s.password = kPassword;
  return s;
}

class KafkaSecurityTest : public ::testing::Test {
 protected:
  void TearDown() override { SetDefaultSecurity({}); }
};

TEST_F(KafkaSecurityTest, ValidCombinationsAreAccepted) {
  std::vector<SecurityOptions> ok = {SecurityOptions{}};
  SecurityOptions tls;
  tls.protocol = "SSL";
  ok.push_back(tls);
  tls.ca_file = kCaFile;
  ok.push_back(tls);
  for (const char* mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    ok.push_back(Sasl("SASL_PLAINTEXT", mech));
    SecurityOptions s = Sasl("SASL_SSL", mech);
    s.ca_file = kCaFile;
    ok.push_back(s);
  }
  ok.push_back(Sasl("sasl_ssl", "PLAIN"));  // either case, as librdkafka takes it
  for (const SecurityOptions& s : ok) {
    EXPECT_TRUE(ValidateSecurity(s).ok())
        << s.protocol << " " << s.sasl_mechanism << ": " << ValidateSecurity(s);
  }
}

TEST_F(KafkaSecurityTest, CombinationsThatCannotLogInAreRefusedNamingTheFlag) {
  struct Case {
    std::string label;
    SecurityOptions security;
    std::string field;
    std::string needle;
  };
  std::vector<Case> cases;
  {
    SecurityOptions s;
    s.protocol = "TLS";
    cases.push_back({"unknown protocol", s, "kafka_security_protocol", "\"TLS\""});
  }
  {
    SecurityOptions s = Sasl("SASL_SSL", "");
    cases.push_back(
        {"SASL without a mechanism", s, "kafka_sasl_mechanism", "needs a SASL mechanism"});
    s.sasl_mechanism = "GSSAPI";
    cases.push_back({"an unsupported mechanism", s, "kafka_sasl_mechanism", "\"GSSAPI\""});
  }
  {
    SecurityOptions s = Sasl("SASL_PLAINTEXT", "PLAIN");
    s.username.clear();
    cases.push_back({"SASL without a username", s, "kafka_sasl_username", "needs a SASL username"});
  }
  {
    SecurityOptions s = Sasl("SASL_SSL", "SCRAM-SHA-256");
    s.password.clear();
    cases.push_back(
        {"SASL without a password", s, "kafka_sasl_password_file", "needs a SASL password"});
  }
  {
    SecurityOptions s = Sasl("PLAINTEXT", "PLAIN");
    cases.push_back(
        {"credentials without SASL", s, "kafka_security_protocol", "does not use them"});
    s = SecurityOptions{};
    s.protocol = "SSL";
    s.username = "dialgrid-svc";
    cases.push_back(
        {"a username with SSL only", s, "kafka_security_protocol", "does not use them"});
  }
  {
    SecurityOptions s;
    s.ca_file = kCaFile;
    cases.push_back({"a CA file without TLS", s, "kafka_tls_ca_file", "has no TLS"});
    s = Sasl("SASL_SSL", "PLAIN");
    s.ca_file = "/nonexistent/ca.pem";
    cases.push_back({"an unreadable CA file", s, "kafka_tls_ca_file", "cannot read"});
  }
  for (const Case& c : cases) {
    absl::Status st = ValidateSecurity(c.security);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.label << ": " << st;
    EXPECT_EQ(ReasonOf(st), "INVALID_KAFKA_SECURITY") << c.label << ": " << st;
    EXPECT_EQ(FieldOf(st), c.field) << c.label << ": " << st;
    EXPECT_TRUE(absl::StrContains(st.message(), c.needle)) << c.label << ": " << st;
    EXPECT_FALSE(absl::StrContains(st.ToString(), kPassword)) << c.label << ": " << st;
  }
}

TEST_F(KafkaSecurityTest, ProducerAndConsumerCarryTheSettingsIntoLibrdkafka) {
  SecurityOptions s = Sasl("SASL_SSL", "SCRAM-SHA-512");
  s.ca_file = kCaFile;
  ProducerOptions po;
  po.bootstrap_servers = "127.0.0.1:1";  // clients connect lazily; nothing is sent here
  po.security = s;
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  ConsumerOptions co;
  co.bootstrap_servers = "127.0.0.1:1";
  co.group_id = "security-test";
  co.topics = {"t"};
  co.security = s;
  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer = KafkaConsumer::Create(
      co, [](const event::v1::Envelope&) { return absl::OkStatus(); }, nullptr);
  ASSERT_TRUE(consumer.ok()) << consumer.status();

  auto value = [](auto& client, const char* name) {
    absl::StatusOr<std::string> v = client.ConfigValue(name);
    EXPECT_TRUE(v.ok()) << name << ": " << v.status();
    return v.ok() ? *v : "<" + v.status().ToString() + ">";
  };
  for (const char* who : {"producer", "consumer"}) {
    SCOPED_TRACE(who);
    auto get = [&](const char* name) {
      return std::string(who) == "producer" ? value(**producer, name) : value(**consumer, name);
    };
    EXPECT_EQ(get("security.protocol"), "sasl_ssl");  // librdkafka's spelling
    EXPECT_EQ(get("sasl.mechanisms"), "SCRAM-SHA-512");
    EXPECT_EQ(get("sasl.username"), "dialgrid-svc");
    EXPECT_EQ(get("sasl.password"), kPassword);
    EXPECT_EQ(get("ssl.ca.location"), kCaFile);
  }
  EXPECT_EQ((*producer)->ConfigValue("no.such.setting").status().code(),
            absl::StatusCode::kNotFound);
  // A plaintext client stays plaintext.
  ProducerOptions plain;
  plain.bootstrap_servers = "127.0.0.1:1";
  plain.security = SecurityOptions{};
  absl::StatusOr<std::unique_ptr<KafkaProducer>> p2 = KafkaProducer::Create(plain);
  ASSERT_TRUE(p2.ok()) << p2.status();
  EXPECT_EQ(value(**p2, "security.protocol"), "plaintext");
}

TEST_F(KafkaSecurityTest, CreateRefusesAnInvalidCombination) {
  SecurityOptions s = Sasl("SASL_PLAINTEXT", "PLAIN");
  s.username.clear();
  ProducerOptions po;
  po.bootstrap_servers = "127.0.0.1:1";
  po.security = s;
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(po);
  EXPECT_EQ(ReasonOf(producer.status()), "INVALID_KAFKA_SECURITY") << producer.status();
  ConsumerOptions co;
  co.bootstrap_servers = "127.0.0.1:1";
  co.group_id = "g";
  co.topics = {"t"};
  co.security = s;
  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer = KafkaConsumer::Create(
      co, [](const event::v1::Envelope&) { return absl::OkStatus(); }, nullptr);
  EXPECT_EQ(ReasonOf(consumer.status()), "INVALID_KAFKA_SECURITY") << consumer.status();
}

TEST_F(KafkaSecurityTest, ClientsWithoutSettingsOfTheirOwnUseTheProcessDefault) {
  // As compliance's consumers and the platform clients' tenancy consumer are
  // built: bootstrap servers, group and topics only.
  SetDefaultSecurity(Sasl("SASL_PLAINTEXT", "SCRAM-SHA-256"));
  ConsumerOptions co;
  co.bootstrap_servers = "127.0.0.1:1";
  co.group_id = "g";
  co.topics = {"t"};
  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer = KafkaConsumer::Create(
      co, [](const event::v1::Envelope&) { return absl::OkStatus(); }, nullptr);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  EXPECT_EQ(*(*consumer)->ConfigValue("security.protocol"), "sasl_plaintext");
  EXPECT_EQ(*(*consumer)->ConfigValue("sasl.mechanisms"), "SCRAM-SHA-256");
  ProducerOptions po;
  po.bootstrap_servers = "127.0.0.1:1";
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_EQ(*(*producer)->ConfigValue("sasl.username"), "dialgrid-svc");
}

TEST_F(KafkaSecurityTest, SaslIsSpokenOnTheWire) {
  absl::StatusOr<std::unique_ptr<testing::KafkaBroker>> broker =
      testing::KafkaBroker::Start({"events"}, 1);
  ASSERT_TRUE(broker.ok()) << broker.status();
  ProducerOptions po;
  po.bootstrap_servers = (*broker)->bootstrap();
  po.security = SecurityOptions{};
  absl::StatusOr<std::unique_ptr<KafkaProducer>> plain = KafkaProducer::Create(po);
  ASSERT_TRUE(plain.ok()) << plain.status();
  absl::Status st = (*plain)->Ping(absl::Seconds(10));
  ASSERT_TRUE(st.ok()) << "the broker does not answer a plaintext client: " << st;

  // The same broker refuses a SASL client: the mock cluster has no SASL, so
  // the handshake librdkafka starts because of the settings cannot finish.
  po.security = Sasl("SASL_PLAINTEXT", "PLAIN");
  absl::StatusOr<std::unique_ptr<KafkaProducer>> sasl = KafkaProducer::Create(po);
  ASSERT_TRUE(sasl.ok()) << sasl.status();
  st = (*sasl)->Ping(absl::Seconds(3));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(ReasonOf(st), "KAFKA_UNAVAILABLE") << st;
}

}  // namespace
}  // namespace dialgrid::kafka
