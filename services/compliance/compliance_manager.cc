#include "services/compliance/compliance_manager.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "dialgrid/dialing/v1/call_events.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"
#include "services/common/core/names.h"
#include "services/common/core/random.h"
#include "services/common/core/status_macros.h"
#include "services/common/kafka/event_publisher.h"
#include "services/common/phone/phone_numbers.h"

namespace dialgrid::compliance {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kCampaignPattern[] = "tenants/{tenant}/campaigns/{campaign}";
constexpr char kContactPattern[] = "tenants/{tenant}/contactLists/{list}/contacts/{contact}";
constexpr char kConsentPattern[] = "tenants/{tenant}/consents/{consent}";

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}
absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(t));
}

// Anything but a person dialing counts as automated, so a mode this code does
// not name (the runtime refuses undefined numbers; a mode added to the enum
// later) gets the stricter rules, never the looser ones.
bool Automated(type::v1::DialingMode mode) {
  return mode != type::v1::DIALING_MODE_MANUAL && mode != type::v1::DIALING_MODE_PREVIEW;
}

absl::Status TenantMismatch(absl::string_view field) {
  return WithMetadata(PermissionDenied("TENANT_MISMATCH",
                                       absl::StrCat(field, " belongs to another tenant")),
                      "field", field);
}

// Tenant and campaign id of "tenants/{t}/campaigns/{c}".
absl::StatusOr<std::pair<std::string, std::string>> ParseCampaign(absl::string_view field,
                                                                 const std::string& name) {
  if (name.empty()) return InvalidField(field, "FIELD_REQUIRED", absl::StrCat(field, " is required"));
  auto ids = ParseName(field, name, kCampaignPattern);
  if (!ids.ok()) return ids.status();
  return std::make_pair((*ids)[0], (*ids)[1]);
}

// "tenants/{t}" -> (t, ""), "tenants/{t}/campaigns/{c}" -> (t, c).
absl::StatusOr<std::pair<std::string, std::string>> ParseListParent(const std::string& parent) {
  auto c = ParseName("parent", parent, kCampaignPattern);
  if (c.ok()) return std::make_pair((*c)[0], (*c)[1]);
  auto t = ParseName("parent", parent, "tenants/{tenant}");
  if (!t.ok()) {
    return InvalidField("parent", "MALFORMED_NAME",
                        "parent is \"tenants/{tenant}\" or \"tenants/{tenant}/campaigns/{campaign}\"");
  }
  return std::make_pair((*t)[0], std::string());
}

// "tenants/{t}/consents/tel-{digits}" -> (t, "+digits").
absl::StatusOr<std::pair<std::string, std::string>> ParseConsentName(const std::string& name) {
  auto ids = ParseName("name", name, kConsentPattern);
  if (!ids.ok()) return ids.status();
  const std::string& id = (*ids)[1];
  if (!absl::StartsWith(id, "tel-") || id.size() < 6 || id.size() > 19 ||
      !std::all_of(id.begin() + 4, id.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return InvalidField("name", "MALFORMED_NAME",
                        "a consent is named tenants/{tenant}/consents/tel-{E.164 digits}");
  }
  return std::make_pair((*ids)[0], "+" + id.substr(4));
}

absl::StatusOr<phone::NormalizedPhone> Normalize(absl::string_view field, const std::string& raw,
                                                   const std::string& country) {
  if (raw.empty()) return InvalidField(field, "FIELD_REQUIRED", absl::StrCat(field, " is required"));
  if (raw.size() > 64) return InvalidField(field, "FIELD_TOO_LONG", "phone numbers are at most 64 characters");
  auto n = phone::NormalizePhone(raw, country.empty() ? "US" : country);
  if (!n.ok()) {
    std::string reason = ReasonOf(n.status());
    return InvalidField(field, reason.empty() ? "INVALID_PHONE_NUMBER" : reason, n.status().message());
  }
  return n;
}

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

absl::Status CheckText(absl::string_view field, const std::string& v, size_t max) {
  if (v.size() > max) {
    return InvalidField(field, "FIELD_TOO_LONG", absl::StrCat(field, " is at most ", max, " characters"));
  }
  return absl::OkStatus();
}

// A DNC list change request, checked: the tenant, the list ("" = the
// tenant's own, else a campaign id) and the numbers in E.164. All-or-nothing:
// one bad number refuses the whole request.
struct DncRequest {
  std::string tenant, list;
  std::vector<std::string> numbers;
  v1::DoNotCallChanged event;
};

absl::StatusOr<DncRequest> ParseDncRequest(const std::string& parent,
                                           const google::protobuf::RepeatedPtrField<std::string>& raw,
                                           const std::string& default_country,
                                           const std::string& reason, const Actor& actor,
                                           int max_numbers) {
  DncRequest out;
  DG_ASSIGN_OR_RETURN(auto p, ParseListParent(parent));
  out.tenant = p.first;
  out.list = p.second;
  if (raw.empty() || raw.size() > max_numbers) {
    return InvalidField("phone_numbers", "INVALID_BATCH_SIZE",
                        absl::StrCat("1 to ", max_numbers, " numbers per call"));
  }
  DG_RETURN_IF_ERROR(CheckText("reason", reason, 500));
  for (int i = 0; i < raw.size(); ++i) {
    DG_ASSIGN_OR_RETURN(auto n, Normalize(absl::StrCat("phone_numbers[", i, "]"), raw[i], default_country));
    out.numbers.push_back(n.number.e164());
  }
  out.event.set_list(out.list.empty() ? "tenant" : "campaign:" + out.list);
  out.event.set_reason(reason);
  out.event.set_changed_by(actor.subject);
  return out;
}

}  // namespace

