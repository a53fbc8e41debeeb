#pragma once

// The command tree. Each Add*Commands adds one group of subcommands to the
// app; a leaf's callback stores its Action, which ctl_app runs after the
// whole command line parsed.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/dialgridctl/ctl_context.h"

namespace dialgrid::ctl {

void AddTenancyCommands(CLI::App& app, Action& action);
void AddContactsCommands(CLI::App& app, Action& action);
void AddDialingCommands(CLI::App& app, Action& action);  // campaigns, calls, blocked
void AddAgentsCommands(CLI::App& app, Action& action);
void AddComplianceCommands(CLI::App& app, Action& action);
void AddRecordingsCommands(CLI::App& app, Action& action);

// A group ("campaigns") that needs one of its subcommands.
inline CLI::App* Group(CLI::App& parent, const std::string& name, const std::string& what) {
  CLI::App* g = parent.add_subcommand(name, what);
  g->require_subcommand(1);
  return g;
}

// A leaf command whose action is `run` (it captures the leaf's options).
inline CLI::App* Leaf(CLI::App& parent, const std::string& name, const std::string& what,
                      Action& action, Action run) {
  CLI::App* leaf = parent.add_subcommand(name, what);
  leaf->callback([&action, run = std::move(run)] { action = run; });
  return leaf;
}

// key: value lines, keys aligned.
inline void PrintFields(std::ostream& out,
                        const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [k, v] : fields) width = std::max(width, k.size());
  for (const auto& [k, v] : fields) {
    out << k << ":" << std::string(width - k.size() + 1, ' ') << v << "\n";
  }
}

// Every page of a List RPC, merged into one response (next_page_token
// cleared).
template <typename Service, typename Owner, typename Request, typename Response>
absl::StatusOr<Response> ListAll(Ctl& ctl, const std::string& service,
                                 grpc::Status (Owner::*method)(grpc::ClientContext*, const Request&,
                                                               Response*),
                                 Request request) {
  Response all;
  for (int page = 0; page < 100000; ++page) {
    auto r = ctl.Call<Service>(service, method, request);
    if (!r.ok()) return r.status();
    std::string next = r->next_page_token();
    all.MergeFrom(*r);
    if (next.empty()) break;
    request.set_page_token(next);
  }
  all.clear_next_page_token();
  return all;
}

}  // namespace dialgrid::ctl
