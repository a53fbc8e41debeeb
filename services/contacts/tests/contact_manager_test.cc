// Unit tests of the contacts application logic on the in-memory store
// (services/contacts/testing/memory_contact_store.h): no Redis, no gRPC,
// virtual time.
#include "services/contacts/application/contact_manager.h"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>

#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/contacts/application/import_session.h"
#include "services/contacts/testing/memory_contact_store.h"

namespace dialgrid::contacts {
namespace {

std::shared_ptr<const geo::ZoneResolver> Zones() {
  static auto* r = new std::shared_ptr<const geo::ZoneResolver>(
      *geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab"));
  return *r;
}

class ContactManagerTest : public ::testing::Test {
 protected:
  ContactManagerTest()
      : store_(std::make_shared<MemoryContactStore>()),
        manager_(
            store_, Zones(), [](const std::string&) { return int64_t{-1}; }, clock_,
            "contacts-test") {}

  void SetUp() override {
    for (const char* id : {"a", "b"}) {
      v1::CreateContactListRequest req;
      req.set_parent("tenants/acme");
      req.set_contact_list_id(id);
      req.mutable_contact_list()->set_display_name(id);
      ASSERT_TRUE(manager_.CreateContactList(req).ok());
    }
  }

  v1::CreateContactRequest NewContact(const std::string& list, const std::string& external_id,
                                      const std::string& phone, int priority = 0) {
    v1::CreateContactRequest req;
    req.set_parent("tenants/acme/contactLists/" + list);
    auto* c = req.mutable_contact();
    c->set_external_id(external_id);
    c->set_first_name("Ann");
    c->add_phones()->mutable_number()->set_e164(phone);
    c->set_priority(priority);
    return req;
  }

  v1::Contact Create(const std::string& list, const std::string& external_id,
                     const std::string& phone, int priority = 0) {
    auto c = manager_.CreateContact(NewContact(list, external_id, phone, priority));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : v1::Contact();
  }

  v1::LeaseContactsResponse Lease(int count, const std::string& list = "a") {
    v1::LeaseContactsRequest req;
    req.set_parent("tenants/acme/contactLists/" + list);
    req.set_count(count);
    req.set_holder("dialer-1");
    req.mutable_lease_duration()->set_seconds(60);
    auto r = manager_.LeaseContacts(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::LeaseContactsResponse();
  }

  absl::StatusOr<v1::Contact> Report(const std::string& name, const std::string& lease_id,
                                     v1::OutcomeKind kind) {
    v1::ReportOutcomeRequest req;
    req.set_name(name);
    req.set_lease_id(lease_id);
    req.set_kind(kind);
    req.set_outcome("no-answer");
    return manager_.ReportOutcome(req);
  }

  absl::StatusOr<v1::ImportReport> Import(const std::string& import_id, const std::string& csv,
                                          int64_t expected_rows = 0) {
    v1::ImportHeader h;
    h.set_parent("tenants/acme/contactLists/a");
    h.set_import_id(import_id);
    h.set_expected_rows(expected_rows);
    h.set_default_country("US");
    h.mutable_mapping()->set_external_id("id");
    h.mutable_mapping()->set_first_name("name");
    h.mutable_mapping()->add_phones("phone");
    auto session = manager_.StartImport(h);
    if (!session.ok()) return session.status();
    absl::Status st = (*session)->Feed(csv);
    if (!st.ok()) return st;
    return (*session)->Finish();
  }

  FakeClock clock_;
  std::shared_ptr<MemoryContactStore> store_;
  ContactManager manager_;
};

TEST_F(ContactManagerTest, ReimportUpdatesDataButKeepsDialingState) {
  auto first = Import("i1", "id,name,phone\ncrm-1,Ann,+14155550101\ncrm-2,Bob,+14155550102\n");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->rows_accepted(), 2);
  // crm-1 is dialed and completed.
  auto leases = Lease(2);
  ASSERT_EQ(leases.leases_size(), 2);
  std::string name, lease_id;
  for (const auto& l : leases.leases()) {
    if (l.contact().external_id() == "crm-1") {
      name = l.contact().name();
      lease_id = l.lease_id();
    }
  }
  ASSERT_TRUE(Report(name, lease_id, v1::OUTCOME_KIND_COMPLETED).ok());

  clock_.Advance(absl::Minutes(1));
  auto again = Import("i2", "id,name,phone\ncrm-1,Annie,+14155550199\n");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->rows_updated(), 1);
  EXPECT_EQ(again->rows_accepted(), 0);
  v1::GetContactRequest get;
  get.set_name(name);
  auto c = manager_.GetContact(get);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->first_name(), "Annie");  // data replaced
  EXPECT_EQ(c->phones(0).number().e164(), "+14155550199");
  EXPECT_EQ(c->status(), v1::CONTACT_STATUS_COMPLETED);  // not revived
  EXPECT_EQ(c->attempts(), 1);
  // The old number no longer finds it, the new one does.
  auto old_refs = store_->FindAcrossLists("acme", "+14155550101", "");
  auto new_refs = store_->FindAcrossLists("acme", "+14155550199", "");
  EXPECT_TRUE(old_refs->empty());
  EXPECT_EQ(new_refs->size(), 1u);
}

TEST_F(ContactManagerTest, DuplicateRowsInOneBatchMergeLaterWins) {
  auto r = Import("i1", "id,name,phone\ncrm-1,Ann,+14155550101\ncrm-1,Ann2,+14155550101\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_accepted(), 1);
  EXPECT_EQ(r->duplicates_merged(), 1);
  EXPECT_EQ(store_->ContactsOf("acme"), 1);
}

TEST_F(ContactManagerTest, ExpectedRowsSizesTheIndexesOnceBeforeTheFirstBatch) {
  const std::string csv = "id,name,phone\ncrm-1,Ann,+14155550101\ncrm-2,Bob,+14155550102\n";
  auto r = Import("i1", csv, 50000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_accepted(), 2);
  EXPECT_EQ(store_->ReservedFor("acme", "a"), std::vector<int64_t>{50000});
  // Without a hint nothing is reserved (the indexes grow with the writes).
  ASSERT_TRUE(Import("i2", "id,name,phone\ncrm-3,Cy,+14155550103\n").ok());
  EXPECT_EQ(store_->ReservedFor("acme", "a"), std::vector<int64_t>{50000});
}

TEST_F(ContactManagerTest, ExpectedRowsLessTheRowsAResumedImportCommitted) {
  const std::string csv = "id,name,phone\ncrm-1,Ann,+14155550101\ncrm-2,Bob,+14155550102\n";
  ASSERT_TRUE(Import("i1", csv).ok());
  // The same import id again: 2 rows are committed already, 3 of 5 remain.
  auto r = Import("i1", csv + "crm-3,Cy,+14155550103\n", 5);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_skipped(), 2);
  EXPECT_EQ(r->rows_accepted(), 1);
  EXPECT_EQ(store_->ReservedFor("acme", "a"), std::vector<int64_t>{3});
  // A hint below what is committed already reserves nothing.
  ASSERT_TRUE(Import("i1", csv, 1).ok());
  EXPECT_EQ(store_->ReservedFor("acme", "a"), std::vector<int64_t>{3});
}

TEST_F(ContactManagerTest, AbsurdOrNegativeExpectedRowsAreCappedAndHarmless) {
  const std::string csv = "id,name,phone\ncrm-1,Ann,+14155550101\n";
  auto r = Import("i1", csv, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_accepted(), 1);
  EXPECT_EQ(store_->ReservedFor("acme", "a"),
            std::vector<int64_t>{ImportSession::kMaxExpectedRows});
  auto neg = Import("i2", "id,name,phone\ncrm-2,Bob,+14155550102\n", -7);
  ASSERT_TRUE(neg.ok()) << neg.status();
  EXPECT_EQ(neg->rows_accepted(), 1);
  EXPECT_EQ(store_->ReservedFor("acme", "a").size(), 1u);  // no reservation for -7
  EXPECT_EQ(store_->ContactsOf("acme"), 2);
}

TEST_F(ContactManagerTest, LeaseGoesByPriorityAndOutcomesMoveStatus) {
  v1::Contact low = Create("a", "low", "+14155550101", 1);
  v1::Contact high = Create("a", "high", "+14155550102", 7);
  auto first = Lease(1);
  ASSERT_EQ(first.leases_size(), 1);
  EXPECT_EQ(first.leases(0).contact().name(), high.name());
  EXPECT_EQ(first.leases(0).contact().status(), v1::CONTACT_STATUS_LEASED);

  // A wrong lease id changes nothing.
  auto wrong = Report(high.name(), "not-the-lease", v1::OUTCOME_KIND_COMPLETED);
  EXPECT_EQ(ReasonOf(wrong.status()), "LEASE_NOT_HELD");

  // RETRY: back in the queue, one attempt counted.
  auto retried = Report(high.name(), first.leases(0).lease_id(), v1::OUTCOME_KIND_RETRY);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->status(), v1::CONTACT_STATUS_CALLABLE);
  EXPECT_EQ(retried->attempts(), 1);
  EXPECT_EQ(retried->last_outcome(), "no-answer");
  // The same lease cannot report twice.
  auto twice = Report(high.name(), first.leases(0).lease_id(), v1::OUTCOME_KIND_COMPLETED);
  EXPECT_EQ(ReasonOf(twice.status()), "LEASE_NOT_HELD");

