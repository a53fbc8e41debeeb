#include "services/reporting/adapters/redis_report_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/reporting/adapters/lua/apply_event.lua.h"

namespace dialgrid::reporting {
namespace {

const redis::Script& ApplyScript() {
  static const auto* script = new redis::Script(lua::kApplyEvent);
  return *script;
}

// Redis or the script failed: UNAVAILABLE (the consumer retries; a query
// fails with it) with the store's reason.
absl::Status StoreError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return Unavailable("REPORT_STORE_UNAVAILABLE", absl::StrCat(what, ": ", st.message()));
}

void AddHash(const redis::Reply& r, Counters& into) {
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    int64_t v = 0;
    if (absl::SimpleAtoi(r.elements[i + 1].str, &v)) into[r.elements[i].str] += v;
  }
}

const char* ModeName(MarkerMode m) {
  switch (m) {
    case MarkerMode::kOnce: return "once";
    case MarkerMode::kReplace: return "replace";
    case MarkerMode::kNone: break;
  }
  return "";
}

}  // namespace

RedisReportStore::RedisReportStore(std::shared_ptr<redis::Client> redis,
                                   RedisReportStoreOptions options)
    : redis_(std::move(redis)), options_(std::move(options)) {}

std::string RedisReportStore::Base(const std::string& tenant) const {
  return absl::StrCat(options_.prefix, ":", TenantHashTag(tenant));
}

absl::StatusOr<ApplyResult> RedisReportStore::Apply(const std::string& event_id,
                                                    const EventPlan& plan) {
  const std::string base = Base(plan.tenant);
  std::vector<std::string> args = {base,
                                   std::to_string(absl::ToInt64Milliseconds(options_.dedup_ttl)),
                                   std::to_string(absl::ToInt64Milliseconds(options_.bucket_ttl))};
  switch (plan.kind) {
    case PlanKind::kAdd:
      args.insert(args.end(),
                  {"add", ModeName(plan.marker_mode), plan.marker, std::to_string(plan.hour)});
      for (const Increment& i : plan.increments) {
        args.push_back(i.field);
        args.push_back(std::to_string(i.delta));
      }
      break;
    case PlanKind::kAgentState:
      args.insert(args.end(),
                  {"agent", plan.move.agent, std::to_string(plan.move.version), plan.move.state,
                   plan.move.reason, std::to_string(plan.move.state_time_ms), plan.move.campaign});
      break;
    case PlanKind::kConfig:
      args.insert(args.end(), {"config", plan.config_key, std::to_string(plan.config_version),
                               plan.index, plan.index_member});
      for (const auto& [f, v] : plan.config_fields) {
        args.push_back(f);
        args.push_back(v);
      }
      break;
    case PlanKind::kIgnore: return ApplyResult::kRepeat;
  }
  auto r = redis_->Eval(ApplyScript(), {absl::StrCat(base, ":seen:", event_id)}, args);
  if (!r.ok()) return StoreError(r.status(), "applying an event");
  switch (r->integer) {
    case 0: return ApplyResult::kDuplicate;
    case 1: return ApplyResult::kApplied;
    default: return ApplyResult::kRepeat;
  }
}

absl::StatusOr<std::vector<Counters>> RedisReportStore::ReadSpans(
    const std::string& tenant, const std::vector<DaySpan>& spans) {
  const std::string base = Base(tenant);
  std::vector<std::vector<std::string>> commands;
  std::vector<size_t> owner;  // span index of each command
  for (size_t s = 0; s < spans.size(); ++s) {
    if (spans[s].whole()) {
      commands.push_back({"HGETALL", absl::StrCat(base, ":d:", spans[s].day)});
      owner.push_back(s);
    } else {
      for (int64_t h = spans[s].first_hour; h < spans[s].end_hour; ++h) {
        commands.push_back({"HGETALL", absl::StrCat(base, ":h:", h)});
        owner.push_back(s);
      }
    }
  }
  std::vector<Counters> out(spans.size());
  // Pipelines of at most 256 reads, so one query never holds a huge reply.
  for (size_t begin = 0; begin < commands.size(); begin += 256) {
    const size_t end = std::min(commands.size(), begin + 256);
    std::vector<std::vector<std::string>> batch(commands.begin() + begin, commands.begin() + end);
    auto replies = redis_->Pipeline(batch);
    if (!replies.ok()) return StoreError(replies.status(), "reading report counters");
    for (size_t i = 0; i < replies->size(); ++i) AddHash((*replies)[i], out[owner[begin + i]]);
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> RedisReportStore::ReadRecord(
    const std::string& tenant, const std::string& key) {
  auto r = redis_->Command({"HGETALL", absl::StrCat(Base(tenant), ":", key)});
  if (!r.ok()) return StoreError(r.status(), "reading report settings");
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    if (r->elements[i].str == "_v") continue;
    out[r->elements[i].str] = r->elements[i + 1].str;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisReportStore::Agents(const std::string& tenant) {
  auto r = redis_->Command({"SMEMBERS", absl::StrCat(Base(tenant), ":agents")});
  if (!r.ok()) return StoreError(r.status(), "reading the agents");
  std::vector<std::string> out;
  for (const auto& e : r->elements) out.push_back(e.str);
  return out;
}

absl::StatusOr<int64_t> RedisReportStore::StorageBefore(const std::string& tenant,
                                                        int64_t end_hour) {
  auto r = redis_->Command({"HGETALL", absl::StrCat(Base(tenant), ":rec-net")});
  if (!r.ok()) return StoreError(r.status(), "reading recording storage");
  int64_t total = 0;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    int64_t hour = 0, v = 0;
    if (absl::SimpleAtoi(r->elements[i].str, &hour) &&
        absl::SimpleAtoi(r->elements[i + 1].str, &v) && hour < end_hour) {
      total += v;
    }
  }
  return total;
}

}  // namespace dialgrid::reporting
