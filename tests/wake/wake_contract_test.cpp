// berth-wake's HTTP contract (Sablier's, issue 10) without Docker: the real
// berthd with two sim.so providers, the real berth-wake, plain HTTP.
#include "wake_support.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <csignal>
#include <future>
#include <thread>
#include <regex>

namespace berth::wake_test {
namespace {

using namespace berth::testing;

// sim: web and api in group shop (api also in backend), plain (not opted
// in), the others in the default group, twin also in sim2. Each test wakes
// containers of its own (a session only ever grows). sim2: every operation
// takes 1.5 s, so a start outlasts a short blocking timeout.
std::string sim_config() {
  return fmt::format(R"({{"heartbeat_ms": 200, "providers": [
    {{"name": "sim", "plugin": "{0}", "config": {{"containers": [
      {{"id": "5e1f0001", "name": "web", "state": "stopped",
        "labels": {{"sablier.enable": "true", "sablier.group": "shop"}}}},
      {{"id": "5e1f0002", "name": "api", "state": "stopped",
        "labels": {{"sablier.enable": "true", "sablier.group": "shop,backend"}}}},
      {{"id": "5e1f0003", "name": "solo", "state": "stopped", "labels": {{"sablier.enable": "true"}}}},
      {{"id": "5e1f0004", "name": "twin", "state": "stopped", "labels": {{"sablier.enable": "true"}}}},
      {{"id": "5e1f0005", "name": "plain", "state": "stopped"}},
      {{"id": "5e1f0006", "name": "brief", "state": "stopped", "labels": {{"sablier.enable": "true"}}}},
      {{"id": "5e1f0007", "name": "page", "state": "stopped", "labels": {{"sablier.enable": "true"}}}},
      {{"id": "5e1f0009", "name": "themed", "state": "stopped", "labels": {{"sablier.enable": "true"}}}},
      {{"id": "5e1f0008", "name": "stream", "state": "stopped", "labels": {{"sablier.enable": "true"}}}}]}}}},
    {{"name": "sim2", "plugin": "{0}", "config": {{"op_latency_ms": 1500, "containers": [
      {{"id": "5e2f0001", "name": "twin", "state": "stopped", "labels": {{"sablier.enable": "true"}}}},
      {{"id": "5e2f0002", "name": "slowpoke", "state": "stopped",
        "labels": {{"sablier.enable": "true", "sablier.group": "slow"}}}}]}}}}]}})",
                     plugin_path("sim"));
}

// Waits until berthd's snapshot says each provider has its baseline.
bool wait_synced(zmq::context_t& zmq, const BerthdProcess& d, const std::vector<std::string>& providers,
                 std::chrono::milliseconds timeout = 20s) {
  Client c(zmq, d.commands_endpoint());
  return eventually(
      [&] {
        auto r = c.call(R"({"op":"snapshot"})");
        if (!r.IsObject() || !r["ok"].GetBool()) return false;
        const auto& p = r["result"]["providers"];
        for (const auto& name : providers)
          if (!p.HasMember(name.c_str()) || !p[name.c_str()]["synced"].GetBool()) return false;
        return true;
      },
      timeout);
}

