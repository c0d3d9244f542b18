#include "commands/request.hpp"

#include "commands/create_spec.hpp"
#include "common/json_depth.hpp"
#include "plugin/signals.hpp"

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <array>
#include <fmt/format.h>

namespace berth {
namespace {

Status missing(std::string_view field, std::string_view what) {
  return {Code::missing_field, fmt::format("\"{}\": {}", field, what)};
}
Status invalid(std::string_view field, std::string_view what) {
  return {Code::invalid_argument, fmt::format("\"{}\": {}", field, what)};
}

// Finds where the value of the top-level "id" starts and ends, from the
// positions the reader has reached when its handler is called.
struct IdSpan : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, IdSpan> {
  const rapidjson::MemoryStream* stream = nullptr;
  int depth = 0;
  bool next_is_id = false, in_id = false, done = false;
  int id_depth = 0;
  size_t start = 0, end = 0;

  bool Default() { return scalar(); }
  bool scalar() {
    if (next_is_id) {
      next_is_id = false;
      end = stream->Tell();
      done = true;
      return false;  // found: stop reading
    }
    return true;
  }
  bool String(const char*, rapidjson::SizeType, bool) { return scalar(); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return scalar(); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth == 1 && !in_id && std::string_view(s, n) == "id") {
      next_is_id = true;
      start = stream->Tell();
    }
    return true;
  }
  bool open() {
    ++depth;
    if (next_is_id) {
      next_is_id = false;
      in_id = true;
      id_depth = depth;
    }
    return true;
  }
  bool close() {
    if (in_id && depth == id_depth) {
      end = stream->Tell();
      done = true;
      return false;
    }
    --depth;
    return true;
  }
  bool StartObject() { return open(); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(); }
  bool EndArray(rapidjson::SizeType) { return close(); }
};

}  // namespace

std::optional<std::string_view> raw_id(std::string_view json) {
  rapidjson::MemoryStream ms(json.data(), json.size());
  IdSpan h;
  h.stream = &ms;
  rapidjson::Reader reader;
  // Recursive (the iterative reader reports a closing bracket before it has
  // read it): callers bound the depth first.
  reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag>(ms, h);
  if (!h.done) return std::nullopt;
  std::string_view raw = json.substr(h.start, h.end - h.start);
  // From just after the key: skip the ':' and the whitespace around it.
  while (!raw.empty() && (raw.front() == ':' || raw.front() == ' ' || raw.front() == '\t' ||
                          raw.front() == '\n' || raw.front() == '\r'))
    raw.remove_prefix(1);
  return raw;
}

Result<Request> parse_request(std::string_view body, std::string& id_json) {
  id_json = "null";
  if (json_nesting_depth(body) > kMaxRequestDepth)
    return Status(Code::malformed_request, fmt::format("nested deeper than {} levels", kMaxRequestDepth));
  rapidjson::Document doc;
  // Iterative: a deeply nested request must not overflow the server's stack.
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    if (doc.GetParseError() == rapidjson::kParseErrorStringInvalidEncoding)
      return Status(Code::malformed_request, "request is not valid UTF-8");
    return Status(Code::malformed_request, fmt::format("not JSON (error at offset {})", doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return Status(Code::malformed_request, "request must be a JSON object");

  Request r;
  if (doc.HasMember("id"))
    if (auto raw = raw_id(body)) r.id_json = id_json = std::string(*raw);

  auto op = doc.FindMember("op");
  if (op == doc.MemberEnd() || op->value.IsNull()) return missing("op", "required");
  if (!op->value.IsString()) return invalid("op", "must be a string");
  const std::string_view name(op->value.GetString(), op->value.GetStringLength());
  const auto known = protocol::op_from_name(name);
  if (!known) return Status(Code::unknown_op, fmt::format("unknown op \"{}\"", name.substr(0, 64)));
  r.op = *known;

  auto read_string = [&](const char* field, std::optional<std::string>& out) -> Status {
    auto it = doc.FindMember(field);
    if (it == doc.MemberEnd() || it->value.IsNull()) return {};
    if (!it->value.IsString() || it->value.GetStringLength() == 0) return invalid(field, "must be a non-empty string");
    std::string_view v(it->value.GetString(), it->value.GetStringLength());
    // JSON may spell a NUL (\u0000); C would cut the string there, and the
    // plugin would act on another name than the one berth ordered ops by.
    if (v.find('\0') != std::string_view::npos) return invalid(field, "must not contain NUL");
    out.emplace(v);
    return {};
  };
  for (auto [field, out] : {std::pair{"provider", &r.provider}, {"container", &r.container},
                            {"signal", &r.signal}})
    if (auto st = read_string(field, *out); !st) return st;
  if (r.signal) {
    auto sig = signals::normalize(*r.signal);
    if (!sig) return invalid("signal", sig.error().message());
    r.signal = std::move(*sig);
  }

  if (auto it = doc.FindMember("timeout"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsInt64() || it->value.GetInt64() < 0 || it->value.GetInt64() > kMaxTimeoutS)
      return invalid("timeout", fmt::format("must be an integer from 0 to {} (seconds)", kMaxTimeoutS));
    r.timeout_s = static_cast<int32_t>(it->value.GetInt64());
  }
  if (auto it = doc.FindMember("timeout_ms"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsInt64() || it->value.GetInt64() <= 0 || it->value.GetInt64() > kMaxTimeoutMs)
      return invalid("timeout_ms", fmt::format("must be an integer from 1 to {}", kMaxTimeoutMs));
    r.timeout_ms = it->value.GetInt64();
  }
  if (auto it = doc.FindMember("force"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsBool()) return invalid("force", "must be true or false");
    r.force = it->value.GetBool();
  }
  if (protocol::info(r.op).needs == protocol::Needs::spec) {
    auto it = doc.FindMember("spec");
    if (it == doc.MemberEnd() || it->value.IsNull()) return missing("spec", fmt::format("required by \"{}\"", name));
    auto spec = parse_create_spec(it->value);
    if (!spec) return spec.error();
    r.spec = std::move(*spec);
  }
  if (protocol::info(r.op).needs == protocol::Needs::container && !r.container) return missing("container", fmt::format("required by \"{}\"", name));
  return r;
}

}  // namespace berth
