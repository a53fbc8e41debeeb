#include "services/contacts/server/contacts_service.h"

#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "services/common/core/errors.h"
#include "services/common/server/grpc_status.h"

namespace dialgrid::contacts {
namespace {

using tenancy::v1::ROLE_AGENT;
using tenancy::v1::ROLE_INTEGRATION;
using tenancy::v1::ROLE_PLATFORM_SERVICE;
using tenancy::v1::ROLE_SUPERVISOR;
using tenancy::v1::ROLE_TENANT_ADMIN;
using tenancy::v1::ROLE_VENDOR_ADMIN;

const std::vector<auth::Role> kWriters = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN, ROLE_INTEGRATION};
const std::vector<auth::Role> kReaders = {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN, ROLE_INTEGRATION,
                                          ROLE_SUPERVISOR, ROLE_PLATFORM_SERVICE};
const std::vector<auth::Role> kContactReaders = {ROLE_VENDOR_ADMIN,  ROLE_TENANT_ADMIN,
                                                 ROLE_INTEGRATION,   ROLE_SUPERVISOR,
                                                 ROLE_AGENT,         ROLE_PLATFORM_SERVICE};
const std::vector<auth::Role> kDialer = {ROLE_PLATFORM_SERVICE, ROLE_TENANT_ADMIN, ROLE_INTEGRATION};

// ImportContacts: header, then chunks; each message is handled on the
// executor before the next is read, so at most one chunk is in memory.
class ImportReactor final : public grpc::ServerReadReactor<v1::ImportContactsRequest> {
 public:
  ImportReactor(RpcEnv& env, ContactManager& manager, grpc::CallbackServerContext* ctx,
                v1::ImportReport* report)
      : env_(env), manager_(manager), ctx_(ctx), report_(report), start_(env.clock->Now()) {
    BeginCall(env_, ctx_, "ImportContacts", call_);
    StartRead(&msg_);
  }

  void OnReadDone(bool ok) override {
    bool queued = env_.executor->TrySubmit([this, ok] { Handle(ok); });
    if (!queued) {
      env_.metrics->Shed("ImportContacts");
      Done(Unavailable("OVERLOADED", "the service is at capacity; retry with backoff"));
    }
  }

  void OnDone() override { delete this; }

 private:
  void Handle(bool ok) {
    if (ctx_->IsCancelled()) return Done(absl::CancelledError("the caller cancelled the import"));
    if (!ok) {  // end of the client's stream
      if (!session_) return Done(InvalidField("header", "FIELD_REQUIRED", "the stream was empty"));
      auto report = session_->Finish();
      if (!report.ok()) return Done(report.status());
      *report_ = *report;
      return Done(absl::OkStatus());
    }
    if (!session_) {
      if (!msg_.has_header()) {
        return Done(InvalidField("header", "FIELD_REQUIRED", "the first message must be the header"));
      }
      absl::Status st = AuthorizeCall(env_, ctx_, msg_, Resource{"header.parent", msg_.header().parent()},
                                      {ROLE_VENDOR_ADMIN, ROLE_TENANT_ADMIN, ROLE_INTEGRATION}, call_);
      if (!st.ok()) return Done(st);
      auto session = manager_.StartImport(msg_.header());
      if (!session.ok()) return Done(session.status());
      session_ = *std::move(session);
    } else {
      if (!msg_.has_chunk()) {
        return Done(InvalidField("chunk", "UNEXPECTED_HEADER", "only the first message is a header"));
      }
      if (msg_.chunk().size() > (4u << 20)) {
        return Done(InvalidField("chunk", "CHUNK_TOO_LARGE", "chunks are at most 4 MiB"));
      }
      absl::Status st = session_->Feed(msg_.chunk());
      if (!st.ok()) return Done(st);
    }
    msg_.Clear();
    StartRead(&msg_);
  }

  void Done(const absl::Status& st) {
    absl::Status out = st;
    if (!st.ok() && session_) {
      // Tell the client what is already committed; a resend resumes after it.
      int64_t committed = session_->ReportSnapshot().rows_committed();
      if (committed > 0) out = WithMetadata(st, "rows_committed", std::to_string(committed));
    }
    EndCall(env_, call_, start_, out);
    Finish(ToGrpcStatus(out, env_.error_domain));
  }

  RpcEnv& env_;
  ContactManager& manager_;
  grpc::CallbackServerContext* ctx_;
  v1::ImportReport* report_;
  absl::Time start_;
  CallContext call_;
  v1::ImportContactsRequest msg_;
  std::unique_ptr<ImportSession> session_;
};

// ExportContacts: the export runs on the executor and hands each chunk to
// the writer, waiting for the previous write to finish (flow control).
class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportContactsResponse> {
 public:
  ExportReactor(RpcEnv& env, ContactManager& manager, grpc::CallbackServerContext* ctx,
                const v1::ExportContactsRequest* req)
      : env_(env), manager_(manager), ctx_(ctx), req_(*req), start_(env.clock->Now()) {
    BeginCall(env_, ctx_, "ExportContacts", call_);
    if (!env_.executor->TrySubmit([this] { Run(); })) {
      env_.metrics->Shed("ExportContacts");
      Done(Unavailable("OVERLOADED", "the service is at capacity; retry with backoff"));
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    write_ok_ = ok;
    cv_.notify_all();
  }

  void OnDone() override {
    std::unique_lock<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !running_; });
    lock.unlock();
    delete this;
  }

