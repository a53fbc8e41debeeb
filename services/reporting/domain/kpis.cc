#include "services/reporting/domain/kpis.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/core/errors.h"

namespace dialgrid::reporting {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

int64_t Get(const Counters& c, const std::string& field) {
  auto it = c.find(field);
  return it == c.end() ? 0 : it->second;
}

double Ratio(int64_t a, int64_t b) {
  return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

google::protobuf::Duration Ms(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return d;
}
int64_t MsOf(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1000000;
}

// Nearest integer of a / b (b > 0, a >= 0).
int64_t RoundDiv(int64_t a, int64_t b) { return b > 0 ? (a + b / 2) / b : 0; }

int64_t ToInt(const std::map<std::string, std::string>& r, const char* f) {
  int64_t v = 0;
  auto it = r.find(f);
  if (it != r.end() && !absl::SimpleAtoi(it->second, &v)) v = 0;
  return v;
}

// Splits "c:<id>:<rest>" / "a:<id>:<rest>": the id and the rest.
bool SplitField(absl::string_view field, char kind, absl::string_view* id,
                absl::string_view* rest) {
  if (field.size() < 3 || field[0] != kind || field[1] != ':') return false;
  absl::string_view tail = field.substr(2);
  const size_t colon = tail.find(':');
  if (colon == absl::string_view::npos) return false;
  *id = tail.substr(0, colon);
  *rest = tail.substr(colon + 1);
  return true;
}

}  // namespace

void AddCounters(const Counters& from, Counters& into) {
  for (const auto& [k, v] : from) into[k] += v;
}

CampaignSettings CampaignSettingsOf(const std::map<std::string, std::string>& record) {
  CampaignSettings s;
  if (record.empty()) return s;
  s.known = true;
  auto cur = record.find("currency");
  if (cur != record.end()) s.currency_code = cur->second;
  s.per_minute_micros = ToInt(record, "per_minute");
  s.per_attempt_micros = ToInt(record, "per_attempt");
  auto sales = record.find("sales");
  if (sales != record.end()) {
    for (absl::string_view code : absl::StrSplit(sales->second, ',', absl::SkipEmpty())) {
      s.sale_codes.insert(std::string(code));
    }
  }
  return s;
}

AgentSettings AgentSettingsOf(const std::map<std::string, std::string>& record) {
  AgentSettings s;
  auto team = record.find("team");
  if (team != record.end()) s.team = team->second;
  s.calls_target = static_cast<int32_t>(ToInt(record, "t_calls"));
  s.sales_target = static_cast<int32_t>(ToInt(record, "t_sales"));
  auto occ = record.find("t_occupancy");
  if (occ != record.end() && !absl::SimpleAtod(occ->second, &s.occupancy_target)) {
    s.occupancy_target = 0;
  }
  return s;
}

v1::CallFigures CampaignFigures(const Counters& c, absl::string_view campaign,
                                const CampaignSettings& settings) {
  const std::string p = absl::StrCat("c:", campaign, ":");
  v1::CallFigures f;
  f.set_attempts(Get(c, p + "attempts"));
  f.set_not_placed(Get(c, p + "not_placed"));
  f.set_no_answer(Get(c, p + "no_answer"));
  f.set_busy(Get(c, p + "busy"));
  f.set_failed(Get(c, p + "failed"));
  f.set_machine(Get(c, p + "machine"));
  f.set_connects(Get(c, p + "connects"));
  f.set_abandoned(Get(c, p + "abandoned"));
  f.set_messages_played(Get(c, p + "messages"));
  f.set_live_answers(f.connects() + f.abandoned());
  f.set_contact_rate(Ratio(f.connects() + f.abandoned() + f.messages_played(), f.attempts()));
  f.set_abandon_rate(Ratio(f.abandoned(), f.live_answers()));
  f.set_handled_calls(Get(c, p + "handled"));
  const int64_t talk = Get(c, p + "talk_ms");
  const int64_t wrap = Get(c, p + "wrap_ms");
  *f.mutable_talk() = Ms(talk);
  *f.mutable_wrap_up() = Ms(wrap);
  *f.mutable_average_handle_time() = Ms(RoundDiv(talk + wrap, f.handled_calls()));
  int64_t sales = 0;
  const std::string disp = p + "disp:";
  for (auto it = c.lower_bound(disp); it != c.end() && absl::StartsWith(it->first, disp); ++it) {
    if (settings.sale_codes.count(it->first.substr(disp.size())) > 0) sales += it->second;
  }
  f.set_sales(sales);
  f.set_conversion_rate(Ratio(sales, f.handled_calls()));
  return f;
}

v1::AbandonWindow AbandonWindowOf(const Counters& c, absl::string_view campaign) {
  const std::string p = absl::StrCat("c:", campaign, ":");
  v1::AbandonWindow w;
  w.set_abandoned(Get(c, p + "abandoned"));
  w.set_live_answers(Get(c, p + "connects") + w.abandoned());
  w.set_rate(Ratio(w.abandoned(), w.live_answers()));
  return w;
}

std::vector<v1::DispositionCount> DispositionsOf(const Counters& c, absl::string_view campaign,
                                                 const CampaignSettings& settings) {
  std::vector<v1::DispositionCount> out;
  const std::string disp = absl::StrCat("c:", campaign, ":disp:");
  for (auto it = c.lower_bound(disp); it != c.end() && absl::StartsWith(it->first, disp); ++it) {
    if (it->second == 0) continue;  // moved to another code
    v1::DispositionCount d;
    d.set_code(it->first.substr(disp.size()));
    d.set_count(it->second);
    d.set_sale(settings.sale_codes.count(d.code()) > 0);
    out.push_back(d);
  }
  return out;
}

v1::CostFigures CostsOf(const v1::CallFigures& totals, const CampaignSettings& settings) {
  v1::CostFigures out;
  out.set_known(settings.known);
  if (!settings.known) return out;
  out.set_currency_code(settings.currency_code);
  const int64_t talk_ms = MsOf(totals.talk());
  const int64_t total = totals.attempts() * settings.per_attempt_micros +
                        RoundDiv(talk_ms * settings.per_minute_micros, 60000);
  out.set_total_micros(total);
  out.set_per_call_micros(RoundDiv(total, totals.attempts()));
  out.set_per_acquisition_micros(RoundDiv(total, totals.sales()));
  return out;
}

std::set<std::string> CampaignsIn(const Counters& c) {
  std::set<std::string> out;
  absl::string_view id, rest;
  for (const auto& [k, v] : c) {
    if (SplitField(k, 'c', &id, &rest)) out.insert(std::string(id));
  }
  return out;
}

std::set<std::string> AgentsIn(const Counters& c) {
  std::set<std::string> out;
  absl::string_view id, rest;
  for (const auto& [k, v] : c) {
    if (SplitField(k, 'a', &id, &rest)) out.insert(std::string(id));
  }
  return out;
}

std::set<std::string> DispositionCampaignsOf(const Counters& c, absl::string_view agent) {
  std::set<std::string> out;
  const std::string disp = absl::StrCat("a:", agent, ":disp:");
  for (auto it = c.lower_bound(disp); it != c.end() && absl::StartsWith(it->first, disp); ++it) {
    absl::string_view rest = absl::string_view(it->first).substr(disp.size());
    out.insert(std::string(rest.substr(0, rest.find(':'))));
  }
  return out;
}

namespace {

void SetAgentRatios(v1::AgentFigures& f) {
  const int64_t talk = MsOf(f.talk()), wrap = MsOf(f.wrap_up()), ready = MsOf(f.ready());
  f.set_occupancy(Ratio(talk + wrap, talk + wrap + ready));
  *f.mutable_average_handle_time() = Ms(RoundDiv(talk + wrap, f.calls_handled()));
}

}  // namespace

v1::AgentFigures AgentFiguresOf(const Counters& c, absl::string_view agent,
                                const std::map<std::string, CampaignSettings>& campaigns,
                                const AgentSettings& settings) {
  const std::string p = absl::StrCat("a:", agent, ":");
  v1::AgentFigures f;
  f.set_team(settings.team);
  const int64_t ready = Get(c, p + "ready_ms");
  const int64_t talk = Get(c, p + "talk_ms");
  const int64_t wrap = Get(c, p + "wrap_ms");
  int64_t not_ready = 0;
  const std::string nr = p + "nr_ms:";
  for (auto it = c.lower_bound(nr); it != c.end() && absl::StartsWith(it->first, nr); ++it) {
    if (it->second == 0) continue;
    not_ready += it->second;
    (*f.mutable_not_ready_by_reason())[it->first.substr(nr.size())] = Ms(it->second);
  }
  *f.mutable_ready() = Ms(ready);
  *f.mutable_talk() = Ms(talk);
  *f.mutable_wrap_up() = Ms(wrap);
  *f.mutable_not_ready() = Ms(not_ready);
  *f.mutable_logged_in() = Ms(ready + talk + wrap + not_ready);
  f.set_calls_handled(Get(c, p + "calls"));
  int64_t sales = 0;
  const std::string disp = p + "disp:";
  for (auto it = c.lower_bound(disp); it != c.end() && absl::StartsWith(it->first, disp); ++it) {
    absl::string_view rest = absl::string_view(it->first).substr(disp.size());
    const size_t colon = rest.find(':');
    if (colon == absl::string_view::npos) continue;
    auto camp = campaigns.find(std::string(rest.substr(0, colon)));
    if (camp != campaigns.end() &&
        camp->second.sale_codes.count(std::string(rest.substr(colon + 1))) > 0) {
      sales += it->second;
    }
  }
  f.set_sales(sales);
  SetAgentRatios(f);
  v1::TargetProgress* t = f.mutable_targets();
  t->set_calls_handled_target(settings.calls_target);
  t->set_sales_target(settings.sales_target);
  t->set_occupancy_target(settings.occupancy_target);
  t->set_calls_handled_progress(Ratio(f.calls_handled(), settings.calls_target));
  t->set_sales_progress(Ratio(f.sales(), settings.sales_target));
  t->set_occupancy_progress(
      settings.occupancy_target > 0 ? f.occupancy() / settings.occupancy_target : 0.0);
  return f;
}

void AddToTotal(const v1::AgentFigures& a, v1::AgentFigures& total) {
  auto add = [](google::protobuf::Duration* into, const google::protobuf::Duration& d) {
    *into = Ms(MsOf(*into) + MsOf(d));
  };
  add(total.mutable_logged_in(), a.logged_in());
  add(total.mutable_ready(), a.ready());
  add(total.mutable_talk(), a.talk());
  add(total.mutable_wrap_up(), a.wrap_up());
  add(total.mutable_not_ready(), a.not_ready());
  for (const auto& [reason, d] : a.not_ready_by_reason()) {
    add(&(*total.mutable_not_ready_by_reason())[reason], d);
  }
  total.set_calls_handled(total.calls_handled() + a.calls_handled());
  total.set_sales(total.sales() + a.sales());
}

void FinishTotal(v1::AgentFigures& total) { SetAgentRatios(total); }

absl::StatusOr<BillingPlans> ParseBillingPlans(absl::string_view text) {
  BillingPlans plans;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    BillingPlan p;
    bool ok = f.size() == 8 && f[2].size() == 3;
    if (ok) {
      p.name = f[1];
      p.currency_code = f[2];
      ok = absl::SimpleAtoi(f[3], &p.fixed_micros) && absl::SimpleAtoi(f[4], &p.included_minutes) &&
           absl::SimpleAtoi(f[5], &p.minute_overage_micros) &&
           absl::SimpleAtoi(f[6], &p.included_storage_bytes) &&
           absl::SimpleAtoi(f[7], &p.gib_overage_micros) && p.fixed_micros >= 0 &&
           p.included_minutes >= 0 && p.minute_overage_micros >= 0 &&
           p.included_storage_bytes >= 0 && p.gib_overage_micros >= 0;
    }
    if (!ok || plans.count(f[0]) > 0) {
      return WithReason(
          absl::InvalidArgumentError(
              absl::StrCat("billing plans line ", line_no,
                           ": want '<tenant|*> <plan> <currency> <fixed_micros> <included_minutes> "
                           "<minute_overage_micros> <included_storage_bytes> <gib_overage_micros>' "
                           "(non-negative integers, each tenant once)")),
          "BILLING_PLANS_INVALID");
    }
    plans[f[0]] = p;
  }
  return plans;
}

