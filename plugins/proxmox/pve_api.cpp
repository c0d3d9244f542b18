#include "pve_api.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
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
  return decode_response(method, path, r.status, r.reason, r.body);
}

rapidjson::Document decode_response(const std::string& method, const std::string& path, unsigned status,
                                    const std::string& reason, const std::string& body) {
  rapidjson::Document d;
  if (status != 200) {
    // PVE puts its error text in the reason phrase; newer servers repeat it
    // in "message".
    std::string text = reason;
    d.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
    if (!d.HasParseError() && d.IsObject()) {
      if (auto m = d.FindMember("message"); m != d.MemberEnd() && m->value.IsString()) text = m->value.GetString();
      if (auto e = d.FindMember("errors"); e != d.MemberEnd() && e->value.IsObject())
        for (auto& f : e->value.GetObject())
          if (f.value.IsString()) text += std::string(" (") + f.name.GetString() + ": " + f.value.GetString() + ")";
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.empty()) text = "HTTP " + std::to_string(status);
    throw Error(code_for(status, text), method + " " + path + ": " + text);
  }
  d.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
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

bool task_done(const rapidjson::Value& d, const std::string& upid) {
  if (d.IsObject() && d.HasMember("status") && d["status"].IsString() && std::string(d["status"].GetString()) == "stopped") {
    std::string exit = d.HasMember("exitstatus") && d["exitstatus"].IsString() ? d["exitstatus"].GetString() : "";
    if (exit == "OK" || exit.rfind("WARNINGS", 0) == 0) return true;
    berth_status code = code_for(500, exit);
    if (exit.find("did not stop") != std::string::npos) code = BERTH_E_TIMEOUT;
    throw Error(code, "PVE task " + upid + " failed: " + exit);
  }
  return false;
}

void Api::wait_task(const std::string& upid, const http::Limits& limits) {
  const std::string node = node_of_upid(upid);
  if (node.empty()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: not a UPID: " + upid);
  const std::string path = "/nodes/" + node + "/tasks/" + http::url_encode(upid) + "/status";
  for (;;) {
    if (task_done(call("GET", path, limits), upid)) return;
    // PVE has no task notification: ask again after task_poll_ms, waking at
    // once if the call is cancelled meanwhile.
    if (!http::sleep_within(limits, std::chrono::milliseconds(task_poll_ms_))) {
      if (http::Clock::now() >= limits.deadline)
        throw Error(BERTH_E_TIMEOUT, "PVE task " + upid + " still running at the deadline");
      throw Error(BERTH_E_CANCELLED, "cancelled waiting for " + upid);
    }
  }
}

// ------------------------------------------------------------ guests

namespace {

int64_t vmid_of(const rapidjson::Value& v) {  // older servers send it as a string
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsString()) return sdk::parse_number<int64_t>(v.GetString()).value_or(0);
  return 0;
}

// A number PVE may write as an integer or a float ("uptime": 1.5), truncated;
// 0 when absent, not a number, or beyond int64. (GetInt64 on a float or on
// an unsigned past INT64_MAX is a RapidJSON assertion: in a release build,
// the float's bits read as an integer.)
int64_t integer_member(const rapidjson::Value& o, const char* k) {
  auto it = o.FindMember(k);
  if (it == o.MemberEnd() || !it->value.IsNumber()) return 0;
  if (it->value.IsInt64()) return it->value.GetInt64();
  const double d = it->value.GetDouble();
  return d > -9.2e18 && d < 9.2e18 ? static_cast<int64_t>(d) : 0;
}

}  // namespace

// Every lookup checks for an object first: FindMember on anything else is a
// RapidJSON assertion, and in a release build reads the array or string
// (or past it) as members.
std::string string_member(const rapidjson::Value& o, const char* k) {
  if (!o.IsObject()) return "";
  auto it = o.FindMember(k);
  return it != o.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

Guest guest_from(const rapidjson::Value& g, const std::string& node) {
  Guest out;
  out.node = node;
  if (!g.IsObject()) return out;  // vmid 0: no guest
  out.vmid = g.HasMember("vmid") ? vmid_of(g["vmid"]) : 0;
  out.name = string_member(g, "name");
  out.status = string_member(g, "status");
  out.tags = string_member(g, "tags");
  out.lock = string_member(g, "lock");
  out.uptime_s = integer_member(g, "uptime");
  // Finite only: RapidJSON 1.1.0 reads some numbers past DBL_MAX
  // (18.00e0309) as infinity, which the details writer cannot write.
  if (g.HasMember("cpu") && g["cpu"].IsNumber() && std::isfinite(g["cpu"].GetDouble())) out.cpu = g["cpu"].GetDouble();
  out.mem = integer_member(g, "mem");
  out.maxmem = integer_member(g, "maxmem");
  out.is_template = g.HasMember("template") && ((g["template"].IsInt() && g["template"].GetInt() == 1) ||
                                                (g["template"].IsString() && string_member(g, "template") == "1"));
  return out;
}

berth_state state_of(const std::string& status) {
  if (status == "running") return BERTH_STATE_RUNNING;
  if (status == "stopped") return BERTH_STATE_STOPPED;
  if (status == "paused" || status == "suspended") return BERTH_STATE_PAUSED;
  return BERTH_STATE_UNKNOWN;
}

// PVE tags cannot hold '=' or ','. A tag "proxy.<key…>.<value>" becomes the
// label "proxy.<key…>" = "<value>" (repeated keys join with ','), so the
// core's route labels work on Proxmox; every tag is also "pve.tag.<tag>".
sdk::Labels labels_from_tags(const std::string& tags) {
  sdk::Labels out;
  std::map<std::string, std::string> proxy;
  size_t start = 0;
  while (start < tags.size()) {
    size_t end = tags.find_first_of(";, ", start);
    if (end == std::string::npos) end = tags.size();
    std::string tag = tags.substr(start, end - start);
    start = end + 1;
    if (tag.empty()) continue;
    out.emplace_back("pve.tag." + tag, "true");
    auto dot = tag.rfind('.');
    if (tag.rfind("proxy.", 0) == 0 && dot > 6) {
      auto& v = proxy[tag.substr(0, dot)];
      v += (v.empty() ? "" : ",") + tag.substr(dot + 1);
    }
  }
  for (auto& [k, v] : proxy) out.emplace_back(k, v);
  if (!tags.empty()) out.emplace_back("pve.tags", tags);
  return out;
}

sdk::Container container_of(const Guest& g, const rapidjson::Value* config) {
  sdk::Container c;
  c.id = std::to_string(g.vmid);
  c.name = g.name.empty() ? "CT" + c.id : g.name;
  c.state = state_of(g.status);
  c.raw_state = g.status;
  if (c.state == BERTH_STATE_RUNNING && g.uptime_s > 0) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
    // An uptime longer than the clock is garbage (and uptime * 1000 would
    // overflow): the start stays unknown.
    if (g.uptime_s < now_ms / 1000) c.started_unix_ms = now_ms - g.uptime_s * 1000;
  }
  c.labels = labels_from_tags(g.tags);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("node");
  w.String(g.node.c_str());
  w.Key("vmid");
  w.Int64(g.vmid);
  if (!g.lock.empty()) {
    w.Key("lock");
    w.String(g.lock.c_str());
  }
  w.Key("uptime_s");
  w.Int64(g.uptime_s);
  w.Key("cpu");
  w.Double(g.cpu);
  w.Key("mem");
  w.Int64(g.mem);
  w.Key("maxmem");
  w.Int64(g.maxmem);
  if (config && config->IsObject()) {
    if (std::string os = string_member(*config, "ostype"); !os.empty()) c.image = "lxc:" + os;
    // net0 = "name=eth0,bridge=vmbr0,hwaddr=…,ip=10.0.0.5/24,type=veth"
    w.Key("networks");
    w.StartArray();
    for (auto& m : config->GetObject()) {
      const std::string key = m.name.GetString();
      if (key.rfind("net", 0) != 0 || !m.value.IsString()) continue;
      std::string spec = m.value.GetString(), name = key, ip;
      for (size_t i = 0; i < spec.size();) {
        size_t comma = spec.find(',', i);
        if (comma == std::string::npos) comma = spec.size();
        std::string kv = spec.substr(i, comma - i);
        if (kv.rfind("name=", 0) == 0) name = kv.substr(5);
        if (kv.rfind("ip=", 0) == 0) ip = kv.substr(3, kv.find('/') == std::string::npos ? std::string::npos : kv.find('/') - 3);
        i = comma + 1;
      }
      w.StartObject();
      w.Key("name");
      w.String(name.c_str());
      w.Key("ip");
      w.String(ip == "dhcp" ? "" : ip.c_str());
      w.EndObject();
    }
    w.EndArray();
    if (std::string lock = string_member(*config, "lock"); !lock.empty() && g.lock.empty()) {
      w.Key("lock");
      w.String(lock.c_str());
    }
  }
  w.EndObject();
  c.details_json.assign(buf.GetString(), buf.GetSize());
  return c;
}

}  // namespace berth::proxmox
