// berth-wake's instance policy, alone: sessions, dependencies, stop
// methods, adoption, waiters and what happens when berthd goes away, driven
// through the LinkListener calls a Link makes and answered by hand through a
// fake CommandLink. (The same policy end to end: tests/wake/.)
#include "berth-wake/instances.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace berth::wake {
namespace {

using namespace std::chrono_literals;

constexpr Nanoseconds kMs = 1'000'000;

// Records every command; the test answers each when it chooses (a real link
// never answers from inside command() either).
class FakeLink final : public CommandLink {
 public:
  struct Sent {
    std::string op, container, json;
    Reply reply;
  };
  bool is_up = true;
  std::vector<Sent> sent;

  void command(client::Request request, std::chrono::milliseconds, Reply done) override {
    const std::string json = request.json();
    rapidjson::Document d;
    d.Parse(json.c_str());
    EXPECT_TRUE(d.IsObject() && d.HasMember("op") && d.HasMember("container")) << json;
    sent.push_back({d["op"].GetString(), d["container"].GetString(), json, std::move(done)});
  }
  bool up() const override { return is_up; }

  // "op container" of every command sent, in order.
  std::vector<std::string> ops() const {
    std::vector<std::string> out;
    for (const auto& s : sent) out.push_back(s.op + " " + s.container);
    return out;
  }
  // Answers command n (once) with `st`.
  void answer(size_t n, const Status& st = {}) {
    ASSERT_LT(n, sent.size());
    ASSERT_TRUE(sent[n].reply) << "answered twice: " << sent[n].json;
    auto reply = std::move(sent[n].reply);
    sent[n].reply = nullptr;
    reply(st, nullptr);
  }
};

Observed container(const std::string& id, berth_state state, sdk::Labels labels = {{"sablier.enable", "true"}}) {
  return {"p", id, id, state, "", std::move(labels)};
}

class InstancesPolicy : public ::testing::Test {
 protected:
  void make(WakeSettings settings = {}) {
    instances_ = std::make_unique<Instances>(io_, settings);
    instances_->set_links({&link_});
  }
  void SetUp() override { make(); }

  void snapshot(std::vector<Observed> all, const std::set<std::string>& unsynced = {}) {
    instances_->on_snapshot(0, std::move(all), unsynced);
  }
  // As a Link does after an outage: the snapshot first, then "up".
  void back_with(std::vector<Observed> all) {
    link_.is_up = false;
    snapshot(std::move(all));
    link_.is_up = true;
    instances_->on_link(0, true);
  }
  void change(const std::string& id, berth_state state, berth_event_type type,
              sdk::Labels labels = {{"sablier.enable", "true"}}) {
    instances_->on_change(0, container(id, state, std::move(labels)), type);
  }
  Instance& get(const std::string& id) {
    Instance* i = instances_->find("0/p/" + id);
    EXPECT_NE(i, nullptr) << id;
    return *i;
  }
  void request(const std::string& name, Nanoseconds session = 60'000 * kMs) {
    instances_->request({&get(name)}, session);
  }
  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  boost::asio::io_context io_;
  FakeLink link_;
  std::unique_ptr<Instances> instances_;
};

TEST_F(InstancesPolicy, ManyRequestsForAStoppedInstanceSendOneStart) {
  snapshot({container("web", BERTH_STATE_STOPPED)});
  for (int i = 0; i < 5; ++i) request("web");
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"start web"});
  EXPECT_EQ(get("web").status(), WakeStatus::starting);
  // Answered before its event: the event is on its way, nothing is sent again.
  link_.answer(0);
  request("web");
  EXPECT_EQ(link_.ops().size(), 1u);
  // Started, with no health known: berthd is asked whether it has a healthcheck.
  change("web", BERTH_STATE_RUNNING, BERTH_EVENT_STARTED);
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"start web", "inspect web"}));
  EXPECT_EQ(get("web").status(), WakeStatus::starting);
  link_.answer(1);
  EXPECT_EQ(get("web").status(), WakeStatus::ready);
}

TEST_F(InstancesPolicy, APausedInstanceIsUnpaused) {
  snapshot({container("web", BERTH_STATE_PAUSED)});
  request("web");
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"unpause web"});
}

