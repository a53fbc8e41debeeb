#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/kafka/event_publisher.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"
#include "services/compliance/domain/relationships.h"

namespace dialgrid::compliance {
namespace {

// "OUTSIDE_CALLING_HOURS:US-FL@America/New_York" -> code, rule, zone.
v1::DenialReason WindowReason(const std::string& text) {
  v1::DenialReason r;
  std::vector<std::string> cr = absl::StrSplit(text, absl::MaxSplits(':', 1));
  r.set_code(cr[0]);
  if (cr.size() > 1) {
    std::vector<std::string> rz = absl::StrSplit(cr[1], absl::MaxSplits('@', 1));
    r.set_rule(rz[0]);
    if (rz.size() > 1) r.set_detail(rz[1]);
  }
  return r;
}

// Where the callee is: its candidate zones (given with the request, else
// derived from postal code, region, number or country), the regions and the
// calling-hour rules that apply, all recorded in the decision `d`.
struct CalleePlace {
  std::vector<absl::TimeZone> zones;
  std::vector<const CallingHoursRule*> rules;
  std::vector<std::string> countries;
  std::vector<std::string> regions;
};

// Whether a tenant cap applies to this callee (its jurisdiction, if any,
// matched as calling hours are).
bool CapApplies(const AttemptCap& cap, const CalleePlace& place) {
  if (cap.jurisdiction.empty()) return true;
  for (const auto& c : place.countries) {
    if (cap.jurisdiction == c) return true;
    for (const auto& r : place.regions) {
      if (cap.jurisdiction == absl::StrCat(c, "-", r)) return true;
    }
  }
  return false;
}

absl::StatusOr<CalleePlace> LocateCallee(const geo::ZoneResolver& zones,
                                         const phone::NormalizedPhone& number,
                                         const v1::Callee& callee, const CompiledRuleSet& rs,
                                         type::v1::CallPurpose purpose, v1::DialDecision& d) {
  std::vector<std::string> zone_names(callee.time_zones().begin(), callee.time_zones().end());
  if (!zone_names.empty()) {
    d.set_time_zone_source(callee.time_zone_source() != type::v1::TIME_ZONE_SOURCE_UNSPECIFIED
                               ? callee.time_zone_source()
                               : type::v1::TIME_ZONE_SOURCE_EXPLICIT);
  } else {
    geo::LocationHints hints;
    hints.postal_code = callee.postal_code();
    hints.region = callee.region();
    hints.country = callee.country().empty() ? number.number.region_code() : callee.country();
    hints.phones.push_back({number.number.e164(), number.number.region_code(), number.nanp_region});
    auto answer = zones.Resolve(hints);
    if (answer.ok() && !answer->zones.empty()) {
      zone_names = answer->zones;
      d.set_time_zone_source(geo::ToProtoSource(answer->source));
    }
  }
  CalleePlace place;
  for (size_t i = 0; i < zone_names.size(); ++i) {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(zone_names[i], &tz)) {
      return InvalidField("callee.time_zones", "UNKNOWN_TIME_ZONE",
                          absl::StrCat("\"", zone_names[i], "\" is not an IANA time zone"));
    }
    place.zones.push_back(tz);
    d.add_time_zones(zone_names[i]);
  }
  std::vector<std::string> countries = {number.number.region_code()};
  if (!callee.country().empty() && callee.country() != countries[0])
    countries.push_back(callee.country());
  std::vector<std::string> regions;
  for (const std::string& r : {zones.NormalizeRegion(callee.country(), callee.region()),
                               zones.NormalizeRegion("", number.nanp_region)}) {
    if (!r.empty() && std::find(regions.begin(), regions.end(), r) == regions.end()) {
      regions.push_back(r);
    }
  }
  for (const auto& r : regions) d.add_regions(r);
  std::vector<const CallingHoursRule*>& rules = place.rules;
  for (const auto& c : countries) {
    for (const CallingHoursRule* r : ApplicableRules(rs.calling_rules, c, regions, purpose)) {
      if (std::find(rules.begin(), rules.end(), r) == rules.end()) rules.push_back(r);
    }
  }
  for (const auto* r : rules) d.add_calling_hours_rules(r->id);
  place.countries = countries;
  place.regions = regions;
  return place;
}

}  // namespace

