#include "commands/create_spec.hpp"

#include "commands/request.hpp"

#include <fmt/format.h>

#include <cmath>

namespace berth {
namespace {

using Value = rapidjson::Value;

Status invalid_spec(std::string_view field, std::string_view what) {
  return {Code::invalid_argument, fmt::format("\"spec.{}\": {}", field, what)};
}

// A string without NUL (JSON may spell one as \u0000; C would cut there).
bool plain_string(const Value& v) {
  return v.IsString() && std::string_view(v.GetString(), v.GetStringLength()).find('\0') == std::string_view::npos;
}

Status read_string(const Value& spec, const char* field, std::string& out, size_t max) {
  auto it = spec.FindMember(field);
  if (it == spec.MemberEnd() || it->value.IsNull()) return {};
  if (!plain_string(it->value) || it->value.GetStringLength() == 0 || it->value.GetStringLength() > max)
    return invalid_spec(field, fmt::format("must be a non-empty string of at most {} bytes", max));
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return {};
}

Status read_strings(const Value& spec, const char* field, std::vector<std::string>& out, size_t max_items) {
  auto it = spec.FindMember(field);
  if (it == spec.MemberEnd() || it->value.IsNull()) return {};
  if (!it->value.IsArray() || it->value.Size() > max_items)
    return invalid_spec(field, fmt::format("must be an array of at most {} strings", max_items));
  for (const auto& v : it->value.GetArray()) {
    if (!plain_string(v) || v.GetStringLength() > BERTH_MAX_LABEL_VALUE)
      return invalid_spec(field, fmt::format("must be an array of strings of at most {} bytes", BERTH_MAX_LABEL_VALUE));
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return {};
}

// {"KEY": "value", ...}; keys non-empty, without '=' when `env`.
Status read_map(const Value& spec, const char* field, sdk::Labels& out, bool env) {
  auto it = spec.FindMember(field);
  if (it == spec.MemberEnd() || it->value.IsNull()) return {};
  if (!it->value.IsObject() || it->value.MemberCount() > kMaxSpecItems)
    return invalid_spec(field, fmt::format("must be an object of at most {} strings", kMaxSpecItems));
  for (const auto& m : it->value.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key.empty() || key.size() > BERTH_MAX_LABEL_KEY || key.find('\0') != key.npos ||
        (env && key.find('=') != key.npos))
      return invalid_spec(field, fmt::format("a key must be 1 to {} bytes{}", BERTH_MAX_LABEL_KEY, env ? " without '='" : ""));
    if (!plain_string(m.value) || m.value.GetStringLength() > BERTH_MAX_LABEL_VALUE)
      return invalid_spec(field, fmt::format("\"{}\" must be a string of at most {} bytes", key.substr(0, 64),
                                        BERTH_MAX_LABEL_VALUE));
    out.emplace_back(std::string(key), std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  return {};
}

Status read_count(const Value& spec, const char* field, int64_t& out, int64_t max) {
  auto it = spec.FindMember(field);
  if (it == spec.MemberEnd() || it->value.IsNull()) return {};
  if (!it->value.IsInt64() || it->value.GetInt64() < 0 || it->value.GetInt64() > max)
    return invalid_spec(field, fmt::format("must be an integer from 0 to {}", max));
  out = it->value.GetInt64();
  return {};
}

bool absolute_path(const Value& v) {
  return plain_string(v) && v.GetStringLength() > 0 && v.GetStringLength() <= 4096 && v.GetString()[0] == '/';
}

Status read_mounts(const Value& spec, std::vector<sdk::Mount>& out) {
  auto it = spec.FindMember("mounts");
  if (it == spec.MemberEnd() || it->value.IsNull()) return {};
  if (!it->value.IsArray() || it->value.Size() > kMaxSpecMounts)
    return invalid_spec("mounts", fmt::format("must be an array of at most {} mounts", kMaxSpecMounts));
  for (const auto& m : it->value.GetArray()) {
    if (!m.IsObject()) return invalid_spec("mounts", "each mount is an object {\"source\",\"destination\",\"read_only\"}");
    auto src = m.FindMember("source"), dst = m.FindMember("destination"), ro = m.FindMember("read_only");
    if (src == m.MemberEnd() || dst == m.MemberEnd() || !absolute_path(src->value) || !absolute_path(dst->value))
      return invalid_spec("mounts", "\"source\" and \"destination\" must be absolute paths");
    if (ro != m.MemberEnd() && !ro->value.IsBool()) return invalid_spec("mounts", "\"read_only\" must be true or false");
    out.push_back({src->value.GetString(), dst->value.GetString(), ro != m.MemberEnd() && ro->value.GetBool()});
  }
  return {};
}

Status read_ulimits(const Value& spec, std::vector<sdk::Ulimit>& out) {
  auto it = spec.FindMember("ulimits");
  if (it == spec.MemberEnd() || it->value.IsNull()) return {};
  if (!it->value.IsObject() || it->value.MemberCount() > kMaxSpecUlimits)
    return invalid_spec("ulimits", fmt::format("must be an object of at most {} limits", kMaxSpecUlimits));
  for (const auto& m : it->value.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const bool word = !name.empty() && name.size() <= 32 &&
                      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == name.npos;
    auto soft = m.value.IsObject() ? m.value.FindMember("soft") : Value::ConstMemberIterator();
    auto hard = m.value.IsObject() ? m.value.FindMember("hard") : Value::ConstMemberIterator();
    if (!word || !m.value.IsObject() || soft == m.value.MemberEnd() || hard == m.value.MemberEnd() ||
        !soft->value.IsInt64() || !hard->value.IsInt64() || soft->value.GetInt64() < 0 ||
        soft->value.GetInt64() > hard->value.GetInt64())
      return invalid_spec("ulimits", "each is \"name\": {\"soft\": N, \"hard\": M} with 0 <= N <= M, name in a-z");
    out.push_back({std::string(name), soft->value.GetInt64(), hard->value.GetInt64()});
  }
  return {};
}

}  // namespace

Result<sdk::CreateSpec> parse_create_spec(const Value& spec) {
  if (!spec.IsObject()) return Status(Code::invalid_argument, "\"spec\": must be an object");
  sdk::CreateSpec s;
  auto image = spec.FindMember("image");
  if (image == spec.MemberEnd() || image->value.IsNull())
    return Status(Code::missing_field, "\"spec.image\": required");
  if (auto st = read_string(spec, "image", s.image, BERTH_MAX_TEXT); !st) return st;
  // Which names are valid is the engine's to say (each plugin checks its
  // own grammar): here only the ABI's bounds.
  if (auto st = read_string(spec, "name", s.name, BERTH_MAX_ID); !st) return st;
  if (auto st = read_strings(spec, "command", s.command, kMaxSpecItems); !st) return st;
  if (auto st = read_map(spec, "env", s.env, true); !st) return st;
  if (auto st = read_map(spec, "labels", s.labels, false); !st) return st;
  if (s.labels.size() > BERTH_MAX_LABELS) return invalid_spec("labels", "too many");
  if (auto st = read_mounts(spec, s.mounts); !st) return st;
  if (auto st = read_string(spec, "network", s.network, BERTH_MAX_ID); !st) return st;
  if (auto st = read_strings(spec, "aliases", s.network_aliases, kMaxSpecAliases); !st) return st;
  if (!s.network_aliases.empty() && s.network.empty()) return invalid_spec("aliases", "need \"network\"");
  if (auto st = read_count(spec, "memory", s.memory_bytes, int64_t{1} << 50); !st) return st;
  if (auto st = read_count(spec, "pids_limit", s.pids_limit, int64_t{1} << 22); !st) return st;
  if (auto it = spec.FindMember("cpus"); it != spec.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsNumber() || !std::isfinite(it->value.GetDouble()) || it->value.GetDouble() < 0 ||
        it->value.GetDouble() > 4096)
      return invalid_spec("cpus", "must be a number from 0 to 4096 (0.5 = half a CPU)");
    s.nano_cpus = std::llround(it->value.GetDouble() * 1e9);
  }
  if (auto st = read_string(spec, "log_driver", s.log_driver, 64); !st) return st;
  if (auto st = read_map(spec, "log_options", s.log_options, false); !st) return st;
  if (!s.log_options.empty() && s.log_driver.empty()) return invalid_spec("log_options", "need \"log_driver\"");
  if (auto it = spec.FindMember("pull"); it != spec.MemberEnd() && !it->value.IsNull()) {
    auto p = it->value.IsString() ? protocol::pull_policy_from_name(it->value.GetString()) : std::nullopt;
    if (!p) return invalid_spec("pull", "must be \"if_missing\", \"always\" or \"never\"");
    s.pull = *p;
  }
  if (auto st = read_ulimits(spec, s.ulimits); !st) return st;
  return s;
}

}  // namespace berth