const BillingPlan* PlanFor(const BillingPlans& plans, const std::string& tenant) {
  auto it = plans.find(tenant);
  if (it == plans.end()) it = plans.find("*");
  return it == plans.end() ? nullptr : &it->second;
}

v1::Usage UsageOf(const Counters& c, int64_t storage_bytes) {
  v1::Usage u;
  u.set_attempts(Get(c, "u:attempts"));
  u.set_connected_calls(Get(c, "u:connected_calls"));
  *u.mutable_connected() = Ms(Get(c, "u:connected_ms"));
  u.set_billable_minutes(Get(c, "u:billable_min"));
  u.set_recordings_stored(Get(c, "u:recordings"));
  u.set_recording_bytes_stored(Get(c, "u:rec_bytes_stored"));
  u.set_recording_bytes_deleted(Get(c, "u:rec_bytes_deleted"));
  u.set_recording_storage_bytes(std::max<int64_t>(0, storage_bytes));
  return u;
}

v1::Bill BillOf(const v1::Usage& usage, const BillingPlan& plan) {
  v1::Bill b;
  b.set_plan(plan.name);
  b.set_currency_code(plan.currency_code);
  b.set_fixed_micros(plan.fixed_micros);
  b.set_included_minutes(plan.included_minutes);
  b.set_overage_minutes(std::max<int64_t>(0, usage.billable_minutes() - plan.included_minutes));
  b.set_minutes_overage_micros(b.overage_minutes() * plan.minute_overage_micros);
  b.set_included_storage_bytes(plan.included_storage_bytes);
  const int64_t over = usage.recording_storage_bytes() - plan.included_storage_bytes;
  b.set_overage_storage_gib(over > 0 ? (over + kGiB - 1) / kGiB : 0);
  b.set_storage_overage_micros(b.overage_storage_gib() * plan.gib_overage_micros);
  b.set_total_micros(b.fixed_micros() + b.minutes_overage_micros() + b.storage_overage_micros());
  return b;
}

std::string CsvHeader() {
  return "day,campaign,attempts,connects,abandoned,live_answers,handled_calls,talk_seconds,"
         "wrap_up_seconds,sales,currency_code,cost_micros\r\n";
}

std::string CsvLine(const CsvRow& r) {
  // Every value is a date, an id of [a-z0-9-], a number or an ISO 4217
  // code: nothing needs quoting.
  auto secs = [](const google::protobuf::Duration& d) {
    return absl::StrCat(d.seconds(), ".", absl::StrFormat("%03d", d.nanos() / 1000000));
  };
  return absl::StrCat(r.day, ",", r.campaign, ",", r.figures.attempts(), ",", r.figures.connects(),
                      ",", r.figures.abandoned(), ",", r.figures.live_answers(), ",",
                      r.figures.handled_calls(), ",", secs(r.figures.talk()), ",",
                      secs(r.figures.wrap_up()), ",", r.figures.sales(), ",",
                      r.costs.currency_code(), ",", r.costs.total_micros(), "\r\n");
}

}  // namespace dialgrid::reporting
