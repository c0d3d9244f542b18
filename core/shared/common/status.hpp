// Errors as values: the closed set of codes the wire protocol speaks.
#pragma once

#include <berth/protocol.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace berth {

// The codes are the protocol's table (sdk/include/berth/protocol.hpp): the
// ABI's codes with the ABI's numbers, then the ones only the daemon raises.
using protocol::Code;
using protocol::code_from_abi;
using protocol::code_from_name;
using protocol::code_name;

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
