// berthctl's exit codes: a script can tell "no such container" from "daemon
// down" from "you typed it wrong" without parsing text. A daemon's error
// code maps to one of them in the protocol's code table (kCodes'
// exit_status, berth::client::Reply::exit_status).
#pragma once

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

}  // namespace berth::ctl
