#include "services/common/geo/time_zones.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <random>

#include "absl/strings/str_format.h"

#include "services/common/core/errors.h"
#include "services/common/phone/phone_numbers.h"

namespace dialgrid::geo {
namespace {

class ZoneResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Load() checks every zone in the tables against the system tzdata.
    auto r = ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
    ASSERT_TRUE(r.ok()) << r.status();
    resolver_ = new std::shared_ptr<const ZoneResolver>(*r);
  }
  const ZoneResolver& z() { return **resolver_; }
  static std::shared_ptr<const ZoneResolver>* resolver_;
};
std::shared_ptr<const ZoneResolver>* ZoneResolverTest::resolver_ = nullptr;

TEST_F(ZoneResolverTest, EveryUsStateAndCanadianProvinceHasZones) {
  EXPECT_GE(z().region_count(), 56u + 13u);
}

TEST_F(ZoneResolverTest, ExplicitZoneWins) {
  LocationHints h;
  h.explicit_zone = "America/Denver";
  h.postal_code = "94105";
  auto a = z().Resolve(h);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->zones, std::vector<std::string>{"America/Denver"});
  EXPECT_EQ(a->source, ZoneSource::kExplicit);
  h.explicit_zone = "Mars/Base";
  EXPECT_EQ(ReasonOf(z().Resolve(h).status()), "UNKNOWN_TIME_ZONE");
}

TEST_F(ZoneResolverTest, PostalCodeThenRegionThenPhone) {
  LocationHints h;
  h.postal_code = "94105-1234";
  h.region = "TX";  // ignored: the postal code is more precise
  h.country = "US";
  auto a = z().Resolve(h);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->zones, std::vector<std::string>{"America/Los_Angeles"});
  EXPECT_EQ(a->source, ZoneSource::kPostalCode);

  h.postal_code = "";
  a = z().Resolve(h);
  EXPECT_EQ(a->zones, (std::vector<std::string>{"America/Chicago", "America/Denver"}));
  EXPECT_EQ(a->source, ZoneSource::kRegion);
  h.region = "Texas";  // full names work too
  EXPECT_EQ(z().Resolve(h)->source, ZoneSource::kRegion);

  h.region = "";
  h.phones = {{"", "US", "Florida"}};  // no number: the state's zones
  a = z().Resolve(h);
  EXPECT_EQ(a->zones, (std::vector<std::string>{"America/Chicago", "America/New_York"}));
  EXPECT_EQ(a->source, ZoneSource::kPhoneNumber);

  // Canada by the postal code's first letter.
  LocationHints ca;
  ca.postal_code = "M5V 2T6";
  ca.country = "CA";
  a = z().Resolve(ca);
  EXPECT_EQ(a->zones, (std::vector<std::string>{"America/Atikokan", "America/Toronto",
                                                 "America/Winnipeg"}));
}

// The postal tables are indexed once at load (time_zones.cc): the forms a
// code must have, the country filter and lower case still apply.
TEST_F(ZoneResolverTest, PostalCodeForms) {
  LocationHints h;
  h.postal_code = " m5v 2t6 ";  // no country: any table, case-insensitive
  auto a = z().Resolve(h);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->source, ZoneSource::kPostalCode);
  EXPECT_EQ(a->zones, (std::vector<std::string>{"America/Atikokan", "America/Toronto",
                                                 "America/Winnipeg"}));
  h.postal_code = "10001";
  a = z().Resolve(h);
  EXPECT_EQ(a->source, ZoneSource::kPostalCode);
  EXPECT_EQ(a->zones, std::vector<std::string>{"America/New_York"});

  LocationHints wrong_country;  // a ZIP code with country CA is not looked up
  wrong_country.postal_code = "10001";
  wrong_country.country = "CA";
  EXPECT_NE(z().Resolve(wrong_country)->source, ZoneSource::kPostalCode);

  LocationHints short_zip;  // four digits are no ZIP code: the region decides
  short_zip.postal_code = "1000";
  short_zip.region = "TX";
  short_zip.country = "US";
  EXPECT_EQ(z().Resolve(short_zip)->source, ZoneSource::kRegion);

  LocationHints short_ca;  // a Canadian code needs six characters
  short_ca.postal_code = "M5V";
  short_ca.country = "CA";
  EXPECT_NE(z().Resolve(short_ca)->source, ZoneSource::kPostalCode);
}

