#include "services/common/events/redis_outbox.h"

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/events/outbox_record.h"
#include "services/common/events/lua/outbox_append.lua.h"
#include "services/common/events/lua/outbox_peek.lua.h"
#include "services/common/events/lua/outbox_pop.lua.h"
#include "services/common/events/lua/outbox_release.lua.h"

namespace dialgrid::events {
namespace {

const redis::Script& PeekScript() {
  static const redis::Script* s = new redis::Script(lua::kOutboxPeek);
  return *s;
}

const redis::Script& PopScript() {
  static const redis::Script* s = new redis::Script(lua::kOutboxPop);
  return *s;
}

const redis::Script& ReleaseScript() {
  static const redis::Script* s = new redis::Script(lua::kOutboxRelease);
  return *s;
}

absl::Status ScriptError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return absl::InternalError(absl::StrCat(what, ": ", st.message()));
}

}  // namespace

const char* const RedisOutbox::kLuaAppend = lua::kOutboxAppend;

RedisOutbox::RedisOutbox(std::shared_ptr<redis::Client> redis, RedisOutboxOptions options)
    : redis_(std::move(redis)), options_(std::move(options)) {
  if (!options_.decode) options_.decode = DecodeEnvelopeRecord;
}

std::string RedisOutbox::Key(absl::string_view tenant) const {
  return absl::StrCat(TenantHashTag(tenant), ":outbox:", options_.stream);
}
std::string RedisOutbox::LockKey(absl::string_view tenant) const {
  return absl::StrCat(Key(tenant), ":lock");
}
std::string RedisOutbox::DirtyKey() const {
  return absl::StrCat("{dg}:outbox:", options_.stream, ":dirty");
}

bool RedisOutbox::TenantOfKey(absl::string_view key, std::string* tenant) const {
  const std::string suffix = absl::StrCat(":outbox:", options_.stream);
  if (!absl::ConsumeSuffix(&key, suffix)) return false;
  if (key == "{vendor}") {
    tenant->clear();
    return true;
  }
  if (!absl::ConsumePrefix(&key, "{t:") || !absl::ConsumeSuffix(&key, "}") || key.empty()) {
    return false;
  }
  *tenant = std::string(key);
  return true;
}

std::vector<std::string> RedisOutbox::MarkCommand(absl::string_view tenant) const {
  return {"SADD", DirtyKey(), std::string(tenant)};
}

std::vector<std::string> RedisOutbox::AppendCommand(absl::string_view tenant,
                                                    const std::vector<std::string>& records) const {
  std::vector<std::string> cmd = {"RPUSH", Key(tenant)};
  cmd.insert(cmd.end(), records.begin(), records.end());
  return cmd;
}

absl::StatusOr<redis::Reply> RedisOutbox::EvalWithEvents(const redis::Script& script,
                                                         std::vector<std::string> keys,
                                                         const std::vector<std::string>& args,
                                                         absl::string_view tenant,
                                                         std::vector<std::vector<std::string>> also) {
  keys.push_back(Key(tenant));
  std::vector<std::vector<std::string>> then = {MarkCommand(tenant)};
  for (auto& c : also) then.push_back(std::move(c));
  if (options_.wait_replicas > 0) {
    then.push_back(redis::WaitCommand(options_.wait_replicas, options_.wait_timeout));
  }
  auto replies = redis_->EvalThen(script, keys, args, then);
  if (!replies.ok()) return replies.status();
  if (options_.wait_replicas > 0) {
    absl::Status st =
        redis::CheckReplicated(replies->back(), options_.wait_replicas, options_.wait_timeout);
    if (!st.ok()) return st;
  }
  return std::move((*replies)[0]);
}

