#include "plugin/provider.hpp"

#include "plugin/signals.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace berth {
namespace {

// Collects what a plugin hands to its container sink.
struct Collector {
  Provider& provider;
  std::vector<Container> items;
  std::optional<Status> refused;  // of the last refused container
  static int sink(void* self, const berth_container* c) noexcept {
    auto& me = *static_cast<Collector*>(self);
    try {
      RepairSet seen = 0;
      auto copied = container_from_abi(c, seen);
      me.provider.note_repairs(seen, "container");
      if (!copied) {
        me.refused = copied.error();
        return BERTH_SINK_CONTINUE;  // one bad container does not hide the others
      }
      me.items.push_back(std::move(*copied));
      return BERTH_SINK_CONTINUE;
    } catch (const std::bad_alloc&) {
      me.refused = Status(Code::internal, "out of memory copying a container");
      return BERTH_SINK_STOP;
    } catch (...) {  // called from C: nothing may leave
      me.refused = Status(Code::internal, "a container could not be copied");
      return BERTH_SINK_STOP;
    }
  }
};

// Calls fn with a borrowed C view of `s`, valid during fn.
template <class Fn>
berth_status with_c_spec(const sdk::CreateSpec& s, Fn&& fn) {
  auto c_str = [](const std::string& v) { return v.empty() ? nullptr : v.c_str(); };
  auto strings = [](const std::vector<std::string>& v) {
    std::vector<const char*> out;
    for (const auto& x : v) out.push_back(x.c_str());
    return out;
  };
  const auto command = strings(s.command), aliases = strings(s.network_aliases);
  const auto env = sdk::detail::label_view(s.env), labels = sdk::detail::label_view(s.labels),
             log_options = sdk::detail::label_view(s.log_options);
  std::vector<berth_mount> mounts;
  for (const auto& m : s.mounts)
    mounts.push_back({sizeof(berth_mount), m.source.c_str(), m.destination.c_str(), m.read_only ? 1 : 0});
  std::vector<berth_ulimit> ulimits;
  for (const auto& u : s.ulimits) ulimits.push_back({sizeof(berth_ulimit), u.name.c_str(), u.soft, u.hard});
  berth_create_spec c{};
  c.struct_size = sizeof c;
  c.image = s.image.c_str();
  c.name = c_str(s.name);
  c.command = command.empty() ? nullptr : command.data();
  c.command_count = command.size();
  c.env = env.empty() ? nullptr : env.data();
  c.env_count = env.size();
  c.labels = labels.empty() ? nullptr : labels.data();
  c.label_count = labels.size();
  c.mounts = mounts.empty() ? nullptr : mounts.data();
  c.mount_count = mounts.size();
  c.network = c_str(s.network);
  c.network_aliases = aliases.empty() ? nullptr : aliases.data();
  c.network_alias_count = aliases.size();
  c.memory_bytes = s.memory_bytes;
  c.nano_cpus = s.nano_cpus;
  c.pids_limit = s.pids_limit;
  c.log_driver = c_str(s.log_driver);
  c.log_options = log_options.empty() ? nullptr : log_options.data();
  c.log_option_count = log_options.size();
  c.pull = s.pull;
  c.ulimits = ulimits.empty() ? nullptr : ulimits.data();
  c.ulimit_count = ulimits.size();
  return fn(&c);
}

}  // namespace

Provider::Provider(std::shared_ptr<const Plugin> plugin, std::string name, ProviderListener& listener)
    : plugin_(std::move(plugin)),
      name_(std::move(name)),
      listener_(listener),
      logger_(spdlog::default_logger()->clone(name_)) {}

