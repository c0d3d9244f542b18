#include "daemon/daemon.hpp"

#include "commands/command_server.hpp"
#include "events/pipeline.hpp"
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"
#include "state/state_view.hpp"

#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sys/stat.h>

namespace berth {
namespace fs = std::filesystem;

std::vector<ProviderConfig> resolve_providers(const Config& config) {
  auto find_in_dirs = [&](const std::string& plugin) -> std::string {
    if (plugin.find('/') != std::string::npos) return plugin;
    for (const auto& dir : config.plugin_dirs) {
      const fs::path candidate = fs::path(dir) / (plugin + ".so");
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec)) return candidate.string();
    }
    return plugin;
  };
  std::vector<ProviderConfig> out;
  if (!config.providers.empty()) {
    for (auto p : config.providers) {
      p.plugin = find_in_dirs(p.plugin);
      out.push_back(std::move(p));
    }
    return out;
  }
  std::set<std::string> seen;  // the first dir that has a plugin name wins
  for (const auto& dir : config.plugin_dirs) {
    std::error_code ec;
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    for (const auto& path : found) {
      const std::string name = path.stem().string();
      if (!seen.insert(name).second) continue;
      out.push_back({name, path.string(), "{}", false, 5000});
    }
  }
  return out;
}

namespace {

// Refuses the process a clean exit if shutdown hangs (a plugin ignoring
// cancellation): the bound is promised in docs/operator.md.
void arm_shutdown_watchdog(std::chrono::milliseconds budget) {
  std::thread([budget] {
    std::this_thread::sleep_for(budget);
    std::fprintf(stderr, "berthd: shutdown took longer than %lld ms; exiting now\n",
                 static_cast<long long>(budget.count()));
    std::_Exit(1);
  }).detach();
}

int wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

bool make_runtime_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    spdlog::error("cannot create runtime dir {}: {}", dir, ec.message());
    return false;
  }
  chmod(dir.c_str(), 0750);  // the sockets' access is the directory's access
  return true;
}

}  // namespace

int run_daemon(const Config& config) {
  const bool uses_ipc = config.events_endpoint.rfind("ipc://", 0) == 0 ||
                        config.commands_endpoint.rfind("ipc://", 0) == 0;
  if (uses_ipc && !make_runtime_dir(config.runtime_dir)) return kExitBind;

  // Load each plugin file once; instances share it.
  std::map<std::string, std::shared_ptr<Plugin>> plugins;
  StateView view;
  zmq::context_t zmq(1);
  boost::asio::thread_pool workers(static_cast<size_t>(config.workers));
  Pipeline pipeline(zmq, view, workers,
                    {config.events_endpoint, std::chrono::milliseconds(config.heartbeat_ms),
                     static_cast<size_t>(config.queue_capacity), config.pub_hwm,
                     std::chrono::milliseconds(config.default_timeout_ms)});
  std::vector<std::unique_ptr<Provider>> providers;
  std::vector<ProviderConfig> wanted = resolve_providers(config);
  if (wanted.empty())
    spdlog::warn("no provider configured and no plugin found in {}",
                 fmt::join(config.plugin_dirs, ", "));

  for (const auto& want : wanted) {
    auto& plugin = plugins[want.plugin];
    if (!plugin) {
      auto loaded = Plugin::load(want.plugin);
      if (!loaded) {
        spdlog::error("{}", loaded.error().message());
        if (want.required) return kExitProvider;
        plugins.erase(want.plugin);
        continue;
      }
      plugin = *loaded;
      spdlog::info("loaded plugin {} {} (ABI {}.{}) from {}", plugin->name(), plugin->version(),
                   plugin->abi_major(), plugin->abi_minor(), plugin->path().string());
    }
    auto created = Provider::create(plugin, want.name, want.config_json, pipeline,
                                    CallOptions::within(std::chrono::milliseconds(config.default_timeout_ms)));
    if (!created) {
      spdlog::error("{}", created.error().message());
      if (want.required) return kExitProvider;
      continue;
    }
    pipeline.add_provider(**created, std::chrono::milliseconds(want.poll_interval_ms));
    providers.push_back(std::move(*created));
  }

  if (auto st = pipeline.bind(); !st) {
    spdlog::error("{}", st.message());
    return kExitBind;
  }
  std::atomic<bool> cancelled{false};
  std::vector<Provider*> raw;
  for (auto& p : providers) raw.push_back(p.get());
  Dispatcher dispatcher(raw, view,
                        {std::chrono::milliseconds(config.default_timeout_ms),
                         std::chrono::milliseconds(config.stop_grace_ms)},
                        cancelled);
  CommandServer commands(zmq, dispatcher, workers,
                         {config.commands_endpoint, static_cast<size_t>(config.max_pending)});
  if (auto st = commands.bind(); !st) {
    spdlog::error("{}", st.message());
    return kExitBind;
  }
  pipeline.start();
  commands.start();

  for (auto& p : providers) {
    if (!p->supports(BERTH_CAP_WATCH)) continue;
    if (auto st = p->watch_start(CallOptions::within(std::chrono::milliseconds(config.default_timeout_ms)));
        !st)
      spdlog::error("provider {}: watch failed: {}", p->name(), st.message());
  }
  std::vector<std::string> names;
  for (auto& p : providers) names.push_back(p->name() + "(" + p->plugin().name() + ")");
  std::printf("berthd %s ready\n  events:    %s\n  commands:  %s\n  providers: %s\n", BERTH_VERSION,
              config.events_endpoint.c_str(), config.commands_endpoint.c_str(),
              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")).c_str());
  std::fflush(stdout);

  std::error_code ec_ignored;
  const int sig = wait_for_signal();
  spdlog::info("signal {} received; shutting down", sig);
  arm_shutdown_watchdog(std::chrono::milliseconds(config.shutdown_timeout_ms));
  cancelled = true;
  commands.stop();
  for (auto& p : providers) p->watch_stop();
  pipeline.stop();  // publishes what plugins emitted, then "stopping"
  workers.join();
  providers.clear();  // destroy instances before their libraries unload
  plugins.clear();
  // A leftover ipc socket file would make clients wait for a dead daemon.
  for (const auto* ep : {&config.events_endpoint, &config.commands_endpoint})
    if (ep->rfind("ipc://", 0) == 0) fs::remove(ep->substr(6), ec_ignored);
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace berth
