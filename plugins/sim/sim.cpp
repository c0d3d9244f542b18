// sim.so — an honest in-memory container engine. Every op of the ABI does
// what a real engine would (states, idempotence, conflicts, exit codes,
// slow stops) and emits the event a real engine would, while watched. It is
// what the core's tests and benchmarks run against; it manages nothing real.
#include "sim_config.hpp"

#include <berth/provider.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <thread>

namespace berth::sim {
namespace {

using sdk::Error;
using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Box {
  sdk::Container c;
  StopBehaviour stop = StopBehaviour::graceful;
  int32_t graceful_exit = 0;
  std::vector<berth_label> label_view;  // built once: emitting allocates nothing
  bool start_fails = false;
};

class Sim final : public sdk::Instance {
 public:
  Sim(std::string name, const std::string& config, berth_host_ctx* ctx)
      : Instance(std::move(name), ctx), cfg_(parse_config(config)) {
    for (const auto& spec : cfg_.containers) {
      if (spec.copies == 1) {
        add(spec);
        continue;
      }
      for (int i = 0; i < spec.copies; ++i) {
        ContainerSpec one = spec;
        one.id += "-" + std::to_string(i);
        one.name += "-" + std::to_string(i);
        add(one);
      }
    }
    for (int i = 0; i < (cfg_.generator.count ? cfg_.generator.containers : 0); ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "9e4e%08d", i);
      ContainerSpec spec;
      spec.id = id;
      spec.name = "gen-" + std::to_string(i);
      spec.image = "sim/generator";
      add(spec);
    }
    for (const auto& [id, b] : boxes_) images_.insert(b->c.image);
    images_.insert(cfg_.images.begin(), cfg_.images.end());
  }
  ~Sim() override { watch_stop(); }

  uint64_t capabilities() const override {
    const uint64_t all = BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START |
                         BERTH_CAP_STOP | BERTH_CAP_KILL | BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE |
                         BERTH_CAP_RESTART | BERTH_CAP_WATCH | BERTH_CAP_STOP_SIGNAL |
                         BERTH_CAP_KILL_SIGNAL | BERTH_CAP_CREATE | BERTH_CAP_REMOVE;
    return all & ~cfg_.disabled;
  }

  void list(sdk::Call& call, const sdk::Sink& sink) override {
    latency(call);
    std::lock_guard lock(mu_);
    for (const auto& [id, box] : boxes_)
      if (sink(box->c) == BERTH_SINK_STOP) break;
  }

  sdk::Container inspect(sdk::Call& call, const std::string& ref) override {
    latency(call);
    std::lock_guard lock(mu_);
    return find(ref).c;
  }

  void start(sdk::Call& call, const std::string& ref) override {
    latency(call);
    std::lock_guard lock(mu_);
    Box& b = find(ref);
    if (b.c.state == BERTH_STATE_PAUSED)
      throw Error(BERTH_E_CONFLICT, "cannot start a paused container, unpause it instead");
    if (b.c.state == BERTH_STATE_RUNNING) return;  // idempotent
    if (b.start_fails) throw Error(BERTH_E_INTERNAL, "simulated start failure (label sim.start_fails)");
    run(b);
  }

  // A container from a spec: its labels, image and name as given; the label
  // sim.start_fails=true makes every start of it fail (to test `run`).
  sdk::Container create_container(sdk::Call& call, const sdk::CreateSpec& spec) override {
    latency(call);
    std::lock_guard lock(mu_);
    if (!images_.count(spec.image)) {
      if (spec.pull == BERTH_PULL_NEVER)
        throw Error(BERTH_E_NOT_FOUND, "image " + spec.image + " is not present and the pull policy is never");
      images_.insert(spec.image);  // the simulated registry has every image
    }
    if (!spec.network.empty() && std::find(cfg_.networks.begin(), cfg_.networks.end(), spec.network) == cfg_.networks.end())
      throw Error(BERTH_E_NOT_FOUND, "network " + spec.network + " not found");
    char id[24];
    std::snprintf(id, sizeof id, "c0ffee%010llu", static_cast<unsigned long long>(++created_));
    ContainerSpec c;
    c.id = id;
    c.name = spec.name.empty() ? "sim-" + std::to_string(created_) : spec.name;
    for (const auto& [i, b] : boxes_)
      if (b->c.name == c.name) throw Error(BERTH_E_CONFLICT, "the name " + c.name + " is in use by " + i);
    c.image = spec.image;
    c.labels = spec.labels;
    Box& b = add(c);
    for (const auto& [k, v] : spec.labels)
      if (k == "sim.start_fails" && v == "true") b.start_fails = true;
    set(b, BERTH_STATE_STOPPED, "created", BERTH_EVENT_CREATED, "create");
    return b.c;
  }

