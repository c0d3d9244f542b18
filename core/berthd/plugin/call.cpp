#include "plugin/call.hpp"

#include <condition_variable>
#include <mutex>

#include <sys/timerfd.h>
#include <unistd.h>

namespace {

timespec to_timespec(std::chrono::nanoseconds ns) {
  if (ns.count() <= 0) return {0, 1};  // "now": a zero value would disarm
  return {static_cast<time_t>(ns.count() / 1000000000), static_cast<long>(ns.count() % 1000000000)};
}

}  // namespace

berth_call::~berth_call() {
  on_stop_.reset();  // before the fd it writes to goes away
  if (fd_ >= 0) close(fd_);
}

bool berth_call::cancelled() const {
  return options.stop.stop_requested() || berth::Clock::now() >= options.deadline;
}

int64_t berth_call::remaining_ms() const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options.deadline - berth::Clock::now());
  return left.count() > 0 ? left.count() : 0;
}

bool berth_call::wait(int64_t ms) const {
  const auto until = std::min(options.deadline, berth::Clock::now() + std::chrono::milliseconds(ms < 0 ? 0 : ms));
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  // Returns early only when the stop token fires; the predicate never holds.
  cv.wait_until(lock, options.stop, until, [] { return false; });
  return cancelled();
}

void berth_call::FireNow::operator()() const noexcept {
  itimerspec now{};
  now.it_value = {0, 1};
  timerfd_settime(fd, 0, &now, nullptr);
}

int berth_call::cancel_fd() const {
  if (fd_ >= 0) return fd_;
  fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd_ < 0) return -1;
  // steady_clock is CLOCK_MONOTONIC: the deadline is an absolute time on it.
  itimerspec at{};
  at.it_value = to_timespec(options.deadline.time_since_epoch());
  timerfd_settime(fd_, TFD_TIMER_ABSTIME, &at, nullptr);
  on_stop_.emplace(options.stop, FireNow{fd_});  // runs at once if already stopped
  return fd_;
}
