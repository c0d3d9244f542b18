// The provider conformance kit: one parameterized GoogleTest suite that checks
// a plugin .so against the ABI contract through the core's own host
// (berth::Plugin / berth::Provider), so it tests exactly what berthd runs.
//
// Use it for a new plugin: write a Fixture factory and
//   BERTH_CONFORMANCE(MyPlugin, my_fixture());
// in a .cpp added with berth_add_conformance_test() (tests/conformance/CMakeLists.txt).
#pragma once

#include <chrono>
#include <functional>
#include <string>

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
  // Optional: called before the suite runs; returns "" if the engine is
  // reachable, otherwise the reason (the suite then skips, or fails when
  // CI=true in the environment).
  std::function<std::string()> engine_unreachable;
};

class ProviderConformance : public ::testing::TestWithParam<Fixture> {};

}  // namespace berth::conformance

#define BERTH_CONFORMANCE(Name, fixture_expr)                              \
  INSTANTIATE_TEST_SUITE_P(Name, ::berth::conformance::ProviderConformance, \
                           ::testing::Values(fixture_expr),                 \
                           [](const auto& info) { return info.param.name; })
