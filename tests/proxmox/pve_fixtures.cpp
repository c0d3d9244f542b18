// proxmox.so under the conformance kit, against the PVE API simulator.
#include "conformance.hpp"
#include "pve_sim.hpp"

#include <atomic>
#include <memory>

namespace {

using berth::pve_test::PveSim;

PveSim& sim() {
  static PveSim instance(50);
  return instance;
}

berth::conformance::Fixture pve_fixture() {
  berth::conformance::Fixture f;
  f.name = "pvesim";
  f.plugin_path = BERTH_TEST_PLUGIN_DIR "/proxmox.so";
  f.config = [] { return sim().plugin_config(); };
  f.poll_interval = std::chrono::milliseconds(200);
  f.make_stopped_container = [] {
    static std::atomic<int> vmid{500};
    const int id = vmid++;
    sim().control("POST", "guest", R"({"vmid":)" + std::to_string(id) + R"(,"node":"pve2","name":"conf-)" +
                                       std::to_string(id) + R"(","status":"stopped","tags":"conformance"})");
    return std::to_string(id);
  };
  f.remove_container = [](const std::string& ref) { sim().control("DELETE", "guest/" + ref); };
  f.unknown_ref = "99999";
  f.event_timeout = std::chrono::seconds(5);
  f.settle = std::chrono::milliseconds(600);  // three poll intervals
  return f;
}

}  // namespace

BERTH_CONFORMANCE(Proxmox, pve_fixture());
