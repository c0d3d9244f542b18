// One plugin call as the host sees it: a deadline and the daemon's stop
// token. Both cancel it: call_cancelled() turns true, call_wait() returns
// early, and the cancel fd (a timerfd armed at the deadline, fired at once on
// stop) becomes readable — a notification, never a flag polled in a loop.
#pragma once

#include "common/status.hpp"

#include <berth/provider.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>

namespace berth {

using Clock = std::chrono::steady_clock;

struct CallOptions {
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  std::stop_token stop;  // the daemon's shutdown; empty = never

  static CallOptions within(std::chrono::milliseconds ms, std::stop_token stop = {}) {
    return {Clock::now() + ms, std::move(stop)};
  }
};

}  // namespace berth

// The ABI's opaque call handle, as the host defines it. Lives on the stack of
// the thread running the op; never outlives it.
struct berth_call {
  explicit berth_call(berth::CallOptions o) : options(std::move(o)) {}
  ~berth_call();
  berth_call(const berth_call&) = delete;
  berth_call& operator=(const berth_call&) = delete;

  bool cancelled() const;
  int64_t remaining_ms() const;
  // Sleeps up to ms or until cancelled; true when cancelled.
  bool wait(int64_t ms) const;
  // Made on first use; -1 if the kernel refused a timerfd.
  int cancel_fd() const;

  berth::CallOptions options;
  berth::Status failure;  // set through call_fail

 private:
  struct FireNow {
    int fd;
    void operator()() const noexcept;
  };
  mutable int fd_ = -1;
  mutable std::optional<std::stop_callback<FireNow>> on_stop_;
};
