#include "services/dialing/domain/campaign_rules.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/amd.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/common/phone/phone_numbers.h"

namespace dialgrid::dialing {
namespace {

using google::protobuf::util::TimeUtil;

absl::Duration Of(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Status OutOfRange(absl::string_view field, absl::string_view what) {
  return InvalidField(field, "VALUE_OUT_OF_RANGE", what);
}

absl::Status CheckId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(field, "FIELD_REQUIRED", "is required");
  if (!ValidateResourceId(field, id).ok()) {
    return InvalidField(field, "INVALID_ID", "must be 1-63 characters of [a-z0-9-]");
  }
  return absl::OkStatus();
}

}  // namespace

std::string StateName(v1::CampaignState state) {
  std::string n = v1::CampaignState_Name(state);
  return absl::StartsWith(n, "CAMPAIGN_STATE_") ? n.substr(15) : n;
}

void ApplyDefaults(v1::Campaign& c, absl::string_view tenant_time_zone) {
  const bool paced =
      c.mode() == v1::CAMPAIGN_MODE_PREDICTIVE || c.mode() == v1::CAMPAIGN_MODE_POWER;
  if (paced || c.has_abandon_target()) {
    auto* t = c.mutable_abandon_target();
    if (t->max_rate() == 0) t->set_max_rate(kLegalAbandonCeiling);
    if (t->measurement() == v1::ABANDON_MEASUREMENT_UNSPECIFIED) {
      t->set_measurement(v1::ABANDON_MEASUREMENT_PER_DAY_AND_30_DAYS);
    }
  }
  if (!c.has_ring_timeout()) *c.mutable_ring_timeout() = TimeUtil::SecondsToDuration(25);
  if (c.max_lines_per_agent() == 0) c.set_max_lines_per_agent(kDefaultLinesPerAgent);
  if (c.machine().action() == v1::MACHINE_ACTION_UNSPECIFIED) {
    c.mutable_machine()->set_action(v1::MACHINE_ACTION_HANG_UP);
  }
  if (c.time_zone().empty()) c.set_time_zone(std::string(tenant_time_zone));
  if (c.has_inbound() && c.inbound().numbers_size() > 0) {
    auto* in = c.mutable_inbound();
    if (in->service_level_target() == 0) in->set_service_level_target(kDefaultServiceLevel);
    if (!in->has_service_level_threshold()) {
      *in->mutable_service_level_threshold() =
          TimeUtil::SecondsToDuration(absl::ToInt64Seconds(kDefaultServiceLevelThreshold));
    }
    if (!in->has_max_wait()) {
      *in->mutable_max_wait() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(kDefaultMaxWait));
    }
    if (in->overflow_message_id().empty()) in->set_overflow_message_id(kDefaultOverflowMessage);
  }
}

namespace {

// Each of `numbers` a valid number written in E.164, none twice.
absl::Status CheckNumbers(absl::string_view field,
                          const google::protobuf::RepeatedPtrField<std::string>& numbers,
                          absl::string_view what) {
  std::set<std::string> seen;
  for (const auto& n : numbers) {
    auto p = phone::NormalizePhone(n, "");
    if (!p.ok() || p->number.e164() != n) {
      return InvalidField(field, "INVALID_PHONE_NUMBER",
                          absl::StrCat("each ", what, " must be a valid number in E.164 (+15551234567)"));
    }
    if (!seen.insert(n).second) {
      return InvalidField(field, "DUPLICATE_VALUE", absl::StrCat(n, " twice"));
    }
  }
  return absl::OkStatus();
}

bool ValidMessageId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id) {
    if (!absl::ascii_isalnum(ch) && ch != '.' && ch != '_' && ch != '-') return false;
  }
  return true;
}

