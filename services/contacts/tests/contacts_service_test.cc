// Service tests: the dialgrid-contacts binary (with dialgrid-tenancy for
// credentials and quotas) against a real redis-server and the Kafka-protocol
// broker, called over loopback gRPC as a client would.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/types/optional.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/auth/principal.h"
#include "services/common/core/errors.h"
#include "services/common/kafka/kafka_consumer.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/enum_walk.h"
#include "tests/fixtures/test_platform.h"
#include "tests/fixtures/topic_recorder.h"

namespace dialgrid::contacts {
namespace {

using dialgrid::testing::TestPlatform;
using google::protobuf::util::TimeUtil;
using Stub = v1::ContactsService::Stub;
using TenancyStub = tenancy::v1::TenancyService::Stub;

constexpr char kBom[] = "\xEF\xBB\xBF";


// One parsed CSV (RFC 4180) document: rows of fields.
std::vector<std::vector<std::string>> ParseCsv(const std::string &text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      any = false;
    } else if (c != '\r') {
      field += c;
      any = true;
    }
  }
  if (any) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Splits `data` at the given byte offsets (sorted, unique, inside the data).
std::vector<std::string> SplitAt(const std::string &data,
                                 std::vector<size_t> cuts) {
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t cut : cuts) {
    if (cut <= start || cut >= data.size())
      continue;
    out.push_back(data.substr(start, cut - start));
    start = cut;
  }
  out.push_back(data.substr(start));
  return out;
}

struct ImportResult {
  grpc::Status status;
  v1::ImportReport report;
};

struct ExportResult {
  grpc::Status status;
  std::string csv;
  int chunks = 0;
};

class ContactsServiceTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = platform->release();
    ASSERT_TRUE(platform_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok())
        << "see " << platform_->LogPath("contacts");
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateCustomChannel(
        platform_->Address("contacts"), grpc::InsecureChannelCredentials(), args));

    CreateTenant("ct-a", 1000);
    CreateTenant("ct-b", 1000);
    CreateTenant("ct-small", 3);
    CreateTenant("ct-big", 100000);
    a_ = new std::string(TenantAdmin("ct-a"));
    b_ = new std::string(TenantAdmin("ct-b"));
    small_ = new std::string(TenantAdmin("ct-small"));
    big_ = new std::string(TenantAdmin("ct-big"));
  }

  static void TearDownTestSuite() {
    delete channel_;
    delete platform_;  // stops contacts, tenancy, the broker and Redis
    delete a_;
    delete b_;
    delete small_;
    delete big_;
  }

  void SetUp() override {
    ASSERT_NE(big_, nullptr)
        << "suite setup failed; see the logs under "
        << (platform_ != nullptr ? platform_->dir() : std::string("(none)"));
  }

  static std::unique_ptr<grpc::ClientContext>
  Ctx(const std::string &secret, absl::Duration timeout = absl::Seconds(30)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    if (!secret.empty())
      ctx->AddMetadata("authorization", "Bearer " + secret);
    return ctx;
  }

  static std::unique_ptr<Stub> stub() {
    return v1::ContactsService::NewStub(*channel_);
  }
  static std::unique_ptr<TenancyStub> tenancy() {
    return tenancy::v1::TenancyService::NewStub(platform_->Channel("tenancy"));
  }

  static void CreateTenant(const std::string &id, int64_t max_contacts) {
    tenancy::v1::CreateTenantRequest req;
    req.set_tenant_id(id);
    req.mutable_tenant()->set_display_name("Tenant " + id);
    req.mutable_tenant()->set_time_zone("America/New_York");
    req.mutable_tenant()->mutable_quota()->set_max_contacts(max_contacts);
    req.mutable_tenant()->mutable_quota()->set_max_requests_per_second(0);
    tenancy::v1::Tenant t;
    grpc::Status st = tenancy()->CreateTenant(Ctx(platform_->admin_secret()).get(), req, &t);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static std::string TenantAdmin(const std::string &tenant) {
    tenancy::v1::CreateCredentialRequest req;
    req.set_parent("tenants/" + tenant);
    req.mutable_credential()->set_display_name("admin of " + tenant);
    req.mutable_credential()->add_roles(tenancy::v1::ROLE_TENANT_ADMIN);
    tenancy::v1::CreateCredentialResponse resp;
    grpc::Status st =
        tenancy()->CreateCredential(Ctx(platform_->admin_secret()).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.secret();
  }

  static std::string ListName(const std::string &tenant,
                              const std::string &id) {
    return absl::StrCat("tenants/", tenant, "/contactLists/", id);
  }

  // Creates a list; fails the test if that fails.
  static v1::ContactList CreateList(const std::string &secret,
                                    const std::string &tenant,
                                    const std::string &id,
                                    const std::string &display = "") {
    v1::CreateContactListRequest req;
    req.set_parent("tenants/" + tenant);
    req.set_contact_list_id(id);
    req.mutable_contact_list()->set_display_name(display.empty() ? "List " + id
                                                                 : display);
    req.mutable_contact_list()->set_description("for " + id);
    v1::ContactList out;
    grpc::Status st = stub()->CreateContactList(Ctx(secret).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static v1::ContactList GetList(const std::string &secret,
                                 const std::string &name) {
    v1::GetContactListRequest req;
    req.set_name(name);
    v1::ContactList out;
    grpc::Status st = stub()->GetContactList(Ctx(secret).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  // Streams a header then the chunks; returns the status and the report.
  static ImportResult Import(const std::string &secret,
                             const v1::ImportHeader &header,
                             const std::vector<std::string> &chunks,
                             bool send_header = true) {
    ImportResult r;
    auto ctx = Ctx(secret, absl::Seconds(60));
    auto writer = stub()->ImportContacts(ctx.get(), &r.report);
    bool ok = true;
    if (send_header) {
      v1::ImportContactsRequest msg;
      *msg.mutable_header() = header;
      ok = writer->Write(msg);
    }
    for (const auto &c : chunks) {
      if (!ok)
        break;
      v1::ImportContactsRequest msg;
      msg.set_chunk(c);
      ok = writer->Write(msg);
    }
    writer->WritesDone();
    r.status = writer->Finish();
    return r;
  }

  // A CSV header for `list` mapping the columns of kCsvHeader.
  static v1::ImportHeader CsvHeader(const std::string &list_name,
                                    const std::string &import_id) {
    v1::ImportHeader h;
    h.set_parent(list_name);
    h.set_import_id(import_id);
    h.set_format(v1::IMPORT_FORMAT_CSV);
    h.set_default_country("US");
    auto *m = h.mutable_mapping();
    m->set_external_id("external_id");
    m->set_first_name("first");
    m->set_last_name("last");
    m->add_phones("phone");
    m->set_priority("priority");
    (*m->mutable_attributes())["plan"] = "plan";
    return h;
  }
  static constexpr char kCsvHeader[] =
      "external_id,first,last,phone,priority,plan\n";

  // Every contact of a list (all pages), optionally filtered.
  static std::vector<v1::Contact> ListAll(const std::string &secret,
                                          const std::string &list,
                                          const std::string &filter = "",
                                          int page_size = 0) {
    std::vector<v1::Contact> out;
    v1::ListContactsRequest req;
    req.set_parent(list);
    req.set_filter(filter);
    req.set_page_size(page_size);
    for (int guard = 0; guard < 1000; ++guard) {
      v1::ListContactsResponse resp;
      grpc::Status st = stub()->ListContacts(Ctx(secret).get(), req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok())
        break;
      if (page_size > 0) {
        EXPECT_LE(resp.contacts_size(), page_size);
      }
      for (const auto &c : resp.contacts())
        out.push_back(c);
      if (resp.next_page_token().empty())
        break;
      req.set_page_token(resp.next_page_token());
    }
    return out;
  }

  // How many contacts ListContacts returns (the list's counts are checked
  // apart, see ContactListCountsAndEtagsReadBack).
  static int64_t Count(const std::string &secret, const std::string &list,
                       const std::string &filter = "") {
    return static_cast<int64_t>(ListAll(secret, list, filter).size());
  }

  static std::map<std::string, v1::Contact>
  ByExternalId(const std::vector<v1::Contact> &cs) {
    std::map<std::string, v1::Contact> out;
    for (const auto &c : cs) {
      EXPECT_EQ(out.count(c.external_id()), 0u)
          << "duplicate external id " << c.external_id();
      out[c.external_id()] = c;
    }
    return out;
  }

  static v1::Contact NewContact(const std::string &external_id,
                                const std::string &phone,
                                const std::string &plan = "") {
    v1::Contact c;
    c.set_external_id(external_id);
    c.set_first_name("First " + external_id);
    c.set_last_name("Last " + external_id);
    c.add_phones()->mutable_number()->set_e164(phone);
    c.set_country("US");
    if (!plan.empty())
      (*c.mutable_attributes())["plan"] = plan;
    return c;
  }

  static v1::Contact CreateContact(const std::string &secret,
                                   const std::string &list,
                                   const v1::Contact &c) {
    v1::CreateContactRequest req;
    req.set_parent(list);
    *req.mutable_contact() = c;
    v1::Contact out;
    grpc::Status st = stub()->CreateContact(Ctx(secret).get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static ExportResult Export(const std::string &secret, const std::string &list,
                             const std::string &filter = "") {
    ExportResult r;
    v1::ExportContactsRequest req;
    req.set_parent(list);
    req.set_filter(filter);
    auto ctx = Ctx(secret, absl::Seconds(60));
    auto reader = stub()->ExportContacts(ctx.get(), req);
    v1::ExportContactsResponse resp;
    while (reader->Read(&resp)) {
      r.csv += resp.chunk();
      ++r.chunks;
    }
    r.status = reader->Finish();
    return r;
  }

  static grpc::Status Lease(const std::string &secret, const std::string &list,
                            int count, v1::LeaseContactsResponse *resp,
                            int64_t lease_seconds = 0) {
    v1::LeaseContactsRequest req;
    req.set_parent(list);
    req.set_count(count);
    req.set_holder("dialing-test/campaign-1");
    if (lease_seconds > 0)
      req.mutable_lease_duration()->set_seconds(lease_seconds);
    return stub()->LeaseContacts(Ctx(secret).get(), req, resp);
  }

  static grpc::Status
  Report(const std::string &secret, const std::string &name,
         const std::string &lease_id, v1::OutcomeKind kind,
         const std::string &outcome, v1::Contact *out,
         absl::optional<absl::Time> next_callable = absl::nullopt) {
    v1::ReportOutcomeRequest req;
    req.set_name(name);
    req.set_lease_id(lease_id);
    req.set_kind(kind);
    req.set_outcome(outcome);
    if (next_callable) {
      *req.mutable_next_callable_time() =
          TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(*next_callable));
    }
    return stub()->ReportOutcome(Ctx(secret).get(), req, out);
  }

  static TestPlatform *platform_;
  static std::shared_ptr<grpc::Channel> *channel_;
  static std::string *a_;     // tenant admin of ct-a
  static std::string *b_;     // tenant admin of ct-b
  static std::string *small_; // tenant admin of ct-small
  static std::string *big_;   // tenant admin of ct-big (room for multi-batch imports)
};

TestPlatform *ContactsServiceTest::platform_ = nullptr;
std::shared_ptr<grpc::Channel> *ContactsServiceTest::channel_ = nullptr;
std::string *ContactsServiceTest::a_ = nullptr;
std::string *ContactsServiceTest::b_ = nullptr;
std::string *ContactsServiceTest::small_ = nullptr;
std::string *ContactsServiceTest::big_ = nullptr;

#define EXPECT_RPC_ERROR(call, code, reason)                                   \
  do {                                                                         \
    grpc::Status st_ = (call);                                                 \
    EXPECT_EQ(st_.error_code(), grpc::StatusCode::code)                        \
        << st_.error_message();                                                \
    EXPECT_EQ(ReasonOf(FromGrpcStatus(st_)), reason) << st_.error_message();   \
  } while (false)

std::string Rows(int from, int to, const std::string &prefix, int phone_base) {
  std::string out;
  for (int i = from; i <= to; ++i) {
    out += absl::StrCat(prefix, i, ",First", i, ",Last", i, ",+1 212 20",
                        phone_base + i / 10000, " ",
                        absl::StrFormat("%04d", i % 10000), ",", i % 10, ",",
                        i % 2 == 0 ? "gold" : "silver", "\n");
  }
  return out;
}

// ---- 1. contact lists ----

TEST_F(ContactsServiceTest, ContactListCrud) {
  v1::ContactList l1 = CreateList(*a_, "ct-a", "crud-l1", "Spring leads");
  EXPECT_EQ(l1.name(), "tenants/ct-a/contactLists/crud-l1");
  EXPECT_EQ(l1.display_name(), "Spring leads");
  EXPECT_EQ(l1.contact_count(), 0);
  EXPECT_FALSE(l1.etag().empty());
  EXPECT_TRUE(l1.has_create_time());
  CreateList(*a_, "ct-a", "crud-l2");
  CreateList(*a_, "ct-a", "crud-l3");
  CreateList(*a_, "ct-a", "crud-l4");
  CreateList(*b_, "ct-b",
             "crud-other"); // another tenant's list is never listed

  // Duplicate id.
  {
    v1::CreateContactListRequest req;
    req.set_parent("tenants/ct-a");
    req.set_contact_list_id("crud-l1");
    req.mutable_contact_list()->set_display_name("again");
    v1::ContactList out;
    EXPECT_RPC_ERROR(stub()->CreateContactList(Ctx(*a_).get(), req, &out),
                     ALREADY_EXISTS, "CONTACT_LIST_EXISTS");
  }

  // Counts: two callable contacts.
  std::string csv = absl::StrCat(kCsvHeader, "k1,A,B,+1 212 201 0101,1,gold\n",
                                 "k2,C,D,+1 212 201 0102,2,silver\n");
  ImportResult imp = Import(*a_, CsvHeader(l1.name(), "crud-imp"), {csv});
  ASSERT_TRUE(imp.status.ok()) << imp.status.error_message();
  EXPECT_EQ(imp.report.rows_accepted(), 2);
  v1::ContactList got = GetList(*a_, l1.name());
  EXPECT_EQ(got.name(), l1.name());
  EXPECT_EQ(got.display_name(), "Spring leads");
  EXPECT_EQ(got.description(), "for crud-l1");
  EXPECT_FALSE(got.etag().empty());
  EXPECT_EQ(Count(*a_, l1.name()), 2);

  // Paging: page size 2 over the tenant's 4 lists, in id order.
  std::vector<std::string> seen,
      all_seen; // (other tests may add lists to ct-a)
  v1::ListContactListsRequest lreq;
  lreq.set_parent("tenants/ct-a");
  lreq.set_page_size(2);
  int pages = 0;
  for (int guard = 0; guard < 50; ++guard) {
    v1::ListContactListsResponse resp;
    grpc::Status st = stub()->ListContactLists(Ctx(*a_).get(), lreq, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ++pages;
    EXPECT_LE(resp.contact_lists_size(), 2);
    for (const auto &l : resp.contact_lists()) {
      all_seen.push_back(l.name());
      if (absl::StartsWith(l.name(), "tenants/ct-a/contactLists/crud-"))
        seen.push_back(l.name());
    }
    if (resp.next_page_token().empty())
      break;
    lreq.set_page_token(resp.next_page_token());
  }
  EXPECT_GE(pages, 2);
  EXPECT_TRUE(std::is_sorted(all_seen.begin(), all_seen.end()));
  EXPECT_EQ(std::set<std::string>(all_seen.begin(), all_seen.end()).size(),
            all_seen.size());
  EXPECT_EQ(seen, (std::vector<std::string>{ListName("ct-a", "crud-l1"),
                                            ListName("ct-a", "crud-l2"),
                                            ListName("ct-a", "crud-l3"),
                                            ListName("ct-a", "crud-l4")}));
  {
    v1::ListContactListsRequest bad;
    bad.set_parent("tenants/ct-a");
    bad.set_page_token("%%%not-a-token");
    v1::ListContactListsResponse resp;
    EXPECT_RPC_ERROR(stub()->ListContactLists(Ctx(*a_).get(), bad, &resp),
                     INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  }

  // Update with a mask: only display_name changes, the etag moves.
  v1::UpdateContactListRequest up;
  up.mutable_contact_list()->set_name(l1.name());
  up.mutable_contact_list()->set_display_name("Summer leads");
  up.mutable_contact_list()->set_description("not in the mask");
  up.mutable_contact_list()->set_etag(got.etag());
  up.mutable_update_mask()->add_paths("display_name");
  v1::ContactList updated;
  grpc::Status st = stub()->UpdateContactList(Ctx(*a_).get(), up, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.display_name(), "Summer leads");
  EXPECT_EQ(updated.description(), "for crud-l1");
  EXPECT_NE(updated.etag(), got.etag());
  v1::ContactList reread = GetList(*a_, l1.name());
  EXPECT_EQ(reread.display_name(), "Summer leads");
  EXPECT_EQ(reread.description(), "for crud-l1");
  // The old etag is stale now.
  v1::ContactList out;
  up.mutable_contact_list()->set_display_name("Lost update");
  EXPECT_RPC_ERROR(stub()->UpdateContactList(Ctx(*a_).get(), up, &out), ABORTED,
                   "ETAG_MISMATCH");
  EXPECT_EQ(GetList(*a_, l1.name()).display_name(), "Summer leads");
  // (Reading the etag back and updating again:
  // ContactListCountsAndEtagsReadBack.) A path that cannot be updated.
  up.mutable_contact_list()->clear_etag();
  up.mutable_update_mask()->add_paths("contact_count");
  EXPECT_RPC_ERROR(stub()->UpdateContactList(Ctx(*a_).get(), up, &out),
                   INVALID_ARGUMENT, "FIELD_NOT_UPDATABLE");

  // Delete: the contacts go with it.
  v1::DeleteContactListRequest del;
  del.set_name(l1.name());
  v1::DeleteContactListResponse dresp;
  st = stub()->DeleteContactList(Ctx(*a_).get(), del, &dresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(dresp.deleted_contacts(), 2);
  v1::GetContactListRequest get;
  get.set_name(l1.name());
  EXPECT_RPC_ERROR(stub()->GetContactList(Ctx(*a_).get(), get, &out), NOT_FOUND,
                   "CONTACT_LIST_NOT_FOUND");
  EXPECT_RPC_ERROR(stub()->DeleteContactList(Ctx(*a_).get(), del, &dresp),
                   NOT_FOUND, "CONTACT_LIST_NOT_FOUND");
  v1::GetContactRequest gc;
  gc.set_name(l1.name() + "/contacts/c1");
  v1::Contact c;
  EXPECT_RPC_ERROR(stub()->GetContact(Ctx(*a_).get(), gc, &c), NOT_FOUND,
                   "CONTACT_NOT_FOUND");
  v1::ListContactListsRequest all;
  all.set_parent("tenants/ct-a");
  v1::ListContactListsResponse lresp;
  ASSERT_TRUE(stub()->ListContactLists(Ctx(*a_).get(), all, &lresp).ok());
  int crud_lists = 0;
  for (const auto &l : lresp.contact_lists()) {
    EXPECT_NE(l.name(), l1.name());
    if (absl::StartsWith(l.name(), "tenants/ct-a/contactLists/crud-"))
      ++crud_lists;
  }
  EXPECT_EQ(crud_lists, 3);
}

// Regression test for a fixed bug (services/contacts/adapters/redis_contact_store.cc, GetList): the list
// hash "{t:<tenant>}:l:<list>" holds proto/etag/count/next_seq/n:<STATUS>;
// its proto value is over 64 bytes, so Redis stores it as a hashtable and
// HGETALL returns the fields in hash order (seeded per redis-server process),
// often "etag" and "count"/"n:*" before "proto". GetList then calls
// cl.ParseFromString(proto), which clears every field set before it: reads
// show contact_count 0, counts_by_status without CALLABLE/COMPLETED, and the
// etag embedded at creation or "" instead of the current one. Every
// UpdateContactList after the first then fails ABORTED ETAG_MISMATCH, with or
// without an etag, because ReplaceList compares Redis' etag to that stale one.
TEST_F(ContactsServiceTest, ContactListCountsAndEtagsReadBack) {
  v1::ContactList l = CreateList(*a_, "ct-a", "counts-1");
  ImportResult imp = Import(*a_, CsvHeader(l.name(), "counts-imp"),
                            {absl::StrCat(kCsvHeader, Rows(1, 3, "n", 5))});
  ASSERT_TRUE(imp.status.ok()) << imp.status.error_message();
  ASSERT_EQ(imp.report.rows_accepted(), 3);
  v1::ContactList got = GetList(*a_, l.name());
  EXPECT_EQ(got.contact_count(), 3);
  EXPECT_EQ((std::map<std::string, int64_t>(got.counts_by_status().begin(),
                                            got.counts_by_status().end())),
            (std::map<std::string, int64_t>{{"CALLABLE", 3}}));
  v1::ListContactListsRequest lreq;
  lreq.set_parent("tenants/ct-a");
  v1::ListContactListsResponse lresp;
  ASSERT_TRUE(stub()->ListContactLists(Ctx(*a_).get(), lreq, &lresp).ok());
  for (const auto &item : lresp.contact_lists()) {
    if (item.name() == l.name()) {
      EXPECT_EQ(item.contact_count(), 3);
    }
  }

  // Lease two, complete one: CALLABLE 1, LEASED 1, COMPLETED 1.
  v1::LeaseContactsResponse leased;
  ASSERT_TRUE(Lease(*a_, l.name(), 2, &leased).ok());
  ASSERT_EQ(leased.leases_size(), 2);
  v1::Contact out;
  ASSERT_TRUE(Report(*a_, leased.leases(0).contact().name(),
                     leased.leases(0).lease_id(), v1::OUTCOME_KIND_COMPLETED,
                     "SALE", &out)
                  .ok());
  got = GetList(*a_, l.name());
  EXPECT_EQ(got.contact_count(), 3);
  EXPECT_EQ((std::map<std::string, int64_t>(got.counts_by_status().begin(),
                                            got.counts_by_status().end())),
            (std::map<std::string, int64_t>{
                {"CALLABLE", 1}, {"COMPLETED", 1}, {"LEASED", 1}}));

  // Read, update with the etag read, read again, update again.
  for (const char *display :
       {"First rename", "Second rename", "Third rename"}) {
    SCOPED_TRACE(display);
    v1::ContactList cur = GetList(*a_, l.name());
    v1::UpdateContactListRequest up;
    up.mutable_contact_list()->set_name(l.name());
    up.mutable_contact_list()->set_display_name(display);
    up.mutable_contact_list()->set_etag(cur.etag());
    up.mutable_update_mask()->add_paths("display_name");
    v1::ContactList updated;
    grpc::Status st = stub()->UpdateContactList(Ctx(*a_).get(), up, &updated);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::ContactList reread = GetList(*a_, l.name());
    EXPECT_EQ(reread.display_name(), display);
    EXPECT_EQ(reread.etag(), updated.etag());
    EXPECT_EQ(reread.contact_count(), 3);
  }
  // Without an etag (last writer wins) it works as well.
  v1::UpdateContactListRequest blind;
  blind.mutable_contact_list()->set_name(l.name());
  blind.mutable_contact_list()->set_description("blind write");
  blind.mutable_update_mask()->add_paths("description");
  v1::ContactList updated;
  grpc::Status st = stub()->UpdateContactList(Ctx(*a_).get(), blind, &updated);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(GetList(*a_, l.name()).description(), "blind write");

  // A deleted contact leaves the counts.
  v1::DeleteContactRequest del;
  del.set_name(leased.leases(0).contact().name());
  v1::DeleteContactResponse dresp;
  ASSERT_TRUE(stub()->DeleteContact(Ctx(*a_).get(), del, &dresp).ok());
  got = GetList(*a_, l.name());
  EXPECT_EQ(got.contact_count(), 2);
  EXPECT_EQ((std::map<std::string, int64_t>(got.counts_by_status().begin(),
                                            got.counts_by_status().end())),
            (std::map<std::string, int64_t>{{"CALLABLE", 1}, {"LEASED", 1}}));
}

// A list deleted and created again under the same id starts empty: an
// import id used before the delete does not skip the new list's rows.
//
// Regression test for a fixed bug (services/contacts/adapters/redis_contact_store.cc, DeleteList): the
// import progress keys "{t:<tenant>}:imp:<list>:<import id>" outlive the list
// (only l:, lists, lz:, li: and q:* are deleted). A new list with the same id
// then reports every row of a re-used import id as rows_skipped and imports
// nothing (rows_skipped 3, rows_accepted 0, the list stays empty).
TEST_F(ContactsServiceTest, RecreatedListStartsFresh) {
  const std::string csv = absl::StrCat(kCsvHeader, Rows(1, 3, "rc", 4));
  v1::ContactList l = CreateList(*a_, "ct-a", "recreate-1");
  ImportResult first = Import(*a_, CsvHeader(l.name(), "weekly"), {csv});
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_EQ(first.report.rows_accepted(), 3);
  v1::DeleteContactListRequest del;
  del.set_name(l.name());
  v1::DeleteContactListResponse dresp;
  ASSERT_TRUE(stub()->DeleteContactList(Ctx(*a_).get(), del, &dresp).ok());
  EXPECT_EQ(dresp.deleted_contacts(), 3);

  CreateList(*a_, "ct-a", "recreate-1");
  EXPECT_EQ(Count(*a_, l.name()), 0);
  ImportResult again = Import(*a_, CsvHeader(l.name(), "weekly"), {csv});
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.report.rows_skipped(), 0);
  EXPECT_EQ(again.report.rows_accepted(), 3);
  EXPECT_EQ(Count(*a_, l.name()), 3);
}

// ---- 2. import: chunking, CSV edge cases, normalization, zones ----

TEST_F(ContactsServiceTest, ImportCsvInChunksNormalizesAndReportsExactly) {
  v1::ContactList list = CreateList(*a_, "ct-a", "imp-csv");
  const std::string csv = absl::StrCat(
      kBom, "external_id,first,last,phone,phone2,zip,state,tz,plan,notes\n",
      // 1: a quoted field with an embedded comma and newline; ZIP -> zone.
      "r1,Ann,Lee,212-201-0001,,94105,,,gold,\"Lee, Jr.\nII\"\n",
      // 2: an explicit zone wins over the ZIP.
      "r2,Bob,Ray,+1 212 201 0002,,94105,,America/Denver,silver,\n",
      // 3: only an Indianapolis (317) number.
      "r3,Cy,Old,317-201-0003,,,,,,\n",
      // 4: not a phone number at all.
      "r4,Dee,Bad,not-a-phone,,,,,,\n",
      // 5: a number that cannot exist (area code 123).
      "r5,Eve,Imp,+1 123 456 7890,,,,,,\n",
      // 6: too few columns.
      "r6,Few,Cols\n",
      // 7: a quote inside an unquoted field.
      "r7,Bo\"b,Quote,212-201-0007,,,,,,\n",
      // 8: r3 again: merged, the later row wins.
      "r3,Cyrus,Old,317-201-0003,,,,,,\n",
      // 9: a state only; CRLF line end.
      "r9,Tex,As,212-201-0009,,,TX,,,\r\n",
      // 10: two phones, escaped quotes.
      "r10,Two,Phones,(650) 253-0010,+44 20 7946 0010,,,,gold,\"say "
      "\"\"hi\"\"\"\n",
      // 11: last row without a trailing newline; New York ZIP.
      "r11,Last,Row,212-201-0011,,10001,,,,");
  std::vector<size_t> cuts = {1, 2, 20};
  cuts.push_back(csv.find("Lee, ") + 4);  // after the embedded comma
  cuts.push_back(csv.find("\nII") + 1);   // after the embedded newline
  cuts.push_back(csv.find("r2,Bob") + 9); // mid-row
  cuts.push_back(csv.find("\r\n") + 1);   // between CR and LF
  cuts.push_back(csv.find("\"\"hi") + 1); // between an escaped quote pair
  cuts.push_back(csv.find("r11,") + 3);
  std::vector<std::string> chunks = SplitAt(csv, cuts);
  ASSERT_GE(chunks.size(), 9u);

  v1::ImportHeader h;
  h.set_parent(list.name());
  h.set_import_id("first-load");
  h.set_format(v1::IMPORT_FORMAT_CSV);
  h.set_default_country("US");
  auto *m = h.mutable_mapping();
  m->set_external_id("external_id");
  m->set_first_name("first");
  m->set_last_name("last");
  m->add_phones("phone");
  m->add_phones("phone2");
  m->set_postal_code("zip");
  m->set_region("state");
  m->set_time_zone("tz");
  (*m->mutable_attributes())["plan"] = "plan";
  (*m->mutable_attributes())["notes"] = "notes";
  ImportResult r = Import(*a_, h, chunks);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const v1::ImportReport &rep = r.report;
  EXPECT_EQ(rep.parent(), list.name());
  EXPECT_EQ(rep.import_id(), "first-load");
  EXPECT_EQ(rep.rows_read(), 11);
  EXPECT_EQ(rep.rows_accepted(), 6);
  EXPECT_EQ(rep.rows_updated(), 0);
  EXPECT_EQ(rep.rows_rejected(), 4);
  EXPECT_EQ(rep.rows_skipped(), 0);
  EXPECT_EQ(rep.duplicates_merged(), 1);
  EXPECT_EQ(rep.rows_committed(), 11);
  std::map<int64_t, std::string> rejected;
  for (const auto &rj : rep.rejections())
    rejected[rj.row()] = rj.reason();
  EXPECT_EQ(rejected,
            (std::map<int64_t, std::string>{{4, "INVALID_PHONE_NUMBER"},
                                            {5, "IMPOSSIBLE_PHONE_NUMBER"},
                                            {6, "WRONG_COLUMN_COUNT"},
                                            {7, "MALFORMED_QUOTES"}}));

  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  ASSERT_EQ(by_id.size(), 6u);
  EXPECT_EQ(Count(*a_, list.name()), 6);
  for (const char *id : {"r1", "r2", "r3", "r9", "r10", "r11"}) {
    ASSERT_EQ(by_id.count(id), 1u) << id;
    EXPECT_EQ(by_id[id].status(), v1::CONTACT_STATUS_CALLABLE) << id;
    EXPECT_EQ(by_id[id].country(), "US") << id;
    EXPECT_TRUE(absl::StartsWith(by_id[id].name(), list.name() + "/contacts/c"))
        << id;
  }
  // The first contact has no BOM in its external id, the quoted field is
  // intact.
  const v1::Contact &r1 = by_id["r1"];
  EXPECT_EQ(r1.first_name(), "Ann");
  ASSERT_EQ(r1.phones_size(), 1);
  EXPECT_EQ(r1.phones(0).number().e164(), "+12122010001");
  EXPECT_EQ(r1.phones(0).number().region_code(), "US");
  EXPECT_TRUE(r1.phones(0).callable());
  EXPECT_EQ(r1.postal_code(), "94105");
  EXPECT_EQ(r1.time_zone(), "America/Los_Angeles");
  EXPECT_EQ(r1.time_zone_source(), type::v1::TIME_ZONE_SOURCE_POSTAL_CODE);
  EXPECT_EQ(std::vector<std::string>(r1.candidate_time_zones().begin(),
                                     r1.candidate_time_zones().end()),
            std::vector<std::string>{"America/Los_Angeles"});
  EXPECT_EQ(r1.attributes().count("notes") ? r1.attributes().at("notes") : "",
            "Lee, Jr.\nII");
  EXPECT_EQ(r1.attributes().count("plan") ? r1.attributes().at("plan") : "",
            "gold");

  const v1::Contact &r2 = by_id["r2"];
  EXPECT_EQ(r2.phones(0).number().e164(), "+12122010002");
  EXPECT_EQ(r2.time_zone(), "America/Denver");
  EXPECT_EQ(r2.time_zone_source(), type::v1::TIME_ZONE_SOURCE_EXPLICIT);

  const v1::Contact &r3 = by_id["r3"];
  EXPECT_EQ(r3.first_name(), "Cyrus");
  EXPECT_EQ(r3.phones(0).number().e164(), "+13172010003");
  // The area code's own zone, not both of Indiana's.
  EXPECT_EQ(r3.time_zone(), "America/New_York");
  EXPECT_EQ(r3.time_zone_source(), type::v1::TIME_ZONE_SOURCE_PHONE_NUMBER);
  EXPECT_EQ(std::vector<std::string>(r3.candidate_time_zones().begin(),
                                     r3.candidate_time_zones().end()),
            (std::vector<std::string>{"America/New_York"}));

  const v1::Contact &r9 = by_id["r9"];
  EXPECT_EQ(r9.region(), "TX");
  EXPECT_EQ(r9.time_zone_source(), type::v1::TIME_ZONE_SOURCE_REGION);
  EXPECT_EQ(std::vector<std::string>(r9.candidate_time_zones().begin(),
                                     r9.candidate_time_zones().end()),
            (std::vector<std::string>{"America/Chicago", "America/Denver"}));
  EXPECT_EQ(r9.time_zone(), "");

  const v1::Contact &r10 = by_id["r10"];
  ASSERT_EQ(r10.phones_size(), 2);
  EXPECT_EQ(r10.phones(0).number().e164(), "+16502530010");
  EXPECT_EQ(r10.phones(1).number().e164(), "+442079460010");
  EXPECT_EQ(r10.phones(1).number().region_code(), "GB");
  EXPECT_EQ(r10.attributes().count("notes") ? r10.attributes().at("notes") : "",
            "say \"hi\"");
  EXPECT_EQ(r10.time_zone_source(), type::v1::TIME_ZONE_SOURCE_PHONE_NUMBER);

  const v1::Contact &r11 = by_id["r11"];
  EXPECT_EQ(r11.last_name(), "Row");
  EXPECT_EQ(r11.time_zone(), "America/New_York");
  EXPECT_EQ(r11.time_zone_source(), type::v1::TIME_ZONE_SOURCE_POSTAL_CODE);
}

// ---- 3. import idempotency ----

TEST_F(ContactsServiceTest, ImportIsIdempotentByImportId) {
  v1::ContactList list = CreateList(*a_, "ct-a", "imp-idem");
  std::string csv =
      absl::StrCat(kCsvHeader, Rows(1, 6, "id", 1),
                   "bad,Bad,Phone,nope,1,gold\n"); // row 7 rejected
  std::vector<std::string> chunks = SplitAt(csv, {37, 90, 150});
  ImportResult first = Import(*a_, CsvHeader(list.name(), "load-1"), chunks);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.report.rows_read(), 7);
  EXPECT_EQ(first.report.rows_accepted(), 6);
  EXPECT_EQ(first.report.rows_rejected(), 1);
  EXPECT_EQ(first.report.rows_skipped(), 0);
  auto before = ByExternalId(ListAll(*a_, list.name()));
  ASSERT_EQ(before.size(), 6u);
  EXPECT_EQ(Count(*a_, list.name()), 6);

  // The same file with the same id: every row is skipped, nothing changes.
  ImportResult again = Import(*a_, CsvHeader(list.name(), "load-1"), chunks);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.report.rows_read(), 7);
  EXPECT_EQ(again.report.rows_skipped(), 7);
  EXPECT_EQ(again.report.rows_accepted(), 0);
  EXPECT_EQ(again.report.rows_updated(), 0);
  EXPECT_EQ(again.report.rows_rejected(), 0);
  EXPECT_EQ(again.report.rows_committed(), 7);
  EXPECT_EQ(Count(*a_, list.name()), 6);
  auto after = ByExternalId(ListAll(*a_, list.name()));
  ASSERT_EQ(after.size(), 6u);
  for (const auto &[id, c] : before) {
    EXPECT_EQ(after[id].name(), c.name()) << id;
    EXPECT_EQ(after[id].etag(), c.etag()) << id; // not even rewritten
  }

  // The same rows under a new id: upserts by external id, no duplicates.
  std::string changed = absl::StrCat(kCsvHeader, Rows(1, 6, "id", 1));
  ImportResult second =
      Import(*a_, CsvHeader(list.name(), "load-2"), {changed});
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.report.rows_read(), 6);
  EXPECT_EQ(second.report.rows_updated(), 6);
  EXPECT_EQ(second.report.rows_accepted(), 0);
  EXPECT_EQ(second.report.rows_skipped(), 0);
  EXPECT_EQ(Count(*a_, list.name()), 6);
  auto upserted = ByExternalId(ListAll(*a_, list.name()));
  ASSERT_EQ(upserted.size(), 6u);
  for (const auto &[id, c] : before)
    EXPECT_EQ(upserted[id].name(), c.name()) << id;
}

// ---- 3b. imports over several batches (2000 rows each) ----

// A new list lets an import skip the lookups of ids it has not inserted
// itself (application/import_session.cc, ImportSession::Lookup): a row in a later batch
// that repeats an earlier batch's id must still find that contact.
TEST_F(ContactsServiceTest, ImportFindsItsOwnEarlierBatches) {
  v1::ContactList list = CreateList(*big_, "ct-big", "mb-ext");
  std::string csv = absl::StrCat(kCsvHeader, Rows(1, 2500, "mb", 3),
                                 "mb5,Again,Five,+1 212 209 0005,7,gold\n",
                                 "mb1200,Again,Twelve,+1 212 209 1200,1,gold\n");
  ImportResult r = Import(*big_, CsvHeader(list.name(), "mb-1"),
                          SplitAt(csv, {csv.size() / 3, csv.size() / 2}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 2502);
  EXPECT_EQ(r.report.rows_accepted(), 2500);
  EXPECT_EQ(r.report.rows_updated(), 2);
  EXPECT_EQ(r.report.rows_rejected(), 0);
  EXPECT_EQ(r.report.rows_committed(), 2502);
  auto by_id = ByExternalId(ListAll(*big_, list.name()));  // no duplicates
  ASSERT_EQ(by_id.size(), 2500u);
  EXPECT_EQ(by_id["mb5"].first_name(), "Again");
  EXPECT_EQ(by_id["mb5"].phones(0).number().e164(), "+12122090005");
  EXPECT_EQ(by_id["mb5"].priority(), 7);
  EXPECT_EQ(by_id["mb1200"].first_name(), "Again");
  EXPECT_EQ(by_id["mb2500"].first_name(), "First2500");
  // The replaced number left the phone index, the new one is in it.
  EXPECT_EQ(Count(*big_, list.name(), "phone = \"+12122030005\""), 0);
  EXPECT_EQ(Count(*big_, list.name(), "phone = \"+12122090005\""), 1);
  v1::ContactList got = GetList(*big_, list.name());
  EXPECT_EQ(got.contact_count(), 2500);
  EXPECT_EQ(got.counts_by_status().at("CALLABLE"), 2500);
  // Sequence numbers have no gaps: the last new row is c2500.
  EXPECT_EQ(by_id["mb2500"].name(), list.name() + "/contacts/c2500");

  // Every contact is queued exactly once: leasing drains exactly 2500.
  std::set<std::string> leased;
  for (int guard = 0; guard < 10; ++guard) {
    v1::LeaseContactsResponse resp;
    ASSERT_TRUE(Lease(*big_, list.name(), 1000, &resp).ok());
    if (resp.leases_size() == 0)
      break;
    for (const auto &l : resp.leases())
      EXPECT_TRUE(leased.insert(l.contact().name()).second) << l.contact().name();
  }
  EXPECT_EQ(leased.size(), 2500u);
}

// The same with the PHONE policy: a later row whose first number is the
// second number of an earlier batch's contact updates that contact.
TEST_F(ContactsServiceTest, ImportByPhoneFindsEarlierBatchesSecondNumbers) {
  v1::ContactList list = CreateList(*big_, "ct-big", "mb-phone");
  std::string csv = "external_id,first,last,phone,phone2\n";
  for (int i = 1; i <= 4500; ++i) {
    csv += absl::StrFormat("ph%d,First%d,Last,+1 312 555 %04d,+1 312 556 %04d\n", i, i, i, i);
  }
  csv += "ph-new,Moved,Last,+1 312 556 0042,\n";  // contact ph42's second number
  v1::ImportHeader h = CsvHeader(list.name(), "mb-phone-1");
  h.set_duplicate_policy(v1::DUPLICATE_POLICY_PHONE);
  auto *m = h.mutable_mapping();
  m->clear_phones();
  m->add_phones("phone");
  m->add_phones("phone2");
  m->clear_priority();
  m->clear_attributes();
  ImportResult r = Import(*big_, h, {csv});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_accepted(), 4500);
  EXPECT_EQ(r.report.rows_updated(), 1);
  auto by_id = ByExternalId(ListAll(*big_, list.name()));
  ASSERT_EQ(by_id.size(), 4500u);
  EXPECT_EQ(by_id.count("ph42"), 0u);
  ASSERT_EQ(by_id.count("ph-new"), 1u);
  EXPECT_EQ(by_id["ph-new"].first_name(), "Moved");
  EXPECT_EQ(by_id["ph-new"].name(), list.name() + "/contacts/c42");
}

// Two imports into one list at once, overlapping ids: whichever commits a
// shared id first creates it, the other updates it; never two contacts with
// one id, and the list's count is exact.
TEST_F(ContactsServiceTest, ConcurrentImportsIntoOneListCreateNoDuplicates) {
  v1::ContactList list = CreateList(*big_, "ct-big", "mb-conc");
  std::string first = absl::StrCat(kCsvHeader, Rows(1, 3000, "cc", 4));
  std::string second = absl::StrCat(kCsvHeader, Rows(1501, 4500, "cc", 4));
  ImportResult r1, r2;
  std::thread t1([&] {
    r1 = Import(*big_, CsvHeader(list.name(), "conc-1"), SplitAt(first, {first.size() / 2}));
  });
  std::thread t2([&] {
    r2 = Import(*big_, CsvHeader(list.name(), "conc-2"), SplitAt(second, {second.size() / 2}));
  });
  t1.join();
  t2.join();
  ASSERT_TRUE(r1.status.ok()) << r1.status.error_message();
  ASSERT_TRUE(r2.status.ok()) << r2.status.error_message();
  EXPECT_EQ(r1.report.rows_accepted() + r2.report.rows_accepted(), 4500);
  EXPECT_EQ(r1.report.rows_updated() + r2.report.rows_updated(), 1500);
  auto by_id = ByExternalId(ListAll(*big_, list.name()));
  EXPECT_EQ(by_id.size(), 4500u);
  EXPECT_EQ(GetList(*big_, list.name()).contact_count(), 4500);
  EXPECT_EQ(Count(*big_, list.name(), "external_id = \"cc2000\""), 1);
}

// A list that already holds contacts: a new import looks every id up (its
// first batch does not see an empty list).
TEST_F(ContactsServiceTest, ImportIntoAFilledListUpdatesAcrossBatches) {
  v1::ContactList list = CreateList(*big_, "ct-big", "mb-filled");
  CreateContact(*big_, list.name(), NewContact("fl2100", "+1 415 555 0100"));
  std::string csv = absl::StrCat(kCsvHeader, Rows(1, 2200, "fl", 5));
  ImportResult r = Import(*big_, CsvHeader(list.name(), "filled-1"), {csv});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_accepted(), 2199);
  EXPECT_EQ(r.report.rows_updated(), 1);
  auto by_id = ByExternalId(ListAll(*big_, list.name()));
  EXPECT_EQ(by_id.size(), 2200u);
  EXPECT_EQ(by_id["fl2100"].name(), list.name() + "/contacts/c1");
  EXPECT_EQ(by_id["fl2100"].first_name(), "First2100");
}

// ---- 4. bad input ----

TEST_F(ContactsServiceTest, ImportUnknownColumnWritesNothing) {
  v1::ContactList list = CreateList(*a_, "ct-a", "bad-col");
  v1::ImportHeader h = CsvHeader(list.name(), "bad-col-1");
  h.mutable_mapping()->set_postal_code("zip_code"); // not in the file
  std::string csv = absl::StrCat(kCsvHeader, Rows(1, 3, "u", 1));
  ImportResult r = Import(*a_, h, {csv});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << r.status.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(r.status)), "UNKNOWN_COLUMN");
  EXPECT_EQ(Count(*a_, list.name()), 0);
  EXPECT_TRUE(ListAll(*a_, list.name()).empty());
}

TEST_F(ContactsServiceTest, ImportRejectsEmptyFileAndMissingHeader) {
  v1::ContactList list = CreateList(*a_, "ct-a", "bad-empty");
  // Header message only: no file at all.
  ImportResult empty = Import(*a_, CsvHeader(list.name(), "empty-1"), {});
  EXPECT_EQ(empty.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << empty.status.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(empty.status)), "EMPTY_FILE");
  // A chunk first instead of the header.
  ImportResult headless =
      Import(*a_, v1::ImportHeader(),
             {absl::StrCat(kCsvHeader, Rows(1, 2, "h", 1))}, false);
  EXPECT_EQ(headless.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << headless.status.error_message();
  // A second header in the middle of the stream.
  {
    v1::ImportReport report;
    auto ctx = Ctx(*a_);
    auto writer = stub()->ImportContacts(ctx.get(), &report);
    v1::ImportContactsRequest msg;
    *msg.mutable_header() = CsvHeader(list.name(), "twice-1");
    writer->Write(msg);
    writer->Write(msg);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << st.error_message();
  }
  EXPECT_EQ(Count(*a_, list.name()), 0);
}

TEST_F(ContactsServiceTest, ImportRejectsOverlongRowAndKeepsGoing) {
  v1::ContactList list = CreateList(*a_, "ct-a", "bad-long");
  std::string csv =
      absl::StrCat(kCsvHeader, "l1,Short,One,+1 212 201 0301,1,gold\n", "l2,",
                   std::string(10 << 20, 'x'), ",Long,+1 212 201 0302,1,gold\n",
                   "l3,Short,Three,+1 212 201 0303,1,gold\n");
  std::vector<std::string> chunks;
  for (size_t off = 0; off < csv.size(); off += 1 << 20)
    chunks.push_back(csv.substr(off, 1 << 20));
  ASSERT_GE(chunks.size(), 10u);
  ImportResult r = Import(*a_, CsvHeader(list.name(), "long-1"), chunks);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 3);
  EXPECT_EQ(r.report.rows_accepted(), 2);
  EXPECT_EQ(r.report.rows_rejected(), 1);
  ASSERT_EQ(r.report.rejections_size(), 1);
  EXPECT_EQ(r.report.rejections(0).row(), 2);
  EXPECT_EQ(r.report.rejections(0).reason(), "RECORD_TOO_LONG");
  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  EXPECT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.count("l1"), 1u);
  EXPECT_EQ(by_id.count("l3"), 1u);
  EXPECT_EQ(by_id["l3"].phones(0).number().e164(), "+12122010303");
}

