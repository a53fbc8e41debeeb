// Service tests of the contacts API's request ids: dialgrid-contacts (with
// dialgrid-tenancy, a real redis-server and the Kafka-protocol broker, from
// tests/fixtures/test_platform.h) called over loopback gRPC as a client
// would, retrying a create as a client does after a lost answer.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "services/common/core/errors.h"
#include "services/common/redis/redis_client.h"
#include "services/common/server/grpc_status.h"
#include "tests/fixtures/test_platform.h"

namespace dialgrid::contacts {
namespace {

using dialgrid::testing::TestPlatform;

class ContactsApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto platform = TestPlatform::Start();
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = platform->release();
    ASSERT_TRUE(platform_->StartService("contacts", DIALGRID_CONTACTS_BIN).ok())
        << "see " << platform_->LogPath("contacts");
    ASSERT_TRUE(platform_->CreateTenant("api-a").ok());
    auto secret = platform_->Credential("api-a", tenancy::v1::ROLE_TENANT_ADMIN);
    ASSERT_TRUE(secret.ok()) << secret.status();
    admin_ = new std::string(*secret);
  }
  static void TearDownTestSuite() {
    delete platform_;
    platform_ = nullptr;
    delete admin_;
    admin_ = nullptr;
  }

  std::unique_ptr<v1::ContactsService::Stub> Stub() {
    return v1::ContactsService::NewStub(platform_->Channel("contacts"));
  }

  grpc::Status CreateList(const v1::CreateContactListRequest& req, v1::ContactList* out) {
    return Stub()->CreateContactList(TestPlatform::Context(*admin_).get(), req, out);
  }
  grpc::Status CreateContact(const v1::CreateContactRequest& req, v1::Contact* out) {
    return Stub()->CreateContact(TestPlatform::Context(*admin_).get(), req, out);
  }
  int64_t ContactCount(const std::string& list) {
    v1::GetContactListRequest req;
    req.set_name(list);
    v1::ContactList cl;
    grpc::Status st = Stub()->GetContactList(TestPlatform::Context(*admin_).get(), req, &cl);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return cl.contact_count();
  }
  static std::string Reason(const grpc::Status& st) { return ReasonOf(FromGrpcStatus(st)); }

  static TestPlatform* platform_;
  static std::string* admin_;
};

TestPlatform* ContactsApiTest::platform_ = nullptr;
std::string* ContactsApiTest::admin_ = nullptr;

v1::CreateContactListRequest ListRequest(const std::string& id, const std::string& request_id) {
  v1::CreateContactListRequest req;
  req.set_parent("tenants/api-a");
  req.set_contact_list_id(id);
  req.set_request_id(request_id);
  req.mutable_contact_list()->set_display_name("Spring campaign");
  return req;
}

v1::CreateContactRequest ContactRequest(const std::string& list, const std::string& phone,
                                        const std::string& request_id) {
  v1::CreateContactRequest req;
  req.set_parent(list);
  req.set_request_id(request_id);
  auto* c = req.mutable_contact();
  c->set_first_name("Ann");
  c->add_phones()->mutable_number()->set_e164(phone);  // no external id: nothing else dedupes
  return req;
}