rapidjson::Document json(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

std::vector<std::string> strings(const rapidjson::Value& a) {
  std::vector<std::string> out;
  if (a.IsArray())
    for (auto& v : a.GetArray()) out.push_back(v.IsString() ? v.GetString() : "?");
  return out;
}

std::vector<std::string> keys(const rapidjson::Value& o) {
  std::vector<std::string> out;
  if (o.IsObject())
    for (auto& m : o.GetObject()) out.push_back(m.name.GetString());
  return out;
}

class WakeContract : public ::testing::Test {
 protected:
  // One berthd and one berth-wake for the whole suite: the tests use
  // distinct containers (a started one stays started).
  static void SetUpTestSuite() {
    berthd_ = new BerthdProcess(sim_config());
    zmq_ = new zmq::context_t(1);
    if (!berthd_->ready()) return;
    // berth-wake starts once both providers are synced (see
    // AProviderThatSyncsLaterIsFollowed for one that is not yet).
    wait_synced(*zmq_, *berthd_, {"sim", "sim2"});
    wake_ = new WakeProcess({berthd_}, {"--log-level", "debug"});
  }
  static void TearDownTestSuite() {
    delete wake_;
    delete zmq_;
    delete berthd_;
    wake_ = nullptr;
    zmq_ = nullptr;
    berthd_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(berthd_->ready()) << berthd_->output();
    ASSERT_TRUE(wake_->ready()) << wake_->output();
    // Every group is known once berth-wake has both providers' containers.
    HttpReply last;
    ASSERT_TRUE(eventually(
        [&] {
          last = get("/api/strategies/blocking?group=no-such-group");
          return last.body.find("\"slow\"") != std::string::npos;
        },
        15s))
        << last.describe() << wake_->output();
  }
  HttpReply get(const std::string& target, std::chrono::milliseconds timeout = 10s) {
    return http_get(wake_->port(), target, timeout);
  }
  // berthd's own view of a container.
  std::string state_of(const std::string& provider, const std::string& name) {
    Client c(*zmq_, berthd_->commands_endpoint());
    auto r = c.call(fmt::format(R"({{"op":"status","provider":"{}","container":"{}"}})", provider, name));
    return r.IsObject() && r["ok"].GetBool() ? r["result"]["state"].GetString() : "?";
  }
  void expect_problem(const HttpReply& r, int status, const std::string& type_id, const std::string& detail = "") {
    EXPECT_EQ(r.status, status) << r.describe();
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << r.describe();
    auto d = json(r.body);
    ASSERT_TRUE(d.IsObject()) << r.body;
    EXPECT_EQ(d["status"].GetInt(), status);
    EXPECT_EQ(std::string(d["type"].GetString()), "https://sablierapp.dev/#/errors?id=" + type_id) << r.body;
    if (!detail.empty()) {
      EXPECT_EQ(std::string(d["detail"].GetString()), detail) << r.body;
    }
  }

  static BerthdProcess* berthd_;
  static zmq::context_t* zmq_;
  static WakeProcess* wake_;
};

BerthdProcess* WakeContract::berthd_ = nullptr;
zmq::context_t* WakeContract::zmq_ = nullptr;
WakeProcess* WakeContract::wake_ = nullptr;

TEST_F(WakeContract, NeitherNamesNorGroupIs400) {
  for (const char* strategy : {"blocking", "dynamic"}) {
    const std::string target = fmt::format("/api/strategies/{}", strategy);
    const HttpReply r = get(target);
    expect_problem(r, 400, "validation-error", "'names' or 'group' query parameter must be set");
    auto d = json(r.body);
    EXPECT_STREQ(d["title"].GetString(), "Validation Failed");
    EXPECT_EQ(std::string(d["instance"].GetString()), target);
  }
}

TEST_F(WakeContract, BothNamesAndGroupIs400) {
  for (const char* strategy : {"blocking", "dynamic"})
    expect_problem(get(fmt::format("/api/strategies/{}?names=web&group=shop", strategy)), 400, "validation-error",
                   "'names' and 'group' query parameters are both set, only one must be set");
  EXPECT_EQ(state_of("sim", "web"), "stopped") << "nothing starts on a 400";
}

TEST_F(WakeContract, UnknownGroupIs404ListingTheGroups) {
  const HttpReply r = get("/api/strategies/blocking?group=nope");
  expect_problem(r, 404, "group-not-found");
  auto d = json(r.body);
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(strings(d["availableGroups"]), (std::vector<std::string>{"backend", "default", "shop", "slow"})) << r.body;
  EXPECT_STREQ(d["requestGroup"].GetString(), "nope");
  EXPECT_STREQ(d["title"].GetString(), "Group not found");
  // Go marshals the problem as a map: keys in order.
  auto k = keys(d);
  EXPECT_TRUE(std::is_sorted(k.begin(), k.end())) << r.body;
}

TEST_F(WakeContract, UnknownOrUnmanagedNameIs404) {
  const HttpReply ghost = get("/api/strategies/blocking?names=ghost");
  expect_problem(ghost, 404, "instance-not-found");
  EXPECT_STREQ(json(ghost.body)["requestInstance"].GetString(), "ghost");
  expect_problem(get("/api/strategies/dynamic?names=ghost"), 404, "instance-not-found");
  expect_problem(get("/api/strategies/blocking?names=plain"), 404, "instance-not-managed");
  EXPECT_EQ(state_of("sim", "plain"), "stopped") << "a container that did not opt in is never started";
  // One unknown name among known ones: nothing starts.
  expect_problem(get("/api/strategies/blocking?names=ghost&names=solo"), 404, "instance-not-found");
  EXPECT_EQ(state_of("sim", "solo"), "stopped");
}

TEST_F(WakeContract, BlockingReadyAnswerIsSabliersBodyAndHeader) {
  const HttpReply r = get("/api/strategies/blocking?names=web&session_duration=1m0s&timeout=30s");
  ASSERT_EQ(r.status, 200) << r.describe() << wake_->output();
  EXPECT_EQ(r.header("X-Sablier-Session-Status"), "ready");
  EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  // The issue's shape: {"session":{"instances":[{"instance":{name, currentReplicas,
  // desiredReplicas, status, providerName}, "error"?}],"status":"ready"}}.
  auto d = json(r.body);
  ASSERT_TRUE(d.IsObject()) << r.body;
  EXPECT_EQ(keys(d), std::vector<std::string>{"session"}) << r.body;
  const auto& s = d["session"];
  EXPECT_EQ(keys(s), (std::vector<std::string>{"instances", "status"})) << r.body;
  EXPECT_STREQ(s["status"].GetString(), "ready");
  ASSERT_TRUE(s["instances"].IsArray() && s["instances"].Size() == 1) << r.body;
  const auto& entry = s["instances"][0];
  EXPECT_EQ(keys(entry), std::vector<std::string>{"instance"}) << "no \"error\" when there is none: " << r.body;
  const auto& i = entry["instance"];
  const auto k = keys(i);
  ASSERT_GE(k.size(), 4u) << r.body;
  EXPECT_EQ(std::vector<std::string>(k.begin(), k.begin() + 4),
            (std::vector<std::string>{"name", "currentReplicas", "desiredReplicas", "status"}))
      << r.body;
  EXPECT_STREQ(i["name"].GetString(), "web");
  EXPECT_EQ(i["currentReplicas"].GetInt(), 1);
  EXPECT_EQ(i["desiredReplicas"].GetInt(), 1);
  EXPECT_STREQ(i["status"].GetString(), "ready");
  ASSERT_TRUE(i.HasMember("providerName")) << r.body;
  EXPECT_STREQ(i["providerName"].GetString(), "sim");
  // The exact text, as it stands (Sablier's InstanceInfo fields groups,
  // enabled and provider, then providerName).
  EXPECT_EQ(r.body,
            R"({"session":{"instances":[{"instance":{"name":"web","currentReplicas":1,"desiredReplicas":1,)"
            R"("status":"ready","groups":["shop"],"enabled":"true","provider":"sim","providerName":"sim"}}],)"
            R"("status":"ready"}})");
  EXPECT_EQ(state_of("sim", "web"), "running");
}

TEST_F(WakeContract, BlockingGroupWakesTheGroupSortedByName) {
  const HttpReply r = get("/api/strategies/blocking?group=backend");
  ASSERT_EQ(r.status, 200) << r.describe();
  auto d = json(r.body);
  ASSERT_EQ(d["session"]["instances"].Size(), 1u) << r.body;
  EXPECT_STREQ(d["session"]["instances"][0]["instance"]["name"].GetString(), "api");
  const HttpReply shop = get("/api/strategies/blocking?group=shop");
  ASSERT_EQ(shop.status, 200) << shop.describe();
  auto s = json(shop.body);
  ASSERT_EQ(s["session"]["instances"].Size(), 2u) << shop.body;
  EXPECT_STREQ(s["session"]["instances"][0]["instance"]["name"].GetString(), "api");
  EXPECT_STREQ(s["session"]["instances"][1]["instance"]["name"].GetString(), "web");
}

TEST_F(WakeContract, BlockingTimeoutIs504WithTheInstances) {
  const auto asked = Clock::now();
  const HttpReply r = get("/api/strategies/blocking?names=sim2/slowpoke&timeout=300ms");
  const auto took = Clock::now() - asked;
  expect_problem(r, 504, "timeout");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 1400ms) << "answered at the timeout, not when the start finished";
  auto d = json(r.body);
  ASSERT_TRUE(d.IsObject() && d["instances"].IsArray() && d["instances"].Size() == 1) << r.body;
  EXPECT_STREQ(d["instances"][0]["instance"]["name"].GetString(), "slowpoke");
  EXPECT_STREQ(d["instances"][0]["instance"]["status"].GetString(), "starting") << r.body;
  EXPECT_NE(std::string(d["detail"].GetString()).find("300ms"), std::string::npos) << r.body;
  // The start goes on; the next request finds it ready.
  HttpReply later;
  EXPECT_TRUE(eventually([&] { return (later = get("/api/strategies/blocking?names=sim2/slowpoke")).status == 200; },
                         10s))
      << later.describe();
}

