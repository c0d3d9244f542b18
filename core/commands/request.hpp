// A command request as it arrives on the command socket (docs/protocol.md).
#pragma once

#include "common/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

enum class Op {
  ping, version, providers, snapshot,                                  // answered at once
  list, inspect, status, start, stop, kill, pause, unpause, restart,   // run on workers
};

std::string_view op_name(Op op);
// Ops that never call a plugin, answered on the server thread.
bool is_inline(Op op);
// Ops that need "container".
bool needs_container(Op op);

struct Request {
  std::string id_json = "null";  // the request's "id", echoed verbatim
  Op op = Op::ping;
  std::optional<std::string> provider;
  std::optional<std::string> container;
  std::optional<std::string> signal;
  std::optional<int32_t> timeout_s;   // stop/restart: grace before the kill
  std::optional<int64_t> timeout_ms;  // how long the client will wait
};

// Parses a request body. On failure `id_json` still holds the id when one
// could be read, so the error reply can echo it.
Result<Request> parse_request(std::string_view body, std::string& id_json);

}  // namespace berth
