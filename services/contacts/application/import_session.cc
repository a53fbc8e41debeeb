#include "services/contacts/application/import_session.h"

#include <algorithm>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/contacts/application/contact_support.h"

namespace dialgrid::contacts {
namespace {

constexpr size_t kBatchRows = 2000;
constexpr int kMaxRejectionsKept = 100;

// A contact's raw fields through the column mapping; `get` returns the value
// of a column (CSV header name or JSON key).
RawContact MapRow(const v1::ColumnMapping& m,
                  const std::function<std::string(const std::string&)>& get) {
  RawContact raw;
  for (const auto& p : m.phones()) raw.phones.push_back(get(p));
  for (const auto& [attr, col] : m.attributes()) raw.attributes[attr] = get(col);
  raw.external_id = get(m.external_id());
  raw.first_name = get(m.first_name());
  raw.last_name = get(m.last_name());
  raw.time_zone = get(m.time_zone());
  raw.postal_code = get(m.postal_code());
  raw.region = get(m.region());
  raw.country = get(m.country());
  raw.priority = get(m.priority());
  return raw;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ImportSession>> ImportSession::Start(
    const ContactsContext& ctx, const v1::ImportHeader& header) {
  DG_ASSIGN_OR_RETURN(ListRef ref, ParseList("header.parent", header.parent()));
  DG_RETURN_IF_ERROR(ValidateResourceId("header.import_id", header.import_id()));
  const auto& m = header.mapping();
  if (m.phones().empty()) {
    return InvalidField("header.mapping.phones", "MISSING_PHONE_COLUMN",
                        "map at least one phone column");
  }
  if (header.duplicate_policy() != v1::DUPLICATE_POLICY_PHONE && m.external_id().empty()) {
    return InvalidField("header.mapping.external_id", "MISSING_EXTERNAL_ID_COLUMN",
                        "the external-id duplicate policy needs an external_id column");
  }
  if (m.phones_size() > kMaxPhones || m.attributes_size() > kMaxAttributes) {
    return InvalidField("header.mapping", "TOO_MANY_COLUMNS", "too many mapped columns");
  }
  std::string dc = absl::AsciiStrToUpper(header.default_country());
  if (!dc.empty() &&
      (dc.size() != 2 || !absl::ascii_isalpha(dc[0]) || !absl::ascii_isalpha(dc[1]))) {
    return InvalidField("header.default_country", "INVALID_COUNTRY", "ISO 3166-1 alpha-2");
  }
  DG_ASSIGN_OR_RETURN(v1::ContactList cl, ctx.store().GetList(ref.tenant, ref.list));
  (void)cl;
  DG_ASSIGN_OR_RETURN(int64_t committed,
                      ctx.store().ImportCommitted(ref.tenant, ref.list, header.import_id()));
  DG_ASSIGN_OR_RETURN(int64_t quota, ctx.MaxContacts(ref.tenant));
  return std::unique_ptr<ImportSession>(
      new ImportSession(ctx, ref.tenant, ref.list, header, committed, quota));
}

ImportSession::ImportSession(const ContactsContext& ctx, std::string tenant, std::string list,
                             v1::ImportHeader header, int64_t already_committed,
                             int64_t max_contacts)
    : ctx_(ctx),
      tenant_(std::move(tenant)),
      list_(std::move(list)),
      header_(std::move(header)),
      already_committed_(already_committed),
      max_contacts_(max_contacts) {
  report_.set_parent(header_.parent());
  report_.set_import_id(header_.import_id());
  committer_ = std::thread([this] { CommitLoop(); });
}

ImportSession::~ImportSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

v1::ImportReport ImportSession::ReportSnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

void ImportSession::CommitLoop() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || queued_.has_value(); });
      if (!queued_.has_value()) return;  // stopping, nothing left
      batch = std::move(*queued_);
      queued_.reset();
      committing_ = true;
    }
    absl::Status st = commit_error_.ok() ? CommitBatch(batch) : absl::OkStatus();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!st.ok() && commit_error_.ok()) commit_error_ = st;
      committing_ = false;
    }
    cv_.notify_all();
  }
}

absl::Status ImportSession::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queued_.has_value() && !committing_; });
  return commit_error_;
}