TEST_F(InstancesPolicy, ADependencyStartsFirstAndTheAppOnlyOnceItIsReady) {
  snapshot({container("db", BERTH_STATE_STOPPED, {}),
            container("app", BERTH_STATE_STOPPED, {{"sablier.enable", "true"}, {"proxy.depends_on", "db"}})});
  request("app");
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"start db"}) << "not app while db is not ready";
  link_.answer(0);
  EXPECT_EQ(link_.ops().size(), 1u);
  change("db", BERTH_STATE_RUNNING, BERTH_EVENT_STARTED, {});
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"start db", "start app"}));
  EXPECT_TRUE(get("db").in_session) << "a dependency lives as long as its dependent's session";
  EXPECT_GE(get("db").expires, get("app").expires);
}

TEST_F(InstancesPolicy, WhenTheSessionEndsTheAppStopsBeforeItsDependency) {
  make({.session = 50 * kMs});  // app, running, is adopted for that
  snapshot({container("db", BERTH_STATE_RUNNING, {}),
            container("app", BERTH_STATE_RUNNING, {{"sablier.enable", "true"}, {"proxy.depends_on", "db"}})});
  request("app", 50 * kMs);
  ASSERT_TRUE(link_.ops().empty()) << "both run already";
  run_for(300ms);
  ASSERT_EQ(link_.ops(), std::vector<std::string>{"stop app"}) << "db waits for its dependent";
  run_for(1200ms);
  EXPECT_EQ(link_.ops().size(), 1u) << "app still runs: db waits";
  link_.answer(0);
  change("app", BERTH_STATE_STOPPED, BERTH_EVENT_EXITED, {{"sablier.enable", "true"}, {"proxy.depends_on", "db"}});
  run_for(1500ms);
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"stop app", "stop db"}));
}

TEST_F(InstancesPolicy, TheStopMethodLabelChoosesTheOp) {
  make({.session = 20 * kMs});  // each, running, is adopted for that
  snapshot({container("p1", BERTH_STATE_RUNNING, {{"sablier.enable", "true"}, {"proxy.stop_method", "pause"}}),
            container("k1", BERTH_STATE_RUNNING, {{"sablier.enable", "true"}, {"proxy.stop_method", "kill"}}),
            container("s1", BERTH_STATE_RUNNING,
                      {{"sablier.enable", "true"}, {"proxy.stop_signal", "SIGINT"}, {"proxy.stop_timeout", "3"}})});
  run_for(300ms);
  auto ops = link_.ops();
  std::sort(ops.begin(), ops.end());
  EXPECT_EQ(ops, (std::vector<std::string>{"kill k1", "pause p1", "stop s1"}));
  for (const auto& s : link_.sent)
    if (s.container == "s1") {
      EXPECT_NE(s.json.find(R"("signal":"SIGINT")"), std::string::npos) << s.json;
      EXPECT_NE(s.json.find(R"("timeout":3)"), std::string::npos) << s.json;
    }
}

TEST_F(InstancesPolicy, AStartLostWithBerthdIsSentAgainOnlyIfTheSnapshotShowsItStillStopped) {
  snapshot({container("a", BERTH_STATE_STOPPED), container("b", BERTH_STATE_STOPPED)});
  request("a");
  request("b");
  ASSERT_EQ(link_.ops(), (std::vector<std::string>{"start a", "start b"}));
  // berthd went away: the link is down, then answers both `cancelled`.
  link_.is_up = false;
  link_.answer(0, Status(Code::cancelled, "berthd went away"));
  link_.answer(1, Status(Code::cancelled, "berthd went away"));
  EXPECT_EQ(link_.ops().size(), 2u) << "nothing is sent to a berthd that is not there";
  // The new berthd's snapshot: a was started before the crash, b was not.
  back_with({container("a", BERTH_STATE_RUNNING), container("b", BERTH_STATE_STOPPED)});
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"start a", "start b", "start b"}));
}

TEST_F(InstancesPolicy, NothingIsDecidedOnAProviderBerthdHasNotListedYet) {
  snapshot({container("web", BERTH_STATE_STOPPED)});
  // A restarted berthd whose provider is still listing: web's state is stale.
  link_.is_up = false;
  snapshot({}, {"p"});
  link_.is_up = true;
  instances_->on_link(0, true);
  request("web");
  EXPECT_TRUE(link_.ops().empty()) << "no start on what may be stale";
  snapshot({container("web", BERTH_STATE_STOPPED)});
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"start web"});
}

