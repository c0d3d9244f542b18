// berth/provider.hpp — optional, header-only C++17 helper over berth/provider.h.
//
// Write a provider as a class deriving from berth::sdk::Instance, throw
// berth::sdk::Error for failures, and let BERTH_DEFINE_PROVIDER generate the
// C entry point and the ops table. Every trampoline catches every exception,
// so nothing C++ crosses the ABI. The rules of provider.h (ownership, threads,
// deadlines) apply unchanged; this file only changes how they are spelled.
#ifndef BERTH_PROVIDER_HPP
#define BERTH_PROVIDER_HPP

#include <berth/provider.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace berth::sdk {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A failure with one of the ABI's codes; the trampolines turn it into
// call_fail(code, what()).
class Error : public std::runtime_error {
 public:
  Error(berth_status code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  berth_status code() const noexcept { return code_; }

 private:
  berth_status code_;
};

struct Container {
  std::string id;
  std::string name;
  std::string image;
  berth_state state = BERTH_STATE_UNKNOWN;
  std::string raw_state;
  int64_t created_unix_ms = 0;
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  std::optional<int32_t> exit_code;
  bool oom_killed = false;
  int32_t restart_count = 0;
  std::string health;
  Labels labels;
  std::string details_json;  // empty = none
};

struct Event {
  berth_event_type type = BERTH_EVENT_OTHER;
  std::string raw_action;
  int64_t time_unix_ns = 0;
  std::string container_id;
  std::string container_name;
  std::string image;
  std::optional<int32_t> exit_code;
  std::string health;
  std::string old_name;
  Labels labels;
};

// What container_create() makes (ABI 1.2; provider.h section 9).
struct Mount {
  std::string source, destination;
  bool read_only = false;
};
struct Ulimit {
  std::string name;
  int64_t soft = 0, hard = 0;
};
struct CreateSpec {
  std::string image;
  std::string name;  // empty: the engine names it
  std::vector<std::string> command;
  Labels env, labels;
  std::vector<Mount> mounts;
  std::string network;
  std::vector<std::string> network_aliases;
  int64_t memory_bytes = 0, nano_cpus = 0, pids_limit = 0;
  std::string log_driver;
  Labels log_options;
  berth_pull_policy pull = BERTH_PULL_IF_MISSING;
  std::vector<Ulimit> ulimits;
};

// Untrusted text (engine JSON, tags, configs) to a number: the whole of `s`
// in decimal, or nullopt on junk, overflow or an empty string. Never throws,
// never looks at the locale.
template <class T = int64_t>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

namespace detail {
inline const char* c_str_or_null(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}
// Whether the host has the ABI 1.1 services (call_wait, cancel fd, signals).
inline bool has_1_1(const berth_host* h) {
  return h != nullptr && h->abi_minor >= 1 && BERTH_HAS_FIELD(h, berth_host, signal_number);
}
// Whether the host has the ABI 1.2 services (changed).
inline bool has_1_2(const berth_host* h) {
  return h != nullptr && h->abi_minor >= 2 && BERTH_HAS_FIELD(h, berth_host, changed);
}
inline std::string str_or_empty(const char* s) { return s ? std::string(s) : std::string(); }
inline Labels labels_of(const berth_label* l, size_t n) {
  Labels out;
  for (size_t i = 0; l != nullptr && i < n; ++i)
    out.emplace_back(str_or_empty(l[i].key), str_or_empty(l[i].value));
  return out;
}
inline std::vector<std::string> strings_of(const char* const* v, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; v != nullptr && i < n; ++i) out.push_back(str_or_empty(v[i]));
  return out;
}
// A borrowed C spec as an owned C++ one, reading no field beyond the
// struct_size its writer declared.
inline CreateSpec spec_of(const berth_create_spec* c) {
  CreateSpec s;
  if (c == nullptr) return s;
#define BERTH_SPEC_HAS(f) BERTH_HAS_FIELD(c, berth_create_spec, f)
  if (BERTH_SPEC_HAS(image)) s.image = str_or_empty(c->image);
  if (BERTH_SPEC_HAS(name)) s.name = str_or_empty(c->name);
  if (BERTH_SPEC_HAS(command_count)) s.command = strings_of(c->command, c->command_count);
  if (BERTH_SPEC_HAS(env_count)) s.env = labels_of(c->env, c->env_count);
  if (BERTH_SPEC_HAS(label_count)) s.labels = labels_of(c->labels, c->label_count);
  if (BERTH_SPEC_HAS(mount_count))
    for (size_t i = 0; c->mounts != nullptr && i < c->mount_count; ++i)
      s.mounts.push_back({str_or_empty(c->mounts[i].source), str_or_empty(c->mounts[i].destination),
                          c->mounts[i].read_only != 0});
  if (BERTH_SPEC_HAS(network)) s.network = str_or_empty(c->network);
  if (BERTH_SPEC_HAS(network_alias_count))
    s.network_aliases = strings_of(c->network_aliases, c->network_alias_count);
  if (BERTH_SPEC_HAS(pids_limit)) {
    s.memory_bytes = c->memory_bytes;
    s.nano_cpus = c->nano_cpus;
    s.pids_limit = c->pids_limit;
  }
  if (BERTH_SPEC_HAS(log_driver)) s.log_driver = str_or_empty(c->log_driver);
  if (BERTH_SPEC_HAS(log_option_count)) s.log_options = labels_of(c->log_options, c->log_option_count);
  if (BERTH_SPEC_HAS(pull)) s.pull = c->pull;
  if (BERTH_SPEC_HAS(ulimit_count))
    for (size_t i = 0; c->ulimits != nullptr && i < c->ulimit_count; ++i)
      s.ulimits.push_back({str_or_empty(c->ulimits[i].name), c->ulimits[i].soft, c->ulimits[i].hard});
#undef BERTH_SPEC_HAS
  return s;
}
inline std::vector<berth_label> label_view(const Labels& labels) {
  std::vector<berth_label> out;
  out.reserve(labels.size());
  for (const auto& [k, v] : labels) out.push_back({k.c_str(), v.c_str()});
  return out;
}
// The host table handed to berth_provider_entry; valid until unload.
inline const berth_host*& host_table() {
  static const berth_host* host = nullptr;
  return host;
}
}  // namespace detail