events::OutboxRelayOptions RelayOptions() {
  events::OutboxRelayOptions o;
  o.service = "compliance";
  o.default_topic = kComplianceTopic;
  o.topic_by_type["dialgrid.compliance.v1.RegistryChanged"] = kRegistryTopic;
  return o;
}

bool Registry::Contains(const std::string& e164) const {
  // A number outside the registry's plan (a UK number against a NANP
  // registry) is not a key of it.
  absl::StatusOr<uint64_t> key = ParseDncKey(e164, plan);
  return key.ok() && list->Contains(*key);
}

absl::CivilDay Registry::DataAsOf() const {
  const int64_t changes = changes_as_of_.load(std::memory_order_relaxed);
  if (changes == std::numeric_limits<int64_t>::min()) return manifest.as_of;
  return std::max(manifest.as_of, absl::CivilDay(1970, 1, 1) + changes);
}

absl::StatusOr<bool> Registry::ApplyChange(uint64_t key, bool add, absl::CivilDay date) {
  absl::MutexLock lock(&changes_mu_);
  auto [it, fresh] = change_dates_.try_emplace(key, date);
  if (!fresh) {
    if (it->second > date) return false;  // a newer change of this key came first
    it->second = date;
  }
  if (add ? date < manifest.as_of : date <= manifest.as_of) return false;
  DG_RETURN_IF_ERROR(add ? list->Add(key) : list->Remove(key));
  return true;
}

void Registry::NoteChangesAsOf(absl::CivilDay day) {
  const int64_t days = day - absl::CivilDay(1970, 1, 1);
  int64_t cur = changes_as_of_.load(std::memory_order_relaxed);
  while (days > cur && !changes_as_of_.compare_exchange_weak(cur, days)) {
  }
}

