#pragma once

#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "services/common/server/rpc.h"
#include "services/contacts/application/contact_manager.h"

namespace dialgrid::contacts {

// gRPC handlers: who may call what, then the manager. Streaming calls run
// their work on the executor and read/write one message at a time (flow
// control bounds memory).
class ContactsServiceImpl final : public v1::ContactsService::CallbackService {
 public:
  ContactsServiceImpl(RpcEnv& env, ContactManager& manager) : env_(env), manager_(manager) {}

#define DG_UNARY(Method, Req, Resp)                                                   \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const v1::Req* req, \
                                   v1::Resp* resp) override;
  DG_UNARY(CreateContactList, CreateContactListRequest, ContactList)
  DG_UNARY(GetContactList, GetContactListRequest, ContactList)
  DG_UNARY(ListContactLists, ListContactListsRequest, ListContactListsResponse)
  DG_UNARY(UpdateContactList, UpdateContactListRequest, ContactList)
  DG_UNARY(DeleteContactList, DeleteContactListRequest, DeleteContactListResponse)
  DG_UNARY(CreateContact, CreateContactRequest, Contact)
  DG_UNARY(GetContact, GetContactRequest, Contact)
  DG_UNARY(ListContacts, ListContactsRequest, ListContactsResponse)
  DG_UNARY(UpdateContact, UpdateContactRequest, Contact)
  DG_UNARY(DeleteContact, DeleteContactRequest, DeleteContactResponse)
  DG_UNARY(EraseContactData, EraseContactDataRequest, EraseContactDataResponse)
  DG_UNARY(LeaseContacts, LeaseContactsRequest, LeaseContactsResponse)
  DG_UNARY(ReportOutcome, ReportOutcomeRequest, Contact)
#undef DG_UNARY

  grpc::ServerReadReactor<v1::ImportContactsRequest>* ImportContacts(
      grpc::CallbackServerContext* ctx, v1::ImportReport* report) override;
  grpc::ServerWriteReactor<v1::ExportContactsResponse>* ExportContacts(
      grpc::CallbackServerContext* ctx, const v1::ExportContactsRequest* req) override;

 private:
  RpcEnv& env_;
  ContactManager& manager_;
};

}  // namespace dialgrid::contacts
