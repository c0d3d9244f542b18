#include "sched/scheduler.hpp"

#include "sched/threads.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth {

struct Scheduler::Task {
  Job job;
  enum class State { queued, running, done } state = State::queued;
  Status why_refused;
  Clock::time_point started;
};

struct Scheduler::Lanes {
  size_t max_calls = 1;
  size_t lifecycle_max = 1;  // slots lifecycle ops may hold; the rest are for reads
  size_t running = 0, running_lifecycle = 0, queued = 0;
  std::deque<TaskPtr> reads, lifecycle;  // startable, in arrival order
  // Lifecycle tasks behind an earlier one on the same container.
  std::unordered_map<std::string, std::deque<TaskPtr>> behind;
  std::unordered_set<std::string> busy_keys;  // a task of the key is startable or running
  std::list<TaskPtr> in_plugin;
};

Scheduler::Scheduler(Threads& threads, Options options) : threads_(threads), options_(options) {}

Scheduler::~Scheduler() {
  shutdown();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !reaper_running_; });
}

void Scheduler::add_provider(const Provider& p, size_t max_calls) {
  auto l = std::make_unique<Lanes>();
  l->max_calls = std::max<size_t>(1, max_calls);
  // Reads keep an eighth of the slots (at least one) to themselves, so a
  // provider full of slow stops still answers status at once.
  l->lifecycle_max = l->max_calls == 1 ? 1 : l->max_calls - std::max<size_t>(1, l->max_calls / 8);
  std::lock_guard lock(mutex_);
  lanes_[&p] = std::move(l);
}

Scheduler::Lanes& Scheduler::lanes_of(const Provider* p) {
  auto it = lanes_.find(p);
  if (it == lanes_.end()) throw std::logic_error("job for an unregistered provider");
  return *it->second;
}

Status Scheduler::submit(Job job) {
  std::vector<TaskPtr> start, refuse;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return {Code::shutting_down, "berthd is stopping"};
    Lanes& l = lanes_of(job.provider);
    // Only a call that has to wait can be refused; and no provider may hold
    // more than 3/4 of the waiting room, so a stuck one leaves the rest some.
    if (!starts_now(l, job)) {
      if (queued_ >= options_.max_queued)
        return {Code::busy, fmt::format("{} calls are already waiting; retry", queued_)};
      const size_t share = lanes_.size() > 1 ? std::max<size_t>(1, options_.max_queued * 3 / 4) : options_.max_queued;
      if (l.queued >= share)
        return {Code::busy, fmt::format("{} calls of this provider are already waiting; retry", l.queued)};
    }
    auto t = std::make_shared<Task>();
    t->job = std::move(job);
    ++queued_;
    ++l.queued;
    if (t->job.lane == Lane::read) {
      l.reads.push_back(t);
    } else if (l.busy_keys.insert(t->job.key).second) {
      l.lifecycle.push_back(t);
    } else {
      l.behind[t->job.key].push_back(t);
    }
    dispatch(l, start, refuse);
    if (t->state == Task::State::queued && !reaper_running_) {
      // Something waits: the timer runs until nothing does.
      reaper_running_ = true;
      if (!threads_.run([this] { reap(); })) reaper_running_ = false;
    } else if (t->state == Task::State::queued) {
      changed_.notify_all();  // the timer may need to wake earlier
    }
  }
  launch(start, refuse);
  return {};
}

bool Scheduler::starts_now(const Lanes& l, const Job& job) const {
  if (l.running >= l.max_calls || !l.reads.empty()) return false;
  if (job.lane == Lane::read) return true;
  return l.lifecycle.empty() && l.running_lifecycle < l.lifecycle_max && !l.busy_keys.count(job.key);
}

void Scheduler::dispatch(Lanes& l, std::vector<TaskPtr>& start, std::vector<TaskPtr>& refuse) {
  const auto now = Clock::now();
  auto take = [&](std::deque<TaskPtr>& q) -> TaskPtr {
    auto t = std::move(q.front());
    q.pop_front();
    --queued_;
    --l.queued;
    return t;
  };
  while (l.running < l.max_calls) {
    TaskPtr t;
    if (!l.reads.empty()) t = take(l.reads);
    else if (!l.lifecycle.empty() && l.running_lifecycle < l.lifecycle_max) t = take(l.lifecycle);
    else break;
    if (now >= t->job.deadline) {
      t->state = Task::State::done;
      t->why_refused = {Code::timeout, fmt::format("{} was not started before its deadline", t->job.op)};
      refuse.push_back(t);
      if (t->job.lane == Lane::lifecycle) release_key(l, t->job.key);
      continue;
    }
    t->state = Task::State::running;
    t->started = now;
    ++l.running;
    if (t->job.lane == Lane::lifecycle) ++l.running_lifecycle;
    l.in_plugin.push_back(t);
    start.push_back(std::move(t));
  }
}

void Scheduler::release_key(Lanes& l, const std::string& key) {
  auto it = l.behind.find(key);
  if (it == l.behind.end()) {
    l.busy_keys.erase(key);
    return;
  }
  // The next op on this container becomes startable, in its arrival turn.
  l.lifecycle.push_back(std::move(it->second.front()));
  it->second.pop_front();
  if (it->second.empty()) l.behind.erase(it);
}

void Scheduler::refuse_all(std::vector<TaskPtr>& refuse) {
  for (auto& t : refuse)
    if (t->job.refused) t->job.refused(t->why_refused);
  refuse.clear();
}

