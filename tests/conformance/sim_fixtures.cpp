// sim.so under the conformance kit: once with every op, once with pause and
// unpause switched off (so the host's `unsupported` path is exercised).
#include "conformance.hpp"

#include <atomic>

namespace {

using berth::conformance::Fixture;

constexpr int kSpare = 8;  // stopped containers each instance starts with

std::string sim_config(const std::string& extra) {
  std::string containers;
  for (int i = 0; i < kSpare; ++i)
    containers += std::string(i ? "," : "") + R"({"id":"c0nf0000)" + std::to_string(i) +
                  R"(","name":"conf-)" + std::to_string(i) + R"(","state":"stopped"})";
  return R"({"containers":[)" + containers + "]" + extra + "}";
}

Fixture sim_fixture(std::string name, const std::string& extra) {
  Fixture f;
  f.name = std::move(name);
  f.plugin_path = BERTH_TEST_PLUGIN_DIR "/sim.so";
  f.config = [extra] { return sim_config(extra); };
  // Each test gets a fresh instance, so handing the spares out in turn gives
  // a stopped container every time.
  auto next = std::make_shared<std::atomic<int>>(0);
  f.make_stopped_container = [next] { return "conf-" + std::to_string((*next)++ % kSpare); };
  f.remove_container = [](const std::string&) {};
  f.create_spec = [](const std::string& name) {
    berth::sdk::CreateSpec s;
    s.image = "sim/app:1";
    s.name = name;
    return s;
  };
  f.event_timeout = std::chrono::milliseconds(2000);
  f.settle = std::chrono::milliseconds(100);
  return f;
}

}  // namespace

BERTH_CONFORMANCE(Sim, sim_fixture("full", ""))
BERTH_CONFORMANCE(SimWithoutPause, sim_fixture("no_pause", R"(,"disable":["pause","unpause"])"))