TEST_F(WakeContract, DynamicAnswersAtOnceWithTheWaitingPage) {
  const HttpReply r = get("/api/strategies/dynamic?names=page&display_name=My%20%3Capp%3E&refresh_frequency=3s"
                          "&session_duration=1h30m&theme=berth");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("Content-Type"), "text/html");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
  EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_EQ(r.header("X-Sablier-Session-Status"), "not-ready") << "answered before the start completed";
  EXPECT_NE(r.body.find("<meta http-equiv=\"refresh\" content=\"3\">"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("My &lt;app&gt;"), std::string::npos) << "display_name, escaped: " << r.body;
  EXPECT_NE(r.body.find("1 hour 30 minutes"), std::string::npos) << "session, humanized: " << r.body;
  EXPECT_NE(r.body.find("page"), std::string::npos) << "show_details lists the instance";
  HttpReply ready;
  EXPECT_TRUE(eventually(
      [&] {
        ready = get("/api/strategies/dynamic?names=page");
        return ready.header("X-Sablier-Session-Status") == "ready";
      },
      10s))
      << ready.describe();
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.header("Content-Type"), "text/html");
  const HttpReply hidden = get("/api/strategies/dynamic?names=page&show_details=false");
  EXPECT_EQ(hidden.body.find("<li>"), std::string::npos) << hidden.body;
}

