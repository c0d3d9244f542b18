// Who runs which plugin call when. The ABI's calls block a thread, so the
// scheduler decides what may hold one:
//  - per provider, at most `max_calls` calls at once; the others wait in
//    the scheduler's queues, which hold no thread and no lock;
//  - reads (status, inspect, list) never wait behind lifecycle ops: a share
//    of each provider's slots is theirs alone;
//  - lifecycle ops on one container run one at a time, in arrival order;
//    ops on different containers run concurrently;
//  - a call whose deadline passes while it waits is never started: it is
//    refused with `timeout` at its deadline (a timer, not the next caller,
//    notices);
//  - at most `max_queued` calls wait in all, and at most 3/4 of that for one
//    provider when there are several; beyond that, `busy`. A call that can
//    start at once is never refused.
// A stuck plugin therefore fills only its own provider's slots and queue.
// This is the per-provider executor the ABI's blocking calls need; an
// asynchronous ABI would spare the threads, at the price of every plugin
// author writing callbacks in C.
#pragma once

#include "common/status.hpp"
#include "plugin/call.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace berth {

class Provider;
class Threads;

class Scheduler {
 public:
  struct Options {
    size_t max_queued = 1024;
  };
  Scheduler(Threads& threads, Options options);
  // Shuts down and waits for the expiry timer. Jobs still running would
  // call back into freed memory: destroy it only when wait_idle() held for
  // every provider (berthd leaves with _Exit when a provider is stuck).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Registers a provider before any job for it; max_calls >= 1.
  void add_provider(const Provider& p, size_t max_calls);

  enum class Lane { read, lifecycle };
  struct Job {
    const Provider* provider = nullptr;
    Lane lane = Lane::read;
    std::string key;        // lifecycle: the container, for ordering
    std::string op;         // for reports and logs: "stop"
    std::string container;  // as the caller named it; may be empty
    Clock::time_point deadline;
    // Runs on a worker thread with the call's deadline and the daemon's stop
    // token. Must not throw.
    std::function<void(const CallOptions&)> run;
    // The job will never run: `timeout` (deadline passed while queued) or
    // `shutting_down`. Called on any thread, without the scheduler's lock.
    std::function<void(const Status&)> refused;
  };
  // Queues the job (starting it at once when a slot is free). Returns `busy`
  // or `shutting_down` without queuing; then `refused` is not called.
  Status submit(Job job);

  struct Running {
    std::string op, container;
    std::chrono::milliseconds running;
    bool overdue;  // past its deadline and still in the plugin
  };
  struct Load {
    size_t max_calls = 0, running = 0, queued = 0;
    std::vector<Running> calls;  // longest-running first
  };
  Load load(const Provider& p) const;

  std::stop_token stop_token() const { return stop_.get_token(); }
  // Cancels every running call (call_cancelled turns true), refuses what is
  // queued with `shutting_down`, and refuses new jobs.
  void shutdown();
  // Waits until no call of `p` runs; false if `until` came first.
  bool wait_idle(const Provider& p, Clock::time_point until);

 private:
  struct Task;
  using TaskPtr = std::shared_ptr<Task>;
  struct Lanes;  // one provider's queues and slots

  Lanes& lanes_of(const Provider* p);
  bool starts_now(const Lanes& l, const Job& job) const;
  // Moves startable tasks of `l` out of its queues (lock held).
  void dispatch(Lanes& l, std::vector<TaskPtr>& start, std::vector<TaskPtr>& refuse);
  void release_key(Lanes& l, const std::string& key);
  void launch(std::vector<TaskPtr>& start, std::vector<TaskPtr>& refuse);
  void finish(const TaskPtr& t);
  void reap();  // the expiry timer, on a worker thread while tasks wait
  static void refuse_all(std::vector<TaskPtr>& refuse);

  Threads& threads_;
  Options options_;
  std::stop_source stop_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<const Provider*, std::unique_ptr<Lanes>> lanes_;
  size_t queued_ = 0;
  bool reaper_running_ = false;
  bool closed_ = false;
};

}  // namespace berth
