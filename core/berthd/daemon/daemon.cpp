#include "daemon/daemon.hpp"

#include "auth/curve.hpp"
#include "commands/command_server.hpp"
#include "common/thread_name.hpp"
#include "events/pipeline.hpp"
#include "events/publisher.hpp"
#include "events/subscribers.hpp"
#include "metrics/http_endpoint.hpp"
#include "metrics/metrics.hpp"
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"
#include "sched/scheduler.hpp"
#include "sched/threads.hpp"
#include "state/state_view.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sys/stat.h>

namespace berth {
namespace fs = std::filesystem;

namespace {
// What shutdown works on: everything run_daemon set up.
struct Running {
  MetricsEndpoint* metrics;
  Scheduler& scheduler;
  CommandServer& commands;
  Pipeline& pipeline;
  Threads& threads;
  std::vector<std::unique_ptr<Provider>>& providers;
  std::map<std::string, std::shared_ptr<Plugin>>& plugins;
};
int shut_down(const Config& config, Running run);
}  // namespace

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

// The last resort if shutdown hangs outside any plugin call (those are
// bounded one by one below): the bound is promised in docs/operator.md.
void arm_shutdown_watchdog(std::chrono::milliseconds budget) {
  std::thread([budget] {
    name_this_thread("watchdog");
    std::this_thread::sleep_for(budget);
    std::fprintf(stderr, "berthd: shutdown took longer than %lld ms; exiting now\n",
                 static_cast<long long>(budget.count()));
    std::_Exit(kExitUnclean);
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
  // The sockets' access is the directory's access: a failed chmod leaves
  // them open to whoever the directory already admits, so it is fatal.
  if (chmod(dir.c_str(), 0750) != 0) {
    spdlog::error("cannot restrict runtime dir {} to 0750: {}", dir, std::strerror(errno));
    return false;
  }
  return true;
}

bool is_local(const std::string& endpoint) {
  return endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0;
}

// The daemon's CURVE keys, or none. Endpoints that other machines can reach
// need them unless the operator said `insecure`, which is said back loudly.
Result<std::optional<KeyPair>> endpoint_security(const Config& config) {
  std::vector<std::string> exposed;
  for (const auto* ep : {&config.events_endpoint, &config.commands_endpoint})
    if (!is_local(*ep)) exposed.push_back(*ep);
  if (config.curve.enabled()) {
    auto keys = read_key_file(config.curve.server_key_file, true);
    if (!keys) return Status(keys.error().code(), "curve.server_key_file: " + keys.error().message());
    if (config.curve.clients.empty()) spdlog::warn("curve: no client keys are allowed, so no client can connect");
    spdlog::info("curve: {} client key(s) allowed on {}", config.curve.clients.size(),
                 fmt::join(std::vector<std::string>{config.events_endpoint, config.commands_endpoint}, " and "));
    return std::optional<KeyPair>(std::move(*keys));
  }
  if (exposed.empty()) return std::optional<KeyPair>();
  if (!config.insecure)
    return Status(Code::invalid_argument,
                  fmt::format("{} can be reached from the network: configure \"curve\" (keys from `berthctl "
                              "keygen`) or set \"insecure\": true",
                              fmt::join(exposed, " and ")));
  spdlog::warn("INSECURE (\"insecure\": true): {} accept(s) anyone who can reach it, without authentication or "
               "encryption; whoever reaches the commands endpoint controls the containers",
               fmt::join(exposed, " and "));
  return std::optional<KeyPair>();
}

// An ipc socket's own mode, so it does not depend on the umask: owner and
// group may connect. A failed chmod leaves it as open as the umask made it.
Status restrict_ipc_socket(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) != 0) return {};
  const std::string path = endpoint.substr(6);
  if (!path.empty() && path[0] == '@') return {};  // abstract namespace: no file
  if (chmod(path.c_str(), 0660) != 0)
    return {Code::permission_denied, fmt::format("cannot restrict {} to 0660: {}", path, std::strerror(errno))};
  return {};
}

// Everything a scrape reads, each from its owner.
struct MetricSources {
  const Config& config;
  const wire::Identity& identity;
  const CountingSink& events;
  const CommandCounts& commands;
  const Pipeline& pipeline;
  const StateView& view;
  const Scheduler& scheduler;
  const std::vector<std::unique_ptr<Provider>>& providers;
  const Subscribers& subscribers;
  const ZapHandler* zap;
};

uint64_t resident_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string render_metrics(const MetricSources& m) {
  Exposition out;
  out.family("berth_info", "gauge", "This daemon: version, name and run (value 1).");
  out.sample("berth_info", {{"version", BERTH_VERSION}, {"daemon_name", m.identity.name}, {"run", m.identity.run}},
             uint64_t{1});
  m.events.write(out);
  m.commands.write(out);
  const auto stats = m.pipeline.stats();
  out.family("berth_queue_depth", "gauge", "Events waiting between the plugins and the publisher.");
  out.sample("berth_queue_depth", {}, uint64_t{stats.queue_depth});
  out.family("berth_queue_capacity", "gauge", "Bound of that queue; at it, plugins wait (back-pressure).");
  out.sample("berth_queue_capacity", {}, uint64_t{stats.queue_capacity});
  out.family("berth_emit_blocked_total", "counter", "Times a plugin's emit waited for room in the queue.");
  out.sample("berth_emit_blocked_total", {}, stats.emit_blocked_total);
  out.family("berth_messages_published_total", "counter", "Numbered messages published (events and provider reports).");
  out.sample("berth_messages_published_total", {}, stats.published_total);
  out.family("berth_subscribers", "gauge", "Connections to the events socket.");
  out.sample("berth_subscribers", {}, m.subscribers.now());

  struct Row {
    const char* name;
    const char* type;
    const char* help;
  };
  const Row rows[] = {
      {"berth_provider_up", "gauge", "1 while the provider reports up."},
      {"berth_provider_synced", "gauge", "1 once berthd has a baseline list of the provider."},
      {"berth_provider_polling", "gauge", "1 while berthd lists the provider itself (no watch, or one being retried)."},
      {"berth_provider_resyncs_total", "counter", "Lists taken to resynchronise with the provider."},
      {"berth_provider_watch_failures_total", "counter", "Watches of the provider that failed to start or broke."},
      {"berth_provider_held_overflows_total", "counter", "Times events held during a sync overflowed (relisted)."},
      {"berth_provider_calls_running", "gauge", "Plugin calls of the provider running now."},
      {"berth_provider_calls_queued", "gauge", "Plugin calls of the provider waiting for a slot."},
      {"berth_provider_calls_max", "gauge", "The provider's max_calls."},
  };
  for (size_t r = 0; r < std::size(rows); ++r) {
    out.family(rows[r].name, rows[r].type, rows[r].help);
    for (const auto& p : m.providers) {
      const auto ps = m.pipeline.provider_stats(*p);
      const auto load = m.scheduler.load(*p);
      const uint64_t v[] = {m.view.up(p->name()),  m.view.synced(p->name()), ps.polling,
                            ps.resyncs,            ps.watch_failures,        ps.held_overflows,
                            uint64_t{load.running}, uint64_t{load.queued},   uint64_t{load.max_calls}};
      out.sample(rows[r].name, {{"provider", p->name()}, {"plugin", p->plugin().name()}}, v[r]);
    }
  }
  if (m.zap) {
    out.family("berth_auth_total", "counter", "CURVE clients admitted or refused by the ZAP handler.");
    out.sample("berth_auth_total", {{"result", "allowed"}}, m.zap->allowed());
    out.sample("berth_auth_total", {{"result", "denied"}}, m.zap->denied());
  }
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample("process_resident_memory_bytes", {}, resident_bytes());
  return std::move(out.text());
}

// Creates an instance on its own thread, so a plugin whose create() hangs
// costs that instance, not the daemon's start.
Result<std::unique_ptr<Provider>> create_bounded(Threads& threads, std::shared_ptr<Plugin> plugin,
                                                 const ProviderConfig& want, ProviderListener& listener,
                                                 std::chrono::milliseconds budget) {
  struct Outcome {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<Result<std::unique_ptr<Provider>>> result;
    bool abandoned = false;
  };
  auto out = std::make_shared<Outcome>();
  const bool started = threads.run([out, plugin, want, &listener, budget] {
    auto r = Provider::create(plugin, want.name, want.config_json, listener, CallOptions::within(budget));
    std::lock_guard lock(out->mutex);
    if (out->abandoned) {
      // Too late: the daemon went on without it. Keep the instance (and its
      // library) alive rather than destroy what may still be running.
      if (r) r->release();
      return;
    }
    out->result.emplace(std::move(r));
    out->done.notify_all();
  });
  if (!started) return Status(Code::internal, "provider " + want.name + ": no thread to create it");
  std::unique_lock lock(out->mutex);
  if (!out->done.wait_for(lock, budget + std::chrono::seconds(1), [&] { return out->result.has_value(); })) {
    out->abandoned = true;
    return Status(Code::timeout, fmt::format("provider {} ({}): create did not return within {} ms",
                                             want.name, plugin->name(), budget.count()));
  }
  return std::move(*out->result);
}

// What a provider is still doing: "stop(web) for 12.3 s, ...".
std::string describe_calls(const Scheduler::Load& load) {
  std::vector<std::string> parts;
  for (const auto& c : load.calls)
    parts.push_back(fmt::format("{}({}) for {:.1f} s", c.op, c.container, c.running.count() / 1000.0));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

int run_daemon(const Config& config) {
  const bool uses_ipc = config.events_endpoint.rfind("ipc://", 0) == 0 ||
                        config.commands_endpoint.rfind("ipc://", 0) == 0;
  if (uses_ipc && !make_runtime_dir(config.runtime_dir)) return kExitBind;
  auto security = endpoint_security(config);
  if (!security) {
    spdlog::error("{}", security.error().message());
    return kExitConfig;
  }
  const KeyPair* curve = *security ? &**security : nullptr;
  if (config.workers > 0) spdlog::warn("config: workers is ignored: berthd starts threads as calls need them");

  // Load each plugin file once; instances share it.
  std::map<std::string, std::shared_ptr<Plugin>> plugins;
  StateView view;
  zmq::context_t zmq(1);
  // Before any CURVE socket binds: without it they admit nobody.
  std::optional<ZapHandler> zap;
  if (curve) {
    zap.emplace(zmq, config.curve.clients);
    if (auto st = zap->start(); !st) {
      spdlog::error("{}", st.message());
      return kExitBind;
    }
  }
  Threads threads;
  Scheduler scheduler(threads, {static_cast<size_t>(config.max_pending)});
  // How long a client that stopped reading may hold up the exit, on either
  // socket: a quarter of the budget leaves the rest to the providers.
  const auto unread_client_window = std::chrono::milliseconds(config.shutdown_timeout_ms / 4);
  // One identity for every message and reply of this process (a restart is a new run).
  const wire::Identity identity{config.daemon_name, wire::new_run_id()};
  ZmqPublisher publisher(zmq, {config.events_endpoint, config.pub_hwm, identity,
                               unread_client_window, curve});
  // Counting costs the hot path a little: only when metrics are served.
  const bool metered = !config.metrics_listen.empty();
  CountingSink counting(publisher);
  CommandCounts command_counts;
  Pipeline pipeline(metered ? static_cast<EventSink&>(counting) : publisher, view, scheduler,
                    {std::chrono::milliseconds(config.heartbeat_ms), static_cast<size_t>(config.queue_capacity),
                     static_cast<size_t>(config.queue_capacity), std::chrono::milliseconds(config.default_timeout_ms)});
  std::vector<std::unique_ptr<Provider>> providers;
  std::vector<ProviderConfig> wanted = resolve_providers(config);
  if (wanted.empty())
    spdlog::warn("no provider configured and no plugin found in {}", fmt::join(config.plugin_dirs, ", "));

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
    auto created = create_bounded(threads, plugin, want, pipeline,
                                  std::chrono::milliseconds(config.default_timeout_ms));
    if (!created) {
      spdlog::error("{}", created.error().message());
      if (want.required) return kExitProvider;
      continue;
    }
    Provider& p = **created;
    // A plugin that asks to be serialized gets one call at a time.
    scheduler.add_provider(p, p.serialized() ? 1 : static_cast<size_t>(want.max_calls));
    pipeline.add_provider(p, std::chrono::milliseconds(want.poll_interval_ms));
    counting.add_provider(p.name());
    providers.push_back(std::move(*created));
  }

  // A plugin none of whose instances could be created is of no use: unload
  // it (its code and libraries stay out of memory).
  std::erase_if(plugins, [](const auto& kv) { return kv.second.use_count() == 1; });

  if (auto st = publisher.bind(); !st) {
    spdlog::error("{}", st.message());
    return kExitBind;
  }
  if (auto st = restrict_ipc_socket(config.events_endpoint); !st) {
    spdlog::error("{}", st.message());
    return kExitBind;
  }
  // Counted for metrics; `stopping` waits on it for subscribers that are behind.
  Subscribers subscribers(zmq, publisher.socket());
  publisher.watch(&subscribers);
  std::vector<Provider*> raw;
  for (auto& p : providers) raw.push_back(p.get());
  Dispatcher dispatcher(raw, view, scheduler, &pipeline,
                        {std::chrono::milliseconds(config.default_timeout_ms),
                         std::chrono::milliseconds(config.stop_grace_ms), identity});
  CommandServer commands(zmq, dispatcher, scheduler,
                         {.endpoint = config.commands_endpoint, .curve = curve,
                          .counts = metered ? &command_counts : nullptr,
                          .linger = unread_client_window});
  if (auto st = commands.bind(); !st) {
    spdlog::error("{}", st.message());
    return kExitBind;
  }
  if (auto st = restrict_ipc_socket(config.commands_endpoint); !st) {
    spdlog::error("{}", st.message());
    return kExitBind;
  }
  std::optional<MetricsEndpoint> metrics;
  if (metered) {
    metrics.emplace(config.metrics_listen, [&] {
      return render_metrics({config, identity, counting, command_counts, pipeline, view, scheduler, providers, subscribers,
                             zap ? &*zap : nullptr});
    });
    if (auto st = metrics->start(); !st) {
      spdlog::error("{}", st.message());
      return kExitBind;
    }
    spdlog::info("metrics on http://{}/metrics", metrics->address());
  }
  pipeline.start();  // starts each provider's watch or polling
  commands.start();

  std::vector<std::string> names;
  for (auto& p : providers) names.push_back(p->name() + "(" + p->plugin().name() + ")");
  std::printf("berthd %s ready\n  events:    %s\n  commands:  %s\n  providers: %s\n", BERTH_VERSION,
              config.events_endpoint.c_str(), config.commands_endpoint.c_str(),
              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")).c_str());
  std::fflush(stdout);

  const int sig = wait_for_signal();
  spdlog::info("signal {} received; shutting down", sig);
  return shut_down(config, {metrics ? &*metrics : nullptr, scheduler, commands, pipeline, threads, providers, plugins});
}

namespace {
// Bounded by shutdown_timeout_ms: every instance that is not stuck is
// destroyed; each stuck one is named with its op and how long it ran.
int shut_down(const Config& config, Running run) {
  const auto budget = std::chrono::milliseconds(config.shutdown_timeout_ms);
  const auto deadline = Clock::now() + budget;
  arm_shutdown_watchdog(budget + std::chrono::seconds(3));
  if (run.metrics) run.metrics->stop();  // it reads the providers destroyed below
  run.scheduler.shutdown();  // running calls see call_cancelled; queued ones are refused
  run.commands.stop();       // pending requests get `shutting_down`

  // watch_stop for every instance at once, each bounded by the deadline.
  struct Stopped {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<bool> done;
  };
  auto stopped = std::make_shared<Stopped>();
  stopped->done.assign(run.providers.size(), false);
  for (size_t i = 0; i < run.providers.size(); ++i) {
    Provider* p = run.providers[i].get();
    if (!run.threads.run([p, i, stopped] {
          p->watch_stop();
          std::lock_guard lock(stopped->mutex);
          stopped->done[i] = true;
          stopped->cv.notify_all();
        }))
      spdlog::error("provider {}: no thread to stop its watch", p->name());
  }
  {
    std::unique_lock lock(stopped->mutex);
    stopped->cv.wait_until(lock, deadline, [&] {
      return std::all_of(stopped->done.begin(), stopped->done.end(), [](bool b) { return b; });
    });
  }
  run.pipeline.stop();  // publishes what plugins emitted, then "stopping"

  bool clean = true;
  std::set<const Plugin*> keep_loaded;
  for (size_t i = 0; i < run.providers.size(); ++i) {
    auto& p = run.providers[i];
    const bool idle = run.scheduler.wait_idle(*p, deadline);
    bool watch_done;
    {
      std::lock_guard lock(stopped->mutex);
      watch_done = stopped->done[i];
    }
    if (idle && watch_done) {
      p.reset();  // destroy(), before its library unloads
      continue;
    }
    clean = false;
    const auto load = run.scheduler.load(*p);
    spdlog::error("provider {} ({}) is stuck and is not destroyed: {}{}", p->name(), p->plugin().name(),
                  watch_done ? "" : "watch_stop has not returned; ", describe_calls(load));
    keep_loaded.insert(&p->plugin());
    p.release();  // its threads may still be inside the plugin
  }
  for (auto it = run.plugins.begin(); it != run.plugins.end();)
    it = keep_loaded.count(it->second.get()) ? std::next(it) : run.plugins.erase(it);
  // A leftover ipc socket file would make clients wait for a dead daemon.
  std::error_code ignored;
  for (const auto* ep : {&config.events_endpoint, &config.commands_endpoint})
    if (ep->rfind("ipc://", 0) == 0) fs::remove(ep->substr(6), ignored);
  if (!clean) {
    // Stuck plugin threads still run: leave without running destructors
    // under their feet.
    spdlog::error("stopped, leaving stuck providers behind");
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(kExitUnclean);
  }
  spdlog::info("stopped");
  return kExitOk;
}
}  // namespace

}  // namespace berth
