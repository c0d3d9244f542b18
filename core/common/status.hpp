// Errors as values: the closed set of codes the wire protocol speaks.
#pragma once

#include <berth/provider.h>

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace berth {

// The ABI's codes first (same numbers), then the ones only the daemon raises.
enum class Code {
  ok = BERTH_OK,
  not_found = BERTH_E_NOT_FOUND,
  unavailable = BERTH_E_UNAVAILABLE,
  timeout = BERTH_E_TIMEOUT,
  invalid_argument = BERTH_E_INVALID_ARGUMENT,
  conflict = BERTH_E_CONFLICT,
  unsupported = BERTH_E_UNSUPPORTED,
  permission_denied = BERTH_E_PERMISSION_DENIED,
  internal = BERTH_E_INTERNAL,
  cancelled = BERTH_E_CANCELLED,
  // Protocol-level codes (never produced by a plugin).
  malformed_request = 100,  // not JSON, or not an object
  unknown_op,               // "op" names no operation
  missing_field,            // a required field is absent (a wrong type is invalid_argument)
  unknown_provider,         // "provider" names no loaded instance
  ambiguous,                // a container ref matches in several providers
  busy,                     // too many requests in flight
  shutting_down,            // the daemon is stopping
};

std::string_view code_name(Code code);
// The inverse of code_name, for clients reading replies; internal for an
// unknown name.
Code code_from_name(std::string_view name);
// Maps a plugin's status; anything outside the ABI's set becomes internal.
Code code_from_abi(int status);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::ok; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// A value or a non-ok Status.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status error) : v_(std::move(error)) {}

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace berth
