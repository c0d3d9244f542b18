// Test support: wait for a condition by polling it, never by a fixed sleep.
#pragma once

#include <chrono>
#include <thread>

namespace berth::testing {

// Polls `ok` every `every` until it holds or `timeout` passes; returns its last value.
template <class Predicate>
bool eventually(Predicate&& ok, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ok()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace berth::testing
