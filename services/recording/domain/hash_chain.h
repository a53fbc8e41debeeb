#pragma once

// The tenant's tamper-evident history of its recordings: a hash chain whose
// entries record a recording's creation, storage, every access, holds,
// releases, deletions and erasure requests. Each entry carries its sequence number (from 1)
// and the previous entry's hash; its own hash is SHA-256 over its text, so
// changing or removing an entry breaks every link after it, and the chain's
// head (the last hash, kept beside the chain) no longer matches when the
// last entries go.
//
// An entry's text (one line, tab-separated, fields without tabs/newlines):
//   v1 <seq> <unix ms> <kind> <recording id> <actor> <detail> <previous hash>
// and stored as "<text>\t<hash>".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dialgrid::recording {

// Entry kinds.
inline constexpr char kChainCreated[] = "created";
inline constexpr char kChainStored[] = "stored";
inline constexpr char kChainAccessed[] = "accessed";
inline constexpr char kChainHeld[] = "held";
inline constexpr char kChainReleased[] = "released";
inline constexpr char kChainDeleted[] = "deleted";
// An erasure request for a contact (recording empty; what it erased and kept).
inline constexpr char kChainErasure[] = "erasure";
// The hash before the first entry.
inline constexpr char kChainGenesis[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// What a write appends (the store fills in seq and the previous hash).
struct ChainDraft {
  std::string kind;
  std::string recording;  // id
  std::string actor;      // credential id, or "system"
  std::string detail;     // "key=value ..." (tabs and newlines become spaces)
  absl::Time time;
};

struct ChainEntry {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string kind, recording, actor, detail, prev, hash;
};

// The stored record of `draft` as entry `seq` after `prev`.
std::string ChainRecord(const ChainDraft& draft, int64_t seq, absl::string_view prev);
// The hash a record ends with.
std::string HashOfRecord(absl::string_view record);

// A parsed record; DATA_LOSS when it does not parse (a mangled entry).
absl::StatusOr<ChainEntry> ParseChainRecord(absl::string_view record);

// "k=v k2=v2" -> value of `key`, "" when absent.
std::string DetailValue(absl::string_view detail, absl::string_view key);

// What a chain says about one recording.
struct ChainFacts {
  int64_t created_seq = 0;   // 0: no creation entry
  int64_t stored_seq = 0;
  std::string stored_file_sha256;  // of the encrypted file
  std::string stored_audio_sha256;
  int64_t deleted_seq = 0;
};

// A break found in the chain.
struct ChainBreak {
  bool head = false;  // the head does not match the last entry
  int64_t entry = 0;  // the entry (1-based position) where it shows
  std::string detail;
};

// Checks `records` (oldest first) against each other and `head_hash` /
// `head_seq` (the head kept beside the chain), collecting the facts of every
// recording (from the entries that parse).
struct ChainCheck {
  std::vector<ChainBreak> breaks;
  std::map<std::string, ChainFacts> recordings;
};
ChainCheck CheckChain(const std::vector<std::string>& records, absl::string_view head_hash,
                      int64_t head_seq);

}  // namespace dialgrid::recording
