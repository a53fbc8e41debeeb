#include "services/compliance/application/compliance_manager.h"

#include "services/common/kafka/event_publisher.h"

namespace dialgrid::compliance {

events::OutboxRelayOptions RelayOptions() {
  events::OutboxRelayOptions o;
  o.service = "compliance";
  o.default_topic = kComplianceTopic;
  o.topic_by_type["dialgrid.compliance.v1.RegistryChanged"] = kRegistryTopic;
  o.topic_by_type["dialgrid.compliance.v1.RegistryDefined"] = kRegistryTopic;
  for (const char* type : {"DoNotCallChanged", "ConsentChanged", "EstablishedRelationshipChanged",
                           "SolicitationRefusalRecorded", "RuleSetChanged"}) {
    o.topic_by_type[std::string("dialgrid.compliance.v1.") + type] = kChangesTopic;
  }
  return o;
}

ComplianceManager::ComplianceManager(std::shared_ptr<ComplianceStore> store,
                                     std::shared_ptr<const geo::ZoneResolver> zones,
                                     std::vector<CallingHoursRule> presets,
                                     std::vector<std::unique_ptr<Registry>> registries,
                                     const Clock& clock, ComplianceOptions options)
    : store_(std::move(store)),
      zones_(std::move(zones)),
      presets_(std::move(presets)),
      clock_(clock),
      options_(std::move(options)) {
  SetRegistries({std::make_move_iterator(registries.begin()),
                 std::make_move_iterator(registries.end())});
}

event::v1::Envelope ComplianceManager::Event(const std::string& tenant, const std::string& subject,
                                             const google::protobuf::Message& payload) const {
  return kafka::MakeEnvelope(tenant, subject, payload, options_.producer, clock_);
}

event::v1::Envelope ComplianceManager::Event(const Actor& actor, const std::string& tenant,
                                             const std::string& subject,
                                             const google::protobuf::Message& payload) const {
  event::v1::Envelope e = Event(tenant, subject, payload);
  e.set_actor(actor.subject);
  return e;
}

}  // namespace dialgrid::compliance
