// Component tests: ContactManager with the Redis store against a real
// redis-server, for interleavings a service test cannot force. A delegating
// store runs a hook right after the store call under test, standing in for a
// concurrent writer.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/core/clock.h"
#include "services/common/core/errors.h"
#include "services/contacts/domain/hash_buckets.h"
#include "services/contacts/adapters/redis_contact_store.h"
#include "services/contacts/application/import_session.h"
#include "services/contacts/application/contact_manager.h"
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

  absl::StatusOr<v1::ContactList> CreateList(const std::string& t, const std::string& l,
                                             const v1::ContactList& c, const Events& e,
                                             const CreateRequest* r) override {
    return inner_->CreateList(t, l, c, e, r);
  }
  absl::StatusOr<std::optional<CreatedRecord>> FindCreated(const std::string& t, CreateKind k,
                                                           const std::string& id) override {
    return inner_->FindCreated(t, k, id);
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
                                     int64_t m, const BatchEvents& e,
                                     const CreateRequest* req = nullptr) override {
    auto r = inner_->Commit(t, l, w, p, m, e, req);
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
  absl::Status ReserveIndexes(const std::string& t, const std::string& l, int64_t n,
                              int64_t m) override {
    return inner_->ReserveIndexes(t, l, n, m);
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
    raw_ = shared;
    auto outbox = std::make_shared<events::RedisOutbox>(shared, RedisContactStore::OutboxOptions("test"));
    auto inner = std::make_shared<RedisContactStore>(shared, outbox);
    redis_store_ = inner;
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
  absl::StatusOr<v1::ImportReport> Import(const std::string& import_id, const std::string& csv,
                                          int64_t expected_rows = 0) {
    v1::ImportHeader h;
    h.set_parent(kList);
    h.set_import_id(import_id);
    h.set_expected_rows(expected_rows);
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
  std::shared_ptr<redis::Client> raw_;
  std::shared_ptr<RedisContactStore> redis_store_;
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

// Entries per key of every index bucket ("{t:acme}:x:calls:*", "{t:acme}:p:*").
std::map<std::string, int64_t> BucketSizes(redis::Client& r, const std::string& pattern) {
  std::map<std::string, int64_t> out;
  auto keys = r.Command({"KEYS", pattern});
  EXPECT_TRUE(keys.ok());
  for (const auto& k : keys->elements) out[k.str] = r.Command({"HLEN", k.str})->integer;
  return out;
}

// The indexes of a new list and tenant start with one bucket and split as
// contacts arrive (imports and single creates): every entry stays findable,
// the bucket count follows the entries, no bucket nears the 128 entries of
// Redis's compact encoding.
TEST_F(ContactManagerComponentTest, IndexesGrowWithTheListAndKeepEveryEntry) {
  std::string csv = "id,phone\n";
  for (int i = 0; i < 4500; ++i) absl::StrAppend(&csv, "g-", i, ",+1212", 2000000 + i, "\n");
  auto r = Import("grow", csv);  // three batches: inserts split the buckets
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows_accepted(), 4500);
  for (int i = 4500; i < 4600; ++i) {  // single creates: the store grows the indexes after Commit
    v1::CreateContactRequest req;
    req.set_parent(kList);
    req.mutable_contact()->set_external_id(absl::StrCat("g-", i));
    req.mutable_contact()->add_phones()->mutable_number()->set_e164(absl::StrCat("+1212", 2000000 + i));
    ASSERT_TRUE(manager_->CreateContact(req).ok());
  }
  std::vector<std::string> ids, phones;
  for (int i = 0; i < 4600; ++i) {
    ids.push_back(absl::StrCat("g-", i));
    phones.push_back(absl::StrCat("+1212", 2000000 + i));
  }
  auto by_id = redis_store_->FindByExternalIds("acme", "calls", ids, nullptr);
  auto by_phone = redis_store_->FindByPhones("acme", "calls", phones, nullptr);
  ASSERT_TRUE(by_id.ok() && by_phone.ok());
  for (int i = 0; i < 4600; ++i) {
    EXPECT_GT((*by_id)[static_cast<size_t>(i)], 0) << ids[static_cast<size_t>(i)];
    EXPECT_EQ((*by_id)[static_cast<size_t>(i)], (*by_phone)[static_cast<size_t>(i)]) << phones[static_cast<size_t>(i)];
  }
  auto shape = raw_->Command({"HMGET", "{t:acme}:l:calls", "xl", "xs"});
  auto pshape = raw_->Command({"HMGET", "{t:acme}:pi", "l", "s", "n"});
  ASSERT_TRUE(shape.ok() && pshape.ok());
  BucketShape x{std::stoi(shape->elements[0].str), std::stoll(shape->elements[1].str)};
  BucketShape p{std::stoi(pshape->elements[0].str), std::stoll(pshape->elements[1].str)};
  EXPECT_EQ(x.Buckets(), (4600 + kBucketTargetLoad - 1) / kBucketTargetLoad);
  EXPECT_EQ(p.Buckets(), (4600 + kBucketTargetLoad - 1) / kBucketTargetLoad);
  EXPECT_EQ(pshape->elements[2].str, "4600");
  for (const auto& [pattern, shape_of] :
       std::vector<std::pair<std::string, BucketShape>>{{"{t:acme}:x:calls:*", x}, {"{t:acme}:p:*", p}}) {
    auto sizes = BucketSizes(*raw_, pattern);
    EXPECT_LE(static_cast<int64_t>(sizes.size()), shape_of.Buckets()) << pattern;
    int64_t total = 0;
    for (const auto& [key, n] : sizes) {
      total += n;
      EXPECT_LT(n, 100) << key;
      int64_t b = std::stoll(key.substr(key.rfind(':') + 1));
      EXPECT_LT(b, shape_of.Buckets()) << key;
    }
    EXPECT_EQ(total, 4600) << pattern;
  }
  // Erasure by phone still finds a contact through the grown index.
  v1::EraseContactDataRequest erase;
  erase.set_parent("tenants/acme");
  erase.set_phone_number("+12122004321");
  auto erased = manager_->EraseContactData(erase);
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->erased_contacts_size(), 1);
}

// The shapes of the list's external-id index and of the tenant's phone index.
std::pair<BucketShape, BucketShape> Shapes(redis::Client& r) {
  auto x = r.Command({"HMGET", "{t:acme}:l:calls", "xl", "xs"});
  auto p = r.Command({"HMGET", "{t:acme}:pi", "l", "s"});
  EXPECT_TRUE(x.ok() && p.ok());
  auto shape = [](const redis::Reply& hmget) {
    if (hmget.elements.size() < 2 || hmget.elements[0].is_nil()) return BucketShape{};
    return BucketShape{std::stoi(hmget.elements[0].str), std::stoll(hmget.elements[1].str)};
  };
  return {shape(*x), shape(*p)};
}

// Calls of a Redis command since the last CONFIG RESETSTAT.
int64_t Calls(redis::Client& r, const std::string& command) {
  auto info = r.Command({"INFO", "commandstats"});
  EXPECT_TRUE(info.ok());
  std::string tag = absl::StrCat("cmdstat_", command, ":calls=");
  size_t at = info->str.find(tag);
  if (at == std::string::npos) return 0;
  return std::stoll(info->str.substr(at + tag.size()));
}

// Every id and phone of `n` rows "<prefix><i>", "+1212<base+i>" is found,
// and the index buckets hold exactly `n` entries each, within their shape.
void ExpectAllFound(RedisContactStore& store, redis::Client& r, const std::string& prefix,
                    int64_t base, int n) {
  std::vector<std::string> ids, phones;
  for (int i = 0; i < n; ++i) {
    ids.push_back(absl::StrCat(prefix, i));
    phones.push_back(absl::StrCat("+1212", base + i));
  }
  auto by_id = store.FindByExternalIds("acme", "calls", ids, nullptr);
  auto by_phone = store.FindByPhones("acme", "calls", phones, nullptr);
  ASSERT_TRUE(by_id.ok() && by_phone.ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_GT((*by_id)[i], 0) << ids[i];
    EXPECT_EQ((*by_id)[i], (*by_phone)[i]) << phones[i];
  }
  auto [x, p] = Shapes(r);
  for (const auto& [pattern, shape] : std::vector<std::pair<std::string, BucketShape>>{
           {"{t:acme}:x:calls:*", x}, {"{t:acme}:p:*", p}}) {
    int64_t total = 0;
    for (const auto& [key, entries] : BucketSizes(r, pattern)) {
      total += entries;
      EXPECT_LT(std::stoll(key.substr(key.rfind(':') + 1)), shape.Buckets()) << key;
    }
    EXPECT_EQ(total, n) << pattern;
  }
}

std::string Rows(const std::string& prefix, int64_t base, int from, int to) {
  std::string csv = "id,phone\n";
  for (int i = from; i < to; ++i) absl::StrAppend(&csv, prefix, i, ",+1212", base + i, "\n");
  return csv;
}

// ImportHeader.expected_rows: the indexes get their final shape before the
// first batch (one bucket read, nothing moved), and the import's batches
// then move no entry at all.
TEST_F(ContactManagerComponentTest, ExpectedRowsSizesTheIndexesOnceAndNothingMoves) {
  ASSERT_TRUE(raw_->Command({"CONFIG", "RESETSTAT"}).ok());
  auto r = Import("sized", Rows("e-", 4000000, 0, 4500), 4500);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows_accepted(), 4500);
  auto [x, p] = Shapes(*raw_);
  EXPECT_EQ(x, ShapeFor(BucketShape{}, 4500));
  EXPECT_EQ(p, ShapeFor(BucketShape{}, 4500));
  EXPECT_EQ(x.Buckets(), 282);
  EXPECT_EQ(Calls(*raw_, "hdel"), 0) << "an entry was moved";
  // The phone index's growth reads are HKEYS: the reservation's one read only
  // (this import's phone lookups are HGETALLs).
  EXPECT_LE(Calls(*raw_, "hkeys"), 1);
  ExpectAllFound(*redis_store_, *raw_, "e-", 4000000, 4500);
}

