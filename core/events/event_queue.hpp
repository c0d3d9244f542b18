// The bounded queue between plugin threads (many producers) and the
// publisher thread (one consumer). A full queue blocks producers: events are
// never dropped; how often that happened is counted and published.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace berth {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : ring_(capacity ? capacity : 1) {}

  // Blocks while full. Returns false (item not queued) once closed.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    if (size_ == ring_.size() && !closed_) {
      blocked_total_.fetch_add(1, std::memory_order_relaxed);
      not_full_.wait(lock, [&] { return size_ < ring_.size() || closed_; });
    }
    if (closed_) return false;
    ring_[(head_ + size_) % ring_.size()] = std::move(item);
    ++size_;
    // Wake the consumer only if it sleeps: while it drains a batch, pushes
    // cost no futex call.
    const bool wake = consumer_waiting_;
    lock.unlock();
    if (wake) not_empty_.notify_one();
    return true;
  }

  // Moves up to `max` items into `out` (cleared first), waiting until
  // `until` for the first one. Returns false when closed and drained.
  bool pop_batch(std::vector<T>& out, size_t max, std::chrono::steady_clock::time_point until) {
    out.clear();
    std::unique_lock lock(mutex_);
    if (size_ == 0 && !closed_) {
      consumer_waiting_ = true;
      not_empty_.wait_until(lock, until, [&] { return size_ > 0 || closed_; });
      consumer_waiting_ = false;
    }
    while (size_ > 0 && out.size() < max) {
      out.push_back(std::move(ring_[head_]));
      head_ = (head_ + 1) % ring_.size();
      --size_;
    }
    const bool alive = !(closed_ && size_ == 0 && out.empty());
    lock.unlock();
    if (!out.empty()) not_full_.notify_all();
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
    return size_;
  }
  size_t capacity() const { return ring_.size(); }
  uint64_t blocked_total() const { return blocked_total_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::vector<T> ring_;
  size_t head_ = 0, size_ = 0;
  bool closed_ = false;
  bool consumer_waiting_ = false;  // one consumer: set around its wait
  std::atomic<uint64_t> blocked_total_{0};
};

}  // namespace berth
