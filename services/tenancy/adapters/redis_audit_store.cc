#include "services/tenancy/adapters/redis_audit_store.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/tenancy/adapters/lua/append_audit.lua.h"

namespace dialgrid::tenancy {
namespace {

const redis::Script& AppendScript() {
  static const auto* script = new redis::Script(lua::kAppendAudit);
  return *script;
}

std::string LogKey(const std::string& tenant) { return absl::StrCat(TenantHashTag(tenant), ":audit"); }

// A stream id "<ms>-<seq>": its milliseconds, or -1 when it is not one.
int64_t StreamIdMillis(absl::string_view id) {
  std::vector<absl::string_view> parts = absl::StrSplit(id, '-');
  int64_t ms = 0;
  uint64_t seq = 0;
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty() ||
      !absl::SimpleAtoi(parts[0], &ms) || !absl::SimpleAtoi(parts[1], &seq) || ms < 0) {
    return -1;
  }
  for (absl::string_view p : parts) {
    for (char c : p) {
      if (c < '0' || c > '9') return -1;  // SimpleAtoi accepts "+1", " 1"
    }
  }
  return ms;
}

absl::Status StoreError(const absl::Status& st, absl::string_view what) {
  if (st.code() == absl::StatusCode::kUnavailable) return st;
  return Unavailable("AUDIT_STORE_UNAVAILABLE", absl::StrCat(what, ": ", st.message()));
}

}  // namespace

RedisAuditStore::RedisAuditStore(std::shared_ptr<redis::Client> redis,
                                 RedisAuditStoreOptions options)
    : redis_(std::move(redis)), options_(options) {}

absl::StatusOr<bool> RedisAuditStore::Append(const v1::AuditRecord& record) {
  const std::string tag = TenantHashTag(record.tenant());
  auto r = redis_->Eval(
      AppendScript(), {LogKey(record.tenant()), absl::StrCat(tag, ":audit-seen:", record.event_id())},
      {record.SerializeAsString(),
       std::to_string(std::max<int64_t>(1, absl::ToInt64Seconds(options_.dedup_ttl))),
       std::to_string(absl::ToInt64Milliseconds(options_.retention))});
  if (!r.ok()) return StoreError(r.status(), "appending an audit record");
  return r->integer == 1;
}

bool RedisAuditStore::ValidPosition(const std::string& position) const {
  return StreamIdMillis(position) >= 0;
}

absl::StatusOr<AuditPage> RedisAuditStore::Scan(const AuditScan& scan) {
  AuditPage page;
  std::string upper = scan.before.empty() ? "+" : absl::StrCat("(", scan.before);
  const int64_t stop_ms = scan.stop_below == absl::InfinitePast()
                              ? -1
                              : absl::ToUnixMillis(scan.stop_below);
  int read = 0;
  while (true) {
    const int batch = std::min(500, scan.max_read - read);
    if (batch <= 0) return page;  // page.next is where the reading stopped
    auto r = redis_->Command(
        {"XREVRANGE", LogKey(scan.tenant), upper, "-", "COUNT", std::to_string(batch)});
    if (!r.ok()) return StoreError(r.status(), "reading the audit log");
    for (const redis::Reply& entry : r->elements) {
      if (entry.elements.size() != 2) {
        return absl::DataLossError("audit log: an entry is not [id, fields]");
      }
      const std::string& id = entry.elements[0].str;
      ++read;
      if (StreamIdMillis(id) < stop_ms) {
        page.next.clear();  // every record further on is older
        return page;
      }
      page.next = id;
      const redis::Reply& fields = entry.elements[1];
      v1::AuditRecord record;
      bool parsed = false;
      for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].str == "r") parsed = record.ParseFromString(fields.elements[i + 1].str);
      }
      if (!parsed) return absl::DataLossError(absl::StrCat("audit log: record ", id, " does not parse"));
      if (scan.keep && !scan.keep(record)) continue;
      page.records.push_back(std::move(record));
      if (static_cast<int>(page.records.size()) >= scan.limit) return page;
    }
    if (static_cast<int>(r->elements.size()) < batch) {
      page.next.clear();  // the log's end
      return page;
    }
    upper = absl::StrCat("(", page.next);
  }
}

}  // namespace dialgrid::tenancy
