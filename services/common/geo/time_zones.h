#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/type/v1/time_zone_source.pb.h"

namespace dialgrid::geo {

// What a contact says about where it is.
struct LocationHints {
  std::string explicit_zone;  // IANA zone given by the source
  std::string postal_code;
  std::string region;   // state / province code or name
  std::string country;  // ISO alpha-2
  // The contact's phone numbers.
  struct Phone {
    std::string e164;         // "+13055550100"; "" when not known
    std::string region_code;  // ISO region of the number
    // For NANP: its area code's state (code or English name, e.g. "TX" or
    // "Florida"); "" when unknown.
    std::string nanp_region;
  };
  std::vector<Phone> phones;
};

enum class ZoneSource { kUnknown, kExplicit, kPostalCode, kRegion, kPhoneNumber, kCountry };

// The API's name for a source.
type::v1::TimeZoneSource ToProtoSource(ZoneSource s);

struct ZoneAnswer {
  std::vector<std::string> zones;  // sorted, unique; >1 means ambiguous
  ZoneSource source = ZoneSource::kUnknown;
};

// Derives a contact's candidate IANA zones: explicit zone, else postal code,
// else region, else its phone numbers, else its country. A number's zones
// are its own prefix's (libphonenumber's time-zone mapper: the area code, and
// for NANP the exchanges it lists apart, e.g. Pensacola's 850-433 Central in
// an Eastern area code). An exchange the mapper does not list, in a NANP
// area code whose listed exchanges lie in other zones, gets all of them (the
// restrictive reading: the data may predate the exchange). A number the
// mapper knows no more of than its country: its NANP area code's state's
// zones, else its country's (the system tzdata's zone.tab).
// Tables are data files (services/common/geo/data) with their sources named.
class ZoneResolver {
 public:
  // Loads region_time_zones.tsv, postal_code_regions.tsv and
  // number_time_zones.tsv (generated at build time, see
  // generate_number_zones.py) from `data_dir` and `zone_tab` (e.g.
  // /usr/share/zoneinfo/zone.tab); every zone named must load with Abseil
  // over the system tzdata.
  static absl::StatusOr<std::shared_ptr<const ZoneResolver>> Load(const std::string& data_dir,
                                                                  const std::string& zone_tab);
  // INVALID_ARGUMENT (UNKNOWN_TIME_ZONE) for an explicit zone that does not exist.
  absl::StatusOr<ZoneAnswer> Resolve(const LocationHints& hints) const;

  // Zones of a region ("US","TX"), empty when unknown.
  const std::vector<std::string>* RegionZones(const std::string& country,
                                              const std::string& region) const;
  size_t region_count() const { return region_zones_.size(); }
  // The zones of an E.164 number by its longest listed prefix (a NANP area
  // code's with those of its listed exchanges, see above); nullptr when
  // no prefix longer than its country calling code is listed.
  const std::vector<std::string>* NumberZones(absl::string_view e164) const;
  // A region's code ("FL") from its code or English name ("Florida"),
  // within `country` when given; "" when unknown.
  std::string NormalizeRegion(const std::string& country, const std::string& region) const;

 private:
  // Regions of a postal code (nullptr when none), through the lookup
  // tables built by Load from postal_ranges_.
  const std::vector<std::string>* PostalRegions(const std::string& country,
                                                const std::string& postal) const;

  std::map<std::pair<std::string, std::string>, std::vector<std::string>> region_zones_;
  std::map<std::string, std::string> region_by_name_;  // upper-case name -> code
  std::map<std::string, std::string> country_of_region_;  // code -> country
  struct PostalRange {
    std::string country, from, to;
    std::vector<std::string> regions;
  };
  std::vector<PostalRange> postal_ranges_;
  // The first range (in file order) holding each possible key: a ZIP code's
  // first three digits 000-999, a Canadian code's first letter A-Z; -1 none.
  std::vector<int> us_postal_, ca_postal_;
  std::map<std::string, std::vector<std::string>> country_zones_;
  // number_time_zones.tsv: prefix (digits, no '+') -> zones, each already
  // joined with its listed longer prefixes' zones.
  absl::flat_hash_map<std::string, std::vector<std::string>> number_zones_;
  size_t longest_number_prefix_ = 0;
};

}  // namespace dialgrid::geo
