#pragma once

// RecordingStore on Redis. Keys of tenant T (hash tag {t:T}, one slot):
//   {t:T}:rec:<id>          hash: the recording (fields below)
//   {t:T}:rec:<id>:gaps     list of closed pauses "start_ms|end_ms|offset|discarded|by|reason"
//   {t:T}:recs              zset (score 0) of "<create ms, 13 digits>.<id>": list order
//   {t:T}:rec-req:<req id>  "<fingerprint>\t<id>" of a StartRecording request id (24 h)
//   {t:T}:rec-chain         list: the hash chain's records, oldest first
//   {t:T}:rec-chain-head    hash: hash, seq of the last entry
//   {t:T}:rec-usage         bytes of storage in use (counted per chunk, corrected at the end)
//   {t:T}:rec-expiry        zset: recording ids by when the purge looks at them
//                           (retain_ms, later for one it found held)
//   {t:T}:rec-deleting      zset: ids whose deletion began (audio, metadata to go)
//   {t:T}:rec-open          zset: ids of open (or salvaging) uploads by lease ms
//   {t:T}:rec-contact:<contact name>  set: the contact's recording ids
//   {t:T}:rec-retention     hash: "default" / campaign id -> "secs|update_ms|actor"
//   {t:T}:hold:<id>         hash: a legal hold (scope target reason by
//                           create_ms state release_ms released_by release_reason)
//   {t:T}:holds             zset (score 0) of "<create ms, 13 digits>.<id>"
//   {t:T}:hold-req:<req id> "<fingerprint>\t<id>" of a PlaceHold request id (24 h)
//   {t:T}:hold-on:<scope>:<target>  set: ids of the active holds on it
//   {t:T}:rec-day:<YYYY-MM-DD>  hash: the usage counters of a UTC day (started
//                           stored audio_ms ingested purged erased)
//   {t:T}:rec-totals        hash: the same in all, and recordings stored_bytes
//                           holds held_past_retention (the tenant's usage now)
//   {t:T}:outbox:recording  the tenant's events (services/common/events)
// and one key outside the tenants' slots, for the periodic jobs:
//   {dg}:recording:tenants  set of tenants that have recordings
// Recording fields: id call campaign agent contact format ann state upload
// create_ms stop_ms retain_ms hold kid wkey (base64) last_seq accepted
// discarded audio_bytes stored_bytes segments sha256 file_sha256 inc_reason
// lease_ms lost, del_ms del_cause (deletion begun), held_kept (counted in
// held_past_retention) and, while paused,
// pause_ms pause_off pause_disc pause_by pause_reason. (`hold` is unused:
// holds are found through the hold-on sets.) Scripts: adapters/lua/*.lua.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "services/common/events/redis_outbox.h"
#include "services/common/redis/redis_client.h"
#include "services/recording/ports/recording_store.h"

namespace dialgrid::recording {

class RedisRecordingStore final : public RecordingStore {
 public:
  RedisRecordingStore(std::shared_ptr<redis::Client> redis,
                      std::shared_ptr<events::RedisOutbox> outbox);

