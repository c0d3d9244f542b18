#include "docker_api.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace berth::docker {

using sdk::Error;
namespace json = rapidjson;

namespace {

const char* str(const json::Value& obj, const char* key, const char* fallback = "") {
  if (!obj.IsObject()) return fallback;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsString() ? it->value.GetString() : fallback;
}

int64_t integer(const json::Value& obj, const char* key, int64_t fallback = 0) {
  if (!obj.IsObject()) return fallback;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : fallback;
}

const json::Value& member(const json::Value& obj, const char* key) {
  static const json::Value null;
  if (!obj.IsObject()) return null;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() ? it->value : null;
}

json::Document parse(const std::string& body, const char* what) {
  json::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(body.c_str(), body.size());
  if (d.HasParseError())
    throw Error(BERTH_E_INTERNAL, std::string("malformed engine response to ") + what +
                                      " (not JSON at offset " + std::to_string(d.GetErrorOffset()) + ")");
  return d;
}

int version_number(std::string_view v) {  // "1.41" → 141; 0 for anything else
  auto dot = v.find('.');
  if (dot == v.npos) return 0;
  auto major = sdk::parse_number<int>(v.substr(0, dot)), minor = sdk::parse_number<int>(v.substr(dot + 1));
  if (!major || !minor || *major < 0 || *major > 99 || *minor < 0 || *minor > 99) return 0;
  return *major * 100 + *minor;
}

// a * b, or nullopt where int64 cannot hold it (an engine's number is
// untrusted: overflowing it would be undefined behaviour).
std::optional<int64_t> times(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void write_labels_of(const json::Value& labels, sdk::Labels& out) {
  if (!labels.IsObject()) return;
  for (auto& m : labels.GetObject())
    if (m.value.IsString()) out.emplace_back(m.name.GetString(), m.value.GetString());
}

using Writer = json::Writer<json::StringBuffer>;

void write_networks(Writer& w, const json::Value& networks) {
  w.Key("networks");
  w.StartArray();
  if (networks.IsObject())
    for (auto& n : networks.GetObject()) {
      w.StartObject();
      w.Key("name");
      w.String(n.name.GetString());
      w.Key("ip");
      w.String(str(n.value, "IPAddress"));
      w.EndObject();
    }
  w.EndArray();
}

void write_mounts(Writer& w, const json::Value& mounts) {
  w.Key("mounts");
  w.StartArray();
  if (mounts.IsArray())
    for (auto& m : mounts.GetArray()) {
      w.StartObject();
      w.Key("type");
      w.String(str(m, "Type"));
      w.Key("source");
      w.String(str(m, "Source"));
      w.Key("destination");
      w.String(str(m, "Destination"));
      w.EndObject();
    }
  w.EndArray();
}

void write_port(Writer& w, int priv, int pub, const char* ip, const char* proto) {
  w.StartObject();
  w.Key("private");
  w.Int(priv);
  if (pub > 0) {
    w.Key("public");
    w.Int(pub);
    w.Key("ip");
    w.String(ip);
  }
  w.Key("proto");
  w.String(proto);
  w.EndObject();
}

// "Up 3 minutes (healthy)" → "healthy"; "Exited (137) 2 hours ago" → 137.
std::string health_from_status_text(std::string_view s) {
  if (s.find("(healthy)") != s.npos) return "healthy";
  if (s.find("(unhealthy)") != s.npos) return "unhealthy";
  if (s.find("(health: starting)") != s.npos) return "starting";
  return {};
}
std::optional<int32_t> exit_code_from_status_text(std::string_view s) {
  if (s.rfind("Exited (", 0) != 0) return std::nullopt;
  s.remove_prefix(8);
  return sdk::parse_number<int32_t>(s.substr(0, s.find(')')));
}

}  // namespace

// ------------------------------------------------------------------ config

Config parse_config(const std::string& text) {
  json::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(text.c_str());
  if (d.HasParseError() || !d.IsObject())
    throw Error(BERTH_E_INVALID_ARGUMENT, "config: expected a JSON object");
  Config c;
  auto string_key = [&](const json::Value& obj, const char* key, std::string& out, const char* path) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) return;
    if (!it->value.IsString()) throw Error(BERTH_E_INVALID_ARGUMENT, std::string(path) + ": expected a string");
    out = it->value.GetString();
  };
  for (auto& m : d.GetObject()) {
    const std::string k = m.name.GetString();
    if (k != "host" && k != "tls" && k != "api_version" && k != "reconnect_max_ms" &&
        k != "connect_timeout_ms")
      throw Error(BERTH_E_INVALID_ARGUMENT, k + ": unknown key");
  }
  string_key(d, "host", c.host, "host");
  string_key(d, "api_version", c.api_version, "api_version");
  if (!c.api_version.empty() && version_number(c.api_version) == 0)
    throw Error(BERTH_E_INVALID_ARGUMENT, "api_version: expected MAJOR.MINOR, got " + c.api_version);
  for (const char* k : {"reconnect_max_ms", "connect_timeout_ms"}) {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd()) continue;
    if (!it->value.IsInt64() || it->value.GetInt64() <= 0)
      throw Error(BERTH_E_INVALID_ARGUMENT, std::string(k) + ": expected a positive integer");
    (std::strcmp(k, "reconnect_max_ms") == 0 ? c.reconnect_max_ms : c.connect_timeout_ms) =
        it->value.GetInt64();
  }
  if (auto it = d.FindMember("tls"); it != d.MemberEnd()) {
    if (!it->value.IsObject()) throw Error(BERTH_E_INVALID_ARGUMENT, "tls: expected an object");
    string_key(it->value, "ca", c.tls.ca_file, "tls.ca");
    string_key(it->value, "cert", c.tls.cert_file, "tls.cert");
    string_key(it->value, "key", c.tls.key_file, "tls.key");
    string_key(it->value, "pin_sha256", c.tls.pin_sha256, "tls.pin_sha256");
    if (auto ins = it->value.FindMember("insecure"); ins != it->value.MemberEnd()) {
      if (!ins->value.IsBool()) throw Error(BERTH_E_INVALID_ARGUMENT, "tls.insecure: expected true or false");
      c.tls.insecure = ins->value.GetBool();
    }
  }
  if (c.host.empty()) {
    const char* env = std::getenv("DOCKER_HOST");
    c.host = env && *env ? env : "unix:///var/run/docker.sock";
    const char* verify = std::getenv("DOCKER_TLS_VERIFY");
    const char* certs = std::getenv("DOCKER_CERT_PATH");
    if (verify && *verify && c.tls.ca_file.empty()) {
      const std::string dir = certs && *certs ? certs : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.docker";
      c.tls.ca_file = dir + "/ca.pem";
      c.tls.cert_file = dir + "/cert.pem";
      c.tls.key_file = dir + "/key.pem";
    }
  }
  std::string error;
  if (!http::Endpoint::parse(c.host, c.tls, error)) throw Error(BERTH_E_INVALID_ARGUMENT, "host: " + error);
  return c;
}

