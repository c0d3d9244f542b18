#include "labels/labels.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>

namespace berth::labels {
namespace {

constexpr std::string_view kProxy = "proxy.";
constexpr std::string_view kCompose = "com.docker.compose.";

// The blacklist of seed 004: containers holding a database's data or
// serving its port are never routed.
constexpr std::array<std::string_view, 6> kDatabaseMounts = {
    "/var/lib/postgresql/data", "/var/lib/mysql", "/var/lib/mongodb",
    "/var/lib/mariadb", "/var/lib/memcached", "/var/lib/rabbitmq"};
constexpr std::array<int, 5> kDatabasePorts = {5432, 3306, 6379, 11211, 27017};
// Ports a web route most likely means, when a container exposes several.
constexpr std::array<int, 5> kWebPorts = {80, 8080, 443, 3000, 8000};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == s.npos) comma = s.size();
    if (auto item = trim(s.substr(start, comma - start)); !item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string v = trim(s);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

// The whole of `s` as a non-negative integer; nothing on overflow or junk.
template <class T>
std::optional<T> whole_number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 0) return std::nullopt;
  return v;
}

std::optional<int> parse_port(std::string_view s) {
  auto p = whole_number<int>(trim(s));
  return p && *p >= 1 && *p <= 65535 ? p : std::nullopt;
}

std::string quoted(std::string_view key, std::string_view value, std::string_view what) {
  return std::string(key) + ": " + std::string(what) + " \"" + std::string(value) + "\"";
}

// Where a route reaches the container from this host, and on which port.
void infer_target(Route& r, const Facts& f, const std::string& network) {
  const Facts::Port* best = nullptr;
  for (const auto& p : f.ports) {
    if (r.port && p.private_port != r.port) continue;
    auto rank = [](const Facts::Port& x) {
      auto it = std::find(kWebPorts.begin(), kWebPorts.end(), x.private_port);
      return std::make_pair(it == kWebPorts.end() ? 1 : 0, x.private_port);
    };
    if (!best || rank(p) < rank(*best)) best = &p;
  }
  std::string ip;
  for (const auto& [name, addr] : f.networks)
    if (!addr.empty() && (network.empty() || name == network)) {
      ip = addr;
      break;
    }
  if (best && best->public_port && (ip.empty() || r.host.empty())) {
    // Published: reach it through the host's port.
    if (r.host.empty()) r.host = best->ip.empty() || best->ip == "0.0.0.0" || best->ip == "::" ? "127.0.0.1" : best->ip;
    if (!r.port || r.port == best->private_port) r.port = best->public_port;
    return;
  }
  if (!r.port && best) r.port = best->private_port;
  if (r.host.empty()) r.host = ip.empty() ? "127.0.0.1" : ip;  // host network, or a process
}

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  const std::string s = trim(text);
  if (s.empty()) return std::nullopt;
  // A bare number is seconds.
  if (auto secs = whole_number<int64_t>(s)) {
    if (*secs > kMaxDurationMs / 1000) return std::nullopt;
    return *secs * 1000;
  }
  // Go-style units: "1h30m", "2.5s", "250ms". Numbers are read without any
  // throwing or locale-dependent conversion; every bad form is nullopt.
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    double n = 0;
    auto [end, ec] = std::from_chars(s.data() + start, s.data() + i, n, std::chars_format::fixed);
    if (start == i || ec != std::errc() || end != s.data() + i) return std::nullopt;
    const size_t unit_start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    const std::string_view unit(s.data() + unit_start, i - unit_start);
    double scale;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60000;
    else if (unit == "h") scale = 3600000;
    else return std::nullopt;
    total += n * scale;
    if (!(total <= static_cast<double>(kMaxDurationMs))) return std::nullopt;
  }
  return static_cast<int64_t>(total);
}

