#include "services/common/geo/time_zones.h"

#include <gtest/gtest.h>

#include <cstdio>
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
  h.phone_regions = {{"US", "Florida"}};
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

TEST_F(ZoneResolverTest, OtherCountriesComeFromZoneTab) {
  LocationHints h;
  h.phone_regions = {{"GB", ""}};
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
