#pragma once

// What the compliance logic needs from storage. The Redis adapter keeps
// every tenant's state under its hash tag and writes each change together
// with its audit record and outgoing event (an outbox) in one atomic step,
// so nothing is acknowledged that is not durable and nothing durable misses
// its event.

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "dialgrid/compliance/v1/compliance.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "dialgrid/event/v1/envelope.pb.h"
#include "services/compliance/domain/attempt_caps.h"
#include "services/compliance/domain/day_lockout.h"

namespace dialgrid::compliance {

// The part of a dial check that needs the tenant's shared state: do-not-call
// lists, consent, attempt history, abandon quiet period. Evaluated and, when
// allowed, reserved atomically.
struct DialCheck {
  std::string tenant;
  int64_t rule_set_version = 0;  // the check is refused as stale if not current
  std::string number;            // E.164
  std::string contact;           // contact name, "" for none
  std::string campaign;          // campaign id, "" for none
  std::string debt;              // the debt of a debt-collection call, "" for none
  absl::Time time;               // the time the rules are evaluated at
  absl::Time recorded;           // now: the audit record's time
  bool reserve = false;          // count an allowed dial as an attempt now
  bool allowed_so_far = false;   // the in-process rules' verdict
  // The consent the rules ask for: 0 none, 1 express (any consent record),
  // 2 written (PRIOR_EXPRESS_WRITTEN only); see ConsentLevel. A record of
  // a type this build does not know meets nothing.
  int consent_level = 0;
  std::string consent_rules;  // the rows asking for it, for the reason
  // No redial for this long after an abandoned call (closed), and the rule
  // named in the reason ("abandon_quiet_period" or a lockout id).
  absl::Duration abandon_quiet = absl::ZeroDuration();
  std::string abandon_rule = "abandon_quiet_period";
  // No redial for this long after an answering machine (closed).
  absl::Duration machine_lockout = absl::ZeroDuration();
  std::string machine_rule;
  // Caps over closed windows: the number's attempts, the contact's (all its
  // numbers) and the debt's.
  std::vector<AttemptCap> number_caps;
  std::vector<AttemptCap> contact_caps;
  std::vector<AttemptCap> debt_caps;
  // Reg F's lockout after a telephone conversation about `debt` (empty: none
  // applies): the latest conversation about the debt at or after the first
  // step's `from` and not after `time` refuses the dial until its step's
  // `until` (day_lockout.h), with the rule named in the reason.
  std::vector<DayLockoutStep> conversation_steps;
  std::string conversation_rule;
  // Registry listings that bind the dial but that an established business
  // relationship or a consent may lift (the registry's rules have EBR or
  // consent rows): each is
  // refused DNC_REGISTRY unless the number has a relationship of a kind
  // with a window whose date d has min_day <= d <= max_day (days since
  // 1970-01-01, relationships.h; min_day -1: no window of that kind) and
  // that no do-not-call request to the tenant has ended.
  struct LiftableListing {
    std::string registry;  // registry id, the reason's rule
    std::string transaction_rule, inquiry_rule;  // EBR row ids ("" none)
    int64_t transaction_min_day = -1, inquiry_min_day = -1;
    int64_t max_day = 0;  // the callee's earliest local date of the dial
    // A consent exemption (RegistryConsentRule): lifted, when no
    // relationship does, by the number's consent record valid at `time`
    // of at least `consent_level` (ConsentLevel; "" rule: none).
    std::string consent_rule;
    int consent_level = 0;
  };
  std::vector<LiftableListing> liftable_listings;
  // Calling-hour reasons that a separate consent waives (HoursWaiver): the
  // in-process verdict left them out; the store adds them, and not_before,
  // unless the number's consent record is valid at `time` and carries the
  // scope (its ConsentScope number).
  std::vector<v1::DenialReason> waivable_reasons;
  absl::Time waivable_not_before = absl::InfinitePast();  // InfinitePast: none known
  int waiver_scope = 0;
  std::string waiver_rules;  // the waiver rows' ids, for the audit
  // Art. 17 refusals (empty rule: none applies): a refusal of the number
  // at or before `time`, of `product` or of every product (any product
  // when `product` is empty), refuses the dial SOLICITATION_REFUSED.
  std::string refusal_rule;
  std::string product;
  absl::Duration keep_attempts = absl::ZeroDuration();  // longest cap window
  absl::Duration audit_retention = absl::Hours(24 * 90);
  std::string decision_id;
  std::string request_id;  // "" for none
  // The decision as decided in process (inputs, in-process reasons) and the
  // event carrying it (its payload holds `partial`'s serialized bytes, which
  // the store audits as they are); the store completes both with its own
  // reasons.
  v1::DialDecision partial;
  event::v1::Envelope event;
};

// The denial codes the store's part of a check adds (the in-process rules
// add the others); reasons carry the rule ("tenant", "campaign:<id>",
// "consent", "abandon_quiet_period", a cap id).
inline constexpr char kDenyTenantList[] = "DNC_TENANT";
inline constexpr char kDenyCampaignList[] = "DNC_CAMPAIGN";
inline constexpr char kDenyNoConsent[] = "CONSENT_REQUIRED";
inline constexpr char kDenyQuietPeriod[] = "ABANDON_QUIET_PERIOD";
inline constexpr char kDenyNumberCap[] = "ATTEMPT_CAP_NUMBER";
inline constexpr char kDenyContactCap[] = "ATTEMPT_CAP_CONTACT";
inline constexpr char kDenyDebtCap[] = "ATTEMPT_CAP_DEBT";
inline constexpr char kDenyMachineLockout[] = "MACHINE_LOCKOUT";
inline constexpr char kDenyConversationLockout[] = "REG_F_CONVERSATION_LOCKOUT";
inline constexpr char kDenyRegistry[] = "DNC_REGISTRY";
inline constexpr char kDenyRefused[] = "SOLICITATION_REFUSED";

// The store's keys of a relationship and of a refusal: "<e164>|T" / "<e164>|I"
// and "<e164>|<product>" ("" product: every product); a person's refusal
// "c:<contact name>|<product>" (after every number: "+" < "c"). They sort
// by number, then by contact.
std::string RelationshipKey(const std::string& number, v1::RelationshipKind kind);
std::string RefusalKey(const std::string& number, const std::string& product);
std::string ContactRefusalKey(const std::string& contact, const std::string& product);
// The key of a stored refusal: its contact's when it has one, else its number's.
std::string RefusalKeyOf(const v1::SolicitationRefusal& refusal);

// When a call is a telephone conversation about its debt (Reg F), and at
// what time: an ANSWERED_CONNECTED call with a debt, at its end (a call
// over midnight counts on the later day: the restrictive reading).
bool IsConversation(const dialing::v1::CallAttemptEnded& call);
absl::Time ConversationTime(const dialing::v1::CallAttemptEnded& call);

struct CheckOutcome {
  enum class Kind { kDecided, kStaleRuleSet, kDuplicate };
  Kind kind = Kind::kDecided;
  v1::DialDecision decision;  // kDecided, kDuplicate: the complete decision
};

// Counts of one campaign.
struct AbandonCounts {
  int64_t abandoned_24h = 0, live_24h = 0, abandoned_30d = 0, live_30d = 0;
  // Live persons estimated to have been hung up on by AMD (abandoned calls
  // that look like machines): counted as abandoned and as live answers.
  double amd_estimated_24h = 0, amd_estimated_30d = 0;
  double Rate24h() const { return Rate(abandoned_24h, live_24h, amd_estimated_24h); }
  double Rate30d() const { return Rate(abandoned_30d, live_30d, amd_estimated_30d); }
  static double Rate(int64_t abandoned, int64_t live, double estimated) {
    const double denominator = static_cast<double>(live) + estimated;
    return denominator > 0 ? (static_cast<double>(abandoned) + estimated) / denominator : 0.0;
  }
};

struct DncChange {
  int64_t changed = 0;    // added / removed
  int64_t unchanged = 0;  // already listed / not listed
};

// The request id of a change (AIP-155). The store keeps it with the change,
// in the same atomic step, for 24 h with the first reply: a retry with the
// same id gets that reply and changes nothing; the same id with different
// request bytes is ALREADY_EXISTS REQUEST_ID_REUSED. An empty id: none kept.
struct RequestKey {
  std::string id;
  std::string request;  // the request's serialized bytes (compared by digest)
};
inline constexpr absl::Duration kRequestIdRetention = absl::Hours(24);

class ComplianceStore {
 public:
  virtual ~ComplianceStore() = default;