Facts facts_of(const sdk::Container& c) {
  Facts f;
  f.name = c.name;
  f.image = c.image;
  if (c.details_json.empty()) return f;
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(c.details_json.c_str(), c.details_json.size());
  if (d.HasParseError() || !d.IsObject()) return f;
  auto integer = [](const rapidjson::Value& o, const char* k) {
    auto it = o.FindMember(k);
    return it != o.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : 0;
  };  // a port of the wrong type is 0: unknown
  auto string = [](const rapidjson::Value& o, const char* k) {
    auto it = o.FindMember(k);
    return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString()) : std::string();
  };
  if (auto it = d.FindMember("ports"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& p : it->value.GetArray())
      if (p.IsObject()) f.ports.push_back({integer(p, "private"), integer(p, "public"), string(p, "ip")});
  if (auto it = d.FindMember("mounts"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& m : it->value.GetArray())
      if (m.IsObject()) f.mount_destinations.push_back(string(m, "destination"));
  if (auto it = d.FindMember("networks"); it != d.MemberEnd() && it->value.IsArray())
    for (const auto& n : it->value.GetArray())
      if (n.IsObject()) f.networks.emplace_back(string(n, "name"), string(n, "ip"));
  return f;
}

Routing parse(const sdk::Labels& labels, const Facts& facts) {
  Routing r;
  std::vector<std::string> aliases;
  auto add_alias = [&](const std::string& a) {
    if (std::find(aliases.begin(), aliases.end(), a) == aliases.end()) aliases.push_back(a);
  };
  std::map<std::string, std::string> wildcard;                        // field → value
  std::map<std::string, std::map<std::string, std::string>> specific;  // alias → field → value
  std::optional<bool> exclude;

  std::vector<std::string> wake_groups;
  auto add_group = [&](const std::string& g) {
    if (!g.empty() && std::find(wake_groups.begin(), wake_groups.end(), g) == wake_groups.end())
      wake_groups.push_back(g);
  };
  for (const auto& [key, value] : labels) {
    std::string_view k = key;
    if (k == "sablier.enable") {
      r.wake.enabled = r.wake.enabled || value == "true";  // exactly "true", as Sablier reads it
      continue;
    }
    if (k == "sablier.group") {
      for (const auto& g : split_list(value)) add_group(g);
      continue;
    }
    if (k == "pve.tag.sablier") {
      r.wake.enabled = true;
      continue;
    }
    if (k.substr(0, 22) == "pve.tag.sablier-group-") {
      add_group(std::string(k.substr(22)));
      continue;
    }
    if (k.substr(0, kCompose.size()) == kCompose) {
      const auto field = k.substr(kCompose.size());
      r.compose.any = true;
      if (field == "project") r.compose.project = value;
      else if (field == "service") r.compose.service = value;
      else if (field == "project.config_files") r.compose.config_files = value;
      else if (field == "project.working_dir") r.compose.working_dir = value;
      else if (field == "depends_on")
        for (const auto& dep : split_list(value))  // "db:service_started:false"
          r.compose.depends_on.push_back(dep.substr(0, dep.find(':')));
      continue;
    }
    if (k.substr(0, kProxy.size()) != kProxy) continue;
    const auto rest = k.substr(kProxy.size());
    if (rest == "aliases") {
      for (const auto& a : split_list(value)) add_alias(a);
    } else if (rest == "exclude") {
      if (auto b = parse_bool(value)) exclude = *b;
      else r.errors.push_back(quoted(key, value, "invalid boolean"));
    } else if (rest == "network") {
      r.network = trim(value);
    } else if (rest == "idle_timeout" || rest == "wake_timeout") {
      r.idle.any = true;
      if (auto d = parse_duration_ms(value)) (rest == "idle_timeout" ? r.idle.idle_timeout_ms : r.idle.wake_timeout_ms) = *d;
      else r.errors.push_back(quoted(key, value, "invalid duration"));
    } else if (rest == "stop_method") {
      r.idle.any = true;
      std::string m = trim(value);
      using protocol::Op;
      if (const auto op = protocol::op_from_name(m); op == Op::pause || op == Op::stop || op == Op::kill)
        r.idle.stop_method = m;
      else r.errors.push_back(quoted(key, value, "not one of pause, stop, kill:"));
    } else if (rest == "stop_signal") {
      r.idle.any = true;
      r.idle.stop_signal = trim(value);
    } else if (rest == "stop_timeout") {
      r.idle.any = true;
      auto d = parse_duration_ms(value);
      if (d && *d % 1000 == 0) r.idle.stop_timeout_s = static_cast<int>(*d / 1000);
      else r.errors.push_back(quoted(key, value, "invalid timeout"));
    } else if (rest == "depends_on") {
      r.idle.any = true;
      r.idle.depends_on = split_list(value);
    } else if (rest == "start_endpoint") {
      r.idle.any = true;
      r.idle.start_endpoint = trim(value);
    } else if (rest == "no_loading_page") {
      r.idle.any = true;
      if (auto b = parse_bool(value)) r.idle.no_loading_page = *b;
      else r.errors.push_back(quoted(key, value, "invalid boolean"));
    } else if (auto dot = rest.find('.'); dot != rest.npos && dot > 0) {
      const std::string alias(rest.substr(0, dot));
      const std::string field(rest.substr(dot + 1));
      if (alias == "*") {
        wildcard[field] = value;
      } else {
        add_alias(alias);
        specific[alias][field] = value;
      }
    }
  }

  if (r.wake.enabled) r.wake.groups = wake_groups.empty() ? std::vector<std::string>{"default"} : wake_groups;

  for (const auto& dest : facts.mount_destinations)
    if (std::find(kDatabaseMounts.begin(), kDatabaseMounts.end(), dest) != kDatabaseMounts.end()) r.database = true;
  for (const auto& p : facts.ports)
    if (std::find(kDatabasePorts.begin(), kDatabasePorts.end(), p.private_port) != kDatabasePorts.end()) r.database = true;
  if (exclude.value_or(false)) {
    r.excluded = true;
    r.exclude_reason = "label";
  } else if (r.database && !exclude.has_value()) {
    r.excluded = true;  // an explicit proxy.exclude=false routes it anyway
    r.exclude_reason = "database";
  }
  if (r.excluded) return r;

  if (aliases.empty()) add_alias(!r.compose.service.empty() ? r.compose.service : facts.name);
  for (const auto& alias : aliases) {
    if (alias.empty()) continue;
    Route route;
    route.alias = alias;
    std::map<std::string, std::string> fields = wildcard;
    for (const auto& [f, v] : specific[alias]) fields[f] = v;  // the alias wins over *
    bool scheme_set = false;
    for (const auto& [f, v] : fields) {
      const std::string label = "proxy." + alias + "." + f;
      if (f == "port") {
        if (auto p = parse_port(v)) route.port = *p;
        else r.errors.push_back(quoted(label, v, "invalid port"));
      } else if (f == "scheme") {
        route.scheme = trim(v);
        scheme_set = true;
      } else if (f == "host") {
        route.host = trim(v);
      } else {
        route.fields.emplace_back(f, v);
      }
    }
    infer_target(route, facts, r.network);
    if (!scheme_set && route.port == 443) route.scheme = "https";
    r.routes.push_back(std::move(route));
  }
  return r;
}

namespace {
void write_str(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}
void write_list(Writer& w, const char* key, const std::vector<std::string>& v) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}
}  // namespace

