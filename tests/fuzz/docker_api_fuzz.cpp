// The Docker Engine API decoders (plugins/docker/docker_api.*): engine
// bytes. The first byte picks the decoder: '0' an /events line
// (event_from_json), '1' a GET /containers/json body (containers_from_list),
// '2' a GET /containers/{id}/json body (container_from_inspect); also every
// input through parse_time_ns. A malformed body is sdk::Error
// (BERTH_E_INTERNAL); any other exception escapes and is reported. The
// details_json the decoders write must be a JSON object (the host refuses
// anything else).
#include "docker_api.hpp"

#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {
void check_details(const std::string& details) {
  rapidjson::Document d;
  d.Parse(details.c_str(), details.size());
  if (d.HasParseError() || !d.IsObject()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)berth::docker::parse_time_ns(body);
  try {
    switch (data[0] % 3) {
      case 0:
        if (auto e = berth::docker::event_from_json(body))
          if (e->event.container_id.empty() || e->event.raw_action.empty()) std::abort();
        break;
      case 1:
        berth::docker::containers_from_list(body, [](const berth::sdk::Container& c) {
          if (c.id.empty()) std::abort();
          check_details(c.details_json);
          return BERTH_SINK_CONTINUE;
        });
        break;
      case 2: check_details(berth::docker::container_from_inspect(body).details_json); break;
    }
  } catch (const berth::sdk::Error& e) {
    if (e.code() != BERTH_E_INTERNAL) std::abort();
  }
  return 0;
}
