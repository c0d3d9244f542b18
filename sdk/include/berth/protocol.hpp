// berth/protocol.hpp — the wire protocol's vocabularies (docs/protocol.md),
// one table each: operations, error codes, container states, event types,
// message kinds, client roles. berthd, berthctl, berth-wake and any C++
// client read their names and attributes from here, so a name is spelled
// once and an op or a code added here is known everywhere it is handled
// (a switch over these enums without a default: the compiler names it when
// a member is added). Header-only, C++17, no dependency but
// <berth/provider.h> (for the capability bits and the state and event enums
// the wire names).
#pragma once

#include <berth/provider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

namespace berth::protocol {

inline constexpr int kSchema = 1;

// ---------------------------------------------------------------- roles
// What a CURVE client's key may do (docs/operator.md, Security); ordered:
// each role may do what the ones before it may.
enum class Role : uint8_t { subscriber, reader, operator_ };
inline constexpr std::array<std::string_view, 3> kRoleNames = {"subscriber", "reader", "operator"};
constexpr std::string_view role_name(Role r) { return kRoleNames[static_cast<size_t>(r)]; }
constexpr std::optional<Role> role_from_name(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i)
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  return std::nullopt;
}

// ---------------------------------------------------------------- operations
enum class OpClass : uint8_t {
  daemon,     // answered by berthd itself, at once: no plugin call
  read,       // a plugin read: never waits behind lifecycle ops
  lifecycle,  // changes a container: one at a time per container
};
// What a request of the op must carry besides "op".
enum class Needs : uint8_t { nothing, container, spec };
// How long the client is promised an answer within, when it says no timeout_ms.
enum class Deadline : uint8_t {
  none,      // answered at once
  standard,  // default_timeout_ms
  stop,      // the request's "timeout" (10 s when absent) + stop_grace_ms
};

// The optional request fields an op reads besides provider, container,
// spec and timeout_ms (docs/protocol.md, Request).
enum Takes : uint8_t { takes_nothing = 0, takes_signal = 1, takes_timeout = 2, takes_force = 4 };

// X(id, class, needs, optional fields, capability bits, minimum role, deadline)
#define BERTH_PROTOCOL_OPS(X)                                                                              \
  X(ping, daemon, nothing, takes_nothing, 0, reader, none)                                                  \
  X(version, daemon, nothing, takes_nothing, 0, reader, none)                                               \
  X(providers, daemon, nothing, takes_nothing, 0, reader, none)                                             \
  X(snapshot, daemon, nothing, takes_nothing, 0, reader, none)                                              \
  X(list, read, nothing, takes_nothing, BERTH_CAP_LIST, reader, standard)                                   \
  X(inspect, read, container, takes_nothing, BERTH_CAP_INSPECT, reader, standard)                           \
  X(status, read, container, takes_nothing, BERTH_CAP_STATUS, reader, standard)                             \
  X(start, lifecycle, container, takes_nothing, BERTH_CAP_START, operator_, standard)                       \
  X(stop, lifecycle, container, takes_signal | takes_timeout, BERTH_CAP_STOP, operator_, stop)              \
  X(kill, lifecycle, container, takes_signal, BERTH_CAP_KILL, operator_, standard)                          \
  X(pause, lifecycle, container, takes_nothing, BERTH_CAP_PAUSE, operator_, standard)                       \
  X(unpause, lifecycle, container, takes_nothing, BERTH_CAP_UNPAUSE, operator_, standard)                   \
  X(restart, lifecycle, container, takes_timeout, BERTH_CAP_RESTART, operator_, stop)                       \
  X(create, lifecycle, spec, takes_nothing, BERTH_CAP_CREATE, operator_, standard)                          \
  X(remove, lifecycle, container, takes_force, BERTH_CAP_REMOVE, operator_, standard)                       \
  X(run, lifecycle, spec, takes_nothing, BERTH_CAP_CREATE | BERTH_CAP_START, operator_, standard)

enum class Op : uint8_t {
#define BERTH_X(id, cls, needs, takes, caps, role, deadline) id,
  BERTH_PROTOCOL_OPS(BERTH_X)
#undef BERTH_X
};

struct OpInfo {
  std::string_view name;
  OpClass cls;
  Needs needs;
  uint8_t takes;  // Takes bits
  uint64_t caps;  // BERTH_CAP_* a provider must have (all of them)
  Role min_role;
  Deadline deadline;
};

