// Routing facts from a container's labels: reverse-proxy routes (godoxy-style
// `proxy.*` labels, `proxy.*.<field>` wildcard), idle-watcher settings,
// Docker Compose labels and the database blacklist of seed 004.
//
// parse_routing never throws: a malformed value becomes one entry in
// `errors` naming the label and the value, that field keeps its default, and
// every other label still applies.
//
// The declarations live in an inline namespace so that their mangled names
// differ from the older types of the same spelling in labels/labels.hpp
// (berth::labels::Facts, Route, Compose, Routing); both files can be linked
// into berth_core without an ODR clash. A translation unit should include
// only one of the two headers.
#pragma once

#include <berth/provider.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::labels {
inline namespace routing_v1 {

// What the provider told us besides labels.
struct Facts {
  std::vector<uint16_t> private_ports;  // container-side ports
  std::vector<uint16_t> public_ports;   // host-published ports
  std::vector<std::string> mount_destinations;
  std::string image;
};

// Reads a provider's details_json: "ports":[{"private":80,"public":8080,...}],
// "mounts":[{"destination":"/data",...}], "image":"...". Anything malformed
// (bad JSON, wrong types, ports outside 1..65535) is skipped.
Facts facts_from_details(std::string_view details_json);

struct Route {
  std::string alias;
  std::string scheme;  // "http", or "https" when the port is 443, unless set
  std::string host;    // "" = the caller decides
  int port = 0;        // 0 = unknown
  // Every other proxy.<alias>.<field> (wildcard merged in), sorted by key,
  // e.g. {"healthcheck.path","/health"}, {"no_tls_verify","true"}.
  std::vector<std::pair<std::string, std::string>> fields;
};

struct IdleWatcher {
  bool enabled = false;  // some idle label was present
  int64_t idle_timeout_ms = 0, wake_timeout_ms = 0;
  std::string stop_method;  // pause | stop | kill
  std::string stop_signal;
  int stop_timeout_s = -1;  // -1 = not set
  std::vector<std::string> depends_on;
  std::string start_endpoint;
  bool no_loading_page = false;
};

struct Compose {
  std::string project, service, config_files, working_dir;
  std::vector<std::string> depends_on;  // service names only
  int container_number = 0;
};

struct Routing {
  std::vector<Route> routes;
  bool excluded = false;
  std::string exclude_reason;  // "proxy.exclude" | "database"
  std::string network;
  IdleWatcher idle;
  Compose compose;
  bool database = false;
  std::vector<std::string> errors;  // proxy.idle_timeout: invalid duration "banana"
};

// container_name names the default route when there is neither an alias nor
// a compose service (a leading '/' is dropped).
Routing parse_routing(const sdk::Labels& labels, const Facts& facts,
                      std::string_view container_name = {});

// One JSON object:
// {"routes":[{"alias","scheme","host","port","fields":{...}}],"excluded":bool,
//  "exclude_reason"?,"network"?,"idle":{...}|null,"compose":{...}|null,
//  "database":bool,"errors":[...]}
void write_routing(rapidjson::Writer<rapidjson::StringBuffer>& w, const Routing& r);

}  // inline namespace routing_v1
}  // namespace berth::labels