  // Rule sets: version 0 reads the current one; NOT_FOUND when none.
  virtual absl::StatusOr<v1::RuleSet> GetRuleSet(const std::string& tenant, int64_t version) = 0;
  // Stores `rule_set` (its version field set to expected_version + 1) if the
  // current version is expected_version; ABORTED (VERSION_MISMATCH) otherwise.
  virtual absl::Status PutRuleSet(const std::string& tenant, const v1::RuleSet& rule_set,
                                  int64_t expected_version, const event::v1::Envelope& event) = 0;

  virtual absl::StatusOr<CheckOutcome> CheckDial(const DialCheck& check) = 0;

  // `list` is "" for the tenant's internal list or a campaign id. An
  // addition to any list is a do-not-call request to the tenant: it ends
  // the added numbers' relationships dated on or before its day (at
  // UTC+14 of meta.add_time, the time of the request), in the same atomic
  // step.
  virtual absl::StatusOr<DncChange> AddDoNotCall(const std::string& tenant, const std::string& list,
                                                 const std::vector<std::string>& numbers,
                                                 const v1::DoNotCallEntry& meta,
                                                 const event::v1::Envelope& event,
                                                 const RequestKey& key) = 0;
  virtual absl::StatusOr<DncChange> RemoveDoNotCall(const std::string& tenant,
                                                    const std::string& list,
                                                    const std::vector<std::string>& numbers,
                                                    const event::v1::Envelope& event,
                                                    const RequestKey& key) = 0;
  // Entries for the tenant list and, when campaign is not "", that campaign's.
  virtual absl::StatusOr<std::vector<v1::DoNotCallEntry>> DoNotCallEntries(
      const std::string& tenant, const std::string& number, const std::string& campaign) = 0;
  // Up to `limit` entries of a list ("" or a campaign id) whose numbers sort
  // after `after` ("" from the start), in number order, phone_number and
  // list set.
  virtual absl::StatusOr<std::vector<v1::DoNotCallEntry>> ListDoNotCall(const std::string& tenant,
                                                                        const std::string& list,
                                                                        const std::string& after,
                                                                        int limit) = 0;

