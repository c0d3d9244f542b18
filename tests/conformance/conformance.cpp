// The provider conformance suite (see conformance.hpp). Every test creates its
// own instance of the plugin through the core's host, exactly as berthd does.
#include "conformance.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <unistd.h>

namespace berth::conformance {
namespace {

using namespace std::chrono_literals;

CallOptions op() { return CallOptions::within(60s); }

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

template <class T>
Code code_of(const Result<T>& r) {
  return r.is_ok() ? Code::ok : r.error().code();
}

// A listener for instances the suite only calls (no pipeline behind them).
class Ignore : public ProviderListener {
  bool on_event(Provider&, Event) override { return true; }
  void on_state(Provider&, berth_provider_state, const std::string&) override {}
};

}  // namespace

// Ops return Status: show the plugin's message when one fails.
#define ASSERT_OK(expr)                                             \
  do {                                                              \
    const ::berth::Status st_ = (expr);                             \
    ASSERT_TRUE(st_.is_ok()) << #expr << ": " << st_.message();     \
  } while (0)
#define EXPECT_OK(expr)                                             \
  do {                                                              \
    const ::berth::Status st_ = (expr);                             \
    EXPECT_TRUE(st_.is_ok()) << #expr << ": " << st_.message();     \
  } while (0)

std::optional<size_t> Recorder::wait_event(const std::string& id, berth_event_type type, size_t from,
                                           std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<size_t> found;
  changed_.wait_for(lock, timeout, [&] {
    for (size_t i = from; i < events_.size(); ++i)
      if (events_[i].container_id == id && events_[i].type == type) return (found = i).has_value();
    return false;
  });
  return found;
}

size_t Recorder::count(const std::string& id, berth_event_type type) {
  std::lock_guard lock(mutex_);
  return std::count_if(events_.begin(), events_.end(),
                       [&](const Event& e) { return e.container_id == id && e.type == type; });
}

size_t Recorder::size() {
  std::lock_guard lock(mutex_);
  return events_.size();
}

Event Recorder::at(size_t i) {
  std::lock_guard lock(mutex_);
  return events_.at(i);
}

void ProviderConformance::SetUp() {
  const Fixture& f = GetParam();
  if (f.engine_unreachable) {
    if (auto why = f.engine_unreachable(); !why.empty()) {
      if (in_ci()) FAIL() << "engine unreachable under CI=true: " << why;
      GTEST_SKIP() << "engine unreachable: " << why;
    }
  }
  auto plugin = Plugin::load(f.plugin_path);
  ASSERT_TRUE(plugin.is_ok()) << plugin.error().message();
  plugin_ = *plugin;
  threads_.emplace();
  scheduler_.emplace(*threads_, Scheduler::Options{});
  Pipeline::Options po;
  po.heartbeat = 1h;
  pipeline_.emplace(recorder_, view_, *scheduler_, po);
  auto provider = Provider::create(plugin_, "conformance", f.config(), *pipeline_);
  ASSERT_TRUE(provider.is_ok()) << provider.error().message();
  provider_ = std::move(*provider);
  scheduler_->add_provider(*provider_, provider_->serialized() ? 1 : 64);
  pipeline_->add_provider(*provider_, f.poll_interval);
  pipeline_->start();  // watches the provider, or polls it
  ASSERT_TRUE(wait_synced(f.event_timeout)) << "berthd never had a first list of the provider";
}

bool ProviderConformance::wait_synced(std::chrono::milliseconds timeout) {
  if (!has(BERTH_CAP_LIST)) return true;
  const auto until = Clock::now() + timeout;
  while (!view_.synced("conformance")) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);  // the view has no notification; this is the test side
  }
  return true;
}

void ProviderConformance::TearDown() {
  if (scheduler_) scheduler_->shutdown();
  if (provider_) {
    scheduler_->wait_idle(*provider_, Clock::now() + 30s);
    provider_->watch_stop();
  }
  if (pipeline_) pipeline_->stop();
  for (const auto& ref : made_) GetParam().remove_container(ref);
  provider_.reset();
  pipeline_.reset();
  scheduler_.reset();
  threads_.reset();
}

std::pair<std::string, std::string> ProviderConformance::fresh() {
  std::string ref = GetParam().make_stopped_container();
  made_.push_back(ref);
  auto c = provider_->inspect(ref, op());
  EXPECT_TRUE(c.is_ok()) << ref << ": " << c.error().message();
  return {ref, c.is_ok() ? c->id : ref};
}

