// Copying plugin-owned, borrowed ABI structs into owned C++ values, reading
// no field beyond the struct_size the plugin declared.
#pragma once

#include "common/status.hpp"

#include <berth/provider.hpp>

namespace berth {

Result<sdk::Container> container_from_abi(const berth_container* c);
Result<sdk::Event> event_from_abi(const berth_event* e);

}  // namespace berth
