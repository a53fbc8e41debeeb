#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {

absl::StatusOr<v1::RuleSet> ComplianceManager::UpdateRuleSet(const Actor& actor,
                                                             const v1::UpdateRuleSetRequest& req) {
  DG_ASSIGN_OR_RETURN(
      auto ids, ParseName("rule_set.name", req.rule_set().name(), "tenants/{tenant}/ruleSet"));
  const std::string& tenant = ids[0];
  if (req.expected_version() < 0) {
    return InvalidField("expected_version", "INVALID_VERSION", "expected_version is 0 or more");
  }
  v1::RuleSet current;
  auto cur = store_->GetRuleSet(tenant, 0);
  if (cur.ok()) {
    current = *cur;
  } else if (ReasonOf(cur.status()) != "RULE_SET_MISSING") {
    return cur.status();
  }
  if (!actor.vendor_admin) {
    std::vector<std::string> before(current.do_not_call_registries().begin(),
                                    current.do_not_call_registries().end());
    std::vector<std::string> after(req.rule_set().do_not_call_registries().begin(),
                                   req.rule_set().do_not_call_registries().end());
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    if (before != after) {
      return PermissionDenied("ROLE_NOT_ALLOWED",
                              "only vendor administrators change do_not_call_registries");
    }
  }
  if (current.version() != req.expected_version()) {
    return Aborted("VERSION_MISMATCH",
                   absl::StrCat("the current version is ", current.version(), ", not ",
                                req.expected_version(), "; get it and apply your change again"));
  }
  v1::RuleSet next = req.rule_set();
  next.set_version(req.expected_version() + 1);
  *next.mutable_update_time() = ToProto(clock_.Now());
  next.set_updated_by(actor.subject);
  DG_ASSIGN_OR_RETURN(auto compiled, CompileRuleSet(tenant, next, presets_, Registries()->dnc_ids));
  v1::RuleSetChanged changed;
  *changed.mutable_rule_set() = next;
  DG_RETURN_IF_ERROR(store_->PutRuleSet(tenant, next, req.expected_version(),
                                        Event(actor, tenant, next.name(), changed)));
  std::lock_guard<std::mutex> lock(mu_);
  rule_sets_[tenant] = compiled;
  return next;
}

absl::StatusOr<v1::RuleSet> ComplianceManager::GetRuleSet(const v1::GetRuleSetRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req.name(), "tenants/{tenant}/ruleSet"));
  if (req.version() < 0) return InvalidField("version", "INVALID_VERSION", "version is 0 or more");
  auto rs = store_->GetRuleSet(ids[0], req.version());
  if (!rs.ok() && ReasonOf(rs.status()) == "RULE_SET_MISSING") {
    return NotFound("RULE_SET_NOT_FOUND", "the tenant has no rule set yet");
  }
  return rs;
}

v1::ListCallingHoursPresetsResponse ComplianceManager::ListPresets() const {
  v1::ListCallingHoursPresetsResponse resp;
  for (const auto& p : presets_) *resp.add_presets() = PresetToProto(p);
  return resp;
}

}  // namespace dialgrid::compliance