berth_state ProviderConformance::state_of(const std::string& ref) {
  auto c = provider_->status(ref, op());
  EXPECT_TRUE(c.is_ok()) << c.error().message();
  return c.is_ok() ? c->state : BERTH_STATE_UNKNOWN;
}

berth_state ProviderConformance::settles_to(const std::string& ref, berth_state want) {
  const auto until = std::chrono::steady_clock::now() + GetParam().event_timeout;
  berth_state s = state_of(ref);
  while (s != want && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = state_of(ref);
  }
  return s;
}

size_t ProviderConformance::expect_event(const std::string& id, berth_event_type type, size_t from) {
  auto at = recorder_.wait_event(id, type, from, GetParam().event_timeout);
  EXPECT_TRUE(at.has_value()) << "no event of type " << type << " for " << id;
  return at.value_or(from);
}

TEST_P(ProviderConformance, NegotiatesAbiV1AndDescribesItself) {
  EXPECT_EQ(plugin_->abi_major(), BERTH_ABI_MAJOR);
  EXPECT_FALSE(plugin_->name().empty());
  EXPECT_FALSE(plugin_->version().empty());
  EXPECT_TRUE(has(BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS))
      << "every provider must at least list, inspect and report status";
}

TEST_P(ProviderConformance, TwoInstancesOfOnePluginAreIndependent) {
  Ignore other;
  auto second = Provider::create(plugin_, "conformance-2", GetParam().config(), other);
  ASSERT_TRUE(second.is_ok()) << second.error().message();
  auto a = provider_->list(op());
  auto b = (*second)->list(op());
  ASSERT_TRUE(a.is_ok()) << a.error().message();
  ASSERT_TRUE(b.is_ok()) << b.error().message();
  second->reset();
  // Destroying one instance leaves the other working.
  EXPECT_TRUE(provider_->list(op()).is_ok());
}

TEST_P(ProviderConformance, ListAndInspectShowAFreshStoppedContainer) {
  auto [ref, id] = fresh();
  auto listed = provider_->list(op());
  ASSERT_TRUE(listed.is_ok()) << listed.error().message();
  auto it = std::find_if(listed->begin(), listed->end(), [&](const Container& c) { return c.id == id; });
  ASSERT_NE(it, listed->end()) << id << " missing from list";
  EXPECT_EQ(it->state, BERTH_STATE_STOPPED);
  EXPECT_FALSE(it->name.empty());
  auto by_name = provider_->inspect(it->name, op());
  ASSERT_TRUE(by_name.is_ok()) << by_name.error().message();
  EXPECT_EQ(by_name->id, id);
  EXPECT_EQ(state_of(ref), BERTH_STATE_STOPPED);
}

// A list hands over every container, not the first (the C sink's
// BERTH_SINK_CONTINUE is 0: a plugin that stops on it lists one of three).
TEST_P(ProviderConformance, ListHandsOverEveryContainer) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(fresh().second);
  auto listed = provider_->list(op());
  ASSERT_TRUE(listed.is_ok()) << listed.error().message();
  for (const auto& id : ids)
    EXPECT_TRUE(std::any_of(listed->begin(), listed->end(), [&](const Container& c) { return c.id == id; }))
        << id << " missing from a list of " << listed->size();
}

TEST_P(ProviderConformance, AnUnknownContainerIsNotFoundForEveryOp) {
  const std::string& ref = GetParam().unknown_ref;
  auto expect = [&](const char* what, Code code) {
    EXPECT_EQ(code, Code::not_found) << what << " of an unknown container";
  };
  // Only supported ops are asked: the others never reach the plugin.
  expect("inspect", code_of(provider_->inspect(ref, op())));
  expect("status", code_of(provider_->status(ref, op())));
  if (has(BERTH_CAP_START)) expect("start", provider_->start(ref, op()).code());
  if (has(BERTH_CAP_STOP)) expect("stop", provider_->stop(ref, std::nullopt, 1, op()).code());
  if (has(BERTH_CAP_KILL)) expect("kill", provider_->kill(ref, std::nullopt, op()).code());
  if (has(BERTH_CAP_PAUSE)) expect("pause", provider_->pause(ref, op()).code());
  if (has(BERTH_CAP_UNPAUSE)) expect("unpause", provider_->unpause(ref, op()).code());
  if (has(BERTH_CAP_RESTART)) expect("restart", provider_->restart(ref, 1, op()).code());
}

