#pragma once

// The compliance logic: decides dials (fail-closed), manages rule sets,
// do-not-call lists, consent and registries, applies call and contact
// events. Storage, Kafka and gRPC stay behind ports; the caller's identity
// comes in as plain values. One class (the service's RPCs map onto it), its
// methods in one file per concern:
//   dial_decisions.cc  CheckDial, ScrubNumbers, GetAbandonRate (Decide)
//   rule_sets.cc       UpdateRuleSet, GetRuleSet, ListPresets
//   do_not_call.cc     Add/Remove/Check/List do-not-call, contact events
//   consents.cc        Record/Revoke/Get/List consents
//   relationships.cc   Record/List established business relationships and
//                      solicitation refusals
//   registries.cc      ListRegistries, UpdateRegistry, PruneRegistryOverlay,
//                      overlay replay and RegistryChanged events
//   call_events.cc     HandleEvent (contacts, dialing), RecordCallOutcome,
//                      ListDialRecords

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/common/core/clock.h"
#include "services/common/events/outbox_relay.h"
#include "services/common/geo/time_zones.h"
#include "services/compliance/application/registry.h"
#include "services/compliance/domain/calling_window.h"
#include "services/compliance/domain/rule_set.h"
#include "services/compliance/domain/statutory_rules.h"
#include "services/compliance/ports/compliance_store.h"

namespace dialgrid::compliance {

// Topics compliance publishes on.
inline constexpr char kComplianceTopic[] = "compliance";
// RegistryChanged goes to a topic of its own: every replica consumes it, and
// it must not make each replica read every dial decision.
inline constexpr char kRegistryTopic[] = "compliance-registries";
// Changes of a tenant's lists and records (do-not-call, consent,
// relationships, refusals, rule sets) likewise: a few a minute beside
// thousands of decisions a second, for whoever follows the changes alone
// (tenancy's audit log).
inline constexpr char kChangesTopic[] = "compliance-changes";

// How compliance's outbox relay routes its events (the topics above).
events::OutboxRelayOptions RelayOptions();

// Who is asking.
struct Actor {
  std::string subject;        // credential subject, for the audit
  bool vendor_admin = false;  // may change vendor-controlled fields
};

struct ComplianceOptions {
  std::string producer = "compliance";
  absl::Duration audit_retention = absl::Hours(24 * 90);
  // How long a campaign's abandon counts are reused between reads.
  absl::Duration abandon_cache_ttl = absl::Seconds(1);
  int max_scrub_entries = 1000;
  int max_dnc_numbers = 10000;
  int max_registry_numbers = 100000;
  // Numbers one message of UploadRegistryNumbers may carry.
  int max_upload_message_numbers = 10000;
  // Numbers a registry created over the API may hold (each costs every
  // replica memory: its overlay is kept in full).
  int64_t max_created_registry_numbers = 1000000;
  // The law's consent rows, caps and lockouts (data/*.tsv, loaded by main
  // with LoadStatutoryRules). Empty tables apply none of them: tests that
  // exercise only tenant rules leave them empty.
  StatutoryRules statutory;
  // Called with every decision taken (metrics).
  std::function<void(const v1::DialDecision&)> on_decision;
};

// Whether a decision spends an attempt.
enum class DialUse {
  kDial,   // CheckDial: an allowed dial is counted against the caps at once
  kScrub,  // a scrub: nothing is counted
};

// One dial to decide, parsed and authorized.
struct DialRequest {
  std::string tenant;
  std::string campaign_id;   // the campaign's id within the tenant
  std::string campaign;      // its name, as recorded in the decision
  std::string contact;       // the contact's name, "" for none
  std::string phone_number;  // as given (normalized by the decision)
  v1::Callee callee;
  type::v1::DialingMode mode = type::v1::DIALING_MODE_UNSPECIFIED;
  absl::Time when;  // the time the rules are evaluated at
  DialUse use = DialUse::kDial;
  std::string request_id;  // "" for none
  // Never UNSPECIFIED here: the request's unset purpose is TELEMARKETING.
  type::v1::CallPurpose purpose = type::v1::CALL_PURPOSE_TELEMARKETING;
  std::string debt;  // required for DEBT_COLLECTION
  std::string product;  // the product solicited ("" none named)
};

class ComplianceManager {
 public:
  ComplianceManager(std::shared_ptr<ComplianceStore> store,
                    std::shared_ptr<const geo::ZoneResolver> zones,
                    std::vector<CallingHoursRule> presets,
                    std::vector<std::unique_ptr<Registry>> registries, const Clock& clock,
                    ComplianceOptions options);