absl::StatusOr<std::vector<redis::Reply>> RedisOutbox::ExecWithEvents(
    std::vector<std::vector<std::string>> commands, absl::string_view tenant,
    const std::vector<event::v1::Envelope>& events) {
  const size_t n = commands.size();
  std::vector<std::vector<std::string>> batch;
  batch.reserve(n + 5);
  batch.push_back({"MULTI"});
  for (auto& c : commands) batch.push_back(std::move(c));
  if (!events.empty()) {
    std::vector<std::string> records;
    AppendEnvelopeRecords(events, records);
    batch.push_back(AppendCommand(tenant, records));
  }
  batch.push_back({"EXEC"});
  const size_t exec_at = batch.size() - 1;
  batch.push_back(MarkCommand(tenant));
  if (options_.wait_replicas > 0) {
    batch.push_back(redis::WaitCommand(options_.wait_replicas, options_.wait_timeout));
  }
  auto replies = redis_->Pipeline(batch);
  if (!replies.ok()) return replies.status();
  redis::Reply& exec = (*replies)[exec_at];
  if (exec.is_nil() || exec.elements.size() < n) {
    return absl::InternalError("redis: the transaction did not run");
  }
  if (options_.wait_replicas > 0) {
    absl::Status st =
        redis::CheckReplicated(replies->back(), options_.wait_replicas, options_.wait_timeout);
    if (!st.ok()) return st;
  }
  exec.elements.resize(n);
  return std::move(exec.elements);
}

absl::StatusOr<std::vector<std::string>> RedisOutbox::TakeDirty(int max) {
  auto r = redis_->Command({"SPOP", DirtyKey(), std::to_string(max)});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (const auto& e : r->elements) out.push_back(e.str);
  return out;
}

absl::Status RedisOutbox::MarkDirty(const std::string& tenant) {
  auto r = redis_->Command(MarkCommand(tenant));
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<int> RedisOutbox::MarkAllNonEmpty() {
  const std::string pattern = absl::StrCat("*:outbox:", options_.stream);
  int found = 0;
  // On every Redis the tenants are placed on; the marks go to the dirty set.
  for (redis::Client* shard : redis_->Shards()) {
    std::string cursor = "0";
    do {
      auto r = shard->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (!r.ok()) return r.status();
      if (r->elements.size() != 2) return absl::InternalError("redis: unexpected SCAN reply");
      cursor = r->elements[0].str;
      std::vector<std::string> mark = {"SADD", DirtyKey()};
      for (const auto& k : r->elements[1].elements) {
        std::string tenant;
        if (TenantOfKey(k.str, &tenant)) mark.push_back(tenant);
      }
      if (mark.size() > 2) {
        found += static_cast<int>(mark.size() - 2);
        auto m = redis_->Command(mark);
        if (!m.ok()) return m.status();
      }
    } while (cursor != "0");
  }
  return found;
}

absl::StatusOr<OutboxBatch> RedisOutbox::Peek(const std::string& tenant, int max) {
  auto r = redis_->Eval(PeekScript(), {Key(tenant), LockKey(tenant)},
                        {options_.instance, std::to_string(absl::ToInt64Milliseconds(options_.hold)),
                         std::to_string(max)});
  if (!r.ok()) return ScriptError(r.status(), "reading the outbox");
  if (r->is_nil()) {
    return WithReason(absl::AbortedError("another relay holds this tenant's outbox"), "RELAY_BUSY");
  }
  OutboxBatch out;
  for (const auto& item : r->elements) {
    ++out.records;
    auto env = options_.decode(item.str);
    if (!env.ok()) {
      ++out.malformed;
      continue;
    }
    out.events.push_back(*std::move(env));
  }
  return out;
}

absl::Status RedisOutbox::Pop(const std::string& tenant, int n) {
  if (n <= 0) return absl::OkStatus();
  auto r = redis_->Eval(PopScript(), {Key(tenant), LockKey(tenant)},
                        {options_.instance, std::to_string(n)});
  if (!r.ok()) return ScriptError(r.status(), "popping the outbox");
  if (r->integer != 1) {
    return WithReason(absl::AbortedError("the hold on the outbox lapsed before the pop; the batch "
                                         "stays and is published again (consumers dedup by event id)"),
                      "RELAY_LOCK_LOST");
  }
  return absl::OkStatus();
}

absl::Status RedisOutbox::Release(const std::string& tenant) {
  auto r = redis_->Eval(ReleaseScript(), {LockKey(tenant)}, {options_.instance});
  return r.ok() ? absl::OkStatus() : ScriptError(r.status(), "releasing the outbox");
}

}  // namespace dialgrid::events