TEST_F(WakeContract, ThemesAreListedAndEachRenders) {
  const HttpReply r = get("/api/themes");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NE(r.header("Content-Type").find("application/json"), std::string::npos);
  auto d = json(r.body);
  ASSERT_TRUE(d.IsObject() && d["themes"].IsArray()) << r.body;
  const auto themes = strings(d["themes"]);
  EXPECT_GE(themes.size(), 2u);
  // Every theme name Sablier has, so a proxy configured for Sablier keeps its theme.
  for (const char* sablier : {"ghost", "hacker-terminal", "matrix", "shuffle"})
    EXPECT_NE(std::find(themes.begin(), themes.end(), sablier), themes.end()) << sablier;
  EXPECT_EQ(get("/api/dynamic/themes").body, r.body) << "the legacy route";
  std::set<std::string> pages;
  for (const auto& t : themes) {
    const HttpReply p = get("/api/strategies/dynamic?names=themed&theme=" + t);
    EXPECT_EQ(p.status, 200) << t << ": " << p.describe();
    pages.insert(p.body);
  }
  EXPECT_EQ(pages.size(), themes.size()) << "each theme looks different";
}

TEST_F(WakeContract, UnknownThemeIs404AndStartsNothing) {
  const HttpReply r = get("/api/strategies/dynamic?names=brief&theme=no-such-theme");
  expect_problem(r, 404, "theme-not-found");
  auto d = json(r.body);
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["requestTheme"].GetString(), "no-such-theme");
  EXPECT_FALSE(strings(d["availableTheme"]).empty()) << r.body;
  EXPECT_EQ(state_of("sim", "brief"), "stopped") << "the theme is checked before anything starts";
}

