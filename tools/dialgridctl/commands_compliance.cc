// compliance check|records, compliance dnc add|remove|check|list,
// compliance registries list|update|create|upload|scope|delete (ComplianceService).
#include <unistd.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "dialgrid/compliance/v1/compliance.grpc.pb.h"
#include "services/common/core/errors.h"
#include "tools/dialgridctl/commands.h"
#include "tools/dialgridctl/ctl_interrupt.h"

namespace dialgrid::ctl {
namespace {

using compliance::v1::ComplianceService;
using Stub = ComplianceService::Stub;

// What each denial code means (compliance.proto, DenialReason).
std::string Explain(absl::string_view code) {
  static const std::map<std::string, std::string, std::less<>> kMeaning = {
      {"DNC_TENANT", "the number is on the tenant's do-not-call list"},
      {"DNC_CAMPAIGN", "the number is on this campaign's do-not-call list"},
      {"DNC_REGISTRY", "a national do-not-call registry the rule set checks lists the number"},
      {"OUTSIDE_CALLING_HOURS", "outside the legal calling hours in the callee's time zone"},
      {"HOLIDAY", "a holiday on which the callee's jurisdiction allows no calls"},
      {"DAY_BANNED", "no calls are allowed on this day in the callee's jurisdiction"},
      {"TIME_ZONE_UNKNOWN", "the callee's time zone could not be found (fail closed)"},
      {"NO_CALLING_HOURS_RULE", "no calling-hours rule covers the callee's jurisdiction"},
      {"ATTEMPT_CAP_NUMBER", "the number has had as many attempts as a cap allows"},
      {"ATTEMPT_CAP_CONTACT", "the contact has had as many attempts as a cap allows"},
      {"ATTEMPT_CAP_DEBT", "the debt has had as many attempts as Reg F allows"},
      {"ABANDON_QUIET_PERIOD", "a call to the number was abandoned too recently"},
      {"ABANDON_RATE_EXCEEDED",
       "the campaign's abandon rate is over the rule set's cap: no predictive dials"},
      {"CONSENT_REQUIRED", "an automated dial of this number needs a consent record"},
      {"MACHINE_LOCKOUT", "an answering machine answered the number too recently"},
      {"REG_F_CONVERSATION_LOCKOUT", "a conversation about the debt took place too recently"},
      {"SOLICITATION_REFUSED", "the callee refused solicitation (of this product or any)"},
  };
  auto it = kMeaning.find(code);
  return it == kMeaning.end() ? "(see compliance.proto, DenialReason)" : it->second;
}

void PrintDecision(Ctl& ctl, const compliance::v1::DialDecision& d, bool counted) {
  ctl.Print(d, [&] {
    std::string verdict = d.allowed() ? "ALLOWED" : "REFUSED";
    verdict +=
        counted ? (d.allowed() ? " (counted as an attempt)" : "") : " (a scrub: nothing counted)";
    std::vector<std::string> zones(d.time_zones().begin(), d.time_zones().end());
    std::vector<std::string> regions(d.regions().begin(), d.regions().end());
    std::vector<std::string> rules(d.calling_hours_rules().begin(), d.calling_hours_rules().end());
    std::vector<std::pair<std::string, std::string>> fields = {
        {"decision", verdict},
        {"number", absl::StrCat(d.phone_number().e164(), " (", ShortEnumOf(d.phone_number().type()),
                                ", ", OrDash(d.phone_number().region_code()), ")")},
        {"campaign", d.campaign()},
        {"mode", ShortEnumOf(d.dialing_mode())},
        {"purpose", ShortEnumOf(d.purpose())},
        {"time zones", absl::StrCat(OrDash(absl::StrJoin(zones, ", ")), " (",
                                    ShortEnumOf(d.time_zone_source()), ")")},
        {"regions", OrDash(absl::StrJoin(regions, ", "))},
        {"calling hours", OrDash(absl::StrJoin(rules, ", "))},
        {"rule set", absl::StrCat(d.rule_set(), " v", d.rule_set_version())},
    };
    if (!d.allowed()) fields.push_back({"next allowed", FormatTime(d.next_allowed_time())});
    if (d.recording_announcement_required()) {
      fields.push_back({"recording", "announce before recording (" +
                                         absl::StrJoin(d.recording_rules(), ", ") + ")"});
    }
    fields.push_back({"decision id", d.decision_id()});
    PrintFields(ctl.out(), fields);
    if (d.reasons_size() > 0) {
      ctl.out() << "\nwhy:\n";
      Table t({"REASON", "RULE", "MEANING", "DETAIL"});
      for (const auto& r : d.reasons()) {
        t.AddRow({r.code(), OrDash(r.rule()), Explain(r.code()), OrDash(r.detail())});
      }
      t.Print(ctl.out());
    }
  });
}

struct CheckOpts {
  std::string campaign, number, mode = "preview", contact, country, region, postal_code, purpose,
                                product, debt, request_id;
  std::vector<std::string> zones;
  bool count = false;
  bool fail_if_refused = false;
};

absl::Status RunCheck(Ctl& ctl, const CheckOpts& o) {
  auto campaign = ctl.Name("campaigns", o.campaign);
  if (!campaign.ok()) return campaign.status();
  auto mode = ParseEnum(type::v1::DialingMode_descriptor(), o.mode, "--mode");
  if (!mode.ok()) return mode.status();
  compliance::v1::Callee callee;
  for (const auto& z : o.zones) callee.add_time_zones(z);
  callee.set_country(o.country);
  callee.set_region(o.region);
  callee.set_postal_code(o.postal_code);
  int purpose = 0;
  if (!o.purpose.empty()) {
    auto p = ParseEnum(type::v1::CallPurpose_descriptor(), o.purpose, "--purpose");
    if (!p.ok()) return p.status();
    purpose = *p;
  }
  compliance::v1::DialDecision decision;
  if (o.count) {
    compliance::v1::CheckDialRequest req;
    req.set_campaign(*campaign);
    req.set_contact(o.contact);
    req.set_phone_number(o.number);
    req.set_dialing_mode(static_cast<type::v1::DialingMode>(*mode));
    *req.mutable_callee() = callee;
    req.set_request_id(o.request_id);
    req.set_purpose(static_cast<type::v1::CallPurpose>(purpose));
    req.set_product(o.product);
    req.set_debt(o.debt);
    auto r = ctl.Call<ComplianceService>("compliance", &Stub::CheckDial, req);
    if (!r.ok()) return r.status();
    decision = std::move(*r);
  } else {
    compliance::v1::ScrubNumbersRequest req;
    req.set_campaign(*campaign);
    req.set_dialing_mode(static_cast<type::v1::DialingMode>(*mode));
    req.set_purpose(static_cast<type::v1::CallPurpose>(purpose));
    auto* e = req.add_entries();
    e->set_contact(o.contact);
    e->set_phone_number(o.number);
    *e->mutable_callee() = callee;
    e->set_product(o.product);
    e->set_debt(o.debt);
    auto r = ctl.Call<ComplianceService>("compliance", &Stub::ScrubNumbers, req);
    if (!r.ok()) return r.status();
    if (r->results_size() != 1) return absl::InternalError("the scrub answered no result");
    const auto& result = r->results(0);
    if (!result.has_decision()) {
      // The entry could not be decided: "REASON: message", a bad input.
      std::string error = result.error();
      size_t colon = error.find(": ");
      std::string reason = colon == std::string::npos ? "" : error.substr(0, colon);
      std::string message = colon == std::string::npos ? error : error.substr(colon + 2);
      return WithReason(absl::InvalidArgumentError(message),
                        reason.empty() ? "INVALID_ARGUMENT" : reason);
    }
    decision = result.decision();
  }
  PrintDecision(ctl, decision, o.count);
  if (o.fail_if_refused && !decision.allowed()) {
    return WithReason(absl::FailedPreconditionError("the dial is refused"), "DIAL_REFUSED");
  }
  return absl::OkStatus();
}

struct DncOpts {
  std::vector<std::string> numbers;
  std::string campaign, country, reason, request_id;
};

absl::StatusOr<std::string> DncParent(Ctl& ctl, const DncOpts& o) {
  if (!o.campaign.empty()) return ctl.Name("campaigns", o.campaign);
  return ctl.TenantParent();
}

// A time from the command line: RFC 3339 ("2026-12-01T09:00:00Z") or a
// date (its start, UTC).
absl::StatusOr<google::protobuf::Timestamp> ParseWhen(const std::string& text, const char* flag) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err) &&
      !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) {
    return UsageError(absl::StrCat(flag, ": \"", text,
                                   "\" is not a time (2026-12-01T09:00:00Z) or a date (2026-12-01)"));
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

// Numbers of a registry change file: one a line; blank lines and '#'
// comments skipped.
absl::StatusOr<std::vector<std::string>> ReadNumbers(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return UsageError(absl::StrCat(path, ": ", text.status().message()));
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    out.emplace_back(line);
  }
  return out;
}