Result<std::unique_ptr<Provider>> Provider::create(std::shared_ptr<const Plugin> plugin,
                                                   std::string instance_name,
                                                   const std::string& config_json,
                                                   ProviderListener& listener,
                                                   const CallOptions& options) {
  std::unique_ptr<Provider> p(new Provider(std::move(plugin), std::move(instance_name), listener));
  berth_call call(options);
  berth_instance* inst = nullptr;
  const auto rc = p->plugin_->ops().create(p->name_.c_str(), config_json.c_str(), &p->ctx_, &call, &inst);
  if (rc != BERTH_OK || inst == nullptr) {
    const Code code = rc == BERTH_OK ? Code::internal : code_from_abi(rc);
    const std::string why = call.failure.is_ok() ? std::string(code_name(code)) : call.failure.message();
    return Status(code, fmt::format("provider {} ({}): {}", p->name_, p->plugin_->name(), why));
  }
  p->instance_ = inst;
  p->capabilities_ = p->plugin_->ops().capabilities(inst);
  // A capability whose op the table lacks is not a capability.
  const auto& ops = p->plugin_->ops();
  const std::pair<uint64_t, bool> present[] = {
      {BERTH_CAP_LIST, ops.list != nullptr},         {BERTH_CAP_INSPECT, ops.inspect != nullptr},
      {BERTH_CAP_STATUS, ops.status != nullptr},     {BERTH_CAP_START, ops.start != nullptr},
      {BERTH_CAP_STOP, ops.stop != nullptr},         {BERTH_CAP_KILL, ops.kill != nullptr},
      {BERTH_CAP_PAUSE, ops.pause != nullptr},       {BERTH_CAP_UNPAUSE, ops.unpause != nullptr},
      {BERTH_CAP_RESTART, ops.restart != nullptr},
      {BERTH_CAP_WATCH, ops.watch_start != nullptr && ops.watch_stop != nullptr},
      {BERTH_CAP_CREATE, ops.container_create != nullptr}, {BERTH_CAP_REMOVE, ops.container_remove != nullptr},
  };
  for (auto [cap, ok] : present)
    if (!ok) p->capabilities_ &= ~cap;
  return p;
}

Provider::~Provider() {
  if (instance_ == nullptr) return;
  watch_stop();
  plugin_->ops().destroy(instance_);
}

void Provider::note_repairs(RepairSet seen, std::string_view what) {
  for (int k = 0; k < Repairs::kKinds; ++k) {
    if (!(seen & (RepairSet(1) << k))) continue;
    if (repairs_.note(static_cast<Repairs::Kind>(k)))
      logger_->warn("plugin {} passed a {} that needed repair: {} (further ones are only counted; "
                    "see `providers`)",
                    plugin_->name(), what, Repairs::name(static_cast<Repairs::Kind>(k)));
  }
}

template <class Fn>
Status Provider::invoke(uint64_t cap, std::string_view what, const CallOptions& o, Fn&& fn) {
  if (!supports(cap))
    return {Code::unsupported, fmt::format("provider {} does not support {}", name_, what)};
  berth_call call(o);
  berth_status rc;
  if (serialized()) {
    std::lock_guard lock(serialize_);
    rc = fn(&call);
  } else {
    rc = fn(&call);
  }
  if (rc == BERTH_OK) return {};
  const Code code = code_from_abi(rc);
  if (!call.failure.is_ok() && call.failure.code() == code) return call.failure;
  return {code, call.failure.is_ok() ? std::string(code_name(code)) : call.failure.message()};
}

template <class Fn>
Status Provider::lifecycle(protocol::Op op, const std::string& ref, const CallOptions& o, Fn&& fn) {
  if (ref.empty()) return {Code::invalid_argument, "empty container reference"};
  const uint64_t cap = protocol::info(op).caps;
  if (!supports(cap)) return invoke(cap, protocol::op_name(op), o, fn);  // unsupported, no notice
  listener_.on_op(*this, {op, ref, false, {}}, o);
  Status st = invoke(cap, protocol::op_name(op), o, fn);
  listener_.on_op(*this, {op, ref, true, st}, o);
  return st;
}

Result<std::vector<Container>> Provider::list(const CallOptions& o) {
  Collector c{*this, {}, {}};
  auto st = invoke(BERTH_CAP_LIST, protocol::op_name(protocol::Op::list), o, [&](berth_call* call) {
    return plugin_->ops().list(instance_, call, &Collector::sink, &c);
  });
  if (!st) return st;
  return std::move(c.items);
}

Result<Container> Provider::one(protocol::Op op, const std::string& ref, const CallOptions& o,
                                decltype(berth_provider_ops::inspect) fn) {
  if (ref.empty()) return Status(Code::invalid_argument, "empty container reference");
  Collector c{*this, {}, {}};
  auto st = invoke(protocol::info(op).caps, protocol::op_name(op), o,
                   [&](berth_call* call) { return fn(instance_, call, ref.c_str(), &Collector::sink, &c); });
  if (!st) return st;
  if (c.refused && c.items.empty()) return *c.refused;
  if (c.items.size() != 1)
    return Status(Code::internal,
                  fmt::format("plugin {} returned {} containers for {}", plugin_->name(), c.items.size(),
                              protocol::op_name(op)));
  return std::move(c.items.front());
}

Result<Container> Provider::inspect(const std::string& ref, const CallOptions& o) {
  return one(protocol::Op::inspect, ref, o, plugin_->ops().inspect);
}

