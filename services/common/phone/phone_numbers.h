#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/type/v1/phone_number.pb.h"

namespace dialgrid::phone {

struct NormalizedPhone {
  type::v1::PhoneNumber number;  // e164, type, region_code
  // For NANP numbers: the state/province the area code belongs to ("TX" or
  // a name such as "Florida"),
  // from libphonenumber's offline geocoder; "" when unknown (toll-free...).
  std::string nanp_region;
};

// The longest phone number input taken, in bytes, whitespace included.
inline constexpr size_t kMaxPhoneInput = 40;

// Parses a number as written (E.164, national with `default_country`, with
// spaces, dashes, dots or parentheses; starting with a digit, '+' or '(')
// with libphonenumber. INVALID_ARGUMENT with reason INVALID_PHONE_NUMBER
// (unparseable, empty, longer than kMaxPhoneInput, or starting with anything
// else) or IMPOSSIBLE_PHONE_NUMBER (parses but no such number can
// exist in its region). Thread-safe.
// NANP numbers take a cached fast path keyed by their NPA-NXX prefix.
absl::StatusOr<NormalizedPhone> NormalizePhone(absl::string_view raw,
                                               absl::string_view default_country);
// Always libphonenumber (the reference the fast path is tested against).
absl::StatusOr<NormalizedPhone> NormalizePhoneSlow(absl::string_view raw,
                                                   absl::string_view default_country);

}  // namespace dialgrid::phone