// ------------------------------------------------------------------ api

namespace {
http::Endpoint endpoint_of(const Config& c) {
  std::string error;
  return *http::Endpoint::parse(c.host, c.tls, error);  // validated by parse_config
}
}  // namespace

Api::Api(const Config& config) : client_(endpoint_of(config)), forced_(config.api_version) {}


std::string Api::negotiate(const http::Limits& limits) {
  if (!forced_.empty()) {
    std::lock_guard lock(mutex_);
    return version_ = forced_;
  }
  auto r = client_.call({"GET", "/version"}, limits);
  if (!r.ok()) http::throw_failure(r, "engine");
  if (r.status != 200) throw Error(BERTH_E_UNAVAILABLE, "GET /version answered " + std::to_string(r.status));
  auto d = parse(r.body, "GET /version");
  std::string engine = str(d, "ApiVersion");
  if (version_number(engine) == 0) throw Error(BERTH_E_INTERNAL, "engine reports no ApiVersion");
  if (version_number(engine) < version_number(kOldestApi))
    throw Error(BERTH_E_UNSUPPORTED, "engine API " + engine + " is older than " + kOldestApi);
  std::string chosen = version_number(engine) > version_number(kNewestApi) ? kNewestApi : engine;
  bool podman = false;
  if (const auto& parts = member(d, "Components"); parts.IsArray())
    for (const auto& c : parts.GetArray())
      if (std::string_view(str(c, "Name")).find("Podman") != std::string_view::npos) podman = true;
  std::lock_guard lock(mutex_);
  podman_ = podman;
  return version_ = chosen;
}

