// The provider conformance kit: one parameterized GoogleTest suite that checks
// a plugin .so against the ABI contract through the core's own host, exactly
// as berthd runs it: berth::Provider (the ABI's host side), the scheduler,
// and the pipeline that watches or polls the provider and publishes what it
// sees. Events are checked as berthd would publish them.
//
// Use it for a new plugin, in tree: write a Fixture factory and
//   BERTH_CONFORMANCE(MyPlugin, my_fixture());
// in a .cpp added with berth_add_conformance_test() (tests/conformance/CMakeLists.txt).
// Out of tree: the installed runner `berth-conformance` (sdk/README.md).
#pragma once

#include "events/pipeline.hpp"
#include "events/sink.hpp"
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"
#include "sched/scheduler.hpp"
#include "sched/threads.hpp"
#include "state/state_view.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace berth::conformance {

struct Fixture {
  std::string name;         // shows in test names: [a-zA-Z0-9_]
  std::string plugin_path;  // the .so, by path
  // The instance config; called when a test starts (so a fixture can start
  // its engine lazily, not when the suite's tests are listed).
  std::function<std::string()> config;
  // Makes a fresh container that exists and is STOPPED (created and never
  // started is fine), and returns a ref the plugin resolves (id or name).
  std::function<std::string()> make_stopped_container;
  // Removes what make_stopped_container made (called even on failure).
  std::function<void(const std::string& ref)> remove_container;
  // For providers with BERTH_CAP_CREATE: a spec the engine can create and
  // start (its image present), named `name`.
  std::function<sdk::CreateSpec(const std::string& name)> create_spec;
  // A ref that names no container of this provider.
  std::string unknown_ref = "berth-conformance-no-such-container";
  // How long to wait for an event after the op that causes it returned.
  std::chrono::milliseconds event_timeout{10000};
  // How long to keep listening for duplicates before counting events.
  std::chrono::milliseconds settle{500};
  // For providers that cannot watch: how often berthd lists them.
  std::chrono::milliseconds poll_interval{200};
  // Optional: called before the suite runs; returns "" if the engine is
  // reachable, otherwise the reason (the suite then skips, or fails when
  // CI=true in the environment).
  std::function<std::string()> engine_unreachable;
};

// Records what the pipeline publishes.
class Recorder : public EventSink {
 public:
  void container_event(std::string_view, const Event& e, uint64_t, berth_state, Origin) override {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
    changed_.notify_all();
  }
  void provider_state(std::string_view, std::string_view, bool up, std::string_view, uint64_t) override {
    std::lock_guard lock(mutex_);
    states_.push_back(up);
    changed_.notify_all();
  }

  // Waits for an event of `type` about container `id` after index `from`;
  // returns its index.
  std::optional<size_t> wait_event(const std::string& id, berth_event_type type, size_t from,
                                   std::chrono::milliseconds timeout);
  size_t count(const std::string& id, berth_event_type type);
  size_t size();
  Event at(size_t i);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::vector<bool> states_;
};

// Test names show the fixture's name, not its bytes.
inline void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name << " (" << f.plugin_path << ")"; }

class ProviderConformance : public ::testing::TestWithParam<Fixture> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A fresh stopped container: the ref the fixture made, and its id as the
  // provider reports it.
  std::pair<std::string, std::string> fresh();
  bool has(uint64_t cap) const { return provider_->supports(cap); }
  berth_state state_of(const std::string& ref);
  // The state once it reads `want`, or the last read when it has not within
  // event_timeout. An engine may apply a change after its event: Docker's
  // daemon handles containerd's own pause and resume notices on their own
  // goroutine, so a late "paused" notice can show an unpaused container as
  // paused, with one more pause/unpause event pair, until the "resumed"
  // notice follows it (moby daemon/monitor.go).
  berth_state settles_to(const std::string& ref, berth_state want);
  // Expects an event of `type` for `id` after event index `from`; returns its index.
  size_t expect_event(const std::string& id, berth_event_type type, size_t from);
  // Waits until berthd would have its baseline of the provider.
  bool wait_synced(std::chrono::milliseconds timeout);

  std::shared_ptr<Plugin> plugin_;
  Recorder recorder_;
  StateView view_;
  std::optional<Threads> threads_;
  std::optional<Scheduler> scheduler_;
  std::optional<Pipeline> pipeline_;
  std::unique_ptr<Provider> provider_;
  std::vector<std::string> made_;
};

}  // namespace berth::conformance

#define BERTH_CONFORMANCE(Name, fixture_expr)                          \
  namespace berth::conformance {                                       \
  INSTANTIATE_TEST_SUITE_P(Name, ProviderConformance,                  \
                           ::testing::Values(fixture_expr),            \
                           [](const auto& info) { return info.param.name; }); \
  }