 private:
  void Run() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = true;
    }
    absl::Status st = AuthorizeCall(env_, ctx_, req_, Resource{"parent", req_.parent()}, kReaders, call_);
    if (st.ok()) {
      st = manager_.Export(req_, [this](std::string chunk) { return Write(std::move(chunk)); });
    }
    Done(st);
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    cv_.notify_all();
  }

  bool Write(std::string chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    if (done_ || !write_ok_) return false;
    out_.set_chunk(std::move(chunk));
    writing_ = true;
    StartWrite(&out_);
    // A client that stops reading for a minute loses its export.
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [this] { return !writing_ || done_; })) {
      return false;
    }
    return write_ok_ && !done_;
  }

  void Done(const absl::Status& st) {
    EndCall(env_, call_, start_, st);
    Finish(ToGrpcStatus(st, env_.error_domain));
  }

  RpcEnv& env_;
  ContactManager& manager_;
  grpc::CallbackServerContext* ctx_;
  v1::ExportContactsRequest req_;
  absl::Time start_;
  CallContext call_;
  v1::ExportContactsResponse out_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool write_ok_ = true;
  bool done_ = false;
  bool running_ = false;
};

}  // namespace

#define DG_SERVE(Method, Res, Roles, Call)                                              \
  return ServeUnary(env_, ctx, #Method, *req, Res, Roles,                                     \
                    [=](const CallContext&) { return Into(manager_.Call(*req), resp); });

grpc::ServerUnaryReactor* ContactsServiceImpl::CreateContactList(
    grpc::CallbackServerContext* ctx, const v1::CreateContactListRequest* req,
    v1::ContactList* resp) {
  DG_SERVE(CreateContactList, (Resource{"parent", req->parent()}), kWriters, CreateContactList)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::GetContactList(grpc::CallbackServerContext* ctx,
                                                              const v1::GetContactListRequest* req,
                                                              v1::ContactList* resp) {
  DG_SERVE(GetContactList, (Resource{"name", req->name()}), kReaders, GetContactList)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::ListContactLists(
    grpc::CallbackServerContext* ctx, const v1::ListContactListsRequest* req,
    v1::ListContactListsResponse* resp) {
  DG_SERVE(ListContactLists, (Resource{"parent", req->parent()}), kReaders, ListContactLists)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::UpdateContactList(
    grpc::CallbackServerContext* ctx, const v1::UpdateContactListRequest* req,
    v1::ContactList* resp) {
  DG_SERVE(UpdateContactList, (Resource{"contact_list.name", req->contact_list().name()}), kWriters, UpdateContactList)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::DeleteContactList(
    grpc::CallbackServerContext* ctx, const v1::DeleteContactListRequest* req,
    v1::DeleteContactListResponse* resp) {
  DG_SERVE(DeleteContactList, (Resource{"name", req->name()}), kWriters, DeleteContactList)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::CreateContact(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateContactRequest* req,
                                                             v1::Contact* resp) {
  DG_SERVE(CreateContact, (Resource{"parent", req->parent()}), kWriters, CreateContact)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::GetContact(grpc::CallbackServerContext* ctx,
                                                          const v1::GetContactRequest* req,
                                                          v1::Contact* resp) {
  DG_SERVE(GetContact, (Resource{"name", req->name()}), kContactReaders, GetContact)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::ListContacts(grpc::CallbackServerContext* ctx,
                                                            const v1::ListContactsRequest* req,
                                                            v1::ListContactsResponse* resp) {
  DG_SERVE(ListContacts, (Resource{"parent", req->parent()}), kReaders, ListContacts)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::UpdateContact(grpc::CallbackServerContext* ctx,
                                                             const v1::UpdateContactRequest* req,
                                                             v1::Contact* resp) {
  DG_SERVE(UpdateContact, (Resource{"contact.name", req->contact().name()}), kWriters, UpdateContact)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::DeleteContact(grpc::CallbackServerContext* ctx,
                                                             const v1::DeleteContactRequest* req,
                                                             v1::DeleteContactResponse* resp) {
  DG_SERVE(DeleteContact, (Resource{"name", req->name()}), kWriters, DeleteContact)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::EraseContactData(
    grpc::CallbackServerContext* ctx, const v1::EraseContactDataRequest* req,
    v1::EraseContactDataResponse* resp) {
  DG_SERVE(EraseContactData, (Resource{"parent", req->parent()}), kWriters, EraseContactData)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::LeaseContacts(grpc::CallbackServerContext* ctx,
                                                             const v1::LeaseContactsRequest* req,
                                                             v1::LeaseContactsResponse* resp) {
  DG_SERVE(LeaseContacts, (Resource{"parent", req->parent()}), kDialer, LeaseContacts)
}
grpc::ServerUnaryReactor* ContactsServiceImpl::ReportOutcome(grpc::CallbackServerContext* ctx,
                                                             const v1::ReportOutcomeRequest* req,
                                                             v1::Contact* resp) {
  DG_SERVE(ReportOutcome, (Resource{"name", req->name()}), kDialer, ReportOutcome)
}
#undef DG_SERVE

grpc::ServerReadReactor<v1::ImportContactsRequest>* ContactsServiceImpl::ImportContacts(
    grpc::CallbackServerContext* ctx, v1::ImportReport* report) {
  return new ImportReactor(env_, manager_, ctx, report);
}

grpc::ServerWriteReactor<v1::ExportContactsResponse>* ContactsServiceImpl::ExportContacts(
    grpc::CallbackServerContext* ctx, const v1::ExportContactsRequest* req) {
  return new ExportReactor(env_, manager_, ctx, req);
}

}  // namespace dialgrid::contacts