  // Both due now: high first again, then low.
  auto both = Lease(5);
  ASSERT_EQ(both.leases_size(), 2);
  EXPECT_EQ(both.leases(0).contact().name(), high.name());
  EXPECT_EQ(both.leases(1).contact().name(), low.name());
  EXPECT_EQ(Lease(5).leases_size(), 0);  // nothing left to lease

  // DO_NOT_CALL: the opt-out event is stored, the contact is out of the queue.
  auto dnc = Report(low.name(), both.leases(1).lease_id(), v1::OUTCOME_KIND_DO_NOT_CALL);
  ASSERT_TRUE(dnc.ok()) << dnc.status();
  EXPECT_EQ(dnc->status(), v1::CONTACT_STATUS_DO_NOT_CALL);
  bool opted_out = false;
  for (const auto& e : store_->OutboxOf("acme")) {
    v1::ContactOptedOut ev;
    if (e.payload().UnpackTo(&ev) && e.payload().Is<v1::ContactOptedOut>()) {
      opted_out = ev.contact() == low.name() && ev.do_not_call_numbers_size() == 1 &&
                  ev.do_not_call_numbers(0) == "+14155550101";
    }
  }
  EXPECT_TRUE(opted_out);
  auto* low_seq = &low;
  (void)low_seq;
  v1::GetContactListRequest get;
  get.set_name("tenants/acme/contactLists/a");
  auto list = manager_.GetContactList(get);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->counts_by_status().at("DO_NOT_CALL"), 1);
  EXPECT_EQ(list->counts_by_status().at("LEASED"), 1);  // high is still leased
}

