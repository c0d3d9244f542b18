// berthd's config parser (core/berthd/config/config.*): a config file's text.
#include "config/config.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = berth::parse_config(std::string_view(reinterpret_cast<const char*>(data), size));
  if (c)
    for (const auto& p : c->providers) (void)p.config_json.size();
  return 0;
}
