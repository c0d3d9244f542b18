// One provider instance: a plugin instantiated from a config, with the host's
// side of the ABI (capability checks, deadlines, copying out of borrowed
// structs). Thread-safe as the ABI allows: ops may run concurrently.
#pragma once

#include "common/status.hpp"
#include "plugin/plugin.hpp"

#include <berth/provider.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <spdlog/logger.h>
#include <optional>
#include <string>
#include <vector>

namespace berth {

using Container = sdk::Container;
using Event = sdk::Event;
using Clock = std::chrono::steady_clock;

class Provider;
}  // namespace berth

// The ABI's opaque handles, as the host defines them.
struct berth_host_ctx {
  berth::Provider* provider;
};

namespace berth {

// Where an instance's events and up/down reports go: the daemon's pipeline,
// or a test's recorder. Called on plugin threads; must be thread-safe.
class ProviderListener {
 public:
  virtual ~ProviderListener() = default;
  // May block (back-pressure). Returns false if the event was refused
  // because the host is shutting down.
  virtual bool on_event(Provider& from, Event event) = 0;
  virtual void on_state(Provider& from, berth_provider_state state,
                        const std::string& reason) = 0;
};

// How long the caller waits, and a flag that cancels the call.
struct CallOptions {
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  const std::atomic<bool>* cancelled = nullptr;

  static CallOptions within(std::chrono::milliseconds ms,
                            const std::atomic<bool>* cancel = nullptr) {
    return {Clock::now() + ms, cancel};
  }
};

}  // namespace berth

struct berth_call {
  berth::CallOptions options;
  berth::Status failure;  // set through call_fail
};

namespace berth {

class Provider {
 public:
  static Result<std::unique_ptr<Provider>> create(
      std::shared_ptr<const Plugin> plugin, std::string instance_name,
      const std::string& config_json, ProviderListener& listener,
      const CallOptions& options = {});
  ~Provider();  // watch_stop() if watching, then the plugin's destroy()
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  const std::string& name() const { return name_; }
  const Plugin& plugin() const { return *plugin_; }
  uint64_t capabilities() const { return capabilities_; }
  bool supports(uint64_t cap) const { return (capabilities_ & cap) == cap; }

  // Each op: `unsupported` without calling the plugin when the capability is
  // off; otherwise the plugin's answer, copied out of its borrowed structs.
  Result<std::vector<Container>> list(const CallOptions& o);
  Result<Container> inspect(const std::string& ref, const CallOptions& o);
  Result<Container> status(const std::string& ref, const CallOptions& o);
  Status start(const std::string& ref, const CallOptions& o);
  Status stop(const std::string& ref, const std::optional<std::string>& signal,
              int32_t timeout_s, const CallOptions& o);
  Status kill(const std::string& ref, const std::optional<std::string>& signal,
              const CallOptions& o);
  Status pause(const std::string& ref, const CallOptions& o);
  Status unpause(const std::string& ref, const CallOptions& o);
  Status restart(const std::string& ref, int32_t timeout_s, const CallOptions& o);

  Status watch_start(const CallOptions& o);
  void watch_stop();
  bool watching() const { return watching_; }

  // Used by the host service table (host.cpp) only.
  ProviderListener& listener() { return listener_; }
  std::shared_ptr<spdlog::logger> const& logger() const { return logger_; }

 private:
  Provider(std::shared_ptr<const Plugin> plugin, std::string name,
           ProviderListener& listener);
  template <class Fn>
  Status invoke(uint64_t cap, const char* op, const CallOptions& o, Fn&& fn);
  Result<Container> one(uint64_t cap, const char* op, const std::string& ref,
                        const CallOptions& o,
                        decltype(berth_provider_ops::inspect) fn);

  std::shared_ptr<const Plugin> plugin_;
  std::string name_;
  ProviderListener& listener_;
  berth_instance* instance_ = nullptr;
  uint64_t capabilities_ = 0;
  std::mutex serialize_;  // held around ops iff BERTH_PLUGIN_SERIALIZE
  std::mutex watch_mutex_;
  std::atomic<bool> watching_{false};
  std::shared_ptr<spdlog::logger> logger_;
  berth_host_ctx ctx_{this};
};

}  // namespace berth