TEST_F(WakeContract, HealthIs200) {
  const HttpReply r = get("/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
}

TEST_F(WakeContract, ProviderSlashNameDisambiguates) {
  const HttpReply r = get("/api/strategies/blocking?names=twin");
  expect_problem(r, 400, "validation-error");
  auto d = json(r.body);
  EXPECT_EQ(strings(d["candidates"]), (std::vector<std::string>{"sim/twin", "sim2/twin"})) << r.body;
  EXPECT_EQ(state_of("sim", "twin"), "stopped");
  EXPECT_EQ(state_of("sim2", "twin"), "stopped");
  const HttpReply one = get("/api/strategies/blocking?names=sim2/twin");
  ASSERT_EQ(one.status, 200) << one.describe();
  EXPECT_STREQ(json(one.body)["session"]["instances"][0]["instance"]["providerName"].GetString(), "sim2");
  EXPECT_EQ(state_of("sim2", "twin"), "running");
  EXPECT_EQ(state_of("sim", "twin"), "stopped");
}

TEST_F(WakeContract, GoDurationsInQueryParameters) {
  for (const char* d : {"1m0s", "1h30m", "500ms", "2h45m30.5s", "1.5h", "300us", "0"}) {
    const HttpReply r = get(fmt::format("/api/strategies/blocking?names=web&session_duration={}&timeout=30s", d));
    EXPECT_EQ(r.status, 200) << d << ": " << r.describe();
  }
  expect_problem(get("/api/strategies/blocking?names=web&session_duration=banana"), 400, "validation-error",
                 "time: invalid duration \"banana\"");
  expect_problem(get("/api/strategies/blocking?names=web&timeout=1d"), 400, "validation-error",
                 "time: unknown unit \"d\" in duration \"1d\"");
  expect_problem(get("/api/strategies/dynamic?names=web&refresh_frequency=5"), 400, "validation-error",
                 "time: missing unit in duration \"5\"");
  expect_problem(get("/api/strategies/blocking?names=web&session_duration="), 400, "validation-error",
                 "time: invalid duration \"\"");
}

TEST_F(WakeContract, ShortSessionDurationStopsTheInstance) {
  const auto asked = Clock::now();
  const HttpReply r = get("/api/strategies/blocking?names=brief&session_duration=700ms");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(eventually([&] { return state_of("sim", "brief") == "stopped"; }, 10s)) << wake_->output();
  EXPECT_GE(Clock::now() - asked, 690ms);
}

TEST_F(WakeContract, EventsStreamSablierEvents) {
  SseReader all(wake_->port(), "/api/events");
  SseReader stops(wake_->port(), "/api/events?types=stopped");
  ASSERT_TRUE(eventually([&] { return !all.head().empty() && !stops.head().empty(); }, 5s));
  EXPECT_NE(all.head().find("200 OK"), std::string::npos) << all.head();
  EXPECT_NE(all.head().find("text/event-stream"), std::string::npos) << all.head();
  const HttpReply r = get("/api/strategies/blocking?names=stream&session_duration=500ms");
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::regex started(R"((^|\n)event: started\ndata: \{[^\n]*"name":"stream"[^\n]*\}\n\n)");
  const std::regex stopped(R"((^|\n)event: stopped\ndata: \{[^\n]*"name":"stream"[^\n]*\}\n\n)");
  EXPECT_TRUE(all.wait_for([&](const std::string& t) { return std::regex_search(t, started); }, 5s)) << all.text();
  EXPECT_TRUE(all.wait_for([&](const std::string& t) { return std::regex_search(t, stopped); }, 10s)) << all.text();
  EXPECT_TRUE(stops.wait_for([&](const std::string& t) { return std::regex_search(t, stopped); }, 10s))
      << stops.text();
  EXPECT_EQ(stops.text().find("event: started"), std::string::npos) << "types= filters: " << stops.text();
  // The data line is Sablier's instance JSON.
  std::smatch m;
  const std::string text = all.text();
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(event: started\ndata: (\{[^\n]*"name":"stream"[^\n]*\}))")));
  auto d = json(m[1].str());
  ASSERT_TRUE(d.IsObject()) << m[1].str();
  EXPECT_STREQ(d["status"].GetString(), "ready");
  EXPECT_EQ(d["currentReplicas"].GetInt(), 1);
}

// berth-wake started while a provider is still listing its containers
// (berthd is ready before its providers are synced): once that provider is
// synced, its containers can be woken.
TEST(WakeContractAlone, AProviderThatSyncsAfterBerthWakeStartedIsFollowed) {
  BerthdProcess d(fmt::format(R"({{"heartbeat_ms": 200, "providers": [
    {{"name": "late", "plugin": "{}", "config": {{"op_latency_ms": 1500, "containers": [
      {{"id": "1a7e0001", "name": "tardy", "state": "stopped",
        "labels": {{"sablier.enable": "true", "sablier.group": "tardy-group"}}}}]}}}}]}})",
                              plugin_path("sim")));
  ASSERT_TRUE(d.ready()) << d.output();
  WakeProcess wake({&d}, {"--log-level", "debug"});
  ASSERT_TRUE(wake.ready()) << wake.output();
  zmq::context_t zmq(1);
  ASSERT_TRUE(wait_synced(zmq, d, {"late"})) << d.output();
  HttpReply r;
  EXPECT_TRUE(eventually(
      [&] {
        r = http_get(wake.port(), "/api/strategies/blocking?group=no-such-group");
        return r.body.find("\"tardy-group\"") != std::string::npos;
      },
      10s))
      << "berth-wake never learnt the late provider's containers: " << r.describe() << "\n" << wake.output();
  r = http_get(wake.port(), "/api/strategies/blocking?names=tardy", 20s);
  EXPECT_EQ(r.status, 200) << r.describe();
}

