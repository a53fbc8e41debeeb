#include "services/contacts/domain/phone_numbers.h"

#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/phonenumberutil.h>

#include <mutex>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::contacts {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

type::v1::PhoneNumberType ToType(PhoneNumberUtil::PhoneNumberType t) {
  switch (t) {
    case PhoneNumberUtil::FIXED_LINE: return type::v1::PHONE_NUMBER_TYPE_FIXED_LINE;
    case PhoneNumberUtil::MOBILE: return type::v1::PHONE_NUMBER_TYPE_MOBILE;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: return type::v1::PHONE_NUMBER_TYPE_FIXED_LINE_OR_MOBILE;
    case PhoneNumberUtil::TOLL_FREE: return type::v1::PHONE_NUMBER_TYPE_TOLL_FREE;
    case PhoneNumberUtil::PREMIUM_RATE: return type::v1::PHONE_NUMBER_TYPE_PREMIUM_RATE;
    case PhoneNumberUtil::VOIP: return type::v1::PHONE_NUMBER_TYPE_VOIP;
    case PhoneNumberUtil::UNKNOWN: return type::v1::PHONE_NUMBER_TYPE_UNSPECIFIED;
    default: return type::v1::PHONE_NUMBER_TYPE_OTHER;
  }
}

// NANP area code -> region code, from the offline geocoder's English
// description ("Florida" or "San Francisco, CA"). Cached: ~400 area codes.
std::string NanpRegion(const PhoneNumber& number, absl::string_view e164) {
  static std::mutex mu;
  static auto* cache = new std::unordered_map<std::string, std::string>();
  static auto* geocoder = new i18n::phonenumbers::PhoneNumberOfflineGeocoder();
  std::string npa(e164.substr(0, 5));  // "+1NPA"
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(npa);
  if (it != cache->end()) return it->second;
  std::string desc = geocoder->GetDescriptionForNumber(number, icu::Locale("en"));
  std::string region;
  size_t comma = desc.rfind(", ");
  if (comma != std::string::npos && desc.size() - comma == 4) {
    region = desc.substr(comma + 2);
  } else {
    region = desc;  // a region name such as "Florida"; ZoneResolver maps it
  }
  (*cache)[npa] = region;
  return region;
}

}  // namespace

absl::StatusOr<NormalizedPhone> NormalizePhone(absl::string_view raw,
                                               absl::string_view default_country) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(raw);
  if (trimmed.empty()) return InvalidField("phone", "INVALID_PHONE_NUMBER", "empty phone number");
  if (trimmed.size() > 40) {
    return InvalidField("phone", "INVALID_PHONE_NUMBER", "phone number longer than 40 characters");
  }
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  std::string region_in = absl::AsciiStrToUpper(default_country);
  if (region_in.empty()) region_in = "ZZ";  // unknown: needs a leading +
  auto err = util->Parse(std::string(trimmed), region_in, &number);
  if (err != PhoneNumberUtil::NO_PARSING_ERROR) {
    return InvalidField("phone", "INVALID_PHONE_NUMBER",
                        absl::StrCat("cannot parse \"", trimmed,
                                     "\" (E.164, or national with a country)"));
  }
  if (!util->IsValidNumber(number)) {
    return InvalidField("phone", "IMPOSSIBLE_PHONE_NUMBER",
                        absl::StrCat("\"", trimmed, "\" is not a number that can exist"));
  }
  NormalizedPhone out;
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  std::string region;
  util->GetRegionCodeForNumber(number, &region);
  out.number.set_e164(e164);
  out.number.set_region_code(region);
  out.number.set_type(ToType(util->GetNumberType(number)));
  if (number.country_code() == 1) out.nanp_region = NanpRegion(number, e164);
  return out;
}

}  // namespace dialgrid::contacts