  // Stores the consent record of its number with its event; returns it, or
  // for a retry of a request id the record the first request stored.
  virtual absl::StatusOr<v1::Consent> PutConsent(const std::string& tenant,
                                                 const v1::Consent& consent,
                                                 const event::v1::Envelope& event,
                                                 const RequestKey& key) = 0;
  // NOT_FOUND when the number has no record.
  virtual absl::StatusOr<v1::Consent> GetConsent(const std::string& tenant,
                                                 const std::string& number) = 0;
  // Up to `limit` consent records whose numbers sort after `after`, in
  // number order.
  virtual absl::StatusOr<std::vector<v1::Consent>> ListConsents(const std::string& tenant,
                                                                const std::string& after,
                                                                int limit) = 0;

  // Stores a relationship record (replacing the number's record of its
  // kind) with its event; idempotent by `key` as PutConsent.
  virtual absl::StatusOr<v1::EstablishedRelationship> PutRelationship(
      const std::string& tenant, const v1::EstablishedRelationship& relationship,
      const event::v1::Envelope& event, const RequestKey& key) = 0;
  // Up to `limit` relationships whose RelationshipKey sorts after `after`,
  // in that order, end_time set for those a do-not-call request ended.
  virtual absl::StatusOr<std::vector<v1::EstablishedRelationship>> ListRelationships(
      const std::string& tenant, const std::string& after, int limit) = 0;
  // Stores a refusal of its number and product unless one as early or
  // earlier is stored (then that one is returned, nothing changes, no
  // event); idempotent by `key`.
  virtual absl::StatusOr<v1::SolicitationRefusal> PutRefusal(
      const std::string& tenant, const v1::SolicitationRefusal& refusal,
      const event::v1::Envelope& event, const RequestKey& key) = 0;
  // Up to `limit` refusals whose RefusalKey sorts after `after`.
  virtual absl::StatusOr<std::vector<v1::SolicitationRefusal>> ListRefusals(
      const std::string& tenant, const std::string& after, int limit) = 0;