// A hint too small: the rest grows with the writes as without one.
TEST_F(ContactManagerComponentTest, ExpectedRowsTooSmallIsMadeUpByGrowth) {
  auto r = Import("small", Rows("s-", 5000000, 0, 3000), 100);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows_accepted(), 3000);
  auto [x, p] = Shapes(*raw_);
  EXPECT_EQ(x, ShapeFor(BucketShape{}, 3000));
  EXPECT_EQ(p, ShapeFor(BucketShape{}, 3000));
  ExpectAllFound(*redis_store_, *raw_, "s-", 5000000, 3000);
}

// An absurd hint is capped: by the import (10,000,000 rows) and by the
// store at the room the tenant's quota leaves (1,000,000 here). The
// reservation itself stores no bucket: what it can cost in Redis is bounded
// by the entries that arrive (at worst a bucket each), never by the hint.
TEST_F(ContactManagerComponentTest, AbsurdExpectedRowsIsCappedAndAllocatesNothing) {
  auto before = raw_->Command({"DBSIZE"});
  ASSERT_TRUE(redis_store_
                  ->ReserveIndexes("acme", "calls", std::numeric_limits<int64_t>::max(),
                                   /*max_contacts=*/1000000)
                  .ok());
  auto [x, p] = Shapes(*raw_);
  EXPECT_EQ(x, ShapeFor(BucketShape{}, 1000000));  // the quota's room, not the hint
  EXPECT_EQ(p, ShapeFor(BucketShape{}, 1000000));
  EXPECT_EQ(raw_->Command({"DBSIZE"})->integer, before->integer + 1);  // P pi, no bucket
  // Without a quota the import's own cap applies.
  ASSERT_TRUE(raw_->Command({"DEL", "{t:acme}:pi"}).ok());
  ASSERT_TRUE(raw_->Command({"HDEL", "{t:acme}:l:calls", "xl", "xs"}).ok());
  ASSERT_TRUE(raw_->Command({"HSET", "{t:acme}:l:calls", "xl", "0", "xs", "0"}).ok());
  auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
  ContactManager unlimited(redis_store_, *zones, nullptr, clock_, "u");
  v1::ImportHeader h;
  h.set_parent(kList);
  h.set_import_id("absurd");
  h.set_default_country("US");
  h.mutable_mapping()->set_external_id("id");
  h.mutable_mapping()->add_phones("phone");
  h.set_expected_rows(std::numeric_limits<int64_t>::max());
  auto session = unlimited.StartImport(h);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Feed(Rows("a-", 6000000, 0, 100)).ok());
  auto r = (*session)->Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_accepted(), 100);
  std::tie(x, p) = Shapes(*raw_);
  EXPECT_EQ(x, ShapeFor(BucketShape{}, ImportSession::kMaxExpectedRows));
  ExpectAllFound(*redis_store_, *raw_, "a-", 6000000, 100);
  EXPECT_LE(BucketSizes(*raw_, "{t:acme}:x:calls:*").size(), 100u);
}