// Calls `fn` with a borrowed C view of `c` (valid only during fn).
template <class Fn>
auto with_c_view(const Container& c, Fn&& fn) {
  const auto labels = detail::label_view(c.labels);
  berth_container v{};
  v.struct_size = sizeof v;
  v.id = c.id.c_str();
  v.name = c.name.c_str();
  v.image = detail::c_str_or_null(c.image);
  v.state = c.state;
  v.raw_state = detail::c_str_or_null(c.raw_state);
  v.created_unix_ms = c.created_unix_ms;
  v.started_unix_ms = c.started_unix_ms;
  v.finished_unix_ms = c.finished_unix_ms;
  v.has_exit_code = c.exit_code.has_value();
  v.exit_code = c.exit_code.value_or(0);
  v.oom_killed = c.oom_killed;
  v.restart_count = c.restart_count;
  v.health = detail::c_str_or_null(c.health);
  v.labels = labels.data();
  v.label_count = labels.size();
  v.details_json = detail::c_str_or_null(c.details_json);
  return fn(v);
}

// The instance's view of the host: logging, events, provider state.
class Host {
 public:
  explicit Host(berth_host_ctx* ctx) : ctx_(ctx) {}

  void log(berth_log_level level, const std::string& message) const {
    detail::host_table()->log(ctx_, level, message.c_str());
  }
  // Blocks while the host's queue is full; false once the host shuts down.
  bool emit(const Event& e) const {
    const auto labels = detail::label_view(e.labels);
    berth_event v{};
    v.struct_size = sizeof v;
    v.type = e.type;
    v.raw_action = e.raw_action.c_str();
    v.time_unix_ns = e.time_unix_ns;
    v.container_id = e.container_id.c_str();
    v.container_name = detail::c_str_or_null(e.container_name);
    v.image = detail::c_str_or_null(e.image);
    v.has_exit_code = e.exit_code.has_value();
    v.exit_code = e.exit_code.value_or(0);
    v.health = detail::c_str_or_null(e.health);
    v.old_name = detail::c_str_or_null(e.old_name);
    v.labels = labels.data();
    v.label_count = labels.size();
    return detail::host_table()->emit(ctx_, &v) == BERTH_OK;
  }
  // The C struct as is: for hot paths that keep their own views.
  bool emit(const berth_event& e) const {
    return detail::host_table()->emit(ctx_, &e) == BERTH_OK;
  }
  void provider_state(berth_provider_state state,
                      const std::string& reason) const {
    detail::host_table()->provider_state(ctx_, state, reason.c_str());
  }
  // The host's number for a signal as the host passes it ("SIGTERM" -> 15);
  // 0 for none or unknown.
  int signal_number(const char* signal) const {
    const berth_host* h = detail::host_table();
    if (!detail::has_1_1(h) || signal == nullptr) return 0;
    return h->signal_number(signal);
  }
  // The engine said `ref` changed but not how: the host asks status() and
  // publishes the difference (ABI 1.2). False on an older host, which has
  // no such service: then emit the events yourself.
  bool changed(const std::string& ref) const {
    const berth_host* h = detail::host_table();
    if (!detail::has_1_2(h)) return false;
    h->changed(ctx_, ref.c_str());
    return true;
  }

