#pragma once

// EventOutbox on Redis, one outbox per tenant so a tenant's writes and their
// events stay in the tenant's hash slot (Redis Cluster can place a tenant on
// a node of its own; no script crosses slots):
//   {t:<tenant>}:outbox:<stream>       list of framed records, oldest first
//                                      ({vendor}:outbox:<stream> for vendor scope)
//   {t:<tenant>}:outbox:<stream>:lock  the relay instance holding it (PX)
//   {dg}:outbox:<stream>:dirty         set of tenants whose outbox may hold
//                                      events, marked by the writer right
//                                      after its write (same round trip)
// A writer that dies between its write and its mark leaves a tenant
// unmarked; MarkAllNonEmpty (a SCAN, run every few seconds by the relay)
// finds it.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/events/outbox.h"
#include "services/common/redis/redis_client.h"

namespace dialgrid::events {

struct RedisOutboxOptions {
  // Names the outbox: one per service ("tenancy", "contacts", ...).
  std::string stream;
  // This process, as the holder of a tenant's outbox while relaying it.
  std::string instance;
  absl::Duration hold = absl::Seconds(10);
  // Decodes a record; default DecodeEnvelopeRecord ('E' records).
  std::function<absl::StatusOr<event::v1::Envelope>(absl::string_view)> decode;
  // Redis replicas that must acknowledge a write (WAIT) before it counts;
  // 0 = the master's acknowledgement (and its AOF fsync) is enough.
  int wait_replicas = 0;
  absl::Duration wait_timeout = absl::Milliseconds(100);
};

class RedisOutbox final : public EventOutbox {
 public:
  RedisOutbox(std::shared_ptr<redis::Client> redis, RedisOutboxOptions options);

  // Lua for scripts that write events: `outbox(record)` appends a framed
  // record to KEYS[#KEYS], which EvalWithEvents sets to the tenant's outbox.
  // Prepend it to the script's source.
  static const char* const kLuaAppend;

  // The tenant's outbox key.
  std::string Key(absl::string_view tenant) const;
  // What marks the tenant for the relay; run right after the write.
  std::vector<std::string> MarkCommand(absl::string_view tenant) const;
  // RPUSH of `records` to the tenant's outbox, for a MULTI/EXEC block.
  std::vector<std::string> AppendCommand(absl::string_view tenant,
                                         const std::vector<std::string>& records) const;

  // Runs `script` with the tenant's outbox appended to `keys` (its last key),
  // then marks the tenant, in one round trip; with wait_replicas, also WAITs
  // (UNAVAILABLE NOT_REPLICATED when too few acknowledged in time). `also`
  // run right after the mark in the same round trip, not atomically with the
  // script (hints kept outside the tenant's slot, e.g. an index of scopes).
  // Returns the script's reply.
  absl::StatusOr<redis::Reply> EvalWithEvents(const redis::Script& script,
                                              std::vector<std::string> keys,
                                              const std::vector<std::string>& args,
                                              absl::string_view tenant,
                                              std::vector<std::vector<std::string>> also = {});
  // Runs `commands` in MULTI/EXEC with the events' RPUSH as the last command
  // of the block, then marks the tenant (and WAITs as above), in one round
  // trip. Returns the EXEC reply's elements for `commands` (not the RPUSH).
  absl::StatusOr<std::vector<redis::Reply>> ExecWithEvents(
      std::vector<std::vector<std::string>> commands, absl::string_view tenant,
      const std::vector<event::v1::Envelope>& events);

  // EventOutbox.
  absl::StatusOr<std::vector<std::string>> TakeDirty(int max) override;
  absl::Status MarkDirty(const std::string& tenant) override;
  absl::StatusOr<int> MarkAllNonEmpty() override;
  absl::StatusOr<OutboxBatch> Peek(const std::string& tenant, int max) override;
  absl::Status Pop(const std::string& tenant, int n) override;
  absl::Status Release(const std::string& tenant) override;

  const RedisOutboxOptions& options() const { return options_; }

 private:
  std::string DirtyKey() const;
  std::string LockKey(absl::string_view tenant) const;
  // The tenant an outbox key belongs to, or false for another key.
  bool TenantOfKey(absl::string_view key, std::string* tenant) const;

  std::shared_ptr<redis::Client> redis_;
  RedisOutboxOptions options_;
};

}  // namespace dialgrid::events