// A number's zones are its own area code's (libphonenumber's time-zone
// mapper), not every zone of its state: a Miami number is not also in
// Chicago, a Toronto number not also in Winnipeg (issue 21).
TEST_F(ZoneResolverTest, ANumberIsInItsOwnAreaCodesZonesNotItsStates) {
  auto zones_of = [&](const std::string& raw) {
    auto n = phone::NormalizePhone(raw, "");
    EXPECT_TRUE(n.ok()) << raw << ": " << n.status();
    LocationHints h;
    h.phones = {{n->number.e164(), n->number.region_code(), n->nanp_region}};
    auto a = z().Resolve(h);
    EXPECT_TRUE(a.ok()) << raw;
    EXPECT_EQ(a->source, ZoneSource::kPhoneNumber) << raw;
    return a->zones;
  };
  using Zones = std::vector<std::string>;
  EXPECT_EQ(zones_of("+1 305 555 0100"), Zones{"America/New_York"});  // Miami, FL
  EXPECT_EQ(zones_of("+1 416 555 0100"), Zones{"America/Toronto"});   // Toronto, ON
  // Without the number, the state's zones (both of Florida's).
  LocationHints state_only;
  state_only.phones = {{"", "US", "FL"}};
  EXPECT_EQ(z().Resolve(state_only)->zones, (Zones{"America/Chicago", "America/New_York"}));

  // Exchange level: the mapper lists 850-200 (Florida's panhandle) as
  // Central in an area code it otherwise gives Eastern; an exchange it does
  // not list there gets both (its data may predate the exchange).
  EXPECT_EQ(*z().NumberZones("+18502001234"), Zones{"America/Chicago"});
  EXPECT_EQ(*z().NumberZones("+18505550100"), (Zones{"America/Chicago", "America/New_York"}));
  // Outside NANP the longest prefix as it is: a Sydney number is Sydney's
  // only (612 lists some Lord Howe Island numbers apart), not every
  // Australian zone; 6189 is Perth's or Adelaide's, as the mapper says.
  EXPECT_EQ(zones_of("+61 2 9374 4000"), Zones{"Australia/Sydney"});
  EXPECT_EQ(*z().NumberZones("+61265080123"), Zones{"Australia/Lord_Howe"});
  EXPECT_EQ(zones_of("+61 8 9226 5000"), (Zones{"Australia/Adelaide", "Australia/Perth"}));
  // A country code alone says no more than the country: not listed.
  EXPECT_EQ(z().NumberZones("+1"), nullptr);
  EXPECT_EQ(z().NumberZones(""), nullptr);

  // Every US state, DC and Canadian province or territory, once: its main
  // area code's zones and the region the number's rules are looked up by.
  struct Case {
    const char* region;
    const char* number;
    Zones zones;
  };
  const std::vector<Case> cases = {
      {"AL", "+12052345678", {"America/Chicago"}},
      {"AK", "+19072345678", {"America/Adak", "America/Anchorage", "America/Juneau", "Pacific/Honolulu"}},
      {"AZ", "+16022345678", {"America/Denver", "America/Phoenix"}},  // the Navajo Nation keeps DST
      {"AR", "+15012345678", {"America/Chicago"}},
      {"CA", "+12132345678", {"America/Los_Angeles"}},
      {"CO", "+13032345678", {"America/Denver"}},
      {"CT", "+12032345678", {"America/New_York"}},
      {"DE", "+13022345678", {"America/New_York"}},
      {"DC", "+12022345678", {"America/New_York"}},
      {"FL", "+13052345678", {"America/New_York"}},
      {"GA", "+14042345678", {"America/New_York"}},
      {"HI", "+18082345678", {"Pacific/Honolulu"}},
      {"ID", "+12082345678", {"America/Denver"}},
      {"IL", "+13122345678", {"America/Chicago"}},
      {"IN", "+13172345678", {"America/New_York"}},
      {"IA", "+15152345678", {"America/Chicago"}},
      {"KS", "+13162345678", {"America/Chicago"}},
      {"KY", "+15022345678", {"America/New_York"}},
      {"LA", "+15042345678", {"America/Chicago"}},
      {"ME", "+12072345678", {"America/New_York"}},
      {"MD", "+14102345678", {"America/New_York"}},
      {"MA", "+16172345678", {"America/New_York"}},
      {"MI", "+13132345678", {"America/New_York"}},
      {"MN", "+16122345678", {"America/Chicago"}},
      {"MS", "+16012345678", {"America/Chicago"}},
      {"MO", "+13142345678", {"America/Chicago"}},
      {"MT", "+14062345678", {"America/Denver"}},
      {"NE", "+14022345678", {"America/Chicago"}},
      {"NV", "+17022345678", {"America/Los_Angeles"}},
      {"NH", "+16032345678", {"America/New_York"}},
      {"NJ", "+12012345678", {"America/New_York"}},
      {"NM", "+15052345678", {"America/Denver"}},
      {"NY", "+12122345678", {"America/New_York"}},
      {"NC", "+19192345678", {"America/New_York"}},
      {"ND", "+17012345678", {"America/Chicago"}},
      {"OH", "+16142345678", {"America/New_York"}},
      {"OK", "+14052345678", {"America/Chicago"}},
      {"OR", "+15032345678", {"America/Los_Angeles"}},
      {"PA", "+12152345678", {"America/New_York"}},
      {"RI", "+14012345678", {"America/New_York"}},
      {"SC", "+18032345678", {"America/New_York"}},
      {"SD", "+16052345678", {"America/Chicago"}},
      {"TN", "+16152345678", {"America/Chicago"}},
      {"TX", "+12142345678", {"America/Chicago"}},
      {"UT", "+18012345678", {"America/Denver"}},
      {"VT", "+18022345678", {"America/New_York"}},
      {"VA", "+18042345678", {"America/New_York"}},
      {"WA", "+12062345678", {"America/Los_Angeles"}},
      {"WV", "+13042345678", {"America/New_York"}},
      {"WI", "+14142345678", {"America/Chicago"}},
      {"WY", "+13072345678", {"America/Denver"}},
      {"AB", "+14032345678", {"America/Edmonton"}},
      {"BC", "+16042345678", {"America/Vancouver"}},
      {"MB", "+12042345678", {"America/Winnipeg"}},
      {"NB", "+15062345678", {"America/Halifax"}},
      {"NL", "+17092345678", {"America/Halifax", "America/Puerto_Rico", "America/St_Johns"}},
      {"NS", "+19022345678", {"America/Halifax"}},  // and PE: one area code
      {"ON", "+14162345678", {"America/Toronto"}},
      {"QC", "+15142345678", {"America/Toronto"}},
      {"SK", "+13062345678", {"America/Regina"}},
      // NT, NU and YT share 867: every zone of the three.
      {"NT", "+18672345678",
       {"America/Edmonton", "America/Fort_Nelson", "America/Toronto", "America/Vancouver",
        "America/Winnipeg"}},
  };
  std::set<std::string> regions;
  for (const Case& c : cases) {
    EXPECT_EQ(zones_of(c.number), c.zones) << c.region << " " << c.number;
    auto n = phone::NormalizePhone(c.number, "");
    std::string region = z().NormalizeRegion("", n->nanp_region);
    // 902 and 867 are named for several provinces and territories at once.
    if (std::string(c.number).substr(0, 5) != "+1902" && std::string(c.number).substr(0, 5) != "+1867") {
      EXPECT_EQ(region, c.region) << c.number << " geocoded \"" << n->nanp_region << "\"";
    }
    regions.insert(c.region);
  }
  EXPECT_EQ(regions.size(), 50u + 1u + 10u);
}