Result<Container> Provider::status(const std::string& ref, const CallOptions& o) {
  return one(protocol::Op::status, ref, o, plugin_->ops().status);
}

Status Provider::start(const std::string& ref, const CallOptions& o) {
  return lifecycle(protocol::Op::start, ref, o,
                   [&](berth_call* call) { return plugin_->ops().start(instance_, call, ref.c_str()); });
}

Status Provider::pause(const std::string& ref, const CallOptions& o) {
  return lifecycle(protocol::Op::pause, ref, o,
                   [&](berth_call* call) { return plugin_->ops().pause(instance_, call, ref.c_str()); });
}

Status Provider::unpause(const std::string& ref, const CallOptions& o) {
  return lifecycle(protocol::Op::unpause, ref, o,
                   [&](berth_call* call) { return plugin_->ops().unpause(instance_, call, ref.c_str()); });
}

Status Provider::stop(const std::string& ref, const std::optional<std::string>& signal, int32_t timeout_s,
                      const CallOptions& o) {
  std::optional<std::string> sig;
  if (signal) {
    auto n = signals::normalize(*signal);
    if (!n) return n.error();
    sig = std::move(*n);
    if (supports(BERTH_CAP_STOP) && !supports(BERTH_CAP_STOP_SIGNAL))
      return {Code::unsupported, fmt::format("provider {} cannot stop with a signal", name_)};
  }
  return lifecycle(protocol::Op::stop, ref, o, [&](berth_call* call) {
    return plugin_->ops().stop(instance_, call, ref.c_str(), sig ? sig->c_str() : nullptr, timeout_s);
  });
}

Status Provider::kill(const std::string& ref, const std::optional<std::string>& signal, const CallOptions& o) {
  std::optional<std::string> sig;
  if (signal) {
    auto n = signals::normalize(*signal);
    if (!n) return n.error();
    sig = std::move(*n);
    if (*sig != "SIGKILL" && supports(BERTH_CAP_KILL) && !supports(BERTH_CAP_KILL_SIGNAL))
      return {Code::unsupported, fmt::format("provider {} can only kill with SIGKILL", name_)};
  }
  return lifecycle(protocol::Op::kill, ref, o, [&](berth_call* call) {
    return plugin_->ops().kill(instance_, call, ref.c_str(), sig ? sig->c_str() : nullptr);
  });
}

Status Provider::restart(const std::string& ref, int32_t timeout_s, const CallOptions& o) {
  return lifecycle(protocol::Op::restart, ref, o, [&](berth_call* call) {
    return plugin_->ops().restart(instance_, call, ref.c_str(), timeout_s);
  });
}

Result<Container> Provider::create_container(const sdk::CreateSpec& spec, const CallOptions& o) {
  if (!supports(BERTH_CAP_CREATE)) return Status(Code::unsupported, fmt::format("provider {} cannot create containers", name_));
  Collector c{*this, {}, {}};
  listener_.on_op(*this, {protocol::Op::create, spec.name, false, {}}, o);
  Status st = invoke(BERTH_CAP_CREATE, protocol::op_name(protocol::Op::create), o, [&](berth_call* call) {
    return with_c_spec(spec, [&](const berth_create_spec* s) {
      return plugin_->ops().container_create(instance_, call, s, &Collector::sink, &c);
    });
  });
  if (st && c.items.size() != 1)
    st = c.refused && c.items.empty()
             ? *c.refused
             : Status(Code::internal, fmt::format("plugin {} reported {} containers for create", plugin_->name(),
                                                  c.items.size()));
  listener_.on_op(*this, {protocol::Op::create, st ? c.items.front().id : spec.name, true, st}, o);
  if (!st) return st;
  return std::move(c.items.front());
}

Status Provider::remove(const std::string& ref, bool force, const CallOptions& o) {
  return lifecycle(protocol::Op::remove, ref, o, [&](berth_call* call) {
    return plugin_->ops().container_remove(instance_, call, ref.c_str(), force ? 1 : 0);
  });
}

Status Provider::watch_start(const CallOptions& o) {
  std::lock_guard lock(watch_mutex_);
  if (watching_) return {};
  auto st = invoke(BERTH_CAP_WATCH, "watch", o,
                   [&](berth_call* call) { return plugin_->ops().watch_start(instance_, call); });
  if (st) watching_ = true;
  return st;
}

void Provider::watch_stop() {
  std::lock_guard lock(watch_mutex_);
  if (!watching_) return;
  plugin_->ops().watch_stop(instance_);
  watching_ = false;
}

}  // namespace berth
