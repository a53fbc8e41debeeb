#pragma once

// A jurisdiction as the rule tables and rule sets write it: an ISO 3166-1
// alpha-2 country ("US"), or a country and a subdivision code of 1-3 capital
// letters or digits ("US-CA", "AU-NSW").

#include "absl/strings/string_view.h"

namespace dialgrid::compliance {

inline bool ValidJurisdiction(absl::string_view j) {
  if (j.size() < 2 || j.size() > 6 || j.size() == 3) return false;
  for (size_t i = 0; i < j.size(); ++i) {
    const char c = j[i];
    const bool letter = c >= 'A' && c <= 'Z';
    const bool digit = c >= '0' && c <= '9';
    if (i < 2 ? !letter : i == 2 ? c != '-' : !(letter || digit)) return false;
  }
  return true;
}

}  // namespace dialgrid::compliance