  absl::StatusOr<std::string> Create(const RecordingMeta& meta, absl::string_view request_id,
                                     absl::string_view fingerprint, const ChainDraft& created,
                                     const Events& events) override;
  absl::StatusOr<RecordingMeta> Get(const RecordingRef& ref) override;
  absl::StatusOr<std::vector<RecordingMeta>> GetMany(absl::string_view tenant,
                                                     const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<std::string>> ListKeys(absl::string_view tenant,
                                                    absl::string_view after, int max) override;
  absl::Status ApplyTransition(const RecordingRef& ref, Transition t,
                               absl::string_view expected_state, absl::Time now,
                               absl::string_view actor, absl::string_view reason,
                               const Events& events) override;
  absl::Status OpenUpload(const RecordingRef& ref, absl::Time now) override;
  absl::Status ResumeUpload(const RecordingRef& ref, absl::Time now) override;
  absl::StatusOr<ChunkVerdict> Chunk(const RecordingRef& ref, int64_t sequence, int64_t bytes,
                                     int64_t max_usage, absl::Time now) override;
  absl::Status FinishUpload(const RecordingRef& ref, const UploadOutcome& outcome, absl::Time now,
                            const ChainDraft* stored, const Events& events,
                            absl::string_view expected) override;
  absl::Status RenewLease(const RecordingRef& ref, absl::Time now) override;
  absl::StatusOr<std::vector<std::string>> StaleUploads(absl::string_view tenant,
                                                        absl::Time before, int max) override;
  absl::StatusOr<bool> ClaimStaleUpload(const RecordingRef& ref, absl::Time before,
                                        absl::Time now) override;
  absl::Status AppendChain(absl::string_view tenant, const ChainDraft& entry,
                           const Events& events) override;
  absl::StatusOr<ChainSnapshot> ReadChain(absl::string_view tenant) override;
  absl::Status Publish(absl::string_view tenant, const Events& events) override;
  absl::Status Rewrap(const RecordingRef& ref, absl::string_view old_key_id,
                      absl::string_view new_key_id, absl::string_view wrapped) override;
  absl::StatusOr<int64_t> Usage(absl::string_view tenant) override;
  absl::StatusOr<UsageCounts> UsageOfDays(absl::string_view tenant, absl::CivilDay first,
                                          absl::CivilDay last) override;
  absl::StatusOr<UsageNow> UsageTotals(absl::string_view tenant) override;
  absl::StatusOr<std::vector<std::string>> Tenants() override;
  absl::Status PutRetention(absl::string_view tenant, const RetentionMeta& policy,
                            const Events& events) override;
  absl::StatusOr<RetentionMeta> GetRetention(absl::string_view tenant,
                                             absl::string_view scope) override;
  absl::StatusOr<std::string> PlaceHold(const HoldMeta& hold, absl::string_view request_id,
                                        absl::string_view fingerprint, const ChainDraft& held,
                                        const Events& events) override;
  absl::StatusOr<bool> ReleaseHold(absl::string_view tenant, absl::string_view id, absl::Time now,
                                   absl::string_view actor, absl::string_view reason,
                                   const ChainDraft& released, const Events& events) override;
  absl::StatusOr<HoldMeta> GetHold(absl::string_view tenant, absl::string_view id) override;
  absl::StatusOr<std::vector<std::pair<std::string, HoldMeta>>> ListHolds(
      absl::string_view tenant, absl::string_view after, int max) override;
  absl::StatusOr<DeleteVerdict> BeginDelete(const RecordingRef& ref, DeleteCause cause,
                                            absl::Time now, const ChainDraft& deleted,
                                            const Events& events) override;
  absl::Status FinishDelete(const RecordingRef& ref) override;
  absl::StatusOr<std::vector<std::string>> Deleting(absl::string_view tenant, int max) override;
  absl::StatusOr<std::vector<std::string>> Expired(absl::string_view tenant, absl::Time now,
                                                   int max) override;
  absl::Status PostponeExpiry(const RecordingRef& ref, absl::Time when) override;
  absl::StatusOr<std::vector<std::string>> OfContact(absl::string_view tenant,
                                                     absl::string_view contact) override;

  // Key names (tests tamper with them).
  static std::string RecordingKey(const RecordingRef& ref);
  static std::string ChainKey(absl::string_view tenant);
  static std::string ChainHeadKey(absl::string_view tenant);
  static std::string HoldOnKey(absl::string_view tenant, absl::string_view scope,
                               absl::string_view target);

 private:
  // Runs `script` (chain.lua + outbox prepended) with the chain entry made
  // from `draft` (none when null) linked to the head as read, again while
  // another entry comes first. `keys` exclude the chain's two (prepended)
  // and the outbox (appended); `args` exclude the chain's four.
  absl::StatusOr<redis::Reply> EvalChained(const redis::Script& script, absl::string_view tenant,
                                           const ChainDraft* draft, std::vector<std::string> keys,
                                           const std::vector<std::string>& args);

  // Fills in the holds of `metas` (from the hold-on sets).
  absl::Status AddHolds(std::vector<RecordingMeta*> metas);

  std::shared_ptr<redis::Client> redis_;
  std::shared_ptr<events::RedisOutbox> outbox_;
};

}  // namespace dialgrid::recording
