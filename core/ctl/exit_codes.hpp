// berthctl's exit codes: a script can tell "no such container" from "daemon
// down" from "you typed it wrong" without parsing text.
#pragma once

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

inline Exit exit_for(std::string_view code) {
  if (code == "not_found" || code == "unknown_provider") return kNotFound;
  if (code == "unavailable" || code == "shutting_down" || code == "busy" || code == "cancelled")
    return kUnavailable;
  if (code == "conflict" || code == "ambiguous") return kConflict;
  if (code == "unsupported") return kUnsupported;
  if (code == "timeout") return kTimeout;
  if (code == "permission_denied") return kPermission;
  if (code == "invalid_argument" || code == "missing_field") return kInvalid;
  return kFailed;
}

}  // namespace berth::ctl
