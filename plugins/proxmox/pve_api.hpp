// The Proxmox VE HTTP API as proxmox.so needs it: token auth, {"data": …}
// envelopes, PVE's error shapes mapped to berth codes, and UPID tasks.
#pragma once

#include "berth_http.hpp"

#include <berth/provider.hpp>

#include <rapidjson/document.h>

#include <string>

namespace berth::proxmox {

struct Config {
  std::string url;                 // https://pve1:8006
  std::string token_id;            // user@realm!tokenid
  std::string token_secret;        // read from a file or an env var, never from the config itself
  std::string secret_source;       // "file /etc/…" or "env PVE_TOKEN" (for messages; not the secret)
  http::TlsOptions tls;
  int64_t task_poll_ms = 300;
  bool suspend = false;            // opt in to pause/unpause through CRIU suspend/resume
};

// Throws sdk::Error(BERTH_E_INVALID_ARGUMENT, "<key>: ...").
Config parse_config(const std::string& json);

class Api {
 public:
  explicit Api(const Config& config);

  // GET/POST /api2/json/<path>; returns the parsed "data" member's document.
  // PVE errors become sdk::Error with PVE's own text.
  rapidjson::Document call(const std::string& method, const std::string& path, const http::Limits& limits,
                           const std::string& form = {});

  // Waits for a UPID task until it stops or the limits end it. A task whose
  // exitstatus is neither OK nor WARNINGS is an error carrying its text.
  void wait_task(const std::string& upid, const http::Limits& limits);

 private:
  http::Client client_;
  std::string auth_header_;
  int64_t task_poll_ms_;
};

using http::limits_of;

// What PVE answered, apart from the transport: the "data" member of a 200's
// {"data": …} envelope; for any other status sdk::Error with PVE's own text
// (the reason phrase, or the body's "message" and "errors").
rapidjson::Document decode_response(const std::string& method, const std::string& path, unsigned status,
                                    const std::string& reason, const std::string& body);
// A UPID task's status document (its "data"): true once it stopped with OK
// or WARNINGS, false while it runs; sdk::Error for a task that failed.
bool task_done(const rapidjson::Value& status, const std::string& upid);
// "UPID:pve1:…" → "pve1".
std::string node_of_upid(const std::string& upid);
// The berth code for a PVE error text/status (exposed for tests).
berth_status code_for(unsigned status, const std::string& text);

// One LXC guest as PVE's lists and status/current describe it.
struct Guest {
  int64_t vmid = 0;
  std::string node, name, status, tags, lock;
  int64_t uptime_s = 0;
  double cpu = 0;
  int64_t mem = 0, maxmem = 0;
  bool is_template = false;
};
// The string member `k` of `o`, or "".
std::string string_member(const rapidjson::Value& o, const char* k);
// One element of /nodes/{node}/lxc or /cluster/resources, or a status/current.
Guest guest_from(const rapidjson::Value& g, const std::string& node);
berth_state state_of(const std::string& status);
// PVE tags → labels (pve.tag.<tag>, proxy.* from "proxy.<key…>.<value>").
sdk::Labels labels_from_tags(const std::string& tags);
// The container berth publishes; `config` is the guest's /config (inspect).
sdk::Container container_of(const Guest& g, const rapidjson::Value* config = nullptr);

}  // namespace berth::proxmox