TEST_F(ZoneResolverTest, ABadNumberZoneTableIsRefused) {
  char dir[] = "/tmp/zonesXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  for (const char* f : {"region_time_zones.tsv", "postal_code_regions.tsv"}) {
    std::ifstream in(std::string(DIALGRID_ZONE_DATA_DIR) + "/" + f);
    std::ofstream(d + "/" + f) << in.rdbuf();
  }
  auto load_with = [&](const std::string& table) {
    std::ofstream(d + "/number_time_zones.tsv") << table;
    return ZoneResolver::Load(d, "/usr/share/zoneinfo/zone.tab").status();
  };
  EXPECT_TRUE(load_with("# prefix\tzones\n1305\tAmerica/New_York\n").ok());
  absl::Status st = load_with("1305\tMars/Base\n");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Mars/Base"), std::string::npos) << st;
  st = load_with("13x5\tAmerica/New_York\n");
  EXPECT_NE(st.message().find("not a number prefix"), std::string::npos) << st;
  EXPECT_FALSE(load_with("# nothing\n").ok());
  std::remove((d + "/number_time_zones.tsv").c_str());
  EXPECT_EQ(ZoneResolver::Load(d, "/usr/share/zoneinfo/zone.tab").status().code(),
            absl::StatusCode::kNotFound);
  for (const char* f : {"region_time_zones.tsv", "postal_code_regions.tsv"}) {
    std::remove((d + "/" + f).c_str());
  }
  rmdir(dir);
}

