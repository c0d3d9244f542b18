// The command request parser (core/berthd/commands/request.*): any bytes a client
// sends on the command socket. Checked besides "no crash": the "id" echoed
// into the reply is itself one JSON value (it is written into the reply raw).
#include "commands/request.hpp"

#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string id_json;
  auto r = berth::parse_request(body, id_json);
  if (id_json != "null") {
    rapidjson::Document id;
    id.Parse(id_json.data(), id_json.size());
    if (id.HasParseError()) std::abort();  // the reply would not be JSON
  }
  if (r) {
    (void)berth::op_name(r->op);
    if (r->timeout_ms && (*r->timeout_ms <= 0 || *r->timeout_ms > berth::kMaxTimeoutMs)) std::abort();
  }
  return 0;
}
