// Component tests: ContactManager with the Redis store against a real
// redis-server, for interleavings a service test cannot force. A delegating
// store runs a hook right after the store call under test, standing in for a
// concurrent writer.
#include <gtest/gtest.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "services/common/core/clock.h"
#include "services/contacts/adapters/redis_contact_store.h"
#include "services/contacts/contact_manager.h"
#include "tests/fixtures/servers.h"

namespace dialgrid::contacts {
namespace {

using dialgrid::testing::RedisServer;


// Delegates everything to the Redis store; runs `after_commit` once, right
// after the first Commit (the update step of a mixed import batch).
class InterleavingStore final : public ContactStore {
 public:
  explicit InterleavingStore(std::shared_ptr<ContactStore> inner) : inner_(std::move(inner)) {}
  std::function<void()> after_commit;

  absl::Status CreateList(const std::string& t, const std::string& l, const v1::ContactList& c,
                          const Events& e) override {
    return inner_->CreateList(t, l, c, e);
  }
  absl::Status AppendEvents(const std::string& t, const Events& e) override {
    return inner_->AppendEvents(t, e);
  }
  absl::StatusOr<v1::ContactList> GetList(const std::string& t, const std::string& l) override {
    return inner_->GetList(t, l);
  }
  absl::StatusOr<std::vector<std::string>> ListListIds(const std::string& t, const std::string& a,
                                                       int n) override {
    return inner_->ListListIds(t, a, n);
  }
  absl::Status ReplaceList(const std::string& t, const std::string& l, v1::ContactList& c,
                           const std::string& e) override {
    return inner_->ReplaceList(t, l, c, e);
  }
  absl::StatusOr<int64_t> DeleteList(const std::string& t, const std::string& l) override {
    return inner_->DeleteList(t, l);
  }
  absl::StatusOr<std::vector<int64_t>> FindByExternalIds(const std::string& t, const std::string& l,
                                                         const std::vector<std::string>& ids,
                                                         ListSnapshot* s) override {
    return inner_->FindByExternalIds(t, l, ids, s);
  }
  absl::StatusOr<std::vector<int64_t>> FindByPhones(const std::string& t, const std::string& l,
                                                    const std::vector<std::string>& p,
                                                    ListSnapshot* s) override {
    return inner_->FindByPhones(t, l, p, s);
  }
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FindAcrossLists(
      const std::string& t, const std::string& p, const std::string& x) override {
    return inner_->FindAcrossLists(t, p, x);
  }
  absl::StatusOr<std::vector<std::string>> GetContacts(const std::string& t, const std::string& l,
                                                       const std::vector<int64_t>& s) override {
    return inner_->GetContacts(t, l, s);
  }
  absl::StatusOr<bool> IsLeased(const std::string& t, const std::string& l, int64_t s) override {
    return inner_->IsLeased(t, l, s);
  }
  absl::StatusOr<std::vector<Scanned>> Scan(const std::string& t, const std::string& l, int64_t a,
                                            int n, int64_t& next) override {
    return inner_->Scan(t, l, a, n, next);
  }
  absl::StatusOr<BatchResult> Commit(const std::string& t, const std::string& l,
                                     const std::vector<ContactWrite>& w, const ImportProgress* p,
                                     int64_t m, const BatchEvents& e) override {
    auto r = inner_->Commit(t, l, w, p, m, e);
    if (after_commit) {
      auto hook = std::move(after_commit);
      after_commit = nullptr;
      hook();
    }
    return r;
  }
  absl::StatusOr<BatchResult> InsertNew(const std::string& t, const std::string& l,
                                        const std::vector<ContactWrite>& w, const ImportProgress* p,
                                        int64_t m, const std::string& s) override {
    return inner_->InsertNew(t, l, w, p, m, s);
  }
  absl::StatusOr<int64_t> ImportCommitted(const std::string& t, const std::string& l,
                                          const std::string& i) override {
    return inner_->ImportCommitted(t, l, i);
  }
  absl::StatusOr<std::vector<Lease>> LeaseDue(const std::string& t, const std::string& l, int n,
                                              absl::Time now, absl::Duration d,
                                              const std::string& h) override {
    return inner_->LeaseDue(t, l, n, now, d, h);
  }
  absl::StatusOr<Lease> LeaseOf(const std::string& t, const std::string& l, int64_t s) override {
    return inner_->LeaseOf(t, l, s);
  }
  absl::Status Ping() override { return inner_->Ping(); }

