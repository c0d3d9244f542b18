// berthd from start to graceful stop: load plugins, create instances, bind
// the sockets, watch, serve until SIGINT/SIGTERM, then shut down in order.
#pragma once

#include "config/config.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace berth {

enum ExitCode : int {
  kExitOk = 0,
  kExitConfig = 1,    // bad config file
  // 2: a bad command line, as for every program (common/command_line.hpp)
  kExitProvider = 3,  // a provider marked "required" did not come up
  kExitBind = 4,      // an endpoint could not be bound
  kExitUnclean = 5,   // shutdown left a stuck provider behind (named in the log)
};

// The providers to create: the config's list, or (empty list) one instance
// with "{}" per plugin found in the plugin dirs. Plugin names are resolved
// to paths; a name not found stays as given and fails at load, by name.
std::vector<ProviderConfig> resolve_providers(const Config& config);

// Runs until SIGINT/SIGTERM (which the caller must have blocked in every
// thread). Returns the process exit code.
int run_daemon(const Config& config);

}  // namespace berth
