// Provider-neutral label semantics: reverse-proxy routes (godoxy-style
// `proxy.*` labels), idle-watcher settings, Docker Compose labels and the
// database blacklist. Every provider's labels get the same treatment here,
// so plugins only pass labels through. A malformed value becomes an entry in
// `errors`; the other labels still apply.
#pragma once

#include <berth/protocol.hpp>
#include <berth/provider.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::labels {

// What the provider reported besides labels (from details_json).
struct Facts {
  std::string name;
  std::string image;
  struct Port {
    int private_port = 0, public_port = 0;
    std::string ip;
  };
  std::vector<Port> ports;
  std::vector<std::string> mount_destinations;
  std::vector<std::pair<std::string, std::string>> networks;  // name, ip
};
Facts facts_of(const sdk::Container& c);  // ignores malformed details

struct Route {
  std::string alias;
  std::string scheme = "http";
  std::string host;   // where the container answers, as seen from this host
  int port = 0;       // 0 = unknown
  std::vector<std::pair<std::string, std::string>> fields;  // other proxy.<alias>.* keys
};

struct Idle {
  std::optional<int64_t> idle_timeout_ms, wake_timeout_ms;
  std::string stop_method;  // pause | stop | kill
  std::string stop_signal;
  std::optional<int> stop_timeout_s;
  std::vector<std::string> depends_on;
  std::string start_endpoint;
  bool no_loading_page = false;
  bool any = false;  // some idle label was present
};

struct Compose {
  std::string project, service, config_files, working_dir;
  std::vector<std::string> depends_on;
  bool any = false;
};

// Scale-to-zero opt-in, in Sablier's words: `sablier.enable=true` and
// `sablier.group=a,b` (default group "default"); on Proxmox the tags
// `sablier` and `sablier-group-<g>` (labels pve.tag.*). godoxy's idle
// labels (Idle) opt in too.
struct Wake {
  bool enabled = false;             // sablier.enable is exactly "true" (or the tag)
  std::vector<std::string> groups;  // never empty when enabled
};

struct Routing {
  std::vector<Route> routes;
  bool excluded = false;
  std::string exclude_reason;  // "label" | "database"
  bool database = false;
  std::string network;
  Idle idle;
  Compose compose;
  Wake wake;
  std::vector<std::string> errors;  // "proxy.idle_timeout: invalid duration \"banana\""
};

Routing parse(const sdk::Labels& labels, const Facts& facts);

// "30s", "5m", "1h30m", "250ms", or a bare number of seconds; at most
// kMaxDurationMs. nullopt for anything else (never throws).
inline constexpr int64_t kMaxDurationMs = 366LL * 24 * 3600 * 1000;
std::optional<int64_t> parse_duration_ms(std::string_view s);

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
void write(Writer& w, const Routing& r);

}  // namespace berth::labels
