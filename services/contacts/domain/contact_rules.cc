#include "services/contacts/domain/contact_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/text.h"
#include "services/contacts/domain/csv_reader.h"
#include "services/common/phone/phone_numbers.h"

namespace dialgrid::contacts {
namespace {


absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max,
                       TextKind kind = TextKind::kSingleLine) {
  if (value.size() > max) {
    return InvalidField(field, "FIELD_TOO_LONG",
                        absl::StrCat("must be at most ", max, " bytes, got ", value.size()));
  }
  if (!IsValidUtf8(value)) return InvalidField(field, "INVALID_UTF8", "is not valid UTF-8");
  return ValidateText(field, value, kind);  // controls, text-direction characters: INVALID_TEXT
}



}  // namespace

absl::StatusOr<v1::Contact> BuildContact(const RawContact& raw, absl::string_view default_country,
                                         const geo::ZoneResolver& zones) {
  const std::pair<const char*, const std::string*> texts[] = {
      {"external_id", &raw.external_id}, {"first_name", &raw.first_name},
      {"last_name", &raw.last_name},     {"postal_code", &raw.postal_code},
      {"region", &raw.region},           {"country", &raw.country}};
  for (const auto& [field, value] : texts) {
    size_t max = std::string(field) == "external_id" ? kMaxExternalId
                 : (std::string(field) == "first_name" || std::string(field) == "last_name")
                     ? kMaxName
                     : 64;
    absl::Status st = CheckText(field, *value, max);
    if (!st.ok()) return st;
  }
  v1::Contact c;
  c.set_external_id(std::string(absl::StripAsciiWhitespace(raw.external_id)));
  c.set_first_name(std::string(absl::StripAsciiWhitespace(raw.first_name)));
  c.set_last_name(std::string(absl::StripAsciiWhitespace(raw.last_name)));
  c.set_postal_code(std::string(absl::StripAsciiWhitespace(raw.postal_code)));
  c.set_region(std::string(absl::StripAsciiWhitespace(raw.region)));
  std::string country = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(raw.country));
  if (!country.empty() && (country.size() != 2 || !absl::ascii_isalpha(country[0]) ||
                           !absl::ascii_isalpha(country[1]))) {
    return InvalidField("country", "INVALID_COUNTRY", "must be an ISO 3166-1 alpha-2 code");
  }
  c.set_country(country);
  std::string region_for_phones = country.empty() ? std::string(default_country) : country;

  int phones = 0;
  geo::LocationHints hints;
  for (const std::string& p : raw.phones) {
    if (absl::StripAsciiWhitespace(p).empty()) continue;
    if (++phones > kMaxPhones) {
      return InvalidField("phones", "TOO_MANY_PHONES", absl::StrCat("at most ", kMaxPhones));
    }
    auto n = phone::NormalizePhone(p, region_for_phones);
    if (!n.ok()) return n.status();
    auto* cp = c.add_phones();
    *cp->mutable_number() = n->number;
    cp->set_callable(true);
    hints.phones.push_back({n->number.e164(), n->number.region_code(), n->nanp_region});
  }
  if (phones == 0) return InvalidField("phones", "MISSING_PHONE_NUMBER", "no phone number");
  if (c.country().empty() && !c.phones().empty()) {
    c.set_country(c.phones(0).number().region_code());
  }

  if (raw.attributes.size() > static_cast<size_t>(kMaxAttributes)) {
    return InvalidField("attributes", "TOO_MANY_ATTRIBUTES", absl::StrCat("at most ", kMaxAttributes));
  }
  for (const auto& [k, v] : raw.attributes) {
    if (k.empty()) return InvalidField("attributes", "INVALID_ATTRIBUTE", "empty attribute name");
    // The name is checked before it names the field of the value's errors.
    // Values are notes-like: a quoted CSV field may span lines.
    absl::Status st = CheckText("attributes", k, kMaxAttributeKey);
    if (st.ok()) {
      st = CheckText(absl::StrCat("attributes.", k), v, kMaxAttributeValue, TextKind::kMultiLine);
    }
    if (!st.ok()) return st;
    if (!v.empty()) (*c.mutable_attributes())[k] = v;
  }
  std::string prio(absl::StripAsciiWhitespace(raw.priority));
  if (!prio.empty()) {
    int p = 0;
    if (!absl::SimpleAtoi(prio, &p) || p < 0 || p > kMaxPriority) {
      return InvalidField("priority", "INVALID_PRIORITY", "must be an integer 0-9");
    }
    c.set_priority(p);
  }
  hints.explicit_zone = std::string(absl::StripAsciiWhitespace(raw.time_zone));
  hints.postal_code = c.postal_code();
  hints.region = c.region();
  hints.country = c.country();
  auto z = zones.Resolve(hints);
  if (!z.ok()) return z.status();
  for (const auto& zone : z->zones) c.add_candidate_time_zones(zone);
  if (z->zones.size() == 1) c.set_time_zone(z->zones[0]);
  c.set_time_zone_source(geo::ToProtoSource(z->source));
  return c;
}