// An over-long quoted field with an embedded newline: the row is rejected,
// the parser stays in step, and the rows after it are imported.
//
// Regression test for a fixed bug (services/contacts/domain/csv_reader.cc, CsvReader::Feed, the
// `skipping_` branch): once a record passes 1 MiB the reader drops bytes up to
// the next '\n' or '\r' even inside a quoted field, then resets in_quotes_
// and parses the rest of the quoted field as new records. Here the rest
// (`,""",Long,...`) opens a quoted field that swallows every later row up to
// the end of the file: m3 and m4 are never imported, rows_read is 3 and a
// phantom row 3 is rejected UNBALANCED_QUOTE.
TEST_F(ContactsServiceTest,
       ImportOverlongQuotedFieldKeepsParserInStep) {
  v1::ContactList list = CreateList(*a_, "ct-a", "bad-long-quoted");
  // Row 2's first name is 2 MiB of 'x', a newline, a comma and a quote.
  std::string csv = absl::StrCat(
      kCsvHeader, "m1,Short,One,+1 212 201 0311,1,gold\n", "m2,\"",
      std::string(2 << 20, 'x'), "\n,\"\"\",Long,+1 212 201 0312,1,gold\n",
      "m3,Short,Three,+1 212 201 0313,1,gold\n",
      "m4,Short,Four,+1 212 201 0314,1,gold\n");
  std::vector<std::string> chunks;
  for (size_t off = 0; off < csv.size(); off += 1 << 20)
    chunks.push_back(csv.substr(off, 1 << 20));
  ImportResult r = Import(*a_, CsvHeader(list.name(), "long-q-1"), chunks);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 4);
  EXPECT_EQ(r.report.rows_accepted(), 3);
  EXPECT_EQ(r.report.rows_rejected(), 1);
  std::map<int64_t, std::string> rejected;
  for (const auto &rj : r.report.rejections())
    rejected[rj.row()] = rj.reason();
  EXPECT_EQ(rejected, (std::map<int64_t, std::string>{{2, "RECORD_TOO_LONG"}}));
  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  EXPECT_EQ(by_id.count("m3"), 1u);
  EXPECT_EQ(by_id.count("m4"), 1u);
}