// Sizing an index that holds entries moves them (in steps of at most 256
// bucket reads) and every entry stays found.
TEST_F(ContactManagerComponentTest, ReservingAFilledIndexMovesEveryEntryRight) {
  ASSERT_TRUE(Import("fill", Rows("f-", 7000000, 0, 3000)).ok());
  ASSERT_TRUE(redis_store_->ReserveIndexes("acme", "calls", 97000, -1).ok());
  auto [x, p] = Shapes(*raw_);
  EXPECT_EQ(x, ShapeFor(BucketShape{}, 100000));
  EXPECT_EQ(p, ShapeFor(BucketShape{}, 100000));
  ExpectAllFound(*redis_store_, *raw_, "f-", 7000000, 3000);
  // Never lowered: a smaller reservation changes nothing.
  ASSERT_TRUE(redis_store_->ReserveIndexes("acme", "calls", 10, -1).ok());
  EXPECT_EQ(Shapes(*raw_).first, x);
}

// Data stored before sizing (list hash without "xl", no phone-index record,
// 65,536 buckets by FNV-1a-64) is still found and keeps its layout.
TEST_F(ContactManagerComponentTest, IndexesFromBeforeSizingKeepTheirLayout) {
  ASSERT_TRUE(raw_->Command({"HDEL", "{t:acme}:l:calls", "xl", "xs"}).ok());
  ASSERT_TRUE(raw_->Command({"DEL", "{t:acme}:pi"}).ok());
  ASSERT_TRUE(raw_->Command({"SET", "{t:acme}:contacts", "0"}).ok());  // a tenant with history
  v1::CreateContactRequest req;
  req.set_parent(kList);
  req.mutable_contact()->set_external_id("old-1");
  req.mutable_contact()->add_phones()->mutable_number()->set_e164("+12125550123");
  auto c = manager_->CreateContact(req);
  ASSERT_TRUE(c.ok()) << c.status();
  std::string xkey = absl::StrCat("{t:acme}:x:calls:", BucketHash("old-1") % 65536);
  std::string pkey = absl::StrCat("{t:acme}:p:", BucketHash("+12125550123") % 65536);
  EXPECT_EQ(raw_->Command({"HGET", xkey, "old-1"})->str, "1");
  EXPECT_EQ(raw_->Command({"HEXISTS", pkey, "+12125550123|calls:1"})->integer, 1);
  auto pi = raw_->Command({"HMGET", "{t:acme}:pi", "l", "s"});
  EXPECT_EQ(pi->elements[0].str, "16");
  EXPECT_EQ(pi->elements[1].str, "0");
  EXPECT_EQ(raw_->Command({"HGET", "{t:acme}:l:calls", "xl"})->is_nil(), true);  // still legacy
  // An entry written by the old code, by hand at its old bucket, is found.
  ASSERT_TRUE(raw_->Command({"HSET", absl::StrCat("{t:acme}:x:calls:", BucketHash("hand-9") % 65536),
                             "hand-9", "77"}).ok());
  auto found = redis_store_->FindByExternalIds("acme", "calls", {"hand-9", "old-1"}, nullptr);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)[0], 77);
  EXPECT_EQ((*found)[1], 1);
}