 private:
  std::shared_ptr<ContactStore> inner_;
};

class ContactManagerComponentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    redis::Options o;
    o.port = redis_->port();
    auto client = redis::Client::Create(o);
    ASSERT_TRUE(client.ok());
    std::shared_ptr<redis::Client> shared(std::move(*client));
    auto outbox = std::make_shared<events::RedisOutbox>(shared, RedisContactStore::OutboxOptions("test"));
    auto inner = std::make_shared<RedisContactStore>(shared, outbox);
    store_ = std::make_shared<InterleavingStore>(inner);
    auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
    ASSERT_TRUE(zones.ok()) << zones.status();
    manager_ = std::make_unique<ContactManager>(
        store_, *zones,
        [](const std::string&) -> absl::StatusOr<int64_t> { return 1000000; }, clock_, "test");
    v1::CreateContactListRequest req;
    req.set_parent("tenants/acme");
    req.set_contact_list_id("calls");
    req.mutable_contact_list()->set_display_name("Calls");
    ASSERT_TRUE(manager_->CreateContactList(req).ok());
  }

  // Imports `csv` (columns id,phone) with the PHONE duplicate policy.
  absl::StatusOr<v1::ImportReport> Import(const std::string& import_id, const std::string& csv) {
    v1::ImportHeader h;
    h.set_parent(kList);
    h.set_import_id(import_id);
    h.set_format(v1::IMPORT_FORMAT_CSV);
    h.set_default_country("US");
    h.set_duplicate_policy(v1::DUPLICATE_POLICY_PHONE);
    h.mutable_mapping()->set_external_id("id");
    h.mutable_mapping()->add_phones("phone");
    auto session = manager_->StartImport(h);
    if (!session.ok()) return session.status();
    absl::Status st = (*session)->Feed(csv);
    if (!st.ok()) return st;
    return (*session)->Finish();
  }

  int CountPhone(const std::string& e164) {
    v1::ListContactsRequest req;
    req.set_parent(kList);
    req.set_filter(absl::StrCat("phone = \"", e164, "\""));
    req.set_page_size(100);
    auto r = manager_->ListContacts(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->contacts_size() : -1;
  }

  static constexpr char kList[] = "tenants/acme/contactLists/calls";
  FakeClock clock_;
  std::unique_ptr<RedisServer> redis_;
  std::shared_ptr<InterleavingStore> store_;
  std::unique_ptr<ContactManager> manager_;
};

// A batch that updates one contact and inserts another: between its update
// step and its insert step, another import inserts the same new phone. With
// the PHONE policy the batch must then update that contact, not add a second
// one with the same phone.
TEST_F(ContactManagerComponentTest, PhonePolicyInsertRechecksPhonesAfterItsOwnUpdates) {
  auto first = Import("seed", "id,phone\nq-1,+12122010601\n");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(CountPhone("+12122010601"), 1);

  store_->after_commit = [this] {
    auto other = Import("other", "id,phone\nother-1,+13052010123\n");
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_EQ(other->rows_accepted(), 1);
  };
  auto mixed = Import("mixed", "id,phone\nq-2,+12122010601\np-1,+13052010123\n");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(store_->after_commit, nullptr) << "the interleaving did not happen";
  EXPECT_EQ(CountPhone("+12122010601"), 1);
  EXPECT_EQ(CountPhone("+13052010123"), 1) << "two contacts with the same phone in one list";
}

}  // namespace
}  // namespace dialgrid::contacts