TEST_F(ContactsServiceTest, ImportRejectsInvalidUtf8Row) {
  v1::ContactList list = CreateList(*a_, "ct-a", "bad-utf8");
  std::string csv =
      absl::StrCat(kCsvHeader, "u1,Jos\xC3\xA9,Ok,+1 212 201 0401,1,gold\n",
                   "u2,Bad\xC3\x28Name,X,+1 212 201 0402,1,gold\n",
                   "u3,Over\xC0\xAFlong,X,+1 212 201 0403,1,gold\n",
                   "u4,Fine,Too,+1 212 201 0404,1,gold\n");
  ImportResult r = Import(*a_, CsvHeader(list.name(), "utf8-1"), {csv});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 4);
  EXPECT_EQ(r.report.rows_accepted(), 2);
  EXPECT_EQ(r.report.rows_rejected(), 2);
  std::map<int64_t, std::string> rejected;
  for (const auto &rj : r.report.rejections())
    rejected[rj.row()] = rj.reason();
  EXPECT_EQ(rejected, (std::map<int64_t, std::string>{{2, "INVALID_UTF8"},
                                                      {3, "INVALID_UTF8"}}));
  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  EXPECT_EQ(by_id["u1"].first_name(), "Jos\xC3\xA9");
  EXPECT_EQ(by_id.count("u2"), 0u);
}

TEST_F(ContactsServiceTest, ImportJsonLinesRejectsBadLine) {
  v1::ContactList list = CreateList(*a_, "ct-a", "imp-json");
  v1::ImportHeader h;
  h.set_parent(list.name());
  h.set_import_id("json-1");
  h.set_format(v1::IMPORT_FORMAT_JSON_LINES);
  h.set_default_country("US");
  h.mutable_mapping()->set_external_id("id");
  h.mutable_mapping()->set_first_name("first");
  h.mutable_mapping()->add_phones("phone");
  h.mutable_mapping()->set_priority("prio");
  (*h.mutable_mapping()->mutable_attributes())["plan"] = "plan";
  std::string body =
      "{\"id\": \"j1\", \"first\": \"Jo\", \"phone\": \"212-201-0501\", "
      "\"prio\": 3, \"plan\": "
      "\"gold\"}\n"
      "{\"id\": \"j2\", \"first\": \"broken\", \"phone\": \n"
      "\n"
      "{\"id\": \"j3\", \"first\": \"Al\", \"phone\": \"+1 212 201 0503\"}\n"
      "{\"id\": \"j4\", \"first\": \"No newline\", \"phone\": \"+1 212 201 "
      "0504\"}";
  ImportResult r = Import(*a_, h, SplitAt(body, {10, 60, 101, 150}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 4);
  EXPECT_EQ(r.report.rows_accepted(), 3);
  EXPECT_EQ(r.report.rows_rejected(), 1);
  ASSERT_EQ(r.report.rejections_size(), 1);
  EXPECT_EQ(r.report.rejections(0).row(), 2);
  EXPECT_EQ(r.report.rejections(0).reason(), "INVALID_JSON");
  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id["j1"].priority(), 3);
  EXPECT_EQ(by_id["j1"].phones(0).number().e164(), "+12122010501");
  EXPECT_EQ(by_id["j1"].attributes().count("plan")
                ? by_id["j1"].attributes().at("plan")
                : "",
            "gold");
  EXPECT_EQ(by_id["j4"].first_name(), "No newline");
}