// Who a suppression list applies to: "all", its tenants, or "-".
std::string ScopeOf(const compliance::v1::Registry& r) {
  if (r.all_tenants()) return "all";
  if (r.kind() != compliance::v1::REGISTRY_KIND_SUPPRESSION) return "-";
  return r.tenants().empty() ? "(none shown)" : absl::StrJoin(r.tenants(), ",");
}

void PrintRegistries(Ctl& ctl, const google::protobuf::Message& message,
                     const std::vector<const compliance::v1::Registry*>& registries) {
  ctl.Print(message, [&] {
    Table t({"REGISTRY", "KIND", "SOURCE", "NUMBERS", "ADDED", "REMOVED", "AS OF", "STALE FROM",
             "RULES", "TENANTS"});
    for (const auto* r : registries) {
      t.AddRow({r->id(), ShortEnumOf(r->kind()), r->created() ? "api" : "index",
                absl::StrCat(r->numbers()), absl::StrCat(r->overlay_additions()),
                absl::StrCat(r->overlay_removals()),
                r->has_as_of_time() ? FormatTime(r->as_of_time()) : "-",
                r->has_stale_time() ? FormatTime(r->stale_time()) : "-", OrDash(r->rules()),
                ScopeOf(*r)});
    }
    t.Print(ctl.out());
  });
}