void Scheduler::launch(std::vector<TaskPtr>& start, std::vector<TaskPtr>& refuse) {
  refuse_all(refuse);
  for (auto& t : start) {
    auto body = [this, t] {
      // The last look before the plugin: a deadline that passed on the way
      // to this thread still means "never started".
      if (Clock::now() >= t->job.deadline) {
        t->why_refused = {Code::timeout, fmt::format("{} was not started before its deadline", t->job.op)};
        if (t->job.refused) t->job.refused(t->why_refused);
      } else {
        // Last resort: a job that throws still gives back its slot and its
        // container's turn (finish below), and says why it failed.
        try {
          t->job.run(CallOptions{t->job.deadline, stop_.get_token()});
        } catch (const std::exception& e) {
          spdlog::error("{}: the call failed: {}", t->job.op, e.what());
          t->why_refused = {Code::internal, fmt::format("{} failed inside berthd: {}", t->job.op, e.what())};
          if (t->job.refused) t->job.refused(t->why_refused);
        }
      }
      finish(t);
    };
    if (!threads_.run(body)) {
      t->why_refused = {Code::internal, "no thread could be started for the call"};
      if (t->job.refused) t->job.refused(t->why_refused);
      finish(t);
    }
  }
}

void Scheduler::finish(const TaskPtr& t) {
  std::vector<TaskPtr> start, refuse;
  {
    std::lock_guard lock(mutex_);
    Lanes& l = lanes_of(t->job.provider);
    t->state = Task::State::done;
    --l.running;
    if (t->job.lane == Lane::lifecycle) {
      --l.running_lifecycle;
      release_key(l, t->job.key);
    }
    l.in_plugin.remove(t);
    if (!closed_) dispatch(l, start, refuse);
    changed_.notify_all();
  }
  launch(start, refuse);
}

void Scheduler::reap() {
  std::unique_lock lock(mutex_);
  while (!closed_) {
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<TaskPtr> expired;
    // Takes the expired tasks out of `q`; notes the earliest other deadline.
    auto sweep = [&](std::deque<TaskPtr>& q, Lanes& l, std::vector<std::string>* keys) {
      auto keep = std::remove_if(q.begin(), q.end(), [&](const TaskPtr& t) {
        if (t->job.deadline > now) {
          next = std::min(next, t->job.deadline);
          return false;
        }
        t->state = Task::State::done;
        t->why_refused = {Code::timeout, fmt::format("{} was not started before its deadline: the "
                                                     "provider's calls were all busy",
                                                     t->job.op)};
        if (keys) keys->push_back(t->job.key);
        expired.push_back(t);
        --queued_;
        --l.queued;
        return true;
      });
      q.erase(keep, q.end());
    };
    for (auto& [p, l] : lanes_) {
      std::vector<std::string> freed;
      sweep(l->reads, *l, nullptr);
      for (auto it = l->behind.begin(); it != l->behind.end();) {
        sweep(it->second, *l, nullptr);
        it = it->second.empty() ? l->behind.erase(it) : std::next(it);
      }
      sweep(l->lifecycle, *l, &freed);
      for (const auto& key : freed) release_key(*l, key);
    }
    if (!expired.empty()) {
      lock.unlock();
      refuse_all(expired);  // their callers learn at the deadline, not later
      lock.lock();
      continue;
    }
    if (next == Clock::time_point::max()) break;  // nothing waits
    changed_.wait_until(lock, next);
  }
  reaper_running_ = false;
  changed_.notify_all();
}

Scheduler::Load Scheduler::load(const Provider& p) const {
  std::lock_guard lock(mutex_);
  Load out;
  auto it = lanes_.find(&p);
  if (it == lanes_.end()) return out;
  const Lanes& l = *it->second;
  out.max_calls = l.max_calls;
  out.running = l.running;
  out.queued = l.queued;
  const auto now = Clock::now();
  for (const auto& t : l.in_plugin)
    out.calls.push_back({t->job.op, t->job.container,
                         std::chrono::duration_cast<std::chrono::milliseconds>(now - t->started),
                         now > t->job.deadline});
  std::sort(out.calls.begin(), out.calls.end(), [](auto& a, auto& b) { return a.running > b.running; });
  return out;
}

void Scheduler::shutdown() {
  std::vector<TaskPtr> refuse;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (auto& [p, l] : lanes_) {
      auto drain = [&](std::deque<TaskPtr>& q) {
        for (auto& t : q)
          if (t->state == Task::State::queued) {
            t->state = Task::State::done;
            t->why_refused = {Code::shutting_down, "berthd is stopping"};
            refuse.push_back(t);
          }
        q.clear();
      };
      drain(l->reads);
      drain(l->lifecycle);
      for (auto& [key, q] : l->behind) drain(q);
      l->behind.clear();
      l->queued = 0;
    }
    queued_ = 0;
    changed_.notify_all();
  }
  stop_.request_stop();  // running calls see call_cancelled, waits wake
  refuse_all(refuse);
}

bool Scheduler::wait_idle(const Provider& p, Clock::time_point until) {
  std::unique_lock lock(mutex_);
  auto it = lanes_.find(&p);
  if (it == lanes_.end()) return true;
  const Lanes& l = *it->second;
  return changed_.wait_until(lock, until, [&] { return l.running == 0; });
}

}  // namespace berth