void write(Writer& w, const Routing& r) {
  w.StartObject();
  w.Key("routes");
  w.StartArray();
  for (const auto& route : r.routes) {
    w.StartObject();
    write_str(w, "alias", route.alias);
    write_str(w, "scheme", route.scheme);
    write_str(w, "host", route.host);
    w.Key("port");
    w.Int(route.port);
    w.Key("fields");
    w.StartObject();
    for (const auto& [k, v] : route.fields) write_str(w, k.c_str(), v);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("excluded");
  w.Bool(r.excluded);
  if (r.excluded) write_str(w, "exclude_reason", r.exclude_reason);
  w.Key("database");
  w.Bool(r.database);
  if (!r.network.empty()) write_str(w, "network", r.network);
  w.Key("idle");
  if (!r.idle.any) {
    w.Null();
  } else {
    w.StartObject();
    auto opt_ms = [&](const char* k, const std::optional<int64_t>& v) {
      w.Key(k);
      if (v) w.Int64(*v);
      else w.Null();
    };
    opt_ms("idle_timeout_ms", r.idle.idle_timeout_ms);
    opt_ms("wake_timeout_ms", r.idle.wake_timeout_ms);
    write_str(w, "stop_method", r.idle.stop_method.empty() ? std::string(protocol::op_name(protocol::Op::stop)) : r.idle.stop_method);
    if (!r.idle.stop_signal.empty()) write_str(w, "stop_signal", r.idle.stop_signal);
    w.Key("stop_timeout_s");
    if (r.idle.stop_timeout_s) w.Int(*r.idle.stop_timeout_s);
    else w.Null();
    write_list(w, "depends_on", r.idle.depends_on);
    if (!r.idle.start_endpoint.empty()) write_str(w, "start_endpoint", r.idle.start_endpoint);
    w.Key("no_loading_page");
    w.Bool(r.idle.no_loading_page);
    w.EndObject();
  }
  w.Key("compose");
  if (!r.compose.any) {
    w.Null();
  } else {
    w.StartObject();
    write_str(w, "project", r.compose.project);
    write_str(w, "service", r.compose.service);
    if (!r.compose.config_files.empty()) write_str(w, "config_files", r.compose.config_files);
    if (!r.compose.working_dir.empty()) write_str(w, "working_dir", r.compose.working_dir);
    write_list(w, "depends_on", r.compose.depends_on);
    w.EndObject();
  }
  w.Key("wake");
  if (!r.wake.enabled) {
    w.Null();
  } else {
    w.StartObject();
    w.Key("enabled");
    w.Bool(true);
    write_list(w, "groups", r.wake.groups);
    w.EndObject();
  }
  write_list(w, "errors", r.errors);
  w.EndObject();
}

}  // namespace berth::labels