  // Runs fn as the body of a plugin-owned thread (a watcher, a poller): an
  // exception escaping it is logged and reported as the provider being
  // DOWN, never terminating the host.
  template <class Fn>
  void run_guarded(const char* what, Fn&& fn) const noexcept {
    try {
      fn();
      return;
    } catch (const std::exception& e) {
      fail_thread(what, e.what());
    } catch (...) {
      fail_thread(what, "unknown exception");
    }
  }

 private:
  void fail_thread(const char* what, const char* why) const noexcept {
    try {
      const std::string msg = std::string(what) + " failed: " + why;
      log(BERTH_LOG_ERROR, msg);
      provider_state(BERTH_PROVIDER_DOWN, msg);
    } catch (...) {
    }
  }
  berth_host_ctx* ctx_;
};

// One op call: deadline and cancellation.
class Call {
 public:
  explicit Call(berth_call* call) : call_(call) {}
  int64_t remaining_ms() const {
    return detail::host_table()->call_remaining_ms(call_);
  }
  // True once the deadline passed or the host shuts down.
  bool cancelled() const {
    return detail::host_table()->call_cancelled(call_) != 0;
  }
  // Sleeps up to ms, less if cancelled first; true when cancelled.
  bool wait(int64_t ms) const {
    const berth_host* h = detail::host_table();
    if (detail::has_1_1(h)) return h->call_wait(call_, ms) != 0;
    // A host before ABI 1.1: sleep in short steps, looking.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!cancelled() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return cancelled();
  }
  // Readable once cancelled; -1 without one (host before ABI 1.1).
  int cancel_fd() const {
    const berth_host* h = detail::host_table();
    return detail::has_1_1(h) ? h->call_cancel_fd(call_) : -1;
  }

 private:
  berth_call* call_;
};

// Returns BERTH_SINK_CONTINUE, or BERTH_SINK_STOP when the host needs no
// more containers (then stop listing and return) — the same constants as
// the C sink.
using Sink = std::function<int(const Container&)>;

// Base class of a C++ provider instance. Ops a provider does not support keep
// the default (unsupported) and leave their capability flag off.
class Instance {
 public:
  Instance(std::string name, berth_host_ctx* ctx)
      : name_(std::move(name)), host_(ctx) {}
  virtual ~Instance() = default;

  virtual uint64_t capabilities() const = 0;
  virtual void list(Call&, const Sink&) { unsupported("list"); }
  virtual Container inspect(Call&, const std::string&) {
    unsupported("inspect");
  }
  virtual Container status(Call& call, const std::string& ref) {
    return inspect(call, ref);
  }
  virtual void start(Call&, const std::string&) { unsupported("start"); }
  virtual void stop(Call&, const std::string&, const char* /*signal*/,
                    int32_t /*timeout_s*/) {
    unsupported("stop");
  }
  virtual void kill(Call&, const std::string&, const char* /*signal*/) {
    unsupported("kill");
  }
  virtual void pause(Call&, const std::string&) { unsupported("pause"); }
  virtual void unpause(Call&, const std::string&) { unsupported("unpause"); }
  virtual void restart(Call&, const std::string&, int32_t /*timeout_s*/) {
    unsupported("restart");
  }
  virtual void watch_start(Call&) { unsupported("watch"); }
  virtual void watch_stop() {}
  // ABI 1.2 (BERTH_CAP_CREATE / BERTH_CAP_REMOVE).
  virtual Container create_container(Call&, const CreateSpec&) { unsupported("create"); }
  virtual void remove(Call&, const std::string&, bool /*force*/) { unsupported("remove"); }

