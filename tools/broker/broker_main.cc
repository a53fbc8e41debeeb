// dialgrid-broker: serves the Kafka protocol on loopback through librdkafka's
// in-process mock cluster, creates the requested topics, publishes its
// bootstrap address and runs until SIGTERM or SIGINT.
//
//   dialgrid-broker --brokers=1 --topics=events:6,commands --partitions=3
//                   --address_file=/tmp/x/address
//
// Prints `bootstrap=<host:port,...>` on stdout; writes the same address to
// --address_file (atomically) once every topic exists.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "services/common/core/log.h"

ABSL_FLAG(int32_t, brokers, 1, "Number of mock brokers (each gets its own loopback port).");
ABSL_FLAG(std::vector<std::string>, topics, {},
          "Topics to create, comma separated, each `name` or `name:partitions`.");
ABSL_FLAG(int32_t, partitions, 3, "Partitions of a topic given without `:partitions`.");
ABSL_FLAG(std::string, address_file, "",
          "If set, the bootstrap address is written here (temp file + rename) once ready.");

namespace dialgrid {
namespace {

constexpr absl::string_view kComponent = "broker";

struct TopicSpec {
  std::string name;
  int partitions;
};

absl::StatusOr<std::vector<TopicSpec>> ParseTopics(const std::vector<std::string>& items,
                                                   int default_partitions) {
  std::vector<TopicSpec> specs;
  for (const std::string& item : items) {
    if (item.empty()) continue;
    std::vector<std::string> parts = absl::StrSplit(item, absl::MaxSplits(':', 1));
    TopicSpec spec{parts[0], default_partitions};
    if (spec.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty topic name in '", item, "'"));
    }
    if (parts.size() == 2 &&
        (!absl::SimpleAtoi(parts[1], &spec.partitions) || spec.partitions < 1)) {
      return absl::InvalidArgumentError(absl::StrCat("bad partition count in '", item, "'"));
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("rename ", tmp, " -> ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

// Owns the rd_kafka_t that hosts the mock cluster, and the cluster itself.
class MockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<MockCluster>> Create(int broker_count) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The host handle never talks to a broker itself; keep it quiet.
    if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(errstr);
    }
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) {  // conf is only consumed on success.
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(absl::StrCat("rd_kafka_new: ", errstr));
    }
    rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, broker_count);
    if (cluster == nullptr) {
      rd_kafka_destroy(rk);
      return absl::InternalError("rd_kafka_mock_cluster_new failed");
    }
    return std::unique_ptr<MockCluster>(new MockCluster(rk, cluster));
  }

  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }

  absl::Status CreateTopic(const TopicSpec& spec, int replication_factor) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, spec.name.c_str(),
                                                         spec.partitions, replication_factor);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(
          absl::StrCat("create topic ", spec.name, ": ", rd_kafka_err2str(err)));
    }
    return absl::OkStatus();
  }

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  MockCluster(rd_kafka_t* rk, rd_kafka_mock_cluster_t* cluster) : rk_(rk), cluster_(cluster) {}
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* cluster_;
};

absl::Status Run() {
  // Block the stop signals before librdkafka starts threads, so they inherit
  // the mask and the signal is only ever taken by sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); rc != 0) {
    return absl::InternalError(absl::StrCat("pthread_sigmask: ", std::strerror(rc)));
  }

  const int brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers < 1) return absl::InvalidArgumentError("--brokers must be >= 1");
  const int default_partitions = absl::GetFlag(FLAGS_partitions);
  if (default_partitions < 1) return absl::InvalidArgumentError("--partitions must be >= 1");
  absl::StatusOr<std::vector<TopicSpec>> topics =
      ParseTopics(absl::GetFlag(FLAGS_topics), default_partitions);
  if (!topics.ok()) return topics.status();

  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Create(brokers);
  if (!cluster.ok()) return cluster.status();
  const int replication_factor = std::min(brokers, 3);
  for (const TopicSpec& spec : *topics) {
    if (absl::Status s = (*cluster)->CreateTopic(spec, replication_factor); !s.ok()) return s;
    Log(LogLevel::kInfo, kComponent, "topic created",
        {{"topic", spec.name}, {"partitions", spec.partitions}});
  }

  const std::string bootstrap = (*cluster)->bootstraps();
  if (const std::string path = absl::GetFlag(FLAGS_address_file); !path.empty()) {
    if (absl::Status s = WriteFileAtomically(path, bootstrap); !s.ok()) return s;
  }
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);
  Log(LogLevel::kInfo, kComponent, "ready", {{"bootstrap", bootstrap}, {"brokers", brokers}});

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  Log(LogLevel::kInfo, kComponent, "stopping", {{"signal", strsignal(sig)}});
  return absl::OkStatus();  // `cluster` is destroyed on the way out.
}

}  // namespace
}  // namespace dialgrid

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::Status status = dialgrid::Run();
  if (!status.ok()) {
    dialgrid::Log(dialgrid::LogLevel::kError, dialgrid::kComponent, "broker failed",
                  {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
