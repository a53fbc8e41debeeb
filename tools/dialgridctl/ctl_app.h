#pragma once

// The dialgridctl program: the command tree, global options, and how a run
// turns into an exit code. main() only calls Main.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "tools/dialgridctl/ctl_context.h"

namespace dialgrid::ctl {

// The whole command tree with its global options bound to `ctl`; the leaf
// the command line names stores its action in `action`.
std::unique_ptr<CLI::App> BuildApp(Ctl& ctl, Action& action);

// A bash completion script for `app`'s commands and options, for a binary
// called `program`.
std::string BashCompletion(const CLI::App& app, const std::string& program);

// Parses, resolves the configuration, runs the command; the exit code
// (ctl_output.h). `env` reads the environment (getenv in main).
int Main(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
         const std::function<std::optional<std::string>(const char*)>& env);

}  // namespace dialgrid::ctl
