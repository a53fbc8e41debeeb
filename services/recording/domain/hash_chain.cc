#include "services/recording/domain/hash_chain.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/recording/domain/vault_crypto.h"

namespace dialgrid::recording {
namespace {

std::string Clean(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

std::string ChainRecord(const ChainDraft& d, int64_t seq, absl::string_view prev) {
  std::string text = absl::StrCat("v1\t", seq, "\t", absl::ToUnixMillis(d.time), "\t", Clean(d.kind),
                                  "\t", Clean(d.recording), "\t", Clean(d.actor), "\t",
                                  Clean(d.detail), "\t", prev);
  std::string hash = Sha256Hex(text);
  return absl::StrCat(text, "\t", hash);
}

std::string HashOfRecord(absl::string_view record) {
  size_t tab = record.rfind('\t');
  return tab == absl::string_view::npos ? std::string() : std::string(record.substr(tab + 1));
}

absl::StatusOr<ChainEntry> ParseChainRecord(absl::string_view record) {
  std::vector<absl::string_view> f = absl::StrSplit(record, '\t');
  ChainEntry e;
  if (f.size() != 9 || f[0] != "v1" || !absl::SimpleAtoi(f[1], &e.seq) ||
      !absl::SimpleAtoi(f[2], &e.time_ms)) {
    return absl::DataLossError("a chain entry does not parse");
  }
  e.kind = std::string(f[3]);
  e.recording = std::string(f[4]);
  e.actor = std::string(f[5]);
  e.detail = std::string(f[6]);
  e.prev = std::string(f[7]);
  e.hash = std::string(f[8]);
  return e;
}

std::string DetailValue(absl::string_view detail, absl::string_view key) {
  for (absl::string_view kv : absl::StrSplit(detail, ' ', absl::SkipEmpty())) {
    size_t eq = kv.find('=');
    if (eq != absl::string_view::npos && kv.substr(0, eq) == key) {
      return std::string(kv.substr(eq + 1));
    }
  }
  return "";
}

ChainCheck CheckChain(const std::vector<std::string>& records, absl::string_view head_hash,
                      int64_t head_seq) {
  ChainCheck out;
  std::string prev = kChainGenesis;
  int64_t prev_seq = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const int64_t pos = static_cast<int64_t>(i) + 1;
    const std::string& r = records[i];
    auto e = ParseChainRecord(r);
    if (!e.ok()) {
      out.breaks.push_back({false, pos, "the entry does not parse"});
      prev = HashOfRecord(r);
      ++prev_seq;
      continue;
    }
    size_t tab = r.rfind('\t');
    if (Sha256Hex(absl::string_view(r).substr(0, tab)) != e->hash) {
      out.breaks.push_back({false, pos, absl::StrCat("entry ", e->seq, " was altered (its hash does not match its content)")});
    }
    if (e->seq != prev_seq + 1) {
      out.breaks.push_back({false, pos, absl::StrCat("entry ", e->seq, " follows entry ", prev_seq, ": entries ", prev_seq + 1, "..", e->seq - 1, " are missing")});
    } else if (e->prev != prev) {
      out.breaks.push_back({false, pos, absl::StrCat("entry ", e->seq, " does not link to the entry before it")});
    }
    prev = e->hash;
    prev_seq = e->seq;
    ChainFacts& f = out.recordings[e->recording];
    if (e->kind == kChainCreated) f.created_seq = e->seq;
    if (e->kind == kChainStored) {
      f.stored_seq = e->seq;
      f.stored_file_sha256 = DetailValue(e->detail, "file_sha256");
      f.stored_audio_sha256 = DetailValue(e->detail, "sha256");
    }
    if (e->kind == kChainDeleted) f.deleted_seq = e->seq;
  }
  if (records.empty() ? (!head_hash.empty() && head_hash != kChainGenesis) || head_seq != 0
                      : head_hash != prev || head_seq != prev_seq) {
    out.breaks.push_back({true, prev_seq,
                          absl::StrCat("the chain's head (entry ", head_seq,
                                       ") does not match its last entry (", prev_seq,
                                       "): entries at the end were removed or altered")});
  }
  return out;
}

}  // namespace dialgrid::recording