TEST_F(ContactsServiceTest, ImportJsonLinesRejectsOverlongLine) {
  v1::ContactList list = CreateList(*a_, "ct-a", "json-long");
  v1::ImportHeader h;
  h.set_parent(list.name());
  h.set_import_id("json-long-1");
  h.set_format(v1::IMPORT_FORMAT_JSON_LINES);
  h.set_default_country("US");
  h.mutable_mapping()->set_external_id("id");
  h.mutable_mapping()->set_first_name("first");
  h.mutable_mapping()->add_phones("phone");
  std::string body = absl::StrCat(
      "{\"id\": \"k1\", \"first\": \"A\", \"phone\": \"+1 212 201 0511\"}\n",
      "{\"id\": \"k2\", \"first\": \"", std::string(10 << 20, 'y'),
      "\", \"phone\": \"+1 212 201 0512\"}\n",
      "{\"id\": \"k3\", \"first\": \"C\", \"phone\": \"+1 212 201 0513\"}\n");
  std::vector<std::string> chunks;
  for (size_t off = 0; off < body.size(); off += 1 << 20)
    chunks.push_back(body.substr(off, 1 << 20));
  ImportResult r = Import(*a_, h, chunks);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 3);
  EXPECT_EQ(r.report.rows_accepted(), 2);
  EXPECT_EQ(r.report.rows_rejected(), 1);
  ASSERT_EQ(r.report.rejections_size(), 1);
  EXPECT_EQ(r.report.rejections(0).row(), 2);
  EXPECT_EQ(r.report.rejections(0).reason(), "RECORD_TOO_LONG");
  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  EXPECT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.count("k3"), 1u);
}

// ---- 5. quota ----

TEST_F(ContactsServiceTest, ContactQuotaIsEnforced) {
  v1::ContactList list = CreateList(*small_, "ct-small", "quota-1");
  std::string csv = absl::StrCat(kCsvHeader, Rows(1, 5, "q", 6));
  ImportResult r = Import(*small_, CsvHeader(list.name(), "quota-imp"), {csv});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 5);
  EXPECT_EQ(r.report.rows_accepted(), 3);
  EXPECT_EQ(r.report.rows_rejected(), 2);
  ASSERT_EQ(r.report.rejections_size(), 2);
  for (const auto &rj : r.report.rejections())
    EXPECT_EQ(rj.reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(Count(*small_, list.name()), 3);
  // The quota is per tenant, across lists.
  v1::ContactList other = CreateList(*small_, "ct-small", "quota-2");
  v1::CreateContactRequest req;
  req.set_parent(other.name());
  *req.mutable_contact() = NewContact("extra", "+1 212 201 0699");
  v1::Contact out;
  grpc::Status st = stub()->CreateContact(Ctx(*small_).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << st.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(st)), "QUOTA_EXCEEDED");
  EXPECT_EQ(Count(*small_, other.name()), 0);
  // Room again after a delete.
  auto contacts = ListAll(*small_, list.name());
  ASSERT_FALSE(contacts.empty());
  v1::DeleteContactRequest del;
  del.set_name(contacts[0].name());
  v1::DeleteContactResponse dresp;
  ASSERT_TRUE(stub()->DeleteContact(Ctx(*small_).get(), del, &dresp).ok());
  st = stub()->CreateContact(Ctx(*small_).get(), req, &out);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// ---- 6. single contacts and filters ----

TEST_F(ContactsServiceTest, ContactCrudAndFilters) {
  v1::ContactList list = CreateList(*a_, "ct-a", "crud-c");
  // A national number with the contact's country.
  v1::Contact in = NewContact("c-1", "(212) 201-0601", "gold");
  in.set_postal_code("94105");
  in.set_priority(2);
  v1::Contact created = CreateContact(*a_, list.name(), in);
  EXPECT_TRUE(absl::StartsWith(created.name(), list.name() + "/contacts/c"))
      << created.name();
  ASSERT_EQ(created.phones_size(), 1);
  EXPECT_EQ(created.phones(0).number().e164(), "+12122010601");
  EXPECT_EQ(created.status(), v1::CONTACT_STATUS_CALLABLE);
  EXPECT_EQ(created.time_zone(), "America/Los_Angeles");
  EXPECT_EQ(created.priority(), 2);
  EXPECT_FALSE(created.etag().empty());
  EXPECT_TRUE(created.has_create_time());
  EXPECT_TRUE(created.has_next_callable_time());

  v1::GetContactRequest get;
  get.set_name(created.name());
  v1::Contact got;
  ASSERT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());

  // The same external id again.
  {
    v1::CreateContactRequest dup;
    dup.set_parent(list.name());
    *dup.mutable_contact() = NewContact("c-1", "+1 212 201 0609");
    v1::Contact out;
    EXPECT_RPC_ERROR(stub()->CreateContact(Ctx(*a_).get(), dup, &out),
                     ALREADY_EXISTS, "EXTERNAL_ID_EXISTS");
  }
  // An invalid number.
  {
    v1::CreateContactRequest bad;
    bad.set_parent(list.name());
    *bad.mutable_contact() = NewContact("c-bad", "12");
    v1::Contact out;
    grpc::Status st = stub()->CreateContact(Ctx(*a_).get(), bad, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << st.error_message();
  }

  // Update with a mask: first_name changes, last_name (not in the mask) does
  // not.
  v1::UpdateContactRequest up;
  *up.mutable_contact() = got;
  up.mutable_contact()->set_first_name("Renamed");
  up.mutable_contact()->set_last_name("Ignored");
  up.mutable_update_mask()->add_paths("first_name");
  v1::Contact updated;
  grpc::Status st = stub()->UpdateContact(Ctx(*a_).get(), up, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.first_name(), "Renamed");
  EXPECT_EQ(updated.last_name(), got.last_name());
  EXPECT_EQ(updated.phones(0).number().e164(), "+12122010601");
  EXPECT_EQ(updated.time_zone(), "America/Los_Angeles");
  EXPECT_NE(updated.etag(), got.etag());
  v1::Contact reread;
  ASSERT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &reread).ok());
  EXPECT_EQ(reread.first_name(), "Renamed");
  EXPECT_EQ(reread.etag(), updated.etag());
  // The old etag is stale.
  up.mutable_contact()->set_first_name("Lost");
  v1::Contact out;
  EXPECT_RPC_ERROR(stub()->UpdateContact(Ctx(*a_).get(), up, &out), ABORTED,
                   "ETAG_MISMATCH");
  ASSERT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &reread).ok());
  EXPECT_EQ(reread.first_name(), "Renamed");
  // Immutable paths are refused.
  up.mutable_contact()->set_etag(reread.etag());
  up.mutable_update_mask()->add_paths("status");
  EXPECT_RPC_ERROR(stub()->UpdateContact(Ctx(*a_).get(), up, &out),
                   INVALID_ARGUMENT, "FIELD_NOT_UPDATABLE");

  // Three more: silver (priority 9, leased first and completed), gold, plain.
  v1::Contact silver = NewContact("c-2", "+1 212 201 0602", "silver");
  silver.set_priority(9);
  silver = CreateContact(*a_, list.name(), silver);
  v1::Contact gold = CreateContact(
      *a_, list.name(), NewContact("c-3", "+1 212 201 0603", "gold"));
  v1::Contact plain =
      CreateContact(*a_, list.name(), NewContact("c-4", "+1 212 201 0604"));
  v1::LeaseContactsResponse leased;
  ASSERT_TRUE(Lease(*a_, list.name(), 1, &leased).ok());
  ASSERT_EQ(leased.leases_size(), 1);
  EXPECT_EQ(leased.leases(0).contact().name(), silver.name());
  v1::Contact done;
  st = Report(*a_, silver.name(), leased.leases(0).lease_id(),
              v1::OUTCOME_KIND_COMPLETED, "SALE", &done);
  ASSERT_TRUE(st.ok()) << st.error_message();

  auto names = [](const std::vector<v1::Contact> &cs) {
    std::vector<std::string> out_names;
    for (const auto &c : cs)
      out_names.push_back(c.name());
    return out_names;
  };
  EXPECT_EQ(names(ListAll(*a_, list.name())),
            (std::vector<std::string>{created.name(), silver.name(),
                                      gold.name(), plain.name()}));
  EXPECT_EQ(names(ListAll(*a_, list.name(), "", 1)),
            (std::vector<std::string>{created.name(), silver.name(),
                                      gold.name(), plain.name()}));
  EXPECT_EQ(
      names(ListAll(*a_, list.name(), "status = CALLABLE")),
      (std::vector<std::string>{created.name(), gold.name(), plain.name()}));
  EXPECT_EQ(names(ListAll(*a_, list.name(), "status = COMPLETED")),
            (std::vector<std::string>{silver.name()}));
  EXPECT_EQ(names(ListAll(*a_, list.name(), "phone = \"+12122010603\"")),
            (std::vector<std::string>{gold.name()}));
  EXPECT_EQ(names(ListAll(*a_, list.name(), "attributes.plan = \"gold\"")),
            (std::vector<std::string>{created.name(), gold.name()}));
  EXPECT_EQ(names(ListAll(*a_, list.name(), "attributes.plan = \"gold\"", 1)),
            (std::vector<std::string>{created.name(), gold.name()}));
  EXPECT_EQ(
      names(ListAll(*a_, list.name(),
                    "status = CALLABLE AND attributes.plan = \"silver\"")),
      std::vector<std::string>{});
  EXPECT_EQ(names(ListAll(*a_, list.name(), "external_id = \"c-4\"")),
            (std::vector<std::string>{plain.name()}));
  EXPECT_TRUE(ListAll(*a_, list.name(), "phone = \"+12122019999\"").empty());

  v1::ListContactsRequest bad;
  bad.set_parent(list.name());
  v1::ListContactsResponse resp;
  for (const char *filter :
       {"status CALLABLE", "status = SLEEPING", "first_name = \"x\""}) {
    bad.set_filter(filter);
    EXPECT_RPC_ERROR(stub()->ListContacts(Ctx(*a_).get(), bad, &resp),
                     INVALID_ARGUMENT, "INVALID_FILTER");
  }
  bad.clear_filter();
  for (const char *token :
       {"garbage!!", "c2VxOm5vcGU", "Zm9vOjE"}) { // "seq:nope", "foo:1"
    bad.set_page_token(token);
    EXPECT_RPC_ERROR(stub()->ListContacts(Ctx(*a_).get(), bad, &resp),
                     INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  }

  // Delete.
  v1::DeleteContactRequest del;
  del.set_name(created.name());
  v1::DeleteContactResponse dresp;
  ASSERT_TRUE(stub()->DeleteContact(Ctx(*a_).get(), del, &dresp).ok());
  EXPECT_RPC_ERROR(stub()->GetContact(Ctx(*a_).get(), get, &out), NOT_FOUND,
                   "CONTACT_NOT_FOUND");
  EXPECT_RPC_ERROR(stub()->DeleteContact(Ctx(*a_).get(), del, &dresp),
                   NOT_FOUND, "CONTACT_NOT_FOUND");
  EXPECT_TRUE(ListAll(*a_, list.name(), "phone = \"+12122010601\"").empty());
  EXPECT_EQ(Count(*a_, list.name()), 3);
  EXPECT_EQ(Count(*a_, list.name(), "status = CALLABLE"), 2);
  EXPECT_EQ(Count(*a_, list.name(), "status = COMPLETED"), 1);
  // Its external id is free again.
  CreateContact(*a_, list.name(), NewContact("c-1", "+1 212 201 0601"));
}

// Two people of one list share a number (a household line): the phone
// filter finds both, as ExportContacts' filter does.
//
// Regression test for a fixed bug (services/contacts/application/contact_manager.cc ListContacts, the "phone filter
// goes through the phone index" branch, with RedisContactStore::FindByPhones):
// FindByPhones returns one seq per list (the first "<list>:<seq>" ref of the
// number), so ListContacts with `phone = "+1..."` returns only the first
// contact with that number; ExportContacts with the same filter (a full scan)
// returns both.
TEST_F(ContactsServiceTest,
       PhoneFilterFindsEveryContactWithTheNumber) {
  v1::ContactList list = CreateList(*a_, "ct-a", "phone-shared");
  v1::Contact first =
      CreateContact(*a_, list.name(), NewContact("h-1", "+1 212 201 0701"));
  v1::Contact second =
      CreateContact(*a_, list.name(), NewContact("h-2", "+1 212 201 0701"));
  CreateContact(*a_, list.name(), NewContact("h-3", "+1 212 201 0703"));
  const std::string filter = "phone = \"+12122010701\"";
  ExportResult exported = Export(*a_, list.name(), filter);
  ASSERT_TRUE(exported.status.ok()) << exported.status.error_message();
  EXPECT_EQ(ParseCsv(exported.csv).size(), 3u); // header + 2
  std::set<std::string> names;
  for (const auto &c : ListAll(*a_, list.name(), filter))
    names.insert(c.name());
  EXPECT_EQ(names, (std::set<std::string>{first.name(), second.name()}));
}