  absl::StatusOr<v1::DialDecision> CheckDial(const Actor& actor, const v1::CheckDialRequest& req);
  absl::StatusOr<v1::ScrubNumbersResponse> ScrubNumbers(const Actor& actor,
                                                        const v1::ScrubNumbersRequest& req);

  absl::StatusOr<v1::RuleSet> UpdateRuleSet(const Actor& actor,
                                            const v1::UpdateRuleSetRequest& req);
  absl::StatusOr<v1::RuleSet> GetRuleSet(const v1::GetRuleSetRequest& req);
  v1::ListCallingHoursPresetsResponse ListPresets() const;

  absl::StatusOr<v1::AddDoNotCallNumbersResponse> AddDoNotCall(
      const Actor& actor, const v1::AddDoNotCallNumbersRequest& req);
  absl::StatusOr<v1::RemoveDoNotCallNumbersResponse> RemoveDoNotCall(
      const Actor& actor, const v1::RemoveDoNotCallNumbersRequest& req);
  absl::StatusOr<v1::CheckDoNotCallResponse> CheckDoNotCall(const v1::CheckDoNotCallRequest& req);
  absl::StatusOr<v1::ListDoNotCallEntriesResponse> ListDoNotCallEntries(
      const v1::ListDoNotCallEntriesRequest& req);

  // The registries of `parent`'s view: "vendor" sees every one with its
  // scope; "tenants/{tenant}" every registry but the suppression lists that
  // do not apply to it, and no list's tenants.
  v1::ListRegistriesResponse ListRegistries(const std::string& parent = "vendor") const;
  // Registries over the API (registries.cc).
  absl::StatusOr<v1::Registry> CreateRegistry(const Actor& actor,
                                              const v1::CreateRegistryRequest& req);
  absl::StatusOr<v1::Registry> UpdateRegistryScope(const Actor& actor,
                                                   const v1::UpdateRegistryScopeRequest& req);
  absl::StatusOr<v1::DeleteRegistryResponse> DeleteRegistry(const Actor& actor,
                                                            const v1::DeleteRegistryRequest& req);
  // An upload in progress: Begin with the first message, Upload every
  // message (the first included; each one's numbers are durable when it
  // returns, `progress` updated), Finish when the caller closed its side
  // (the upload's as_of noted; `progress` becomes the report).
  struct RegistryUpload {
    std::shared_ptr<Registry> registry;
    std::string name;
    bool add = true;
    bool at_once = true;
    std::string reason;
    std::optional<absl::CivilDay> as_of;
    v1::UploadRegistryNumbersResponse progress;
    std::vector<v1::RejectedNumber> rejected_samples;  // the report's first 100
  };
  absl::StatusOr<RegistryUpload> BeginRegistryUpload(const Actor& actor,
                                                     const v1::UploadRegistryNumbersRequest& first);
  absl::Status UploadRegistryNumbers(const Actor& actor, RegistryUpload& upload,
                                     const v1::UploadRegistryNumbersRequest& msg);
  absl::Status FinishRegistryUpload(const Actor& actor, RegistryUpload& upload);
  absl::StatusOr<v1::UpdateRegistryResponse> UpdateRegistry(const Actor& actor,
                                                            const v1::UpdateRegistryRequest& req);
  absl::StatusOr<v1::PruneRegistryOverlayResponse> PruneRegistryOverlay(
      const Actor& actor, const v1::PruneRegistryOverlayRequest& req);
  // Defines the registries created over the API (their stored
  // definitions) and replays every registry's stored additions and removals
  // into this replica's overlays (on start, before serving).
  // FAILED_PRECONDITION REGISTRY_DEFINED_TWICE when a created registry has
  // the id of one loaded from an index here.
  absl::Status LoadRegistryOverlays();
  // RegistryChanged and RegistryDefined events from the
  // `compliance-registries` topic (every replica reads them in a consumer
  // group of its own); other types are ignored. A change of a registry this
  // replica does not know yet reloads the stored definitions first.
  absl::Status HandleRegistryEvent(const event::v1::Envelope& event);