  const std::string& name() const { return name_; }
  const Host& host() const { return host_; }

 protected:
  [[noreturn]] static void unsupported(const char* op) {
    throw Error(BERTH_E_UNSUPPORTED, std::string(op) + " is not supported");
  }

 private:
  std::string name_;
  Host host_;
};

namespace detail {

// Runs fn, turning any exception into a status recorded on the call.
template <class Fn>
berth_status guarded(berth_call* call, Fn&& fn) noexcept {
  try {
    fn();
    return BERTH_OK;
  } catch (const Error& e) {
    return host_table()->call_fail(call, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return host_table()->call_fail(call, BERTH_E_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return host_table()->call_fail(call, BERTH_E_INTERNAL, e.what());
  } catch (...) {
    return host_table()->call_fail(call, BERTH_E_INTERNAL, "unknown exception");
  }
}

inline Instance* self(berth_instance* inst) {
  return reinterpret_cast<Instance*>(inst);
}

inline int sink_one(berth_container_sink sink, void* ctx, const Container& c) {
  return with_c_view(c, [&](const berth_container& v) { return sink(ctx, &v); });
}

// T must be constructible as T(std::string name, std::string config_json,
// berth_host_ctx*) and throw Error on a bad config.
template <class T>
struct Trampolines {
  static berth_status create(const char* name, const char* config,
                             berth_host_ctx* ctx, berth_call* call,
                             berth_instance** out) {
    return guarded(call, [&] {
      auto* inst = new T(name, config ? config : "{}", ctx);
      *out = reinterpret_cast<berth_instance*>(static_cast<Instance*>(inst));
    });
  }
  static void destroy(berth_instance* inst) noexcept {
    try {
      delete self(inst);
    } catch (...) {
    }
  }
  static uint64_t capabilities(const berth_instance* inst) noexcept {
    try {
      return reinterpret_cast<const Instance*>(inst)->capabilities();
    } catch (...) {
      return 0;
    }
  }
  static berth_status list(berth_instance* inst, berth_call* call,
                           berth_container_sink sink, void* ctx) {
    return guarded(call, [&] {
      Call c(call);
      self(inst)->list(c, [&](const Container& k) { return sink_one(sink, ctx, k); });
    });
  }
  static berth_status inspect(berth_instance* inst, berth_call* call,
                              const char* ref, berth_container_sink sink,
                              void* ctx) {
    return guarded(call, [&] {
      Call c(call);
      sink_one(sink, ctx, self(inst)->inspect(c, ref));
    });
  }
  static berth_status status(berth_instance* inst, berth_call* call,
                             const char* ref, berth_container_sink sink,
                             void* ctx) {
    return guarded(call, [&] {
      Call c(call);
      sink_one(sink, ctx, self(inst)->status(c, ref));
    });
  }
  template <void (Instance::*Op)(Call&, const std::string&)>
  static berth_status simple(berth_instance* inst, berth_call* call,
                             const char* ref) {
    return guarded(call, [&] {
      Call c(call);
      (self(inst)->*Op)(c, ref);
    });
  }
  static berth_status stop(berth_instance* inst, berth_call* call,
                           const char* ref, const char* signal,
                           int32_t timeout_s) {
    return guarded(call, [&] {
      Call c(call);
      self(inst)->stop(c, ref, signal, timeout_s);
    });
  }
  static berth_status kill(berth_instance* inst, berth_call* call,
                           const char* ref, const char* signal) {
    return guarded(call, [&] {
      Call c(call);
      self(inst)->kill(c, ref, signal);
    });
  }
  static berth_status restart(berth_instance* inst, berth_call* call,
                              const char* ref, int32_t timeout_s) {
    return guarded(call, [&] {
      Call c(call);
      self(inst)->restart(c, ref, timeout_s);
    });
  }
  static berth_status watch_start(berth_instance* inst, berth_call* call) {
    return guarded(call, [&] {
      Call c(call);
      self(inst)->watch_start(c);
    });
  }
  static void watch_stop(berth_instance* inst) noexcept {
    try {
      self(inst)->watch_stop();
    } catch (...) {
    }
  }
  static berth_status container_create(berth_instance* inst, berth_call* call,
                                       const berth_create_spec* spec,
                                       berth_container_sink sink, void* ctx) {
    return guarded(call, [&] {
      Call c(call);
      sink_one(sink, ctx, self(inst)->create_container(c, spec_of(spec)));
    });
  }
  static berth_status container_remove(berth_instance* inst, berth_call* call,
                                       const char* ref, int32_t force) {
    return guarded(call, [&] {
      Call c(call);
      self(inst)->remove(c, ref, force != 0);
    });
  }

  static const berth_provider_ops* ops() {
    static const berth_provider_ops table = {
        sizeof(berth_provider_ops),
        &create,
        &destroy,
        &capabilities,
        &list,
        &inspect,
        &status,
        &simple<&Instance::start>,
        &stop,
        &kill,
        &simple<&Instance::pause>,
        &simple<&Instance::unpause>,
        &restart,
        &watch_start,
        &watch_stop,
        &container_create,
        &container_remove,
    };
    return &table;
  }
};

// What T may declare for ABI 1.3 (provider.h sections 1 and 10):
//   static constexpr uint32_t kMinHostMinor = 2;  // the lowest host minor
//   static void library_init();  // throw Error to refuse the plugin
//   static void library_fini();
template <class T, class = void>
struct MinHostMinor : std::integral_constant<uint32_t, 0> {};
template <class T>
struct MinHostMinor<T, std::void_t<decltype(T::kMinHostMinor)>> : std::integral_constant<uint32_t, T::kMinHostMinor> {};

template <class T, class = void>
struct Library {
  static constexpr berth_status (*init)(const berth_host*) = nullptr;
  static constexpr void (*fini)() = nullptr;
};
template <class T>
struct Library<T, std::void_t<decltype(&T::library_init), decltype(&T::library_fini)>> {
  static berth_status init_impl(const berth_host* host) noexcept {
    try {
      T::library_init();
      return BERTH_OK;
    } catch (const Error& e) {
      host->log(nullptr, BERTH_LOG_ERROR, e.what());
      return e.code() == BERTH_OK ? BERTH_E_INTERNAL : e.code();
    } catch (const std::exception& e) {
      host->log(nullptr, BERTH_LOG_ERROR, e.what());
      return BERTH_E_INTERNAL;
    } catch (...) {
      return BERTH_E_INTERNAL;
    }
  }
  static void fini_impl() noexcept {
    try {
      T::library_fini();
    } catch (...) {
    }
  }
  static constexpr berth_status (*init)(const berth_host*) = &init_impl;
  static constexpr void (*fini)() = &fini_impl;
};

}  // namespace detail
}  // namespace berth::sdk

// Defines the plugin's entry point for instance class T.
#define BERTH_DEFINE_PROVIDER(T, NAME, VERSION, DESCRIPTION, FLAGS)           \
  extern "C" BERTH_EXPORT const berth_plugin_info* berth_provider_entry(      \
      const berth_host* host) {                                               \
    /* On a major mismatch return the info anyway: the host reads our */     \
    /* version from its frozen prefix and refuses us with both versions. */  \
    if (host != nullptr && host->abi_major == BERTH_ABI_MAJOR)                \
      ::berth::sdk::detail::host_table() = host;                              \
    /* A host older than 1.3 cannot read min_host_minor: refuse it here. */   \
    if (host != nullptr && host->abi_major == BERTH_ABI_MAJOR &&              \
        host->abi_minor < ::berth::sdk::detail::MinHostMinor<T>::value) {     \
      host->log(nullptr, BERTH_LOG_ERROR,                                     \
                NAME ": this host's ABI minor is too old for the plugin");    \
      return nullptr;                                                         \
    }                                                                         \
    static const berth_plugin_info info = {                                   \
        sizeof(berth_plugin_info), BERTH_ABI_MAJOR, BERTH_ABI_MINOR,          \
        NAME, VERSION, DESCRIPTION, FLAGS,                                    \
        ::berth::sdk::detail::Trampolines<T>::ops(),                          \
        ::berth::sdk::detail::MinHostMinor<T>::value,                         \
        ::berth::sdk::detail::Library<T>::init,                               \
        ::berth::sdk::detail::Library<T>::fini};                              \
    return &info;                                                             \
  }

#endif  // BERTH_PROVIDER_HPP