std::string Api::prefix(const http::Limits& limits) {
  {
    std::lock_guard lock(mutex_);
    if (!version_.empty()) return "/v" + version_;
  }
  return "/v" + negotiate(limits);
}

bool Api::podman() {
  std::lock_guard lock(mutex_);
  return podman_;
}

bool Api::at_least(const char* version) {
  std::lock_guard lock(mutex_);
  return version_number(version_) >= version_number(version);
}

std::string Api::call(const std::string& method, const std::string& path_and_query,
                      const http::Limits& limits, const std::string& body) {
  http::Request req{method, prefix(limits) + path_and_query, body, body.empty() ? "" : "application/json"};
  auto r = client_.call(req, limits);
  if (!r.ok()) http::throw_failure(r, "engine");
  if (r.status / 100 == 2 || r.status == 304) return std::move(r.body);  // 304: already in that state
  std::string message;
  json::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(r.body.c_str());
  message = !d.HasParseError() && d.IsObject() ? str(d, "message") : "";
  if (message.empty()) message = method + " " + path_and_query + ": HTTP " + std::to_string(r.status);
  switch (r.status) {
    case 500:
      // Podman's compatible API answers 500 where Docker answers 404 or
      // 409; its words tell which.
      if (message.find("already in use") != message.npos || message.find("state improper") != message.npos ||
          message.find("is running") != message.npos)
        throw Error(BERTH_E_CONFLICT, message);
      if (message.find("no such") != message.npos || message.find("not found") != message.npos)
        throw Error(BERTH_E_NOT_FOUND, message);
      throw Error(BERTH_E_INTERNAL, message);
    case 400: throw Error(BERTH_E_INVALID_ARGUMENT, message);
    case 401:
    case 403: throw Error(BERTH_E_PERMISSION_DENIED, message);
    case 404: throw Error(BERTH_E_NOT_FOUND, message);
    case 409: throw Error(BERTH_E_CONFLICT, message);
    default: throw Error(BERTH_E_INTERNAL, message);
  }
}

// ------------------------------------------------------------------ mapping

berth_state state_from_docker(std::string_view s) {
  // Podman's compat API may also say configured, initialized, stopped and
  // stopping (its own words).
  if (s == "running" || s == "restarting" || s == "stopping") return BERTH_STATE_RUNNING;
  if (s == "paused") return BERTH_STATE_PAUSED;
  if (s == "created" || s == "exited" || s == "stopped" || s == "configured" || s == "initialized")
    return BERTH_STATE_STOPPED;
  if (s == "dead" || s == "removing") return BERTH_STATE_ERROR;
  return BERTH_STATE_UNKNOWN;
}

int64_t parse_time_ns(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|±HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return 0;
  auto num = [&](size_t at, size_t n) {
    int64_t v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return int64_t{-1};
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int64_t y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || se < 0) return 0;
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
      if (digits++ < 9) frac = frac * 10 + (s[i] - '0');
    for (; digits < 9; ++digits) frac *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-') && i + 6 <= s.size()) {
    offset = (num(i + 1, 2) * 60 + num(i + 4, 2)) * 60 * (s[i] == '+' ? 1 : -1);
  } else if (i >= s.size() || s[i] != 'Z') {
    return 0;
  }
  const int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                       h * 3600 + mi * 60 + se - offset;
  // Past 2262-04-11T23:47:16.854775807Z int64 nanoseconds overflow: unknown.
  const auto ns = times(secs, 1000000000);
  if (!ns || *ns > INT64_MAX - frac) return 0;
  return *ns + frac;
}

