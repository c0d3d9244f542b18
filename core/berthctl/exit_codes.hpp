// berthctl's exit codes: a script can tell "no such container" from "daemon
// down" from "you typed it wrong" without parsing text.
#pragma once

#include <berth/protocol.hpp>

#include <string_view>

namespace berth::ctl {

enum Exit : int {
  kOk = 0,
  kFailed = 1,          // any other error the daemon reported
  kUsage = 2,           // bad command line
  kNotFound = 3,        // no such container / provider
  kUnavailable = 4,     // daemon or engine unreachable, shutting down
  kConflict = 5,        // wrong state, ambiguous name
  kUnsupported = 6,     // the provider cannot do that
  kTimeout = 7,         // no answer in time
  kPermission = 8,      // refused: by the engine, or by berthd (this key's role, CURVE)
  kInvalid = 9,         // the daemon refused an argument (bad signal, ...)
};

// The exit status for the daemon's error code: the protocol's code table
// says which (an unknown code, a newer daemon's, reads as internal).
inline Exit exit_for(std::string_view code) {
  const auto c = protocol::code_from_name(code);
  return static_cast<Exit>(protocol::kCodes[protocol::code_index(c)].exit_status);
}

}  // namespace berth::ctl
