// Go's time.Duration as Sablier's HTTP contract speaks it: ParseDuration
// with Go's exact grammar and error texts (they appear in 400 details),
// Duration.String() ("1m0s"), and Sablier's Humanize ("1 minute 30 seconds").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace berth::wake {

using Nanoseconds = int64_t;

// The duration, or Go's error text ("time: unknown unit \"d\" in duration \"1d\"").
std::variant<Nanoseconds, std::string> parse_go_duration(std::string_view s);
std::string go_duration_string(Nanoseconds d);
// "1 hour 30 minutes"; "" below a second (as Sablier's waiting pages show).
std::string humanize_duration(Nanoseconds d);

}  // namespace berth::wake
