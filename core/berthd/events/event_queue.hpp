// The queue between plugin threads (many producers) and the pipeline thread
// (one consumer). Bounded by count: a full queue blocks producers, so events
// are never dropped; how often that happened is counted and published. Its
// memory grows with what it holds, not with its capacity: two vectors trade
// places, the one being filled and the batch being drained, so under load
// no push allocates (a deque of items this size allocated and freed one node
// per event, each freed on another thread than the one that allocated it);
// a big vector is let go once the batches are small again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <vector>
#include <mutex>

namespace berth {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Blocks while full. Returns false (item not queued) once closed. The
  // item is built in place from `args` (an event is moved once, not thrice).
  template <class... Args>
  bool push(Args&&... args) {
    return push_impl(true, std::forward<Args>(args)...);
  }
  // Never blocks: for items the consumer needs to make progress (results of
  // its own requests), which must not wait behind a full queue of events.
  template <class... Args>
  bool push_now(Args&&... args) {
    return push_impl(false, std::forward<Args>(args)...);
  }

  // Takes everything queued into `out` (the previous batch, cleared first) in
  // one swap, waiting until `until` for the first item. Returns false when
  // closed and drained.
  bool pop_all(std::vector<T>& out, std::chrono::steady_clock::time_point until) {
    const size_t drained = out.size();
    out.clear();
    if (out.capacity() > kKeepItems && drained < out.capacity() / 4) std::vector<T>().swap(out);
    std::unique_lock lock(mutex_);
    if (items_.empty() && !closed_) {
      consumer_waiting_ = true;
      not_empty_.wait_until(lock, until, [&] { return !items_.empty() || closed_; });
      consumer_waiting_ = false;
    }
    out.swap(items_);
    const bool alive = !(closed_ && out.empty());
    const bool wake = producers_waiting_ > 0 && !out.empty();
    lock.unlock();
    if (wake) not_full_.notify_all();
    return alive;
  }

  // Refuses further pushes and wakes everyone; queued items stay poppable.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  size_t depth() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }
  uint64_t blocked_total() const { return blocked_total_.load(std::memory_order_relaxed); }

 private:
  template <class... Args>
  bool push_impl(bool may_block, Args&&... args) {
    std::unique_lock lock(mutex_);
    if (may_block && items_.size() >= capacity_ && !closed_) {
      blocked_total_.fetch_add(1, std::memory_order_relaxed);
      ++producers_waiting_;
      not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
      --producers_waiting_;
    }
    if (closed_) return false;
    items_.emplace_back(std::forward<Args>(args)...);
    // Wake the consumer only if it sleeps: while it drains a batch, pushes
    // cost no futex call.
    const bool wake = consumer_waiting_;
    lock.unlock();
    if (wake) not_empty_.notify_one();
    return true;
  }

  static constexpr size_t kKeepItems = 1024;  // a small batch's vector is always kept
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::vector<T> items_;
  bool closed_ = false;
  bool consumer_waiting_ = false;  // one consumer: set around its wait
  size_t producers_waiting_ = 0;
  std::atomic<uint64_t> blocked_total_{0};
};

}  // namespace berth