  // Applies a call's end once per event id: attempts (the number's, the
  // contact's and the debt's), abandoned-call and answering-machine times,
  // campaign counts, the conversation about a debt (IsConversation), audit.
  // False when the event was applied before.
  virtual absl::StatusOr<bool> ApplyCallEvent(const std::string& tenant,
                                              const std::string& event_id,
                                              const dialing::v1::CallAttemptEnded& call,
                                              absl::Duration keep_attempts,
                                              absl::Duration audit_retention) = 0;
  // A call reported through the API (RecordCallOutcome): applied as a
  // CallAttemptEnded event is, with `record` (who reported it) as its audit
  // record and `event` in the outbox, in one atomic step. Idempotent by
  // `key` (required), kept 30 days: a retry returns the first record and
  // changes nothing; the same id with another request is ALREADY_EXISTS
  // REQUEST_ID_REUSED.
  virtual absl::StatusOr<v1::CallOutcomeRecorded> RecordCallOutcome(
      const std::string& tenant, const v1::CallOutcomeRecorded& record,
      const event::v1::Envelope& event, const RequestKey& key, absl::Duration keep_attempts,
      absl::Duration audit_retention) = 0;
  virtual absl::StatusOr<AbandonCounts> GetAbandonCounts(const std::string& tenant,
                                                         const std::string& campaign,
                                                         absl::Time now) = 0;

  // Registry overlays (vendor scope): keys added / removed since the index
  // was built, stored durably and replayed by every replica on start.
  struct RegistryChange {
    std::vector<uint64_t> add, remove;
    // The change file's date, if given; the stored date only moves forward.
    std::optional<absl::CivilDay> as_of;
    // The date the changed keys are recorded with (the change file's, else
    // the day of the change), so a replica can tell which changes a newer
    // index already reflects.
    absl::CivilDay dated;
    // The additions' registration dates are unknown: they bind at once
    // (RegistryOverlay::at_once); a later dated addition or a removal of
    // the key ends that.
    bool at_once = false;
  };
  virtual absl::Status UpdateRegistry(const std::string& registry, const RegistryChange& change,
                                      const event::v1::Envelope& event) = 0;
  struct RegistryOverlay {
    std::vector<uint64_t> added, removed;
    // The date each key was changed with (absent for keys stored before
    // dates were kept).
    absl::flat_hash_map<uint64_t, absl::CivilDay> dates;
    std::optional<absl::CivilDay> as_of;  // latest change file's date
    std::vector<uint64_t> at_once;        // added keys that bind at once
    // The count of changes made to the overlay, read before the rest (the
    // data is at least this recent).
    int64_t seq = 0;
  };
  virtual absl::StatusOr<RegistryOverlay> GetRegistryOverlay(const std::string& registry) = 0;
  // The overlay's change count alone (cheap): a replica that loaded this
  // count has nothing new to read.
  virtual absl::StatusOr<int64_t> RegistryOverlaySeq(const std::string& registry) = 0;
  // Removes the overlay's changes dated on or before `through`, in small
  // atomic steps (Redis is never held long); a key changed again meanwhile
  // (newer date) is kept. Returns {pruned, kept}.
  struct PruneCount {
    int64_t pruned = 0, kept = 0;
  };
  virtual absl::StatusOr<PruneCount> PruneRegistryOverlay(const std::string& registry,
                                                          absl::CivilDay through) = 0;

  // Definitions of registries created over the API (vendor scope), each
  // written with its RegistryDefined event in one atomic step. Create:
  // ALREADY_EXISTS (REGISTRY_EXISTS) when the id is defined; update (scope):
  // NOT_FOUND (REGISTRY_NOT_FOUND) when it is not. Delete removes the
  // definition and the registry's overlay (NOT_FOUND when not defined).
  enum class DefinitionChange { kCreate, kUpdate, kDelete };
  virtual absl::Status ChangeRegistryDefinition(DefinitionChange change, const v1::Registry& def,
                                                const event::v1::Envelope& event) = 0;
  virtual absl::StatusOr<std::vector<v1::Registry>> RegistryDefinitions() = 0;

  // Audit records of a number with from <= time < to, oldest first.
  virtual absl::StatusOr<std::vector<v1::DialRecord>> ListRecords(const std::string& tenant,
                                                                  const std::string& number,
                                                                  absl::Time from, absl::Time to,
                                                                  int offset, int limit) = 0;
};

}  // namespace dialgrid::compliance
