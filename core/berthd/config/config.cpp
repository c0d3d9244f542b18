#include "config/config.hpp"

#include "common/json_depth.hpp"
#include "common/logging.hpp"
#include "config/plugin_dir.hpp"

#include <berth/protocol.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

namespace berth {
namespace {

using rapidjson::Value;

Status key_error(const std::string& key, std::string_view what) {
  return {Code::invalid_argument, fmt::format("config: {}: {}", key, what)};
}

constexpr int kMaxConfigDepth = 32;

std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

Status read_string(const Value& v, const std::string& key, std::string& out) {
  if (!v.IsString()) return key_error(key, "expected a string");
  out.assign(v.GetString(), v.GetStringLength());
  return {};
}

Status read_positive(const Value& v, const std::string& key, int& out) {
  if (!v.IsInt() || v.GetInt() <= 0) return key_error(key, "expected a positive integer");
  out = v.GetInt();
  return {};
}

std::string to_json(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

Status read_provider(const Value& v, const std::string& key, ProviderConfig& p) {
  if (!v.IsObject()) return key_error(key, "expected an object");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string name = it->name.GetString();
    const std::string sub = key + "." + name;
    Status st;
    if (name == "name") st = read_string(it->value, sub, p.name);
    else if (name == "plugin") st = read_string(it->value, sub, p.plugin);
    else if (name == "config") {
      if (!it->value.IsObject()) return key_error(sub, "expected an object");
      p.config_json = to_json(it->value);
    } else if (name == "required") {
      if (!it->value.IsBool()) return key_error(sub, "expected true or false");
      p.required = it->value.GetBool();
    } else if (name == "poll_interval_ms") st = read_positive(it->value, sub, p.poll_interval_ms);
    else if (name == "max_calls") st = read_positive(it->value, sub, p.max_calls);
    else return key_error(sub, "unknown key");
    if (!st) return st;
  }
  if (p.plugin.empty()) return key_error(key + ".plugin", "required");
  if (p.name.empty()) p.name = std::filesystem::path(p.plugin).stem().string();
  // Names are topic segments: no '/', so a prefix subscription selects one.
  const bool valid = std::all_of(p.name.begin(), p.name.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
  });
  if (!valid) return key_error(key + ".name", "use letters, digits, '_', '-' or '.'");
  if (p.config_json.empty()) p.config_json = "{}";
  return {};
}

Status read_curve(const Value& v, CurveConfig& c) {
  if (!v.IsObject()) return key_error("curve", "expected an object");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string name = it->name.GetString();
    if (name == "server_key_file") {
      if (auto st = read_string(it->value, "curve.server_key_file", c.server_key_file); !st) return st;
    } else if (name == "clients") {
      if (!it->value.IsArray()) return key_error("curve.clients", "expected an array");
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        const std::string key = fmt::format("curve.clients[{}]", i);
        const Value& x = it->value[i];
        if (!x.IsObject()) return key_error(key, "expected an object");
        AllowedKey client{"", Role::subscriber, ""};
        std::string key_file, role;
        for (auto m = x.MemberBegin(); m != x.MemberEnd(); ++m) {
          const std::string f = m->name.GetString();
          Status st;
          if (f == "key") st = read_string(m->value, key + ".key", client.public_key);
          else if (f == "key_file") st = read_string(m->value, key + ".key_file", key_file);
          else if (f == "role") st = read_string(m->value, key + ".role", role);
          else if (f == "name") st = read_string(m->value, key + ".name", client.name);
          else return key_error(key + "." + f, "unknown key");
          if (!st) return st;
        }
        if (!key_file.empty()) {
          auto keys = read_key_file(key_file, false);
          if (!keys) return key_error(key + ".key_file", keys.error().message());
          client.public_key = keys->public_key;
        }
        if (!is_z85_key(client.public_key))
          return key_error(key + ".key", "expected a 40-character Z85 public key (or key_file)");
        auto parsed_role = role_from_name(role);
        if (!parsed_role) return key_error(key + ".role", "expected subscriber, reader or operator");
        client.role = *parsed_role;
        if (client.name.empty()) client.name = client.public_key.substr(0, 8);
        c.clients.push_back(std::move(client));
      }
    } else {
      return key_error("curve." + name, "unknown key");
    }
  }
  if (c.server_key_file.empty()) return key_error("curve.server_key_file", "required");
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag | rapidjson::kParseIterativeFlag>(
      json.data(), json.size());
  if (doc.HasParseError()) {
    auto [line, col] = line_column(json, doc.GetErrorOffset());
    return Status(Code::invalid_argument,
                  fmt::format("config: line {}, column {}: {}", line, col,
                              rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return Status(key_error("(top level)", "expected an object"));
  // A provider's config is written out again for its plugin (recursively):
  // bound the nesting, as no real config comes near.
  if (json_nesting_depth(json, true) > kMaxConfigDepth)
    return Status(key_error("(top level)", fmt::format("nested deeper than {} levels", kMaxConfigDepth)));

  Config c = default_config();
  const std::pair<const char*, int Config::*> ints[] = {
      {"heartbeat_ms", &Config::heartbeat_ms},
      {"queue_capacity", &Config::queue_capacity},
      {"pub_hwm", &Config::pub_hwm},
      {"workers", &Config::workers},
      {"max_pending", &Config::max_pending},
      {"default_timeout_ms", &Config::default_timeout_ms},
      {"stop_grace_ms", &Config::stop_grace_ms},
      {"shutdown_timeout_ms", &Config::shutdown_timeout_ms},
  };
  const std::pair<const char*, std::string Config::*> strings[] = {
      {"runtime_dir", &Config::runtime_dir},
      {"events_endpoint", &Config::events_endpoint},
      {"commands_endpoint", &Config::commands_endpoint},
      {"log_level", &Config::log_level},
      {"log_format", &Config::log_format},
      {"metrics_listen", &Config::metrics_listen},
      {"daemon_name", &Config::daemon_name},
  };
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key = it->name.GetString();
    const Value& v = it->value;
    Status st;
    bool known = false;
    for (auto [name, field] : ints)
      if (key == name) known = true, st = read_positive(v, key, c.*field);
    for (auto [name, field] : strings)
      if (key == name) known = true, st = read_string(v, key, c.*field);
    if (key == "curve") {
      known = true;
      st = read_curve(v, c.curve);
    } else if (key == "insecure") {
      known = true;
      if (!v.IsBool()) return Status(key_error(key, "expected true or false"));
      c.insecure = v.GetBool();
    } else if (key == "plugin_dirs") {
      known = true;
      if (!v.IsArray()) return Status(key_error(key, "expected an array of strings"));
      for (size_t i = 0; i < v.Size() && st; ++i) {
        std::string dir;
        st = read_string(v[i], fmt::format("plugin_dirs[{}]", i), dir);
        c.plugin_dirs.push_back(dir);
      }
    } else if (key == "providers") {
      known = true;
      if (!v.IsArray()) return Status(key_error(key, "expected an array of objects"));
      std::set<std::string> names;
      for (size_t i = 0; i < v.Size() && st; ++i) {
        ProviderConfig p;
        const std::string sub = fmt::format("providers[{}]", i);
        st = read_provider(v[i], sub, p);
        if (st && !names.insert(p.name).second)
          st = key_error(sub + ".name", fmt::format("duplicate instance name \"{}\"", p.name));
        c.providers.push_back(std::move(p));
      }
    }
    if (!known) return Status(key_error(key, "unknown key"));
    if (!st) return st;
  }
  if (!known_log_level(c.log_level)) return Status(key_error("log_level", fmt::format("expected {}", kLogLevelsText)));
  if (!known_log_format(c.log_format)) return Status(key_error("log_format", fmt::format("expected {}", kLogFormatsText)));
  const bool valid_name = std::all_of(c.daemon_name.begin(), c.daemon_name.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
  });
  if (!valid_name) return Status(key_error("daemon_name", "use letters, digits, '_', '-' or '.'"));
  return c;
}