// A stale cached shape (another replica grew the index) is detected in the
// same atomic step and the call retried with the stored shape.
TEST_F(ContactManagerComponentTest, AnotherReplicasGrowthIsSeen) {
  auto outbox = std::make_shared<events::RedisOutbox>(raw_, RedisContactStore::OutboxOptions("b"));
  auto replica = std::make_shared<RedisContactStore>(raw_, outbox);
  std::string csv = "id,phone\n";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&csv, "s-", i, ",+1212", 3000000 + i, "\n");
  ASSERT_TRUE(Import("s1", csv).ok());
  // This store cached the shapes; the replica's import grows the indexes.
  ASSERT_TRUE(redis_store_->FindByExternalIds("acme", "calls", {"s-1"}, nullptr).ok());
  auto zones = geo::ZoneResolver::Load(DIALGRID_ZONE_DATA_DIR, "/usr/share/zoneinfo/zone.tab");
  ContactManager other(replica, *zones, nullptr, clock_, "b");
  v1::ImportHeader h;
  h.set_parent(kList);
  h.set_import_id("s2");
  h.set_default_country("US");
  h.mutable_mapping()->set_external_id("id");
  h.mutable_mapping()->add_phones("phone");
  std::string more = "id,phone\n";
  for (int i = 40; i < 400; ++i) absl::StrAppend(&more, "s-", i, ",+1212", 3000000 + i, "\n");
  auto session = other.StartImport(h);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->Feed(more).ok());
  ASSERT_TRUE((*session)->Finish().ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 400; ++i) ids.push_back(absl::StrCat("s-", i));
  auto found = redis_store_->FindByExternalIds("acme", "calls", ids, nullptr);
  ASSERT_TRUE(found.ok()) << found.status();
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_GT((*found)[i], 0) << ids[i];
  // And a commit through the stale store addresses the grown buckets.
  v1::CreateContactRequest req;
  req.set_parent(kList);
  req.mutable_contact()->set_external_id("s-5");
  req.mutable_contact()->add_phones()->mutable_number()->set_e164("+12125550999");
  EXPECT_EQ(ReasonOf(manager_->CreateContact(req).status()), "EXTERNAL_ID_EXISTS");
  req.mutable_contact()->set_external_id("s-new");
  auto created = manager_->CreateContact(req);
  ASSERT_TRUE(created.ok()) << created.status();
  auto again = replica->FindByExternalIds("acme", "calls", {"s-new"}, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_GT((*again)[0], 0);
  // This store's next import plans its growth from what it last saw; the
  // replica grew the indexes since, so the plan is made again from the
  // stored shapes.
  std::string last = "id,phone\n";
  for (int i = 400; i < 1200; ++i) absl::StrAppend(&last, "s-", i, ",+1212", 3000000 + i, "\n");
  auto r = Import("s3", last);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_accepted(), 800);
  for (int i = 0; i < 1200; ++i) ids.push_back(absl::StrCat("s-", i));
  auto all = replica->FindByExternalIds("acme", "calls", ids, nullptr);
  ASSERT_TRUE(all.ok());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_GT((*all)[i], 0) << ids[i];
}

}  // namespace
}  // namespace dialgrid::contacts