namespace {

// A registry clears dials only while its data is recent enough (the
// registry's rule, e.g. US TSR: a download at most 31 days old), judged when
// the decision is taken (a scrub for a later dial time is decided again by
// CheckDial before the dial).
absl::Status FreshEnough(const Registry& r, absl::Time when) {
  const absl::CivilDay as_of = r.DataAsOf();
  if (when < StaleFrom(as_of, r.manifest.max_age_days)) return absl::OkStatus();
  return FailedPrecondition(
      "REGISTRY_STALE",
      absl::StrCat("registry \"", r.id, "\" holds data of ", absl::FormatCivilTime(as_of),
                   ", older than its ",
                   r.manifest.max_age_days, "-day limit; load a newer download "
                   "(dialgrid-registry-build --as_of) before dialing"));
}

// A stored or published "YYYY-MM-DD"; nullopt when absent or malformed.
std::optional<absl::CivilDay> ParseDay(const std::string& text) {
  absl::CivilDay day;
  if (text.empty() || !absl::ParseCivilTime(text, &day)) return std::nullopt;
  return day;
}

// The date a registry change applies with; changes stored or published
// before dates were kept have none and always apply.
absl::CivilDay ChangeDate(const std::string& text) {
  return ParseDay(text).value_or(absl::CivilDay::max());
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<Registry>>> LoadRegistries(
    const std::vector<std::string>& specs) {
  std::vector<std::unique_ptr<Registry>> out;
  for (const std::string& spec : specs) {
    std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits(':', 2));
    if (parts.size() != 3 || parts[0].empty() || parts[2].empty() ||
        (parts[1] != "dnc" && parts[1] != "wireless")) {
      return InvalidField("registries", "MALFORMED_REGISTRY_SPEC",
                          absl::StrCat("\"", spec, "\" is not id:dnc|wireless:path"));
    }
    for (const auto& r : out) {
      if (r->id == parts[0]) {
        return InvalidField("registries", "DUPLICATE_REGISTRY", absl::StrCat("\"", parts[0], "\" twice"));
      }
    }
    auto index = DncIndex::Open(parts[2], DncIndex::OpenOptions{});
    if (!index.ok()) {
      return WithReason(absl::Status(index.status().code(),
                                     absl::StrCat("registry ", parts[0], ": ", index.status().message())),
                        ReasonOf(index.status()));
    }
    auto manifest = ReadRegistryManifest(parts[2], *index);
    if (!manifest.ok()) {
      return WithReason(absl::Status(manifest.status().code(),
                                     absl::StrCat("registry ", parts[0], ": ", manifest.status().message())),
                        ReasonOf(manifest.status()));
    }
    auto reg = std::make_unique<Registry>();
    reg->id = parts[0];
    reg->manifest = *manifest;
    reg->kind = parts[1] == "dnc" ? v1::REGISTRY_KIND_DO_NOT_CALL : v1::REGISTRY_KIND_WIRELESS;
    reg->plan = index->universe() == UniverseOf(NumberPlan::kNanp) ? NumberPlan::kNanp
                                                                   : NumberPlan::kE164;
    reg->path = parts[2];
    reg->list = std::make_unique<DncList>(std::make_shared<const DncIndex>(*std::move(index)));
    out.push_back(std::move(reg));
  }
  return out;
}

ComplianceManager::ComplianceManager(std::shared_ptr<ComplianceStore> store,
                                     std::shared_ptr<const geo::ZoneResolver> zones,
                                     std::vector<CallingHoursRule> presets,
                                     std::vector<std::unique_ptr<Registry>> registries,
                                     const Clock& clock, ComplianceOptions options)
    : store_(std::move(store)),
      zones_(std::move(zones)),
      presets_(std::move(presets)),
      registries_(std::move(registries)),
      clock_(clock),
      options_(std::move(options)) {
  for (const auto& r : registries_) {
    if (r->kind == v1::REGISTRY_KIND_DO_NOT_CALL) dnc_registry_ids_.insert(r->id);
  }
}

event::v1::Envelope ComplianceManager::Event(const std::string& tenant, const std::string& subject,
                                             const google::protobuf::Message& payload) const {
  return kafka::MakeEnvelope(tenant, subject, payload, options_.producer, clock_);
}

absl::StatusOr<std::shared_ptr<const CompiledRuleSet>> ComplianceManager::RuleSetOf(
    const std::string& tenant, bool reload) {
  if (!reload) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rule_sets_.find(tenant);
    if (it != rule_sets_.end()) return it->second;
  }
  auto rs = store_->GetRuleSet(tenant, 0);
  if (!rs.ok()) return rs.status();
  auto compiled = CompileRuleSet(tenant, *rs, presets_, dnc_registry_ids_);
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

absl::StatusOr<v1::DialDecision> ComplianceManager::Decide(
    const Actor& actor, const std::string& tenant, const std::string& campaign_id,
    const std::string& campaign, const std::string& contact, const std::string& phone,
    const v1::Callee& callee, type::v1::DialingMode mode, absl::Time when, bool reserve,
    const std::string& request_id) {
  DG_ASSIGN_OR_RETURN(phone::NormalizedPhone number,
                      Normalize("phone_number", phone, callee.country()));
  for (int attempt = 0;; ++attempt) {
    DG_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledRuleSet> rs, RuleSetOf(tenant, attempt > 0));

    v1::DialDecision d;
    d.set_decision_id(RandomHex(16));
    d.set_rule_set(absl::StrCat("tenants/", tenant, "/ruleSet"));
    d.set_rule_set_version(rs->version);
    *d.mutable_decision_time() = ToProto(when);
    d.set_campaign(campaign);
    d.set_contact(contact);
    *d.mutable_phone_number() = number.number;
    d.set_dialing_mode(mode);
    d.set_scrub(!reserve);
    d.set_request_id(request_id);
    d.set_requested_by(actor.subject);

    // Where the callee is.
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
      hints.phone_regions.push_back({number.number.region_code(), number.nanp_region});
      auto answer = zones_->Resolve(hints);
      if (answer.ok() && !answer->zones.empty()) {
        zone_names = answer->zones;
        d.set_time_zone_source(geo::ToProtoSource(answer->source));
      }
    }
    std::vector<absl::TimeZone> zones;
    for (size_t i = 0; i < zone_names.size(); ++i) {
      absl::TimeZone tz;
      if (!absl::LoadTimeZone(zone_names[i], &tz)) {
        return InvalidField("callee.time_zones", "UNKNOWN_TIME_ZONE",
                            absl::StrCat("\"", zone_names[i], "\" is not an IANA time zone"));
      }
      zones.push_back(tz);
      d.add_time_zones(zone_names[i]);
    }
    std::vector<std::string> countries = {number.number.region_code()};
    if (!callee.country().empty() && callee.country() != countries[0]) countries.push_back(callee.country());
    std::vector<std::string> regions;
    for (const std::string& r : {zones_->NormalizeRegion(callee.country(), callee.region()),
                                 zones_->NormalizeRegion("", number.nanp_region)}) {
      if (!r.empty() && std::find(regions.begin(), regions.end(), r) == regions.end()) {
        regions.push_back(r);
      }
    }
    for (const auto& r : regions) d.add_regions(r);
    std::vector<const CallingHoursRule*> rules;
    for (const auto& c : countries) {
      for (const CallingHoursRule* r : ApplicableRules(rs->calling_rules, c, regions)) {
        if (std::find(rules.begin(), rules.end(), r) == rules.end()) rules.push_back(r);
      }
    }
    for (const auto* r : rules) d.add_calling_hours_rules(r->id);