Result<Config> load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status(Code::invalid_argument, fmt::format("config: cannot read {}", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = parse_config(ss.str());
  if (!c) return Status(c.error().code(), path.string() + ": " + c.error().message());
  return c;
}

Config default_config() { return Config{}; }

void complete_defaults(Config& c, const std::filesystem::path& exe_dir) {
  if (c.daemon_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    for (char* p = host; *p; ++p)
      if (!std::isalnum(static_cast<unsigned char>(*p)) && *p != '-' && *p != '.') *p = '_';
    c.daemon_name = *host ? host : "berthd";
  }
  if (c.runtime_dir.empty()) c.runtime_dir = protocol::default_runtime_dir();
  if (c.events_endpoint.empty()) c.events_endpoint = "ipc://" + c.runtime_dir + "/events.sock";
  if (c.commands_endpoint.empty())
    c.commands_endpoint = "ipc://" + c.runtime_dir + "/commands.sock";
  if (c.plugin_dirs.empty()) {
    if (const char* d = std::getenv("BERTH_PLUGIN_DIR"); d && *d) c.plugin_dirs.push_back(d);
    // Build tree (bin/berthd beside plugins/), then the install layout.
    c.plugin_dirs.push_back((exe_dir / "../plugins").lexically_normal().string());
    c.plugin_dirs.push_back((exe_dir / BERTH_PLUGIN_DIR_FROM_BIN).lexically_normal().string());
  }
}

}  // namespace berth
