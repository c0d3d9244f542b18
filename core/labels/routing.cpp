#include "labels/routing.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace berth::labels {
inline namespace routing_v1 {
namespace {

constexpr std::string_view kProxy = "proxy.";
constexpr std::string_view kCompose = "com.docker.compose.";

// Seed 004, "Blacklist detection": containers that mount a database's data
// directory or expose a database port are never routed.
constexpr std::array<std::string_view, 6> kDatabaseMounts = {
    "/var/lib/postgresql/data", "/var/lib/mysql",     "/var/lib/mongodb",
    "/var/lib/mariadb",         "/var/lib/memcached", "/var/lib/rabbitmq"};
constexpr std::array<uint16_t, 5> kDatabasePorts = {5432, 3306, 6379, 11211, 27017};
// The seed has no image list; these are the official images of the databases
// it names, matched on the last path component without tag or digest.
constexpr std::array<std::string_view, 8> kDatabaseImages = {
    "postgres", "mysql", "mariadb", "mongo", "redis", "memcached", "elasticsearch", "rabbitmq"};
// When a container exposes several ports, a route most likely means these,
// in this order of preference.
constexpr std::array<uint16_t, 4> kWebPorts = {80, 8080, 443, 3000};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == s.npos) comma = s.size();
    auto item = trim(s.substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

// "db:service_started:true, cache" -> {"db", "cache"}, duplicates dropped.
std::vector<std::string> dependency_list(std::string_view s) {
  std::vector<std::string> out;
  for (auto& item : split_list(s)) {
    std::string name(trim(std::string_view(item).substr(0, item.find(':'))));
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(std::move(name));
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string v = lower(trim(s));
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return std::nullopt;
}

std::optional<int64_t> parse_uint(std::string_view s, int64_t max) {
  s = trim(s);
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<int> parse_port(std::string_view s) {
  auto v = parse_uint(s, 65535);
  if (!v || *v == 0) return std::nullopt;
  return static_cast<int>(*v);
}

// Go-style durations ("30s", "5m", "1h30m", "500ms", "1.5h"); a bare integer
// is seconds. Sub-millisecond parts are truncated.
std::optional<int64_t> parse_duration_ms(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  if (auto secs = parse_uint(s, int64_t{1} << 40)) return *secs * 1000;
  constexpr long double kMaxMs = 1e15L;  // ~31,000 years
  long double total_ns = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double number = 0, scale = 1;
    bool digits = false, dot = false;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c >= '0' && c <= '9') {
        digits = true;
        if (dot) {
          scale /= 10;
          number += (c - '0') * scale;
        } else {
          number = number * 10 + (c - '0');
        }
      } else if (c == '.' && !dot) {
        dot = true;
      } else {
        break;
      }
    }
    if (!digits) return std::nullopt;
    size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9') && s[j] != '.') ++j;
    std::string_view unit = s.substr(i, j - i);
    long double ns_per;
    if (unit == "h") ns_per = 3600e9L;
    else if (unit == "m") ns_per = 60e9L;
    else if (unit == "s") ns_per = 1e9L;
    else if (unit == "ms") ns_per = 1e6L;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") ns_per = 1e3L;
    else if (unit == "ns") ns_per = 1;
    else return std::nullopt;
    total_ns += number * ns_per;
    if (total_ns / 1e6L > kMaxMs) return std::nullopt;
    s.remove_prefix(j);
  }
  return static_cast<int64_t>(total_ns / 1e6L);
}

std::string complaint(std::string_view key, std::string_view what, std::string_view value) {
  constexpr size_t kMaxShown = 64;
  std::string shown(value.substr(0, kMaxShown));
  if (value.size() > kMaxShown) shown += "...";
  return std::string(key) + ": " + std::string(what) + " \"" + shown + "\"";
}

std::string image_name(std::string_view image) {
  if (auto at = image.find('@'); at != image.npos) image = image.substr(0, at);
  if (auto slash = image.rfind('/'); slash != image.npos) image = image.substr(slash + 1);
  if (auto colon = image.find(':'); colon != image.npos) image = image.substr(0, colon);
  return lower(image);
}

bool under(std::string_view path, std::string_view dir) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir &&
                         path[dir.size()] == '/');
}

bool is_database(const Facts& facts) {
  auto name = image_name(facts.image);
  if (std::find(kDatabaseImages.begin(), kDatabaseImages.end(), name) != kDatabaseImages.end())
    return true;
  for (const auto& m : facts.mount_destinations)
    for (auto dir : kDatabaseMounts)
      if (under(m, dir)) return true;
  for (auto p : facts.private_ports)
    if (std::find(kDatabasePorts.begin(), kDatabasePorts.end(), p) != kDatabasePorts.end())
      return true;
  return false;
}

int infer_port(const Facts& facts) {
  for (auto w : kWebPorts)
    if (std::find(facts.private_ports.begin(), facts.private_ports.end(), w) !=
        facts.private_ports.end())
      return w;
  int best = 0;
  for (auto p : facts.private_ports)
    if (p != 0 && (best == 0 || p < best)) best = p;
  return best;
}

