#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/contacts/application/contacts_context.h"
#include "services/contacts/domain/contact_rules.h"
#include "services/contacts/domain/csv_reader.h"
#include "services/contacts/domain/key_filter.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

// One ImportContacts stream: fed chunk by chunk, it parses, normalizes and
// commits rows in atomic batches, so memory stays bounded by one chunk plus
// one batch (and a fixed 2 MiB key filter when the list started empty)
// however large the file. Not thread-safe (one stream, one user).
class ImportSession {
 public:
  // ImportHeader.expected_rows is capped at this many rows: the indexes are
  // never sized for more on a client's word (about 625,000 buckets per index;
  // a list that grows past it keeps growing with its writes).
  static constexpr int64_t kMaxExpectedRows = 10'000'000;

  // Validates the header (list exists, mapping sane) and opens a session;
  // `ctx` must outlive it.
  static absl::StatusOr<std::unique_ptr<ImportSession>> Start(const ContactsContext& ctx,
                                                              const v1::ImportHeader& header);
  ~ImportSession();
  // Processes a chunk; errors end the import (what was committed stays,
  // and a resend with the same import id resumes after it).
  absl::Status Feed(absl::string_view chunk);
  // End of stream: the last rows, the report, the event.
  absl::StatusOr<v1::ImportReport> Finish();
  // A copy of the report so far (thread-safe).
  v1::ImportReport ReportSnapshot() const;

 private:
  struct Row {
    int64_t row;
    RawContact raw;
  };
  // A row ready to commit, in the form that inserts it as a new contact
  // (built while parsing; the committer only picks it up). An update reads
  // the row's data back from `fresh.bytes`.
  struct Ready {
    int64_t row;
    std::string key;
    ContactWrite fresh;
    bool explicit_next_callable = false;  // the row itself set next_callable_time
  };
  struct Batch {
    std::vector<Ready> rows;
    int64_t last_row = 0;
  };
  ImportSession(const ContactsContext& ctx, std::string tenant, std::string list,
                v1::ImportHeader header, int64_t already_committed, int64_t max_contacts);
  absl::Status OnRecord(CsvReader::Record& rec);
  absl::Status OnJsonLine(absl::string_view line, int64_t row);
  // Normalizes the pending rows and hands them to the committer thread, which
  // writes batch k while this thread parses batch k+1 (at most one batch
  // waits, so memory stays bounded).
  absl::Status Flush();
  Batch Prepare();
  absl::Status CommitBatch(Batch& batch);
  // Looks the batch's keys up: seq or 0 per row, and the list state seen.
  absl::Status Lookup(const std::vector<Ready>& rows, std::vector<int64_t>& seqs,
                      ListSnapshot& snapshot);
  // After an InsertNew made from a state own_keys_ covered (own_list_ held,
  // or a lookup saw the list empty): adds the inserted rows' keys and moves
  // own_snapshot_ to the state the insert left.
  void OwnInserted(const std::vector<ContactWrite>& inserts, const BatchResult& res);
  // Before the first batch: sizes the indexes for the header's
  // expected_rows (ContactStore::ReserveIndexes), capped.
  absl::Status SizeIndexes();
  void CommitLoop();
  // Waits until the committer has written everything handed to it.
  absl::Status Drain();
  void Reject(int64_t row, absl::string_view reason, absl::string_view message);

  const ContactsContext& ctx_;
  std::string tenant_, list_;
  v1::ImportHeader header_;
  int64_t already_committed_;
  int64_t max_contacts_;
  CsvReader csv_;
  std::string json_carry_;
  bool json_skip_ = false;
  bool header_seen_ = false;
  std::vector<int> phone_cols_;
  std::map<std::string, int> cols_;
  size_t column_count_ = 0;
  int64_t data_row_ = 0;
  std::vector<Row> pending_;
  absl::Status deferred_;  // an error raised inside the CSV sink
  mutable std::mutex mu_;  // guards report_ and the committer hand-off below
  std::condition_variable cv_;
  v1::ImportReport report_;
  std::optional<Batch> queued_;
  bool committing_ = false;
  bool stop_ = false;
  absl::Status commit_error_;
  std::thread committer_;
  bool sized_ = false;  // committer thread only: SizeIndexes ran
  // Committer thread only. While own_list_ is set, the list in state
  // own_snapshot_ holds only contacts this session inserted after seeing it
  // empty, and every key a lookup in it could match (external id, or every
  // phone number for the PHONE policy) is in own_keys_: a key the filter has
  // never seen cannot be in the list, so its lookup is skipped. Any other
  // writer moves the list's snapshot: the session's next InsertNew aborts or
  // its next lookup sees it, and the session goes back to full lookups (as it
  // does after updating contacts itself). After an abort (possibly only the
  // tenant's contact count moved, by an import into another list) the next
  // lookup reads the list's state again before skipping anything.
  bool own_list_ = false;
  bool own_recheck_ = false;
  std::string own_snapshot_;
  KeyFilter own_keys_;
};

}  // namespace dialgrid::contacts
