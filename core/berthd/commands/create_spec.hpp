// The "spec" of a create or run request (docs/protocol.md, "Creating
// containers"): JSON in, a bounded sdk::CreateSpec out, or the first field
// that is wrong, named.
#pragma once

#include "common/status.hpp"

#include <berth/provider.hpp>
#include <rapidjson/document.h>

namespace berth {

// missing_field when "spec.image" is absent; invalid_argument for a field of
// the wrong type, range or shape.
Result<sdk::CreateSpec> parse_create_spec(const rapidjson::Value& spec);

}  // namespace berth
