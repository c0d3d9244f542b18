// RFC 7807 problem documents as Sablier writes them (Go's problem type through
// gin's IndentedJSON): application/problem+json, keys in alphabetical order,
// four-space indentation, '&', '<' and '>' escaped as \u0026, \u003c, \u003e.
#pragma once

#include "instances.hpp"

#include <string>
#include <string_view>

namespace berth::wake {

// `instance` is the request's target.
std::string problem_json(const Problem& p, std::string_view instance);

// Go's encoding/json escapes of HTML characters, applied to JSON text.
std::string go_html_escape(std::string_view json);

}  // namespace berth::wake