    // In-process rules: calling hours, registries, the campaign's abandon rate.
    bool never = false;
    WindowDecision window = CheckCallingWindow(zones, rules, when);
    for (const auto& reason : window.reasons) *d.add_reasons() = WindowReason(reason);
    if (!window.allowed) {
      if (window.next_allowed == absl::InfiniteFuture()) {
        never = true;
      } else {
        *d.mutable_next_allowed_time() = ToProto(window.next_allowed);
      }
    }
    const std::string& e164 = number.number.e164();
    for (const std::string& id : rs->registries) {
      const Registry* registry = FindRegistry(id);
      if (registry == nullptr) {
        return FailedPrecondition("REGISTRY_NOT_LOADED",
                                  absl::StrCat("registry \"", id, "\" is not loaded on this replica"));
      }
      DG_RETURN_IF_ERROR(FreshEnough(*registry, clock_.Now()));
      if (registry->Contains(e164)) {
        v1::DenialReason* r = d.add_reasons();
        r->set_code("DNC_REGISTRY");
        r->set_rule(id);
        never = true;
      }
    }
    bool wireless = number.number.type() == type::v1::PHONE_NUMBER_TYPE_MOBILE;
    bool unknown_type = number.number.type() == type::v1::PHONE_NUMBER_TYPE_FIXED_LINE_OR_MOBILE ||
                        number.number.type() == type::v1::PHONE_NUMBER_TYPE_UNSPECIFIED;
    // Wireless lists matter only where consent does (an automated dial
    // under a rule set that requires it); there they must be fresh.
    const bool consent_rule = rs->require_consent_for_automated_wireless && Automated(mode);
    for (const auto& r : registries_) {
      if (r->kind != v1::REGISTRY_KIND_WIRELESS) continue;
      if (consent_rule) DG_RETURN_IF_ERROR(FreshEnough(*r, clock_.Now()));
      if (!wireless && r->Contains(e164)) wireless = true;
    }
    if (!wireless && unknown_type && rs->unknown_line_type_is_wireless) wireless = true;
    if (mode == type::v1::DIALING_MODE_PREDICTIVE && rs->max_abandon_rate > 0 && !campaign_id.empty()) {
      DG_ASSIGN_OR_RETURN(AbandonCounts c, CachedAbandonCounts(tenant, campaign_id));
      double r24 = c.live_24h > 0 ? static_cast<double>(c.abandoned_24h) / c.live_24h : 0;
      double r30 = c.live_30d > 0 ? static_cast<double>(c.abandoned_30d) / c.live_30d : 0;
      if (r24 > rs->max_abandon_rate || r30 > rs->max_abandon_rate) {
        v1::DenialReason* r = d.add_reasons();
        r->set_code("ABANDON_RATE_EXCEEDED");
        r->set_rule("max_abandon_rate");
        r->set_detail(absl::StrCat("24h ", c.abandoned_24h, "/", c.live_24h, ", 30d ",
                                   c.abandoned_30d, "/", c.live_30d, " over ", rs->max_abandon_rate));
        never = true;
      }
    }
    if (never) d.clear_next_allowed_time();