sdk::Container container_from_inspect(const std::string& body) {
  auto d = parse(body, "container inspect");
  if (!d.IsObject() || !d.HasMember("Id")) throw Error(BERTH_E_INTERNAL, "malformed engine response: inspect without Id");
  sdk::Container c;
  c.id = str(d, "Id");
  c.name = str(d, "Name");
  if (!c.name.empty() && c.name[0] == '/') c.name.erase(0, 1);
  const auto& config = member(d, "Config");
  c.image = str(config, "Image", str(d, "Image"));
  const auto& state = member(d, "State");
  c.raw_state = str(state, "Status");
  c.state = state_from_docker(c.raw_state);
  c.created_unix_ms = parse_time_ns(str(d, "Created")) / 1000000;
  c.started_unix_ms = parse_time_ns(str(state, "StartedAt")) / 1000000;
  c.finished_unix_ms = parse_time_ns(str(state, "FinishedAt")) / 1000000;
  if (c.finished_unix_ms > 0 || c.raw_state == "exited" || c.raw_state == "dead")
    c.exit_code = static_cast<int32_t>(integer(state, "ExitCode"));
  c.oom_killed = member(state, "OOMKilled").IsBool() && member(state, "OOMKilled").GetBool();
  c.restart_count = static_cast<int32_t>(integer(d, "RestartCount"));
  c.health = str(member(state, "Health"), "Status");
  write_labels_of(member(config, "Labels"), c.labels);

  json::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("ports");
  w.StartArray();
  const auto& net = member(d, "NetworkSettings");
  if (const auto& ports = member(net, "Ports"); ports.IsObject())
    for (auto& p : ports.GetObject()) {
      std::string spec = p.name.GetString();  // "80/tcp"
      auto slash = spec.find('/');
      const int priv = sdk::parse_number<int>(std::string_view(spec).substr(0, slash)).value_or(0);
      const std::string proto = slash == spec.npos ? "tcp" : spec.substr(slash + 1);
      if (p.value.IsArray() && !p.value.Empty()) {
        for (auto& b : p.value.GetArray())
          write_port(w, priv, sdk::parse_number<int>(str(b, "HostPort", "0")).value_or(0), str(b, "HostIp"),
                     proto.c_str());
      } else {
        write_port(w, priv, 0, "", proto.c_str());
      }
    }
  w.EndArray();
  write_networks(w, member(net, "Networks"));
  write_mounts(w, member(d, "Mounts"));
  w.Key("pid");
  w.Int64(integer(state, "Pid"));
  if (const char* err = str(state, "Error"); *err) {
    w.Key("engine_error");
    w.String(err);
  }
  w.EndObject();
  c.details_json.assign(buf.GetString(), buf.GetSize());
  return c;
}

void containers_from_list(const std::string& body, const sdk::Sink& sink) {
  auto d = parse(body, "container list");
  if (!d.IsArray()) throw Error(BERTH_E_INTERNAL, "malformed engine response: container list is not an array");
  for (auto& e : d.GetArray()) {
    sdk::Container c;
    c.id = str(e, "Id");
    if (c.id.empty()) continue;
    if (const auto& names = member(e, "Names"); names.IsArray() && !names.Empty() && names[0].IsString())
      c.name = names[0].GetString();
    if (!c.name.empty() && c.name[0] == '/') c.name.erase(0, 1);
    c.image = str(e, "Image");
    c.raw_state = str(e, "State");
    c.state = state_from_docker(c.raw_state);
    c.created_unix_ms = times(integer(e, "Created"), 1000).value_or(0);
    const std::string text = str(e, "Status");
    c.health = health_from_status_text(text);
    c.exit_code = exit_code_from_status_text(text);
    write_labels_of(member(e, "Labels"), c.labels);
    json::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("ports");
    w.StartArray();
    if (const auto& ports = member(e, "Ports"); ports.IsArray())
      for (auto& p : ports.GetArray())
        write_port(w, static_cast<int>(integer(p, "PrivatePort")), static_cast<int>(integer(p, "PublicPort")),
                   str(p, "IP"), str(p, "Type", "tcp"));
    w.EndArray();
    write_networks(w, member(member(e, "NetworkSettings"), "Networks"));
    write_mounts(w, member(e, "Mounts"));
    w.Key("status_text");
    w.String(text.c_str());
    w.EndObject();
    c.details_json.assign(buf.GetString(), buf.GetSize());
    if (sink(c) == BERTH_SINK_STOP) return;
  }
}

