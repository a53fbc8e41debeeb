#pragma once

// KeyRing from a mounted directory (a Kubernetes Secret volume): one file a
// key, named "<tenant>.<key id>.key", holding the 32 key bytes as 64 hex
// digits (surrounding whitespace ignored). Key ids are 1-64 characters of
// [A-Za-z0-9_-]; a tenant's current key is its greatest id in byte order
// (name them so: "2026-01", "2026-07", ...). Files are read when a key is
// needed, so a rotated secret is picked up without a restart.

#include <string>

#include "services/recording/ports/key_ring.h"

namespace dialgrid::recording {

class FileKeyRing final : public KeyRing {
 public:
  explicit FileKeyRing(std::string dir) : dir_(std::move(dir)) {}
  absl::StatusOr<Kek> Current(absl::string_view tenant) override;
  absl::StatusOr<SecretKey> Get(absl::string_view tenant, absl::string_view id) override;

 private:
  std::string dir_;
};

}  // namespace dialgrid::recording
