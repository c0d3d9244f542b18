// Each plugin's own config parser, which its create() calls first with the
// provider entry's "config" object: docker.so (docker_api.cpp), proxmox.so
// (pve_api.cpp), sim.so (sim_config.cpp). The first byte picks the plugin
// ('0' docker, '1' proxmox, '2' sim); the rest is the config text.
// A bad config is sdk::Error(BERTH_E_INVALID_ARGUMENT); any other exception
// escapes and is reported as a crash.
#include "docker_api.hpp"
#include "pve_api.hpp"
#include "sim_config.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The ABI passes a NUL-terminated string: the text ends at the first NUL.
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  text = text.c_str();
  try {
    switch (data[0] % 3) {
      case 0: (void)berth::docker::parse_config(text); break;
      case 1: (void)berth::proxmox::parse_config(text); break;
      case 2: (void)berth::sim::parse_config(text); break;
    }
  } catch (const berth::sdk::Error& e) {
    if (e.code() != BERTH_E_INVALID_ARGUMENT) std::abort();
  }
  return 0;
}