TEST_F(ContactManagerTest, ExpiredLeaseIsNotHeldAndReturnsToTheQueue) {
  v1::Contact c = Create("a", "x1", "+14155550101");
  auto leased = Lease(1);
  ASSERT_EQ(leased.leases_size(), 1);
  clock_.Advance(absl::Seconds(61));  // the lease was for 60 s
  auto late = Report(c.name(), leased.leases(0).lease_id(), v1::OUTCOME_KIND_COMPLETED);
  EXPECT_EQ(ReasonOf(late.status()), "LEASE_NOT_HELD");
  auto again = Lease(1);
  ASSERT_EQ(again.leases_size(), 1);
  EXPECT_EQ(again.leases(0).contact().name(), c.name());
  EXPECT_NE(again.leases(0).lease_id(), leased.leases(0).lease_id());
}

TEST_F(ContactManagerTest, ErasureByPhoneRemovesEveryListsContactAndStoresTheOptOut) {
  v1::Contact in_a = Create("a", "p1", "+14155550101");
  v1::Contact in_b = Create("b", "p9", "+14155550101");
  v1::Contact other = Create("a", "p2", "+14155550102");
  v1::EraseContactDataRequest req;
  req.set_parent("tenants/acme");
  req.set_phone_number("+1 415 555 0101");
  auto r = manager_.EraseContactData(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->erased_contacts_size(), 2);
  ASSERT_EQ(r->do_not_call_numbers_size(), 1);
  EXPECT_EQ(r->do_not_call_numbers(0), "+14155550101");
  for (const auto& name : {in_a.name(), in_b.name()}) {
    v1::GetContactRequest get;
    get.set_name(name);
    EXPECT_EQ(ReasonOf(manager_.GetContact(get).status()), "CONTACT_NOT_FOUND") << name;
  }
  v1::GetContactRequest get;
  get.set_name(other.name());
  EXPECT_TRUE(manager_.GetContact(get).ok());
  EXPECT_EQ(store_->ContactsOf("acme"), 1);
  // The erasure's event names both contacts.
  int erased_events = 0;
  for (const auto& e : store_->OutboxOf("acme")) {
    v1::ContactErased ev;
    if (e.payload().Is<v1::ContactErased>() && e.payload().UnpackTo(&ev)) {
      ++erased_events;
      EXPECT_EQ(ev.contacts_size(), 2);
    }
  }
  EXPECT_EQ(erased_events, 1);
}