RawContact RawFromContact(const v1::Contact& c) {
  RawContact r;
  r.external_id = c.external_id();
  r.first_name = c.first_name();
  r.last_name = c.last_name();
  r.time_zone = c.time_zone();
  r.postal_code = c.postal_code();
  r.region = c.region();
  r.country = c.country();
  for (const auto& p : c.phones()) r.phones.push_back(p.number().e164());
  r.attributes.insert(c.attributes().begin(), c.attributes().end());
  r.priority = std::to_string(c.priority());
  return r;
}

void InitNewContact(v1::Contact& c, absl::Time now) {
  bool callable = false;
  for (const auto& p : c.phones()) callable = callable || p.callable();
  c.set_status(callable ? v1::CONTACT_STATUS_CALLABLE : v1::CONTACT_STATUS_UNREACHABLE);
  if (!c.has_next_callable_time()) *c.mutable_next_callable_time() = ToTimestamp(now);
  *c.mutable_create_time() = ToTimestamp(now);
  *c.mutable_update_time() = ToTimestamp(now);
}

v1::Contact MergeUpsert(const v1::Contact& existing, const v1::Contact& fresh, absl::Time now) {
  v1::Contact c = fresh;
  c.set_status(existing.status());
  c.set_attempts(existing.attempts());
  c.set_last_outcome(existing.last_outcome());
  *c.mutable_create_time() = existing.create_time();
  if (!fresh.has_next_callable_time()) *c.mutable_next_callable_time() = existing.next_callable_time();
  *c.mutable_update_time() = ToTimestamp(now);
  return c;
}

std::string ToStored(const v1::Contact& c) { return ToStored(v1::Contact(c)); }

std::string ToStored(v1::Contact&& c) {
  c.clear_name();
  c.clear_etag();
  if (c.candidate_time_zones_size() == 1 && c.candidate_time_zones(0) == c.time_zone()) {
    c.clear_candidate_time_zones();
  }
  return c.SerializeAsString();
}

std::string ContactName(absl::string_view list_name, int64_t seq) {
  return absl::StrCat(list_name, "/contacts/c", seq);
}

std::string EtagOf(absl::string_view stored) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : stored) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return absl::StrFormat("%016x", h);
}

absl::StatusOr<v1::Contact> FromStored(absl::string_view bytes, absl::string_view list_name,
                                       int64_t seq) {
  v1::Contact c;
  if (!c.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored contact does not parse");
  }
  if (c.candidate_time_zones_size() == 0 && !c.time_zone().empty()) {
    c.add_candidate_time_zones(c.time_zone());
  }
  c.set_name(ContactName(list_name, seq));
  c.set_etag(EtagOf(bytes));
  return c;
}

std::string StatusKey(v1::ContactStatus s) {
  std::string n = v1::ContactStatus_Name(s);
  return n.substr(std::string("CONTACT_STATUS_").size());
}

