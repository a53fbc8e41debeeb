#include "services/compliance/domain/registry_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"

namespace dialgrid::compliance {
namespace {

absl::Status Malformed(absl::string_view what) {
  return WithReason(absl::DataLossError(absl::StrCat("registry manifest: ", what)),
                    "REGISTRY_MANIFEST_MISMATCH");
}

absl::Status WriteError(absl::string_view what, const std::string& path) {
  return WithReason(absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path)),
                    "REGISTRY_MANIFEST_WRITE_FAILED");
}

}  // namespace

absl::Time StaleFrom(absl::CivilDay as_of, int max_age_days) {
  if (max_age_days <= 0) return absl::InfiniteFuture();
  return absl::FromCivil(as_of + max_age_days + 1, absl::UTCTimeZone());
}

absl::Time RegistryManifest::StaleFrom() const { return compliance::StaleFrom(as_of, max_age_days); }

std::string ManifestPath(const std::string& index_path) { return index_path + ".manifest"; }

absl::Time RegistrationBinds(absl::CivilDay listed, int grace_days) {
  return absl::FromCivil(listed, absl::FixedTimeZone(14 * 3600)) + absl::Hours(24) * grace_days;
}

std::string FormatRegistryManifest(const RegistryManifest& m) {
  return absl::StrCat(
      absl::StrFormat("as_of=%04d-%02d-%02d\nmax_age_days=%d\nindex_checksum=%016x\nnumbers=%d\n",
                      m.as_of.year(), m.as_of.month(), m.as_of.day(), m.max_age_days,
                      m.index_checksum, m.numbers),
      m.rules.empty() ? "" : absl::StrCat("rules=", m.rules, "\n"));
}

absl::StatusOr<RegistryManifest> ParseRegistryManifest(absl::string_view text) {
  RegistryManifest m;
  bool as_of = false, max_age = false, checksum = false, numbers = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "#")) continue;
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "as_of") {
      as_of = absl::ParseCivilTime(kv.second, &m.as_of);
      if (!as_of) return Malformed(absl::StrCat("as_of \"", kv.second, "\" is not YYYY-MM-DD"));
    } else if (kv.first == "max_age_days") {
      max_age = absl::SimpleAtoi(kv.second, &m.max_age_days) && m.max_age_days >= 0;
      if (!max_age) return Malformed(absl::StrCat("max_age_days \"", kv.second, "\""));
    } else if (kv.first == "index_checksum") {
      checksum = absl::SimpleHexAtoi(kv.second, &m.index_checksum);
      if (!checksum) return Malformed(absl::StrCat("index_checksum \"", kv.second, "\""));
    } else if (kv.first == "numbers") {
      numbers = absl::SimpleAtoi(kv.second, &m.numbers);
      if (!numbers) return Malformed(absl::StrCat("numbers \"", kv.second, "\""));
    } else if (kv.first == "rules") {
      m.rules = std::string(kv.second);
    }  // unknown keys: written by a newer builder, ignored
  }
  if (!as_of || !max_age || !checksum || !numbers) {
    return Malformed("as_of, max_age_days, index_checksum and numbers are required");
  }
  return m;
}

absl::Status WriteRegistryManifest(const std::string& index_path, const DncIndex& index,
                                   absl::CivilDay as_of, int max_age_days,
                                   const std::string& rules) {
  if (max_age_days < 0) {
    return InvalidField("max_age_days", "INVALID_MAX_AGE", "max_age_days is 0 (no limit) or more");
  }
  RegistryManifest m;
  m.as_of = as_of;
  m.max_age_days = max_age_days;
  m.rules = rules;
  m.index_checksum = index.checksum();
  m.numbers = index.size();
  const std::string text = FormatRegistryManifest(m);
  const std::string path = ManifestPath(index_path);
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return WriteError("open", tmp);
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  fsync(fd) == 0;
  const absl::Status st = ok ? absl::OkStatus() : WriteError("write", tmp);
  close(fd);
  if (!st.ok()) {
    unlink(tmp.c_str());
    return st;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const absl::Status err = WriteError("rename", tmp);
    unlink(tmp.c_str());
    return err;
  }
  return absl::OkStatus();
}

absl::StatusOr<RegistryManifest> ReadRegistryManifest(const std::string& index_path,
                                                      const DncIndex& index) {
  const std::string path = ManifestPath(index_path);
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    return WithReason(absl::NotFoundError(absl::StrCat(
                          "no manifest ", path, " beside the index (dialgrid-registry-build --as_of "
                          "writes it): the registry's date is unknown")),
                      "REGISTRY_MANIFEST_MISSING");
  }
  auto m = ParseRegistryManifest(*text);
  if (!m.ok()) return m.status();
  if (m->index_checksum != index.checksum() || m->numbers != index.size()) {
    return Malformed(absl::StrCat(path, " belongs to another index image (rebuilt without it?)"));
  }
  return m;
}

}  // namespace dialgrid::compliance
