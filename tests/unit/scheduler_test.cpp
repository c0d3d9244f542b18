// Who runs which plugin call when (core/berthd/sched/scheduler.hpp). Jobs are keyed
// by real providers made from sim.so, but never call them: each job records
// that it started and then waits for the test to release it, so every
// assertion is about the scheduler alone.
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"
#include "sched/scheduler.hpp"
#include "sched/threads.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using berth::Clock;
using berth::Code;
using berth::Provider;
using berth::Scheduler;
using berth::Status;
using Lane = Scheduler::Lane;

// Generous bound for anything that should happen "at once".
constexpr auto kPatience = 10s;

class NullListener : public berth::ProviderListener {
 public:
  bool on_event(Provider&, berth::Event) override { return true; }
  void on_state(Provider&, berth_provider_state, const std::string&) override {}
};

// What the jobs did, in order, and the gates they wait on. Jobs are named by
// their `op`.
class Journal {
 public:
  struct Refusal {
    Status status;
    Clock::time_point at;
  };

  void started(const std::string& op) {
    std::lock_guard lock(m_);
    started_.push_back(op);
    peak_ = std::max(peak_, ++running_);
    cv_.notify_all();
  }
  void finished(const std::string& op, bool saw_stop) {
    std::lock_guard lock(m_);
    --running_;
    finished_.push_back(op);
    if (saw_stop) stopped_.insert(op);
    cv_.notify_all();
  }
  void refused(const std::string& op, const Status& s) {
    std::lock_guard lock(m_);
    refused_[op] = {s, Clock::now()};
    cv_.notify_all();
  }
  // Blocks the calling job until the test releases it (or the daemon stops).
  void hold(const std::string& op, const std::stop_token& stop) {
    std::unique_lock lock(m_);
    cv_.wait(lock, stop, [&] { return all_released_ || released_.count(op); });
  }
  void release(const std::string& op) {
    std::lock_guard lock(m_);
    released_.insert(op);
    cv_.notify_all();
  }
  void release_all() {
    std::lock_guard lock(m_);
    all_released_ = true;
    cv_.notify_all();
  }

  bool wait_started(const std::string& op) {
    return wait([&] { return std::count(started_.begin(), started_.end(), op) > 0; });
  }
  bool wait_started_count(size_t n) {
    return wait([&] { return started_.size() >= n; });
  }
  bool wait_finished_count(size_t n) {
    return wait([&] { return finished_.size() >= n; });
  }
  bool wait_refused(const std::string& op) {
    return wait([&] { return refused_.count(op) > 0; });
  }

  std::vector<std::string> started_ops() const { return locked(started_); }
  std::optional<Refusal> refusal(const std::string& op) const {
    std::lock_guard lock(m_);
    auto it = refused_.find(op);
    return it == refused_.end() ? std::nullopt : std::optional(it->second);
  }
  bool ran(const std::string& op) const {
    std::lock_guard lock(m_);
    return std::count(started_.begin(), started_.end(), op) > 0;
  }
  bool saw_stop(const std::string& op) const {
    std::lock_guard lock(m_);
    return stopped_.count(op) > 0;
  }
  int peak() const {
    std::lock_guard lock(m_);
    return peak_;
  }

 private:
  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, kPatience, pred);
  }
  template <class T>
  T locked(const T& v) const {
    std::lock_guard lock(m_);
    return v;
  }

  mutable std::mutex m_;
  std::condition_variable_any cv_;
  std::vector<std::string> started_, finished_;
  std::set<std::string> stopped_, released_;
  std::map<std::string, Refusal> refused_;
  int running_ = 0, peak_ = 0;
  bool all_released_ = false;
};

class SchedulerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto plugin = berth::Plugin::load(BERTH_TEST_PLUGIN_DIR "/sim.so");
    ASSERT_TRUE(plugin) << plugin.error().message();
    for (auto [slot, name] : {std::pair{&a_, "a"}, std::pair{&b_, "b"}}) {
      auto p = Provider::create(*plugin, name, "{}", listener_);
      ASSERT_TRUE(p) << p.error().message();
      *slot = std::move(*p);
    }
  }
  static void TearDownTestSuite() {
    a_.reset();
    b_.reset();
  }

  void SetUp() override { ASSERT_TRUE(a_ && b_) << "sim.so did not load"; }

  // Releases every job and waits for the threads to leave them before the
  // scheduler (which they call back) and the journal (which they use) go.
  void TearDown() override {
    journal_.release_all();
    if (sched_) {
      for (const Provider* p : {a_.get(), b_.get()})
        EXPECT_TRUE(sched_->wait_idle(*p, Clock::now() + kPatience)) << "a job never finished";
      sched_.reset();
    }
  }

  Scheduler& make(size_t max_calls_a, size_t max_calls_b = 4, size_t max_queued = 1024) {
    sched_ = std::make_unique<Scheduler>(threads_, Scheduler::Options{max_queued});
    sched_->add_provider(*a_, max_calls_a);
    sched_->add_provider(*b_, max_calls_b);
    return *sched_;
  }

  // A job that records its start and waits until released.
  Scheduler::Job job(const Provider& p, Lane lane, std::string op, std::string key = "",
                     std::chrono::milliseconds deadline_in = 60s) {
    Scheduler::Job j;
    j.provider = &p;
    j.lane = lane;
    j.key = key;
    j.op = op;
    j.container = key;
    j.deadline = Clock::now() + deadline_in;
    j.run = [this, op](const berth::CallOptions& o) {
      journal_.started(op);
      journal_.hold(op, o.stop);
      journal_.finished(op, o.stop.stop_requested());
    };
    j.refused = [this, op](const Status& s) { journal_.refused(op, s); };
    return j;
  }
  Scheduler::Job read(const Provider& p, std::string op, std::chrono::milliseconds deadline_in = 60s) {
    return job(p, Lane::read, std::move(op), "", deadline_in);
  }
  Scheduler::Job lifecycle(const Provider& p, std::string op, std::string container,
                           std::chrono::milliseconds deadline_in = 60s) {
    return job(p, Lane::lifecycle, std::move(op), std::move(container), deadline_in);
  }
  void submit_ok(Scheduler::Job j) {
    const std::string op = j.op;
    Status s = sched_->submit(std::move(j));
    ASSERT_TRUE(s) << op << ": " << s.message();
  }

  static inline NullListener listener_;
  static inline std::unique_ptr<Provider> a_, b_;

  Journal journal_;
  berth::Threads threads_;  // declared before sched_: outlives it
  std::unique_ptr<Scheduler> sched_;
};

// --------------------------------------------------------------- max_calls

TEST_F(SchedulerTest, AtMostMaxCallsJobsOfAProviderRunAtOnce) {
  auto& s = make(2);
  for (int i = 0; i < 6; ++i) submit_ok(read(*a_, "r" + std::to_string(i)));
  ASSERT_TRUE(journal_.wait_started_count(2));
  auto load = s.load(*a_);
  EXPECT_EQ(load.running, 2u);
  EXPECT_EQ(load.queued, 4u);

  journal_.release_all();
  ASSERT_TRUE(journal_.wait_finished_count(6));
  EXPECT_EQ(journal_.peak(), 2);
}

TEST_F(SchedulerTest, QueuedJobsHoldNoThread) {
  make(2);
  for (int i = 0; i < 20; ++i) submit_ok(read(*a_, "r" + std::to_string(i)));
  ASSERT_TRUE(journal_.wait_started_count(2));
  EXPECT_LE(threads_.live(), 2u + 1u) << "two calls and the deadline timer";
}

TEST_F(SchedulerTest, AJobStartsAsSoonAsASlotFrees) {
  auto& s = make(1);
  submit_ok(read(*a_, "first"));
  submit_ok(read(*a_, "second"));
  ASSERT_TRUE(journal_.wait_started("first"));
  EXPECT_FALSE(journal_.ran("second"));
  journal_.release("first");
  EXPECT_TRUE(journal_.wait_started("second"));
  EXPECT_EQ(s.load(*a_).queued, 0u);
}

// ------------------------------------------------------- reads vs lifecycle

TEST_F(SchedulerTest, AReadStartsAtOnceWhileLifecycleOpsFillTheirSlots) {
  auto& s = make(8);  // lifecycle ops may hold 8 - max(1, 8/8) = 7 slots
  for (int i = 0; i < 7; ++i) submit_ok(lifecycle(*a_, "stop" + std::to_string(i), "c" + std::to_string(i)));
  ASSERT_TRUE(journal_.wait_started_count(7));
  submit_ok(lifecycle(*a_, "stop7", "c7"));
  EXPECT_EQ(s.load(*a_).queued, 1u) << "the 8th lifecycle op waits for a lifecycle slot";

  submit_ok(read(*a_, "status"));
  journal_.release("status");
  EXPECT_TRUE(journal_.wait_started("status"));
  EXPECT_FALSE(journal_.ran("stop7"));
}