TEST_F(InstancesPolicy, AContainerStartedBySomeoneElseIsAdoptedForItsIdleTimeout) {
  snapshot({container("web", BERTH_STATE_STOPPED, {{"sablier.enable", "true"}, {"proxy.idle_timeout", "90s"}})});
  const auto before = Clock::now();
  change("web", BERTH_STATE_RUNNING, BERTH_EVENT_STARTED, {{"sablier.enable", "true"}, {"proxy.idle_timeout", "90s"}});
  EXPECT_TRUE(get("web").in_session);
  EXPECT_GE(get("web").expires, before + 90s);
  EXPECT_LT(get("web").expires, before + 91s);
}

TEST_F(InstancesPolicy, WithoutAdoptionAContainerStartedBySomeoneElseIsStopped) {
  make({.adopt = false});
  snapshot({container("web", BERTH_STATE_STOPPED)});
  change("web", BERTH_STATE_RUNNING, BERTH_EVENT_STARTED);
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"inspect web", "stop web"}));
}

TEST_F(InstancesPolicy, AnInstanceStoppedBySomeoneElseEndsItsSessionAndIsNotStartedAgain) {
  snapshot({container("web", BERTH_STATE_RUNNING)});
  request("web");
  ASSERT_TRUE(get("web").in_session);
  change("web", BERTH_STATE_STOPPED, BERTH_EVENT_EXITED);
  EXPECT_FALSE(get("web").in_session);
  EXPECT_EQ(get("web").status(), WakeStatus::stopped);
  EXPECT_TRUE(link_.ops().empty());
}

TEST_F(InstancesPolicy, ASessionEndingWhileBerthdIsAwayStopsTheInstanceOnceItIsBack) {
  make({.session = 20 * kMs});
  snapshot({container("web", BERTH_STATE_RUNNING)});  // adopted for 20 ms
  link_.is_up = false;
  run_for(200ms);
  EXPECT_TRUE(link_.ops().empty()) << "berthd is away";
  EXPECT_TRUE(get("web").stop_owed);
  back_with({container("web", BERTH_STATE_RUNNING)});
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"stop web"});
  instances_->on_link(0, true);
  EXPECT_EQ(link_.ops().size(), 1u) << "once";
}

TEST_F(InstancesPolicy, EveryWaiterIsAnsweredWhenReadyAndALateOneAtItsDeadline) {
  snapshot({container("web", BERTH_STATE_STOPPED, {{"sablier.enable", "true"}}),
            container("never", BERTH_STATE_STOPPED, {{"sablier.enable", "true"}})});
  request("web");
  request("never");
  std::vector<int> answers;  // 1 ready, 0 timed out
  for (int n = 0; n < 3; ++n)
    instances_->wait_ready({&get("web")}, Clock::now() + 5s, [&](bool ok) { answers.push_back(ok); });
  instances_->wait_ready({&get("never")}, Clock::now() + 100ms, [&](bool ok) { answers.push_back(ok); });
  change("web", BERTH_STATE_RUNNING, BERTH_EVENT_STARTED);
  link_.answer(2);  // the health probe (after start web, start never)
  run_for(400ms);
  std::sort(answers.begin(), answers.end());
  EXPECT_EQ(answers, (std::vector<int>{0, 1, 1, 1}));
}

TEST_F(InstancesPolicy, AFailedStartIsAnErrorAndTheWaiterIsAnsweredAtOnce) {
  snapshot({container("web", BERTH_STATE_STOPPED)});
  request("web");
  std::optional<bool> answer;
  instances_->wait_ready({&get("web")}, Clock::now() + 10s, [&](bool ok) { answer = ok; });
  link_.answer(0, Status(Code::not_found, "image gone"));
  EXPECT_EQ(get("web").status(), WakeStatus::error);
  run_for(50ms);
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(*answer);
  // Not tried again in a loop (it was: a start after every failure), only
  // at the next request.
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"start web"});
  request("web");
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"start web", "start web"}));
  EXPECT_EQ(get("web").status(), WakeStatus::starting);
}

TEST_F(InstancesPolicy, AFailedDependencyIsTriedAgainAtTheAppsNextRequest) {
  snapshot({container("db", BERTH_STATE_STOPPED, {}),
            container("app", BERTH_STATE_STOPPED, {{"sablier.enable", "true"}, {"proxy.depends_on", "db"}})});
  request("app");
  link_.answer(0, Status(Code::unavailable, "engine down"));
  EXPECT_EQ(link_.ops(), std::vector<std::string>{"start db"});
  request("app");
  EXPECT_EQ(link_.ops(), (std::vector<std::string>{"start db", "start db"}));
}

}  // namespace
}  // namespace berth::wake