    // Shared state, atomically: lists, consent, caps, quiet period, reservation.
    DialCheck check;
    check.tenant = tenant;
    check.rule_set_version = rs->version;
    check.number = e164;
    check.contact = contact;
    check.campaign = campaign_id;
    check.time = when;
    check.recorded = clock_.Now();
    check.reserve = reserve;
    check.allowed_so_far = d.reasons_size() == 0;
    check.need_consent = consent_rule && wireless;
    check.abandon_quiet = rs->abandon_quiet;
    check.number_caps = rs->number_caps;
    check.contact_caps = rs->contact_caps;
    check.keep_attempts = kMaxCapWindow;
    check.audit_retention = options_.audit_retention;
    check.decision_id = d.decision_id();
    check.request_id = request_id;
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
  DG_RETURN_IF_ERROR(CheckText("request_id", req.request_id(), 128));
  return Decide(actor, campaign.first, campaign.second, req.campaign(), req.contact(),
                req.phone_number(), req.callee(), req.dialing_mode(), clock_.Now(),
                /*reserve=*/true, req.request_id());
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
  // The rule set must exist before anything is scrubbed (fail closed).
  DG_RETURN_IF_ERROR(RuleSetOf(campaign.first, false).status());
  absl::Time when = req.has_dial_time() ? FromProto(req.dial_time()) : clock_.Now();
  v1::ScrubNumbersResponse resp;
  for (const auto& e : req.entries()) {
    auto d = Decide(actor, campaign.first, campaign.second, req.campaign(), e.contact(),
                    e.phone_number(), e.callee(), req.dialing_mode(), when,
                    /*reserve=*/false, "");
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

absl::StatusOr<v1::RuleSet> ComplianceManager::UpdateRuleSet(const Actor& actor,
                                                             const v1::UpdateRuleSetRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("rule_set.name", req.rule_set().name(), "tenants/{tenant}/ruleSet"));
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
  DG_ASSIGN_OR_RETURN(auto compiled, CompileRuleSet(tenant, next, presets_, dnc_registry_ids_));
  v1::RuleSetChanged changed;
  *changed.mutable_rule_set() = next;
  DG_RETURN_IF_ERROR(store_->PutRuleSet(tenant, next, req.expected_version(),
                                        Event(tenant, next.name(), changed)));
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

absl::StatusOr<v1::AddDoNotCallNumbersResponse> ComplianceManager::AddDoNotCall(
    const Actor& actor, const v1::AddDoNotCallNumbersRequest& req) {
  DG_ASSIGN_OR_RETURN(DncRequest r, ParseDncRequest(req.parent(), req.phone_numbers(),
                                                    req.default_country(), req.reason(), actor,
                                                    options_.max_dnc_numbers));
  v1::DoNotCallEntry meta;
  meta.set_reason(req.reason());
  meta.set_added_by(actor.subject);
  *meta.mutable_add_time() = ToProto(clock_.Now());
  for (const auto& n : r.numbers) r.event.add_added(n);
  DG_ASSIGN_OR_RETURN(DncChange c, store_->AddDoNotCall(r.tenant, r.list, r.numbers, meta,
                                                        Event(r.tenant, req.parent(), r.event)));
  v1::AddDoNotCallNumbersResponse resp;
  resp.set_added(c.changed);
  resp.set_already_listed(c.unchanged);
  return resp;
}

absl::StatusOr<v1::RemoveDoNotCallNumbersResponse> ComplianceManager::RemoveDoNotCall(
    const Actor& actor, const v1::RemoveDoNotCallNumbersRequest& req) {
  DG_ASSIGN_OR_RETURN(DncRequest r, ParseDncRequest(req.parent(), req.phone_numbers(),
                                                    req.default_country(), req.reason(), actor,
                                                    options_.max_dnc_numbers));
  for (const auto& n : r.numbers) r.event.add_removed(n);
  DG_ASSIGN_OR_RETURN(DncChange c, store_->RemoveDoNotCall(r.tenant, r.list, r.numbers,
                                                           Event(r.tenant, req.parent(), r.event)));
  v1::RemoveDoNotCallNumbersResponse resp;
  resp.set_removed(c.changed);
  resp.set_not_listed(c.unchanged);
  return resp;
}

absl::StatusOr<v1::CheckDoNotCallResponse> ComplianceManager::CheckDoNotCall(
    const v1::CheckDoNotCallRequest& req) {
  DG_ASSIGN_OR_RETURN(auto parent, ParseListParent(req.parent()));
  DG_ASSIGN_OR_RETURN(auto n, Normalize("phone_number", req.phone_number(), req.default_country()));
  const std::string& e164 = n.number.e164();
  DG_ASSIGN_OR_RETURN(auto entries, store_->DoNotCallEntries(parent.first, e164, parent.second));
  v1::CheckDoNotCallResponse resp;
  resp.set_phone_number(e164);
  for (auto& e : entries) *resp.add_entries() = std::move(e);
  auto rs = RuleSetOf(parent.first, false);
  if (rs.ok()) {
    for (const std::string& id : (*rs)->registries) {
      const Registry* registry = FindRegistry(id);
      if (registry != nullptr && registry->Contains(e164)) resp.add_entries()->set_list("registry:" + id);
    }
  } else if (ReasonOf(rs.status()) != "RULE_SET_MISSING") {
    return rs.status();
  }
  return resp;
}

Registry* ComplianceManager::FindRegistry(const std::string& id) const {
  for (const auto& r : registries_) {
    if (r->id == id) return r.get();
  }
  return nullptr;
}

v1::Registry ComplianceManager::RegistryProto(const Registry& r) const {
  v1::Registry p;
  p.set_id(r.id);
  p.set_kind(r.kind);
  auto base = r.list->base();
  p.set_numbers(static_cast<int64_t>(base->size()));
  p.set_size_bytes(static_cast<int64_t>(base->SizeInBytes()));
  p.set_path(r.path);
  p.set_overlay_additions(static_cast<int64_t>(r.list->added_size()));
  p.set_overlay_removals(static_cast<int64_t>(r.list->removed_size()));
  const absl::CivilDay as_of = r.DataAsOf();
  *p.mutable_as_of_time() = ToProto(absl::FromCivil(as_of, absl::UTCTimeZone()));
  p.set_max_age_days(r.manifest.max_age_days);
  if (r.manifest.max_age_days > 0) {
    *p.mutable_stale_time() = ToProto(StaleFrom(as_of, r.manifest.max_age_days));
  }
  return p;
}

v1::ListRegistriesResponse ComplianceManager::ListRegistries() const {
  v1::ListRegistriesResponse resp;
  for (const auto& r : registries_) *resp.add_registries() = RegistryProto(*r);
  return resp;
}

absl::StatusOr<v1::UpdateRegistryResponse> ComplianceManager::UpdateRegistry(
    const Actor& actor, const v1::UpdateRegistryRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req.name(), "vendor/registries/{registry}"));
  Registry* reg = FindRegistry(ids[0]);
  if (reg == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  absl::CivilDay as_of;
  if (!req.as_of().empty()) {
    if (!absl::ParseCivilTime(req.as_of(), &as_of)) {
      return InvalidField("as_of", "INVALID_DATE", "as_of is a date, YYYY-MM-DD");
    }
    if (as_of > absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone())) {
      return InvalidField("as_of", "AS_OF_IN_FUTURE", "a change file cannot be dated after today (UTC)");
    }
  }
  int total = req.add_numbers_size() + req.remove_numbers_size();
  if ((total == 0 && req.as_of().empty()) || total > options_.max_registry_numbers) {
    return InvalidField("add_numbers", "INVALID_BATCH_SIZE",
                        absl::StrCat("1 to ", options_.max_registry_numbers, " numbers per call"));
  }
  DG_RETURN_IF_ERROR(CheckText("reason", req.reason(), 500));
  std::vector<uint64_t> add, remove;
  for (int pass = 0; pass < 2; ++pass) {
    const auto& in = pass == 0 ? req.add_numbers() : req.remove_numbers();
    for (int i = 0; i < in.size(); ++i) {
      auto key = ParseDncKey(in[i], reg->plan);
      if (!key.ok()) {
        return InvalidField(absl::StrCat(pass == 0 ? "add_numbers[" : "remove_numbers[", i, "]"),
                            "INVALID_NUMBER", key.status().message());
      }
      (pass == 0 ? add : remove).push_back(*key);
    }
  }
  v1::RegistryChanged changed;
  changed.set_registry(reg->id);
  for (uint64_t k : add) changed.add_added(std::to_string(k));
  for (uint64_t k : remove) changed.add_removed(std::to_string(k));
  changed.set_reason(req.reason());
  changed.set_changed_by(actor.subject);
  changed.set_as_of(req.as_of());
  const absl::CivilDay dated =
      req.as_of().empty() ? absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone()) : as_of;
  changed.set_change_date(absl::FormatCivilTime(dated));
  DG_RETURN_IF_ERROR(store_->UpdateRegistry(reg->id, add, remove, req.as_of(), changed.change_date(),
                                            Event("", req.name(), changed)));
  // This replica at once; the others through the event.
  for (uint64_t k : add) DG_RETURN_IF_ERROR(reg->ApplyChange(k, true, dated).status());
  for (uint64_t k : remove) DG_RETURN_IF_ERROR(reg->ApplyChange(k, false, dated).status());
  if (!req.as_of().empty()) reg->NoteChangesAsOf(as_of);
  v1::UpdateRegistryResponse resp;
  *resp.mutable_registry() = RegistryProto(*reg);
  return resp;
}