bool is_idle_key(std::string_view k) {
  return k == "idle_timeout" || k == "wake_timeout" || k == "stop_method" ||
         k == "stop_signal" || k == "stop_timeout" || k == "depends_on" ||
         k == "start_endpoint" || k == "no_loading_page";
}

void put(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void put_list(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v) put(w, s);
  w.EndArray();
}

}  // namespace

Facts facts_from_details(std::string_view details_json) {
  Facts f;
  if (details_json.empty()) return f;
  rapidjson::Document d;
  d.Parse(details_json.data(), details_json.size());
  if (d.HasParseError() || !d.IsObject()) return f;
  auto port_of = [](const rapidjson::Value& o, const char* key) -> std::optional<uint16_t> {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd() || !it->value.IsInt()) return std::nullopt;
    int v = it->value.GetInt();
    if (v < 1 || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
  };
  auto add = [](std::vector<uint16_t>& v, uint16_t p) {
    if (std::find(v.begin(), v.end(), p) == v.end()) v.push_back(p);
  };
  if (auto it = d.FindMember("ports"); it != d.MemberEnd() && it->value.IsArray()) {
    for (const auto& p : it->value.GetArray()) {
      if (!p.IsObject()) continue;
      if (auto v = port_of(p, "private")) add(f.private_ports, *v);
      if (auto v = port_of(p, "public")) add(f.public_ports, *v);
    }
  }
  if (auto it = d.FindMember("mounts"); it != d.MemberEnd() && it->value.IsArray()) {
    for (const auto& m : it->value.GetArray()) {
      if (!m.IsObject()) continue;
      auto dst = m.FindMember("destination");
      if (dst != m.MemberEnd() && dst->value.IsString() && dst->value.GetStringLength() > 0)
        f.mount_destinations.emplace_back(dst->value.GetString(), dst->value.GetStringLength());
    }
  }
  if (auto it = d.FindMember("image"); it != d.MemberEnd() && it->value.IsString())
    f.image.assign(it->value.GetString(), it->value.GetStringLength());
  return f;
}

Routing parse_routing(const sdk::Labels& labels, const Facts& facts,
                      std::string_view container_name) {
  Routing r;
  // Last value of a repeated key wins; sorted keys make errors deterministic.
  std::map<std::string, std::string> all;
  for (const auto& [k, v] : labels) all[k] = v;

  std::vector<std::string> aliases;
  auto add_alias = [&](const std::string& a) {
    if (std::find(aliases.begin(), aliases.end(), a) == aliases.end()) aliases.push_back(a);
  };
  std::vector<std::string> keyed_aliases;  // from proxy.<alias>.<field>, sorted
  // alias ("*" = wildcard) -> field -> (value, label key)
  std::map<std::string, std::map<std::string, std::pair<std::string, std::string>>> per_alias;
  std::optional<bool> exclude;

  for (const auto& [key, value] : all) {
    std::string_view k = key;
    if (k.substr(0, kCompose.size()) == kCompose) {
      auto rest = k.substr(kCompose.size());
      if (rest == "project") r.compose.project = value;
      else if (rest == "service") r.compose.service = value;
      else if (rest == "project.config_files") r.compose.config_files = value;
      else if (rest == "project.working_dir") r.compose.working_dir = value;
      else if (rest == "depends_on") r.compose.depends_on = dependency_list(value);
      else if (rest == "container-number") {
        if (auto n = parse_uint(value, 1 << 30)) r.compose.container_number = static_cast<int>(*n);
        else r.errors.push_back(complaint(key, "invalid number", value));
      }
      continue;
    }
    if (k.substr(0, kProxy.size()) != kProxy) continue;
    auto rest = k.substr(kProxy.size());
    if (auto dot = rest.find('.'); dot != rest.npos) {
      std::string alias(rest.substr(0, dot));
      std::string field(rest.substr(dot + 1));
      if (alias.empty() || field.empty()) continue;
      per_alias[alias][field] = {value, key};
      if (alias != "*") keyed_aliases.push_back(alias);
      continue;
    }
    if (rest == "aliases") {
      for (auto& a : split_list(value)) add_alias(a);
    } else if (rest == "exclude") {
      if (auto b = parse_bool(value)) exclude = *b;
      else r.errors.push_back(complaint(key, "invalid boolean", value));
    } else if (rest == "network") {
      r.network = std::string(trim(value));
    } else if (is_idle_key(rest)) {
      auto& idle = r.idle;
      idle.enabled = true;
      if (rest == "idle_timeout" || rest == "wake_timeout") {
        if (auto ms = parse_duration_ms(value))
          (rest == "idle_timeout" ? idle.idle_timeout_ms : idle.wake_timeout_ms) = *ms;
        else
          r.errors.push_back(complaint(key, "invalid duration", value));
      } else if (rest == "stop_method") {
        auto m = lower(trim(value));
        if (m == "pause" || m == "stop" || m == "kill") idle.stop_method = m;
        else r.errors.push_back(complaint(key, "invalid stop method (pause|stop|kill)", value));
      } else if (rest == "stop_signal") {
        idle.stop_signal = std::string(trim(value));
      } else if (rest == "stop_timeout") {
        auto ms = parse_duration_ms(value);
        if (ms && *ms % 1000 == 0 && *ms / 1000 <= (1 << 30)) idle.stop_timeout_s = static_cast<int>(*ms / 1000);
        else r.errors.push_back(complaint(key, "invalid whole seconds", value));
      } else if (rest == "depends_on") {
        idle.depends_on = dependency_list(value);
      } else if (rest == "start_endpoint") {
        idle.start_endpoint = std::string(trim(value));
      } else if (rest == "no_loading_page") {
        if (auto b = parse_bool(value)) idle.no_loading_page = *b;
        else r.errors.push_back(complaint(key, "invalid boolean", value));
      }
    }
  }

  // Explicit list first, in its order; then aliases only named by keys.
  for (const auto& a : keyed_aliases) add_alias(a);

  r.database = is_database(facts);
  if (exclude.value_or(false)) {
    r.excluded = true;
    r.exclude_reason = "proxy.exclude";
  } else if (r.database && !exclude.has_value()) {
    r.excluded = true;
    r.exclude_reason = "database";
  }

  if (aliases.empty() && !r.excluded) {
    std::string_view name = !r.compose.service.empty() ? std::string_view(r.compose.service)
                                                        : container_name;
    while (!name.empty() && name.front() == '/') name.remove_prefix(1);
    if (!name.empty()) aliases.emplace_back(name);
  }

  const auto& wildcard = per_alias["*"];
  std::set<std::string> reported;  // a bad wildcard value is reported once
  const int inferred = infer_port(facts);
  for (const auto& alias : aliases) {
    auto merged = wildcard;
    if (auto it = per_alias.find(alias); it != per_alias.end())
      for (const auto& [field, v] : it->second) merged[field] = v;
    Route route;
    route.alias = alias;
    route.port = inferred;
    for (const auto& [field, v] : merged) {
      const auto& [value, key] = v;
      if (field == "port") {
        if (auto p = parse_port(value)) route.port = *p;
        else if (reported.insert(key).second) r.errors.push_back(complaint(key, "invalid port", value));
      } else if (field == "scheme") {
        route.scheme = lower(trim(value));
      } else if (field == "host") {
        route.host = std::string(trim(value));
      } else {
        route.fields.emplace_back(field, value);  // already sorted (std::map)
      }
    }
    if (route.scheme.empty()) route.scheme = route.port == 443 ? "https" : "http";
    r.routes.push_back(std::move(route));
  }
  return r;
}