void ImportSession::Reject(int64_t row, absl::string_view reason, absl::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  report_.set_rows_rejected(report_.rows_rejected() + 1);
  if (report_.rejections_size() < kMaxRejectionsKept) {
    auto* r = report_.add_rejections();
    r->set_row(row);
    r->set_reason(std::string(reason));
    r->set_message(std::string(message.substr(0, 300)));
  }
}

absl::Status ImportSession::OnRecord(CsvReader::Record& rec) {
  if (!header_seen_) {
    header_seen_ = true;
    if (!rec.error.empty()) {
      return InvalidField("chunk", "MALFORMED_HEADER",
                          absl::StrCat("the header row is unusable: ", rec.error));
    }
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      cols_[std::string(absl::StripAsciiWhitespace(rec.fields[i]))] = static_cast<int>(i);
    }
    column_count_ = rec.fields.size();
    const auto& m = header_.mapping();
    std::vector<std::pair<std::string, std::string>> wanted = {
        {"external_id", m.external_id()}, {"first_name", m.first_name()},
        {"last_name", m.last_name()},     {"time_zone", m.time_zone()},
        {"postal_code", m.postal_code()}, {"region", m.region()},
        {"country", m.country()},         {"priority", m.priority()}};
    for (const auto& p : m.phones()) wanted.push_back({"phones", p});
    for (const auto& [attr, col] : m.attributes()) wanted.push_back({"attributes." + attr, col});
    for (const auto& [field, col] : wanted) {
      if (!col.empty() && !cols_.count(col)) {
        return InvalidField(absl::StrCat("header.mapping.", field), "UNKNOWN_COLUMN",
                            absl::StrCat("the file has no column \"", col.substr(0, 100), "\""));
      }
    }
    return absl::OkStatus();
  }
  int64_t row = ++data_row_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_rows_read(report_.rows_read() + 1);
    if (row <= already_committed_) {
      report_.set_rows_skipped(report_.rows_skipped() + 1);
      return absl::OkStatus();
    }
  }
  if (!rec.error.empty()) {
    Reject(row, rec.error, "the row could not be parsed as CSV");
  } else if (rec.fields.size() != column_count_) {
    Reject(row, "WRONG_COLUMN_COUNT",
           absl::StrCat("expected ", column_count_, " columns, got ", rec.fields.size()));
  } else {
    Row r;
    r.row = row;
    r.raw = MapRow(header_.mapping(), [&](const std::string& col) -> std::string {
      return col.empty() ? std::string() : rec.fields[static_cast<size_t>(cols_.at(col))];
    });
    pending_.push_back(std::move(r));
  }
  if (pending_.size() >= kBatchRows) return Flush();
  return absl::OkStatus();
}

absl::Status ImportSession::OnJsonLine(absl::string_view line, int64_t row) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_rows_read(report_.rows_read() + 1);
    if (row <= already_committed_) {
      report_.set_rows_skipped(report_.rows_skipped() + 1);
      return absl::OkStatus();
    }
  }
  google::protobuf::Struct obj;
  if (!IsValidUtf8(line)) {
    Reject(row, "INVALID_UTF8", "the line is not valid UTF-8");
  } else if (!google::protobuf::util::JsonStringToMessage(std::string(line), &obj).ok()) {
    Reject(row, "INVALID_JSON", "the line is not a JSON object");
  } else {
    auto get = [&](const std::string& key) -> std::string {
      if (key.empty()) return "";
      auto it = obj.fields().find(key);
      if (it == obj.fields().end()) return "";
      const auto& v = it->second;
      if (v.has_string_value()) return v.string_value();
      if (v.has_number_value()) {
        double d = v.number_value();
        if (d == static_cast<double>(static_cast<int64_t>(d)))
          return std::to_string(static_cast<int64_t>(d));
        return absl::StrCat(d);
      }
      if (v.has_bool_value()) return v.bool_value() ? "true" : "false";
      return "";
    };
    Row r;
    r.row = row;
    r.raw = MapRow(header_.mapping(), get);
    pending_.push_back(std::move(r));
  }
  if (pending_.size() >= kBatchRows) return Flush();
  return absl::OkStatus();
}

