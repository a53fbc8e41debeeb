#include "services/contacts/domain/contact_rules.h"

#include <gtest/gtest.h>

#include "services/common/core/errors.h"
#include "services/common/phone/phone_numbers.h"

namespace dialgrid::contacts {
namespace {

std::shared_ptr<const geo::ZoneResolver> Resolver() {
  static auto* r = new std::shared_ptr<const geo::ZoneResolver>(
      *geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab"));
  return *r;
}

RawContact Raw() {
  RawContact r;
  r.external_id = " crm-1 ";
  r.first_name = "Ann";
  r.last_name = "Lee";
  r.phones = {"(317) 555-0101", ""};
  r.attributes = {{"plan", "gold"}, {"empty", ""}};
  r.priority = "5";
  return r;
}

TEST(ContactRules, BuildNormalizesAndDerivesZones) {
  auto c = BuildContact(Raw(), "US", *Resolver());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->external_id(), "crm-1");
  ASSERT_EQ(c->phones_size(), 1);
  EXPECT_EQ(c->phones(0).number().e164(), "+13175550101");
  EXPECT_TRUE(c->phones(0).callable());
  EXPECT_EQ(c->country(), "US");
  EXPECT_EQ(c->priority(), 5);
  EXPECT_EQ(c->attributes().size(), 1u);  // empty values are dropped
  // Indiana straddles two zones, but Indianapolis' area code 317 does not:
  // the number's own zone (libphonenumber's time-zone mapper).
  EXPECT_EQ(c->time_zone(), "America/New_York");
  EXPECT_EQ(c->candidate_time_zones_size(), 1);
  EXPECT_EQ(c->time_zone_source(), type::v1::TIME_ZONE_SOURCE_PHONE_NUMBER);
  // 812 (southern Indiana) has exchanges in both: one the mapper does not
  // list is ambiguous, so no single time_zone.
  RawContact r = Raw();
  r.phones = {"(812) 555-0101"};
  c = BuildContact(r, "US", *Resolver());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->time_zone(), "");
  EXPECT_EQ(c->candidate_time_zones_size(), 2);
}

TEST(ContactRules, RejectionsCarryReasons) {
  RawContact r = Raw();
  r.phones = {"12"};
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "IMPOSSIBLE_PHONE_NUMBER");
  r = Raw();
  r.phones = {};
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "MISSING_PHONE_NUMBER");
  r = Raw();
  r.first_name = std::string(101, 'a');
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "FIELD_TOO_LONG");
  r = Raw();
  r.last_name = "bad \xff";
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "INVALID_UTF8");
  r = Raw();
  r.priority = "11";
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "INVALID_PRIORITY");
  r = Raw();
  r.country = "USA";
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "INVALID_COUNTRY");
  r = Raw();
  r.time_zone = "Nowhere/Zone";
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "UNKNOWN_TIME_ZONE");
}

// Regression: names, external ids and attributes took NUL and other control
// characters and text-direction overrides (only UTF-8 validity was checked).
TEST(ContactRules, TextFieldsRefuseControlAndDirectionCharacters) {
  struct Case {
    const char* field;
    std::string value;
  };
  const std::string rlo = "\xe2\x80\xae";
  const Case cases[] = {
      {"first_name", "Ann" + rlo + "evil"},
      {"last_name", std::string("Lee\0evil", 8)},
      {"external_id", "crm-\xe2\x81\xa6" "evil"},
      {"external_id", "crm-1\x7f"},
      {"first_name", "c1 \xc2\x85"},
      {"last_name", "lrm \xe2\x80\x8e"},
      {"region", "CA\tevil"},
  };
  for (const Case& tc : cases) {
    RawContact r = Raw();
    if (std::string(tc.field) == "first_name") r.first_name = tc.value;
    if (std::string(tc.field) == "last_name") r.last_name = tc.value;
    if (std::string(tc.field) == "external_id") r.external_id = tc.value;
    if (std::string(tc.field) == "region") r.region = tc.value;
    absl::Status st = BuildContact(r, "US", *Resolver()).status();
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << tc.field;
    EXPECT_EQ(ReasonOf(st), "INVALID_TEXT") << tc.field;
    EXPECT_EQ(FieldOf(st), tc.field);
    EXPECT_EQ(st.message().find("evil"), absl::string_view::npos) << st.message();
  }
  RawContact r = Raw();
  r.attributes = {{"plan" + rlo, "gold"}};
  absl::Status st = BuildContact(r, "US", *Resolver()).status();
  EXPECT_EQ(ReasonOf(st), "INVALID_TEXT");
  EXPECT_EQ(FieldOf(st), "attributes");  // the bad name is not echoed as a field
  r.attributes = {{"plan", std::string("gold\0evil", 9)}};
  st = BuildContact(r, "US", *Resolver()).status();
  EXPECT_EQ(ReasonOf(st), "INVALID_TEXT");
  EXPECT_EQ(FieldOf(st), "attributes.plan");
  r.attributes = {{"notes", "gold " + rlo + "evil"}};
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "INVALID_TEXT");
  // Attribute values are notes: tab and line breaks stay allowed there.
  r.attributes = {{"notes", "Lee, Jr.\nII\r\n\tend"}};
  EXPECT_TRUE(BuildContact(r, "US", *Resolver()).ok());
  // Invalid UTF-8 keeps its own reason.
  r = Raw();
  r.first_name = "bad \xff";
  EXPECT_EQ(ReasonOf(BuildContact(r, "US", *Resolver()).status()), "INVALID_UTF8");
  // Letters from any script, and joiners inside emoji, are fine.
  r = Raw();
  r.first_name = "Zo\xc3\xab \xd8\xb3\xd9\x84\xd9\x85\xd9\x89";
  r.last_name = "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb";
  EXPECT_TRUE(BuildContact(r, "US", *Resolver()).ok());
}