TEST_F(ContactManagerTest, CreateContactWithRequestIdIsIdempotent) {
  auto req = NewContact("a", "r1", "+14155550101");
  req.set_request_id("req-123");
  auto first = manager_.CreateContact(req);
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Hours(1));
  auto retry = manager_.CreateContact(req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->name(), first->name());
  EXPECT_EQ(retry->create_time().seconds(), first->create_time().seconds());
  EXPECT_EQ(store_->ContactsOf("acme"), 1);

  // Same id, another body: refused, nothing created.
  auto other = NewContact("a", "r2", "+14155550102");
  other.set_request_id("req-123");
  auto reused = manager_.CreateContact(other);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(reused.status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(store_->ContactsOf("acme"), 1);

  // Without a request id, a second create of the same external id conflicts.
  req.clear_request_id();
  EXPECT_EQ(ReasonOf(manager_.CreateContact(req).status()), "EXTERNAL_ID_EXISTS");
}

TEST_F(ContactManagerTest, CreateContactListWithRequestIdIsIdempotent) {
  v1::CreateContactListRequest req;
  req.set_parent("tenants/acme");
  req.set_contact_list_id("c");
  req.set_request_id("req-list-1");
  req.mutable_contact_list()->set_display_name("C");
  auto first = manager_.CreateContactList(req);
  ASSERT_TRUE(first.ok()) << first.status();
  auto retry = manager_.CreateContactList(req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->name(), first->name());
  EXPECT_EQ(retry->etag(), first->etag());
  req.mutable_contact_list()->set_display_name("Other");
  EXPECT_EQ(ReasonOf(manager_.CreateContactList(req).status()), "REQUEST_ID_REUSED");
  req.clear_request_id();
  EXPECT_EQ(ReasonOf(manager_.CreateContactList(req).status()), "CONTACT_LIST_EXISTS");
  // One ContactListCreated event per list (a, b and c).
  int created = 0;
  for (const auto& e : store_->OutboxOf("acme"))
    created += e.payload().Is<v1::ContactListCreated>();
  EXPECT_EQ(created, 3);
}

TEST_F(ContactManagerTest, UpdateKeepsStatusAndRejectsATakenExternalId) {
  v1::Contact a = Create("a", "u1", "+14155550101");
  Create("a", "u2", "+14155550102");
  v1::UpdateContactRequest req;
  *req.mutable_contact() = a;
  req.mutable_contact()->set_last_name("Lee");
  req.mutable_update_mask()->add_paths("last_name");
  auto updated = manager_.UpdateContact(req);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->last_name(), "Lee");
  EXPECT_EQ(updated->status(), v1::CONTACT_STATUS_CALLABLE);
  EXPECT_EQ(updated->create_time().seconds(), a.create_time().seconds());

  *req.mutable_contact() = *updated;
  req.mutable_contact()->set_external_id("u2");
  req.mutable_update_mask()->Clear();
  req.mutable_update_mask()->add_paths("external_id");
  EXPECT_EQ(ReasonOf(manager_.UpdateContact(req).status()), "EXTERNAL_ID_EXISTS");
}

}  // namespace
}  // namespace dialgrid::contacts