  void remove(sdk::Call& call, const std::string& ref, bool force) override {
    latency(call);
    std::lock_guard lock(mu_);
    Box* b = nullptr;
    try {
      b = &find(ref);
    } catch (const Error& e) {
      if (e.code() == BERTH_E_NOT_FOUND) return;  // gone already: the goal holds
      throw;
    }
    if (b->c.state == BERTH_STATE_RUNNING || b->c.state == BERTH_STATE_PAUSED) {
      if (!force) throw Error(BERTH_E_CONFLICT, "container " + b->c.name + " is running: stop it or force the removal");
      exit(*b, 137);
    }
    set(*b, BERTH_STATE_UNKNOWN, "removed", BERTH_EVENT_DESTROYED, "destroy");
    const std::string id = b->c.id;  // a key must outlive its erase
    boxes_.erase(id);
  }

  void stop(sdk::Call& call, const std::string& ref, const char* signal, int32_t timeout_s) override {
    latency(call);
    const int sig = signal_or(signal, 15);
    std::unique_lock lock(mu_);
    Box* b = &find(ref);
    if (b->c.state == BERTH_STATE_STOPPED) return;  // idempotent
    if (sig == 9) return exit(*b, 137);
    if (b->stop == StopBehaviour::graceful) return exit(*b, b->graceful_exit);
    // It ignores the signal: wait out the timeout (or the caller's deadline),
    // then kill — without holding the lock, so other ops go on meanwhile.
    const std::string id = b->c.id;
    lock.unlock();
    wait_for(call, std::chrono::seconds(timeout_s < 0 ? 10 : timeout_s));
    lock.lock();
    b = &find(id);
    if (b->c.state != BERTH_STATE_STOPPED) exit(*b, 137);
  }

  void kill(sdk::Call& call, const std::string& ref, const char* signal) override {
    latency(call);
    const int sig = signal_or(signal, 9);
    std::lock_guard lock(mu_);
    Box& b = find(ref);
    if (b.c.state == BERTH_STATE_STOPPED) return;  // idempotent: not running already
    exit(b, 128 + sig);
  }

  void pause(sdk::Call& call, const std::string& ref) override {
    latency(call);
    std::lock_guard lock(mu_);
    Box& b = find(ref);
    if (b.c.state == BERTH_STATE_PAUSED) return;  // idempotent
    if (b.c.state != BERTH_STATE_RUNNING)
      throw Error(BERTH_E_CONFLICT, "container " + b.c.name + " is not running");
    set(b, BERTH_STATE_PAUSED, "paused", BERTH_EVENT_PAUSED, "pause");
  }

  void unpause(sdk::Call& call, const std::string& ref) override {
    latency(call);
    std::lock_guard lock(mu_);
    Box& b = find(ref);
    if (b.c.state == BERTH_STATE_RUNNING) return;  // idempotent
    if (b.c.state != BERTH_STATE_PAUSED)
      throw Error(BERTH_E_CONFLICT, "container " + b.c.name + " is not running");
    set(b, BERTH_STATE_RUNNING, "running", BERTH_EVENT_UNPAUSED, "unpause");
  }

  void restart(sdk::Call& call, const std::string& ref, int32_t timeout_s) override {
    stop(call, ref, nullptr, timeout_s);
    std::lock_guard lock(mu_);
    run(find(ref));
  }

  void watch_start(sdk::Call&) override {
    {
      std::lock_guard lock(mu_);
      if (watching_) return;
      if (watch_failures_ < cfg_.fail_watch) {
        ++watch_failures_;
        throw Error(BERTH_E_UNAVAILABLE, "simulated watch failure " + std::to_string(watch_failures_));
      }
      watching_ = true;
    }
    host().provider_state(BERTH_PROVIDER_UP, "simulator");
    if (cfg_.generator.count > 0) {
      stop_generator_ = false;
      generator_ = std::thread([this] { generate(); });
    }
  }

  void watch_stop() override {
    stop_generator_ = true;
    if (generator_.joinable()) generator_.join();
    std::lock_guard lock(mu_);
    watching_ = false;
  }

 private:
  Box& add(const ContainerSpec& s) {
    auto b = std::make_unique<Box>();
    b->c.id = s.id;
    b->c.name = s.name;
    b->c.image = s.image;
    b->c.state = s.state;
    b->c.raw_state = s.state == BERTH_STATE_RUNNING  ? "running"
                     : s.state == BERTH_STATE_PAUSED ? "paused"
                                                     : "created";
    b->c.labels = s.labels;
    b->c.details_json = s.details_json;
    b->c.created_unix_ms = now_ns() / 1000000;
    b->stop = s.stop;
    b->graceful_exit = s.exit_code;
    for (const auto& [k, v] : b->c.labels) b->label_view.push_back({k.c_str(), v.c_str()});
    if (boxes_.count(s.id)) throw Error(BERTH_E_INVALID_ARGUMENT, "duplicate container id " + s.id);
    return *boxes_.emplace(s.id, std::move(b)).first->second;
  }

