// The default logger of berthd, berth-wake and berth-relay: text for people,
// or one JSON object per line for log shippers.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace berth {

// The names a config or a command line may give: spdlog's level names, and
// the two formats. Every program's --log-level/--log-format and berthd's
// config check against these.
inline constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
inline constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};
inline constexpr std::string_view kLogLevelsText = "trace, debug, info, warn, error or off";
inline constexpr std::string_view kLogFormatsText = "text or json (one object per line)";

constexpr bool known_log_level(std::string_view level) {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}
constexpr bool known_log_format(std::string_view format) {
  return std::find(kLogFormats.begin(), kLogFormats.end(), format) != kLogFormats.end();
}

// `format` one of kLogFormats, `level` one of kLogLevels.
void setup_logging(std::string_view program, std::string_view level, std::string_view format);

}  // namespace berth
