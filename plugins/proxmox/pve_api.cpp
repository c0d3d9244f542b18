#include "pve_api.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace berth::proxmox {

using sdk::Error;

Config parse_config(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(text.c_str());
  if (d.HasParseError() || !d.IsObject()) throw Error(BERTH_E_INVALID_ARGUMENT, "config: expected a JSON object");
  Config c;
  auto str = [&](const rapidjson::Value& o, const char* key, const std::string& path) -> std::string {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return {};
    if (!it->value.IsString()) throw Error(BERTH_E_INVALID_ARGUMENT, path + ": expected a string");
    return it->value.GetString();
  };
  static const char* known[] = {"url", "token_id", "token_secret_file", "token_secret_env", "tls",
                                "task_poll_ms", "suspend"};
  for (auto& m : d.GetObject()) {
    bool ok = false;
    for (const char* k : known) ok = ok || m.name == k;
    if (!ok) {
      std::string k = m.name.GetString();
      throw Error(BERTH_E_INVALID_ARGUMENT,
                  k == "token_secret"       ? "token_secret: not accepted in the config; use token_secret_file or token_secret_env"
                  : k == "poll_interval_ms" ? "poll_interval_ms: berthd polls now; set it on the provider entry, beside \"config\""
                                            : k + ": unknown key");
    }
  }
  c.url = str(d, "url", "url");
  if (c.url.empty()) throw Error(BERTH_E_INVALID_ARGUMENT, "url: required (https://HOST:8006)");
  if (c.url.find("://") == std::string::npos) c.url = "https://" + c.url;
  c.token_id = str(d, "token_id", "token_id");
  if (c.token_id.find('@') == std::string::npos || c.token_id.find('!') == std::string::npos)
    throw Error(BERTH_E_INVALID_ARGUMENT, "token_id: expected USER@REALM!TOKENID");
  const std::string file = str(d, "token_secret_file", "token_secret_file");
  const std::string env = str(d, "token_secret_env", "token_secret_env");
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(BERTH_E_INVALID_ARGUMENT, "token_secret_file: cannot read " + file);
    std::getline(in, c.token_secret);
    c.secret_source = "file " + file;
  } else if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v || !*v) throw Error(BERTH_E_INVALID_ARGUMENT, "token_secret_env: $" + env + " is not set");
    c.token_secret = v;
    c.secret_source = "env " + env;
  } else {
    throw Error(BERTH_E_INVALID_ARGUMENT, "token_secret_file or token_secret_env: one is required");
  }
  while (!c.token_secret.empty() && std::isspace(static_cast<unsigned char>(c.token_secret.back())))
    c.token_secret.pop_back();
  if (auto it = d.FindMember("tls"); it != d.MemberEnd()) {
    if (!it->value.IsObject()) throw Error(BERTH_E_INVALID_ARGUMENT, "tls: expected an object");
    c.tls.ca_file = str(it->value, "ca", "tls.ca");
    c.tls.pin_sha256 = str(it->value, "fingerprint", "tls.fingerprint");
    if (auto ins = it->value.FindMember("insecure"); ins != it->value.MemberEnd()) {
      if (!ins->value.IsBool()) throw Error(BERTH_E_INVALID_ARGUMENT, "tls.insecure: expected true or false");
      c.tls.insecure = ins->value.GetBool();
    }
  }
  if (auto it = d.FindMember("task_poll_ms"); it != d.MemberEnd()) {
    if (!it->value.IsInt64() || it->value.GetInt64() <= 0)
      throw Error(BERTH_E_INVALID_ARGUMENT, "task_poll_ms: expected a positive integer");
    c.task_poll_ms = it->value.GetInt64();
  }
  if (auto it = d.FindMember("suspend"); it != d.MemberEnd()) {
    if (!it->value.IsBool()) throw Error(BERTH_E_INVALID_ARGUMENT, "suspend: expected true or false");
    c.suspend = it->value.GetBool();
  }
  std::string error;
  if (!http::Endpoint::parse(c.url, c.tls, error)) throw Error(BERTH_E_INVALID_ARGUMENT, "url: " + error);
  return c;
}

namespace {
http::Endpoint endpoint_of(const Config& c) {
  std::string error;
  auto ep = *http::Endpoint::parse(c.url, c.tls, error);
  if (ep.port == "443" && c.url.find(":443") == std::string::npos) ep.port = "8006";  // PVE's default
  return ep;
}
}  // namespace

