#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dialgrid {

// The TLS certificate and key of a gRPC port, followed while the process
// runs. gRPC's own file watcher (1.51) takes whatever the two files hold:
// a key that does not match its certificate (one file renewed, the other
// not yet) leaves the port with no working handshake until the files are
// fixed. So this class reads the operator's files, takes a pair only when
// the key matches the certificate, and stages it into a private directory
// (0700, under $TMPDIR or /tmp) the way the kubelet updates a Secret: a new
// directory per pair and an atomic symlink swap, so gRPC's watcher never
// reads half of one pair and half of another. A refused pair is logged and
// the last good one keeps serving.
class TlsFiles {
 public:
  // Fails (INVALID_ARGUMENT TLS_PAIR_INVALID / UNREADABLE_FILE) when the
  // files cannot be read or do not match at start. `interval` > 0 starts the
  // watcher thread.
  static absl::StatusOr<std::unique_ptr<TlsFiles>> Create(std::string component,
                                                          std::string cert_file,
                                                          std::string key_file,
                                                          absl::Duration interval);
  ~TlsFiles();

  // What gRPC reads: the staged pair (stable paths through the symlink).
  std::string cert_path() const;
  std::string key_path() const;
  // When the served certificate expires (for the expiry gauge).
  absl::Time not_after() const;
  // Pairs taken after the first one, and pairs refused.
  int reloads() const { return reloads_.load(); }
  int refusals() const { return refusals_.load(); }

  // One check of the operator's files (the watcher's step; tests call it).
  void CheckNow();

 private:
  TlsFiles(std::string component, std::string cert_file, std::string key_file);
  absl::Status Stage(const std::string& cert, const std::string& key);

  const std::string component_, cert_file_, key_file_;
  std::string dir_;  // the private staging directory
  absl::Mutex mu_;
  std::string staged_cert_, staged_key_;  // last pair taken
  std::string last_refused_;              // last refused content (logged once)
  int generation_ = 0;
  absl::Time not_after_ = absl::InfiniteFuture();
  std::atomic<int> reloads_{0}, refusals_{0};
  absl::Mutex stop_mu_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace dialgrid