// ------------------------------------------------------------------ create

std::string image_with_tag(const std::string& image) {
  if (image.find('@') != std::string::npos) return image;
  const auto slash = image.rfind('/'), colon = image.rfind(':');
  const bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  return tagged ? image : image + ":latest";
}

std::string pull_error(std::string_view progress) {
  size_t start = 0;
  while (start < progress.size()) {
    size_t nl = progress.find('\n', start);
    if (nl == std::string_view::npos) nl = progress.size();
    const auto line = progress.substr(start, nl - start);
    start = nl + 1;
    json::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject()) continue;
    if (const char* e = str(d, "error"); *e) return e;
    if (const char* e = str(member(d, "errorDetail"), "message"); *e) return e;
  }
  return {};
}

const char* container_name_grammar(bool podman) {
  return podman ? "[a-zA-Z0-9][a-zA-Z0-9_.-]*" : "[a-zA-Z0-9][a-zA-Z0-9_.-]+";
}

bool valid_container_name(std::string_view name, bool podman) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  return name.size() >= (podman ? 1u : 2u) && alnum(name[0]) &&
         std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::string create_body(const sdk::CreateSpec& s) {
  json::StringBuffer buf;
  Writer w(buf);
  auto string_map = [&](const char* key, const sdk::Labels& m) {
    w.Key(key);
    w.StartObject();
    for (const auto& [k, v] : m) {
      w.Key(k.c_str(), static_cast<json::SizeType>(k.size()));
      w.String(v.c_str(), static_cast<json::SizeType>(v.size()));
    }
    w.EndObject();
  };
  w.StartObject();
  w.Key("Image");
  w.String(s.image.c_str());
  if (!s.command.empty()) {
    w.Key("Cmd");
    w.StartArray();
    for (const auto& a : s.command) w.String(a.c_str(), static_cast<json::SizeType>(a.size()));
    w.EndArray();
  }
  if (!s.env.empty()) {
    w.Key("Env");
    w.StartArray();
    for (const auto& [k, v] : s.env) w.String((k + "=" + v).c_str());
    w.EndArray();
  }
  if (!s.labels.empty()) string_map("Labels", s.labels);
  w.Key("HostConfig");
  w.StartObject();
  if (!s.mounts.empty()) {
    w.Key("Mounts");
    w.StartArray();
    for (const auto& m : s.mounts) {
      w.StartObject();
      w.Key("Type");
      w.String("bind");
      w.Key("Source");
      w.String(m.source.c_str());
      w.Key("Target");
      w.String(m.destination.c_str());
      w.Key("ReadOnly");
      w.Bool(m.read_only);
      w.EndObject();
    }
    w.EndArray();
  }
  if (s.memory_bytes > 0) {
    w.Key("Memory");
    w.Int64(s.memory_bytes);
  }
  if (s.nano_cpus > 0) {
    w.Key("NanoCpus");
    w.Int64(s.nano_cpus);
  }
  if (s.pids_limit > 0) {
    w.Key("PidsLimit");
    w.Int64(s.pids_limit);
  }
  if (!s.log_driver.empty()) {
    w.Key("LogConfig");
    w.StartObject();
    w.Key("Type");
    w.String(s.log_driver.c_str());
    string_map("Config", s.log_options);
    w.EndObject();
  }
  if (!s.network.empty()) {
    w.Key("NetworkMode");
    w.String(s.network.c_str());
  }
  if (!s.ulimits.empty()) {
    w.Key("Ulimits");
    w.StartArray();
    for (const auto& u : s.ulimits) {
      w.StartObject();
      w.Key("Name");
      w.String(u.name.c_str());
      w.Key("Soft");
      w.Int64(u.soft);
      w.Key("Hard");
      w.Int64(u.hard);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  if (!s.network.empty() && !s.network_aliases.empty()) {
    w.Key("NetworkingConfig");
    w.StartObject();
    w.Key("EndpointsConfig");
    w.StartObject();
    w.Key(s.network.c_str());
    w.StartObject();
    w.Key("Aliases");
    w.StartArray();
    for (const auto& a : s.network_aliases) w.String(a.c_str());
    w.EndArray();
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// ------------------------------------------------------------------ events

int64_t event_time_ns(const json::Value& d) {
  return integer(d, "timeNano", times(integer(d, "time"), 1000000000).value_or(0));
}

std::optional<RawEvent> event_from_json(std::string_view line) {
  json::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
  if (d.HasParseError()) return std::nullopt;
  return event_from_json(d);
}

std::optional<RawEvent> event_from_json(const json::Value& d) {
  if (!d.IsObject()) return std::nullopt;
  const std::string type = str(d, "Type", "container");
  if (type != "container") return std::nullopt;
  std::string action = str(d, "Action", str(d, "status"));
  const auto& actor = member(d, "Actor");
  std::string id = str(actor, "ID", str(d, "id"));
  if (action.empty() || id.empty()) return std::nullopt;

  RawEvent r;
  sdk::Event& e = r.event;
  r.time_nano = event_time_ns(d);
  e.time_unix_ns = r.time_nano;
  e.container_id = std::move(id);
  e.raw_action = action;
  // Podman's compat stream says "died" (before 4.4: also in the stream),
  // "remove" for destroy, and "health_status" with the status in a field of
  // its own; init, cleanup, mount, unmount and sync are its bookkeeping.
  if (action == "create") e.type = BERTH_EVENT_CREATED;
  else if (action == "start") e.type = BERTH_EVENT_STARTED;
  else if (action == "die" || action == "died") e.type = BERTH_EVENT_EXITED;
  else if (action == "pause") e.type = BERTH_EVENT_PAUSED;
  else if (action == "unpause") e.type = BERTH_EVENT_UNPAUSED;
  else if (action == "destroy" || action == "remove") e.type = BERTH_EVENT_DESTROYED;
  else if (action == "oom") e.type = BERTH_EVENT_OOM;
  else if (action == "rename") e.type = BERTH_EVENT_RENAMED;
  else if (action.rfind("health_status", 0) == 0) {
    e.type = BERTH_EVENT_HEALTH;
    auto colon = action.find(": ");
    e.health = colon == std::string::npos ? str(d, "HealthStatus") : action.substr(colon + 2);
  } else if (action.rfind("exec_", 0) == 0 || action == "exec" || action == "attach" || action == "detach" ||
             action == "resize" || action == "top" || action == "archive-path" ||
             action == "extract-to-dir" || action == "copy" || action == "export" || action == "init" ||
             action == "cleanup" || action == "mount" || action == "unmount" || action == "sync") {
    return std::nullopt;  // noise: nothing about the container's lifecycle
  } else {
    e.type = BERTH_EVENT_OTHER;  // kill, stop, restart, update, commit, ...
  }
  // Docker merges the container's labels into the actor's attributes; the
  // keys below are the engine's own, not labels.
  if (const auto& attrs = member(actor, "Attributes"); attrs.IsObject()) {
    for (auto& m : attrs.GetObject()) {
      if (!m.value.IsString()) continue;
      const std::string_view k = m.name.GetString();
      const char* v = m.value.GetString();
      if (k == "name") e.container_name = v;
      else if (k == "image") e.image = v;
      else if (k == "exitCode") e.exit_code = sdk::parse_number<int32_t>(v);  // junk: unknown
      else if (k == "oldName") e.old_name = *v == '/' ? v + 1 : v;
      else if (k == "signal" || k == "execDuration" || k == "execID" || k == "containerExitCode" || k == "podId")
        continue;
      else e.labels.emplace_back(std::string(k), v);
    }
  }
  return r;
}

}  // namespace berth::docker
