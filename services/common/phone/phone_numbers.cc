#include "services/common/phone/phone_numbers.h"

#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/phonenumberutil.h>

#include <mutex>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"

namespace dialgrid::phone {
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

// NANP fast path. libphonenumber takes ~25 us a number (regex matching);
// a million-row import cannot afford that. NANP metadata decides validity
// and type by the number's first six national digits (NPA + NXX) followed by
// any four digits, so the full answer for "+1NPANXX" is computed once with
// libphonenumber and reused for every number sharing that prefix. A test
// compares the fast path with libphonenumber over random numbers.
struct NanpPrefixAnswer {
  bool valid = false;
  std::string region;
  type::v1::PhoneNumberType type = type::v1::PHONE_NUMBER_TYPE_UNSPECIFIED;
  std::string nanp_region;
};

// Digits of a plainly written NANP number ("+1 (415) 555-0100",
// "415.555.0100", "1-415-555-0100"), or "" when it is anything else
// (extensions, letters, other countries), which takes the full path.
std::string NanpDigits(absl::string_view s, bool nanp_default) {
  std::string d;
  bool plus = false;
  for (char ch : s) {
    if (ch >= '0' && ch <= '9') {
      d.push_back(ch);
      if (d.size() > 11) return "";
    } else if (ch == '+' && d.empty() && !plus) {
      plus = true;
    } else if (ch != ' ' && ch != '-' && ch != '.' && ch != '(' && ch != ')') {
      return "";
    }
  }
  if (d.size() == 11 && d[0] == '1') return d.substr(1);
  if (d.size() == 10 && !plus && nanp_default) return d;
  return "";
}

// A number as written starts with a digit, '+' or '(' (after spaces):
// libphonenumber would skip anything before the first digit, reading
// "-14155550123" or "x+14155550123" as a number the caller did not write.
absl::Status CheckFirstCharacter(absl::string_view raw) {
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(raw);
  if (trimmed.empty() || absl::ascii_isdigit(static_cast<unsigned char>(trimmed[0])) ||
      trimmed[0] == '+' || trimmed[0] == '(') {
    return absl::OkStatus();
  }
  return InvalidField("phone", "INVALID_PHONE_NUMBER",
                      "a phone number starts with a digit, '+' or '('");
}

absl::Status PhoneTooLong() {
  return InvalidField("phone", "INVALID_PHONE_NUMBER",
                      absl::StrCat("phone number longer than ", kMaxPhoneInput, " characters"));
}

bool IsNanpRegion(absl::string_view region) {
  static const char* kNanp[] = {"US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO",
                                "GD", "GU", "JM", "KN", "KY", "LC", "MP", "MS", "PR", "SX",
                                "TC", "TT", "VC", "VG", "VI"};
  for (const char* r : kNanp) {
    if (region == r) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<NormalizedPhone> NormalizePhoneSlow(absl::string_view raw,
                                                   absl::string_view default_country);

absl::StatusOr<NormalizedPhone> NormalizePhone(absl::string_view raw,
                                               absl::string_view default_country) {
  // Before the fast path, which skips any number of separators.
  if (raw.size() > kMaxPhoneInput) return PhoneTooLong();
  if (absl::Status st = CheckFirstCharacter(raw); !st.ok()) return st;
  std::string region_in = absl::AsciiStrToUpper(default_country);
  std::string national = NanpDigits(raw, IsNanpRegion(region_in));
  if (national.size() != 10) return NormalizePhoneSlow(raw, default_country);
  std::string prefix = national.substr(0, 6);
  static std::mutex mu;
  static auto* cache = new std::unordered_map<std::string, NanpPrefixAnswer>();
  NanpPrefixAnswer answer;
  bool hit = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(prefix);
    if (it != cache->end()) {
      answer = it->second;
      hit = true;
    }
  }
  if (!hit) {
    auto full = NormalizePhoneSlow(absl::StrCat("+1", national), "");
    answer.valid = full.ok();
    if (full.ok()) {
      answer.region = full->number.region_code();
      answer.type = full->number.type();
      answer.nanp_region = full->nanp_region;
    }
    std::lock_guard<std::mutex> lock(mu);
    (*cache)[prefix] = answer;
  }
  if (!answer.valid) return NormalizePhoneSlow(raw, default_country);  // the precise error
  NormalizedPhone out;
  out.number.set_e164(absl::StrCat("+1", national));
  out.number.set_region_code(answer.region);
  out.number.set_type(answer.type);
  out.nanp_region = answer.nanp_region;
  return out;
}

absl::StatusOr<NormalizedPhone> NormalizePhoneSlow(absl::string_view raw,
                                                   absl::string_view default_country) {
  if (raw.size() > kMaxPhoneInput) return PhoneTooLong();
  if (absl::Status st = CheckFirstCharacter(raw); !st.ok()) return st;
  absl::string_view trimmed = absl::StripAsciiWhitespace(raw);
  if (trimmed.empty()) return InvalidField("phone", "INVALID_PHONE_NUMBER", "empty phone number");
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

}  // namespace dialgrid::phone
