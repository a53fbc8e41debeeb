#pragma once

// An in-memory ComplianceStore for unit tests of the application layer
// (no Redis). It keeps the port's contract as the Redis adapter does: a
// check refused as stale when the rule-set version moved, lists, consent,
// quiet period and caps evaluated together and the attempt reserved only
// when everything allows it, a CheckDial request id answered with its first
// decision, change request ids kept 24 h (by the injected clock) with their
// first reply, REQUEST_ID_REUSED for the same id with another request, and
// every change's event recorded (events()). Thread-safe.

#include <deque>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "services/common/core/clock.h"
#include "services/compliance/ports/compliance_store.h"

namespace dialgrid::compliance::testing {

class FakeComplianceStore final : public ComplianceStore {
 public:
  explicit FakeComplianceStore(const Clock& clock) : clock_(clock) {}

  absl::StatusOr<v1::RuleSet> GetRuleSet(const std::string& tenant, int64_t version) override;
  absl::Status PutRuleSet(const std::string& tenant, const v1::RuleSet& rule_set,
                          int64_t expected_version, const event::v1::Envelope& event) override;
  absl::StatusOr<CheckOutcome> CheckDial(const DialCheck& check) override;
  absl::StatusOr<DncChange> AddDoNotCall(const std::string& tenant, const std::string& list,
                                         const std::vector<std::string>& numbers,
                                         const v1::DoNotCallEntry& meta,
                                         const event::v1::Envelope& event,
                                         const RequestKey& key) override;
  absl::StatusOr<DncChange> RemoveDoNotCall(const std::string& tenant, const std::string& list,
                                            const std::vector<std::string>& numbers,
                                            const event::v1::Envelope& event,
                                            const RequestKey& key) override;
  absl::StatusOr<std::vector<v1::DoNotCallEntry>> DoNotCallEntries(
      const std::string& tenant, const std::string& number, const std::string& campaign) override;
  absl::StatusOr<std::vector<v1::DoNotCallEntry>> ListDoNotCall(const std::string& tenant,
                                                                const std::string& list,
                                                                const std::string& after,
                                                                int limit) override;
  absl::StatusOr<v1::Consent> PutConsent(const std::string& tenant, const v1::Consent& consent,
                                         const event::v1::Envelope& event,
                                         const RequestKey& key) override;
  absl::StatusOr<v1::Consent> GetConsent(const std::string& tenant,
                                         const std::string& number) override;
  absl::StatusOr<std::vector<v1::Consent>> ListConsents(const std::string& tenant,
                                                        const std::string& after,
                                                        int limit) override;
  absl::StatusOr<v1::EstablishedRelationship> PutRelationship(
      const std::string& tenant, const v1::EstablishedRelationship& relationship,
      const event::v1::Envelope& event, const RequestKey& key) override;
  absl::StatusOr<std::vector<v1::EstablishedRelationship>> ListRelationships(
      const std::string& tenant, const std::string& after, int limit) override;
  absl::StatusOr<v1::SolicitationRefusal> PutRefusal(const std::string& tenant,
                                                     const v1::SolicitationRefusal& refusal,
                                                     const event::v1::Envelope& event,
                                                     const RequestKey& key) override;
  absl::StatusOr<std::vector<v1::SolicitationRefusal>> ListRefusals(const std::string& tenant,
                                                                    const std::string& after,
                                                                    int limit) override;
  absl::StatusOr<bool> ApplyCallEvent(const std::string& tenant, const std::string& event_id,
                                      const dialing::v1::CallAttemptEnded& call,
                                      absl::Duration keep_attempts,
                                      absl::Duration audit_retention) override;
  absl::StatusOr<v1::CallOutcomeRecorded> RecordCallOutcome(
      const std::string& tenant, const v1::CallOutcomeRecorded& record,
      const event::v1::Envelope& event, const RequestKey& key, absl::Duration keep_attempts,
      absl::Duration audit_retention) override;
  absl::StatusOr<AbandonCounts> GetAbandonCounts(const std::string& tenant,
                                                 const std::string& campaign,
                                                 absl::Time now) override;
  absl::Status UpdateRegistry(const std::string& registry, const RegistryChange& change,
                              const event::v1::Envelope& event) override;
  absl::StatusOr<RegistryOverlay> GetRegistryOverlay(const std::string& registry) override;
  absl::StatusOr<int64_t> RegistryOverlaySeq(const std::string& registry) override;
  absl::Status ChangeRegistryDefinition(DefinitionChange change, const v1::Registry& def,
                                        const event::v1::Envelope& event) override;
  absl::StatusOr<std::vector<v1::Registry>> RegistryDefinitions() override;
  absl::StatusOr<PruneCount> PruneRegistryOverlay(const std::string& registry,
                                                  absl::CivilDay through) override;
  absl::StatusOr<std::vector<v1::DialRecord>> ListRecords(const std::string& tenant,
                                                          const std::string& number,
                                                          absl::Time from, absl::Time to,
                                                          int offset, int limit) override;