TEST_F(ZoneResolverTest, OtherCountriesComeFromZoneTab) {
  LocationHints h;
  h.phones = {{"", "GB", ""}};
  auto a = z().Resolve(h);
  EXPECT_EQ(a->zones, std::vector<std::string>{"Europe/London"});
  LocationHints none;
  a = z().Resolve(none);
  EXPECT_TRUE(a->zones.empty());
  EXPECT_EQ(a->source, ZoneSource::kUnknown);
}

TEST(PhoneNumbers, NormalizeNationalAndInternational) {
  auto n = phone::NormalizePhone("(415) 555-0100", "US");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->number.e164(), "+14155550100");
  EXPECT_EQ(n->number.region_code(), "US");
  EXPECT_EQ(n->nanp_region, "CA");  // "San Francisco, CA"
  auto uk = phone::NormalizePhone("+44 20 7946 0958", "");
  ASSERT_TRUE(uk.ok());
  EXPECT_EQ(uk->number.e164(), "+442079460958");
  EXPECT_EQ(uk->number.type(), type::v1::PHONE_NUMBER_TYPE_FIXED_LINE);
  auto mobile = phone::NormalizePhone("+49 151 12345678", "");
  ASSERT_TRUE(mobile.ok());
  EXPECT_EQ(mobile->number.type(), type::v1::PHONE_NUMBER_TYPE_MOBILE);
  EXPECT_EQ(ReasonOf(phone::NormalizePhone("not a number", "US").status()), "INVALID_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(phone::NormalizePhone("12", "US").status()), "IMPOSSIBLE_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(phone::NormalizePhone("4155550100", "").status()), "INVALID_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(phone::NormalizePhone(std::string(50, '1'), "US").status()), "INVALID_PHONE_NUMBER");
}

}  // namespace
}  // namespace dialgrid::geo

namespace dialgrid::geo {
namespace {

// The NANP fast path must agree with libphonenumber on every number, valid
// or not, whatever the formatting.
// What libphonenumber would read past is refused, both paths alike (the
// black-box probe sent "-14155550123").
TEST(PhoneNumbers, ANumberStartsWithADigitAPlusOrAParenthesis) {
  for (const char* raw : {"-14155550123", "x+14155550123", ".4155550123", "tel:+14155550123",
                          "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6\xd9\xa7\xd9\xa8\xd9\xa9\xd9\xa0"}) {
    EXPECT_EQ(ReasonOf(phone::NormalizePhone(raw, "US").status()), "INVALID_PHONE_NUMBER") << raw;
    EXPECT_EQ(ReasonOf(phone::NormalizePhoneSlow(raw, "US").status()), "INVALID_PHONE_NUMBER") << raw;
  }
  for (const char* raw : {"  +1 415 555 0123", "(415) 555-0123", "415.555.0123", "1-415-555-0123"}) {
    auto n = phone::NormalizePhone(raw, "US");
    ASSERT_TRUE(n.ok()) << raw << ": " << n.status();
    EXPECT_EQ(n->number.e164(), "+14155550123") << raw;
  }
}

TEST(PhoneNumbers, FastPathAgreesWithLibphonenumber) {
  std::mt19937 rng(7);
  const char* formats[] = {"+1%s", "%s", "1-%s", "(%s"};
  int checked = 0, valid = 0;
  for (int i = 0; i < 20000; ++i) {
    char digits[16];
    std::snprintf(digits, sizeof(digits), "%03u%03u%04u", static_cast<unsigned>(200 + rng() % 800), static_cast<unsigned>(rng() % 1000),
                  static_cast<unsigned>(rng() % 10000));
    std::string national(digits);
    std::string raw = absl::StrFormat(formats[i % 4], i % 4 == 3 ? national.substr(0, 3) + ") " +
                                                                       national.substr(3)
                                                                 : national);
    auto fast = phone::NormalizePhone(raw, "US");
    auto slow = phone::NormalizePhoneSlow(raw, "US");
    ASSERT_EQ(fast.ok(), slow.ok()) << raw;
    ++checked;
    if (!fast.ok()) {
      EXPECT_EQ(ReasonOf(fast.status()), ReasonOf(slow.status())) << raw;
      continue;
    }
    ++valid;
    EXPECT_EQ(fast->number.e164(), slow->number.e164()) << raw;
    EXPECT_EQ(fast->number.region_code(), slow->number.region_code()) << raw;
    EXPECT_EQ(fast->number.type(), slow->number.type()) << raw;
    EXPECT_EQ(fast->nanp_region, slow->nanp_region) << raw;
  }
  EXPECT_EQ(checked, 20000);
  EXPECT_GT(valid, 1000);
}

}  // namespace
}  // namespace dialgrid::geo
