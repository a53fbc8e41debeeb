#include "services/contacts/domain/time_zones.h"

#include <gtest/gtest.h>

#include "services/common/core/errors.h"
#include "services/contacts/domain/phone_numbers.h"

namespace dialgrid::contacts {
namespace {

class ZoneResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Load() checks every zone in the tables against the system tzdata.
    auto r = ZoneResolver::Load(DIALGRID_CONTACTS_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
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
  auto n = NormalizePhone("(415) 555-0100", "US");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->number.e164(), "+14155550100");
  EXPECT_EQ(n->number.region_code(), "US");
  EXPECT_EQ(n->nanp_region, "CA");  // "San Francisco, CA"
  auto uk = NormalizePhone("+44 20 7946 0958", "");
  ASSERT_TRUE(uk.ok());
  EXPECT_EQ(uk->number.e164(), "+442079460958");
  EXPECT_EQ(uk->number.type(), type::v1::PHONE_NUMBER_TYPE_FIXED_LINE);
  auto mobile = NormalizePhone("+49 151 12345678", "");
  ASSERT_TRUE(mobile.ok());
  EXPECT_EQ(mobile->number.type(), type::v1::PHONE_NUMBER_TYPE_MOBILE);
  EXPECT_EQ(ReasonOf(NormalizePhone("not a number", "US").status()), "INVALID_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(NormalizePhone("12", "US").status()), "IMPOSSIBLE_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(NormalizePhone("4155550100", "").status()), "INVALID_PHONE_NUMBER");
  EXPECT_EQ(ReasonOf(NormalizePhone(std::string(50, '1'), "US").status()), "INVALID_PHONE_NUMBER");
}

}  // namespace
}  // namespace dialgrid::contacts