namespace {

// The purpose as decided on: unset reads as telemarketing (the most
// restrictive reading); an undefined value is refused.
absl::StatusOr<type::v1::CallPurpose> PurposeOf(type::v1::CallPurpose purpose) {
  if (purpose == type::v1::CALL_PURPOSE_UNSPECIFIED) return type::v1::CALL_PURPOSE_TELEMARKETING;
  if (!type::v1::CallPurpose_IsValid(purpose)) {
    return InvalidField("purpose", "UNKNOWN_ENUM_VALUE",
                        absl::StrCat("purpose ", static_cast<int>(purpose), " is not defined"));
  }
  return purpose;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledRuleSet>> ComplianceManager::RuleSetOf(
    const std::string& tenant, bool reload) {
  if (!reload) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rule_sets_.find(tenant);
    if (it != rule_sets_.end()) return it->second;
  }
  auto rs = store_->GetRuleSet(tenant, 0);
  if (!rs.ok()) return rs.status();
  auto compiled = CompileRuleSet(tenant, *rs, presets_, Registries()->dnc_ids);
  if (!compiled.ok()) {
    // A stored rule set this replica cannot compile (e.g. it names a
    // registry this replica has not loaded): fail closed.
    return FailedPrecondition("RULE_SET_NOT_APPLICABLE",
                              absl::StrCat("the tenant's rule set cannot be applied here: ",
                                           compiled.status().message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  rule_sets_[tenant] = *compiled;
  return *compiled;
}

absl::StatusOr<AbandonCounts> ComplianceManager::CachedAbandonCounts(const std::string& tenant,
                                                                     const std::string& campaign) {
  std::string key = absl::StrCat(tenant, "/", campaign);
  absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = abandon_cache_.find(key);
    if (it != abandon_cache_.end() && now - it->second.read < options_.abandon_cache_ttl) {
      return it->second.counts;
    }
  }
  auto counts = store_->GetAbandonCounts(tenant, campaign, now);
  if (!counts.ok()) return counts.status();
  std::lock_guard<std::mutex> lock(mu_);
  abandon_cache_[key] = {*counts, now};
  return counts;
}

absl::StatusOr<v1::DialDecision> ComplianceManager::Decide(const Actor& actor,
                                                           const DialRequest& dial) {
  const std::string& tenant = dial.tenant;
  const std::string& campaign_id = dial.campaign_id;
  const v1::Callee& callee = dial.callee;
  const type::v1::DialingMode mode = dial.mode;
  const absl::Time when = dial.when;
  const bool reserve = dial.use == DialUse::kDial;
  DG_ASSIGN_OR_RETURN(phone::NormalizedPhone number,
                      Normalize("phone_number", dial.phone_number, callee.country()));
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledRuleSet> rs, RuleSetOf(tenant, attempt > 0));

    v1::DialDecision d;
    d.set_decision_id(RandomHex(16));
    d.set_rule_set(absl::StrCat("tenants/", tenant, "/ruleSet"));
    d.set_rule_set_version(rs->version);
    *d.mutable_decision_time() = ToProto(when);
    d.set_campaign(dial.campaign);
    d.set_contact(dial.contact);
    *d.mutable_phone_number() = number.number;
    d.set_dialing_mode(mode);
    d.set_scrub(!reserve);
    d.set_request_id(dial.request_id);
    d.set_requested_by(actor.subject);
    d.set_purpose(dial.purpose);
    d.set_debt(dial.debt);
    d.set_product(dial.product);

    DG_ASSIGN_OR_RETURN(CalleePlace place,
                        LocateCallee(*zones_, number, callee, *rs, dial.purpose, d));
    const std::vector<absl::TimeZone>& zones = place.zones;
    const std::vector<const CallingHoursRule*>& rules = place.rules;

    // Recording consent: every party's place counts (the callee's country
    // and candidate regions, the tenant's own parties), the strictest wins.
    const RecordingNeed recording =
        RecordingAnnouncement(options_.statutory.recording, place.countries, place.regions,
                              rs->recording_parties, rs->always_announce_recording);
    d.set_recording_announcement_required(recording.announce);
    for (const std::string& r : recording.rules) d.add_recording_rules(r);

    // In-process rules: calling hours, registries, the campaign's abandon rate.
    bool never = false;
    WindowDecision window = CheckCallingWindow(zones, rules, when);
    // A refusal that only rules a separate consent waives (HoursWaiver,
    // e.g. KR-ICNA at night) goes to the store, which keeps it unless the
    // number's consent carries the scope. Rules naming different scopes are
    // not waived together (restrictive).
    std::vector<v1::DenialReason> waivable;
    absl::Time waivable_not_before = absl::InfinitePast();
    int waiver_scope = 0;
    std::vector<std::string> waiver_ids;
    if (!window.allowed && !options_.statutory.waivers.empty()) {
      std::vector<const CallingHoursRule*> kept;
      bool mixed = false;
      for (const CallingHoursRule* r : rules) {
        const HoursWaiver* w = nullptr;
        for (const HoursWaiver& hw : options_.statutory.waivers) {
          if (hw.calling_hours_rule == r->id) w = &hw;
        }
        if (w == nullptr) {
          kept.push_back(r);
          continue;
        }
        if (waiver_scope != 0 && waiver_scope != w->scope) mixed = true;
        waiver_scope = w->scope;
        waiver_ids.push_back(w->id);
      }
      // Without the waivable rules: the other rules allow it (none left: only
      // a zone is needed, as the waivable rules' own check had).
      const bool rest_allows =
          kept.empty() ? !zones.empty() : CheckCallingWindow(zones, kept, when).allowed;
      if (!waiver_ids.empty() && !mixed && rest_allows) {
        for (const auto& reason : window.reasons) waivable.push_back(WindowReason(reason));
        waivable_not_before = window.next_allowed == absl::InfiniteFuture()
                                  ? absl::InfinitePast()
                                  : window.next_allowed;
        window.allowed = true;
        window.reasons.clear();
      } else {
        waiver_scope = 0;
        waiver_ids.clear();
      }
    }
    for (const auto& reason : window.reasons) *d.add_reasons() = WindowReason(reason);
    if (!window.allowed) {
      if (window.next_allowed == absl::InfiniteFuture()) {
        never = true;
      } else {
        *d.mutable_next_allowed_time() = ToProto(window.next_allowed);
      }
    }
    const std::string& e164 = number.number.e164();
    // National registries restrict telephone solicitation only.
    const bool telemarketing = dial.purpose == type::v1::CALL_PURPOSE_TELEMARKETING;
    std::vector<DialCheck::LiftableListing> liftable;
    const LocalDates dial_dates = LocalDatesAt(zones, when);
    const std::shared_ptr<const RegistrySet> registries = Registries();
    for (const std::string& id : rs->registries) {
      const std::shared_ptr<Registry> registry = registries->Find(id);
      if (registry == nullptr) {
        return FailedPrecondition(
            "REGISTRY_NOT_LOADED",
            absl::StrCat("registry \"", id, "\" is not loaded on this replica"));
      }
      if (!telemarketing) continue;
      DG_RETURN_IF_ERROR(FreshEnough(*registry, clock_.Now()));
      const Registry::Listing listing = registry->Lookup(e164);
      if (!registry->Binds(listing, when)) continue;  // not listed, or still in its grace
      // An established business relationship may lift it (ebr_rules.tsv,
      // by the registry's rules row): the store decides with the records.
      DialCheck::LiftableListing lift;
      lift.registry = id;
      lift.max_day = EpochDay(dial_dates.earliest);
      for (const EbrRule& e : options_.statutory.ebr) {
        if (!registry->rule || e.registry_rule != registry->rule->id) continue;
        const int64_t min_day = EpochDay(EarliestCoveringDate(dial_dates.latest, e.months));
        if (e.kind == v1::RELATIONSHIP_KIND_TRANSACTION) {
          lift.transaction_rule = e.id;
          lift.transaction_min_day = min_day;
        } else if (e.kind == v1::RELATIONSHIP_KIND_INQUIRY) {
          lift.inquiry_rule = e.id;
          lift.inquiry_min_day = min_day;
        }
      }
      // A consent to this caller may lift it too (registry_consent_rules.tsv:
      // UK TPS, Canada's DNCL), checked by the store with the record.
      for (const RegistryConsentRule& rc : options_.statutory.registry_consent) {
        if (!registry->rule || rc.registry_rule != registry->rule->id) continue;
        lift.consent_rule = rc.id;
        lift.consent_level = static_cast<int>(rc.need);
      }
      if (!lift.transaction_rule.empty() || !lift.inquiry_rule.empty() ||
          !lift.consent_rule.empty()) {
        liftable.push_back(std::move(lift));
        continue;
      }
      v1::DenialReason* r = d.add_reasons();
      r->set_code(kDenyRegistry);
      r->set_rule(id);
      never = true;
    }
    // The vendor's suppression lists that apply to this tenant: calls of
    // every purpose, whatever the rule set says; nothing lifts a listing.
    for (const auto& r : registries->all) {
      if (r->kind != v1::REGISTRY_KIND_SUPPRESSION || !r->AppliesTo(tenant)) continue;
      DG_RETURN_IF_ERROR(FreshEnough(*r, clock_.Now()));
      if (!r->Contains(e164)) continue;
      v1::DenialReason* reason = d.add_reasons();
      reason->set_code(kDenySuppression);
      reason->set_rule(r->id);
      never = true;
    }
    bool wireless = number.number.type() == type::v1::PHONE_NUMBER_TYPE_MOBILE;
    bool unknown_type = number.number.type() == type::v1::PHONE_NUMBER_TYPE_FIXED_LINE_OR_MOBILE ||
                        number.number.type() == type::v1::PHONE_NUMBER_TYPE_UNSPECIFIED;
    // Wireless lists matter only where consent does (an automated dial
    // under a rule set that requires it); there they must be fresh.
    // Any consent rule could hinge on the line type (fail closed: a stale
    // wireless list cannot say a number is wireline).
    const bool consent_rule = (rs->require_consent_for_automated_wireless ||
                               !options_.statutory.consent.empty()) &&
                              Automated(mode);
    for (const auto& r : registries->all) {
      if (r->kind != v1::REGISTRY_KIND_WIRELESS) continue;
      if (consent_rule) DG_RETURN_IF_ERROR(FreshEnough(*r, clock_.Now()));
      if (!wireless && r->Contains(e164)) wireless = true;
    }
    if (!wireless && unknown_type && rs->unknown_line_type_is_wireless) wireless = true;
    if (mode == type::v1::DIALING_MODE_PREDICTIVE && rs->max_abandon_rate > 0 &&
        !campaign_id.empty()) {
      DG_ASSIGN_OR_RETURN(AbandonCounts c, CachedAbandonCounts(tenant, campaign_id));
      const double r24 = c.Rate24h(), r30 = c.Rate30d();
      if (r24 > rs->max_abandon_rate || r30 > rs->max_abandon_rate) {
        v1::DenialReason* r = d.add_reasons();
        r->set_code("ABANDON_RATE_EXCEEDED");
        r->set_rule("max_abandon_rate");
        r->set_detail(absl::StrCat(
            "24h ", c.abandoned_24h, "/", c.live_24h, ", 30d ", c.abandoned_30d, "/", c.live_30d,
            c.amd_estimated_30d > 0
                ? absl::StrCat(" (+", std::round(c.amd_estimated_30d * 10) / 10,
                               " estimated AMD hang-ups in 30d)")
                : std::string(),
            " over ", rs->max_abandon_rate));
        never = true;
      }
    }
    if (never) d.clear_next_allowed_time();

    // The law's rows that apply to this callee, purpose and mode.
    DialFacts facts;
    facts.countries = place.countries;
    facts.regions = place.regions;
    facts.purpose = dial.purpose;
    facts.mode = mode;
    facts.wireless = wireless;
    ConsentNeed consent = RequiredConsent(options_.statutory.consent, facts);
    if (rs->require_consent_for_automated_wireless && Automated(mode) && wireless) {
      consent.level = std::max(consent.level, ConsentLevel::kExpress);
      consent.rules.push_back("rule_set.require_consent_for_automated_wireless");
    }
    d.set_required_consent(TypeOf(consent.level));
    for (const auto& id : consent.rules) d.add_consent_rules(id);

    // Shared state, atomically: lists, consent, caps, quiet period, reservation.
    DialCheck check;
    check.tenant = tenant;
    check.rule_set_version = rs->version;
    check.number = e164;
    check.contact = dial.contact;
    check.campaign = campaign_id;
    check.time = when;
    check.recorded = clock_.Now();
    check.reserve = reserve;
    check.allowed_so_far = d.reasons_size() == 0;
    check.debt = dial.debt;
    check.consent_level = static_cast<int>(consent.level);
    check.consent_rules = absl::StrJoin(consent.rules, ",");
    check.abandon_quiet = rs->abandon_quiet;
    check.liftable_listings = std::move(liftable);
    check.waivable_reasons = std::move(waivable);
    check.waivable_not_before = waivable_not_before;
    check.waiver_scope = waiver_scope;
    check.waiver_rules = absl::StrJoin(waiver_ids, ",");
    check.product = dial.product;
    int conversation_days = 0;
    for (const Lockout& l : options_.statutory.lockouts) {
      if (!Applies(l.scope, facts)) continue;
      if (l.after == LockoutAfter::kAbandoned && l.duration > check.abandon_quiet) {
        check.abandon_quiet = l.duration;
        check.abandon_rule = l.id;
      } else if (l.after == LockoutAfter::kMachine && l.duration > check.machine_lockout) {
        check.machine_lockout = l.duration;
        check.machine_rule = l.id;
      } else if (l.after == LockoutAfter::kRefusal) {
        if (check.refusal_rule.empty()) check.refusal_rule = l.id;
      } else if (l.after == LockoutAfter::kConversation && !dial.debt.empty() &&
                 (check.conversation_rule.empty() || l.days > conversation_days)) {
        conversation_days = l.days;
        check.conversation_rule = l.id;
      }
    }
    if (conversation_days > 0) {
      // Days counted in the callee's zones; with none known (the dial is
      // refused for it anyway), in the earliest and the latest zone on earth.
      check.conversation_steps =
          DayLockoutSteps(zones.empty() ? AnyZone() : zones, when, conversation_days);
    }
    for (const AttemptCap& cap : rs->number_caps) {
      if (CapApplies(cap, place)) check.number_caps.push_back(cap);
    }
    for (const AttemptCap& cap : rs->contact_caps) {
      if (CapApplies(cap, place)) check.contact_caps.push_back(cap);
    }
    for (const StatutoryCap& cap : options_.statutory.caps) {
      if (!Applies(cap.scope, facts)) continue;
      switch (cap.per) {
        case CapPer::kPerson:  // the person across all its numbers; the number without a contact
          (dial.contact.empty() ? check.number_caps : check.contact_caps).push_back(cap.cap);
          break;
        case CapPer::kNumber: check.number_caps.push_back(cap.cap); break;
        case CapPer::kDebt:
          if (!dial.debt.empty()) check.debt_caps.push_back(cap.cap);
          break;
      }
    }
    check.keep_attempts = kMaxCapWindow;
    check.audit_retention = options_.audit_retention;
    check.decision_id = d.decision_id();
    check.request_id = dial.request_id;
    check.event = Event(tenant, e164, d);
    check.partial = std::move(d);
    DG_ASSIGN_OR_RETURN(CheckOutcome outcome, store_->CheckDial(check));
    if (outcome.kind == CheckOutcome::Kind::kStaleRuleSet) {
      if (attempt >= 2) {
        return Aborted("RULE_SET_CHANGING", "the rule set kept changing during the check; retry");
      }
      continue;  // reload the rule set and decide again
    }
    if (options_.on_decision && outcome.kind == CheckOutcome::Kind::kDecided) {
      options_.on_decision(outcome.decision);
    }
    return outcome.decision;
  }
}

absl::StatusOr<v1::DialDecision> ComplianceManager::CheckDial(const Actor& actor,
                                                              const v1::CheckDialRequest& req) {
  DG_ASSIGN_OR_RETURN(auto campaign, ParseCampaign("campaign", req.campaign()));
  if (!req.contact().empty()) {
    DG_ASSIGN_OR_RETURN(auto ids, ParseName("contact", req.contact(), kContactPattern));
    if (ids[0] != campaign.first) return TenantMismatch("contact");
  }
  if (req.dialing_mode() == type::v1::DIALING_MODE_UNSPECIFIED) {
    return InvalidField("dialing_mode", "FIELD_REQUIRED", "dialing_mode is required");
  }
  DG_RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  DG_ASSIGN_OR_RETURN(type::v1::CallPurpose purpose, PurposeOf(req.purpose()));
  DG_RETURN_IF_ERROR(CheckDebt("debt", req.debt(), purpose));
  DG_RETURN_IF_ERROR(CheckProduct("product", req.product()));
  DialRequest dial;
  dial.product = req.product();
  dial.purpose = purpose;
  dial.debt = req.debt();
  dial.tenant = campaign.first;
  dial.campaign_id = campaign.second;
  dial.campaign = req.campaign();
  dial.contact = req.contact();
  dial.phone_number = req.phone_number();
  dial.callee = req.callee();
  dial.mode = req.dialing_mode();
  dial.when = clock_.Now();
  dial.use = DialUse::kDial;
  dial.request_id = req.request_id();
  return Decide(actor, dial);
}

absl::StatusOr<v1::ScrubNumbersResponse> ComplianceManager::ScrubNumbers(
    const Actor& actor, const v1::ScrubNumbersRequest& req) {
  DG_ASSIGN_OR_RETURN(auto campaign, ParseCampaign("campaign", req.campaign()));
  if (req.dialing_mode() == type::v1::DIALING_MODE_UNSPECIFIED) {
    return InvalidField("dialing_mode", "FIELD_REQUIRED", "dialing_mode is required");
  }
  if (req.entries_size() == 0 || req.entries_size() > options_.max_scrub_entries) {
    return InvalidField("entries", "INVALID_BATCH_SIZE",
                        absl::StrCat("1 to ", options_.max_scrub_entries, " entries per call"));
  }
  for (int i = 0; i < req.entries_size(); ++i) {
    const std::string& c = req.entries(i).contact();
    if (c.empty()) continue;
    std::string field = absl::StrCat("entries[", i, "].contact");
    DG_ASSIGN_OR_RETURN(auto ids, ParseName(field, c, kContactPattern));
    if (ids[0] != campaign.first) return TenantMismatch(field);
  }
  DG_ASSIGN_OR_RETURN(type::v1::CallPurpose purpose, PurposeOf(req.purpose()));
  for (int i = 0; i < req.entries_size(); ++i) {
    DG_RETURN_IF_ERROR(
        CheckDebt(absl::StrCat("entries[", i, "].debt"), req.entries(i).debt(), purpose));
    DG_RETURN_IF_ERROR(
        CheckProduct(absl::StrCat("entries[", i, "].product"), req.entries(i).product()));
  }
  // The rule set must exist before anything is scrubbed (fail closed).
  DG_RETURN_IF_ERROR(RuleSetOf(campaign.first, false).status());
  absl::Time when = req.has_dial_time() ? FromProto(req.dial_time()) : clock_.Now();
  v1::ScrubNumbersResponse resp;
  for (const auto& e : req.entries()) {
    DialRequest dial;
    dial.tenant = campaign.first;
    dial.campaign_id = campaign.second;
    dial.campaign = req.campaign();
    dial.contact = e.contact();
    dial.phone_number = e.phone_number();
    dial.callee = e.callee();
    dial.mode = req.dialing_mode();
    dial.when = when;
    dial.use = DialUse::kScrub;
    dial.purpose = purpose;
    dial.debt = e.debt();
    dial.product = e.product();
    auto d = Decide(actor, dial);
    v1::ScrubResult* r = resp.add_results();
    if (d.ok()) {
      *r->mutable_decision() = *std::move(d);
    } else if (d.status().code() == absl::StatusCode::kInvalidArgument) {
      r->set_error(absl::StrCat(ReasonOf(d.status()), ": ", d.status().message()));
    } else {
      return d.status();  // storage trouble fails the whole call (fail closed)
    }
  }
  return resp;
}

absl::StatusOr<v1::AbandonRate> ComplianceManager::GetAbandonRate(
    const v1::GetAbandonRateRequest& req) {
  DG_ASSIGN_OR_RETURN(auto campaign, ParseCampaign("campaign", req.campaign()));
  DG_ASSIGN_OR_RETURN(AbandonCounts c,
                      store_->GetAbandonCounts(campaign.first, campaign.second, clock_.Now()));
  v1::AbandonRate out;
  out.set_campaign(req.campaign());
  auto fill = [](v1::AbandonWindow* w, int64_t a, int64_t l, double e) {
    w->set_abandoned(a);
    w->set_live_answers(l);
    w->set_estimated_amd_hangups(e);
    w->set_rate(AbandonCounts::Rate(a, l, e));
  };
  fill(out.mutable_last_24_hours(), c.abandoned_24h, c.live_24h, c.amd_estimated_24h);
  fill(out.mutable_last_30_days(), c.abandoned_30d, c.live_30d, c.amd_estimated_30d);
  auto rs = RuleSetOf(campaign.first, false);
  if (rs.ok()) {
    out.set_max_abandon_rate((*rs)->max_abandon_rate);
    out.set_over_cap((*rs)->max_abandon_rate > 0 &&
                     (out.last_24_hours().rate() > (*rs)->max_abandon_rate ||
                      out.last_30_days().rate() > (*rs)->max_abandon_rate));
  } else if (ReasonOf(rs.status()) != "RULE_SET_MISSING") {
    return rs.status();
  }
  return out;
}

}  // namespace dialgrid::compliance
