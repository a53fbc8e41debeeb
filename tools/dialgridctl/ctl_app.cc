#include "tools/dialgridctl/ctl_app.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tools/dialgridctl/commands.h"

namespace dialgrid::ctl {
namespace {

// Option values as typed, before they become CtlFlags.
struct RawGlobals {
  bool tls = false;
  std::string timeout;
};

absl::StatusOr<double> ParseTimeoutFlag(const std::string& text) {
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) return seconds;
  absl::Duration d;
  if (absl::ParseDuration(text, &d)) return absl::ToDoubleSeconds(d);
  return UsageError(
      absl::StrCat("--timeout: \"", text, "\" is not seconds or a duration (30, 2m)"));
}

}  // namespace

std::unique_ptr<CLI::App> BuildApp(Ctl& ctl, Action& action) {
  auto app = std::make_unique<CLI::App>(
      "dialgridctl: Dialgrid's command line over its public gRPC API.\n"
      "Settings come from flags, then DIALGRID_* environment variables, then the config file\n"
      "(~/.config/dialgrid/config), then --run-dir. Exit codes: 0 ok, 1 other error, 2 usage,\n"
      "3 invalid argument, 4 not found, 5 permission denied or unauthenticated, 6 unavailable\n"
      "or deadline exceeded, 7 failed precondition/aborted/already exists, 8 resource exhausted.",
      "dialgridctl");
  app->fallthrough();  // global options after the subcommand too
  app->require_subcommand(1);
  app->set_version_flag("--version", "dialgridctl " DIALGRID_VERSION);
  CtlFlags& f = ctl.flags;
  auto raw = std::make_shared<RawGlobals>();
  const char* kGlobal = "Global options";
  app->add_option("--credential", f.credential,
                  "the bearer secret (env DIALGRID_CREDENTIAL; prefer --credential-file: a flag "
                  "shows in ps)")
      ->group(kGlobal);
  app->add_option("--credential-file", f.credential_file,
                  "file whose first line is the secret (env DIALGRID_CREDENTIAL_FILE)")
      ->group(kGlobal);
  app->add_option("--config", f.config,
                  "config file of key=value lines (env DIALGRID_CONFIG; default "
                  "~/.config/dialgrid/config)")
      ->group(kGlobal);
  app->add_option("--tenant", f.tenant,
                  "tenant of bare ids (\"spring\" -> tenants/<tenant>/campaigns/spring); env "
                  "DIALGRID_TENANT")
      ->group(kGlobal);
  app->add_option("--run-dir", f.run_dir,
                  "a local platform's run directory (tools/run.sh): endpoints from its "
                  "<service>.ports files; env DIALGRID_RUN_DIR")
      ->group(kGlobal);
  for (const auto& s : Services()) {
    app->add_option(absl::StrCat("--", s.key), f.endpoints[s.key],
                    absl::StrCat("the ", s.key, " service, host:port (env ", s.env, ")"))
        ->group(kGlobal);
  }
  app->add_flag("--json", ctl.json,
                "print the response messages as JSON (streams: one object per line); errors "
                "as JSON on stderr")
      ->group(kGlobal);
  app->add_option("--timeout", raw->timeout,
                  "deadline of each call: seconds or a duration such as 2m (default 30; "
                  "imports and downloads 10m); env DIALGRID_TIMEOUT")
      ->group(kGlobal);
  app->add_flag("--tls", raw->tls, "connect with TLS (env DIALGRID_TLS=1)")->group(kGlobal);
  app->add_option("--ca-file", f.ca_file,
                  "PEM roots the services' certificates chain to (implies --tls; env "
                  "DIALGRID_CA_FILE)")
      ->group(kGlobal);
  app->add_option("--server-name", f.server_name,
                  "the name the certificates carry when not the address's host (env "
                  "DIALGRID_SERVER_NAME)")
      ->group(kGlobal);
  // Turns the raw values into flags once parsing is done.
  app->parse_complete_callback([&ctl, raw] {
    if (raw->tls) ctl.flags.tls = true;
  });

  AddTenancyCommands(*app, action);
  AddContactsCommands(*app, action);
  AddDialingCommands(*app, action);
  AddAgentsCommands(*app, action);
  AddComplianceCommands(*app, action);
  AddRecordingsCommands(*app, action);

  CLI::App* completion = Group(*app, "completion", "Print a shell completion script");
  CLI::App* root = app.get();
  Leaf(*completion, "bash", "bash: source <(dialgridctl completion bash)", action, [root](Ctl& c) {
    c.out() << BashCompletion(*root, "dialgridctl");
    return absl::OkStatus();
  });
  // --timeout is checked here (not in ResolveConfig) so its error names the flag.
  app->callback([&ctl, raw] {
    if (raw->timeout.empty()) return;
    auto t = ParseTimeoutFlag(raw->timeout);
    if (!t.ok()) throw CLI::ValidationError("--timeout", std::string(t.status().message()));
    ctl.flags.timeout_seconds = *t;
  });
  return app;
}

int Main(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
         const std::function<std::optional<std::string>(const char*)>& env) {
  Ctl ctl(out, err);
  Action action;
  std::unique_ptr<CLI::App> app = BuildApp(ctl, action);
  try {
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app->exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app->exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app->exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "dialgridctl: " << e.what() << "\n";
    err << "run 'dialgridctl --help' (or '<command> --help') for usage\n";
    return kExitUsage;
  }
  if (!action) {
    err << "dialgridctl: no command given; run 'dialgridctl --help'\n";
    return kExitUsage;
  }
  ConfigSources sources;
  sources.flags = ctl.flags;
  sources.env = env;
  // The completion script needs no configuration (a broken config file must
  // not break the shell).
  bool needs_config = !app->got_subcommand("completion");
  if (needs_config) {
    absl::Status st = ctl.Resolve(sources);
    if (!st.ok()) {
      PrintError(err, st, ctl.json);
      return ExitCodeOf(st);
    }
  }
  absl::Status st = action(ctl);
  out.flush();
  if (!st.ok()) {
    PrintError(err, st, ctl.json);
    return ExitCodeOf(st);
  }
  return kExitOk;
}

}  // namespace dialgrid::ctl
