// The sequencer's handling of change reports (host->changed): a report
// becomes a status and a published difference; a flood of reports never
// grows the queue past its bound.
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
  // sequencer, which publishes it, is held at a point the test chooses.
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
    recorder_.release_all();  // a test that failed while holding the sequencer
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
  // (engine), whichever the sequencer reached first.
  ASSERT_TRUE(provider_->stop("web", std::nullopt, 1, CallOptions::within(5s)));
  pipeline_->on_changed(*provider_, "web");
  EXPECT_TRUE(recorder_.wait_for(BERTH_EVENT_EXITED, "web", std::nullopt, 10s));
  EXPECT_GE(pipeline_->provider_stats(*provider_).held_overflows, 1u);
}

// The bound above, reached and not passed: the sequencer is held (in the
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
  // The sequencer takes them all (held_max statuses asked, one list
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

}  // namespace