absl::Status ValidateInbound(const v1::Campaign& c) {
  const v1::InboundSettings& in = c.inbound();
  if (in.numbers_size() == 0) {
    // Outbound only: the other settings have nothing to apply to.
    if (in.ByteSizeLong() != 0) {
      return InvalidField("campaign.inbound.numbers", "FIELD_REQUIRED",
                          "inbound settings need at least one number");
    }
    return absl::OkStatus();
  }
  if (c.mode() == v1::CAMPAIGN_MODE_AGENTLESS) {
    return InvalidField("campaign.inbound", "FIELD_NOT_APPLICABLE",
                        "an AGENTLESS campaign has no agents to take inbound calls");
  }
  if (in.numbers_size() > kMaxInboundNumbers) {
    return InvalidField("campaign.inbound.numbers", "TOO_MANY_VALUES", "at most 100 numbers");
  }
  DG_RETURN_IF_ERROR(CheckNumbers("campaign.inbound.numbers", in.numbers(), "number"));
  if (!(in.service_level_target() > 0.0 && in.service_level_target() <= 1.0)) {
    return OutOfRange("campaign.inbound.service_level_target", "must be in (0, 1]");
  }
  const absl::Duration threshold = Of(in.service_level_threshold());
  if (threshold < absl::Seconds(1) || threshold > absl::Minutes(10)) {
    return OutOfRange("campaign.inbound.service_level_threshold", "must be 1 s to 10 min");
  }
  const absl::Duration max_wait = Of(in.max_wait());
  if (max_wait < absl::Seconds(10) || max_wait > absl::Hours(1)) {
    return OutOfRange("campaign.inbound.max_wait", "must be 10 s to 1 h");
  }
  if (!ValidMessageId(in.overflow_message_id())) {
    return InvalidField("campaign.inbound.overflow_message_id", "INVALID_MESSAGE_ID",
                        "1-64 characters of [A-Za-z0-9._-]");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCampaign(absl::string_view tenant, const v1::Campaign& c) {
  if (c.display_name().empty()) {
    return InvalidField("campaign.display_name", "FIELD_REQUIRED", "a display name is required");
  }
  if (c.display_name().size() > 200) {
    return InvalidField("campaign.display_name", "FIELD_TOO_LONG", "at most 200 characters");
  }
  DG_RETURN_IF_ERROR(ValidateText("campaign.display_name", c.display_name()));

  if (c.contact_lists_size() == 0) {
    return InvalidField("campaign.contact_lists", "FIELD_REQUIRED", "at least one contact list");
  }
  if (c.contact_lists_size() > kMaxContactLists) {
    return InvalidField("campaign.contact_lists", "TOO_MANY_VALUES", "at most 50 contact lists");
  }
  std::set<std::string> lists;
  for (const auto& l : c.contact_lists()) {
    auto ids = ParseName("campaign.contact_lists", l, "tenants/{tenant}/contactLists/{list}");
    if (!ids.ok()) return ids.status();
    if ((*ids)[0] != tenant) {
      // As everywhere: another tenant's resource is not to be named.
      return WithMetadata(PermissionDenied("TENANT_MISMATCH",
                                           "the caller may not access resources of this tenant"),
                          "field", "campaign.contact_lists");
    }
    if (!lists.insert(l).second) {
      return InvalidField("campaign.contact_lists", "DUPLICATE_VALUE", absl::StrCat(l, " twice"));
    }
  }

  switch (c.mode()) {
    case v1::CAMPAIGN_MODE_PREVIEW:
    case v1::CAMPAIGN_MODE_PROGRESSIVE:
    case v1::CAMPAIGN_MODE_POWER:
    case v1::CAMPAIGN_MODE_PREDICTIVE:
    case v1::CAMPAIGN_MODE_AGENTLESS:
      break;
    default:
      return InvalidField("campaign.mode", "FIELD_REQUIRED", "a dialing mode is required");
  }
  if (c.max_lines_per_agent() < 1 || c.max_lines_per_agent() > kMaxLinesPerAgent) {
    return OutOfRange("campaign.max_lines_per_agent", "must be 1-10");
  }
  if (c.mode() == v1::CAMPAIGN_MODE_POWER) {
    if (!(c.power_ratio() > 0) || c.power_ratio() > c.max_lines_per_agent()) {
      return OutOfRange("campaign.power_ratio",
                        "must be above 0 and at most max_lines_per_agent");
    }
  } else if (c.power_ratio() != 0) {
    return InvalidField("campaign.power_ratio", "FIELD_NOT_APPLICABLE",
                        "power_ratio is for POWER campaigns only");
  }
  if (c.has_abandon_target()) {
    const double r = c.abandon_target().max_rate();
    if (!(r > 0) || r > kLegalAbandonCeiling) {
      return OutOfRange("campaign.abandon_target.max_rate",
                        "must be above 0 and at most 0.03 (the legal ceiling)");
    }
  }
  if (c.max_lines() < 1 || c.max_lines() > kMaxLines) {
    return OutOfRange("campaign.max_lines", "must be 1-10000");
  }
  const absl::Duration ring = Of(c.ring_timeout());
  if (ring < absl::Seconds(15) || ring > absl::Seconds(120)) {
    return OutOfRange("campaign.ring_timeout",
                      "must be 15-120 s (under 15 s hangs up on people still reaching the phone)");
  }

  if (c.caller_ids_size() == 0) {
    return InvalidField("campaign.caller_ids", "FIELD_REQUIRED",
                        "at least one caller id (an empty pool cannot place calls)");
  }
  if (c.caller_ids_size() > kMaxCallerIds) {
    return InvalidField("campaign.caller_ids", "TOO_MANY_VALUES", "at most 1000 caller ids");
  }
  DG_RETURN_IF_ERROR(CheckNumbers("campaign.caller_ids", c.caller_ids(), "caller id"));

  if (c.active_windows_size() > kMaxWindows) {
    return InvalidField("campaign.active_windows", "TOO_MANY_VALUES", "at most 50 windows");
  }
  for (const auto& w : c.active_windows()) {
    for (int d : w.days()) {
      if (d < 1 || d > 7) return OutOfRange("campaign.active_windows.days", "are 1 (Monday) to 7");
    }
    if (w.start_minute() < 0 || w.start_minute() > 1439 || w.end_minute() <= w.start_minute() ||
        w.end_minute() > 1440) {
      return OutOfRange("campaign.active_windows",
                        "need 0 <= start_minute < end_minute <= 1440");
    }
  }
  absl::TimeZone zone;
  if (c.time_zone().empty() || !absl::LoadTimeZone(c.time_zone(), &zone)) {
    return InvalidField("campaign.time_zone", "UNKNOWN_TIME_ZONE", "an IANA time zone is required");
  }

  if (c.purpose() == type::v1::CALL_PURPOSE_DEBT_COLLECTION) {
    if (c.debt_attribute().empty()) {
      return InvalidField("campaign.debt_attribute", "FIELD_REQUIRED",
                          "a debt-collection campaign names the contact attribute holding the debt");
    }
    if (c.debt_attribute().size() > 64) {
      return InvalidField("campaign.debt_attribute", "FIELD_TOO_LONG", "at most 64 characters");
    }
  } else if (!c.debt_attribute().empty()) {
    return InvalidField("campaign.debt_attribute", "FIELD_NOT_APPLICABLE",
                        "debt_attribute is for DEBT_COLLECTION campaigns only");
  }

  if (c.product().size() > 128 || !(c.product().empty() || ValidDebt(c.product()))) {
    return InvalidField("campaign.product", "INVALID_PRODUCT",
                        "0-128 characters of [A-Za-z0-9._:-]");
  }
  if (!c.opt_out_key().empty() &&
      (c.opt_out_key().size() != 1 || !absl::StrContains("0123456789*#", c.opt_out_key()))) {
    return InvalidField("campaign.opt_out_key", "INVALID_OPT_OUT_KEY",
                        "one key: 0-9, * or # (empty: the service's default)");
  }
  if (c.mode() == v1::CAMPAIGN_MODE_AGENTLESS) {
    DG_RETURN_IF_ERROR(CheckId("campaign.agentless_message_id", c.agentless_message_id()));
  } else if (!c.agentless_message_id().empty()) {
    return InvalidField("campaign.agentless_message_id", "FIELD_NOT_APPLICABLE",
                        "agentless_message_id is for AGENTLESS campaigns only");
  }

  DG_RETURN_IF_ERROR(ValidateInbound(c));

  if (c.skills_size() > kMaxSkills) {
    return InvalidField("campaign.skills", "TOO_MANY_VALUES", "at most 20 skills");
  }
  for (const auto& s : c.skills()) {
    DG_RETURN_IF_ERROR(CheckId("campaign.skills.name", s.name()));
    if (s.min_level() < 1 || s.min_level() > 10) {
      return OutOfRange("campaign.skills.min_level", "must be 1-10");
    }
  }

  if (c.machine().action() == v1::MACHINE_ACTION_UNSPECIFIED) {
    return InvalidField("campaign.machine.action", "FIELD_REQUIRED", "is required");
  }
  if (c.machine().action() == v1::MACHINE_ACTION_LEAVE_MESSAGE) {
    DG_RETURN_IF_ERROR(CheckId("campaign.machine.message_id", c.machine().message_id()));
  } else if (!c.machine().message_id().empty()) {
    return InvalidField("campaign.machine.message_id", "FIELD_NOT_APPLICABLE",
                        "a message is for LEAVE_MESSAGE only");
  }
  if (!ValidAmdFalsePositiveRate(c.machine().false_positive_rate())) {
    return OutOfRange("campaign.machine.false_positive_rate",
                      "0 (the dialer's default) or above 0 up to 0.5");
  }
  if (c.mode() == v1::CAMPAIGN_MODE_AGENTLESS &&
      c.machine().action() == v1::MACHINE_ACTION_ROUTE_TO_AGENT) {
    return InvalidField("campaign.machine.action", "FIELD_NOT_APPLICABLE",
                        "an agentless campaign has no agent to route to");
  }

  std::set<int> outcomes;
  for (const auto& r : c.retries()) {
    if (r.outcome() == v1::RETRY_OUTCOME_UNSPECIFIED) {
      return InvalidField("campaign.retries.outcome", "FIELD_REQUIRED", "is required");
    }
    if (!outcomes.insert(r.outcome()).second) {
      return InvalidField("campaign.retries.outcome", "DUPLICATE_VALUE",
                          "one retry rule per outcome");
    }
    const absl::Duration d = Of(r.delay());
    if (d < absl::Minutes(1) || d > absl::Hours(24 * 30)) {
      return OutOfRange("campaign.retries.delay", "must be 1 minute to 30 days");
    }
    if (r.max_attempts() < 1 || r.max_attempts() > 20) {
      return OutOfRange("campaign.retries.max_attempts", "must be 1-20");
    }
  }

  if (c.dispositions_size() > kMaxDispositions) {
    return InvalidField("campaign.dispositions", "TOO_MANY_VALUES", "at most 100 dispositions");
  }
  std::set<std::string> codes;
  for (const auto& d : c.dispositions()) {
    DG_RETURN_IF_ERROR(CheckId("campaign.dispositions.code", d.code()));
    if (d.outcome() == v1::DISPOSITION_OUTCOME_UNSPECIFIED) {
      return InvalidField("campaign.dispositions.outcome", "FIELD_REQUIRED", "is required");
    }
    if (!codes.insert(d.code()).second) {
      return InvalidField("campaign.dispositions.code", "DUPLICATE_VALUE",
                          absl::StrCat(d.code(), " twice"));
    }
  }

  const auto& costs = c.costs();
  if (!costs.currency_code().empty()) {
    bool iso = costs.currency_code().size() == 3;
    for (char ch : costs.currency_code()) iso = iso && ch >= 'A' && ch <= 'Z';
    if (!iso) {
      return InvalidField("campaign.costs.currency_code", "INVALID_CURRENCY",
                          "an ISO 4217 code such as USD");
    }
  } else if (costs.per_minute_micros() != 0 || costs.per_attempt_micros() != 0) {
    return InvalidField("campaign.costs.currency_code", "FIELD_REQUIRED",
                        "costs need their currency");
  }
  if (costs.per_minute_micros() < 0 || costs.per_attempt_micros() < 0) {
    return OutOfRange("campaign.costs", "must not be negative");
  }
  return absl::OkStatus();
}

absl::Status CheckPatchReferences(absl::string_view tenant, const v1::Campaign& patch,
                                  const std::vector<std::string>& mask) {
  if (mask.empty()) {
    return InvalidField("update_mask", "FIELD_REQUIRED", "name the fields to update");
  }
  // Whether masked or not: a request naming another tenant's resource
  // anywhere is refused.
  for (const auto& l : patch.contact_lists()) {
    auto t = TenantOfName("campaign.contact_lists", l);
    if (!t.ok()) return t.status();
    if (*t != tenant) {
      return WithMetadata(PermissionDenied("TENANT_MISMATCH",
                                           "the caller may not access resources of this tenant"),
                          "field", "campaign.contact_lists");
    }
  }
  for (const auto& sk : patch.skills()) {
    DG_RETURN_IF_ERROR(CheckId("campaign.skills.name", sk.name()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Campaign> ApplyCampaignUpdate(const v1::Campaign& current,
                                                 const v1::Campaign& patch,
                                                 const std::vector<std::string>& mask) {
  if (mask.empty()) {
    return InvalidField("update_mask", "FIELD_REQUIRED", "name the fields to update");
  }
  v1::Campaign out = current;
  for (const auto& path : mask) {
    if (path == "display_name") {
      out.set_display_name(patch.display_name());
    } else if (path == "contact_lists") {
      *out.mutable_contact_lists() = patch.contact_lists();
    } else if (path == "mode") {
      out.set_mode(patch.mode());
    } else if (path == "power_ratio") {
      out.set_power_ratio(patch.power_ratio());
    } else if (path == "abandon_target") {
      *out.mutable_abandon_target() = patch.abandon_target();
    } else if (path == "max_lines") {
      out.set_max_lines(patch.max_lines());
    } else if (path == "max_lines_per_agent") {
      out.set_max_lines_per_agent(patch.max_lines_per_agent());
    } else if (path == "ring_timeout") {
      *out.mutable_ring_timeout() = patch.ring_timeout();
    } else if (path == "caller_ids") {
      *out.mutable_caller_ids() = patch.caller_ids();
    } else if (path == "active_windows") {
      *out.mutable_active_windows() = patch.active_windows();
    } else if (path == "time_zone") {
      out.set_time_zone(patch.time_zone());
    } else if (path == "skills") {
      *out.mutable_skills() = patch.skills();
    } else if (path == "machine") {
      *out.mutable_machine() = patch.machine();
    } else if (path == "retries") {
      *out.mutable_retries() = patch.retries();
    } else if (path == "dispositions") {
      *out.mutable_dispositions() = patch.dispositions();
    } else if (path == "costs") {
      *out.mutable_costs() = patch.costs();
    } else if (path == "inbound") {
      *out.mutable_inbound() = patch.inbound();
    } else if (path == "product") {
      out.set_product(patch.product());
    } else if (path == "opt_out_key") {
      out.set_opt_out_key(patch.opt_out_key());
    } else if (path == "agentless_message_id") {
      out.set_agentless_message_id(patch.agentless_message_id());
    } else if (path == "purpose") {
      out.set_purpose(patch.purpose());
    } else if (path == "debt_attribute") {
      out.set_debt_attribute(patch.debt_attribute());
    } else {
      return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                          absl::StrCat("\"", path, "\" cannot be updated"));
    }
  }
  return out;
}

absl::StatusOr<v1::CampaignState> NextState(v1::CampaignState from, CampaignAction action) {
  using S = v1::CampaignState;
  auto illegal = [&](absl::string_view what) {
    return FailedPrecondition("ILLEGAL_TRANSITION",
                              absl::StrCat("cannot ", what, ": the campaign is ", StateName(from)));
  };
  switch (action) {
    case CampaignAction::kStart:
      if (from == S::CAMPAIGN_STATE_DRAFT || from == S::CAMPAIGN_STATE_STOPPED) {
        return S::CAMPAIGN_STATE_RUNNING;
      }
      return illegal("start");
    case CampaignAction::kPause:
      if (from == S::CAMPAIGN_STATE_RUNNING) return S::CAMPAIGN_STATE_PAUSED;
      return illegal("pause");
    case CampaignAction::kResume:
      if (from == S::CAMPAIGN_STATE_PAUSED) return S::CAMPAIGN_STATE_RUNNING;
      return illegal("resume");
    case CampaignAction::kStop:
      if (from == S::CAMPAIGN_STATE_RUNNING || from == S::CAMPAIGN_STATE_PAUSED) {
        return S::CAMPAIGN_STATE_STOPPED;
      }
      return illegal("stop");
    case CampaignAction::kDelete:
      if (from == S::CAMPAIGN_STATE_RUNNING || from == S::CAMPAIGN_STATE_PAUSED) {
        return illegal("delete (stop it first)");
      }
      return from;
  }
  return illegal("do that");
}

type::v1::DialingMode ComplianceMode(v1::CampaignMode mode) {
  switch (mode) {
    case v1::CAMPAIGN_MODE_PREVIEW: return type::v1::DIALING_MODE_PREVIEW;
    case v1::CAMPAIGN_MODE_PROGRESSIVE: return type::v1::DIALING_MODE_PROGRESSIVE;
    case v1::CAMPAIGN_MODE_AGENTLESS: return type::v1::DIALING_MODE_AGENTLESS;
    // POWER abandons like PREDICTIVE; anything unknown gets the strictest.
    default: return type::v1::DIALING_MODE_PREDICTIVE;
  }
}

// A debt id compliance takes: 1-128 characters of [A-Za-z0-9._:-].
bool ValidDebt(absl::string_view debt) {
  if (debt.empty() || debt.size() > 128) return false;
  for (char ch : debt) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' &&
        ch != ':' && ch != '-') {
      return false;
    }
  }
  return true;
}

std::string DebtOf(const v1::Campaign& campaign, const contacts::v1::Contact& contact) {
  if (campaign.purpose() != type::v1::CALL_PURPOSE_DEBT_COLLECTION) return "";
  auto it = contact.attributes().find(campaign.debt_attribute());
  if (it == contact.attributes().end() || !ValidDebt(it->second)) return "";
  return it->second;
}

}  // namespace dialgrid::dialing