absl::Status ImportSession::Feed(absl::string_view chunk) {
  if (header_.format() == v1::IMPORT_FORMAT_JSON_LINES) {
    if (json_skip_) {  // inside an over-long line: drop through its end
      size_t nl = chunk.find('\n');
      if (nl == absl::string_view::npos) return absl::OkStatus();
      chunk.remove_prefix(nl + 1);
      json_skip_ = false;
    }
    json_carry_.append(chunk.data(), chunk.size());
    size_t start = 0;
    for (;;) {
      size_t nl = json_carry_.find('\n', start);
      if (nl == std::string::npos) break;
      absl::string_view line(json_carry_.data() + start, nl - start);
      start = nl + 1;
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      DG_RETURN_IF_ERROR(OnJsonLine(line, ++data_row_));
    }
    json_carry_.erase(0, start);
    if (json_carry_.size() > (1u << 20)) {
      // An over-long line: reject it and drop bytes up to its end.
      Reject(++data_row_, "RECORD_TOO_LONG", "a line longer than 1 MiB");
      std::lock_guard<std::mutex> lock(mu_);
      report_.set_rows_read(report_.rows_read() + 1);
      json_carry_.clear();
      json_skip_ = true;
    }
    return absl::OkStatus();
  }
  csv_.Feed(chunk, [&](CsvReader::Record& rec) {
    if (!deferred_.ok()) return;
    deferred_ = OnRecord(rec);
  });
  return deferred_;
}

absl::Status ImportSession::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  Batch batch = Prepare();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queued_.has_value() || !commit_error_.ok(); });
  if (!commit_error_.ok()) return commit_error_;
  queued_ = std::move(batch);
  lock.unlock();
  cv_.notify_all();
  return absl::OkStatus();
}

ImportSession::Batch ImportSession::Prepare() {
  Batch batch;
  batch.last_row = pending_.back().row;
  bool by_phone = header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE;
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<v1::Contact> contacts;  // beside batch.rows
  int64_t merged = 0;
  for (auto& r : pending_) {
    auto c = BuildContact(r.raw, header_.default_country(), ctx_.zones());
    if (!c.ok()) {
      std::string reason = ReasonOf(c.status());
      Reject(r.row, reason.empty() ? "INVALID_ROW" : reason, c.status().message());
      continue;
    }
    std::string key = by_phone ? c->phones(0).number().e164() : c->external_id();
    if (!by_phone && key.empty()) {
      Reject(r.row, "MISSING_EXTERNAL_ID", "the row has no external id");
      continue;
    }
    // Duplicates inside the batch: the later row wins.
    auto it = index.find(key);
    if (it != index.end()) {
      batch.rows[it->second].row = r.row;
      contacts[it->second] = *std::move(c);
      ++merged;
    } else {
      index[key] = batch.rows.size();
      batch.rows.push_back(Ready{r.row, std::move(key), ContactWrite(), false});
      contacts.push_back(*std::move(c));
    }
  }
  pending_.clear();
  if (merged > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_duplicates_merged(report_.duplicates_merged() + merged);
  }
  // The insert form of every row, here rather than on the committer thread,
  // which is the import's bottleneck (most rows of most imports are new).
  absl::Time now = ctx_.clock().Now();
  for (size_t i = 0; i < contacts.size(); ++i) {
    Ready& r = batch.rows[i];
    v1::Contact& c = contacts[i];
    r.explicit_next_callable = c.has_next_callable_time();
    InitNewContact(c, now);
    r.fresh = MakeWrite(0, "", nullptr, &c, "");
    r.fresh.bytes = ToStored(std::move(c));
  }
  return batch;
}

absl::Status ImportSession::Lookup(const std::vector<Ready>& rows, std::vector<int64_t>& seqs,
                                   ListSnapshot& snapshot) {
  bool by_phone = header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE;
  seqs.assign(rows.size(), 0);
  std::vector<size_t> at;
  std::vector<std::string> keys;
  at.reserve(rows.size());
  keys.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (own_list_ && !own_keys_.MayContain(rows[i].key)) continue;  // cannot be in the list
    at.push_back(i);
    keys.push_back(rows[i].key);
  }
  if (own_list_ && keys.empty() && !own_recheck_) {
    snapshot.token = own_snapshot_;
    return absl::OkStatus();
  }
  auto found = by_phone ? ctx_.store().FindByPhones(tenant_, list_, keys, &snapshot)
                        : ctx_.store().FindByExternalIds(tenant_, list_, keys, &snapshot);
  if (!found.ok()) return found.status();
  own_recheck_ = false;
  if (own_list_ && snapshot.token != own_snapshot_) {
    // Another writer changed the list: the filter no longer covers it.
    own_list_ = false;
    return Lookup(rows, seqs, snapshot);
  }
  for (size_t j = 0; j < at.size(); ++j) seqs[at[j]] = (*found)[j];
  return absl::OkStatus();
}