// A changed number moves in the phone index used by the phone filter.
TEST_F(ContactsServiceTest, UpdatedPhoneMovesInThePhoneFilter) {
  v1::ContactList list = CreateList(*a_, "ct-a", "phone-move");
  v1::Contact c =
      CreateContact(*a_, list.name(), NewContact("m-1", "+1 212 201 0711"));
  v1::Contact keep =
      CreateContact(*a_, list.name(), NewContact("m-2", "+1 212 201 0713"));
  v1::UpdateContactRequest up;
  up.mutable_contact()->set_name(c.name());
  up.mutable_contact()->add_phones()->mutable_number()->set_e164(
      "+1 212 201 0712");
  up.mutable_update_mask()->add_paths("phones");
  v1::Contact out;
  grpc::Status st = stub()->UpdateContact(Ctx(*a_).get(), up, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(out.phones_size(), 1);
  EXPECT_EQ(out.phones(0).number().e164(), "+12122010712");
  EXPECT_EQ(out.first_name(), c.first_name());
  EXPECT_TRUE(ListAll(*a_, list.name(), "phone = \"+12122010711\"").empty());
  auto found = ListAll(*a_, list.name(), "phone = \"+12122010712\"");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name(), c.name());
  found = ListAll(*a_, list.name(), "phone = \"+12122010713\"");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name(), keep.name());
}

// ---- 7. leasing ----

TEST_F(ContactsServiceTest, LeasingHandsEachContactToOneHolder) {
  v1::ContactList list = CreateList(*a_, "ct-a", "lease-1");
  ImportResult imp = Import(*a_, CsvHeader(list.name(), "lease-imp"),
                            {absl::StrCat(kCsvHeader, Rows(1, 50, "p", 7))});
  ASSERT_TRUE(imp.status.ok()) << imp.status.error_message();
  ASSERT_EQ(imp.report.rows_accepted(), 50);

  struct Call {
    std::vector<v1::LeasedContact> leases;
    grpc::Status status;
  };
  std::vector<std::vector<Call>> calls(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int guard = 0; guard < 50; ++guard) {
        v1::LeaseContactsResponse resp;
        Call call;
        call.status = Lease(*a_, list.name(), 10, &resp);
        call.leases.assign(resp.leases().begin(), resp.leases().end());
        bool stop = !call.status.ok() || call.leases.empty();
        calls[static_cast<size_t>(t)].push_back(std::move(call));
        if (stop)
          break;
      }
    });
  }
  for (auto &th : threads)
    th.join();
  std::map<std::string, v1::LeasedContact> leased;
  int total = 0;
  for (const auto &per_thread : calls) {
    for (const auto &call : per_thread) {
      EXPECT_TRUE(call.status.ok()) << call.status.error_message();
      EXPECT_LE(call.leases.size(), 10u);
      for (size_t i = 0; i < call.leases.size(); ++i) {
        const auto &l = call.leases[i];
        ++total;
        EXPECT_EQ(leased.count(l.contact().name()), 0u)
            << "leased twice: " << l.contact().name();
        leased[l.contact().name()] = l;
        EXPECT_EQ(l.contact().status(), v1::CONTACT_STATUS_LEASED);
        EXPECT_FALSE(l.lease_id().empty());
        EXPECT_GT(TimeUtil::TimestampToSeconds(l.expire_time()),
                  absl::ToUnixSeconds(absl::Now()));
        if (i > 0) {
          EXPECT_GE(call.leases[i - 1].contact().priority(),
                    l.contact().priority())
              << "priority order within a call";
        }
      }
    }
  }
  EXPECT_EQ(total, 50);
  EXPECT_EQ(leased.size(), 50u);
  EXPECT_EQ(Count(*a_, list.name(), "status = LEASED"), 50);
  v1::LeaseContactsResponse none;
  ASSERT_TRUE(Lease(*a_, list.name(), 10, &none).ok());
  EXPECT_EQ(none.leases_size(), 0);

  auto it = leased.begin();
  const v1::LeasedContact a = (it++)->second; // RETRY in an hour
  const v1::LeasedContact b = (it++)->second; // RETRY now
  const v1::LeasedContact c = (it++)->second; // COMPLETED
  const v1::LeasedContact d = (it++)->second; // reported with a wrong lease id
  v1::Contact out;
  grpc::Status st =
      Report(*a_, a.contact().name(), a.lease_id(), v1::OUTCOME_KIND_RETRY,
             "NO_ANSWER", &out, absl::Now() + absl::Hours(1));
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_CALLABLE);
  EXPECT_EQ(out.attempts(), 1);
  EXPECT_EQ(out.last_outcome(), "NO_ANSWER");
  st = Report(*a_, b.contact().name(), b.lease_id(), v1::OUTCOME_KIND_RETRY,
              "BUSY", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = Report(*a_, c.contact().name(), c.lease_id(), v1::OUTCOME_KIND_COMPLETED,
              "SALE", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_COMPLETED);
  EXPECT_RPC_ERROR(Report(*a_, d.contact().name(), "0123456789abcdef01234567",
                          v1::OUTCOME_KIND_COMPLETED, "SALE", &out),
                   FAILED_PRECONDITION, "LEASE_NOT_HELD");
  // A lease is reported once.
  EXPECT_RPC_ERROR(Report(*a_, c.contact().name(), c.lease_id(),
                          v1::OUTCOME_KIND_COMPLETED, "SALE", &out),
                   FAILED_PRECONDITION, "LEASE_NOT_HELD");

  // Only b is due now; a waits for its next callable time.
  v1::LeaseContactsResponse again;
  ASSERT_TRUE(Lease(*a_, list.name(), 10, &again).ok());
  ASSERT_EQ(again.leases_size(), 1);
  EXPECT_EQ(again.leases(0).contact().name(), b.contact().name());
  EXPECT_EQ(again.leases(0).contact().attempts(), 1);
  EXPECT_NE(again.leases(0).lease_id(), b.lease_id());

  v1::GetContactRequest get;
  get.set_name(c.contact().name());
  ASSERT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &out).ok());
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_COMPLETED);
  EXPECT_EQ(out.attempts(), 1);
  EXPECT_EQ(out.last_outcome(), "SALE");
  get.set_name(a.contact().name());
  ASSERT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &out).ok());
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_CALLABLE);
  EXPECT_GT(TimeUtil::TimestampToSeconds(out.next_callable_time()),
            absl::ToUnixSeconds(absl::Now() + absl::Minutes(30)));
  get.set_name(d.contact().name());
  ASSERT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &out).ok());
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_LEASED);

  EXPECT_EQ(Count(*a_, list.name(), "status = CALLABLE"), 1);
  EXPECT_EQ(Count(*a_, list.name(), "status = COMPLETED"), 1);
  EXPECT_EQ(Count(*a_, list.name(), "status = LEASED"), 48);
  EXPECT_EQ(Count(*a_, list.name()), 50);
}

