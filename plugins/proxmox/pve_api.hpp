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
// "UPID:pve1:…" → "pve1".
std::string node_of_upid(const std::string& upid);
// The berth code for a PVE error text/status (exposed for tests).
berth_status code_for(unsigned status, const std::string& text);

}  // namespace berth::proxmox