void ImportSession::OwnInserted(const std::vector<ContactWrite>& inserts, const BatchResult& res) {
  bool by_phone = header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE;
  for (size_t j = 0; j < inserts.size(); ++j) {
    if (res.seqs[j] <= 0) continue;  // not inserted (quota)
    if (by_phone) {
      for (const auto& phone : inserts[j].new_phones) own_keys_.Add(phone);
    } else {
      own_keys_.Add(inserts[j].new_external_id);
    }
  }
  own_snapshot_ = res.snapshot_after;
  own_list_ = !own_snapshot_.empty() && !own_keys_.full();
}

absl::Status ImportSession::SizeIndexes() {
  // The header's hint, capped, less what an earlier stream with this import
  // id committed (those rows are in the list already).
  int64_t rows = std::min(header_.expected_rows(), kMaxExpectedRows) - already_committed_;
  if (rows <= 0) return absl::OkStatus();
  absl::Status st = ctx_.store().ReserveIndexes(tenant_, list_, rows, max_contacts_);
  // ABORTED: other writers kept moving the indexes; they grow with the writes.
  return absl::IsAborted(st) ? absl::OkStatus() : st;
}

absl::Status ImportSession::CommitBatch(Batch& batch) {
  if (!sized_) {
    sized_ = true;
    DG_RETURN_IF_ERROR(SizeIndexes());
  }
  std::vector<Ready>& unique = batch.rows;
  for (int attempt = 0;; ++attempt) {
    std::vector<int64_t> seqs;
    ListSnapshot snapshot;
    DG_RETURN_IF_ERROR(Lookup(unique, seqs, snapshot));
    // Seen empty (or only holding our own contacts): inserts from this state
    // keep the list covered by own_keys_.
    bool covered = own_list_ || snapshot.contacts == 0;
    std::vector<int64_t> existing_seqs;
    for (int64_t s : seqs) {
      if (s > 0) existing_seqs.push_back(s);
    }
    std::vector<std::string> old_bytes;
    if (!existing_seqs.empty()) {
      auto got = ctx_.store().GetContacts(tenant_, list_, existing_seqs);
      if (!got.ok()) return got.status();
      old_bytes = *std::move(got);
    }
    absl::Time now = ctx_.clock().Now();
    // Existing contacts change by compare-and-set (Commit); new ones go in
    // one optimistic transaction (InsertNew), which records the progress.
    // New rows lend their prepared write for the attempt and get it back.
    std::vector<ContactWrite> updates, inserts;
    std::vector<size_t> update_at, insert_at;
    std::vector<bool> is_update(unique.size(), false);
    size_t k = 0;
    for (size_t i = 0; i < unique.size(); ++i) {
      int64_t seq = seqs[i];
      const std::string* before_bytes = nullptr;
      v1::Contact before;
      if (seq > 0) {
        before_bytes = &old_bytes[k++];
        if (before_bytes->empty() || !before.ParseFromString(*before_bytes)) {
          before_bytes = nullptr;  // index without a contact (crash mid-write): recreate at seq
        }
      }
      if (before_bytes != nullptr) {
        v1::Contact fresh;
        if (!fresh.ParseFromString(unique[i].fresh.bytes)) {
          return absl::InternalError("prepared contact does not parse");
        }
        if (!unique[i].explicit_next_callable) fresh.clear_next_callable_time();
        v1::Contact next = MergeUpsert(before, fresh, now);
        updates.push_back(MakeWrite(seq, *before_bytes, &before, &next, ToStored(next)));
        update_at.push_back(i);
        is_update[i] = true;
      } else if (seq > 0) {
        updates.push_back(unique[i].fresh);
        updates.back().seq = seq;
        update_at.push_back(i);
      } else {
        inserts.push_back(std::move(unique[i].fresh));
        insert_at.push_back(i);
      }
    }
    ImportProgress progress{header_.import_id(), batch.last_row};
    BatchResult merged;
    merged.seqs.assign(unique.size(), 0);
    absl::Status st;
    if (!updates.empty() || inserts.empty()) {
      auto r = ctx_.store().Commit(tenant_, list_, updates, inserts.empty() ? &progress : nullptr,
                                   max_contacts_, {});
      st = r.status();
      if (r.ok()) {
        for (size_t j = 0; j < update_at.size(); ++j) merged.seqs[update_at[j]] = r->seqs[j];
      }
      own_list_ = false;  // the state after our own script is not known here
    }
    if (st.ok() && !inserts.empty()) {
      // After our own Commit of the updates the list has moved on: the
      // inserts then look their ids up again instead of trusting the snapshot.
      bool trusted = updates.empty();
      std::string token = trusted ? snapshot.token : "";
      if (!trusted && header_.duplicate_policy() == v1::DUPLICATE_POLICY_PHONE) {
        // InsertNew re-checks external ids by itself, not phones (a phone is
        // no per-list key in the index), so look the new rows' phones up
        // again, as one atomic read after our own updates, and let InsertNew
        // hold the list to that state. A phone claimed meanwhile: retry.
        std::vector<std::string> phones;
        for (size_t j : insert_at) phones.push_back(unique[j].key);
        ListSnapshot again;
        auto found = ctx_.store().FindByPhones(tenant_, list_, phones, &again);
        if (!found.ok()) {
          st = found.status();
        } else if (std::any_of(found->begin(), found->end(), [](int64_t s) { return s > 0; })) {
          st = Aborted("CONCURRENT_MODIFICATION", "a phone was claimed meanwhile; retry");
        } else {
          token = again.token;
        }
      }
      absl::StatusOr<BatchResult> r = absl::AbortedError("not attempted");
      if (st.ok()) {
        r = ctx_.store().InsertNew(tenant_, list_, inserts, &progress, max_contacts_, token);
        st = r.status();
      }
      if (st.ok()) {
        for (size_t j = 0; j < insert_at.size(); ++j) merged.seqs[insert_at[j]] = r->seqs[j];
        if (trusted && covered) {
          OwnInserted(inserts, *r);
        } else {
          own_list_ = false;
        }
      }
    }
    for (size_t j = 0; j < insert_at.size(); ++j)
      unique[insert_at[j]].fresh = std::move(inserts[j]);
    if (absl::IsAborted(st)) {
      own_recheck_ = own_list_;
    } else if (!st.ok()) {
      own_list_ = false;
    }
    if (absl::IsAborted(st) && attempt < kCommitAttempts) continue;
    if (!st.ok()) return st;
    auto res = &merged;
    int64_t accepted = 0, updated = 0;
    for (size_t i = 0; i < unique.size(); ++i) {
      if (res->seqs[i] < 0) {
        Reject(unique[i].row, "QUOTA_EXCEEDED",
               absl::StrCat("the tenant's quota of ", max_contacts_, " contacts is reached"));
      } else if (is_update[i]) {
        ++updated;
      } else {
        ++accepted;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    report_.set_rows_accepted(report_.rows_accepted() + accepted);
    report_.set_rows_updated(report_.rows_updated() + updated);
    report_.set_rows_committed(batch.last_row);
    return absl::OkStatus();
  }
}

absl::StatusOr<v1::ImportReport> ImportSession::Finish() {
  if (header_.format() == v1::IMPORT_FORMAT_JSON_LINES) {
    if (!absl::StripAsciiWhitespace(json_carry_).empty() && !json_skip_) {
      DG_RETURN_IF_ERROR(OnJsonLine(json_carry_, ++data_row_));
    }
    json_carry_.clear();
  } else {
    csv_.Finish([&](CsvReader::Record& rec) {
      if (!deferred_.ok()) return;
      deferred_ = OnRecord(rec);
    });
    DG_RETURN_IF_ERROR(deferred_);
    if (!header_seen_) {
      return InvalidField("chunk", "EMPTY_FILE", "the file has no header row");
    }
  }
  DG_RETURN_IF_ERROR(Flush());
  DG_RETURN_IF_ERROR(Drain());
  v1::ImportReport report;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Every row read is now handled: committed, rejected or skipped.
    report_.set_rows_committed(std::max({report_.rows_committed(), already_committed_, data_row_}));
    report = report_;
  }
  v1::ContactListImported ev;
  *ev.mutable_report() = report;
  DG_RETURN_IF_ERROR(
      ctx_.store().AppendEvents(tenant_, {ctx_.Event(tenant_, header_.parent(), ev)}));
  return report;
}

}  // namespace dialgrid::contacts