// Capabilities are truthful both ways: an op the instance claims reaches the
// plugin (which answers not_found for an unknown container), an op it does
// not claim is refused by the host with `unsupported` without reaching it.
TEST_P(ProviderConformance, CapabilitiesAreTruthful) {
  const std::string ref = GetParam().unknown_ref;
  auto check = [&](uint64_t cap, const char* what, auto&& call) {
    const Code code = call().code();
    if (has(cap)) {
      EXPECT_NE(code, Code::unsupported) << what << " is claimed but not implemented";
    } else {
      EXPECT_EQ(code, Code::unsupported) << what << " is not claimed, so the host refuses it";
    }
  };
  check(BERTH_CAP_START, "start", [&] { return provider_->start(ref, op()); });
  check(BERTH_CAP_STOP, "stop", [&] { return provider_->stop(ref, std::nullopt, 1, op()); });
  check(BERTH_CAP_KILL, "kill", [&] { return provider_->kill(ref, std::nullopt, op()); });
  check(BERTH_CAP_PAUSE, "pause", [&] { return provider_->pause(ref, op()); });
  check(BERTH_CAP_UNPAUSE, "unpause", [&] { return provider_->unpause(ref, op()); });
  check(BERTH_CAP_RESTART, "restart", [&] { return provider_->restart(ref, 1, op()); });
  check(BERTH_CAP_STOP | BERTH_CAP_STOP_SIGNAL, "stop with a signal",
        [&] { return provider_->stop(ref, std::string("SIGINT"), 1, op()); });
  check(BERTH_CAP_KILL | BERTH_CAP_KILL_SIGNAL, "kill with a signal",
        [&] { return provider_->kill(ref, std::string("SIGHUP"), op()); });
  check(BERTH_CAP_WATCH, "watch", [&] { return provider_->watch_start(op()); });
  check(BERTH_CAP_REMOVE, "remove", [&] {
    // Removing an unknown container is success (its goal holds): not `unsupported`.
    return provider_->remove(ref, false, op());
  });
  sdk::CreateSpec nothing;
  nothing.image = "berth-conformance/no-such-image:0";
  nothing.pull = BERTH_PULL_NEVER;
  check(BERTH_CAP_CREATE, "create", [&]() -> Status {
    auto r = provider_->create_container(nothing, op());
    return r.is_ok() ? Status{} : r.error();
  });
}

// ABI 1.2: create makes a stopped container (created event), a name in use
// is a conflict, a missing image under pull `never` is not_found naming it,
// remove takes it away (destroyed event) and is idempotent, and a running
// one is removed only when forced.
TEST_P(ProviderConformance, ContainersAreCreatedAndRemovedByTheContract) {
  if (!has(BERTH_CAP_CREATE) || !has(BERTH_CAP_REMOVE)) {
    EXPECT_FALSE(has(BERTH_CAP_CREATE) || has(BERTH_CAP_REMOVE)) << "create and remove come together";
    return;  // CapabilitiesAreTruthful checks that the host refuses them
  }
  ASSERT_TRUE(GetParam().create_spec) << "the fixture must give a create_spec for a plugin that can create";
  static int n = 0;
  const std::string name = "berth-conf-made-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  const auto spec = GetParam().create_spec(name);
  size_t at = recorder_.size();
  auto made = provider_->create_container(spec, op());
  ASSERT_TRUE(made.is_ok()) << made.error().message();
  made_.push_back(made->id);
  EXPECT_EQ(made->name, name);
  EXPECT_EQ(made->state, BERTH_STATE_STOPPED);
  expect_event(made->id, BERTH_EVENT_CREATED, at);
  EXPECT_EQ(state_of(name), BERTH_STATE_STOPPED);

  EXPECT_EQ(code_of(provider_->create_container(spec, op())), Code::conflict) << "the name is in use";
  auto missing = spec;
  missing.name.clear();
  missing.image = "berth-conformance/no-such-image:0";
  missing.pull = BERTH_PULL_NEVER;
  auto refused = provider_->create_container(missing, op());
  ASSERT_EQ(code_of(refused), Code::not_found);
  EXPECT_NE(refused.error().message().find(missing.image), std::string::npos) << refused.error().message();

  if (has(BERTH_CAP_START)) {
    ASSERT_OK(provider_->start(made->id, op()));
    EXPECT_EQ(provider_->remove(made->id, false, op()).code(), Code::conflict) << "running, not forced";
  }
  at = recorder_.size();
  ASSERT_OK(provider_->remove(made->id, true, op()));
  expect_event(made->id, BERTH_EVENT_DESTROYED, at);
  EXPECT_EQ(code_of(provider_->status(made->id, op())), Code::not_found);
  EXPECT_OK(provider_->remove(made->id, false, op()));  // gone already: the goal holds
}