  absl::StatusOr<v1::Consent> RecordConsent(const Actor& actor,
                                            const v1::RecordConsentRequest& req);
  absl::StatusOr<v1::Consent> RevokeConsent(const Actor& actor,
                                            const v1::RevokeConsentRequest& req);
  absl::StatusOr<v1::Consent> GetConsent(const v1::GetConsentRequest& req);
  absl::StatusOr<v1::ListConsentsResponse> ListConsents(const v1::ListConsentsRequest& req);

  // Established business relationships and Art. 17 refusals
  // (relationships.cc).
  absl::StatusOr<v1::EstablishedRelationship> RecordEstablishedRelationship(
      const Actor& actor, const v1::RecordEstablishedRelationshipRequest& req);
  absl::StatusOr<v1::ListEstablishedRelationshipsResponse> ListEstablishedRelationships(
      const v1::ListEstablishedRelationshipsRequest& req);
  absl::StatusOr<v1::SolicitationRefusal> RecordSolicitationRefusal(
      const Actor& actor, const v1::RecordSolicitationRefusalRequest& req);
  absl::StatusOr<v1::ListSolicitationRefusalsResponse> ListSolicitationRefusals(
      const v1::ListSolicitationRefusalsRequest& req);

  absl::StatusOr<v1::AbandonRate> GetAbandonRate(const v1::GetAbandonRateRequest& req);
  // A call of the tenant's own dialer, applied as a CallAttemptEnded event
  // (call_events.cc).
  absl::StatusOr<v1::CallOutcomeRecorded> RecordCallOutcome(
      const Actor& actor, const v1::RecordCallOutcomeRequest& req);
  absl::StatusOr<v1::ListDialRecordsResponse> ListDialRecords(
      const v1::ListDialRecordsRequest& req);

  // Events from the `contacts` topic (ContactErased, ContactOptedOut: the
  // numbers go on the tenant's list) and the `dialing` topic
  // (CallAttemptEnded: attempts, abandoned calls). Other types are ignored.
  absl::Status HandleEvent(const event::v1::Envelope& event);

 private:
  absl::StatusOr<std::shared_ptr<const CompiledRuleSet>> RuleSetOf(const std::string& tenant,
                                                                   bool reload);
  absl::StatusOr<v1::DialDecision> Decide(const Actor& actor, const DialRequest& dial);
  absl::StatusOr<AbandonCounts> CachedAbandonCounts(const std::string& tenant,
                                                    const std::string& campaign);
  event::v1::Envelope Event(const std::string& tenant, const std::string& subject,
                            const google::protobuf::Message& payload) const;
  // The event of a change a credential made through the API: `actor` is
  // its actor, so the audit log records it.
  event::v1::Envelope Event(const Actor& actor, const std::string& tenant,
                            const std::string& subject,
                            const google::protobuf::Message& payload) const;
  // The registries, a snapshot (created ones come and go at run time).
  struct RegistrySet {
    std::vector<std::shared_ptr<Registry>> all;
    std::set<std::string> dnc_ids;  // DO_NOT_CALL registries: rule sets may name them
    std::shared_ptr<Registry> Find(const std::string& id) const;
  };
  std::shared_ptr<const RegistrySet> Registries() const;
  void SetRegistries(std::vector<std::shared_ptr<Registry>> all);
  std::shared_ptr<Registry> FindRegistry(const std::string& id) const;
  // Defines the created registries stored but not known here, with their
  // overlays (start, and a change of an unknown registry).
  absl::Status LoadRegistryDefinitions();
  absl::Status LoadOverlay(Registry& r);
  absl::Status HandleRegistryDefined(const v1::RegistryDefined& e);
  absl::StatusOr<std::shared_ptr<Registry>> CreatedRegistryOf(const std::string& name);
  absl::Status ApplyDoNotCallEvent(const event::v1::Envelope& event,
                                   const google::protobuf::RepeatedPtrField<std::string>& numbers,
                                   const std::string& reason);

  std::shared_ptr<ComplianceStore> store_;
  std::shared_ptr<const geo::ZoneResolver> zones_;
  std::vector<CallingHoursRule> presets_;
  mutable std::mutex registries_mu_;
  std::shared_ptr<const RegistrySet> registries_;  // guarded by registries_mu_
  const Clock& clock_;
  ComplianceOptions options_;

  std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CompiledRuleSet>> rule_sets_;
  struct CachedCounts {
    AbandonCounts counts;
    absl::Time read;
  };
  absl::flat_hash_map<std::string, CachedCounts> abandon_cache_;
};

}  // namespace dialgrid::compliance
