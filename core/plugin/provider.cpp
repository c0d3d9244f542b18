#include "plugin/provider.hpp"

#include "plugin/abi_copy.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace berth {
namespace {

// Collects what a plugin hands to its container sink.
struct Collector {
  std::vector<Container> items;
  Status error;
  static int sink(void* self, const berth_container* c) {
    auto& me = *static_cast<Collector*>(self);
    auto copied = container_from_abi(c);
    if (!copied) {
      me.error = copied.error();
      return 1;
    }
    me.items.push_back(std::move(*copied));
    return 0;
  }
};

std::shared_ptr<spdlog::logger> make_logger(const std::string& name) {
  auto logger = spdlog::default_logger()->clone(name);
  return logger;
}

}  // namespace

Provider::Provider(std::shared_ptr<const Plugin> plugin, std::string name,
                   ProviderListener& listener)
    : plugin_(std::move(plugin)),
      name_(std::move(name)),
      listener_(listener),
      logger_(make_logger(name_)) {}

Result<std::unique_ptr<Provider>> Provider::create(std::shared_ptr<const Plugin> plugin,
                                                   std::string instance_name,
                                                   const std::string& config_json,
                                                   ProviderListener& listener,
                                                   const CallOptions& options) {
  std::unique_ptr<Provider> p(new Provider(std::move(plugin), std::move(instance_name), listener));
  berth_call call{options, {}};
  berth_instance* inst = nullptr;
  const auto rc = p->plugin_->ops().create(p->name_.c_str(), config_json.c_str(), &p->ctx_,
                                           &call, &inst);
  if (rc != BERTH_OK || inst == nullptr) {
    const Code code = rc == BERTH_OK ? Code::internal : code_from_abi(rc);
    const std::string why = call.failure.is_ok() ? std::string(code_name(code))
                                                 : call.failure.message();
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

template <class Fn>
Status Provider::invoke(uint64_t cap, const char* op, const CallOptions& o, Fn&& fn) {
  if (!supports(cap))
    return {Code::unsupported, fmt::format("provider {} does not support {}", name_, op)};
  berth_call call{o, {}};
  berth_status rc;
  if (plugin_->flags() & BERTH_PLUGIN_SERIALIZE) {
    std::lock_guard lock(serialize_);
    rc = fn(&call);
  } else {
    rc = fn(&call);
  }
  if (rc == BERTH_OK) return {};
  if (!call.failure.is_ok() && call.failure.code() == code_from_abi(rc)) return call.failure;
  const Code code = code_from_abi(rc);
  return {code, call.failure.is_ok() ? std::string(code_name(code)) : call.failure.message()};
}

Result<std::vector<Container>> Provider::list(const CallOptions& o) {
  Collector c;
  auto st = invoke(BERTH_CAP_LIST, "list", o, [&](berth_call* call) {
    return plugin_->ops().list(instance_, call, &Collector::sink, &c);
  });
  if (!st) return st;
  if (!c.error) return c.error;
  return std::move(c.items);
}

Result<Container> Provider::one(uint64_t cap, const char* op, const std::string& ref,
                                const CallOptions& o, decltype(berth_provider_ops::inspect) fn) {
  if (ref.empty()) return Status(Code::invalid_argument, "empty container reference");
  Collector c;
  auto st = invoke(cap, op, o, [&](berth_call* call) {
    return fn(instance_, call, ref.c_str(), &Collector::sink, &c);
  });
  if (!st) return st;
  if (!c.error) return c.error;
  if (c.items.size() != 1)
    return Status(Code::internal,
                  fmt::format("plugin {} returned {} containers for {}", plugin_->name(),
                              c.items.size(), op));
  return std::move(c.items.front());
}

Result<Container> Provider::inspect(const std::string& ref, const CallOptions& o) {
  return one(BERTH_CAP_INSPECT, "inspect", ref, o, plugin_->ops().inspect);
}

Result<Container> Provider::status(const std::string& ref, const CallOptions& o) {
  return one(BERTH_CAP_STATUS, "status", ref, o, plugin_->ops().status);
}

#define BERTH_REF_OP(method, cap, field)                                          \
  Status Provider::method(const std::string& ref, const CallOptions& o) {         \
    if (ref.empty()) return {Code::invalid_argument, "empty container reference"}; \
    return invoke(cap, #method, o, [&](berth_call* call) {                        \
      return plugin_->ops().field(instance_, call, ref.c_str());                  \
    });                                                                           \
  }
BERTH_REF_OP(start, BERTH_CAP_START, start)
BERTH_REF_OP(pause, BERTH_CAP_PAUSE, pause)
BERTH_REF_OP(unpause, BERTH_CAP_UNPAUSE, unpause)
#undef BERTH_REF_OP

Status Provider::stop(const std::string& ref, const std::optional<std::string>& signal,
                      int32_t timeout_s, const CallOptions& o) {
  if (ref.empty()) return {Code::invalid_argument, "empty container reference"};
  if (signal && !supports(BERTH_CAP_STOP_SIGNAL) && supports(BERTH_CAP_STOP))
    return {Code::unsupported, fmt::format("provider {} cannot stop with a signal", name_)};
  return invoke(BERTH_CAP_STOP, "stop", o, [&](berth_call* call) {
    return plugin_->ops().stop(instance_, call, ref.c_str(), signal ? signal->c_str() : nullptr,
                               timeout_s);
  });
}

Status Provider::kill(const std::string& ref, const std::optional<std::string>& signal,
                      const CallOptions& o) {
  if (ref.empty()) return {Code::invalid_argument, "empty container reference"};
  const bool plain_kill = !signal || *signal == "SIGKILL" || *signal == "KILL" || *signal == "9";
  if (!plain_kill && !supports(BERTH_CAP_KILL_SIGNAL) && supports(BERTH_CAP_KILL))
    return {Code::unsupported, fmt::format("provider {} can only kill with SIGKILL", name_)};
  return invoke(BERTH_CAP_KILL, "kill", o, [&](berth_call* call) {
    return plugin_->ops().kill(instance_, call, ref.c_str(), signal ? signal->c_str() : nullptr);
  });
}

Status Provider::restart(const std::string& ref, int32_t timeout_s, const CallOptions& o) {
  if (ref.empty()) return {Code::invalid_argument, "empty container reference"};
  return invoke(BERTH_CAP_RESTART, "restart", o, [&](berth_call* call) {
    return plugin_->ops().restart(instance_, call, ref.c_str(), timeout_s);
  });
}

Status Provider::watch_start(const CallOptions& o) {
  std::lock_guard lock(watch_mutex_);
  if (watching_) return {};
  auto st = invoke(BERTH_CAP_WATCH, "watch", o, [&](berth_call* call) {
    return plugin_->ops().watch_start(instance_, call);
  });
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