// The host normalizes signals before any plugin sees them.
TEST_P(ProviderConformance, AnUnknownSignalIsRefusedBeforeThePlugin) {
  const std::string ref = GetParam().unknown_ref;
  if (has(BERTH_CAP_STOP)) {
    EXPECT_EQ(provider_->stop(ref, std::string("SIGNOPE"), 1, op()).code(), Code::invalid_argument);
  }
  if (has(BERTH_CAP_KILL)) {
    EXPECT_EQ(provider_->kill(ref, std::string("99"), op()).code(), Code::invalid_argument);
  }
  if (has(BERTH_CAP_KILL | BERTH_CAP_KILL_SIGNAL)) {  // "15" and "term" reach it as SIGTERM
    EXPECT_EQ(provider_->kill(ref, std::string("term"), op()).code(), Code::not_found);
  }
}

TEST_P(ProviderConformance, EachLifecycleOpChangesStateAndEmitsItsEvent) {
  if (!has(BERTH_CAP_START | BERTH_CAP_STOP)) GTEST_SKIP() << "needs start and stop";
  auto [ref, id] = fresh();
  size_t at = recorder_.size();
  ASSERT_OK(provider_->start(ref, op()));
  at = expect_event(id, BERTH_EVENT_STARTED, at);
  EXPECT_EQ(settles_to(ref, BERTH_STATE_RUNNING), BERTH_STATE_RUNNING);

  if (has(BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE)) {
    ASSERT_OK(provider_->pause(ref, op()));
    at = expect_event(id, BERTH_EVENT_PAUSED, at);
    EXPECT_EQ(settles_to(ref, BERTH_STATE_PAUSED), BERTH_STATE_PAUSED);
    ASSERT_OK(provider_->unpause(ref, op()));
    at = expect_event(id, BERTH_EVENT_UNPAUSED, at);
    EXPECT_EQ(settles_to(ref, BERTH_STATE_RUNNING), BERTH_STATE_RUNNING);
  }

  ASSERT_OK(provider_->stop(ref, std::nullopt, 10, op()));
  at = expect_event(id, BERTH_EVENT_EXITED, at);
  EXPECT_EQ(settles_to(ref, BERTH_STATE_STOPPED), BERTH_STATE_STOPPED);

  if (has(BERTH_CAP_KILL)) {
    ASSERT_OK(provider_->start(ref, op()));
    at = expect_event(id, BERTH_EVENT_STARTED, at);
    ASSERT_OK(provider_->kill(ref, std::nullopt, op()));
    at = expect_event(id, BERTH_EVENT_EXITED, at);
    EXPECT_EQ(settles_to(ref, BERTH_STATE_STOPPED), BERTH_STATE_STOPPED);
  }
  if (has(BERTH_CAP_RESTART) && has(BERTH_CAP_WATCH)) {
    // (A restart seen by polling shows no change: running before and after.)
    ASSERT_OK(provider_->start(ref, op()));
    at = expect_event(id, BERTH_EVENT_STARTED, at);
    ASSERT_OK(provider_->restart(ref, 10, op()));
    at = expect_event(id, BERTH_EVENT_STARTED, at);
    EXPECT_EQ(settles_to(ref, BERTH_STATE_RUNNING), BERTH_STATE_RUNNING);
    ASSERT_OK(provider_->stop(ref, std::nullopt, 10, op()));
    expect_event(id, BERTH_EVENT_EXITED, at);
  }
}

