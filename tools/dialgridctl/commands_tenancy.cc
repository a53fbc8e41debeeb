// tenants list|get, credentials create|list|revoke, audit list (TenancyService).
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "dialgrid/tenancy/v1/tenancy.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "tools/dialgridctl/commands.h"

namespace dialgrid::ctl {
namespace {

using tenancy::v1::TenancyService;
using Stub = TenancyService::Stub;

std::string Roles(const google::protobuf::RepeatedField<int>& roles) {
  std::vector<std::string> out;
  for (int r : roles) out.push_back(ShortEnum(tenancy::v1::Role_descriptor(), r));
  return absl::StrJoin(out, ",");
}

std::string TenantName(absl::string_view arg) {
  return absl::StartsWith(arg, "tenants/") ? std::string(arg) : absl::StrCat("tenants/", arg);
}

void PrintTenant(Ctl& ctl, const tenancy::v1::Tenant& t) {
  ctl.Print(t, [&] {
    const auto& q = t.quota();
    PrintFields(ctl.out(), {{"name", t.name()},
                            {"display name", t.display_name()},
                            {"state", ShortEnumOf(t.state())},
                            {"suspend reason", OrDash(t.suspend_reason())},
                            {"time zone", t.time_zone()},
                            {"max agents", absl::StrCat(q.max_agents())},
                            {"max concurrent lines", absl::StrCat(q.max_concurrent_lines())},
                            {"max contacts", absl::StrCat(q.max_contacts())},
                            {"max recording storage", FormatBytes(q.max_recording_storage_bytes())},
                            {"max requests/s", q.max_requests_per_second() == 0
                                                   ? "unlimited"
                                                   : absl::StrCat(q.max_requests_per_second())},
                            {"created", FormatTime(t.create_time())},
                            {"updated", FormatTime(t.update_time())}});
  });
}

absl::StatusOr<std::string> CredentialParent(Ctl& ctl, bool vendor) {
  if (vendor) return std::string("vendor");
  return ctl.TenantParent();
}

// An audit action as given: a full event type, or a short one
// ("TenantUpdated") found among tenancy's and compliance's messages.
std::string FullAction(const std::string& action) {
  if (action.empty() || absl::StrContains(action, ".")) return action;
  for (const char* package : {"dialgrid.tenancy.v1.", "dialgrid.compliance.v1."}) {
    const std::string full = absl::StrCat(package, action);
    if (google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(full) != nullptr) {
      return full;
    }
  }
  return action;  // the server matches nothing: an empty list
}

}  // namespace

void AddTenancyCommands(CLI::App& app, Action& action) {
  CLI::App* tenants =
      Group(app, "tenants", "Tenants: the vendor's client companies (vendor admins)");
  {
    auto page_size = std::make_shared<int>(0);
    CLI::App* list = Leaf(*tenants, "list", "List every tenant", action, [page_size](Ctl& ctl) {
      tenancy::v1::ListTenantsRequest req;
      req.set_page_size(*page_size);
      auto r = ListAll<TenancyService>(ctl, "tenancy", &Stub::ListTenants, req);
      if (!r.ok()) return r.status();
      ctl.Print(*r, [&] {
        Table t({"TENANT", "DISPLAY NAME", "STATE", "TIME ZONE", "AGENTS", "LINES", "CONTACTS",
                 "CREATED"});
        for (const auto& x : r->tenants()) {
          t.AddRow({LastSegment(x.name()), x.display_name(), ShortEnumOf(x.state()), x.time_zone(),
                    absl::StrCat(x.quota().max_agents()),
                    absl::StrCat(x.quota().max_concurrent_lines()),
                    absl::StrCat(x.quota().max_contacts()), FormatTime(x.create_time())});
        }
        t.Print(ctl.out());
      });
      return absl::OkStatus();
    });
    list->add_option("--page-size", *page_size, "tenants per call (all pages are read)");
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* get = Leaf(*tenants, "get", "Show a tenant with its quota", action, [id](Ctl& ctl) {
      tenancy::v1::GetTenantRequest req;
      req.set_name(TenantName(*id));
      auto r = ctl.Call<TenancyService>("tenancy", &Stub::GetTenant, req);
      if (!r.ok()) return r.status();
      PrintTenant(ctl, *r);
      return absl::OkStatus();
    });
    get->add_option("tenant", *id, "tenant id or tenants/<id>")->required();
  }

  CLI::App* creds = Group(app, "credentials", "Credentials people and systems call Dialgrid with");
  {
    struct Opts {
      bool vendor = false;
      std::string display_name, request_id, expire_in, agent;
      std::vector<std::string> roles;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* create =
        Leaf(*creds, "create", "Create a credential; its secret is shown once", action,
             [o](Ctl& ctl) -> absl::Status {
               auto parent = CredentialParent(ctl, o->vendor);
               if (!parent.ok()) return parent.status();
               tenancy::v1::CreateCredentialRequest req;
               req.set_parent(*parent);
               req.set_request_id(o->request_id);
               auto* c = req.mutable_credential();
               c->set_display_name(o->display_name);
               for (const auto& role : o->roles) {
                 auto r = ParseEnum(tenancy::v1::Role_descriptor(), role, "--role");
                 if (!r.ok()) return r.status();
                 c->add_roles(static_cast<tenancy::v1::Role>(*r));
               }
               c->set_agent(o->agent);
               if (!o->expire_in.empty()) {
                 absl::Duration d;
                 if (!absl::ParseDuration(o->expire_in, &d) || d <= absl::ZeroDuration()) {
                   return UsageError("--expire-in: a positive duration such as 720h or 90m");
                 }
                 absl::Time at = absl::Now() + d;
                 c->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(at));
               }
               auto r = ctl.Call<TenancyService>("tenancy", &Stub::CreateCredential, req);
               if (!r.ok()) return r.status();
               ctl.Print(*r, [&] {
                 PrintFields(ctl.out(), {{"name", r->credential().name()},
                                         {"display name", r->credential().display_name()},
                                         {"roles", Roles(r->credential().roles())},
                                         {"agent", r->credential().agent()},
                                         {"expires", FormatTime(r->credential().expire_time())},
                                         {"secret", r->secret()}});
                 ctl.err() << "dialgridctl: the secret is shown only now; store it safely\n";
               });
               return absl::OkStatus();
             });
    create->add_flag("--vendor", o->vendor, "a vendor-scope credential (default: --tenant's)");
    create->add_option("--display-name", o->display_name, "who or what uses it")->required();
    create
        ->add_option("--role", o->roles,
                     "a role, repeatable: " + EnumChoices(tenancy::v1::Role_descriptor()))
        ->required();
    create->add_option("--agent", o->agent,
                       "bind an AGENT credential to one agent: tenants/{tenant}/agents/{agent} "
                       "(vendor: agentPools/{pool}/agents/{agent})");
    create->add_option("--expire-in", o->expire_in, "stops working after this long, e.g. 720h");
    create->add_option("--request-id", o->request_id,
                       "idempotency key (16-128 characters): a retry returns the same secret");
  }
  {
    auto vendor = std::make_shared<bool>(false);
    CLI::App* list =
        Leaf(*creds, "list", "List a tenant's (or the vendor's) credentials", action,
             [vendor](Ctl& ctl) -> absl::Status {
               auto parent = CredentialParent(ctl, *vendor);
               if (!parent.ok()) return parent.status();
               tenancy::v1::ListCredentialsRequest req;
               req.set_parent(*parent);
               auto r = ListAll<TenancyService>(ctl, "tenancy", &Stub::ListCredentials, req);
               if (!r.ok()) return r.status();
               ctl.Print(*r, [&] {
                 Table t({"CREDENTIAL", "DISPLAY NAME", "ROLES", "STATE", "EXPIRES", "CREATED"});
                 for (const auto& c : r->credentials()) {
                   t.AddRow({LastSegment(c.name()), c.display_name(), Roles(c.roles()),
                             ShortEnumOf(c.state()), FormatTime(c.expire_time()),
                             FormatTime(c.create_time())});
                 }
                 t.Print(ctl.out());
               });
               return absl::OkStatus();
             });
    list->add_flag("--vendor", *vendor, "the vendor scope's credentials");
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* revoke = Leaf(*creds, "revoke", "Revoke a credential at once, on every service",
                            action, [name](Ctl& ctl) -> absl::Status {
                              auto full = ctl.Name("credentials", *name);
                              if (!full.ok()) return full.status();
                              tenancy::v1::RevokeCredentialRequest req;
                              req.set_name(*full);
                              auto r =
                                  ctl.Call<TenancyService>("tenancy", &Stub::RevokeCredential, req);
                              if (!r.ok()) return r.status();
                              ctl.Print(*r, [&] {
                                PrintFields(ctl.out(), {{"name", r->name()},
                                                        {"state", ShortEnumOf(r->state())},
                                                        {"revoked", FormatTime(r->revoke_time())}});
                              });
                              return absl::OkStatus();
                            });
    revoke->add_option("credential", *name, "credential id or full name")->required();
  }

  CLI::App* audit = Group(app, "audit", "The audit log: who changed what (tenant and vendor admins)");
  {
    struct Opts {
      bool vendor = false;
      std::string actor, action, since;
      int limit = 50;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* list = Leaf(
        *audit, "list", "Admin changes of a tenant (or the vendor scope), newest recorded first",
        action, [o](Ctl& ctl) -> absl::Status {
          auto parent = CredentialParent(ctl, o->vendor);
          if (!parent.ok()) return parent.status();
          if (o->limit < 1) return UsageError("--limit: 1 or more");
          tenancy::v1::ListAuditRecordsRequest req;
          req.set_parent(*parent);
          req.set_actor(o->actor);
          req.set_action(FullAction(o->action));
          if (!o->since.empty()) {
            absl::Duration d;
            if (!absl::ParseDuration(o->since, &d) || d <= absl::ZeroDuration()) {
              return UsageError("--since: a positive duration such as 24h or 90m");
            }
            req.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - d));
          }
          req.set_page_size(std::min(o->limit, 1000));
          tenancy::v1::ListAuditRecordsResponse all;
          // Pages until --limit records (a filtered page may hold fewer).
          while (all.records_size() < o->limit) {
            auto r = ctl.Call<TenancyService>("tenancy", &Stub::ListAuditRecords, req);
            if (!r.ok()) return r.status();
            for (const auto& x : r->records()) {
              if (all.records_size() < o->limit) *all.add_records() = x;
            }
            if (r->next_page_token().empty()) break;
            req.set_page_token(r->next_page_token());
          }
          ctl.Print(all, [&] {
            Table t({"TIME", "ACTION", "SUBJECT", "ACTOR"});
            for (const auto& x : all.records()) {
              const size_t dot = x.action().rfind('.');
              t.AddRow({FormatTime(x.time()),
                        dot == std::string::npos ? x.action() : x.action().substr(dot + 1),
                        x.subject(), x.actor()});
            }
            t.Print(ctl.out());
          });
          return absl::OkStatus();
        });
    list->add_flag("--vendor", o->vendor, "the vendor scope's log (vendor admins)");
    list->add_option("--actor", o->actor, "only this credential's changes (its full name)");
    list->add_option("--action", o->action,
                     "only this kind of change, e.g. TenantUpdated, RuleSetChanged");
    list->add_option("--since", o->since, "only changes of the last ..., e.g. 24h");
    list->add_option("--limit", o->limit, "at most this many records (default 50)");
  }
}

}  // namespace dialgrid::ctl