void write_routing(rapidjson::Writer<rapidjson::StringBuffer>& w, const Routing& r) {
  w.StartObject();
  w.Key("routes");
  w.StartArray();
  for (const auto& route : r.routes) {
    w.StartObject();
    w.Key("alias");
    put(w, route.alias);
    w.Key("scheme");
    put(w, route.scheme);
    w.Key("host");
    put(w, route.host);
    w.Key("port");
    w.Int(route.port);
    w.Key("fields");
    w.StartObject();
    for (const auto& [k, v] : route.fields) {
      w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
      put(w, v);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("excluded");
  w.Bool(r.excluded);
  if (!r.exclude_reason.empty()) {
    w.Key("exclude_reason");
    put(w, r.exclude_reason);
  }
  if (!r.network.empty()) {
    w.Key("network");
    put(w, r.network);
  }
  w.Key("idle");
  if (r.idle.enabled) {
    const auto& i = r.idle;
    w.StartObject();
    w.Key("idle_timeout_ms");
    w.Int64(i.idle_timeout_ms);
    w.Key("wake_timeout_ms");
    w.Int64(i.wake_timeout_ms);
    w.Key("stop_method");
    put(w, i.stop_method);
    w.Key("stop_signal");
    put(w, i.stop_signal);
    w.Key("stop_timeout_s");
    if (i.stop_timeout_s >= 0) w.Int(i.stop_timeout_s);
    else w.Null();
    w.Key("depends_on");
    put_list(w, i.depends_on);
    w.Key("start_endpoint");
    put(w, i.start_endpoint);
    w.Key("no_loading_page");
    w.Bool(i.no_loading_page);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("compose");
  const auto& c = r.compose;
  if (!c.project.empty() || !c.service.empty() || !c.config_files.empty() ||
      !c.working_dir.empty() || !c.depends_on.empty() || c.container_number != 0) {
    w.StartObject();
    w.Key("project");
    put(w, c.project);
    w.Key("service");
    put(w, c.service);
    w.Key("config_files");
    put(w, c.config_files);
    w.Key("working_dir");
    put(w, c.working_dir);
    w.Key("depends_on");
    put_list(w, c.depends_on);
    w.Key("container_number");
    w.Int(c.container_number);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("database");
  w.Bool(r.database);
  w.Key("errors");
  put_list(w, r.errors);
  w.EndObject();
}

}  // inline namespace routing_v1
}  // namespace berth::labels