Api::Api(const Config& config)
    : client_(endpoint_of(config)),
      auth_header_("PVEAPIToken=" + config.token_id + "=" + config.token_secret),
      task_poll_ms_(config.task_poll_ms) {}

berth_status code_for(unsigned status, const std::string& text) {
  if (status == 401 || status == 403) return BERTH_E_PERMISSION_DENIED;
  if (status == 400) return BERTH_E_INVALID_ARGUMENT;
  if (status >= 595 || status == 502 || status == 503) return BERTH_E_UNAVAILABLE;
  if (text.find("does not exist") != std::string::npos) return BERTH_E_NOT_FOUND;
  if (text.find("hostname lookup") != std::string::npos) return BERTH_E_UNAVAILABLE;
  if (text.find("is locked") != std::string::npos || text.find("already running") != std::string::npos ||
      text.find("not running") != std::string::npos)
    return BERTH_E_CONFLICT;
  return BERTH_E_INTERNAL;
}

rapidjson::Document Api::call(const std::string& method, const std::string& path, const http::Limits& limits,
                              const std::string& form) {
  http::Request req{method, "/api2/json" + path, form, form.empty() ? "" : "application/x-www-form-urlencoded"};
  req.headers.emplace_back("Authorization", auth_header_);
  auto r = client_.call(req, limits);
  if (!r.ok()) http::throw_failure(r, "PVE");
  rapidjson::Document d;
  if (r.status != 200) {
    // PVE puts its error text in the reason phrase; newer servers repeat it
    // in "message".
    std::string text = r.reason;
    d.Parse<rapidjson::kParseIterativeFlag>(r.body.c_str());
    if (!d.HasParseError() && d.IsObject()) {
      if (auto m = d.FindMember("message"); m != d.MemberEnd() && m->value.IsString()) text = m->value.GetString();
      if (auto e = d.FindMember("errors"); e != d.MemberEnd() && e->value.IsObject())
        for (auto& f : e->value.GetObject())
          if (f.value.IsString()) text += std::string(" (") + f.name.GetString() + ": " + f.value.GetString() + ")";
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.empty()) text = "HTTP " + std::to_string(r.status);
    throw Error(code_for(r.status, text), method + " " + path + ": " + text);
  }
  d.Parse<rapidjson::kParseIterativeFlag>(r.body.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("data"))
    throw Error(BERTH_E_INTERNAL, "malformed PVE response to " + method + " " + path + ": no data envelope");
  rapidjson::Document data;
  data.CopyFrom(d["data"], data.GetAllocator());
  return data;
}

std::string node_of_upid(const std::string& upid) {
  if (upid.rfind("UPID:", 0) != 0) return {};
  auto end = upid.find(':', 5);
  return end == std::string::npos ? std::string() : upid.substr(5, end - 5);
}

void Api::wait_task(const std::string& upid, const http::Limits& limits) {
  const std::string node = node_of_upid(upid);
  if (node.empty()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: not a UPID: " + upid);
  const std::string path = "/nodes/" + node + "/tasks/" + http::url_encode(upid) + "/status";
  for (;;) {
    auto d = call("GET", path, limits);
    if (d.IsObject() && d.HasMember("status") && d["status"].IsString() && std::string(d["status"].GetString()) == "stopped") {
      std::string exit = d.HasMember("exitstatus") && d["exitstatus"].IsString() ? d["exitstatus"].GetString() : "";
      if (exit == "OK" || exit.rfind("WARNINGS", 0) == 0) return;
      berth_status code = code_for(500, exit);
      if (exit.find("did not stop") != std::string::npos) code = BERTH_E_TIMEOUT;
      throw Error(code, "PVE task " + upid + " failed: " + exit);
    }
    // PVE has no task notification: ask again after task_poll_ms, waking at
    // once if the call is cancelled meanwhile.
    if (!http::sleep_within(limits, std::chrono::milliseconds(task_poll_ms_))) {
      if (http::Clock::now() >= limits.deadline)
        throw Error(BERTH_E_TIMEOUT, "PVE task " + upid + " still running at the deadline");
      throw Error(BERTH_E_CANCELLED, "cancelled waiting for " + upid);
    }
  }
}

}  // namespace berth::proxmox
