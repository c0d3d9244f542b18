// berthd's configuration: a JSON file, or the embedded default.
#pragma once

#include "auth/curve.hpp"
#include "common/status.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct ProviderConfig {
  std::string name;         // instance name, unique: "docker", "pve-lab"
  std::string plugin;       // plugin name ("docker" → docker.so in a plugin dir) or a path
  std::string config_json;  // the instance's own config, passed verbatim
  bool required = false;    // berthd exits non-zero if this one fails to come up
  int poll_interval_ms = 5000;  // only for providers that cannot watch
  int max_calls = 256;          // plugin calls of this instance at once
};

// Authenticated, encrypted endpoints (ZeroMQ CURVE with a ZAP handler).
struct CurveConfig {
  std::string server_key_file;  // this daemon's key pair (berthctl keygen)
  std::vector<AllowedKey> clients;
  bool enabled() const { return !server_key_file.empty(); }
};

struct Config {
  std::string runtime_dir;        // where the default ipc:// endpoints live
  std::string events_endpoint;    // PUB; default ipc://<runtime_dir>/events.sock
  std::string commands_endpoint;  // ROUTER; default ipc://<runtime_dir>/commands.sock
  std::vector<std::string> plugin_dirs;
  std::vector<ProviderConfig> providers;  // empty: every plugin found, with "{}"
  std::string log_level = "info";
  int heartbeat_ms = 1000;
  int queue_capacity = 65536;     // events buffered between plugins and the publisher
  int pub_hwm = 100000;           // ZeroMQ send high-water mark per subscriber
  int workers = 0;                // ignored since 0.2: threads start on demand
  int max_pending = 1024;         // plugin calls waiting (not running) before `busy`
  int default_timeout_ms = 15000; // deadline of a command without "timeout_ms"
  int stop_grace_ms = 10000;      // added to a stop/restart's own timeout
  int shutdown_timeout_ms = 5000; // SIGTERM to exit, at most
  CurveConfig curve;              // required for endpoints that are not ipc://
  bool insecure = false;          // allow them without CURVE (logged loudly)
  std::string log_format = "text";  // or "json": one object per line
  std::string metrics_listen;     // HOST:PORT for Prometheus; empty = none
  std::string daemon_name;        // in every message; default: the host name
};

// Parses a config document. Errors name the key ("providers[1].plugin: ...")
// or, for malformed JSON, the line and column.
Result<Config> parse_config(std::string_view json);
Result<Config> load_config_file(const std::filesystem::path& path);

// The embedded default: no providers listed (so every plugin found is
// loaded), endpoints under the default runtime dir.
Config default_config();

// Fills what a config left empty: runtime dir, endpoints, plugin dirs
// (relative to the berthd executable's directory `exe_dir`).
void complete_defaults(Config& config, const std::filesystem::path& exe_dir);

}  // namespace berth