TEST_F(ContactsServiceTest, UnreportedLeaseReturnsToTheQueue) {
  v1::ContactList list = CreateList(*a_, "ct-a", "lease-exp");
  v1::Contact c =
      CreateContact(*a_, list.name(), NewContact("e-1", "+1 212 201 0801"));
  v1::LeaseContactsResponse first;
  ASSERT_TRUE(Lease(*a_, list.name(), 5, &first, 1).ok());
  ASSERT_EQ(first.leases_size(), 1);
  EXPECT_EQ(first.leases(0).contact().name(), c.name());
  absl::Time expire = absl::FromUnixNanos(
      TimeUtil::TimestampToNanoseconds(first.leases(0).expire_time()));
  EXPECT_LE(expire, absl::Now() + absl::Seconds(2));
  v1::LeaseContactsResponse second;
  ASSERT_TRUE(Lease(*a_, list.name(), 5, &second, 60).ok());
  if (absl::Now() < expire) {
    EXPECT_EQ(second.leases_size(), 0)
        << "leased again while the first lease was live";
  }

  // Bounded poll: once the lease expires the contact is due again.
  v1::LeaseContactsResponse back;
  absl::Time deadline = absl::Now() + absl::Seconds(6);
  while (absl::Now() < deadline && second.leases_size() == 0) {
    ASSERT_TRUE(Lease(*a_, list.name(), 5, &back, 60).ok());
    if (back.leases_size() > 0) {
      second = back;
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(second.leases_size(), 1);
  EXPECT_EQ(second.leases(0).contact().name(), c.name());
  EXPECT_NE(second.leases(0).lease_id(), first.leases(0).lease_id());
  // The expired lease can no longer be reported; the new one can.
  v1::Contact out;
  EXPECT_RPC_ERROR(Report(*a_, c.name(), first.leases(0).lease_id(),
                          v1::OUTCOME_KIND_COMPLETED, "SALE", &out),
                   FAILED_PRECONDITION, "LEASE_NOT_HELD");
  grpc::Status st = Report(*a_, c.name(), second.leases(0).lease_id(),
                           v1::OUTCOME_KIND_RELEASED, "", &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.attempts(), 0);
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_CALLABLE);
  v1::LeaseContactsResponse third;
  ASSERT_TRUE(Lease(*a_, list.name(), 5, &third).ok());
  EXPECT_EQ(third.leases_size(), 1);
}

// Regression test for a fixed bug (services/contacts/application, MakeWrite, used by UpdateContact
// and ImportSession::Flush): a leased contact is stored as CALLABLE, so an
// update or an import upsert of it writes queue_at and the commit script
// ZADDs it back into the dialer queue q:<list>:<priority> while its lease
// (li/lz) is still live. The next LeaseContacts hands it to a second holder
// (overwriting li), and the first holder's ReportOutcome then fails
// LEASE_NOT_HELD: two dialers call the same person. ReportOutcome avoids this
// by setting old_queued = false; UpdateContact and imports do not check the
// lease at all.
TEST_F(ContactsServiceTest, ChangingALeasedContactKeepsItLeased) {
  v1::ContactList list = CreateList(*a_, "ct-a", "lease-upd");
  v1::ImportHeader h = CsvHeader(list.name(), "lease-upd-1");
  const std::string csv = absl::StrCat(kCsvHeader, Rows(1, 2, "lu", 8));
  ImportResult imp = Import(*a_, h, {csv});
  ASSERT_TRUE(imp.status.ok()) << imp.status.error_message();
  v1::LeaseContactsResponse first;
  ASSERT_TRUE(Lease(*a_, list.name(), 10, &first).ok());
  ASSERT_EQ(first.leases_size(), 2);

  // An API update of one leased contact: still leased to the first holder.
  v1::UpdateContactRequest up;
  up.mutable_contact()->set_name(first.leases(0).contact().name());
  up.mutable_contact()->set_first_name("Changed");
  up.mutable_update_mask()->add_paths("first_name");
  v1::Contact out;
  grpc::Status st = stub()->UpdateContact(Ctx(*a_).get(), up, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::LeaseContactsResponse second;
  ASSERT_TRUE(Lease(*a_, list.name(), 10, &second).ok());
  for (const auto &l : second.leases())
    ADD_FAILURE() << "leased again after UpdateContact: " << l.contact().name();

  // A CRM re-sync (new import id) of both: still leased.
  h.set_import_id("lease-upd-2");
  imp = Import(*a_, h, {csv});
  ASSERT_TRUE(imp.status.ok()) << imp.status.error_message();
  EXPECT_EQ(imp.report.rows_updated(), 2);
  v1::LeaseContactsResponse third;
  ASSERT_TRUE(Lease(*a_, list.name(), 10, &third).ok());
  for (const auto &l : third.leases())
    ADD_FAILURE() << "leased again after a re-import: " << l.contact().name();
  EXPECT_EQ(Count(*a_, list.name(), "status = LEASED"), 2);
  // The first holder can still report.
  for (const auto &l : first.leases()) {
    st = Report(*a_, l.contact().name(), l.lease_id(),
                v1::OUTCOME_KIND_COMPLETED, "SALE", &out);
    EXPECT_TRUE(st.ok()) << l.contact().name() << ": " << st.error_message();
  }
}

// Found by a black-box client with the broker stopped: contacts stored a
// contact and still answered UNAVAILABLE EVENT_NOT_PUBLISHED after 10-12 s,
// the ContactCreated event lost. Now the contact and its event are stored
// together: the calls answer with Kafka down, and the events follow with the
// names the contacts were given.
TEST_F(ContactsServiceTest, ChangesAreAcknowledgedWithKafkaDownAndTheirEventsFollow) {
  v1::ContactList list = CreateList(*a_, "ct-a", "outbox-l");
  ASSERT_TRUE(platform_->broker().Pause().ok());
  absl::Time start = absl::Now();
  v1::Contact c1 = CreateContact(*a_, list.name(), NewContact("ob-1", "+1 650 253 0301"));
  v1::Contact c2 = CreateContact(*a_, list.name(), NewContact("ob-2", "+1 650 253 0302"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "the calls waited for Kafka";
  ASSERT_TRUE(platform_->broker().Resume().ok());
  // Read from the start with a consumer that joins now (one that lived
  // through the pause may sit in a group rebalance for a session timeout).
  auto recorder = dialgrid::testing::TopicRecorder::Start(platform_->broker().bootstrap(), {"contacts"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  ASSERT_FALSE(c1.name().empty());
  ASSERT_FALSE(c2.name().empty());
  bool found = (*recorder)->WaitFor(
      [&](const std::vector<event::v1::Envelope> &got) {
        std::set<std::string> seen;
        for (const auto &e : got) {
          v1::ContactCreated created;
          if (e.type() != "dialgrid.contacts.v1.ContactCreated" || !e.payload().UnpackTo(&created)) {
            continue;
          }
          EXPECT_EQ(e.subject(), created.contact().name());
          seen.insert(created.contact().name() + "|" + created.contact().external_id());
        }
        return seen.count(c1.name() + "|ob-1") == 1 && seen.count(c2.name() + "|ob-2") == 1;
      },
      absl::Seconds(60));
  EXPECT_TRUE(found);
}

// ---- 8. erasure ----

TEST_F(ContactsServiceTest, EraseContactDataAcrossListsPublishesEvent) {
  auto recorder = dialgrid::testing::TopicRecorder::Start(platform_->broker().bootstrap(), {"contacts"});
  ASSERT_TRUE(recorder.ok()) << recorder.status();

  v1::ContactList l1 = CreateList(*a_, "ct-a", "erase-1");
  v1::ContactList l2 = CreateList(*a_, "ct-a", "erase-2");
  v1::ContactList lb = CreateList(*b_, "ct-b", "erase-b");
  v1::Contact p1 = NewContact("x-1", "+1 650 253 0077");
  p1.add_phones()->mutable_number()->set_e164("+1 212 201 0078");
  v1::Contact e1 = CreateContact(*a_, l1.name(), p1);
  v1::Contact e2 =
      CreateContact(*a_, l2.name(), NewContact("x-2", "650-253-0077"));
  v1::Contact keep =
      CreateContact(*a_, l1.name(), NewContact("x-3", "+1 650 253 0079"));
  v1::Contact other_tenant =
      CreateContact(*b_, lb.name(), NewContact("x-1", "+1 650 253 0077"));
  ASSERT_FALSE(e1.name().empty());
  ASSERT_FALSE(e2.name().empty());

  v1::EraseContactDataRequest req;
  req.set_parent("tenants/ct-a");
  req.set_phone_number("(650) 253-0077");
  req.set_default_country("US");
  v1::EraseContactDataResponse resp;
  grpc::Status st = stub()->EraseContactData(Ctx(*a_).get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::set<std::string> erased(resp.erased_contacts().begin(),
                               resp.erased_contacts().end());
  EXPECT_EQ(erased, (std::set<std::string>{e1.name(), e2.name()}));
  std::set<std::string> dnc(resp.do_not_call_numbers().begin(),
                            resp.do_not_call_numbers().end());
  EXPECT_EQ(dnc, (std::set<std::string>{"+16502530077", "+12122010078"}));

  v1::Contact out;
  for (const auto &name : {e1.name(), e2.name()}) {
    v1::GetContactRequest get;
    get.set_name(name);
    EXPECT_RPC_ERROR(stub()->GetContact(Ctx(*a_).get(), get, &out), NOT_FOUND,
                     "CONTACT_NOT_FOUND");
  }
  EXPECT_EQ(Count(*a_, l1.name()), 1);
  EXPECT_EQ(Count(*a_, l2.name()), 0);
  EXPECT_TRUE(ListAll(*a_, l2.name(), "phone = \"+16502530077\"").empty());
  v1::GetContactRequest get;
  get.set_name(keep.name());
  EXPECT_TRUE(stub()->GetContact(Ctx(*a_).get(), get, &out).ok());
  // Another tenant's contact with the same number is not touched.
  get.set_name(other_tenant.name());
  EXPECT_TRUE(stub()->GetContact(Ctx(*b_).get(), get, &out).ok());
  EXPECT_EQ(Count(*b_, lb.name()), 1);

  // By external id as well.
  v1::EraseContactDataRequest by_id;
  by_id.set_parent("tenants/ct-a");
  by_id.set_external_id("x-3");
  ASSERT_TRUE(stub()->EraseContactData(Ctx(*a_).get(), by_id, &resp).ok());
  EXPECT_EQ(std::vector<std::string>(resp.erased_contacts().begin(),
                                     resp.erased_contacts().end()),
            std::vector<std::string>{keep.name()});
  EXPECT_EQ(Count(*a_, l1.name()), 0);

  // The opt-out reached the contacts topic.
  bool found = (*recorder)->WaitFor([&](const std::vector<event::v1::Envelope> &events) {
    bool seen = false;
    for (const auto &e : events) {
      if (e.type() != "dialgrid.contacts.v1.ContactErased" ||
          e.tenant() != "ct-a")
        continue;
      v1::ContactErased ev;
      if (!e.payload().UnpackTo(&ev))
        continue;
      std::set<std::string> numbers(ev.do_not_call_numbers().begin(),
                                    ev.do_not_call_numbers().end());
      if (!numbers.count("+16502530077"))
        continue;
      seen = true;
      EXPECT_EQ(e.subject(), "tenants/ct-a");
      EXPECT_EQ(
          std::set<std::string>(ev.contacts().begin(), ev.contacts().end()),
          erased);
    }
    return seen;
  });
  EXPECT_TRUE(found)
      << "no ContactErased event with the number on topic contacts";
}

// ---- 9. export ----

TEST_F(ContactsServiceTest, ExportStreamsCsv) {
  v1::ContactList list = CreateList(*a_, "ct-a", "export-1");
  // 300 rows with 1 KiB attributes: the export takes more than one chunk.
  std::string csv = "external_id,first,last,phone,priority,plan,blob\n";
  for (int i = 1; i <= 300; ++i) {
    csv +=
        absl::StrCat("x", i, ",\"First, ", i, "\",Last", i, ",+1 212 202 ",
                     absl::StrFormat("%04d", i), ",", i % 10, ",",
                     i % 3 == 0 ? "gold" : "silver", ",",
                     std::string(1000, static_cast<char>('a' + i % 26)), "\n");
  }
  v1::ImportHeader h = CsvHeader(list.name(), "export-imp");
  (*h.mutable_mapping()->mutable_attributes())["blob"] = "blob";
  ImportResult imp = Import(*a_, h, {csv});
  ASSERT_TRUE(imp.status.ok()) << imp.status.error_message();
  ASSERT_EQ(imp.report.rows_accepted(), 300);
  ASSERT_EQ(Count(*a_, list.name()), 300);

  ExportResult all = Export(*a_, list.name());
  ASSERT_TRUE(all.status.ok()) << all.status.error_message();
  EXPECT_GE(all.chunks, 2);
  auto rows = ParseCsv(all.csv);
  ASSERT_FALSE(rows.empty());
  const std::vector<std::string> header = rows[0];
  EXPECT_EQ(header,
            (std::vector<std::string>{
                "name", "external_id", "first_name", "last_name", "phones",
                "time_zone", "candidate_time_zones", "postal_code", "region",
                "country", "priority", "status", "attempts", "last_outcome",
                "next_callable_time", "attributes"}));
  EXPECT_EQ(rows.size() - 1, 300u);
  auto col = [&](const std::string &n) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), n) -
                               header.begin());
  };
  std::set<std::string> names, ids;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    names.insert(rows[i][col("name")]);
    ids.insert(rows[i][col("external_id")]);
    EXPECT_TRUE(absl::StartsWith(rows[i][col("first_name")], "First, "))
        << rows[i][col("first_name")];
    EXPECT_EQ(rows[i][col("status")], "CALLABLE");
    EXPECT_TRUE(absl::StartsWith(rows[i][col("phones")], "+1212202"))
        << rows[i][col("phones")];
  }
  EXPECT_EQ(names.size(), 300u);
  EXPECT_EQ(ids.size(), 300u);
  EXPECT_EQ(ids.count("x7"), 1u);

  ExportResult gold = Export(*a_, list.name(), "attributes.plan = \"gold\"");
  ASSERT_TRUE(gold.status.ok()) << gold.status.error_message();
  auto gold_rows = ParseCsv(gold.csv);
  ASSERT_FALSE(gold_rows.empty());
  EXPECT_EQ(gold_rows[0], header);
  EXPECT_EQ(gold_rows.size() - 1, 100u);
  for (size_t i = 1; i < gold_rows.size(); ++i) {
    ASSERT_EQ(gold_rows[i].size(), header.size());
    EXPECT_TRUE(absl::StrContains(gold_rows[i][col("attributes")], "plan=gold"))
        << gold_rows[i][col("attributes")].substr(0, 80);
  }
  ExportResult one = Export(*a_, list.name(), "external_id = \"x42\"");
  ASSERT_TRUE(one.status.ok());
  auto one_rows = ParseCsv(one.csv);
  ASSERT_EQ(one_rows.size(), 2u);
  EXPECT_EQ(one_rows[1][col("first_name")], "First, 42");
  EXPECT_EQ(one_rows[1][col("phones")], "+12122020042");

  ExportResult bad = Export(*a_, list.name(), "nonsense");
  EXPECT_EQ(bad.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(bad.status)), "INVALID_FILTER");
  ExportResult missing = Export(*a_, ListName("ct-a", "no-such-list"));
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.csv, "");
}

// ---- 10. tenant isolation ----