std::string RegistryName(const std::string& id_or_name) {
  return absl::StrContains(id_or_name, '/') ? id_or_name : absl::StrCat("registries/", id_or_name);
}

// A file's numbers with their line numbers (blank lines and '#' comments
// skipped), for an upload's report to point at the line.
struct NumberLines {
  std::vector<std::string> numbers;
  std::vector<int64_t> lines;
};
absl::StatusOr<NumberLines> ReadNumberLines(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return UsageError(absl::StrCat(path, ": ", text.status().message()));
  NumberLines out;
  int64_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    out.numbers.emplace_back(line);
    out.lines.push_back(line_no);
  }
  return out;
}

struct UploadOpts {
  std::string registry, file, reason, as_of;
  bool remove = false, dated = false, quiet = false;
  int batch = 10000;
};

// UploadRegistryNumbers: the file in messages of --batch numbers, a
// progress line from each reply, the report at the end.
absl::Status RunUpload(Ctl& ctl, const UploadOpts& o) {
  auto in = ReadNumberLines(o.file);
  if (!in.ok()) return in.status();
  compliance::v1::UploadRegistryNumbersRequest first;
  first.set_name(RegistryName(o.registry));
  first.set_action(o.remove ? compliance::v1::REGISTRY_UPLOAD_ACTION_REMOVE
                            : compliance::v1::REGISTRY_UPLOAD_ACTION_ADD);
  first.set_reason(o.reason);
  first.set_registrations_dated(o.dated);
  if (!o.as_of.empty()) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(o.as_of, &day)) {
      return UsageError(absl::StrCat("--as-of: \"", o.as_of, "\" is not a date (2026-12-01)"));
    }
    first.mutable_as_of()->set_year(static_cast<int32_t>(day.year()));
    first.mutable_as_of()->set_month(day.month());
    first.mutable_as_of()->set_day(day.day());
  }
  InterruptWatcher interrupt;
  grpc::ClientContext ctx;
  absl::Status st = ctl.PrepareStream("compliance", ctx, absl::InfiniteDuration());
  if (!st.ok()) return st;
  auto stub = ComplianceService::NewStub((*ctl.Peer("compliance"))->channel());
  auto stream = stub->UploadRegistryNumbers(&ctx);
  interrupt.Start([&ctx] { ctx.TryCancel(); });
  const size_t total = in->numbers.size();
  const size_t batch = static_cast<size_t>(std::max(1, o.batch));
  const bool tty = !o.quiet && isatty(STDERR_FILENO);
  compliance::v1::UploadRegistryNumbersResponse last;
  size_t next = 0;
  bool broken = false;
  do {
    compliance::v1::UploadRegistryNumbersRequest msg = next == 0 ? first
        : compliance::v1::UploadRegistryNumbersRequest();
    while (next < total && static_cast<size_t>(msg.numbers_size()) < batch) {
      msg.add_numbers(in->numbers[next++]);
    }
    if (!stream->Write(msg) || !stream->Read(&last)) {
      broken = true;
      break;
    }
    if (!o.quiet) {
      std::string line = absl::StrFormat(
          "uploading to %s: %d of %d numbers (%d%%), %d applied, %d rejected", first.name(),
          last.received(), total, total == 0 ? 100 : last.received() * 100 / total, last.applied(),
          last.rejected());
      if (tty) {
        ctl.err() << "\r" << line << "\x1b[K" << std::flush;
      } else if (next == total) {
        ctl.err() << line << "\n";
      }
    }
  } while (next < total);
  if (!broken) {
    stream->WritesDone();
    if (!stream->Read(&last) || !last.complete()) broken = true;
  }
  grpc::Status done = stream->Finish();
  if (tty) ctl.err() << "\n";
  if (!done.ok() || broken) {
    if (last.received() > 0) {
      ctl.err() << last.received() << " of " << total
                << " numbers were applied before the failure (each acknowledged message is "
                   "durable); uploading the same file again applies the rest\n";
    }
    if (interrupt.interrupted()) return absl::CancelledError("interrupted");
    if (!done.ok()) return ctl.StatusOf("compliance", done);
    return absl::UnavailableError("the upload ended before its report");
  }
  ctl.Print(last, [&] {
    ctl.out() << absl::StrFormat("%d numbers: %d applied, %d unchanged, %d rejected\n",
                                 last.received(), last.applied(), last.unchanged(),
                                 last.rejected());
    if (last.rejected_numbers_size() > 0) {
      Table t({"LINE", "VALUE", "REASON", "WHY"});
      for (const auto& r : last.rejected_numbers()) {
        const int64_t line = r.index() >= 0 && static_cast<size_t>(r.index()) < in->lines.size()
                                 ? in->lines[static_cast<size_t>(r.index())]
                                 : -1;
        t.AddRow({absl::StrCat(line), r.value(), r.reason(), r.message()});
      }
      t.Print(ctl.out());
      if (last.rejected() > last.rejected_numbers_size()) {
        ctl.out() << "(the first " << last.rejected_numbers_size() << " of " << last.rejected()
                  << " rejected numbers)\n";
      }
    }
    Table t({"REGISTRY", "KIND", "NUMBERS", "ADDED", "REMOVED", "AS OF"});
    const auto& r = last.registry();
    t.AddRow({r.id(), ShortEnumOf(r.kind()), absl::StrCat(r.numbers()),
              absl::StrCat(r.overlay_additions()), absl::StrCat(r.overlay_removals()),
              r.has_as_of_time() ? FormatTime(r.as_of_time()) : "-"});
    t.Print(ctl.out());
  });
  return absl::OkStatus();
}

}  // namespace