bool InQueue(const v1::Contact& c) { return c.status() == v1::CONTACT_STATUS_CALLABLE; }

bool ContactFilter::Matches(const v1::Contact& c) const {
  if (status != v1::CONTACT_STATUS_UNSPECIFIED && c.status() != status) return false;
  if (!external_id.empty() && c.external_id() != external_id) return false;
  if (!phone.empty()) {
    bool found = false;
    for (const auto& p : c.phones()) found = found || p.number().e164() == phone;
    if (!found) return false;
  }
  for (const auto& [k, v] : attributes) {
    auto it = c.attributes().find(k);
    if (it == c.attributes().end() || it->second != v) return false;
  }
  return true;
}

absl::StatusOr<ContactFilter> ParseFilter(absl::string_view filter) {
  ContactFilter f;
  if (filter.size() > 2000) return InvalidField("filter", "FILTER_TOO_LONG", "at most 2000 bytes");
  if (absl::StripAsciiWhitespace(filter).empty()) return f;
  for (absl::string_view term : absl::StrSplit(filter, " AND ")) {
    std::vector<absl::string_view> kv = absl::StrSplit(term, absl::MaxSplits('=', 1));
    if (kv.size() != 2) {
      return InvalidField("filter", "INVALID_FILTER",
                          absl::StrCat("expected `field = value`, got `", term.substr(0, 80), "`"));
    }
    std::string key(absl::StripAsciiWhitespace(kv[0]));
    std::string value(absl::StripAsciiWhitespace(kv[1]));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "status") {
      v1::ContactStatus s;
      if (!v1::ContactStatus_Parse(absl::StrCat("CONTACT_STATUS_", value), &s) &&
          !v1::ContactStatus_Parse(value, &s)) {
        return InvalidField("filter", "INVALID_FILTER", absl::StrCat("unknown status ", value));
      }
      f.status = s;
    } else if (key == "phone") {
      f.phone = value;
    } else if (key == "external_id") {
      f.external_id = value;
    } else if (absl::StartsWith(key, "attributes.") && key.size() > 11) {
      f.attributes[key.substr(11)] = value;
    } else {
      return InvalidField("filter", "INVALID_FILTER", absl::StrCat("cannot filter on `", key, "`"));
    }
  }
  return f;
}

absl::Status ApplyContactMask(const v1::Contact& patch,
                              const google::protobuf::RepeatedPtrField<std::string>& paths,
                              v1::Contact& target) {
  static const char* kAll[] = {"external_id", "first_name", "last_name", "phones",
                               "time_zone",   "postal_code", "region",   "country",
                               "attributes",  "priority",   "next_callable_time"};
  std::vector<std::string> wanted(paths.begin(), paths.end());
  if (wanted.empty()) wanted.assign(std::begin(kAll), std::end(kAll));
  for (const std::string& path : wanted) {
    if (path == "external_id") target.set_external_id(patch.external_id());
    else if (path == "first_name") target.set_first_name(patch.first_name());
    else if (path == "last_name") target.set_last_name(patch.last_name());
    else if (path == "phones") *target.mutable_phones() = patch.phones();
    else if (path == "time_zone") target.set_time_zone(patch.time_zone());
    else if (path == "postal_code") target.set_postal_code(patch.postal_code());
    else if (path == "region") target.set_region(patch.region());
    else if (path == "country") target.set_country(patch.country());
    else if (path == "attributes") *target.mutable_attributes() = patch.attributes();
    else if (path == "priority") target.set_priority(patch.priority());
    else if (path == "next_callable_time") *target.mutable_next_callable_time() = patch.next_callable_time();
    else {
      return InvalidField("update_mask", "FIELD_NOT_UPDATABLE",
                          absl::StrCat("\"", path.substr(0, 64), "\" cannot be updated"));
    }
  }
  return absl::OkStatus();
}

}  // namespace dialgrid::contacts
