// Signals, normalized once for every plugin: "SIGTERM", "TERM", "term" and
// "15" all become "SIGTERM"; real-time signals "SIGRTMIN+N"/"SIGRTMAX-N".
// The names and numbers are Linux's (the numbers Docker uses too).
#pragma once

#include "common/status.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace berth::signals {

// The canonical name, or invalid_argument naming what was given.
Result<std::string> normalize(std::string_view given);
// The number of a canonical name; 0 when unknown.
int number(std::string_view canonical);

}  // namespace berth::signals