// berthd killed and restarted at the same endpoints while a session runs;
// the new daemon's provider takes 1.5 s to list its containers. berth-wake
// keeps what it knows until the provider is synced: the app stays served
// (no 404 while the list is under way), and its session is the one the
// requests made (it stops at its end, it is not adopted afresh).
TEST(WakeContractAlone, BerthdRestartWhileItsProviderListsKeepsTheSession) {
  const ScopedDir dir;
  const std::string& rt = dir.path;
  auto config = [&](const char* state, int latency) {
    return fmt::format(R"({{"heartbeat_ms": 200, "events_endpoint": "ipc://{0}/events.sock",
      "commands_endpoint": "ipc://{0}/commands.sock", "providers": [
      {{"name": "late", "plugin": "{1}", "config": {{"op_latency_ms": {2}, "containers": [
        {{"id": "4ee90001", "name": "keeper", "state": "{3}", "labels": {{"sablier.enable": "true"}}}}]}}}}]}})",
                       rt, plugin_path("sim"), latency, state);
  };
  auto d = std::make_unique<BerthdProcess>(config("stopped", 100));
  ASSERT_TRUE(d->ready()) << d->output();
  zmq::context_t zmq(1);
  ASSERT_TRUE(wait_synced(zmq, *d, {"late"}));
  WakeProcess wake({{"ipc://" + rt + "/commands.sock", "ipc://" + rt + "/events.sock"}},
                   {"--log-level", "debug", "--session-duration", "1h"}, rt + "/berth-wake.log");
  ASSERT_TRUE(wake.ready()) << wake.output();
  const std::string ask = "/api/strategies/blocking?names=keeper&session_duration=3s&timeout=10s";
  HttpReply r;
  ASSERT_TRUE(eventually([&] { return (r = http_get(wake.port(), ask, 15s)).status == 200; }, 10s))
      << r.describe() << wake.output();

  // Killed (no "stopping" message); the container runs on meanwhile.
  ASSERT_TRUE(d->kill_now());
  d = std::make_unique<BerthdProcess>(config("running", 1500));
  ASSERT_TRUE(d->ready()) << d->output();
  std::vector<std::string> answers;
  bool synced = false;
  while (!synced) {
    r = http_get(wake.port(), ask, 15s);
    if (r.status != 200) answers.push_back(r.describe());
    synced = wait_synced(zmq, *d, {"late"}, 100ms);
  }
  EXPECT_TRUE(answers.empty()) << answers.size() << " requests were not served while the provider listed; the first:\n"
                               << answers.front() << "\n" << wake.output();
  // The session the requests made ends ~3 s after the last one (stop: 1.5 s).
  Client c(zmq, d->commands_endpoint());
  EXPECT_TRUE(eventually(
      [&] {
        auto s = c.call(R"({"op":"status","container":"keeper"})");
        return s.IsObject() && s["ok"].GetBool() && std::string(s["result"]["state"].GetString()) == "stopped";
      },
      15s))
      << "keeper was not stopped at the end of its session:\n" << wake.output();
  d.reset();
}

