#include "commands/request.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <fmt/format.h>

namespace berth {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 13> kOps = {{
    {Op::ping, "ping"},       {Op::version, "version"}, {Op::providers, "providers"},
    {Op::snapshot, "snapshot"}, {Op::list, "list"},     {Op::inspect, "inspect"},
    {Op::status, "status"},   {Op::start, "start"},     {Op::stop, "stop"},
    {Op::kill, "kill"},       {Op::pause, "pause"},     {Op::unpause, "unpause"},
    {Op::restart, "restart"},
}};

Status missing(std::string_view field, std::string_view what) {
  return {Code::missing_field, fmt::format("\"{}\": {}", field, what)};
}

}  // namespace

std::string_view op_name(Op op) {
  for (auto [o, name] : kOps)
    if (o == op) return name;
  return "?";
}

bool is_inline(Op op) {
  return op == Op::ping || op == Op::version || op == Op::providers || op == Op::snapshot;
}

bool needs_container(Op op) { return !is_inline(op) && op != Op::list; }

Result<Request> parse_request(std::string_view body, std::string& id_json) {
  id_json = "null";
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError())
    return Status(Code::malformed_request,
                  fmt::format("not JSON (error at offset {})", doc.GetErrorOffset()));
  if (!doc.IsObject()) return Status(Code::malformed_request, "request must be a JSON object");

  Request r;
  if (auto it = doc.FindMember("id"); it != doc.MemberEnd()) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    it->value.Accept(w);
    id_json.assign(buf.GetString(), buf.GetSize());
    r.id_json = id_json;
  }
  auto op = doc.FindMember("op");
  if (op == doc.MemberEnd() || !op->value.IsString())
    return missing("op", "required, a string");
  const std::string_view name(op->value.GetString(), op->value.GetStringLength());
  bool known = false;
  for (auto [o, n] : kOps)
    if (n == name) r.op = o, known = true;
  if (!known) return Status(Code::unknown_op, fmt::format("unknown op \"{}\"", name));

  auto read_string = [&](const char* field, std::optional<std::string>& out) -> Status {
    auto it = doc.FindMember(field);
    if (it == doc.MemberEnd() || it->value.IsNull()) return {};
    if (!it->value.IsString() || it->value.GetStringLength() == 0)
      return missing(field, "must be a non-empty string");
    out.emplace(it->value.GetString(), it->value.GetStringLength());
    return {};
  };
  for (auto [field, out] : {std::pair{"provider", &r.provider}, {"container", &r.container},
                            {"signal", &r.signal}})
    if (auto st = read_string(field, *out); !st) return st;

  if (auto it = doc.FindMember("timeout"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsInt() || it->value.GetInt() < 0)
      return Status(Code::invalid_argument, "\"timeout\": must be a non-negative integer (seconds)");
    r.timeout_s = it->value.GetInt();
  }
  if (auto it = doc.FindMember("timeout_ms"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsInt64() || it->value.GetInt64() <= 0)
      return Status(Code::invalid_argument, "\"timeout_ms\": must be a positive integer");
    r.timeout_ms = it->value.GetInt64();
  }
  if (needs_container(r.op) && !r.container)
    return missing("container", fmt::format("required by \"{}\"", name));
  return r;
}

}  // namespace berth
