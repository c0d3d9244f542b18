// The provider conformance kit: one parameterized GoogleTest suite that checks
// a plugin .so against the ABI contract through the core's own host
// (berth::Plugin / berth::Provider), so it tests exactly what berthd runs.
//
// Use it for a new plugin: write a Fixture factory and
//   BERTH_CONFORMANCE(MyPlugin, my_fixture());
// in a .cpp added with berth_add_conformance_test() (tests/conformance/CMakeLists.txt).
#pragma once

#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"

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
  std::string config_json;  // instance config
  // Makes a fresh container that exists and is STOPPED (created and never
  // started is fine), and returns a ref the plugin resolves (id or name).
  std::function<std::string()> make_stopped_container;
  // Removes what make_stopped_container made (called even on failure).
  std::function<void(const std::string& ref)> remove_container;
  // A ref that names no container of this provider.
  std::string unknown_ref = "berth-conformance-no-such-container";
  // How long to wait for an event after the op that causes it returned.
  std::chrono::milliseconds event_timeout{10000};
  // How long to keep listening for duplicates before counting events.
  std::chrono::milliseconds settle{500};
  // Optional: called before the suite runs; returns "" if the engine is
  // reachable, otherwise the reason (the suite then skips, or fails when
  // CI=true in the environment).
  std::function<std::string()> engine_unreachable;
};

// Records what the instance reports through the host services.
class Recorder : public ProviderListener {
 public:
  bool on_event(Provider&, Event event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    changed_.notify_all();
    return true;
  }
  void on_state(Provider&, berth_provider_state state, const std::string&) override {
    std::lock_guard lock(mutex_);
    states_.push_back(state);
    changed_.notify_all();
  }

  // Waits for an event of `type` about container `id` after index `from`;
  // returns its index.
  std::optional<size_t> wait_event(const std::string& id, berth_event_type type,
                                   size_t from, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<size_t> found;
    changed_.wait_for(lock, timeout, [&] {
      for (size_t i = from; i < events_.size(); ++i)
        if (events_[i].container_id == id && events_[i].type == type) return (found = i).has_value();
      return false;
    });
    return found;
  }
  size_t count(const std::string& id, berth_event_type type) {
    std::lock_guard lock(mutex_);
    return std::count_if(events_.begin(), events_.end(), [&](const Event& e) {
      return e.container_id == id && e.type == type;
    });
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  Event at(size_t i) {
    std::lock_guard lock(mutex_);
    return events_.at(i);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::vector<berth_provider_state> states_;
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
  // Expects an event of `type` for `id` after event index `from`; returns its index.
  size_t expect_event(const std::string& id, berth_event_type type, size_t from);

  std::shared_ptr<Plugin> plugin_;
  Recorder recorder_;
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