// Regression: the NANP fast path skips separators, so a 10-digit number
// padded far past the 40-character limit was accepted.
TEST(ContactRules, PhoneInputOverFortyCharactersIsRefused) {
  const std::string padded = "+1 212 201 0101" + std::string(200, ' ') + " ";
  for (const std::string& raw :
       {"+1" + std::string(27, ' ') + "212 201 0101", "+1 (212) 201-0101" + std::string(24, ')'),
        padded, std::string(41, '1'), "+44 20 7946 0958" + std::string(25, ' ')}) {
    ASSERT_GT(raw.size(), phone::kMaxPhoneInput);
    auto n = phone::NormalizePhone(raw, "US");
    EXPECT_EQ(ReasonOf(n.status()), "INVALID_PHONE_NUMBER") << raw;
    EXPECT_EQ(ReasonOf(phone::NormalizePhoneSlow(raw, "US").status()), "INVALID_PHONE_NUMBER") << raw;
    RawContact r = Raw();
    r.phones = {raw};
    absl::Status st = BuildContact(r, "US", *Resolver()).status();
    EXPECT_EQ(ReasonOf(st), "INVALID_PHONE_NUMBER") << raw;
    EXPECT_EQ(FieldOf(st), "phone");
  }
  // Exactly 40 characters is still a number.
  const std::string forty = "+1" + std::string(26, ' ') + "212 201 0101";
  ASSERT_EQ(forty.size(), phone::kMaxPhoneInput);
  auto n = phone::NormalizePhone(forty, "US");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->number.e164(), "+12122010101");
}

TEST(ContactRules, StoredFormRoundTripsAndIsCompact) {
  auto c = BuildContact(Raw(), "US", *Resolver());
  ASSERT_TRUE(c.ok());
  c->set_time_zone("America/Chicago");
  c->clear_candidate_time_zones();
  c->add_candidate_time_zones("America/Chicago");
  InitNewContact(*c, absl::FromUnixSeconds(1'800'000'000));
  std::string stored = ToStored(*c);
  auto back = FromStored(stored, "tenants/a/contactLists/l", 7);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->name(), "tenants/a/contactLists/l/contacts/c7");
  EXPECT_EQ(back->candidate_time_zones_size(), 1);  // restored
  EXPECT_EQ(back->status(), v1::CONTACT_STATUS_CALLABLE);
  EXPECT_EQ(back->etag(), EtagOf(stored));
  EXPECT_LT(stored.size(), 160u);
}

TEST(ContactRules, MergeKeepsLifecycle) {
  auto old = BuildContact(Raw(), "US", *Resolver());
  InitNewContact(*old, absl::FromUnixSeconds(1'800'000'000));
  old->set_attempts(3);
  old->set_status(v1::CONTACT_STATUS_COMPLETED);
  RawContact r = Raw();
  r.first_name = "Anne";
  auto fresh = BuildContact(r, "US", *Resolver());
  v1::Contact merged = MergeUpsert(*old, *fresh, absl::FromUnixSeconds(1'800'000'100));
  EXPECT_EQ(merged.first_name(), "Anne");
  EXPECT_EQ(merged.attempts(), 3);
  EXPECT_EQ(merged.status(), v1::CONTACT_STATUS_COMPLETED);
  EXPECT_EQ(merged.create_time().seconds(), 1'800'000'000);
  EXPECT_EQ(merged.update_time().seconds(), 1'800'000'100);
}

TEST(ContactRules, Filters) {
  auto f = ParseFilter("status = CALLABLE AND attributes.plan = \"gold\"");
  ASSERT_TRUE(f.ok()) << f.status();
  auto c = BuildContact(Raw(), "US", *Resolver());
  InitNewContact(*c, absl::Now());
  EXPECT_TRUE(f->Matches(*c));
  c->mutable_attributes()->at("plan") = "silver";
  EXPECT_FALSE(f->Matches(*c));
  auto p = ParseFilter("phone = \"+13175550101\"");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Matches(*c));
  EXPECT_EQ(ReasonOf(ParseFilter("colour = red").status()), "INVALID_FILTER");
  EXPECT_EQ(ReasonOf(ParseFilter("status = HAPPY").status()), "INVALID_FILTER");
  EXPECT_EQ(ReasonOf(ParseFilter("nonsense").status()), "INVALID_FILTER");
}

}  // namespace
}  // namespace dialgrid::contacts