TEST_F(SchedulerTest, AReadOvertakesQueuedLifecycleOps) {
  make(2);  // one slot for lifecycle ops, one kept for reads
  submit_ok(lifecycle(*a_, "stop-web", "web"));
  submit_ok(lifecycle(*a_, "stop-db", "db"));
  submit_ok(read(*a_, "status"));
  EXPECT_TRUE(journal_.wait_started("status"));
  EXPECT_FALSE(journal_.ran("stop-db"));
}

// A job that throws (a bug, or memory running out) gives back its slot and
// its container's turn, and its caller hears why.
TEST_F(SchedulerTest, AJobThatThrowsFreesItsSlotAndItsContainer) {
  auto& s = make(1);
  auto bad = lifecycle(*a_, "start", "web");
  bad.run = [](const berth::CallOptions&) { throw std::runtime_error("boom"); };
  submit_ok(std::move(bad));
  submit_ok(lifecycle(*a_, "stop", "web"));
  journal_.release_all();
  EXPECT_TRUE(journal_.wait_finished_count(1)) << "the next op on web still runs";
  EXPECT_TRUE(journal_.ran("stop"));
  ASSERT_TRUE(journal_.wait_refused("start"));
  EXPECT_EQ(journal_.refusal("start")->status.code(), berth::Code::internal);
  EXPECT_NE(journal_.refusal("start")->status.message().find("boom"), std::string::npos);
  // The slot is given back after the job's body returns: wait for it.
  for (const auto until = std::chrono::steady_clock::now() + kPatience;
       s.load(*a_).running != 0 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(s.load(*a_).running, 0u);
}

// ---------------------------------------------------- per-container order

TEST_F(SchedulerTest, LifecycleOpsOnOneContainerRunOneAtATimeInArrivalOrder) {
  auto& s = make(4);
  for (const char* op : {"start", "stop", "restart", "kill"}) submit_ok(lifecycle(*a_, op, "web"));
  ASSERT_TRUE(journal_.wait_started("start"));
  EXPECT_EQ(s.load(*a_).running, 1u) << "slots are free, but the container is busy";
  EXPECT_EQ(s.load(*a_).queued, 3u);

  journal_.release_all();
  ASSERT_TRUE(journal_.wait_finished_count(4));
  EXPECT_EQ(journal_.started_ops(), (std::vector<std::string>{"start", "stop", "restart", "kill"}));
  EXPECT_EQ(journal_.peak(), 1);
}

TEST_F(SchedulerTest, LifecycleOpsOnDifferentContainersRunConcurrently) {
  auto& s = make(4);
  submit_ok(lifecycle(*a_, "stop-web", "web"));
  submit_ok(lifecycle(*a_, "stop-db", "db"));
  EXPECT_TRUE(journal_.wait_started("stop-web"));
  EXPECT_TRUE(journal_.wait_started("stop-db"));
  EXPECT_EQ(s.load(*a_).running, 2u);
}

TEST_F(SchedulerTest, AnOpOnABusyContainerDoesNotBlockOpsOnOthers) {
  make(4);
  submit_ok(lifecycle(*a_, "stop-web", "web"));
  submit_ok(lifecycle(*a_, "start-web", "web"));
  submit_ok(lifecycle(*a_, "stop-db", "db"));
  EXPECT_TRUE(journal_.wait_started("stop-db"));
  EXPECT_FALSE(journal_.ran("start-web"));
}

// ---------------------------------------------------------------- deadlines

TEST_F(SchedulerTest, AJobWhoseDeadlinePassesWhileQueuedIsRefusedAtItsDeadline) {
  make(1);
  submit_ok(read(*a_, "stuck"));
  ASSERT_TRUE(journal_.wait_started("stuck"));
  auto late = read(*a_, "late", 200ms);
  const auto deadline = late.deadline;
  submit_ok(std::move(late));

  ASSERT_TRUE(journal_.wait_refused("late"));
  const auto refusal = *journal_.refusal("late");
  EXPECT_EQ(refusal.status.code(), Code::timeout);
  EXPECT_GE(refusal.at, deadline);
  EXPECT_LT(refusal.at, deadline + 2s) << "refused by the timer, not when a slot freed";
  EXPECT_FALSE(journal_.ran("late"));
}

TEST_F(SchedulerTest, AJobRefusedForItsDeadlineNeverRunsWhenTheSlotFrees) {
  auto& s = make(1);
  submit_ok(read(*a_, "stuck"));
  ASSERT_TRUE(journal_.wait_started("stuck"));
  submit_ok(read(*a_, "late", 100ms));
  ASSERT_TRUE(journal_.wait_refused("late"));

  journal_.release_all();
  ASSERT_TRUE(s.wait_idle(*a_, Clock::now() + kPatience));
  EXPECT_FALSE(journal_.ran("late"));
}

TEST_F(SchedulerTest, AnEarlierDeadlineWakesTheTimerSooner) {
  make(1);
  submit_ok(read(*a_, "stuck"));
  ASSERT_TRUE(journal_.wait_started("stuck"));
  submit_ok(read(*a_, "patient", 60s));  // the timer now sleeps for a minute
  auto hurried = read(*a_, "hurried", 200ms);
  const auto deadline = hurried.deadline;
  submit_ok(std::move(hurried));

  ASSERT_TRUE(journal_.wait_refused("hurried"));
  EXPECT_LT(journal_.refusal("hurried")->at, deadline + 2s);
  EXPECT_FALSE(journal_.refusal("patient"));
}

TEST_F(SchedulerTest, AnExpiredLifecycleOpFreesItsContainerForTheNext) {
  make(2);  // one lifecycle slot
  submit_ok(lifecycle(*a_, "stuck", "db"));
  ASSERT_TRUE(journal_.wait_started("stuck"));
  submit_ok(lifecycle(*a_, "expires", "web", 100ms));
  submit_ok(lifecycle(*a_, "next", "web"));
  ASSERT_TRUE(journal_.wait_refused("expires"));

  journal_.release("stuck");
  journal_.release("next");
  EXPECT_TRUE(journal_.wait_started("next"));
  EXPECT_FALSE(journal_.ran("expires"));
}

// --------------------------------------------------------------- max_queued

TEST_F(SchedulerTest, SubmitBeyondMaxQueuedIsBusyAndNeverRefusedLater) {
  make(1, 4, /*max_queued=*/4);  // two providers: 3 of the 4 for one of them
  submit_ok(read(*a_, "running"));
  ASSERT_TRUE(journal_.wait_started("running"));
  submit_ok(read(*a_, "q1"));
  submit_ok(read(*a_, "q2"));
  submit_ok(read(*a_, "q3"));

  Status s = sched_->submit(read(*a_, "q4"));
  EXPECT_EQ(s.code(), Code::busy);
  journal_.release_all();
  ASSERT_TRUE(journal_.wait_finished_count(4));
  EXPECT_FALSE(journal_.ran("q4"));
  EXPECT_FALSE(journal_.refusal("q4")) << "a busy job's refused() is not called";
}

// A stuck provider A fills its own waiting room; a job of provider B that
// can start at once is never refused, and B keeps a quarter of the room for
// jobs that must wait.
TEST_F(SchedulerTest, AStuckProvidersQueueLeavesOtherProvidersRoom) {
  make(1, 1, /*max_queued=*/4);
  submit_ok(read(*a_, "stuck"));
  ASSERT_TRUE(journal_.wait_started("stuck"));
  for (const char* q : {"a-q1", "a-q2", "a-q3"}) submit_ok(read(*a_, q));
  Status a4 = sched_->submit(read(*a_, "a-q4"));
  EXPECT_EQ(a4.code(), Code::busy) << "no provider holds more than 3/4 of the waiting room";

  submit_ok(read(*b_, "b-now"));  // a free slot: starts at once
  ASSERT_TRUE(journal_.wait_started("b-now"));
  submit_ok(read(*b_, "b-waits"));  // B is busy now: this one waits, in B's share
  Status b3 = sched_->submit(read(*b_, "b-too-many"));
  EXPECT_EQ(b3.code(), Code::busy) << "4 waiting in all";
}

// ----------------------------------------------------------------- shutdown

TEST_F(SchedulerTest, ShutdownCancelsRunningJobs) {
  auto& s = make(1);
  submit_ok(read(*a_, "running"));
  ASSERT_TRUE(journal_.wait_started("running"));
  s.shutdown();
  ASSERT_TRUE(s.wait_idle(*a_, Clock::now() + kPatience)) << "the job did not see the stop";
  EXPECT_TRUE(journal_.saw_stop("running"));
}

TEST_F(SchedulerTest, ShutdownRefusesQueuedJobsWithShuttingDown) {
  auto& s = make(1);
  submit_ok(read(*a_, "running"));
  ASSERT_TRUE(journal_.wait_started("running"));
  submit_ok(read(*a_, "queued-read"));
  submit_ok(lifecycle(*a_, "queued-stop", "web"));
  submit_ok(lifecycle(*a_, "queued-start", "web"));  // behind queued-stop
  s.shutdown();
  for (const char* op : {"queued-read", "queued-stop", "queued-start"}) {
    auto r = journal_.refusal(op);
    ASSERT_TRUE(r) << op << " was not refused by the time shutdown() returned";
    EXPECT_EQ(r->status.code(), Code::shutting_down) << op;
  }
  ASSERT_TRUE(s.wait_idle(*a_, Clock::now() + kPatience));
  for (const char* op : {"queued-read", "queued-stop", "queued-start"}) EXPECT_FALSE(journal_.ran(op)) << op;
}

TEST_F(SchedulerTest, SubmitAfterShutdownIsShuttingDown) {
  auto& s = make(1);
  s.shutdown();
  EXPECT_EQ(s.submit(read(*a_, "late")).code(), Code::shutting_down);
  EXPECT_FALSE(journal_.refusal("late"));
}

// --------------------------------------------------------------- wait_idle

TEST_F(SchedulerTest, WaitIdleIsFalseWhileAJobRunsAndTrueOnceItEnds) {
  auto& s = make(1);
  submit_ok(read(*a_, "running"));
  ASSERT_TRUE(journal_.wait_started("running"));
  EXPECT_FALSE(s.wait_idle(*a_, Clock::now() + 50ms));
  journal_.release("running");
  EXPECT_TRUE(s.wait_idle(*a_, Clock::now() + kPatience));
}

TEST_F(SchedulerTest, WaitIdleOfAnIdleProviderReturnsAtOnceWhileAnotherIsBusy) {
  auto& s = make(1);
  submit_ok(read(*a_, "running"));
  ASSERT_TRUE(journal_.wait_started("running"));
  EXPECT_TRUE(s.wait_idle(*b_, Clock::now()));
}

// --------------------------------------------------------------------- load

TEST_F(SchedulerTest, LoadReportsRunningAndQueuedCallsWithTheirOpAndContainer) {
  auto& s = make(1);
  submit_ok(lifecycle(*a_, "stop", "web"));
  ASSERT_TRUE(journal_.wait_started("stop"));
  submit_ok(read(*a_, "status"));

  auto load = s.load(*a_);
  EXPECT_EQ(load.max_calls, 1u);
  EXPECT_EQ(load.running, 1u);
  EXPECT_EQ(load.queued, 1u);
  ASSERT_EQ(load.calls.size(), 1u);
  EXPECT_EQ(load.calls[0].op, "stop");
  EXPECT_EQ(load.calls[0].container, "web");
  EXPECT_FALSE(load.calls[0].overdue);
}

TEST_F(SchedulerTest, LoadMarksACallStillRunningPastItsDeadlineOverdue) {
  auto& s = make(1);
  auto j = lifecycle(*a_, "stop", "web", 100ms);
  const auto deadline = j.deadline;
  submit_ok(std::move(j));
  ASSERT_TRUE(journal_.wait_started("stop"));
  std::this_thread::sleep_until(deadline + 1ms);  // the clock is the input here, not a thread
  auto load = s.load(*a_);
  ASSERT_EQ(load.calls.size(), 1u);
  EXPECT_TRUE(load.calls[0].overdue);
}

TEST_F(SchedulerTest, LoadOfAnIdleProviderIsEmpty) {
  auto& s = make(3);
  auto load = s.load(*b_);
  EXPECT_EQ(load.max_calls, 4u);
  EXPECT_EQ(load.running, 0u);
  EXPECT_EQ(load.queued, 0u);
  EXPECT_TRUE(load.calls.empty());
}

// ------------------------------------------------------ provider isolation

TEST_F(SchedulerTest, AStuckProviderDoesNotDelayAnotherProvidersJobs) {
  auto& s = make(2);
  submit_ok(lifecycle(*a_, "a-stop", "web"));
  submit_ok(read(*a_, "a-list"));
  submit_ok(read(*a_, "a-status"));  // queued behind A's full slots
  ASSERT_TRUE(journal_.wait_started_count(2));

  journal_.release("b-start");
  journal_.release("b-status");
  submit_ok(lifecycle(*b_, "b-start", "web"));  // same container name, other provider
  submit_ok(read(*b_, "b-status"));
  EXPECT_TRUE(journal_.wait_started("b-start"));
  EXPECT_TRUE(journal_.wait_started("b-status"));
  EXPECT_TRUE(s.wait_idle(*b_, Clock::now() + kPatience));
  EXPECT_EQ(s.load(*a_).running, 2u);
  EXPECT_EQ(s.load(*a_).queued, 1u);
}

}  // namespace