// The config of a berthd at fixed endpoints in `rt` with one sim provider
// "late" holding one opted-in container in `state`.
std::string one_app_config(const std::string& rt, const std::string& name, const char* state, int latency_ms) {
  return fmt::format(R"({{"heartbeat_ms": 200, "events_endpoint": "ipc://{0}/events.sock",
      "commands_endpoint": "ipc://{0}/commands.sock", "providers": [
      {{"name": "late", "plugin": "{1}", "config": {{"op_latency_ms": {2}, "containers": [
        {{"id": "4ee90002", "name": "{3}", "state": "{4}", "labels": {{"sablier.enable": "true"}}}}]}}}}]}})",
                     rt, plugin_path("sim"), latency_ms, name, state);
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// berthd killed (SIGKILL) while berth-wake's start is inside its plugin
// (sim's ops take 1 s): the start never happened, and the new berthd's
// snapshot shows the app stopped. berth-wake takes the start as undecided
// the moment the connection drops, sends it again to the new berthd (once),
// and the blocking request is served without waiting out its timeout.
TEST(WakeContractAlone, AStartLostWithAKilledBerthdIsSentAgainOnceToTheNext) {
  const ScopedDir dir;
  const std::string& rt = dir.path;
  auto d = std::make_unique<BerthdProcess>(one_app_config(rt, "lazarus", "stopped", 1000));
  ASSERT_TRUE(d->ready()) << d->output();
  zmq::context_t zmq(1);
  ASSERT_TRUE(wait_synced(zmq, *d, {"late"}));
  WakeProcess wake({{"ipc://" + rt + "/commands.sock", "ipc://" + rt + "/events.sock"}}, {"--log-level", "debug"},
                   rt + "/berth-wake.log");
  ASSERT_TRUE(wake.ready()) << wake.output();
  ASSERT_TRUE(eventually([&] { return http_get(wake.port(), "/api/strategies/blocking?group=x").body.find(
                                          "\"default\"") != std::string::npos; },
                         10s));
  Clock::time_point answered{};
  auto in_flight = std::async(std::launch::async, [&] {
    auto r = http_get(wake.port(), "/api/strategies/blocking?names=lazarus&session_duration=1m&timeout=30s", 40s);
    answered = Clock::now();
    return r;
  });
  ASSERT_TRUE(eventually([&] { return count_of(wake.output(), "lazarus: requested: start") == 1; }, 10s))
      << wake.output();
  ASSERT_TRUE(d->kill_now());
  d = std::make_unique<BerthdProcess>(one_app_config(rt, "lazarus", "stopped", 100));
  ASSERT_TRUE(d->ready()) << d->output();
  const auto back = Clock::now();
  const HttpReply r = in_flight.get();
  EXPECT_EQ(r.status, 200) << r.describe() << wake.output();
  EXPECT_LT(answered - back, 3s) << wake.output();
  const std::string log = wake.output();
  EXPECT_EQ(count_of(log, "lazarus: berthd went away before answering"), 1u) << log;
  EXPECT_EQ(count_of(log, "lazarus: requested: start"), 2u) << "once to each berthd: " << log;
  Client c(zmq, d->commands_endpoint());
  auto s = c.call(R"({"op":"status","container":"lazarus"})");
  ASSERT_TRUE(s.IsObject() && s["ok"].GetBool());
  EXPECT_STREQ(s["result"]["state"].GetString(), "running");
  d.reset();
}

