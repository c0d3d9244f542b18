// The pipeline's handling of change reports (host->changed): a report
// becomes a status and a published difference; a flood of reports never
// grows the queue past its bound. And a watching provider's outage: what
// changed meanwhile is published once, and events that arrive while the
// list is under way wait for it.
#include "events/pipeline.hpp"
#include "plugin/plugin.hpp"
#include "sched/scheduler.hpp"
#include "sched/threads.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

namespace {

using namespace berth;
using namespace std::chrono_literals;

class Recorder : public EventSink {
 public:
  void container_event(std::string_view, const Event& e, uint64_t, berth_state, Origin o) override {
    std::lock_guard lock(mutex_);
    events_.push_back({e, o});
    cv_.notify_all();
  }
  // Once holding, each provider state waits here until released: the
  // pipeline, which publishes it, is held at a point the test chooses.
  void provider_state(std::string_view, std::string_view, bool, std::string_view, uint64_t) override {
    std::unique_lock lock(mutex_);
    const size_t mine = ++states_entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !holding_ || states_released_ >= mine; });
  }
  void hold_states() {
    std::lock_guard lock(mutex_);
    holding_ = true;
    states_released_ = states_entered_;  // those before pass
  }
  void release_one_state() {
    std::lock_guard lock(mutex_);
    ++states_released_;
    cv_.notify_all();
  }
  void release_all() {
    std::lock_guard lock(mutex_);
    holding_ = false;
    cv_.notify_all();
  }
  size_t states_entered() {
    std::lock_guard lock(mutex_);
    return states_entered_;
  }
  bool wait_states_entered(size_t n, std::chrono::milliseconds t) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, t, [&] { return states_entered_ >= n; });
  }
  size_t count(berth_event_type type, const std::string& name, std::optional<Origin> origin = std::nullopt) {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& [e, o] : events_) n += e.type == type && e.container_name == name && (!origin || o == *origin);
    return n;
  }
  // An event of `type` for `name`, from `origin` (any when nullopt).
  bool wait_for(berth_event_type type, const std::string& name, std::optional<Origin> origin,
                std::chrono::milliseconds t) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, t, [&] {
      for (const auto& [e, o] : events_)
        if (e.type == type && e.container_name == name && (!origin || o == *origin)) return true;
      return false;
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<Event, Origin>> events_;
  bool holding_ = false;
  size_t states_entered_ = 0, states_released_ = 0;
};

// Hands the pipeline everything but op notices: the status berthd asks
// after an op on a polled provider would publish the change before the
// report under test could.
class WithoutOpNotices : public ProviderListener {
 public:
  explicit WithoutOpNotices(ProviderListener& to) : to_(to) {}
  bool on_event(Provider& p, Event e) override { return to_.on_event(p, std::move(e)); }
  void on_state(Provider& p, berth_provider_state s, const std::string& r) override { to_.on_state(p, s, r); }
  void on_changed(Provider& p, std::string ref) override { to_.on_changed(p, std::move(ref)); }

 private:
  ProviderListener& to_;
};

