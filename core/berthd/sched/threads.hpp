// Threads started on demand and retired when idle: berthd holds a thread per
// plugin call in flight (the ABI's calls block), and none while nothing
// happens. Each thread body has a last-resort handler: an exception that
// escapes a task is logged and the thread goes on.
#pragma once

#include <berth/provider.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace berth {

class Threads {
 public:
  struct Options {
    std::chrono::milliseconds idle_ttl{5000};  // an idle thread exits after this
    size_t stack_bytes = BERTH_HOST_OP_STACK;  // what provider.h promises plugins' ops
  };
  Threads();
  explicit Threads(Options options);
  // Tells idle threads to exit. Threads still running a task (a stuck
  // plugin call) are left to finish on their own: they hold no reference to
  // this object.
  ~Threads();
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

  // Runs `task` on an idle thread, or on a new one. False only if no thread
  // could be created (the task did not run).
  bool run(std::function<void()> task);

  size_t live() const;  // threads that exist now
  size_t idle() const;

  struct State;  // shared with the threads, which outlive nothing else

 private:
  std::shared_ptr<State> state_;
};

}  // namespace berth