absl::StatusOr<v1::PruneRegistryOverlayResponse> ComplianceManager::PruneRegistryOverlay(
    const Actor& actor, const v1::PruneRegistryOverlayRequest& req) {
  (void)actor;  // vendor admins only (checked by the RPC layer)
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("name", req.name(), "vendor/registries/{registry}"));
  const Registry* reg = FindRegistry(ids[0]);
  if (reg == nullptr) {
    return NotFound("REGISTRY_NOT_FOUND", absl::StrCat("no registry \"", ids[0], "\" is loaded"));
  }
  absl::CivilDay through;
  if (!absl::ParseCivilTime(req.through(), &through)) {
    return InvalidField("through", "INVALID_DATE", "through is a date, YYYY-MM-DD");
  }
  // Changes of the index's own day still apply (additions), so only earlier
  // ones are reflected by it.
  if (through >= reg->manifest.as_of) {
    return FailedPrecondition(
        "INDEX_OLDER_THAN_PRUNE_DATE",
        absl::StrCat("this replica's index of \"", reg->id, "\" holds data of ",
                     absl::FormatCivilTime(reg->manifest.as_of),
                     "; changes from that day on are still needed. Prune through the day before at most, "
                     "once every replica runs an index at least that recent"));
  }
  DG_ASSIGN_OR_RETURN(auto count, store_->PruneRegistryOverlay(reg->id, absl::FormatCivilTime(through)));
  v1::PruneRegistryOverlayResponse resp;
  resp.set_pruned(count.pruned);
  resp.set_kept(count.kept);
  return resp;
}

absl::Status ComplianceManager::LoadRegistryOverlays() {
  for (const auto& r : registries_) {
    DG_ASSIGN_OR_RETURN(auto overlay, store_->GetRegistryOverlay(r->id));
    for (int pass = 0; pass < 2; ++pass) {
      for (uint64_t k : pass == 0 ? overlay.added : overlay.removed) {
        auto it = overlay.dates.find(k);
        const absl::CivilDay date = ChangeDate(it == overlay.dates.end() ? "" : it->second);
        DG_RETURN_IF_ERROR(r->ApplyChange(k, pass == 0, date).status());
      }
    }
    if (auto day = ParseDay(overlay.as_of)) r->NoteChangesAsOf(*day);
  }
  return absl::OkStatus();
}