class PipelineChanges : public testing::Test {
 protected:
  static constexpr size_t kHeldMax = 100;
  void SetUp() override {
    auto plugin = Plugin::load(BERTH_TEST_PLUGIN_DIR "/sim.so");
    ASSERT_TRUE(plugin) << plugin.error().message();
    scheduler_.emplace(threads_, Scheduler::Options{});
    Pipeline::Options o;
    o.held_max = kHeldMax;
    pipeline_.emplace(recorder_, view_, *scheduler_, o);
    // Polled (no watch): nothing but our reports and the polls publishes.
    listener_.emplace(*pipeline_);
    auto p = Provider::create(*plugin, "sim", R"({"disable":["watch"]})", *listener_);
    ASSERT_TRUE(p) << p.error().message();
    provider_ = std::move(*p);
    scheduler_->add_provider(*provider_, 4);
    pipeline_->add_provider(*provider_, 1h);  // one list, then only what we report
    pipeline_->start();
    for (int i = 0; i < 500 && !view_.synced("sim"); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(view_.synced("sim"));
  }
  void TearDown() override {
    recorder_.release_all();  // a test that failed while holding the pipeline
    scheduler_->shutdown();
    if (provider_) scheduler_->wait_idle(*provider_, Clock::now() + 10s);
    pipeline_->stop();
    provider_.reset();
  }

  Threads threads_;
  std::optional<Scheduler> scheduler_;
  StateView view_;
  Recorder recorder_;
  std::optional<Pipeline> pipeline_;
  std::optional<WithoutOpNotices> listener_;
  std::unique_ptr<Provider> provider_;
};

// sim.so's stop emits nothing while it is not watched: only the report
// (and the status berthd asks for it) can tell.
TEST_F(PipelineChanges, AReportedChangeIsAskedForAndItsDifferencePublished) {
  ASSERT_TRUE(provider_->stop("web", std::nullopt, 1, CallOptions::within(5s)));
  pipeline_->on_changed(*provider_, "web");
  EXPECT_TRUE(recorder_.wait_for(BERTH_EVENT_EXITED, "web", Origin::engine, 5s));
  EXPECT_EQ(view_.state_of("sim", "5e1f0c0a11ce"), BERTH_STATE_STOPPED);
}

TEST_F(PipelineChanges, AFloodOfReportsStaysWithinTheBoundAndEndsInOneList) {
  // Many distinct refs, many times each, faster than anything is asked.
  for (int round = 0; round < 20; ++round)
    for (int i = 0; i < 1000; ++i) pipeline_->on_changed(*provider_, "flood-" + std::to_string(i));
  // Queued: at most held_max reports and one 'list instead', plus the status
  // answers of the refs being followed (at most held_max of them), plus the
  // answer of the one list in flight (lists run one at a time). The next
  // test reaches that bound exactly.
  EXPECT_LE(pipeline_->stats().queue_depth, 2 * kHeldMax + 2) << "reports and answers stay within their bounds";
  // Nothing was lost on the way: a real change among the flood is published,
  // by the list the overflow asked for (origin poll) or by its own report
  // (engine), whichever the pipeline reached first.
  ASSERT_TRUE(provider_->stop("web", std::nullopt, 1, CallOptions::within(5s)));
  pipeline_->on_changed(*provider_, "web");
  EXPECT_TRUE(recorder_.wait_for(BERTH_EVENT_EXITED, "web", std::nullopt, 10s));
  EXPECT_GE(pipeline_->provider_stats(*provider_).held_overflows, 1u);
}

// The bound above, reached and not passed: the pipeline is held (in the
// sink, publishing a provider state) at the moment it has asked held_max
// statuses and started one list, and their answers are all in.
TEST_F(PipelineChanges, TheQueueReachesItsBoundExactlyAndNoFurther) {
  auto depth = [&] { return pipeline_->stats().queue_depth; };
  recorder_.hold_states();
  const size_t entered = recorder_.states_entered();
  pipeline_->on_state(*provider_, BERTH_PROVIDER_DOWN, "held once");
  ASSERT_TRUE(recorder_.wait_states_entered(entered + 1, 5s));
  // Behind it: held_max reports, the one past them that asks for a list
  // instead, and a second hold.
  for (size_t i = 0; i <= kHeldMax; ++i) pipeline_->on_changed(*provider_, "flood-" + std::to_string(i));
  pipeline_->on_state(*provider_, BERTH_PROVIDER_DOWN, "held twice");
  EXPECT_EQ(depth(), kHeldMax + 2);
  // The pipeline takes them all (held_max statuses asked, one list
  // started) and stops at the second hold; the answers come in behind it.
  recorder_.release_one_state();
  ASSERT_TRUE(recorder_.wait_states_entered(entered + 2, 5s));
  for (const auto until = Clock::now() + 10s; depth() < kHeldMax + 1 && Clock::now() < until;)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(depth(), kHeldMax + 1) << "held_max status answers and the list's";
  // A flood now adds held_max reports and one 'list instead', and no more.
  for (int round = 0; round < 20; ++round)
    for (int i = 0; i < 1000; ++i) pipeline_->on_changed(*provider_, "again-" + std::to_string(i));
  EXPECT_EQ(depth(), 2 * kHeldMax + 2);
  recorder_.release_all();
}

// A watching provider whose own reports the test makes: sim.so's events
// and up/down reports are dropped, so the engine can change unseen and the
// test says when the stream is up, down, and what it carried.
class Muted : public ProviderListener {
 public:
  explicit Muted(ProviderListener& to) : to_(to) {}
  bool on_event(Provider&, Event) override { return true; }
  void on_state(Provider&, berth_provider_state, const std::string&) override {}
  void on_op(Provider& p, const OpNotice& n, const CallOptions& o) override { to_.on_op(p, n, o); }
  void on_changed(Provider& p, std::string ref) override { to_.on_changed(p, std::move(ref)); }

