#include "sched/threads.hpp"

#include "common/thread_name.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include <cstring>

#include <pthread.h>

namespace berth {

struct Threads::State {
  Options options;
  mutable std::mutex mutex;
  std::condition_variable work;
  std::deque<std::function<void()>> tasks;
  size_t live = 0, idle = 0;
  bool closing = false;
};

namespace {

void thread_main(std::shared_ptr<Threads::State> s) noexcept {
  std::unique_lock lock(s->mutex);
  for (;;) {
    ++s->idle;
    const bool got = s->work.wait_for(lock, s->options.idle_ttl, [&] { return !s->tasks.empty() || s->closing; });
    --s->idle;
    if (!got || s->tasks.empty()) break;  // idle too long, or closing
    auto task = std::move(s->tasks.front());
    s->tasks.pop_front();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("a worker task failed: {}", e.what());
    } catch (...) {
      spdlog::error("a worker task failed with an unknown exception");
    }
    task = nullptr;  // destroy captures outside the lock
    lock.lock();
  }
  --s->live;
}

extern "C" void* thread_entry(void* arg) {
  std::unique_ptr<std::shared_ptr<Threads::State>> s(static_cast<std::shared_ptr<Threads::State>*>(arg));
  name_this_thread("plugin-call");
  thread_main(std::move(*s));
  return nullptr;
}

}  // namespace

Threads::Threads() : Threads(Options{}) {}

Threads::Threads(Options options) : state_(std::make_shared<State>()) { state_->options = options; }

Threads::~Threads() {
  std::lock_guard lock(state_->mutex);
  state_->closing = true;
  state_->work.notify_all();
}

bool Threads::run(std::function<void()> task) {
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  s.tasks.push_back(std::move(task));
  if (s.idle >= s.tasks.size()) {
    s.work.notify_one();
    return true;
  }
  // No idle thread for it: start one (detached; it owns a reference to the
  // state, never to this object).
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, s.options.stack_bytes);
  auto* arg = new std::shared_ptr<State>(state_);
  pthread_t id;
  const int rc = pthread_create(&id, &attr, thread_entry, arg);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete arg;
    s.tasks.pop_back();
    spdlog::error("cannot start a worker thread: {}", std::strerror(rc));
    return false;
  }
  ++s.live;
  return true;
}

size_t Threads::live() const {
  std::lock_guard lock(state_->mutex);
  return state_->live;
}

size_t Threads::idle() const {
  std::lock_guard lock(state_->mutex);
  return state_->idle;
}

}  // namespace berth