absl::Status ComplianceManager::HandleRegistryEvent(const event::v1::Envelope& event) {
  if (event.type() != "dialgrid.compliance.v1.RegistryChanged") return absl::OkStatus();
  v1::RegistryChanged e;
  if (!event.payload().UnpackTo(&e)) return absl::OkStatus();
  Registry* reg = FindRegistry(e.registry());
  if (reg == nullptr) return absl::OkStatus();  // not loaded on this replica
  const absl::CivilDay date = ChangeDate(e.change_date());
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& text : pass == 0 ? e.added() : e.removed()) {
      uint64_t k = 0;
      if (!absl::SimpleAtoi(text, &k) || k >= UniverseOf(reg->plan)) continue;
      DG_RETURN_IF_ERROR(reg->ApplyChange(k, pass == 0, date).status());
    }
  }
  if (auto day = ParseDay(e.as_of())) reg->NoteChangesAsOf(*day);
  return absl::OkStatus();
}

absl::StatusOr<v1::Consent> ComplianceManager::RecordConsent(const Actor& actor,
                                                             const v1::RecordConsentRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const v1::Consent& in = req.consent();
  DG_ASSIGN_OR_RETURN(auto n, Normalize("consent.phone_number", in.phone_number(), req.default_country()));
  if (in.type() == v1::CONSENT_TYPE_UNSPECIFIED) {
    return InvalidField("consent.type", "FIELD_REQUIRED", "consent.type is required");
  }
  if (!in.has_grant_time()) {
    return InvalidField("consent.grant_time", "FIELD_REQUIRED", "consent.grant_time is required");
  }
  absl::Time now = clock_.Now();
  if (FromProto(in.grant_time()) > now + absl::Minutes(5)) {
    return InvalidField("consent.grant_time", "TIME_IN_FUTURE", "consent cannot be granted in the future");
  }
  if (in.has_expire_time() && FromProto(in.expire_time()) <= FromProto(in.grant_time())) {
    return InvalidField("consent.expire_time", "EXPIRES_BEFORE_GRANT",
                        "consent.expire_time must be after grant_time");
  }
  DG_RETURN_IF_ERROR(CheckText("consent.source", in.source(), 500));
  v1::Consent c = in;
  c.set_phone_number(n.number.e164());
  c.set_name(absl::StrCat("tenants/", ids[0], "/consents/tel-", n.number.e164().substr(1)));
  c.clear_revoke_time();
  c.set_recorded_by(actor.subject);
  v1::ConsentChanged changed;
  *changed.mutable_consent() = c;
  DG_RETURN_IF_ERROR(store_->PutConsent(ids[0], c, Event(ids[0], c.name(), changed)));
  return c;
}

absl::StatusOr<v1::Consent> ComplianceManager::RevokeConsent(const Actor& actor,
                                                             const v1::RevokeConsentRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseConsentName(req.name()));
  DG_RETURN_IF_ERROR(CheckText("reason", req.reason(), 500));
  DG_ASSIGN_OR_RETURN(v1::Consent c, store_->GetConsent(ids.first, ids.second));
  if (c.has_revoke_time()) return c;  // already revoked
  *c.mutable_revoke_time() = ToProto(clock_.Now());
  v1::ConsentChanged changed;
  *changed.mutable_consent() = c;
  changed.set_reason(req.reason().empty() ? absl::StrCat("revoked by ", actor.subject) : req.reason());
  DG_RETURN_IF_ERROR(store_->PutConsent(ids.first, c, Event(ids.first, c.name(), changed)));
  return c;
}

absl::StatusOr<v1::Consent> ComplianceManager::GetConsent(const v1::GetConsentRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseConsentName(req.name()));
  return store_->GetConsent(ids.first, ids.second);
}

