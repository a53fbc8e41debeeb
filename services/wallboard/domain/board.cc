#include "services/wallboard/domain/board.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/core/errors.h"
#include "services/common/core/log.h"

namespace dialgrid::wallboard {
namespace {

// A small JSON writer: objects and arrays opened and closed in order, commas
// placed by the writer. Strings are escaped with the logger's JsonEscape.
class Json {
 public:
  Json& Open(char c) {
    Comma();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  Json& Close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  Json& Key(absl::string_view key) {
    Comma();
    absl::StrAppend(&out_, "\"", JsonEscape(key), "\":");
    after_key_ = true;
    return *this;
  }
  Json& Str(absl::string_view v) {
    Comma();
    absl::StrAppend(&out_, "\"", JsonEscape(v), "\"");
    return *this;
  }
  Json& Int(int64_t v) {
    Comma();
    absl::StrAppend(&out_, v);
    return *this;
  }
  Json& Num(double v) {
    Comma();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      absl::StrAppend(&out_, absl::StrFormat("%.6g", v));
    }
    return *this;
  }
  Json& Bool(bool v) {
    Comma();
    out_ += v ? "true" : "false";
    return *this;
  }
  Json& Null() {
    Comma();
    out_ += "null";
    return *this;
  }
  Json& Time(absl::Time t) {
    if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return Null();
    return Str(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
  }
  Json& Seconds(absl::Duration d) { return Num(absl::ToDoubleSeconds(d)); }
  Json& Ratio(int64_t num, int64_t den) {
    if (den <= 0) return Null();
    return Num(static_cast<double>(num) / static_cast<double>(den));
  }
  std::string Take() { return std::move(out_); }

 private:
  void Comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

void WritePart(Json& j, const PartState& part) {
  j.Key("available").Bool(part.available);
  if (!part.available) {
    j.Key("reason").Str(part.reason);
    j.Key("message").Str(part.message);
  }
}

absl::string_view LastSegment(absl::string_view name) {
  size_t slash = name.rfind('/');
  return slash == absl::string_view::npos ? name : name.substr(slash + 1);
}

// The states the board counts, in the order the page shows them.
constexpr absl::string_view kStates[] = {"ready",   "reserved",  "on_call",
                                         "wrap_up", "not_ready", "logged_out"};

void WriteAgents(Json& j, const Board& b) {
  j.Key("agents").Open('{');
  WritePart(j, b.agents_state);
  if (b.agents_state.available) {
    std::map<std::string, int64_t> counts;
    for (absl::string_view s : kStates) counts[std::string(s)] = 0;
    for (const AgentRow& a : b.agents.agents) ++counts[a.state];
    j.Key("truncated").Bool(b.agents.truncated);
    j.Key("counts").Open('{');
    j.Key("total").Int(static_cast<int64_t>(b.agents.agents.size()));
    for (absl::string_view s : kStates) j.Key(s).Int(counts[std::string(s)]);
    j.Close('}');
    j.Key("items").Open('[');
    for (const AgentRow& a : b.agents.agents) {
      j.Open('{');
      j.Key("name").Str(a.name);
      j.Key("id").Str(LastSegment(a.name));
      j.Key("display_name").Str(a.display_name);
      j.Key("team").Str(a.team);
      j.Key("state").Str(a.state);
      j.Key("reason_code").Str(a.reason_code);
      j.Key("station").Str(a.station);
      j.Key("campaign").Str(LastSegment(a.campaign));
      j.Key("state_since").Time(a.state_since);
      if (a.state_since == absl::InfinitePast() || a.state_since > b.generated_at) {
        j.Key("seconds_in_state").Null();
      } else {
        j.Key("seconds_in_state").Int(absl::ToInt64Seconds(b.generated_at - a.state_since));
      }
      j.Close('}');
    }
    j.Close(']');
  }
  j.Close('}');
}

void WriteToday(Json& j, const Board& b) {
  j.Key("today").Open('{');
  WritePart(j, b.today_state);
  if (b.today_state.available) {
    const TeamToday& t = b.today;
    j.Key("day").Str(absl::FormatCivilTime(t.day));
    j.Key("calls_handled").Int(t.calls_handled);
    j.Key("missed_reservations").Int(t.missed_reservations);
    j.Key("logged_in_seconds").Seconds(t.logged_in);
    j.Key("ready_seconds").Seconds(t.ready);
    j.Key("talk_seconds").Seconds(t.talk);
    j.Key("wrap_up_seconds").Seconds(t.wrap_up);
    j.Key("not_ready_seconds").Seconds(t.not_ready);
    j.Key("occupancy").Num(t.occupancy);
    j.Key("target_calls").Int(t.target_calls);
    j.Key("target_sales").Int(t.target_sales);
  }
  // From reporting (a part of its own: null when reporting is not
  // configured or did not answer, the reason beside it).
  if (b.sales_state.available) {
    j.Key("sales").Int(b.sales.sales);
    j.Key("sales_since").Time(b.sales.since);
  } else {
    j.Key("sales").Null();
    j.Key("sales_reason").Str(b.sales_state.reason);
  }
  j.Close('}');
}

void WriteFigures(Json& j, const CampaignRow& c) {
  j.Key("figures").Open('{');
  WritePart(j, c.figures_state);
  if (c.figures_state.available && c.figures.has_value()) {
    const CampaignFigures& f = *c.figures;
    j.Key("dialing").Bool(f.dialing);
    j.Key("update_time").Time(f.update_time);
    j.Key("dialing_mode").Str(f.dialing_mode);
    j.Key("calls_in_progress").Int(f.calls_in_progress);
    j.Key("max_lines").Int(f.max_lines);
    j.Key("lines_last_tick").Int(f.lines_last_tick);
    std::optional<double> lpa = LinesPerAgent(f);
    j.Key("lines_per_agent");
    if (lpa.has_value()) {
      j.Num(*lpa);
    } else {
      j.Null();
    }
    j.Key("hopper_contacts").Int(f.hopper_contacts);
    j.Key("hopper_dry").Bool(f.hopper_dry);
    j.Key("agents_ready").Int(f.agents_ready);
    j.Key("agents_on_call").Int(f.agents_on_call);
    j.Key("agents_wrap_up").Int(f.agents_wrap_up);
    j.Key("agents_not_ready").Int(f.agents_not_ready);
    j.Key("answer_rate").Num(f.answer_rate);
    j.Key("counted_since").Time(f.counted_since);
    j.Key("dials").Int(f.dials);
    j.Key("answered").Int(f.answered);
    j.Key("connected").Int(f.connected);
    j.Key("abandoned").Int(f.abandoned);
    j.Key("machines").Int(f.machines);
    j.Key("refused").Int(f.refused);
    j.Key("ledger_known").Bool(f.ledger_known);
    if (f.ledger_known) {
      j.Key("abandoned_24h").Int(f.abandoned_24h);
      j.Key("live_answers_24h").Int(f.live_answers_24h);
      j.Key("abandon_rate_24h").Num(f.abandon_rate_24h);
      j.Key("abandoned_30d").Int(f.abandoned_30d);
      j.Key("live_answers_30d").Int(f.live_answers_30d);
      j.Key("abandon_rate_30d").Num(f.abandon_rate_30d);
      j.Key("max_abandon_rate").Num(f.max_abandon_rate);
      j.Key("over_abandon_cap").Bool(f.over_abandon_cap);
    }
    j.Key("inbound_waiting").Int(f.inbound_waiting);
    j.Key("inbound_offered").Int(f.inbound_offered);
    j.Key("inbound_answered").Int(f.inbound_answered);
    j.Key("service_level").Num(f.service_level);
  }
  j.Close('}');
}

void WriteCampaigns(Json& j, const Board& b) {
  j.Key("campaigns").Open('{');
  WritePart(j, b.campaigns_state);
  if (b.campaigns_state.available) {
    j.Key("truncated").Bool(b.campaigns.truncated);
    int64_t dials = 0, answered = 0, connected = 0, abandoned = 0, in_progress = 0, running = 0;
    int64_t ab24 = 0, live24 = 0, ab30 = 0, live30 = 0, with_figures = 0;
    bool any_ledger = false;
    j.Key("items").Open('[');
    for (const CampaignRow& c : b.campaigns.campaigns) {
      if (c.state == "running") ++running;
      if (c.figures_state.available && c.figures.has_value()) {
        const CampaignFigures& f = *c.figures;
        ++with_figures;
        dials += f.dials;
        answered += f.answered;
        connected += f.connected;
        abandoned += f.abandoned;
        in_progress += f.calls_in_progress;
        if (f.ledger_known) {
          any_ledger = true;
          ab24 += f.abandoned_24h;
          live24 += f.live_answers_24h;
          ab30 += f.abandoned_30d;
          live30 += f.live_answers_30d;
        }
      }
      j.Open('{');
      j.Key("name").Str(c.name);
      j.Key("id").Str(LastSegment(c.name));
      j.Key("display_name").Str(c.display_name);
      j.Key("mode").Str(c.mode);
      j.Key("state").Str(c.state);
      j.Key("state_reason").Str(c.state_reason);
      j.Key("power_ratio").Num(c.power_ratio);
      j.Key("max_lines").Int(c.max_lines);
      WriteFigures(j, c);
      j.Close('}');
    }
    j.Close(']');
    // Sums over the campaigns whose figures were read. dials..abandoned are
    // counted by each campaign's dialing replica since it took the campaign;
    // the abandon rates are compliance's ledger (last 24 hours, 30 days).
    j.Key("totals").Open('{');
    j.Key("campaigns").Int(static_cast<int64_t>(b.campaigns.campaigns.size()));
    j.Key("running").Int(running);
    j.Key("with_figures").Int(with_figures);
    j.Key("calls_in_progress").Int(in_progress);
    j.Key("dials").Int(dials);
    j.Key("answered").Int(answered);
    j.Key("connected").Int(connected);
    j.Key("abandoned").Int(abandoned);
    j.Key("ledger_known").Bool(any_ledger);
    j.Key("abandoned_24h").Int(ab24);
    j.Key("live_answers_24h").Int(live24);
    j.Key("abandon_rate_24h").Ratio(ab24, live24);
    j.Key("abandoned_30d").Int(ab30);
    j.Key("live_answers_30d").Int(live30);
    j.Key("abandon_rate_30d").Ratio(ab30, live30);
    j.Close('}');
  }
  j.Close('}');
}

}  // namespace

PartState PartState::From(const absl::Status& status) {
  if (status.ok()) return Ok();
  std::string reason = ReasonOf(status);
  if (reason.empty()) reason = absl::StatusCodeToString(status.code());
  // Reasons are UPPER_SNAKE; a code name from absl is too ("UNAVAILABLE").
  absl::AsciiStrToUpper(&reason);
  return PartState{false, reason, std::string(status.message().substr(0, 300))};
}

std::optional<double> LinesPerAgent(const CampaignFigures& f) {
  int64_t agents = f.agents_ready + f.agents_on_call;
  if (agents <= 0) return std::nullopt;
  return static_cast<double>(f.calls_in_progress) / static_cast<double>(agents);
}

std::string BoardToJson(const Board& b) {
  Json j;
  j.Open('{');
  j.Key("generated_at").Time(b.generated_at);
  j.Key("tenant").Open('{');
  j.Key("id").Str(b.tenant_id);
  WritePart(j, b.tenant_state);
  if (b.tenant_state.available) {
    j.Key("display_name").Str(b.tenant.display_name);
    j.Key("time_zone").Str(b.tenant.time_zone);
  }
  j.Close('}');
  WriteAgents(j, b);
  WriteToday(j, b);
  WriteCampaigns(j, b);
  j.Close('}');
  return j.Take();
}

std::string ErrorToJson(const absl::Status& status) {
  PartState p = PartState::From(status);
  Json j;
  j.Open('{').Key("error").Open('{');
  j.Key("code").Str(absl::StatusCodeToString(status.code()));
  j.Key("http_status").Int(HttpStatusOf(status.code()));
  j.Key("reason").Str(p.reason);
  j.Key("message").Str(p.message);
  j.Close('}').Close('}');
  return j.Take();
}

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

bool IsAccessDenial(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnauthenticated ||
         status.code() == absl::StatusCode::kPermissionDenied;
}

std::string EnumLabel(absl::string_view enum_name, absl::string_view prefix) {
  absl::string_view s = enum_name;
  if (absl::StartsWith(s, prefix)) s.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(s);
}

}  // namespace dialgrid::wallboard