TEST_F(ContactsServiceTest, TenantIsolationOnEveryRpc) {
  // Tenant B's data, and a lease it holds.
  v1::ContactList lb = CreateList(*b_, "ct-b", "iso-b", "B's list");
  v1::Contact cb = CreateContact(*b_, lb.name(),
                                 NewContact("b-1", "+1 212 201 0901", "gold"));
  CreateContact(*b_, lb.name(), NewContact("b-2", "+1 212 201 0902"));
  v1::LeaseContactsResponse b_lease;
  ASSERT_TRUE(Lease(*b_, lb.name(), 1, &b_lease).ok());
  ASSERT_EQ(b_lease.leases_size(), 1);
  const std::string b_leased = b_lease.leases(0).contact().name();
  const std::string b_lease_id = b_lease.leases(0).lease_id();
  CreateList(*a_, "ct-a", "iso-a");

  for (const std::string &tenant :
       {std::string("ct-b"), std::string("no-such-tenant")}) {
    SCOPED_TRACE(tenant);
    const std::string parent = "tenants/" + tenant;
    const std::string list = ListName(tenant, "iso-b");
    const std::string contact =
        tenant == "ct-b" ? cb.name() : list + "/contacts/c1";
    const std::string leased_name = tenant == "ct-b" ? b_leased : contact;
    v1::ContactList cl;
    v1::Contact c;
    {
      v1::CreateContactListRequest req;
      req.set_parent(parent);
      req.set_contact_list_id("planted");
      req.mutable_contact_list()->set_display_name("x");
      EXPECT_RPC_ERROR(stub()->CreateContactList(Ctx(*a_).get(), req, &cl),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
    }
    {
      v1::GetContactListRequest req;
      req.set_name(list);
      EXPECT_RPC_ERROR(stub()->GetContactList(Ctx(*a_).get(), req, &cl),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
      EXPECT_EQ(cl.name(), "");
    }
    {
      v1::ListContactListsRequest req;
      req.set_parent(parent);
      v1::ListContactListsResponse resp;
      EXPECT_RPC_ERROR(stub()->ListContactLists(Ctx(*a_).get(), req, &resp),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
      EXPECT_EQ(resp.contact_lists_size(), 0);
    }
    {
      v1::UpdateContactListRequest req;
      req.mutable_contact_list()->set_name(list);
      req.mutable_contact_list()->set_display_name("pwned");
      req.mutable_update_mask()->add_paths("display_name");
      EXPECT_RPC_ERROR(stub()->UpdateContactList(Ctx(*a_).get(), req, &cl),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
    }
    {
      v1::DeleteContactListRequest req;
      req.set_name(list);
      v1::DeleteContactListResponse resp;
      EXPECT_RPC_ERROR(stub()->DeleteContactList(Ctx(*a_).get(), req, &resp),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
    }
    {
      v1::CreateContactRequest req;
      req.set_parent(list);
      *req.mutable_contact() = NewContact("planted", "+1 212 201 0999");
      EXPECT_RPC_ERROR(stub()->CreateContact(Ctx(*a_).get(), req, &c),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
    }
    {
      v1::GetContactRequest req;
      req.set_name(contact);
      EXPECT_RPC_ERROR(stub()->GetContact(Ctx(*a_).get(), req, &c),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
      EXPECT_EQ(c.name(), "");
    }
    {
      v1::ListContactsRequest req;
      req.set_parent(list);
      v1::ListContactsResponse resp;
      EXPECT_RPC_ERROR(stub()->ListContacts(Ctx(*a_).get(), req, &resp),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
      EXPECT_EQ(resp.contacts_size(), 0);
    }
    {
      v1::UpdateContactRequest req;
      req.mutable_contact()->set_name(contact);
      req.mutable_contact()->set_first_name("pwned");
      req.mutable_update_mask()->add_paths("first_name");
      EXPECT_RPC_ERROR(stub()->UpdateContact(Ctx(*a_).get(), req, &c),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
    }
    {
      v1::DeleteContactRequest req;
      req.set_name(contact);
      v1::DeleteContactResponse resp;
      EXPECT_RPC_ERROR(stub()->DeleteContact(Ctx(*a_).get(), req, &resp),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
    }
    {
      v1::ImportHeader h = CsvHeader(list, "planted");
      ImportResult r =
          Import(*a_, h, {absl::StrCat(kCsvHeader, Rows(1, 2, "pl", 9))});
      EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << r.status.error_message();
      EXPECT_EQ(ReasonOf(FromGrpcStatus(r.status)), "TENANT_MISMATCH");
      EXPECT_EQ(r.report.rows_read(), 0);
    }
    {
      ExportResult r = Export(*a_, list);
      EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << r.status.error_message();
      EXPECT_EQ(ReasonOf(FromGrpcStatus(r.status)), "TENANT_MISMATCH");
      EXPECT_EQ(r.csv, "");
    }
    {
      v1::EraseContactDataRequest req;
      req.set_parent(parent);
      req.set_phone_number("+1 212 201 0901");
      v1::EraseContactDataResponse resp;
      EXPECT_RPC_ERROR(stub()->EraseContactData(Ctx(*a_).get(), req, &resp),
                       PERMISSION_DENIED, "TENANT_MISMATCH");
      EXPECT_EQ(resp.erased_contacts_size(), 0);
    }
    {
      v1::LeaseContactsResponse resp;
      EXPECT_RPC_ERROR(Lease(*a_, list, 10, &resp), PERMISSION_DENIED,
                       "TENANT_MISMATCH");
      EXPECT_EQ(resp.leases_size(), 0);
    }
    EXPECT_RPC_ERROR(Report(*a_, leased_name, b_lease_id,
                            v1::OUTCOME_KIND_DO_NOT_CALL, "X", &c),
                     PERMISSION_DENIED, "TENANT_MISMATCH");
  }

  // Tenant B's data is intact.
  v1::ContactList after = GetList(*b_, lb.name());
  EXPECT_EQ(after.display_name(), "B's list");
  EXPECT_EQ(Count(*b_, lb.name()), 2);
  EXPECT_EQ(Count(*b_, lb.name(), "status = LEASED"), 1);
  EXPECT_EQ(Count(*b_, lb.name(), "status = CALLABLE"), 1);
  v1::GetContactRequest get;
  get.set_name(cb.name());
  v1::Contact c;
  ASSERT_TRUE(stub()->GetContact(Ctx(*b_).get(), get, &c).ok());
  EXPECT_EQ(c.first_name(), cb.first_name());
  v1::ListContactListsRequest lists;
  lists.set_parent("tenants/ct-b");
  v1::ListContactListsResponse lresp;
  ASSERT_TRUE(stub()->ListContactLists(Ctx(*b_).get(), lists, &lresp).ok());
  bool has_list = false;
  for (const auto &l : lresp.contact_lists()) {
    has_list = has_list || l.name() == lb.name();
    EXPECT_FALSE(absl::StrContains(l.name(), "planted")) << l.name();
  }
  EXPECT_TRUE(has_list);
  // B's lease still stands.
  ASSERT_TRUE(
      Report(*b_, b_leased, b_lease_id, v1::OUTCOME_KIND_RELEASED, "", &c)
          .ok());

  // No credential at all: UNAUTHENTICATED on every RPC.
  const std::string list = ListName("ct-a", "iso-a");
  const std::string contact = list + "/contacts/c1";
  const std::string none;
  v1::ContactList cl;
  v1::Contact ct;
  {
    v1::CreateContactListRequest req;
    req.set_parent("tenants/ct-a");
    req.set_contact_list_id("anon");
    req.mutable_contact_list()->set_display_name("x");
    EXPECT_RPC_ERROR(stub()->CreateContactList(Ctx(none).get(), req, &cl),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::GetContactListRequest req;
    req.set_name(list);
    EXPECT_RPC_ERROR(stub()->GetContactList(Ctx(none).get(), req, &cl),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::ListContactListsRequest req;
    req.set_parent("tenants/ct-a");
    v1::ListContactListsResponse resp;
    EXPECT_RPC_ERROR(stub()->ListContactLists(Ctx(none).get(), req, &resp),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::UpdateContactListRequest req;
    req.mutable_contact_list()->set_name(list);
    req.mutable_contact_list()->set_display_name("anon");
    EXPECT_RPC_ERROR(stub()->UpdateContactList(Ctx(none).get(), req, &cl),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::DeleteContactListRequest req;
    req.set_name(list);
    v1::DeleteContactListResponse resp;
    EXPECT_RPC_ERROR(stub()->DeleteContactList(Ctx(none).get(), req, &resp),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::CreateContactRequest req;
    req.set_parent(list);
    *req.mutable_contact() = NewContact("anon", "+1 212 201 0998");
    EXPECT_RPC_ERROR(stub()->CreateContact(Ctx(none).get(), req, &ct),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::GetContactRequest req;
    req.set_name(contact);
    EXPECT_RPC_ERROR(stub()->GetContact(Ctx(none).get(), req, &ct),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::ListContactsRequest req;
    req.set_parent(list);
    v1::ListContactsResponse resp;
    EXPECT_RPC_ERROR(stub()->ListContacts(Ctx(none).get(), req, &resp),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::UpdateContactRequest req;
    req.mutable_contact()->set_name(contact);
    EXPECT_RPC_ERROR(stub()->UpdateContact(Ctx(none).get(), req, &ct),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::DeleteContactRequest req;
    req.set_name(contact);
    v1::DeleteContactResponse resp;
    EXPECT_RPC_ERROR(stub()->DeleteContact(Ctx(none).get(), req, &resp),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    ImportResult r = Import(none, CsvHeader(list, "anon"),
                            {absl::StrCat(kCsvHeader, Rows(1, 2, "an", 9))});
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << r.status.error_message();
    EXPECT_EQ(ReasonOf(FromGrpcStatus(r.status)), "MISSING_CREDENTIAL");
  }
  {
    ExportResult r = Export(none, list);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << r.status.error_message();
    EXPECT_EQ(r.csv, "");
  }
  {
    v1::EraseContactDataRequest req;
    req.set_parent("tenants/ct-a");
    req.set_external_id("anything");
    v1::EraseContactDataResponse resp;
    EXPECT_RPC_ERROR(stub()->EraseContactData(Ctx(none).get(), req, &resp),
                     UNAUTHENTICATED, "MISSING_CREDENTIAL");
  }
  {
    v1::LeaseContactsResponse resp;
    EXPECT_RPC_ERROR(Lease(none, list, 1, &resp), UNAUTHENTICATED,
                     "MISSING_CREDENTIAL");
  }
  EXPECT_RPC_ERROR(Report(none, contact, "0123456789abcdef01234567",
                          v1::OUTCOME_KIND_COMPLETED, "X", &ct),
                   UNAUTHENTICATED, "MISSING_CREDENTIAL");
  EXPECT_EQ(Count(*a_, list), 0);
}

// proto3 enums are open: every enum field of every request, set to a number
// its enum does not define, is refused naming the field.
TEST_F(ContactsServiceTest, EveryUndefinedEnumValueOfEveryRequestIsRefused) {
  const std::string list = ListName("ct-a", "enum-l");
  std::map<std::string, dialgrid::testing::EnumProbeCase> cases = {
      {"CreateContactList", {"parent: \"tenants/ct-a\"", *a_}},
      {"GetContactList", {"name: \"" + list + "\"", *a_}},
      {"ListContactLists", {"parent: \"tenants/ct-a\"", *a_}},
      {"UpdateContactList", {"contact_list { name: \"" + list + "\" }", *a_}},
      {"DeleteContactList", {"name: \"" + list + "\"", *a_}},
      {"CreateContact", {"parent: \"" + list + "\"", *a_}},
      {"GetContact", {"name: \"" + list + "/contacts/c1\"", *a_}},
      {"ListContacts", {"parent: \"" + list + "\"", *a_}},
      {"UpdateContact", {"contact { name: \"" + list + "/contacts/c1\" }", *a_}},
      {"DeleteContact", {"name: \"" + list + "/contacts/c1\"", *a_}},
      {"EraseContactData", {"parent: \"tenants/ct-a\"", *a_}},
      {"LeaseContacts", {"parent: \"" + list + "\"", *a_}},
      {"ReportOutcome", {"name: \"" + list + "/contacts/c1\"", *a_}},
  };
  std::vector<std::string> problems =
      dialgrid::testing::ProbeEnums(*channel_, *v1::CreateContactRequest::descriptor()->file()->FindServiceByName("ContactsService"), cases);
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
}

// Regression: CreateContact took a phone string far past the documented
// 40-character limit (the NANP fast path skipped the check), and names with
// NUL or a text-direction override (U+202E) were stored as given. Each is
// INVALID_ARGUMENT with its reason, an import rejects such rows and goes on,
// and no error message repeats the offending text.
TEST_F(ContactsServiceTest, CreateContactRefusesLongPhoneAndUnsafeText) {
  v1::ContactList list = CreateList(*a_, "ct-a", "unsafe-text");
  const std::string long_phone = "+1" + std::string(60, ' ') + "212 201 0601";
  const std::string bad_name = std::string("Ann\u202E" "evil\0X", 11);
  ASSERT_EQ(bad_name.find('\0'), 10u);
  auto create = [&](const v1::Contact &c) {
    v1::CreateContactRequest req;
    req.set_parent(list.name());
    *req.mutable_contact() = c;
    v1::Contact out;
    return stub()->CreateContact(Ctx(*a_).get(), req, &out);
  };
  {
    v1::Contact c = NewContact("ut-1", long_phone);
    grpc::Status st = create(c);
    EXPECT_RPC_ERROR(st, INVALID_ARGUMENT, "INVALID_PHONE_NUMBER");
    EXPECT_EQ(FieldOf(FromGrpcStatus(st)), "phone");
  }
  {
    v1::Contact c = NewContact("ut-2", "+1 212 201 0602");
    c.set_first_name(bad_name);
    grpc::Status st = create(c);
    EXPECT_RPC_ERROR(st, INVALID_ARGUMENT, "INVALID_TEXT");
    EXPECT_EQ(FieldOf(FromGrpcStatus(st)), "first_name");
    EXPECT_FALSE(absl::StrContains(st.error_message(), "evil"))
        << st.error_message();
  }
  {
    v1::Contact c = NewContact("ut-3", "+1 212 201 0603");
    c.set_last_name(std::string("Lee\0", 4));
    EXPECT_RPC_ERROR(create(c), INVALID_ARGUMENT, "INVALID_TEXT");
  }
  {
    v1::Contact c = NewContact("ut-4\u202E", "+1 212 201 0604");
    EXPECT_RPC_ERROR(create(c), INVALID_ARGUMENT, "INVALID_TEXT");
  }
  {
    // Both at once: one error, the text fields being checked first.
    v1::Contact c = NewContact("ut-5", long_phone);
    c.set_first_name(bad_name);
    EXPECT_RPC_ERROR(create(c), INVALID_ARGUMENT, "INVALID_TEXT");
  }
  {
    v1::CreateContactListRequest req;
    req.set_parent("tenants/ct-a");
    req.set_contact_list_id("unsafe-list");
    req.mutable_contact_list()->set_display_name("List \u202E" "evil");
    v1::ContactList out;
    EXPECT_RPC_ERROR(stub()->CreateContactList(Ctx(*a_).get(), req, &out),
                     INVALID_ARGUMENT, "INVALID_TEXT");
    v1::UpdateContactListRequest up;
    up.mutable_contact_list()->set_name(list.name());
    up.mutable_contact_list()->set_display_name(std::string("List\0", 5));
    up.mutable_update_mask()->add_paths("display_name");
    EXPECT_RPC_ERROR(stub()->UpdateContactList(Ctx(*a_).get(), up, &out),
                     INVALID_ARGUMENT, "INVALID_TEXT");
  }
  EXPECT_EQ(Count(*a_, list.name()), 0);

  // The same rows in an import are rejected one by one.
  std::string csv = absl::StrCat(
      kCsvHeader, "ui-1,Ok,One,+1 212 201 0611,1,gold\n",
      "ui-2,Long,Phone,+1", std::string(60, ' '), "212 201 0612,1,gold\n",
      "ui-3,Ann\u202E" "evil,Two,+1 212 201 0613,1,gold\n",
      "ui-4,", std::string("Nul\0Name", 8), ",Three,+1 212 201 0614,1,gold\n",
      "ui-5,Ok,Five,+1 212 201 0615,1,gold\n");
  ImportResult r = Import(*a_, CsvHeader(list.name(), "unsafe-1"), {csv});
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.report.rows_read(), 5);
  EXPECT_EQ(r.report.rows_accepted(), 2);
  EXPECT_EQ(r.report.rows_rejected(), 3);
  std::map<int64_t, std::string> rejected;
  for (const auto &rj : r.report.rejections()) {
    rejected[rj.row()] = rj.reason();
    EXPECT_FALSE(absl::StrContains(rj.message(), "evil")) << rj.message();
  }
  EXPECT_EQ(rejected,
            (std::map<int64_t, std::string>{{2, "INVALID_PHONE_NUMBER"},
                                            {3, "INVALID_TEXT"},
                                            {4, "INVALID_TEXT"}}));
  auto by_id = ByExternalId(ListAll(*a_, list.name()));
  EXPECT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id.count("ui-1"), 1u);
  EXPECT_EQ(by_id.count("ui-5"), 1u);
}

} // namespace
} // namespace dialgrid::contacts
