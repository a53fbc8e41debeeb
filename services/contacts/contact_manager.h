#pragma once

#include <functional>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dialgrid/contacts/v1/contacts.pb.h"
#include "services/common/core/clock.h"
#include "services/common/kafka/event_publisher.h"
#include "services/contacts/domain/contact_rules.h"
#include "services/contacts/domain/csv_reader.h"
#include "services/contacts/domain/key_filter.h"
#include "services/common/geo/time_zones.h"
#include "services/contacts/ports/contact_store.h"

namespace dialgrid::contacts {

inline constexpr char kContactsTopic[] = "contacts";

// The tenant's contact quota (Quota.max_contacts); -1 for "no quota".
using ContactQuota = std::function<absl::StatusOr<int64_t>(const std::string& tenant)>;

class ContactManager;

// One ImportContacts stream: fed chunk by chunk, it parses, normalizes and
// commits rows in atomic batches, so memory stays bounded by one chunk plus
// one batch (and a fixed 2 MiB key filter when the list started empty)
// however large the file. Not thread-safe (one stream, one user).
class ImportSession {
 public:
  ~ImportSession();
  // Processes a chunk; errors end the import (what was committed stays,
  // and a resend with the same import id resumes after it).
  absl::Status Feed(absl::string_view chunk);
  // End of stream: the last rows, the report, the event.
  absl::StatusOr<v1::ImportReport> Finish();
  // A copy of the report so far (thread-safe).
  v1::ImportReport ReportSnapshot() const;

 private:
  friend class ContactManager;
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
  ImportSession(ContactManager& manager, std::string tenant, std::string list,
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
  void CommitLoop();
  // Waits until the committer has written everything handed to it.
  absl::Status Drain();
  void Reject(int64_t row, absl::string_view reason, absl::string_view message);

  ContactManager& manager_;
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

// The contacts service's logic between the gRPC handlers (caller already
// authenticated, tenant checked) and the store.
class ContactManager {
 public:
  // Every change is stored with its event in one step (the store's outbox);
  // a relay publishes the events on the "contacts" topic.
  ContactManager(std::shared_ptr<ContactStore> store, std::shared_ptr<const geo::ZoneResolver> zones,
                 ContactQuota quota, const Clock& clock, std::string producer);

  absl::StatusOr<v1::ContactList> CreateContactList(const v1::CreateContactListRequest& req);
  absl::StatusOr<v1::ContactList> GetContactList(const v1::GetContactListRequest& req);
  absl::StatusOr<v1::ListContactListsResponse> ListContactLists(
      const v1::ListContactListsRequest& req);
  absl::StatusOr<v1::ContactList> UpdateContactList(const v1::UpdateContactListRequest& req);
  absl::StatusOr<v1::DeleteContactListResponse> DeleteContactList(
      const v1::DeleteContactListRequest& req);

  absl::StatusOr<v1::Contact> CreateContact(const v1::CreateContactRequest& req);
  absl::StatusOr<v1::Contact> GetContact(const v1::GetContactRequest& req);
  absl::StatusOr<v1::ListContactsResponse> ListContacts(const v1::ListContactsRequest& req);
  absl::StatusOr<v1::Contact> UpdateContact(const v1::UpdateContactRequest& req);
  absl::StatusOr<v1::DeleteContactResponse> DeleteContact(const v1::DeleteContactRequest& req);

  // Validates the header (list exists, mapping sane) and opens a session.
  absl::StatusOr<std::unique_ptr<ImportSession>> StartImport(const v1::ImportHeader& header);
  // Calls `emit` with CSV chunks of at most ~256 KiB; stops early when it
  // returns false (client gone).
  absl::Status Export(const v1::ExportContactsRequest& req,
                      const std::function<bool(std::string)>& emit);

  absl::StatusOr<v1::EraseContactDataResponse> EraseContactData(
      const v1::EraseContactDataRequest& req);
  absl::StatusOr<v1::LeaseContactsResponse> LeaseContacts(const v1::LeaseContactsRequest& req);
  absl::StatusOr<v1::Contact> ReportOutcome(const v1::ReportOutcomeRequest& req);

 private:
  friend class ImportSession;
  // The event of a change, as the store keeps it.
  event::v1::Envelope Event(const std::string& tenant, const std::string& subject,
                            const google::protobuf::Message& payload) const;
  absl::StatusOr<int64_t> MaxContacts(const std::string& tenant);
  // Loads one contact: (tenant, list, seq, stored bytes, contact).
  struct Loaded {
    std::string tenant, list, list_name;
    int64_t seq = 0;
    std::string bytes;
    v1::Contact contact;
  };
  absl::StatusOr<Loaded> Load(absl::string_view name);

  std::shared_ptr<ContactStore> store_;
  std::shared_ptr<const geo::ZoneResolver> zones_;
  ContactQuota quota_;
  const Clock& clock_;
  std::string producer_;
};

// A write that turns `before` (stored bytes, "" if new) into `after`.
ContactWrite MakeWrite(int64_t seq, const std::string& before_bytes, const v1::Contact* before,
                       const v1::Contact* after, const std::string& after_bytes);

}  // namespace dialgrid::contacts
