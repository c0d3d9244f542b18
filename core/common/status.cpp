#include "common/status.hpp"

namespace berth {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::ok: return "ok";
    case Code::not_found: return "not_found";
    case Code::unavailable: return "unavailable";
    case Code::timeout: return "timeout";
    case Code::invalid_argument: return "invalid_argument";
    case Code::conflict: return "conflict";
    case Code::unsupported: return "unsupported";
    case Code::permission_denied: return "permission_denied";
    case Code::internal: return "internal";
    case Code::cancelled: return "cancelled";
    case Code::malformed_request: return "malformed_request";
    case Code::unknown_op: return "unknown_op";
    case Code::missing_field: return "missing_field";
    case Code::unknown_provider: return "unknown_provider";
    case Code::ambiguous: return "ambiguous";
    case Code::busy: return "busy";
    case Code::shutting_down: return "shutting_down";
  }
  return "internal";
}

Code code_from_name(std::string_view name) {
  for (int c : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101, 102, 103, 104, 105, 106})
    if (code_name(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  return Code::internal;
}

Code code_from_abi(int status) {
  if (status >= BERTH_OK && status <= BERTH_E_CANCELLED) return static_cast<Code>(status);
  return Code::internal;
}

}  // namespace berth