TEST_F(ContactsApiTest, RetriedCreateContactListReturnsTheSameList) {
  v1::ContactList first, retry;
  auto req = ListRequest("spring", "3f2c1d0e-list-1");
  ASSERT_TRUE(CreateList(req, &first).ok());
  grpc::Status st = CreateList(req, &retry);
  ASSERT_TRUE(st.ok()) << Reason(st) << " " << st.error_message();
  EXPECT_EQ(retry.name(), first.name());
  EXPECT_EQ(retry.etag(), first.etag());
  EXPECT_EQ(retry.create_time().seconds(), first.create_time().seconds());
  EXPECT_EQ(retry.create_time().nanos(), first.create_time().nanos());

  // The same id with another body: refused, with the field named.
  auto other = ListRequest("autumn", "3f2c1d0e-list-1");
  v1::ContactList none;
  st = CreateList(other, &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  v1::GetContactListRequest get;
  get.set_name("tenants/api-a/contactLists/autumn");
  v1::ContactList cl;
  EXPECT_EQ(Stub()->GetContactList(TestPlatform::Context(*admin_).get(), get, &cl).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Without a request id a second create is the ordinary conflict.
  req.clear_request_id();
  st = CreateList(req, &none);
  EXPECT_EQ(Reason(st), "CONTACT_LIST_EXISTS");
}

TEST_F(ContactsApiTest, RetriedCreateContactCreatesOneContact) {
  v1::ContactList list;
  ASSERT_TRUE(CreateList(ListRequest("retries", ""), &list).ok());
  auto req = ContactRequest(list.name(), "+14155550134", "9b1e-contact-1");
  v1::Contact first, retry;
  grpc::Status st = CreateContact(req, &first);
  ASSERT_TRUE(st.ok()) << Reason(st) << " " << st.error_message();
  // Concurrent retries (a client that timed out and a proxy that replays):
  // all answer the first contact.
  std::vector<std::thread> threads;
  std::vector<v1::Contact> answers(4);
  std::vector<grpc::Status> statuses(4);
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = CreateContact(req, &answers[i]); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << Reason(statuses[i]);
    EXPECT_EQ(answers[i].name(), first.name());
  }
  EXPECT_EQ(ContactCount(list.name()), 1);

  // Changed since: a retry still answers the contact as created.
  v1::UpdateContactRequest update;
  *update.mutable_contact() = first;
  update.mutable_contact()->set_first_name("Annie");
  update.mutable_update_mask()->add_paths("first_name");
  v1::Contact updated;
  ASSERT_TRUE(Stub()->UpdateContact(TestPlatform::Context(*admin_).get(), update, &updated).ok());
  ASSERT_TRUE(CreateContact(req, &retry).ok());
  EXPECT_EQ(retry.name(), first.name());
  EXPECT_EQ(retry.first_name(), "Ann");
  EXPECT_EQ(ContactCount(list.name()), 1);

  // Another body under the same id: refused, nothing created.
  auto other = ContactRequest(list.name(), "+14155550135", "9b1e-contact-1");
  v1::Contact none;
  st = CreateContact(other, &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  EXPECT_EQ(ContactCount(list.name()), 1);

  // No request id: no idempotency, a second contact.
  req.clear_request_id();
  ASSERT_TRUE(CreateContact(req, &none).ok());
  EXPECT_NE(none.name(), first.name());
  EXPECT_EQ(ContactCount(list.name()), 2);

  // A malformed id is refused before anything is stored.
  auto bad = ContactRequest(list.name(), "+14155550136", "has space");
  st = CreateContact(bad, &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(st), "INVALID_REQUEST_ID");
  EXPECT_EQ(ContactCount(list.name()), 2);
}

TEST_F(ContactsApiTest, RequestRecordsLastADay) {
  v1::ContactList list;
  ASSERT_TRUE(CreateList(ListRequest("ttl", "ttl-list-1"), &list).ok());
  v1::Contact c;
  ASSERT_TRUE(CreateContact(ContactRequest(list.name(), "+14155550140", "ttl-contact-1"), &c).ok());
  // The records are in the tenant's slot with a 24 h expiry.
  redis::Options o;
  o.port = platform_->redis().port();
  auto redis = redis::Client::Create(o);
  ASSERT_TRUE(redis.ok()) << redis.status();
  for (const char* key : {"{t:api-a}:req:list:ttl-list-1", "{t:api-a}:req:contact:ttl-contact-1"}) {
    auto ttl = (*redis)->Command({"TTL", key});
    ASSERT_TRUE(ttl.ok()) << ttl.status();
    EXPECT_GT(ttl->integer, 24 * 3600 - 60) << key;
    EXPECT_LE(ttl->integer, 24 * 3600) << key;
  }
}

}  // namespace
}  // namespace dialgrid::contacts
