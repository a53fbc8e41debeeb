#include "services/common/tls/tls_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/core/files.h"
#include "services/common/core/log.h"

namespace dialgrid {
namespace {

namespace fs = std::filesystem;

struct PairInfo {
  absl::Time not_after;
  std::string subject;
};

// The certificate's key and `key_pem` are one pair, and both parse.
absl::StatusOr<PairInfo> CheckPair(const std::string& cert_pem, const std::string& key_pem) {
  auto bad = [](absl::string_view why) {
    return InvalidField("tls_cert_file", "TLS_PAIR_INVALID", why);
  };
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  if (cert == nullptr) return bad("the certificate file holds no PEM certificate");
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  if (key == nullptr) {
    X509_free(cert);
    return bad("the key file holds no PEM private key");
  }
  const bool match = X509_check_private_key(cert, key) == 1;
  PairInfo info;
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
    info.not_after = absl::FromTimeT(timegm(&tm));
  } else {
    info.not_after = absl::InfiniteFuture();
  }
  char subject[256] = {0};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject) - 1);
  info.subject = subject;
  EVP_PKEY_free(key);
  X509_free(cert);
  if (!match) return bad("the private key does not belong to the certificate");
  return info;
}

absl::Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  ::chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

}  // namespace

TlsFiles::TlsFiles(std::string component, std::string cert_file, std::string key_file)
    : component_(std::move(component)),
      cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)) {}

absl::StatusOr<std::unique_ptr<TlsFiles>> TlsFiles::Create(std::string component,
                                                           std::string cert_file,
                                                           std::string key_file,
                                                           absl::Duration interval) {
  auto cert = ReadFileToString(cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadFileToString(key_file);
  if (!key.ok()) return key.status();
  auto info = CheckPair(*cert, *key);
  if (!info.ok()) return info.status();
  std::unique_ptr<TlsFiles> files(
      new TlsFiles(std::move(component), std::move(cert_file), std::move(key_file)));
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/dialgrid-tls-XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a directory like ", templ));
  }
  files->dir_ = templ;
  {
    absl::MutexLock lock(&files->mu_);
    if (absl::Status st = files->Stage(*cert, *key); !st.ok()) return st;
    files->not_after_ = info->not_after;
  }
  if (interval > absl::ZeroDuration()) {
    TlsFiles* self = files.get();
    files->watcher_ = std::thread([self, interval] {
      absl::MutexLock lock(&self->stop_mu_);
      while (!self->stop_mu_.AwaitWithTimeout(absl::Condition(&self->stop_), interval)) {
        self->stop_mu_.Unlock();
        self->CheckNow();
        self->stop_mu_.Lock();
      }
    });
  }
  return files;
}

TlsFiles::~TlsFiles() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string TlsFiles::cert_path() const { return dir_ + "/current/tls.crt"; }
std::string TlsFiles::key_path() const { return dir_ + "/current/tls.key"; }

absl::Time TlsFiles::not_after() const {
  absl::MutexLock lock(const_cast<absl::Mutex*>(&mu_));
  return not_after_;
}

// Under mu_. A directory per pair, then `current` swapped to it atomically;
// the pair before is kept one more round for a reader still in it.
absl::Status TlsFiles::Stage(const std::string& cert, const std::string& key) {
  const int gen = ++generation_;
  const fs::path pair = fs::path(dir_) / absl::StrCat("pair.", gen);
  std::error_code ec;
  fs::create_directory(pair, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", pair.string()));
  if (absl::Status st = WriteFile(pair / "tls.key", key); !st.ok()) return st;
  if (absl::Status st = WriteFile(pair / "tls.crt", cert); !st.ok()) return st;
  const fs::path link = fs::path(dir_) / "current.tmp";
  fs::remove(link, ec);
  fs::create_directory_symlink(pair.filename(), link, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot link ", link.string()));
  fs::rename(link, fs::path(dir_) / "current", ec);
  if (ec) return absl::InternalError("cannot swap the staged TLS pair");
  fs::remove_all(fs::path(dir_) / absl::StrCat("pair.", gen - 2), ec);
  staged_cert_ = cert;
  staged_key_ = key;
  return absl::OkStatus();
}

void TlsFiles::CheckNow() {
  auto cert = ReadFileToString(cert_file_);
  auto key = ReadFileToString(key_file_);
  if (!cert.ok() || !key.ok()) return;  // mid-update or gone: the staged pair keeps serving
  absl::MutexLock lock(&mu_);
  if (*cert == staged_cert_ && *key == staged_key_) return;
  auto info = CheckPair(*cert, *key);
  if (!info.ok()) {
    const std::string seen = *cert + *key;
    if (seen != last_refused_) {  // once per content, not every interval
      last_refused_ = seen;
      refusals_.fetch_add(1);
      Log(LogLevel::kWarning, component_, "tls pair refused; the last good one keeps serving",
          {{"reason", ReasonOf(info.status())}, {"error", std::string(info.status().message())}});
    }
    return;
  }
  if (absl::Status st = Stage(*cert, *key); !st.ok()) {
    Log(LogLevel::kError, component_, "tls pair not staged", {{"error", st.ToString()}});
    return;
  }
  not_after_ = info->not_after;
  reloads_.fetch_add(1);
  Log(LogLevel::kInfo, component_, "tls certificate reloaded",
      {{"subject", info->subject}, {"not_after", absl::FormatTime(info->not_after)}});
}

}  // namespace dialgrid
