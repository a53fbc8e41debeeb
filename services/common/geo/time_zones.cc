#include "services/common/geo/time_zones.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/common/core/errors.h"

namespace dialgrid::geo {
namespace {

absl::StatusOr<std::vector<std::vector<std::string>>> ReadTsv(const std::string& path,
                                                              size_t columns) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<std::vector<std::string>> rows;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    if (cols.size() < columns) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": expected ", columns,
                                                     " tab-separated columns"));
    }
    rows.push_back(std::move(cols));
  }
  return rows;
}

absl::Status CheckZone(const std::string& zone, const std::string& where) {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(zone, &tz)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown zone ", zone));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ZoneResolver>> ZoneResolver::Load(
    const std::string& data_dir, const std::string& zone_tab) {
  auto r = std::make_shared<ZoneResolver>();
  auto regions = ReadTsv(data_dir + "/region_time_zones.tsv", 4);
  if (!regions.ok()) return regions.status();
  for (auto& row : *regions) {
    std::vector<std::string> zones = absl::StrSplit(row[3], ',');
    for (const auto& z : zones) {
      absl::Status st = CheckZone(z, "region_time_zones.tsv");
      if (!st.ok()) return st;
    }
    std::sort(zones.begin(), zones.end());
    r->region_zones_[{row[0], row[1]}] = zones;
    r->region_by_name_[absl::AsciiStrToUpper(row[2])] = row[1];
    r->country_of_region_[row[1]] = row[0];
  }
  // Names libphonenumber's offline geocoder gives some NANP area codes
  // instead of the region's own name (206/253/360/425/509/564 "Washington
  // State", 202/771 "Washington D.C.", 445 "Philadelphia"): without them
  // those numbers resolve to no region and their state's rules never apply.
  for (const auto& [alias, code] : std::vector<std::pair<std::string, std::string>>{
           {"WASHINGTON STATE", "WA"}, {"WASHINGTON D.C.", "DC"}, {"PHILADELPHIA", "PA"}}) {
    if (r->country_of_region_.count(code) > 0 && r->region_by_name_.count(alias) == 0) {
      r->region_by_name_[alias] = code;
    }
  }
  auto postal = ReadTsv(data_dir + "/postal_code_regions.tsv", 4);
  if (!postal.ok()) return postal.status();
  for (auto& row : *postal) {
    PostalRange pr{row[0], row[1], row[2], absl::StrSplit(row[3], ',')};
    for (const auto& reg : pr.regions) {
      if (!r->region_zones_.count({pr.country, reg})) {
        return absl::InvalidArgumentError(
            absl::StrCat("postal_code_regions.tsv: region ", reg, " has no zones"));
      }
    }
    r->postal_ranges_.push_back(std::move(pr));
  }
  // Every possible key looked up once here, so a row's lookup is an index.
  auto first_range = [&](const std::string& country, const std::string& key) {
    for (size_t i = 0; i < r->postal_ranges_.size(); ++i) {
      const auto& range = r->postal_ranges_[i];
      if (range.country == country && key >= range.from && key <= range.to) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  for (int zip3 = 0; zip3 < 1000; ++zip3) {
    r->us_postal_.push_back(first_range("US", absl::StrFormat("%03d", zip3)));
  }
  for (char letter = 'A'; letter <= 'Z'; ++letter) {
    r->ca_postal_.push_back(first_range("CA", std::string(1, letter)));
  }
  std::ifstream tab(zone_tab);
  if (!tab) return absl::NotFoundError(absl::StrCat("cannot read ", zone_tab));
  std::string line;
  while (std::getline(tab, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    if (cols.size() < 3) continue;
    // zone.tab: one country per row; zone1970.tab: comma-separated codes.
    for (absl::string_view cc : absl::StrSplit(cols[0], ',')) {
      r->country_zones_[std::string(cc)].push_back(cols[2]);
    }
  }
  for (auto& [cc, zones] : r->country_zones_) std::sort(zones.begin(), zones.end());
  auto numbers = ReadTsv(data_dir + "/number_time_zones.tsv", 2);
  if (!numbers.ok()) return numbers.status();
  std::map<std::string, std::set<std::string>> listed;
  for (auto& row : *numbers) {
    if (row[0].empty() || row[0].size() > 15 ||
        !std::all_of(row[0].begin(), row[0].end(), absl::ascii_isdigit)) {
      return absl::InvalidArgumentError(
          absl::StrCat("number_time_zones.tsv: \"", row[0].substr(0, 20), "\" is not a number prefix"));
    }
    for (absl::string_view z : absl::StrSplit(row[1], ',')) {
      absl::Status st = CheckZone(std::string(z), "number_time_zones.tsv");
      if (!st.ok()) return st;
      listed[row[0]].insert(std::string(z));
    }
  }
  if (listed.empty()) return absl::InvalidArgumentError("number_time_zones.tsv lists no prefix");
  // A NANP area code ("1" and three digits) takes the zones of the
  // exchanges it holds: its own zones answer only the exchanges not listed
  // apart, and new exchanges open in split area codes faster than the data
  // follows. Elsewhere the longest prefix is taken as it is (Australia's
  // 612 lists a few Lord Howe Island numbers: Sydney's are not held to
  // Lord Howe's hours for them).
  for (const auto& [prefix, zones] : listed) {
    std::set<std::string> all = zones;
    const bool area_code = prefix.size() == 4 && prefix[0] == '1';
    for (auto it = listed.upper_bound(prefix);
         area_code && it != listed.end() && absl::StartsWith(it->first, prefix); ++it) {
      all.insert(it->second.begin(), it->second.end());
    }
    r->number_zones_[prefix].assign(all.begin(), all.end());
    r->longest_number_prefix_ = std::max(r->longest_number_prefix_, prefix.size());
  }
  return std::shared_ptr<const ZoneResolver>(std::move(r));
}

const std::vector<std::string>* ZoneResolver::NumberZones(absl::string_view e164) const {
  absl::ConsumePrefix(&e164, "+");
  for (size_t n = std::min(e164.size(), longest_number_prefix_); n > 0; --n) {
    auto it = number_zones_.find(e164.substr(0, n));
    if (it != number_zones_.end()) return &it->second;
  }
  return nullptr;
}

const std::vector<std::string>* ZoneResolver::RegionZones(const std::string& country,
                                                          const std::string& region) const {
  auto it = region_zones_.find({country, region});
  return it == region_zones_.end() ? nullptr : &it->second;
}

std::string ZoneResolver::NormalizeRegion(const std::string& country,
                                          const std::string& region) const {
  std::string up = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(region));
  if (up.empty()) return "";
  auto by_name = region_by_name_.find(up);
  std::string code = by_name != region_by_name_.end() ? by_name->second : up;
  auto c = country_of_region_.find(code);
  if (c == country_of_region_.end()) return "";
  if (!country.empty() && c->second != country) return "";
  return code;
}

const std::vector<std::string>* ZoneResolver::PostalRegions(const std::string& country,
                                                            const std::string& postal) const {
  absl::string_view p = absl::StripAsciiWhitespace(postal);
  if (p.empty()) return nullptr;
  int range = -1;
  if ((country.empty() || country == "US") && p.size() >= 5 &&
      std::all_of(p.begin(), p.begin() + 5, absl::ascii_isdigit)) {
    range = us_postal_[static_cast<size_t>((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'))];
  } else if ((country.empty() || country == "CA") && p.size() >= 6 && absl::ascii_isalpha(p[0])) {
    range = ca_postal_[static_cast<size_t>(absl::ascii_toupper(p[0]) - 'A')];
  }
  return range < 0 ? nullptr : &postal_ranges_[static_cast<size_t>(range)].regions;
}

absl::StatusOr<ZoneAnswer> ZoneResolver::Resolve(const LocationHints& hints) const {
  ZoneAnswer a;
  if (!hints.explicit_zone.empty()) {
    absl::TimeZone tz;
    if (hints.explicit_zone.size() > 64 || !absl::LoadTimeZone(hints.explicit_zone, &tz)) {
      return InvalidField("time_zone", "UNKNOWN_TIME_ZONE",
                          absl::StrCat("\"", hints.explicit_zone.substr(0, 64),
                                       "\" is not an IANA time zone"));
    }
    a.zones = {hints.explicit_zone};
    a.source = ZoneSource::kExplicit;
    return a;
  }
  std::string country = absl::AsciiStrToUpper(hints.country);
  std::set<std::string> zones;
  auto add_region = [&](const std::string& cc, const std::string& region) {
    const auto* z = RegionZones(cc, region);
    if (z != nullptr) zones.insert(z->begin(), z->end());
  };
  // Postal code (country given, or tried against every table).
  if (const auto* regions = PostalRegions(country, hints.postal_code)) {
    for (const auto& region : *regions) {
      auto c = country_of_region_.find(region);
      if (c != country_of_region_.end()) add_region(c->second, region);
    }
  }
  if (!zones.empty()) {
    a.source = ZoneSource::kPostalCode;
  } else if (std::string region = NormalizeRegion(country, hints.region); !region.empty()) {
    add_region(country_of_region_.at(region), region);
    a.source = ZoneSource::kRegion;
  }
  if (zones.empty()) {
    for (const LocationHints::Phone& phone : hints.phones) {
      if (const auto* z = NumberZones(phone.e164)) {
        zones.insert(z->begin(), z->end());
        continue;
      }
      const std::string& cc = phone.region_code;
      std::string region = NormalizeRegion("", phone.nanp_region);
      if (!region.empty()) {
        add_region(country_of_region_.at(region), region);
      } else {
        auto it = country_zones_.find(cc);
        if (it != country_zones_.end()) zones.insert(it->second.begin(), it->second.end());
      }
    }
    if (!zones.empty()) a.source = ZoneSource::kPhoneNumber;
  }
  if (zones.empty() && !country.empty()) {
    auto it = country_zones_.find(country);
    if (it != country_zones_.end()) {
      zones.insert(it->second.begin(), it->second.end());
      a.source = ZoneSource::kCountry;
    }
  }
  a.zones.assign(zones.begin(), zones.end());
  return a;
}

type::v1::TimeZoneSource ToProtoSource(ZoneSource s) {
  switch (s) {
    case ZoneSource::kExplicit: return type::v1::TIME_ZONE_SOURCE_EXPLICIT;
    case ZoneSource::kPostalCode: return type::v1::TIME_ZONE_SOURCE_POSTAL_CODE;
    case ZoneSource::kRegion: return type::v1::TIME_ZONE_SOURCE_REGION;
    case ZoneSource::kPhoneNumber: return type::v1::TIME_ZONE_SOURCE_PHONE_NUMBER;
    case ZoneSource::kCountry: return type::v1::TIME_ZONE_SOURCE_COUNTRY;
    default: return type::v1::TIME_ZONE_SOURCE_UNSPECIFIED;
  }
}

}  // namespace dialgrid::geo
