// The default logger of berthd and berth-wake: text for people, or one JSON
// object per line for log shippers.
#pragma once

#include <string_view>

namespace berth {

// `format` is "text" or "json"; `level` an spdlog level name.
void setup_logging(std::string_view program, std::string_view level, std::string_view format);

}  // namespace berth