// provider.h §5: an op whose goal holds succeeds; one that cannot reach its
// goal from the current state is a conflict. The same in every plugin.
TEST_P(ProviderConformance, OpsWhoseGoalHoldsSucceedAndImpossibleOnesConflict) {
  if (!has(BERTH_CAP_START | BERTH_CAP_STOP)) GTEST_SKIP() << "needs start and stop";
  auto [ref, id] = fresh();
  EXPECT_OK(provider_->stop(ref, std::nullopt, 5, op()));  // stopped already
  if (has(BERTH_CAP_KILL)) {
    EXPECT_OK(provider_->kill(ref, std::nullopt, op()));
  }
  if (has(BERTH_CAP_PAUSE)) {
    EXPECT_EQ(provider_->pause(ref, op()).code(), Code::conflict) << "pause a stopped one";
  }
  if (has(BERTH_CAP_UNPAUSE)) {
    EXPECT_EQ(provider_->unpause(ref, op()).code(), Code::conflict) << "unpause a stopped one";
  }
  ASSERT_OK(provider_->start(ref, op()));
  EXPECT_OK(provider_->start(ref, op()));  // running already
  if (has(BERTH_CAP_UNPAUSE)) EXPECT_OK(provider_->unpause(ref, op()));  // running: not paused already
  if (has(BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE)) {
    ASSERT_OK(provider_->pause(ref, op()));
    EXPECT_OK(provider_->pause(ref, op()));  // paused already
    EXPECT_EQ(provider_->start(ref, op()).code(), Code::conflict) << "start a paused one";
    ASSERT_OK(provider_->unpause(ref, op()));
  }
  EXPECT_OK(provider_->stop(ref, std::nullopt, 10, op()));
  EXPECT_EQ(state_of(ref), BERTH_STATE_STOPPED);
  if (has(BERTH_CAP_RESTART)) {  // restart of a stopped one starts it
    EXPECT_OK(provider_->restart(ref, 5, op()));
    EXPECT_EQ(state_of(ref), BERTH_STATE_RUNNING) << "restart a stopped one";
    EXPECT_OK(provider_->stop(ref, std::nullopt, 10, op()));
  }
}

TEST_P(ProviderConformance, EventsCarryTheContainersIdentity) {
  if (!has(BERTH_CAP_START)) GTEST_SKIP() << "needs start";
  auto [ref, id] = fresh();
  auto inspected = provider_->inspect(ref, op());
  ASSERT_TRUE(inspected.is_ok());
  size_t from = recorder_.size();
  ASSERT_OK(provider_->start(ref, op()));
  auto at = recorder_.wait_event(id, BERTH_EVENT_STARTED, from, GetParam().event_timeout);
  ASSERT_TRUE(at.has_value());
  Event e = recorder_.at(*at);
  EXPECT_FALSE(e.raw_action.empty()) << "the engine's own action is kept";
  EXPECT_EQ(e.container_name, inspected->name);
}

// Ops run concurrently on the host's threads; the plugin emits from its own
// threads, or berthd polls it. Every change must be published exactly once.
TEST_P(ProviderConformance, ConcurrentOpsEachEmitExactlyOnce) {
  if (!has(BERTH_CAP_START | BERTH_CAP_STOP)) GTEST_SKIP() << "needs start and stop";
  std::vector<std::pair<std::string, std::string>> boxes;
  for (int i = 0; i < 3; ++i) boxes.push_back(fresh());
  size_t from = recorder_.size();

  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (auto& [ref, id] : boxes)
    threads.emplace_back([&, ref = ref] {
      if (!provider_->start(ref, op()).is_ok()) ++failures;
      for (int i = 0; i < 5; ++i)
        if (!provider_->status(ref, op()).is_ok()) ++failures;
    });
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  for (auto& [ref, id] : boxes) expect_event(id, BERTH_EVENT_STARTED, from);
  // Give duplicates a chance to show up before counting (a fixed wait is the
  // point here: nothing announces that no duplicate will come).
  std::this_thread::sleep_for(GetParam().settle);
  for (auto& [ref, id] : boxes) EXPECT_EQ(recorder_.count(id, BERTH_EVENT_STARTED), 1u) << id;
  for (auto& [ref, id] : boxes) EXPECT_OK(provider_->stop(ref, std::nullopt, 10, op()));
}

TEST_P(ProviderConformance, WatchCanBeStoppedAndStartedAgain) {
  if (!has(BERTH_CAP_WATCH)) {  // polled by the host: a watch is refused before the plugin
    EXPECT_EQ(provider_->watch_start(op()).code(), Code::unsupported);
    return;
  }
  provider_->watch_stop();
  ASSERT_OK(provider_->watch_start(op()));
  if (!has(BERTH_CAP_START)) return;
  auto [ref, id] = fresh();
  size_t from = recorder_.size();
  ASSERT_OK(provider_->start(ref, op()));
  expect_event(id, BERTH_EVENT_STARTED, from);
}

}  // namespace berth::conformance