inline constexpr OpInfo kOps[] = {
#define BERTH_X(id, cls, needs, takes, caps, role, deadline) \
  {#id, OpClass::cls, Needs::needs, static_cast<uint8_t>(takes), static_cast<uint64_t>(caps), Role::role, Deadline::deadline},
    BERTH_PROTOCOL_OPS(BERTH_X)
#undef BERTH_X
};
inline constexpr size_t kOpCount = sizeof(kOps) / sizeof(kOps[0]);

constexpr const OpInfo& info(Op op) { return kOps[static_cast<size_t>(op)]; }
constexpr std::string_view op_name(Op op) { return info(op).name; }
constexpr std::optional<Op> op_from_name(std::string_view name) {
  for (size_t i = 0; i < kOpCount; ++i)
    if (kOps[i].name == name) return static_cast<Op>(i);
  return std::nullopt;
}
constexpr bool permitted(Op op, Role role) { return role >= info(op).min_role; }

// ---------------------------------------------------------------- capabilities
// The names `providers` gives a provider's capability bits (BERTH_CAP_*),
// in bit order.
struct CapabilityInfo {
  uint64_t bit;
  std::string_view name;
};
inline constexpr CapabilityInfo kCapabilities[] = {
    {BERTH_CAP_LIST, "list"},       {BERTH_CAP_INSPECT, "inspect"},         {BERTH_CAP_STATUS, "status"},
    {BERTH_CAP_START, "start"},     {BERTH_CAP_STOP, "stop"},               {BERTH_CAP_KILL, "kill"},
    {BERTH_CAP_PAUSE, "pause"},     {BERTH_CAP_UNPAUSE, "unpause"},         {BERTH_CAP_RESTART, "restart"},
    {BERTH_CAP_WATCH, "watch"},     {BERTH_CAP_STOP_SIGNAL, "stop_signal"}, {BERTH_CAP_KILL_SIGNAL, "kill_signal"},
    {BERTH_CAP_CREATE, "create"},   {BERTH_CAP_REMOVE, "remove"},
};
static_assert(sizeof(kCapabilities) / sizeof(kCapabilities[0]) == 14 && BERTH_CAP_REMOVE == (1ull << 13),
              "a capability bit without a name: add its row");

// ---------------------------------------------------------------- error codes
// The ABI's codes keep the ABI's numbers; the protocol's own start at 100.
// X(name, number, berthctl exit status)
#define BERTH_PROTOCOL_CODES(X)                     \
  X(ok, BERTH_OK, 0)                                \
  X(not_found, BERTH_E_NOT_FOUND, 3)                \
  X(unavailable, BERTH_E_UNAVAILABLE, 4)            \
  X(timeout, BERTH_E_TIMEOUT, 7)                    \
  X(invalid_argument, BERTH_E_INVALID_ARGUMENT, 9)  \
  X(conflict, BERTH_E_CONFLICT, 5)                  \
  X(unsupported, BERTH_E_UNSUPPORTED, 6)            \
  X(permission_denied, BERTH_E_PERMISSION_DENIED, 8) \
  X(internal, BERTH_E_INTERNAL, 1)                  \
  X(cancelled, BERTH_E_CANCELLED, 4)                \
  X(malformed_request, 100, 1)                      \
  X(unknown_op, 101, 1)                             \
  X(missing_field, 102, 9)                          \
  X(unknown_provider, 103, 3)                       \
  X(ambiguous, 104, 5)                              \
  X(busy, 105, 4)                                   \
  X(shutting_down, 106, 4)

enum class Code : int {
#define BERTH_X(name, number, exit) name = number,
  BERTH_PROTOCOL_CODES(BERTH_X)
#undef BERTH_X
};

struct CodeInfo {
  std::string_view name;
  Code code;
  int exit_status;  // berthctl's exit status when the daemon answers with it
};
inline constexpr CodeInfo kCodes[] = {
#define BERTH_X(name, number, exit) {#name, Code::name, exit},
    BERTH_PROTOCOL_CODES(BERTH_X)
#undef BERTH_X
};
inline constexpr size_t kCodeCount = sizeof(kCodes) / sizeof(kCodes[0]);

// A code's row in kCodes (metrics count by it); internal's for a number
// that is no code.
constexpr size_t code_index(Code code) {
  for (size_t i = 0; i < kCodeCount; ++i)
    if (kCodes[i].code == code) return i;
  return code_index(Code::internal);
}
constexpr std::string_view code_name(Code code) { return kCodes[code_index(code)].name; }
// A reader's inverse: an unknown name (a newer daemon's) reads as internal.
constexpr Code code_from_name(std::string_view name) {
  for (const auto& c : kCodes)
    if (c.name == name) return c.code;
  return Code::internal;
}
// A plugin's status: anything outside the ABI's set is internal.
constexpr Code code_from_abi(int status) {
  for (const auto& c : kCodes)
    if (static_cast<int>(c.code) == status && status < 100) return c.code;
  return Code::internal;
}

// ---------------------------------------------------------------- states
// The wire's container states, indexed by berth_state.
inline constexpr std::array<std::string_view, BERTH_STATE_ERROR + 1> kStateNames = {
    "unknown", "running", "stopped", "paused", "error"};
static_assert(BERTH_STATE_UNKNOWN == 0 && BERTH_STATE_RUNNING == 1 && BERTH_STATE_STOPPED == 2 &&
              BERTH_STATE_PAUSED == 3 && BERTH_STATE_ERROR == 4);
constexpr std::string_view state_name(berth_state s) {
  return s >= 0 && static_cast<size_t>(s) < kStateNames.size() ? kStateNames[s] : kStateNames[0];
}
constexpr berth_state state_from_name(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == name) return static_cast<berth_state>(i);
  return BERTH_STATE_UNKNOWN;
}

