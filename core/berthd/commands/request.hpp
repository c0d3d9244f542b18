// A command request as it arrives on the command socket (docs/protocol.md).
#pragma once

#include "common/status.hpp"

#include <berth/provider.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

// The ops and what each is (class, what it needs, capabilities, role,
// deadline) are the protocol's table: sdk/include/berth/protocol.hpp.
using protocol::kOpCount;
using protocol::Op;
using protocol::op_name;

struct Request {
  std::string id_json = "null";  // the request's "id", as the client wrote it
  Op op = Op::ping;
  std::optional<std::string> provider;
  std::optional<std::string> container;
  std::optional<std::string> signal;  // normalized: "SIGTERM"
  std::optional<int32_t> timeout_s;   // stop/restart: grace before the kill
  std::optional<int64_t> timeout_ms;  // how long the client will wait
  std::optional<sdk::CreateSpec> spec;  // create, run
  bool force = false;                   // remove: kill it first if it runs
};

// Limits on request fields: beyond them the request is invalid_argument.
inline constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;
inline constexpr int32_t kMaxTimeoutS = 24 * 3600;
inline constexpr int kMaxRequestDepth = 32;  // nesting of objects and arrays
// A create spec's bounds (docs/protocol.md, "create").
inline constexpr size_t kMaxSpecItems = 256;     // command args, env, labels, log options
inline constexpr size_t kMaxSpecMounts = 64;
inline constexpr size_t kMaxSpecAliases = 32;
inline constexpr size_t kMaxSpecUlimits = 32;

// Parses a request body. On failure `id_json` still holds the id when one
// could be read, so the error reply can echo it. Codes: malformed_request
// (not JSON, not UTF-8, not an object), unknown_op, missing_field (a
// required field is absent), invalid_argument (a field has the wrong type
// or value).
Result<Request> parse_request(std::string_view body, std::string& id_json);

// The raw text of the top-level member "id" of a valid JSON object, exactly
// as written (numbers keep every digit); nullopt when there is none. The
// text's nesting must be bounded (parse_request checks kMaxRequestDepth).
std::optional<std::string_view> raw_id(std::string_view json);

}  // namespace berth