// A session that ends while no berthd runs: its stop is owed, and sent
// once a berthd is back and its snapshot shows the app still running (not
// adopted with a fresh session).
TEST(WakeContractAlone, ASessionEndingWhileBerthdIsDownStopsTheAppWhenItIsBack) {
  const ScopedDir dir;
  const std::string& rt = dir.path;
  auto d = std::make_unique<BerthdProcess>(one_app_config(rt, "sleeper", "stopped", 50));
  ASSERT_TRUE(d->ready()) << d->output();
  zmq::context_t zmq(1);
  ASSERT_TRUE(wait_synced(zmq, *d, {"late"}));
  WakeProcess wake({{"ipc://" + rt + "/commands.sock", "ipc://" + rt + "/events.sock"}},
                   {"--log-level", "debug", "--session-duration", "1h"}, rt + "/berth-wake.log");
  ASSERT_TRUE(wake.ready()) << wake.output();
  HttpReply r;
  ASSERT_TRUE(eventually(
      [&] {
        r = http_get(wake.port(), "/api/strategies/blocking?names=sleeper&session_duration=1s&timeout=10s", 15s);
        return r.status == 200;
      },
      10s))
      << r.describe() << wake.output();
  ASSERT_TRUE(d->kill_now());
  std::this_thread::sleep_for(2s);  // the session ends meanwhile
  d = std::make_unique<BerthdProcess>(one_app_config(rt, "sleeper", "running", 50));
  ASSERT_TRUE(d->ready()) << d->output();
  Client c(zmq, d->commands_endpoint());
  EXPECT_TRUE(eventually(
      [&] {
        auto s = c.call(R"({"op":"status","container":"sleeper"})");
        return s.IsObject() && s["ok"].GetBool() && std::string(s["result"]["state"].GetString()) == "stopped";
      },
      5s))
      << "not stopped once berthd was back:\n" << wake.output();
  EXPECT_EQ(count_of(wake.output(), "session ended while berthd was away"), 1u) << wake.output();
  EXPECT_EQ(count_of(wake.output(), "adopted"), 0u) << wake.output();
  d.reset();
}

// Last: it stops the suite's berth-wake.
TEST_F(WakeContract, ZHealthIs503WhileShuttingDown) {
  HttpConnection c(wake_->port());
  ASSERT_TRUE(c.connected());
  HttpReply r = c.get("/health");
  ASSERT_EQ(r.status, 200) << r.describe();
  kill(wake_->child().pid(), SIGTERM);
  // On the open connection, until berth-wake goes (it waits 500 ms).
  EXPECT_TRUE(eventually(
      [&] {
        r = c.get("/health", 1s);
        return r.status != 200;
      },
      3s));
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.header("Connection"), "close") << r.describe();
  EXPECT_TRUE(wake_->child().stop(SIGTERM, 5s).has_value());
}

}  // namespace
}  // namespace berth::wake_test