absl::StatusOr<v1::AbandonRate> ComplianceManager::GetAbandonRate(const v1::GetAbandonRateRequest& req) {
  DG_ASSIGN_OR_RETURN(auto campaign, ParseCampaign("campaign", req.campaign()));
  DG_ASSIGN_OR_RETURN(AbandonCounts c,
                      store_->GetAbandonCounts(campaign.first, campaign.second, clock_.Now()));
  v1::AbandonRate out;
  out.set_campaign(req.campaign());
  auto fill = [](v1::AbandonWindow* w, int64_t a, int64_t l) {
    w->set_abandoned(a);
    w->set_live_answers(l);
    w->set_rate(l > 0 ? static_cast<double>(a) / static_cast<double>(l) : 0);
  };
  fill(out.mutable_last_24_hours(), c.abandoned_24h, c.live_24h);
  fill(out.mutable_last_30_days(), c.abandoned_30d, c.live_30d);
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

absl::StatusOr<v1::ListDialRecordsResponse> ComplianceManager::ListDialRecords(
    const v1::ListDialRecordsRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  DG_ASSIGN_OR_RETURN(auto n, Normalize("phone_number", req.phone_number(), req.default_country()));
  if (req.page_size() < 0 || req.page_size() > 1000) {
    return InvalidField("page_size", "INVALID_PAGE_SIZE", "page_size is 0 to 1000");
  }
  int size = req.page_size() == 0 ? 100 : req.page_size();
  absl::Time now = clock_.Now();
  // Nothing older than the retention is returned, trimmed yet or not.
  absl::Time from = std::max(req.has_start_time() ? FromProto(req.start_time()) : absl::InfinitePast(),
                             now - options_.audit_retention);
  absl::Time to = req.has_end_time() ? FromProto(req.end_time()) : now + absl::Milliseconds(1);
  if (to <= from) return InvalidField("end_time", "EMPTY_RANGE", "end_time must be after start_time");
  int offset = 0;
  std::string bound = absl::StrCat(absl::ToUnixMillis(from), ":", absl::ToUnixMillis(to), ":",
                                   n.number.e164());
  if (!req.page_token().empty()) {
    // "<offset>/<from ms>:<to ms>:<number>": bound to the number, and the
    // first page's range is kept so offsets stay meaningful.
    std::vector<std::string> t = absl::StrSplit(req.page_token(), absl::MaxSplits('/', 1));
    std::vector<std::string> b;
    if (t.size() == 2) b = absl::StrSplit(t[1], ':');
    int64_t f = 0, u = 0;
    if (t.size() != 2 || !absl::SimpleAtoi(t[0], &offset) || offset < 0 || b.size() != 3 ||
        !absl::SimpleAtoi(b[0], &f) || !absl::SimpleAtoi(b[1], &u) || b[2] != n.number.e164()) {
      return InvalidField("page_token", "INVALID_PAGE_TOKEN", "page_token does not belong to this query");
    }
    from = absl::FromUnixMillis(f);
    to = absl::FromUnixMillis(u);
    bound = t[1];
  }
  DG_ASSIGN_OR_RETURN(auto records,
                      store_->ListRecords(ids[0], n.number.e164(), from, to, offset, size + 1));
  v1::ListDialRecordsResponse resp;
  for (size_t i = 0; i < records.size() && static_cast<int>(i) < size; ++i) {
    *resp.add_records() = std::move(records[i]);
  }
  if (static_cast<int>(records.size()) > size) {
    resp.set_next_page_token(absl::StrCat(offset + size, "/", bound));
  }
  return resp;
}

absl::Status ComplianceManager::ApplyDoNotCallEvent(
    const event::v1::Envelope& event, const google::protobuf::RepeatedPtrField<std::string>& numbers,
    const std::string& reason) {
  std::vector<std::string> valid;
  for (const auto& n : numbers) {
    if (absl::StartsWith(n, "+") && n.size() <= 16) valid.push_back(n);
  }
  if (valid.empty() || event.tenant().empty()) return absl::OkStatus();
  v1::DoNotCallEntry meta;
  meta.set_reason(reason);
  meta.set_added_by(absl::StrCat("event:", event.event_id()));
  *meta.mutable_add_time() = event.time();
  v1::DoNotCallChanged changed;
  changed.set_list("tenant");
  for (const auto& n : valid) changed.add_added(n);
  changed.set_reason(reason);
  changed.set_changed_by(meta.added_by());
  return store_
      ->AddDoNotCall(event.tenant(), "", valid, meta,
                     Event(event.tenant(), absl::StrCat("tenants/", event.tenant()), changed))
      .status();
}

absl::Status ComplianceManager::HandleEvent(const event::v1::Envelope& event) {
  const std::string& type = event.type();
  if (type == "dialgrid.contacts.v1.ContactErased") {
    contacts::v1::ContactErased e;
    if (!event.payload().UnpackTo(&e)) return absl::OkStatus();  // logged by the consumer as skipped
    return ApplyDoNotCallEvent(event, e.do_not_call_numbers(), "personal data erased on request");
  }
  if (type == "dialgrid.contacts.v1.ContactOptedOut") {
    contacts::v1::ContactOptedOut e;
    if (!event.payload().UnpackTo(&e)) return absl::OkStatus();
    return ApplyDoNotCallEvent(event, e.do_not_call_numbers(),
                               absl::StrCat("opted out (", e.contact(), ")"));
  }
  if (type == "dialgrid.dialing.v1.CallAttemptEnded") {
    dialing::v1::CallAttemptEnded call;
    if (!event.payload().UnpackTo(&call) || event.tenant().empty() ||
        !absl::StartsWith(call.phone_number(), "+") || !call.has_dial_time() ||
        call.outcome() == dialing::v1::CALL_OUTCOME_UNSPECIFIED) {
      Log(LogLevel::kWarning, "compliance", "call event skipped: incomplete",
          {{"event_id", event.event_id()}, {"tenant", event.tenant()}});
      return absl::OkStatus();
    }
    absl::Duration keep = kMaxCapWindow;  // whatever the caps: a cap added later counts these
    auto applied = store_->ApplyCallEvent(event.tenant(), event.event_id(), call, keep,
                                          options_.audit_retention);
    if (!applied.ok()) return applied.status();
    if (*applied && call.outcome() == dialing::v1::CALL_OUTCOME_ABANDONED) {
      std::lock_guard<std::mutex> lock(mu_);
      abandon_cache_.clear();  // the next predictive check sees the new rate
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::compliance