void AddComplianceCommands(CLI::App& app, Action& action) {
  CLI::App* compliance = Group(app, "compliance", "Compliance: decisions, do-not-call lists");
  {
    auto o = std::make_shared<CheckOpts>();
    CLI::App* check = Leaf(
        *compliance, "check",
        "May this number be dialed for this campaign now? Prints the decision and explains every "
        "reason. A refusal is an answer, not an error (exit 0)",
        action, [o](Ctl& ctl) { return RunCheck(ctl, *o); });
    check->add_option("--campaign", o->campaign, "campaign id or full name")->required();
    check->add_option("--number", o->number, "E.164, or national with --country")->required();
    check->add_option("--mode", o->mode,
                      "how the dial would be placed: " +
                          EnumChoices(type::v1::DialingMode_descriptor()) + " (default preview)");
    check->add_option("--country", o->country, "the callee's ISO country (national numbers)");
    check->add_option("--region", o->region, "the callee's state or province");
    check->add_option("--postal-code", o->postal_code, "the callee's postal code");
    check->add_option("--time-zone", o->zones, "the callee's IANA zone (repeatable)");
    check->add_option("--contact", o->contact, "the contact's full name (per-contact caps)");
    check->add_option("--purpose", o->purpose,
                      EnumChoices(type::v1::CallPurpose_descriptor()) + " (default telemarketing)");
    check->add_option("--product", o->product, "the product solicited");
    check->add_option("--debt", o->debt, "the debt (debt collection)");
    check->add_flag("--count", o->count,
                    "decide as a real dial (CheckDial: an allowed dial counts against the caps); "
                    "default: a scrub, nothing counted");
    check->add_option("--request-id", o->request_id, "with --count: idempotency key");
    check->add_flag("--fail-if-refused", o->fail_if_refused, "exit 7 when the dial is refused");
  }

  {
    struct Opts {
      std::string number, country, since, until;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* records = Leaf(
        *compliance, "records",
        "What was recorded for a number, oldest first: every decision (allowed or refused, "
        "why) and every call outcome (the audit trail)",
        action, [o](Ctl& ctl) -> absl::Status {
          auto parent = ctl.TenantParent();
          if (!parent.ok()) return parent.status();
          compliance::v1::ListDialRecordsRequest req;
          req.set_parent(*parent);
          req.set_phone_number(o->number);
          req.set_default_country(o->country);
          req.set_page_size(1000);
          if (!o->since.empty()) {
            auto t = ParseWhen(o->since, "--since");
            if (!t.ok()) return t.status();
            *req.mutable_start_time() = *t;
          }
          if (!o->until.empty()) {
            auto t = ParseWhen(o->until, "--until");
            if (!t.ok()) return t.status();
            *req.mutable_end_time() = *t;
          }
          auto r = ListAll<ComplianceService>(ctl, "compliance", &Stub::ListDialRecords, req);
          if (!r.ok()) return r.status();
          ctl.Print(*r, [&] {
            Table t({"TIME", "RECORD", "RESULT", "CAMPAIGN", "ID"});
            for (const auto& rec : r->records()) {
              if (rec.has_decision()) {
                const auto& d = rec.decision();
                std::vector<std::string> why;
                for (const auto& reason : d.reasons()) why.push_back(reason.code());
                t.AddRow({FormatTime(rec.time()), "decision",
                          d.allowed() ? "ALLOWED" : absl::StrCat("REFUSED ", absl::StrJoin(why, ",")),
                          OrDash(LastSegment(d.campaign())), d.decision_id()});
              } else {
                const auto& c = rec.call();
                t.AddRow({FormatTime(rec.time()),
                          rec.reported_by().empty() ? "call"
                                                    : absl::StrCat("call (", rec.reported_by(), ")"),
                          ShortEnumOf(c.outcome()), OrDash(LastSegment(c.campaign())),
                          OrDash(LastSegment(c.call()))});
              }
            }
            t.Print(ctl.out());
          });
          return absl::OkStatus();
        });
    records->add_option("number", o->number, "E.164, or national with --country")->required();
    records->add_option("--country", o->country, "ISO region of a national number");
    records->add_option("--since", o->since, "from (RFC 3339 time or a date)");
    records->add_option("--until", o->until, "until, exclusive (RFC 3339 time or a date)");
  }
  CLI::App* registries =
      Group(*compliance, "registries",
            "National registries (do-not-call, wireless) and vendor suppression lists: vendor");
  Leaf(*registries, "list", "The registries the compliance service has loaded", action,
       [](Ctl& ctl) -> absl::Status {
         compliance::v1::ListRegistriesRequest req;
         auto parent = ctl.TenantParent();
         req.set_parent(parent.ok() ? *parent : "vendor");
         auto r = ctl.Call<ComplianceService>("compliance", &Stub::ListRegistries, req);
         if (!r.ok()) return r.status();
         std::vector<const compliance::v1::Registry*> list;
         for (const auto& reg : r->registries()) list.push_back(&reg);
         PrintRegistries(ctl, *r, list);
         return absl::OkStatus();
       });
  {
    struct Opts {
      std::string registry, add_file, remove_file, reason, as_of;
      int batch = 50000;
      bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* update = Leaf(
        *registries, "update",
        "Apply a registry's change file (numbers added and removed since the index was built) "
        "in batches, with progress; --as-of dates the data (sent with the last batch only, so "
        "a change applied in part does not refresh the registry's age)",
        action, [o](Ctl& ctl) -> absl::Status {
          std::vector<std::string> add, remove;
          if (!o->add_file.empty()) {
            auto n = ReadNumbers(o->add_file);
            if (!n.ok()) return n.status();
            add = *std::move(n);
          }
          if (!o->remove_file.empty()) {
            auto n = ReadNumbers(o->remove_file);
            if (!n.ok()) return n.status();
            remove = *std::move(n);
          }
          type::v1::Date as_of_date;
          if (!o->as_of.empty()) {
            absl::CivilDay day;
            if (!absl::ParseCivilTime(o->as_of, &day)) {
              return UsageError(absl::StrCat("--as-of: \"", o->as_of, "\" is not a date (2026-12-01)"));
            }
            as_of_date.set_year(static_cast<int32_t>(day.year()));
            as_of_date.set_month(day.month());
            as_of_date.set_day(day.day());
          }
          if (add.empty() && remove.empty() && o->as_of.empty()) {
            return UsageError("nothing to do: give --add-file, --remove-file or --as-of");
          }
          const std::string name = absl::StrContains(o->registry, '/')
                                       ? o->registry
                                       : absl::StrCat("registries/", o->registry);
          const size_t total = add.size() + remove.size();
          size_t sent = 0, next_add = 0, next_remove = 0;
          const size_t batch = static_cast<size_t>(std::max(1, o->batch));
          const bool tty = !o->quiet && isatty(STDERR_FILENO);
          compliance::v1::UpdateRegistryResponse last;
          do {
            compliance::v1::UpdateRegistryRequest req;
            req.set_name(name);
            req.set_reason(o->reason);
            while (next_add < add.size() && static_cast<size_t>(req.add_numbers_size()) < batch) {
              req.add_add_numbers(add[next_add++]);
            }
            while (next_remove < remove.size() &&
                   static_cast<size_t>(req.add_numbers_size() + req.remove_numbers_size()) < batch) {
              req.add_remove_numbers(remove[next_remove++]);
            }
            const bool final_batch = next_add == add.size() && next_remove == remove.size();
            if (final_batch && !o->as_of.empty()) *req.mutable_as_of() = as_of_date;
            auto r = ctl.Call<ComplianceService>("compliance", &Stub::UpdateRegistry, req);
            if (!r.ok()) {
              if (sent > 0) {
                ctl.err() << (tty ? "\n" : "") << sent << " of " << total
                          << " numbers were applied before the failure; running the same "
                             "command again applies the rest (adds and removals are idempotent)\n";
              }
              return r.status();
            }
            sent += static_cast<size_t>(req.add_numbers_size() + req.remove_numbers_size());
            last = *std::move(r);
            if (!o->quiet) {
              std::string line = absl::StrFormat("updating %s: %d of %d numbers (%d%%)", name, sent,
                                                 total, total == 0 ? 100 : sent * 100 / total);
              if (tty) {
                ctl.err() << "\r" << line << "\x1b[K" << (final_batch ? "\n" : "") << std::flush;
              } else if (final_batch) {
                ctl.err() << line << "\n";
              }
            }
          } while (next_add < add.size() || next_remove < remove.size());
          PrintRegistries(ctl, last, {&last.registry()});
          return absl::OkStatus();
        });
    update->add_option("registry", o->registry, "registry id (e.g. us-national) or its name")
        ->required();
    update->add_option("--add-file", o->add_file, "numbers to add, one a line")
        ->check(CLI::ExistingFile);
    update->add_option("--remove-file", o->remove_file, "numbers to remove, one a line")
        ->check(CLI::ExistingFile);
    update->add_option("--reason", o->reason, "why (audited), e.g. the change file's name")
        ->required();
    update->add_option("--as-of", o->as_of, "the change file's date (YYYY-MM-DD)");
    update->add_option("--batch", o->batch, "numbers per call (at most 100000)")
        ->check(CLI::Range(1, 100000));
    update->add_flag("--quiet", o->quiet, "no progress line");
  }
  {
    struct Opts {
      std::string id, kind, plan, rules, description;
      std::vector<std::string> tenants;
      bool all_tenants = false;
      int max_age_days = 0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* create = Leaf(
        *registries, "create",
        "Define a registry or a vendor suppression list over the API, on every replica, no "
        "restart (then load its numbers with 'upload')",
        action, [o](Ctl& ctl) -> absl::Status {
          compliance::v1::CreateRegistryRequest req;
          req.set_registry_id(o->id);
          auto kind = ParseEnum(compliance::v1::RegistryKind_descriptor(), o->kind, "--kind");
          if (!kind.ok()) return kind.status();
          auto plan =
              ParseEnum(compliance::v1::RegistryNumberPlan_descriptor(), o->plan, "--plan");
          if (!plan.ok()) return plan.status();
          auto& r = *req.mutable_registry();
          r.set_kind(static_cast<compliance::v1::RegistryKind>(*kind));
          r.set_number_plan(static_cast<compliance::v1::RegistryNumberPlan>(*plan));
          r.set_rules(o->rules);
          r.set_description(o->description);
          r.set_max_age_days(o->max_age_days);
          for (const auto& t : o->tenants) r.add_tenants(t);
          r.set_all_tenants(o->all_tenants);
          auto out = ctl.Call<ComplianceService>("compliance", &Stub::CreateRegistry, req);
          if (!out.ok()) return out.status();
          PrintRegistries(ctl, *out, {&*out});
          return absl::OkStatus();
        });
    create->add_option("id", o->id, "the registry's id, e.g. litigators")->required();
    create->add_option("--kind", o->kind,
                       EnumChoices(compliance::v1::RegistryKind_descriptor()))
        ->required();
    create->add_option("--plan", o->plan,
                       "how numbers are keyed: " +
                           EnumChoices(compliance::v1::RegistryNumberPlan_descriptor()))
        ->required();
    create->add_option("--tenant", o->tenants, "suppression lists: a tenant it applies to (repeatable)");
    create->add_flag("--all-tenants", o->all_tenants, "suppression lists: every tenant");
    create->add_option("--rules", o->rules, "registries: its row of registry_rules.tsv (grace, exemptions)");
    create->add_option("--max-age-days", o->max_age_days, "how old its data may be (0: no limit)");
    create->add_option("--description", o->description, "what it is");
  }
  {
    auto o = std::make_shared<UploadOpts>();
    CLI::App* upload = Leaf(
        *registries, "upload",
        "Stream a file of numbers (one a line) into a registry or suppression list, with "
        "progress; prints the report (rejected lines by line number). Each acknowledged message "
        "is durable: after a failure, the same command applies the rest",
        action, [o](Ctl& ctl) { return RunUpload(ctl, *o); });
    upload->add_option("registry", o->registry, "registry id or name")->required();
    upload->add_option("file", o->file, "numbers, one a line ('#' comments)")
        ->required()
        ->check(CLI::ExistingFile);
    upload->add_option("--reason", o->reason, "why (audited)")->required();
    upload->add_flag("--remove", o->remove, "take the numbers off instead");
    upload->add_option("--as-of", o->as_of,
                       "the data's date (YYYY-MM-DD): restarts the age limit once complete");
    upload->add_flag("--dated", o->dated,
                     "the numbers are a change file's new registrations of --as-of (they bind "
                     "after the registry's grace); default: they bind at once");
    upload->add_option("--batch", o->batch, "numbers per message (at most 10000)")
        ->check(CLI::Range(1, 10000));
    upload->add_flag("--quiet", o->quiet, "no progress line");
  }
  {
    struct Opts {
      std::string registry, reason;
      std::vector<std::string> tenants;
      bool all_tenants = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* scope = Leaf(
        *registries, "scope", "Set the tenants a suppression list applies to (the whole list)",
        action, [o](Ctl& ctl) -> absl::Status {
          compliance::v1::UpdateRegistryScopeRequest req;
          req.set_name(RegistryName(o->registry));
          for (const auto& t : o->tenants) req.add_tenants(t);
          req.set_all_tenants(o->all_tenants);
          req.set_reason(o->reason);
          auto out = ctl.Call<ComplianceService>("compliance", &Stub::UpdateRegistryScope, req);
          if (!out.ok()) return out.status();
          PrintRegistries(ctl, *out, {&*out});
          return absl::OkStatus();
        });
    scope->add_option("registry", o->registry, "suppression list id or name")->required();
    scope->add_option("--tenant", o->tenants, "a tenant it applies to (repeatable; none: no tenant)");
    scope->add_flag("--all-tenants", o->all_tenants, "every tenant");
    scope->add_option("--reason", o->reason, "why (audited)")->required();
  }
  {
    struct Opts {
      std::string registry, reason;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* del = Leaf(
        *registries, "delete",
        "Delete a registry created over the API, with its numbers (a rule set naming it then "
        "fails closed until it is taken out)",
        action, [o](Ctl& ctl) -> absl::Status {
          compliance::v1::DeleteRegistryRequest req;
          req.set_name(RegistryName(o->registry));
          req.set_reason(o->reason);
          auto out = ctl.Call<ComplianceService>("compliance", &Stub::DeleteRegistry, req);
          if (!out.ok()) return out.status();
          ctl.Print(*out, [&] { ctl.out() << "deleted " << req.name() << "\n"; });
          return absl::OkStatus();
        });
    del->add_option("registry", o->registry, "registry id or name")->required();
    del->add_option("--reason", o->reason, "why (audited)")->required();
  }
  CLI::App* dnc = Group(*compliance, "dnc", "The tenant's (or a campaign's) do-not-call list");
  {
    auto o = std::make_shared<DncOpts>();
    CLI::App* add =
        Leaf(*dnc, "add", "Add numbers (an opt-out takes effect at once)", action,
             [o](Ctl& ctl) -> absl::Status {
               auto parent = DncParent(ctl, *o);
               if (!parent.ok()) return parent.status();
               compliance::v1::AddDoNotCallNumbersRequest req;
               req.set_parent(*parent);
               for (const auto& n : o->numbers) req.add_phone_numbers(n);
               req.set_default_country(o->country);
               req.set_reason(o->reason);
               req.set_request_id(o->request_id);
               auto r = ctl.Call<ComplianceService>("compliance", &Stub::AddDoNotCallNumbers, req);
               if (!r.ok()) return r.status();
               ctl.Print(*r, [&] {
                 PrintFields(ctl.out(), {{"list", *parent},
                                         {"added", absl::StrCat(r->added())},
                                         {"already listed", absl::StrCat(r->already_listed())}});
               });
               return absl::OkStatus();
             });
    add->add_option("number", o->numbers, "numbers (E.164, or national with --country)")
        ->required();
    add->add_option("--campaign", o->campaign, "the campaign's list (default: the tenant's)");
    add->add_option("--country", o->country, "ISO region of national numbers");
    add->add_option("--reason", o->reason, "why, kept with the entry");
    add->add_option("--request-id", o->request_id, "idempotency key");
  }
  {
    auto o = std::make_shared<DncOpts>();
    CLI::App* remove =
        Leaf(*dnc, "remove", "Remove numbers (admins)", action, [o](Ctl& ctl) -> absl::Status {
          auto parent = DncParent(ctl, *o);
          if (!parent.ok()) return parent.status();
          compliance::v1::RemoveDoNotCallNumbersRequest req;
          req.set_parent(*parent);
          for (const auto& n : o->numbers) req.add_phone_numbers(n);
          req.set_default_country(o->country);
          req.set_reason(o->reason);
          req.set_request_id(o->request_id);
          auto r = ctl.Call<ComplianceService>("compliance", &Stub::RemoveDoNotCallNumbers, req);
          if (!r.ok()) return r.status();
          ctl.Print(*r, [&] {
            PrintFields(ctl.out(), {{"list", *parent},
                                    {"removed", absl::StrCat(r->removed())},
                                    {"not listed", absl::StrCat(r->not_listed())}});
          });
          return absl::OkStatus();
        });
    remove->add_option("number", o->numbers, "numbers")->required();
    remove->add_option("--campaign", o->campaign, "the campaign's list (default: the tenant's)");
    remove->add_option("--country", o->country, "ISO region of national numbers");
    remove->add_option("--reason", o->reason, "why (audited)")->required();
    remove->add_option("--request-id", o->request_id, "idempotency key");
  }
  {
    auto o = std::make_shared<DncOpts>();
    CLI::App* check =
        Leaf(*dnc, "check", "Which do-not-call lists hold a number", action,
             [o](Ctl& ctl) -> absl::Status {
               auto parent = DncParent(ctl, *o);
               if (!parent.ok()) return parent.status();
               compliance::v1::CheckDoNotCallRequest req;
               req.set_parent(*parent);
               req.set_phone_number(o->numbers.empty() ? "" : o->numbers[0]);
               req.set_default_country(o->country);
               auto r = ctl.Call<ComplianceService>("compliance", &Stub::CheckDoNotCall, req);
               if (!r.ok()) return r.status();
               ctl.Print(*r, [&] {
                 if (r->entries_size() == 0) {
                   ctl.out() << r->phone_number() << ": on no do-not-call list\n";
                   return;
                 }
                 ctl.out() << r->phone_number() << ": listed\n";
                 Table t({"LIST", "REASON", "ADDED BY", "ADDED"});
                 for (const auto& e : r->entries()) {
                   t.AddRow({e.list(), OrDash(e.reason()), OrDash(e.added_by()),
                             FormatTime(e.add_time())});
                 }
                 t.Print(ctl.out());
               });
               return absl::OkStatus();
             });
    check->add_option("number", o->numbers, "the number")->required()->expected(1);
    check->add_option("--campaign", o->campaign, "also the campaign's list");
    check->add_option("--country", o->country, "ISO region of a national number");
  }
  {
    auto o = std::make_shared<DncOpts>();
    CLI::App* list = Leaf(*dnc, "list", "List a do-not-call list in number order", action,
                          [o](Ctl& ctl) -> absl::Status {
                            auto parent = DncParent(ctl, *o);
                            if (!parent.ok()) return parent.status();
                            compliance::v1::ListDoNotCallEntriesRequest req;
                            req.set_parent(*parent);
                            auto r = ListAll<ComplianceService>(ctl, "compliance",
                                                                &Stub::ListDoNotCallEntries, req);
                            if (!r.ok()) return r.status();
                            ctl.Print(*r, [&] {
                              Table t({"NUMBER", "REASON", "ADDED BY", "ADDED"});
                              for (const auto& e : r->entries()) {
                                t.AddRow({e.phone_number(), OrDash(e.reason()),
                                          OrDash(e.added_by()), FormatTime(e.add_time())});
                              }
                              t.Print(ctl.out());
                            });
                            return absl::OkStatus();
                          });
    list->add_option("--campaign", o->campaign, "the campaign's list (default: the tenant's)");
  }
}

}  // namespace dialgrid::ctl
