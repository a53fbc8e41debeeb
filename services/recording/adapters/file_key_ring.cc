#include "services/recording/adapters/file_key_ring.h"

#include <dirent.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"

namespace dialgrid::recording {
namespace {

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

absl::Status Missing(absl::string_view what) {
  return FailedPrecondition("KEK_MISSING", absl::StrCat("no key-encryption key ", what,
                                                        " is configured for the tenant"));
}

}  // namespace

absl::StatusOr<SecretKey> FileKeyRing::Get(absl::string_view tenant, absl::string_view id) {
  if (!ValidKeyId(id)) return Missing(id);
  auto text = ReadFileToString(absl::StrCat(dir_, "/", tenant, ".", id, ".key"));
  if (!text.ok()) return Missing(id);
  absl::string_view hex = absl::StripAsciiWhitespace(*text);
  bool is_hex = hex.size() == 2 * kKeyBytes;
  for (char c : hex) is_hex = is_hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  if (!is_hex) {
    return FailedPrecondition("KEK_MALFORMED",
                              absl::StrCat("the tenant's key ", id, " is not 64 hex digits"));
  }
  std::string bytes = absl::HexStringToBytes(hex);
  auto key = SecretKey::FromBytes(bytes);
  std::fill(bytes.begin(), bytes.end(), '\0');
  return key;
}

absl::StatusOr<Kek> FileKeyRing::Current(absl::string_view tenant) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_.c_str()), &::closedir);
  if (!d) return Missing("(the key directory cannot be read)");
  const std::string prefix = absl::StrCat(tenant, ".");
  std::string best;
  while (dirent* e = ::readdir(d.get())) {
    absl::string_view name = e->d_name;
    if (!absl::ConsumePrefix(&name, prefix) || !absl::ConsumeSuffix(&name, ".key")) continue;
    if (ValidKeyId(name) && std::string(name) > best) best = std::string(name);
  }
  if (best.empty()) return Missing("");
  auto key = Get(tenant, best);
  if (!key.ok()) return key.status();
  return Kek{best, *std::move(key)};
}

}  // namespace dialgrid::recording
