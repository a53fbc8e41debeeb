#pragma once

// The compliance logic: decides dials (fail-closed), manages rule sets,
// do-not-call lists and consent, applies call and contact events. Storage,
// Kafka and gRPC stay behind ports; the caller's identity comes in as plain
// values.

#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/common/core/clock.h"
#include "services/common/events/outbox_relay.h"
#include "services/compliance/domain/calling_window.h"
#include "services/compliance/domain/dnc_index.h"
#include "services/compliance/domain/registry_manifest.h"
#include "services/compliance/domain/rule_set.h"
#include "services/compliance/ports/compliance_store.h"
#include "services/common/geo/time_zones.h"

namespace dialgrid::compliance {

// Topics compliance publishes on.
inline constexpr char kComplianceTopic[] = "compliance";
// RegistryChanged goes to a topic of its own: every replica consumes it, and
// it must not make each replica read every dial decision.
inline constexpr char kRegistryTopic[] = "compliance-registries";

// How compliance's outbox relay routes its events (the topics above).
events::OutboxRelayOptions RelayOptions();

// A vendor-wide number set loaded from an index file: a do-not-call
// registry, or a list of known wireless numbers.
struct Registry {
  std::string id;
  v1::RegistryKind kind = v1::REGISTRY_KIND_UNSPECIFIED;
  NumberPlan plan = NumberPlan::kNanp;
  std::string path;
  RegistryManifest manifest;  // the index data's date and the age limit
  std::unique_ptr<DncList> list;
  // True when the E.164 number is in the set (false for numbers outside
  // its plan, e.g. a UK number against the US registry).
  bool Contains(const std::string& e164) const;

  // The data's date: the index's, or a later change file's
  // (UpdateRegistry as_of); only moves forward. Thread-safe.
  absl::CivilDay DataAsOf() const;
  void NoteChangesAsOf(absl::CivilDay day);

  // Applies an overlay change dated `date` unless the index's data is newer
  // (an addition of the index's own day applies, a removal does not: the
  // stricter reading) or the key already had a newer change (change files
  // applied out of order), as the store does. Returns whether it was applied.
  absl::StatusOr<bool> ApplyChange(uint64_t key, bool add, absl::CivilDay date);

 private:
  std::atomic<int64_t> changes_as_of_{std::numeric_limits<int64_t>::min()};  // days since 1970-01-01
  absl::Mutex changes_mu_;
  // The date of each overlay key's latest change seen here.
  absl::flat_hash_map<uint64_t, absl::CivilDay> change_dates_ ABSL_GUARDED_BY(changes_mu_);
};

// Registries from "id:kind:path" specs (kind "dnc" or "wireless"), each
// file opened read-only (mmap, shared by every process on the host) with its
// manifest ("<path>.manifest", written by dialgrid-registry-build).
// INVALID_ARGUMENT for a malformed spec, the index's and the manifest's own
// errors otherwise (a missing manifest: NOT_FOUND REGISTRY_MANIFEST_MISSING).
absl::StatusOr<std::vector<std::unique_ptr<Registry>>> LoadRegistries(
    const std::vector<std::string>& specs);

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
  // Called with every decision taken (metrics).
  std::function<void(const v1::DialDecision&)> on_decision;
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

  absl::StatusOr<v1::RuleSet> UpdateRuleSet(const Actor& actor, const v1::UpdateRuleSetRequest& req);
  absl::StatusOr<v1::RuleSet> GetRuleSet(const v1::GetRuleSetRequest& req);
  v1::ListCallingHoursPresetsResponse ListPresets() const;

  absl::StatusOr<v1::AddDoNotCallNumbersResponse> AddDoNotCall(
      const Actor& actor, const v1::AddDoNotCallNumbersRequest& req);
  absl::StatusOr<v1::RemoveDoNotCallNumbersResponse> RemoveDoNotCall(
      const Actor& actor, const v1::RemoveDoNotCallNumbersRequest& req);
  absl::StatusOr<v1::CheckDoNotCallResponse> CheckDoNotCall(const v1::CheckDoNotCallRequest& req);
  v1::ListRegistriesResponse ListRegistries() const;
  absl::StatusOr<v1::UpdateRegistryResponse> UpdateRegistry(const Actor& actor,
                                                            const v1::UpdateRegistryRequest& req);
  absl::StatusOr<v1::PruneRegistryOverlayResponse> PruneRegistryOverlay(
      const Actor& actor, const v1::PruneRegistryOverlayRequest& req);
  // Replays every registry's stored additions and removals into this
  // replica's overlays (on start, before serving).
  absl::Status LoadRegistryOverlays();
  // RegistryChanged events from the `compliance` topic (every replica reads
  // them in a consumer group of its own); other types are ignored.
  absl::Status HandleRegistryEvent(const event::v1::Envelope& event);

  absl::StatusOr<v1::Consent> RecordConsent(const Actor& actor, const v1::RecordConsentRequest& req);
  absl::StatusOr<v1::Consent> RevokeConsent(const Actor& actor, const v1::RevokeConsentRequest& req);
  absl::StatusOr<v1::Consent> GetConsent(const v1::GetConsentRequest& req);

  absl::StatusOr<v1::AbandonRate> GetAbandonRate(const v1::GetAbandonRateRequest& req);
  absl::StatusOr<v1::ListDialRecordsResponse> ListDialRecords(const v1::ListDialRecordsRequest& req);

  // Events from the `contacts` topic (ContactErased, ContactOptedOut: the
  // numbers go on the tenant's list) and the `dialing` topic
  // (CallAttemptEnded: attempts, abandoned calls). Other types are ignored.
  absl::Status HandleEvent(const event::v1::Envelope& event);

 private:
  struct Evaluation;

  absl::StatusOr<std::shared_ptr<const CompiledRuleSet>> RuleSetOf(const std::string& tenant,
                                                                   bool reload);
  absl::StatusOr<v1::DialDecision> Decide(const Actor& actor, const std::string& tenant,
                                          const std::string& campaign_id,
                                          const std::string& campaign, const std::string& contact,
                                          const std::string& phone, const v1::Callee& callee,
                                          type::v1::DialingMode mode, absl::Time when,
                                          bool reserve, const std::string& request_id);
  absl::StatusOr<AbandonCounts> CachedAbandonCounts(const std::string& tenant,
                                                    const std::string& campaign);
  event::v1::Envelope Event(const std::string& tenant, const std::string& subject,
                            const google::protobuf::Message& payload) const;
  Registry* FindRegistry(const std::string& id) const;
  v1::Registry RegistryProto(const Registry& r) const;
  absl::Status ApplyDoNotCallEvent(const event::v1::Envelope& event,
                                   const google::protobuf::RepeatedPtrField<std::string>& numbers,
                                   const std::string& reason);

  std::shared_ptr<ComplianceStore> store_;
  std::shared_ptr<const geo::ZoneResolver> zones_;
  std::vector<CallingHoursRule> presets_;
  std::vector<std::unique_ptr<Registry>> registries_;
  std::set<std::string> dnc_registry_ids_;
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
