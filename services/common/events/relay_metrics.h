#pragma once

#include <string>

#include "prometheus/registry.h"
#include "services/common/events/outbox_relay.h"

namespace dialgrid::events {

// Registers dialgrid_<service>_outbox_events_total{result="published"|
// "malformed"} and dialgrid_<service>_outbox_relay_errors_total and points
// the relay options' callbacks at them. The registry must outlive the relay.
void InstrumentRelay(prometheus::Registry& registry, const std::string& service,
                     OutboxRelayOptions& options);

}  // namespace dialgrid::events
