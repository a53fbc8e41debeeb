// contacts lists list|create, contacts import, contacts export (ContactsService).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "dialgrid/contacts/v1/contacts.grpc.pb.h"
#include "tools/dialgridctl/commands.h"
#include "tools/dialgridctl/ctl_import.h"

namespace dialgrid::ctl {
namespace {

using contacts::v1::ContactsService;
using Stub = ContactsService::Stub;

constexpr size_t kChunkBytes = 1 << 20;  // well under the service's 4 MiB

void PrintReport(Ctl& ctl, const contacts::v1::ImportReport& r) {
  ctl.Print(r, [&] {
    PrintFields(ctl.out(), {{"list", r.parent()},
                            {"import id", r.import_id()},
                            {"rows read", absl::StrCat(r.rows_read())},
                            {"accepted (new)", absl::StrCat(r.rows_accepted())},
                            {"updated", absl::StrCat(r.rows_updated())},
                            {"duplicates merged", absl::StrCat(r.duplicates_merged())},
                            {"skipped (sent before)", absl::StrCat(r.rows_skipped())},
                            {"rejected", absl::StrCat(r.rows_rejected())},
                            {"committed in all", absl::StrCat(r.rows_committed())}});
    if (r.rejections_size() > 0) {
      ctl.out() << "\nrejected rows";
      if (r.rows_rejected() > r.rejections_size()) {
        ctl.out() << " (the first " << r.rejections_size() << " of " << r.rows_rejected() << ")";
      }
      ctl.out() << ":\n";
      Table t({"ROW", "REASON", "MESSAGE"});
      for (const auto& x : r.rejections()) {
        t.AddRow({absl::StrCat(x.row()), x.reason(), x.message()});
      }
      t.Print(ctl.out());
    }
  });
}

struct ImportOpts {
  std::string list, file, import_id, default_country, duplicates, format;
  std::vector<std::string> maps;
  bool no_attributes = false;
  bool quiet = false;
};

absl::Status RunImport(Ctl& ctl, const ImportOpts& o) {
  auto list = ctl.Name("contactLists", o.list);
  if (!list.ok()) return list.status();
  auto bytes = ReadFile(o.file);
  if (!bytes.ok()) return UsageError(absl::StrCat("--file: ", bytes.status().message()));

  contacts::v1::ImportContactsRequest first;
  auto* h = first.mutable_header();
  h->set_parent(*list);
  h->set_import_id(o.import_id.empty() ? DefaultImportId(*list, *bytes) : o.import_id);
  h->set_default_country(o.default_country);
  bool json_lines =
      o.format == "jsonl" || o.format == "json-lines" ||
      (o.format.empty() && (absl::EndsWith(o.file, ".jsonl") || absl::EndsWith(o.file, ".ndjson")));
  h->set_format(json_lines ? contacts::v1::IMPORT_FORMAT_JSON_LINES
                           : contacts::v1::IMPORT_FORMAT_CSV);
  if (!o.maps.empty()) {
    auto m = ParseMapping(o.maps);
    if (!m.ok()) return m.status();
    *h->mutable_mapping() = *m;
  } else if (!json_lines) {
    auto header = CsvHeader(*bytes);
    if (!header.ok()) return header.status();
    *h->mutable_mapping() = GuessMapping(*header, !o.no_attributes);
    if (h->mapping().phones_size() == 0) {
      return UsageError(absl::StrCat("no phone column in ", o.file, "'s header (",
                                     absl::StrJoin(*header, ", "),
                                     "): name one with --map phone=<column>"));
    }
  } else {
    return UsageError("a JSON-lines import needs --map (e.g. --map phone=phone)");
  }
  if (!o.duplicates.empty()) {
    auto d = ParseEnum(contacts::v1::DuplicatePolicy_descriptor(), o.duplicates, "--duplicates");
    if (!d.ok()) return d.status();
    h->set_duplicate_policy(static_cast<contacts::v1::DuplicatePolicy>(*d));
  } else if (h->mapping().external_id().empty()) {
    h->set_duplicate_policy(contacts::v1::DUPLICATE_POLICY_PHONE);
  }
  // About how many rows, so the service sizes its indexes once.
  int64_t lines = std::count(bytes->begin(), bytes->end(), '\n');
  h->set_expected_rows(json_lines ? lines : std::max<int64_t>(lines - 1, 0));

  grpc::ClientContext ctx;
  absl::Status st = ctl.PrepareStream("contacts", ctx, ctl.transfer_timeout());
  if (!st.ok()) return st;
  auto peer = ctl.Peer("contacts");
  auto stub = ContactsService::NewStub((*peer)->channel());
  contacts::v1::ImportReport report;
  auto writer = stub->ImportContacts(&ctx, &report);

  bool tty = !o.quiet && isatty(STDERR_FILENO);
  auto progress = [&](size_t sent, bool done) {
    if (o.quiet) return;
    std::string line = absl::StrFormat(
        "importing %s into %s: %s of %s (%d%%)%s", o.file, *list,
        FormatBytes(static_cast<int64_t>(sent)), FormatBytes(static_cast<int64_t>(bytes->size())),
        bytes->empty() ? 100 : static_cast<int>(sent * 100 / bytes->size()),
        done ? ", waiting for the report" : "");
    if (tty) {
      ctl.err() << "\r" << line << "\x1b[K" << (done ? "\n" : "") << std::flush;
    } else if (done) {
      ctl.err() << line << "\n";
    }
  };
  bool open = writer->Write(first);
  size_t sent = 0;
  while (open && sent < bytes->size()) {
    size_t n = std::min(kChunkBytes, bytes->size() - sent);
    contacts::v1::ImportContactsRequest chunk;
    chunk.set_chunk(bytes->substr(sent, n));
    open = writer->Write(chunk);
    if (open) sent += n;
    progress(sent, false);
  }
  if (open) writer->WritesDone();
  progress(sent, true);
  grpc::Status done = writer->Finish();
  if (!done.ok()) return ctl.StatusOf("contacts", done);
  PrintReport(ctl, report);
  return absl::OkStatus();
}

}  // namespace

void AddContactsCommands(CLI::App& app, Action& action) {
  CLI::App* contacts = Group(app, "contacts", "Contact lists: import, export");
  CLI::App* lists = Group(*contacts, "lists", "The tenant's contact lists");
  Leaf(*lists, "list", "List the tenant's contact lists with their counts", action,
       [](Ctl& ctl) -> absl::Status {
         auto parent = ctl.TenantParent();
         if (!parent.ok()) return parent.status();
         contacts::v1::ListContactListsRequest req;
         req.set_parent(*parent);
         auto r = ListAll<ContactsService>(ctl, "contacts", &Stub::ListContactLists, req);
         if (!r.ok()) return r.status();
         ctl.Print(*r, [&] {
           Table t({"LIST", "DISPLAY NAME", "CONTACTS", "CALLABLE", "COMPLETED", "DO NOT CALL",
                    "UPDATED"});
           for (const auto& l : r->contact_lists()) {
             auto count = [&](const char* status) {
               auto it = l.counts_by_status().find(status);
               return absl::StrCat(it == l.counts_by_status().end() ? 0 : it->second);
             };
             t.AddRow({LastSegment(l.name()), l.display_name(), absl::StrCat(l.contact_count()),
                       count("CALLABLE"), count("COMPLETED"), count("DO_NOT_CALL"),
                       FormatTime(l.update_time())});
           }
           t.Print(ctl.out());
         });
         return absl::OkStatus();
       });
  {
    struct Opts {
      std::string id, display_name, description, request_id;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* create =
        Leaf(*lists, "create", "Create a contact list", action, [o](Ctl& ctl) -> absl::Status {
          auto parent = ctl.TenantParent();
          if (!parent.ok()) return parent.status();
          contacts::v1::CreateContactListRequest req;
          req.set_parent(*parent);
          req.set_contact_list_id(o->id);
          req.set_request_id(o->request_id);
          req.mutable_contact_list()->set_display_name(o->display_name.empty() ? o->id
                                                                               : o->display_name);
          req.mutable_contact_list()->set_description(o->description);
          auto r = ctl.Call<ContactsService>("contacts", &Stub::CreateContactList, req);
          if (!r.ok()) return r.status();
          ctl.Print(*r, [&] {
            PrintFields(ctl.out(), {{"name", r->name()}, {"display name", r->display_name()}});
          });
          return absl::OkStatus();
        });
    create->add_option("id", o->id, "the list's id ([a-z0-9-], a letter first)")->required();
    create->add_option("--display-name", o->display_name, "default: the id");
    create->add_option("--description", o->description, "up to 2000 characters");
    create->add_option("--request-id", o->request_id, "idempotency key");
  }
  {
    auto o = std::make_shared<ImportOpts>();
    CLI::App* import = Leaf(*contacts, "import",
                            "Stream a CSV (or JSON-lines) file into a list; prints the report "
                            "with every rejected row",
                            action, [o](Ctl& ctl) { return RunImport(ctl, *o); });
    import->add_option("--list", o->list, "list id or full name")->required();
    import->add_option("--file", o->file, "the file")->required()->check(CLI::ExistingFile);
    import->add_option("--map", o->maps,
                       "field=column, repeatable (default: guessed from the CSV header)");
    import->add_flag("--no-attributes", o->no_attributes,
                     "guessing: ignore columns that are no contact field (default: attributes)");
    import->add_option("--import-id", o->import_id,
                       "resume key (default: from the list and the file's bytes, so sending the "
                       "same file again skips the rows committed)");
    import->add_option("--default-country", o->default_country,
                       "ISO region of national numbers, e.g. US");
    import->add_option("--duplicates", o->duplicates,
                       "external-id or phone (default: external-id when an id column is mapped)");
    import->add_option("--format", o->format, "csv or jsonl (default: from the file's name)");
    import->add_flag("--quiet", o->quiet, "no progress line");
  }
  {
    struct Opts {
      std::string list, filter, out;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* exp =
        Leaf(*contacts, "export", "Write a list (or the contacts a filter matches) as CSV", action,
             [o](Ctl& ctl) -> absl::Status {
               auto list = ctl.Name("contactLists", o->list);
               if (!list.ok()) return list.status();
               std::ofstream file;
               if (!o->out.empty() && o->out != "-") {
                 file.open(o->out, std::ios::binary | std::ios::trunc);
                 if (!file) return UsageError(absl::StrCat("--out: cannot write ", o->out));
               }
               std::ostream& out = file.is_open() ? static_cast<std::ostream&>(file) : ctl.out();
               contacts::v1::ExportContactsRequest req;
               req.set_parent(*list);
               req.set_filter(o->filter);
               grpc::ClientContext ctx;
               absl::Status st = ctl.PrepareStream("contacts", ctx, ctl.transfer_timeout());
               if (!st.ok()) return st;
               auto stub = ContactsService::NewStub((*ctl.Peer("contacts"))->channel());
               auto reader = stub->ExportContacts(&ctx, req);
               contacts::v1::ExportContactsResponse chunk;
               int64_t bytes = 0;
               while (reader->Read(&chunk)) {
                 out << chunk.chunk();
                 bytes += static_cast<int64_t>(chunk.chunk().size());
               }
               grpc::Status done = reader->Finish();
               if (!done.ok()) return ctl.StatusOf("contacts", done);
               out.flush();
               if (file.is_open())
                 ctl.err() << "wrote " << FormatBytes(bytes) << " to " << o->out << "\n";
               return absl::OkStatus();
             });
    exp->add_option("--list", o->list, "list id or full name")->required();
    exp->add_option("--filter", o->filter, "e.g. 'status = CALLABLE'");
    exp->add_option("--out", o->out, "file to write (default: stdout)");
  }
}

}  // namespace dialgrid::ctl
