#include "sim_config.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <rapidjson/document.h>

#include <map>

namespace berth::sim {
namespace {

using rapidjson::Value;

[[noreturn]] void bad(const std::string& key, const std::string& what) {
  throw sdk::Error(BERTH_E_INVALID_ARGUMENT, "sim config: " + key + ": " + what);
}

std::string string_at(const Value& v, const std::string& key) {
  if (!v.IsString()) bad(key, "expected a string");
  return v.GetString();
}

berth_state state_from(const std::string& s, const std::string& key) {
  if (s == "running") return BERTH_STATE_RUNNING;
  if (s == "stopped") return BERTH_STATE_STOPPED;
  if (s == "paused") return BERTH_STATE_PAUSED;
  bad(key, "expected running, stopped or paused");
}

ContainerSpec container_from(const Value& v, const std::string& key) {
  if (!v.IsObject()) bad(key, "expected an object");
  ContainerSpec c;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string name = it->name.GetString(), sub = key + "." + name;
    const Value& x = it->value;
    if (name == "id") c.id = string_at(x, sub);
    else if (name == "name") c.name = string_at(x, sub);
    else if (name == "image") c.image = string_at(x, sub);
    else if (name == "state") c.state = state_from(string_at(x, sub), sub);
    else if (name == "exit_code") {
      if (!x.IsInt()) bad(sub, "expected an integer");
      c.exit_code = x.GetInt();
    } else if (name == "stop_behaviour") {
      const std::string b = string_at(x, sub);
      if (b == "graceful") c.stop = StopBehaviour::graceful;
      else if (b == "ignores_sigterm") c.stop = StopBehaviour::ignores_sigterm;
      else bad(sub, "expected graceful or ignores_sigterm");
    } else if (name == "labels") {
      if (!x.IsObject()) bad(sub, "expected an object of strings");
      for (auto l = x.MemberBegin(); l != x.MemberEnd(); ++l)
        c.labels.emplace_back(l->name.GetString(), string_at(l->value, sub + "." + l->name.GetString()));
    } else if (name == "copies") {
      if (!x.IsInt() || x.GetInt() < 1 || x.GetInt() > 1000000) bad(sub, "expected 1 to 1000000");
      c.copies = x.GetInt();
    } else if (name == "details") {
      if (!x.IsObject()) bad(sub, "expected an object (ports, networks, mounts, ...)");
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      x.Accept(w);
      c.details_json.assign(buf.GetString(), buf.GetSize());
    } else {
      bad(sub, "unknown key");
    }
  }
  if (c.name.empty()) bad(key + ".name", "required");
  if (c.id.empty()) c.id = "sim-" + c.name;
  return c;
}

GeneratorSpec generator_from(const Value& v) {
  if (!v.IsObject()) bad("generator", "expected an object");
  GeneratorSpec g;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string name = it->name.GetString(), sub = "generator." + name;
    const Value& x = it->value;
    if (name == "count" && x.IsUint64()) g.count = x.GetUint64();
    else if (name == "rate" && x.IsNumber() && x.GetDouble() >= 0) g.rate = x.GetDouble();
    else if (name == "containers" && x.IsInt() && x.GetInt() > 0) g.containers = x.GetInt();
    else if (name == "delay_ms" && x.IsInt64() && x.GetInt64() >= 0) g.delay_ms = x.GetInt64();
    else if (name == "count" || name == "rate" || name == "containers" || name == "delay_ms")
      bad(sub, "expected a non-negative number");
    else bad(sub, "unknown key");
  }
  return g;
}

uint64_t capability_named(const std::string& op, const std::string& key) {
  static const std::map<std::string, uint64_t> caps = {
      {"list", BERTH_CAP_LIST},     {"inspect", BERTH_CAP_INSPECT}, {"status", BERTH_CAP_STATUS},
      {"start", BERTH_CAP_START},   {"stop", BERTH_CAP_STOP},       {"kill", BERTH_CAP_KILL},
      {"pause", BERTH_CAP_PAUSE},   {"unpause", BERTH_CAP_UNPAUSE}, {"restart", BERTH_CAP_RESTART},
      {"watch", BERTH_CAP_WATCH},   {"create", BERTH_CAP_CREATE},   {"remove", BERTH_CAP_REMOVE},
  };
  auto it = caps.find(op);
  if (it == caps.end()) bad(key, "unknown op \"" + op + "\"");
  return it->second;
}

// Used when the config names no containers: something to look at.
std::vector<ContainerSpec> demo_containers() {
  return {
      {"5e1f0c0a11ce", "web", "nginx:1.25", BERTH_STATE_RUNNING,
       {{"proxy.aliases", "web"}, {"proxy.web.port", "8080"}}, StopBehaviour::graceful, 0, ""},
      {"5e1f0c0db0b0", "db", "postgres:16", BERTH_STATE_RUNNING,
       {{"com.docker.compose.project", "shop"}, {"com.docker.compose.service", "db"}},
       StopBehaviour::graceful, 0,
       // A database: the core's blacklist keeps it out of routing.
       R"({"ports":[{"private":5432,"proto":"tcp"}],)"
       R"("mounts":[{"type":"volume","source":"pgdata","destination":"/var/lib/postgresql/data"}]})"},
      {"5e1f0c0ca7ed", "batch", "busybox", BERTH_STATE_STOPPED, {}, StopBehaviour::graceful, 0, ""},
  };
}

}  // namespace

Config parse_config(const std::string& json) {
  rapidjson::Document doc;
  if (doc.Parse<rapidjson::kParseIterativeFlag>(json.c_str()).HasParseError() || !doc.IsObject())
    bad("(config)", "not a JSON object");
  Config c;
  bool has_containers = false;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string name = it->name.GetString();
    const Value& x = it->value;
    if (name == "containers") {
      if (!x.IsArray()) bad(name, "expected an array");
      has_containers = true;
      for (rapidjson::SizeType i = 0; i < x.Size(); ++i)
        c.containers.push_back(container_from(x[i], "containers[" + std::to_string(i) + "]"));
    } else if (name == "generator") {
      c.generator = generator_from(x);
    } else if (name == "disable") {
      if (!x.IsArray()) bad(name, "expected an array of op names");
      for (rapidjson::SizeType i = 0; i < x.Size(); ++i)
        c.disabled |= capability_named(string_at(x[i], "disable"), "disable");
    } else if (name == "op_latency_ms") {
      if (!x.IsInt64() || x.GetInt64() < 0) bad(name, "expected a non-negative integer");
      c.op_latency_ms = x.GetInt64();
    } else if (name == "images" || name == "networks") {
      if (!x.IsArray()) bad(name, "expected an array of names");
      auto& out = name == "images" ? c.images : c.networks;
      out.clear();
      for (rapidjson::SizeType i = 0; i < x.Size(); ++i) out.push_back(string_at(x[i], name));
    } else if (name == "fail_watch") {
      if (!x.IsInt() || x.GetInt() < 0) bad(name, "expected a non-negative integer");
      c.fail_watch = x.GetInt();
    } else {
      bad(name, "unknown key");
    }
  }
  if (!has_containers) c.containers = demo_containers();
  return c;
}

}  // namespace berth::sim
