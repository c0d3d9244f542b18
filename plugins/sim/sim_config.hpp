// sim.so's configuration (plugins/sim/README.md).
#pragma once

#include <berth/provider.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace berth::sim {

enum class StopBehaviour { graceful, ignores_sigterm };

struct ContainerSpec {
  std::string id, name, image;
  berth_state state = BERTH_STATE_STOPPED;
  sdk::Labels labels;
  StopBehaviour stop = StopBehaviour::graceful;
  int32_t exit_code = 0;  // of a graceful stop
  std::string details_json;  // passed through as the container's details
  int copies = 1;            // > 1: this many, named and id'd <name>-<n>, <id>-<n>
};

struct GeneratorSpec {
  uint64_t count = 0;       // events to emit after watch_start (0 = none)
  double rate = 0;          // per second; 0 = as fast as possible
  int containers = 4;       // synthetic containers it cycles through
  int64_t delay_ms = 0;     // wait before the first event
};

struct Config {
  std::vector<ContainerSpec> containers;
  GeneratorSpec generator;
  uint64_t disabled = 0;    // BERTH_CAP_* turned off
  int64_t op_latency_ms = 0;
  int fail_watch = 0;       // watch_start fails this many times first
  // create: images present without a pull (besides the containers' own) and
  // the networks that exist. Pulling works for any image.
  std::vector<std::string> images;
  std::vector<std::string> networks = {"bridge", "host", "none"};
};

// Throws sdk::Error(BERTH_E_INVALID_ARGUMENT, "<key>: ...") on a bad config.
Config parse_config(const std::string& json);

}  // namespace berth::sim
