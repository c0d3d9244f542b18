// One provider instance: a plugin instantiated from a config, with the host's
// side of the ABI (capability checks, signal normalization, deadlines,
// copying and bounding what the plugin hands over). Thread-safe as the ABI
// allows: ops may run concurrently.
#pragma once

#include "common/status.hpp"
#include "plugin/abi_copy.hpp"
#include "plugin/call.hpp"
#include "plugin/plugin.hpp"

#include <berth/provider.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

using Container = sdk::Container;
using Event = sdk::Event;

class Provider;

// A lifecycle op (protocol::OpClass::lifecycle: it changes a container, so
// it runs one at a time per container and, for providers that cannot watch,
// is followed by a status) beginning or ending on a provider (see
// ProviderListener).
struct OpNotice {
  protocol::Op op;
  std::string ref;
  bool done = false;  // false: about to call the plugin; true: it returned
  Status result;      // when done
  Clock::time_point at = Clock::now();
};

}  // namespace berth

// The ABI's opaque instance handle, as the host defines it.
struct berth_host_ctx {
  berth::Provider* provider;
};

namespace berth {

// Where an instance's events, up/down reports and op notices go: the
// daemon's pipeline, or a test's recorder. Called on plugin threads and the
// host's op threads; must be thread-safe.
class ProviderListener {
 public:
  virtual ~ProviderListener() = default;
  // May block (back-pressure). Returns false if the event was refused
  // because the host is shutting down.
  virtual bool on_event(Provider& from, Event event) = 0;
  virtual void on_state(Provider& from, berth_provider_state state, const std::string& reason) = 0;
  // Called on the op's own thread, before the op returns to its caller (so
  // before a next op on the same container can start). `o` is the op's.
  virtual void on_op(Provider& from, const OpNotice& notice, const CallOptions& o) {}
  // The plugin says container `ref` changed but not how (ABI 1.2
  // host->changed): ask it and publish the difference. Must not block.
  virtual void on_changed(Provider& from, std::string ref) {}
};

class Provider {
 public:
  static Result<std::unique_ptr<Provider>> create(std::shared_ptr<const Plugin> plugin,
                                                  std::string instance_name,
                                                  const std::string& config_json,
                                                  ProviderListener& listener,
                                                  const CallOptions& options = {});
  ~Provider();  // watch_stop() if watching, then the plugin's destroy()
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  const std::string& name() const { return name_; }
  const Plugin& plugin() const { return *plugin_; }
  uint64_t capabilities() const { return capabilities_; }
  bool supports(uint64_t cap) const { return (capabilities_ & cap) == cap; }
  bool serialized() const { return plugin_->flags() & BERTH_PLUGIN_SERIALIZE; }

  // Each op: `unsupported` without calling the plugin when the capability is
  // off; otherwise the plugin's answer, copied out of its borrowed structs.
  Result<std::vector<Container>> list(const CallOptions& o);
  Result<Container> inspect(const std::string& ref, const CallOptions& o);
  Result<Container> status(const std::string& ref, const CallOptions& o);
  Status start(const std::string& ref, const CallOptions& o);
  // Signals are normalized here ("15" → "SIGTERM"); an unknown one is
  // invalid_argument before the plugin sees it.
  Status stop(const std::string& ref, const std::optional<std::string>& signal, int32_t timeout_s,
              const CallOptions& o);
  Status kill(const std::string& ref, const std::optional<std::string>& signal, const CallOptions& o);
  Status pause(const std::string& ref, const CallOptions& o);
  Status unpause(const std::string& ref, const CallOptions& o);
  Status restart(const std::string& ref, int32_t timeout_s, const CallOptions& o);
  // ABI 1.2: the new container as the plugin reports it.
  Result<Container> create_container(const sdk::CreateSpec& spec, const CallOptions& o);
  // A container that does not exist is success.
  Status remove(const std::string& ref, bool force, const CallOptions& o);

  Status watch_start(const CallOptions& o);
  void watch_stop();
  bool watching() const { return watching_; }

  const Repairs& repairs() const { return repairs_; }

  // Used by the host service table (host.cpp) only.
  ProviderListener& listener() { return listener_; }
  std::shared_ptr<spdlog::logger> const& logger() const { return logger_; }
  // Counts and (the first time per kind) logs what was repaired in one item.
  void note_repairs(RepairSet seen, std::string_view what);

 private:
  Provider(std::shared_ptr<const Plugin> plugin, std::string name, ProviderListener& listener);
  template <class Fn>
  // `cap`: the capabilities the call needs; `what`: its name in errors.
  Status invoke(uint64_t cap, std::string_view what, const CallOptions& o, Fn&& fn);
  template <class Fn>
  Status lifecycle(protocol::Op op, const std::string& ref, const CallOptions& o, Fn&& fn);
  Result<Container> one(protocol::Op op, const std::string& ref, const CallOptions& o,
                        decltype(berth_provider_ops::inspect) fn);

  std::shared_ptr<const Plugin> plugin_;
  std::string name_;
  ProviderListener& listener_;
  berth_instance* instance_ = nullptr;
  uint64_t capabilities_ = 0;
  // The ABI promise of BERTH_PLUGIN_SERIALIZE for direct callers; berthd's
  // scheduler already runs such a provider one op at a time, so it is never
  // contended there and no thread of berthd parks on it.
  std::mutex serialize_;
  std::mutex watch_mutex_;
  std::atomic<bool> watching_{false};
  Repairs repairs_;
  std::shared_ptr<spdlog::logger> logger_;
  berth_host_ctx ctx_{this};
};

}  // namespace berth