  // Test hooks.
  // Every event written with a change, oldest first.
  std::vector<event::v1::Envelope> events() const;
  // The next `n` CheckDial calls find the rule set one version ahead (as if
  // another replica had just updated it) before the version moves back.
  void MakeNextChecksStale(int n);
  // The next write fails with `status` (e.g. UNAVAILABLE), nothing applied.
  void FailNextWrite(absl::Status status);
  // Attempts counted for a number (reservations and placed calls).
  int Attempts(const std::string& tenant, const std::string& number) const;
  // Change request ids currently kept.
  int KeptRequestIds() const;

 private:
  struct Kept {
    std::string request;  // the request's bytes
    std::string reply;
    absl::Time until;
  };
  struct Tenant {
    std::map<int64_t, v1::RuleSet> rule_sets;  // version -> rule set
    int64_t current = 0;
    std::map<std::string, std::map<std::string, v1::DoNotCallEntry>>
        lists;  // list -> number -> entry
    std::map<std::string, v1::Consent> consents;
    std::map<std::string, v1::EstablishedRelationship> relationships;  // RelationshipKey
    std::map<std::string, int64_t> dnc_requests;  // number -> latest do-not-call request ms
    std::map<std::string, v1::SolicitationRefusal> refusals;  // RefusalKey
    std::map<std::string, std::map<std::string, int64_t>> number_attempts,
        contact_attempts;  // member -> ms
    std::map<std::string, int64_t> abandoned_ms;
    std::map<std::string, int64_t> machine_ms;  // last answering machine per number
    std::map<std::string, std::map<std::string, int64_t>> debt_attempts;
    // debt -> conversations about it (member -> ms)
    std::map<std::string, std::map<std::string, int64_t>> conversations;
    std::map<std::string, v1::DialDecision> decisions;  // CheckDial request id -> decision
    std::map<std::string, Kept> requests;               // change request id
    std::map<std::string, bool> call_events;
    std::map<std::string, std::vector<v1::DialRecord>> audit;
  };
  struct Overlay {
    std::map<uint64_t, bool> changes;  // key -> added
    std::map<uint64_t, absl::CivilDay> dates;
    std::optional<absl::CivilDay> as_of;
    std::set<uint64_t> at_once;
    int64_t seq = 0;
  };
  std::map<std::string, v1::Registry> definitions_;

  absl::Status TakeFailure();
  // A call's end applied to the attempts, lockouts and conversations.
  void ApplyCall(Tenant& t, const std::string& member, const dialing::v1::CallAttemptEnded& call);
  // The kept reply of a request id: nullopt when new; REQUEST_ID_REUSED when
  // the id came with another request.
  absl::StatusOr<std::optional<std::string>> Previous(Tenant& t, const RequestKey& key);
  void Remember(Tenant& t, const RequestKey& key, std::string reply);
  absl::StatusOr<DncChange> ChangeList(const std::string& tenant, const std::string& list,
                                       const std::vector<std::string>& numbers,
                                       const v1::DoNotCallEntry* add,
                                       const event::v1::Envelope& event, const RequestKey& key);

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Tenant> tenants_;
  std::map<std::string, Overlay> overlays_;
  std::vector<event::v1::Envelope> events_;
  int stale_checks_ = 0;
  absl::Status next_failure_;
};

}  // namespace dialgrid::compliance::testing
