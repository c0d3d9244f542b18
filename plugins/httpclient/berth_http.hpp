// The glue between a berth call and the HTTP client, shared by the engine
// adapters: the call's deadline and cancel fd become the request's limits,
// and a transport failure becomes the ABI's error.
#pragma once

#include "http_client.hpp"

#include <berth/provider.hpp>

#include <string>
#include <string_view>

namespace berth::http {

inline Limits limits_of(const sdk::Call& call) {
  return {Clock::now() + std::chrono::milliseconds(call.remaining_ms()), {call.cancel_fd()}};
}

// `engine` names the far side in messages: "engine", "PVE".
[[noreturn]] inline void throw_failure(const Response& r, std::string_view engine) {
  using sdk::Error;
  switch (r.failure) {
    case Failure::timeout: throw Error(BERTH_E_TIMEOUT, r.error);
    case Failure::cancelled: throw Error(BERTH_E_CANCELLED, r.error);
    case Failure::protocol: throw Error(BERTH_E_INTERNAL, "malformed " + std::string(engine) + " response: " + r.error);
    default: throw Error(BERTH_E_UNAVAILABLE, std::string(engine) + " unreachable: " + r.error);
  }
}

}  // namespace berth::http