 private:
  ProviderListener& to_;
};

class PipelineOutage : public testing::Test {
 protected:
  static constexpr const char* kWeb = "5e1f0c0a11ce";
  void start(const std::string& config) {
    auto plugin = Plugin::load(BERTH_TEST_PLUGIN_DIR "/sim.so");
    ASSERT_TRUE(plugin) << plugin.error().message();
    scheduler_.emplace(threads_, Scheduler::Options{});
    pipeline_.emplace(recorder_, view_, *scheduler_, Pipeline::Options{});
    listener_.emplace(*pipeline_);
    auto p = Provider::create(*plugin, "sim", config, *listener_);
    ASSERT_TRUE(p) << p.error().message();
    provider_ = std::move(*p);
    scheduler_->add_provider(*provider_, 4);
    pipeline_->add_provider(*provider_, 1h);
    pipeline_->start();
    ASSERT_TRUE(up_and_listed()) << "the first UP lists the baseline";
    ASSERT_EQ(view_.state_of("sim", kWeb), BERTH_STATE_RUNNING);
  }
  void TearDown() override {
    scheduler_->shutdown();
    if (provider_) scheduler_->wait_idle(*provider_, Clock::now() + 10s);
    pipeline_->stop();
    provider_.reset();
  }
  void down() { pipeline_->on_state(*provider_, BERTH_PROVIDER_DOWN, "cut"); }
  void up() { pipeline_->on_state(*provider_, BERTH_PROVIDER_UP, ""); }
  // A marker event queued behind everything sent so far: held while a list
  // is under way and published after it, so its arrival says the list
  // (and every event held with it) is through.
  bool through() {
    Event m;
    m.type = BERTH_EVENT_HEALTH;
    m.health = "healthy";
    m.container_id = m.container_name = "marker-" + std::to_string(++markers_);
    return pipeline_->on_event(*provider_, m) &&
           recorder_.wait_for(BERTH_EVENT_HEALTH, m.container_name, Origin::engine, 10s);
  }
  bool up_and_listed() {
    up();
    return through();
  }
  Event exited_web() {
    Event e;
    e.type = BERTH_EVENT_EXITED;
    e.raw_action = "die";
    e.container_id = kWeb;
    e.container_name = "web";
    e.exit_code = 0;
    return e;
  }

  Threads threads_;
  std::optional<Scheduler> scheduler_;
  StateView view_;
  Recorder recorder_;
  std::optional<Pipeline> pipeline_;
  std::optional<Muted> listener_;
  std::unique_ptr<Provider> provider_;
  int markers_ = 0;
};

// The container stopped while nobody watched: the UP's list publishes its
// exit (origin resync), and a later outage with nothing changed publishes
// nothing again.
TEST_F(PipelineOutage, WhatChangedDuringAnOutageIsPublishedOnceAfterIt) {
  start("{}");
  down();
  ASSERT_TRUE(provider_->stop("web", std::nullopt, 1, CallOptions::within(5s)));  // its event is dropped
  ASSERT_TRUE(up_and_listed());
  EXPECT_EQ(recorder_.count(BERTH_EVENT_EXITED, "web", Origin::resync), 1u);
  EXPECT_EQ(view_.state_of("sim", kWeb), BERTH_STATE_STOPPED);
  down();
  ASSERT_TRUE(up_and_listed());
  EXPECT_EQ(recorder_.count(BERTH_EVENT_EXITED, "web"), 1u) << "a difference is published once";
}

// The stream's replay arrives while the UP's list is under way, and the list
// was taken before the change it replays (the engine still said running).
// Held until the list is in, the event wins: one exited from the engine, and
// no 'started' from a list older than it.
TEST_F(PipelineOutage, EventsDuringTheListAreHeldAndTheListLeavesTheirContainerAlone) {
  start(R"({"op_latency_ms": 300})");
  down();
  up();  // the list sleeps 300 ms, then sees web running
  ASSERT_TRUE(pipeline_->on_event(*provider_, exited_web()));
  ASSERT_TRUE(through());
  EXPECT_EQ(recorder_.count(BERTH_EVENT_EXITED, "web", Origin::engine), 1u);
  EXPECT_EQ(recorder_.count(BERTH_EVENT_EXITED, "web"), 1u);
  EXPECT_EQ(recorder_.count(BERTH_EVENT_STARTED, "web"), 0u) << "the older list did not undo the event";
  EXPECT_EQ(view_.state_of("sim", kWeb), BERTH_STATE_STOPPED);
}

}  // namespace