  // By id, then name, then unique id prefix. Caller holds mu_.
  Box& find(const std::string& ref) {
    if (auto it = boxes_.find(ref); it != boxes_.end()) return *it->second;
    for (auto& [id, b] : boxes_)
      if (b->c.name == ref) return *b;
    Box* match = nullptr;
    for (auto& [id, b] : boxes_) {
      if (id.rfind(ref, 0) != 0) continue;
      if (match) throw Error(BERTH_E_INVALID_ARGUMENT, "ambiguous id prefix " + ref);
      match = b.get();
    }
    if (!match) throw Error(BERTH_E_NOT_FOUND, "no such container: " + ref);
    return *match;
  }

  // State change plus its event, under mu_, so events leave in state order.
  void set(Box& b, berth_state state, const char* raw_state, berth_event_type type,
           const char* action, const int32_t* exit_code = nullptr) {
    b.c.state = state;
    b.c.raw_state = raw_state;
    if (!watching_) return;
    berth_event e{};
    e.struct_size = sizeof e;
    e.type = type;
    e.raw_action = action;
    e.time_unix_ns = now_ns();
    e.container_id = b.c.id.c_str();
    e.container_name = b.c.name.c_str();
    e.image = b.c.image.empty() ? nullptr : b.c.image.c_str();
    e.has_exit_code = exit_code != nullptr;
    e.exit_code = exit_code ? *exit_code : 0;
    e.labels = b.label_view.data();
    e.label_count = b.label_view.size();
    host().emit(e);
  }

  void run(Box& b) {
    b.c.started_unix_ms = now_ns() / 1000000;
    b.c.exit_code.reset();
    set(b, BERTH_STATE_RUNNING, "running", BERTH_EVENT_STARTED, "start");
  }

  void exit(Box& b, int32_t code) {
    b.c.finished_unix_ms = now_ns() / 1000000;
    b.c.exit_code = code;
    set(b, BERTH_STATE_STOPPED, "exited", BERTH_EVENT_EXITED, "die", &code);
  }

  // Sleeps `d`, or until the call is cancelled (then throws: timeout at its
  // deadline, cancelled on shutdown).
  static void wait_for(sdk::Call& call, std::chrono::milliseconds d) {
    if (!call.wait(d.count())) return;
    if (call.remaining_ms() <= 0) throw Error(BERTH_E_TIMEOUT, "still in progress at the deadline");
    throw Error(BERTH_E_CANCELLED, "cancelled");
  }

  // The host passes signals normalized ("SIGTERM") and knows their numbers.
  int signal_or(const char* signal, int fallback) const {
    if (signal == nullptr) return fallback;
    const int n = host().signal_number(signal);
    if (n == 0) throw Error(BERTH_E_INVALID_ARGUMENT, std::string("unknown signal ") + signal);
    return n;
  }

  void latency(sdk::Call& call) {
    if (cfg_.op_latency_ms > 0) wait_for(call, std::chrono::milliseconds(cfg_.op_latency_ms));
  }

  // Alternates started/exited over the synthetic containers at the
  // configured rate, keeping their state true to the events.
  void generate() {
    const auto& g = cfg_.generator;
    std::vector<Box*> gen;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, b] : boxes_)
        if (b->c.image == "sim/generator") gen.push_back(b.get());
    }
    auto t0 = Clock::now() + std::chrono::milliseconds(g.delay_ms);
    while (!stop_generator_ && Clock::now() < t0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    t0 = Clock::now();
    for (uint64_t i = 0; i < g.count && !stop_generator_; ++i) {
      if (g.rate > 0) std::this_thread::sleep_until(t0 + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / g.rate)));
      std::lock_guard lock(mu_);
      Box& b = *gen[i % gen.size()];
      if (b.c.state == BERTH_STATE_RUNNING) exit(b, 0);
      else run(b);
    }
  }

  const Config cfg_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Box>> boxes_;
  std::set<std::string> images_;  // present locally; guarded by mu_
  uint64_t created_ = 0;          // guarded by mu_
  bool watching_ = false;  // guarded by mu_
  int watch_failures_ = 0;  // guarded by mu_
  std::atomic<bool> stop_generator_{false};
  std::thread generator_;
};

}  // namespace
}  // namespace berth::sim

BERTH_DEFINE_PROVIDER(berth::sim::Sim, "sim", "0.1.0",
                      "in-memory container engine simulator (manages nothing real)", 0)
