#pragma once

// Internal to services/common/kafka: reading back a live client's settings.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace dialgrid::kafka {

// `name` as librdkafka holds it for `rk` (rd_kafka_conf + rd_kafka_conf_get);
// NOT_FOUND for an unknown name.
absl::StatusOr<std::string> ConfigValueOf(rd_kafka_t* rk, absl::string_view name);

}  // namespace dialgrid::kafka