// ---------------------------------------------------------------- event types
// The wire's event types, indexed by berth_event_type; "other" for the rest.
inline constexpr std::array<std::string_view, BERTH_EVENT_RENAMED + 1> kEventTypeNames = {
    "other", "created", "started", "exited", "paused", "unpaused", "destroyed", "oom", "health", "renamed"};
static_assert(BERTH_EVENT_OTHER == 0 && BERTH_EVENT_CREATED == 1 && BERTH_EVENT_STARTED == 2 &&
              BERTH_EVENT_EXITED == 3 && BERTH_EVENT_PAUSED == 4 && BERTH_EVENT_UNPAUSED == 5 &&
              BERTH_EVENT_DESTROYED == 6 && BERTH_EVENT_OOM == 7 && BERTH_EVENT_HEALTH == 8 &&
              BERTH_EVENT_RENAMED == 9);
constexpr std::string_view event_type_name(berth_event_type t) {
  return t >= 0 && static_cast<size_t>(t) < kEventTypeNames.size() ? kEventTypeNames[t] : kEventTypeNames[0];
}
constexpr berth_event_type event_type_from_name(std::string_view name) {
  for (size_t i = 0; i < kEventTypeNames.size(); ++i)
    if (kEventTypeNames[i] == name) return static_cast<berth_event_type>(i);
  return BERTH_EVENT_OTHER;
}

// ---------------------------------------------------------------- pull policies
// A create spec's "pull", indexed by berth_pull_policy.
inline constexpr std::array<std::string_view, BERTH_PULL_NEVER + 1> kPullPolicyNames = {"if_missing", "always", "never"};
static_assert(BERTH_PULL_IF_MISSING == 0 && BERTH_PULL_ALWAYS == 1 && BERTH_PULL_NEVER == 2);
constexpr std::string_view pull_policy_name(berth_pull_policy p) {
  return p >= 0 && static_cast<size_t>(p) < kPullPolicyNames.size() ? kPullPolicyNames[p] : kPullPolicyNames[0];
}
constexpr std::optional<berth_pull_policy> pull_policy_from_name(std::string_view name) {
  for (size_t i = 0; i < kPullPolicyNames.size(); ++i)
    if (kPullPolicyNames[i] == name) return static_cast<berth_pull_policy>(i);
  return std::nullopt;
}

// ---------------------------------------------------------------- messages
// The PUB messages' kinds; `numbered` ones take the next seq, the others
// carry the current one (docs/protocol.md §3).
enum class Kind : uint8_t { container, provider, heartbeat, stopping };
struct KindInfo {
  std::string_view name;
  std::string_view topic_prefix;
  bool numbered;
};
inline constexpr KindInfo kKinds[] = {
    {"container", "container/", true},
    {"provider", "provider/", true},
    {"heartbeat", "daemon/heartbeat", false},
    {"stopping", "daemon/stopping", false},
};
constexpr const KindInfo& info(Kind k) { return kKinds[static_cast<size_t>(k)]; }
constexpr std::optional<Kind> kind_from_name(std::string_view name) {
  for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); ++i)
    if (kKinds[i].name == name) return static_cast<Kind>(i);
  return std::nullopt;
}

// ---------------------------------------------------------------- endpoints
// Where a local berthd's ipc sockets are (events.sock, commands.sock):
// $BERTH_RUNTIME_DIR, else $XDG_RUNTIME_DIR/berth, else /run/berth for root,
// else /tmp/berth-<uid>.
inline std::string default_runtime_dir() {
  if (const char* d = std::getenv("BERTH_RUNTIME_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/berth";
  if (geteuid() == 0) return "/run/berth";
  return "/tmp/berth-" + std::to_string(getuid());
}

}  // namespace berth::protocol
