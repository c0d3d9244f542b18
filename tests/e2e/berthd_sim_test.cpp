// End to end: the real berthd process with sim.so, spoken to over real
// ZeroMQ sockets exactly as a subscriber and a REQ client would.
#include "berthd_process.hpp"
#include "plugin/abi_copy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <set>
#include <thread>

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

std::string sim_config(const std::string& sim_json, const std::string& extra = "") {
  return fmt::format(R"({{"heartbeat_ms": 200, {} "providers": [
      {{"name": "sim", "plugin": "{}", "config": {}}}]}})",
                     extra, plugin_path("sim"), sim_json);
}

constexpr const char* kContainers = R"({"containers": [
    {"id": "c0ffee01", "name": "web", "image": "busybox", "state": "running",
     "labels": {"proxy.aliases": "web"}},
    {"id": "c0ffee02", "name": "slow", "image": "busybox", "state": "running",
     "stop_behaviour": "ignores_sigterm"},
    {"id": "c0ffee03", "name": "idle", "image": "busybox", "state": "stopped"}]})";

class BerthdSim : public ::testing::Test {
 protected:
  void start(const std::string& config) {
    daemon_ = std::make_unique<BerthdProcess>(config);
    ASSERT_TRUE(daemon_->ready()) << daemon_->output();
    sub_ = std::make_unique<Subscriber>(zmq_, daemon_->events_endpoint());
    ASSERT_TRUE(sub_->wait_connected()) << "no heartbeat on the PUB socket";
    client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint());
    wait_synced();
  }
  // The provider's baseline list is in once snapshot says synced.
  void wait_synced() {
    for (int i = 0; i < 200; ++i) {
      auto r = client_->call(R"({"op":"snapshot"})");
      if (r.IsObject() && r["result"]["providers"]["sim"]["synced"].GetBool()) return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "provider never synced";
  }
  std::string call_raw_reply(const std::string& req) { return client_->call_raw(req); }
  Json call(const std::string& req) {
    auto r = client_->call(req);
    EXPECT_TRUE(r.IsObject()) << "no reply to " << req;
    return r;
  }
  std::string state_of(const std::string& name) {
    auto r = call(fmt::format(R"({{"op":"status","container":"{}"}})", name));
    return r["ok"].GetBool() ? r["result"]["state"].GetString() : "?";
  }
  // The next container event, skipping heartbeats.
  std::optional<Message> next_event(std::chrono::milliseconds t = 5s) {
    return sub_->next_matching("container/", t);
  }

  zmq::context_t zmq_;
  std::unique_ptr<BerthdProcess> daemon_;
  std::unique_ptr<Subscriber> sub_;
  std::unique_ptr<Client> client_;
};

TEST_F(BerthdSim, StopPublishesExitedAndChangesState) {
  start(sim_config(kContainers));
  auto r = call(R"({"id":"s1","op":"stop","container":"web","timeout":5})");
  ASSERT_TRUE(r["ok"].GetBool()) << r["error"]["message"].GetString();
  EXPECT_STREQ(r["id"].GetString(), "s1");
  auto ev = next_event();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->topic, "container/sim/exited");
  EXPECT_STREQ(ev->body["container"]["name"].GetString(), "web");
  EXPECT_STREQ(ev->body["container"]["id"].GetString(), "c0ffee01");
  EXPECT_EQ(ev->body["exit_code"].GetInt(), 0);
  EXPECT_STREQ(ev->body["container"]["state"].GetString(), "stopped");
  EXPECT_STREQ(ev->body["container"]["labels"]["proxy.aliases"].GetString(), "web");
  EXPECT_EQ(ev->body["schema"].GetInt(), 1);
  EXPECT_STREQ(ev->body["origin"].GetString(), "engine");
  EXPECT_EQ(state_of("web"), "stopped");
}

TEST_F(BerthdSim, EveryLifecycleCommandProducesItsEventInOrder) {
  start(sim_config(kContainers));
  const std::vector<std::pair<std::string, std::vector<std::string>>> steps = {
      {"start", {"started"}},  {"pause", {"paused"}},           {"unpause", {"unpaused"}},
      {"kill", {"exited"}},    {"restart", {"exited", "started"}}, {"stop", {"exited"}}};
  uint64_t last_seq = 0;
  // "idle" starts stopped; restart on a stopped container just starts it.
  for (const auto& [op, expected] : steps) {
    auto r = call(fmt::format(R"({{"op":"{}","container":"idle","timeout":2}})", op));
    ASSERT_TRUE(r["ok"].GetBool()) << op << ": " << r["error"]["message"].GetString();
    auto wanted = expected;
    if (op == "restart") wanted = {"started"};  // it was stopped by kill
    for (const auto& type : wanted) {
      auto ev = next_event();
      ASSERT_TRUE(ev) << "no event after " << op;
      EXPECT_EQ(ev->topic, "container/sim/" + type) << "after " << op;
      const uint64_t seq = ev->body["seq"].GetUint64();
      EXPECT_GT(seq, last_seq);
      last_seq = seq;
    }
  }
  EXPECT_EQ(state_of("idle"), "stopped");
}

TEST_F(BerthdSim, KillReportsTheSignalsExitCode) {
  start(sim_config(kContainers));
  ASSERT_TRUE(call(R"({"op":"kill","container":"web"})")["ok"].GetBool());
  auto ev = next_event();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->topic, "container/sim/exited");
  EXPECT_EQ(ev->body["exit_code"].GetInt(), 137);
}

TEST_F(BerthdSim, PingAnswersWhileASlowStopIsInFlight) {
  start(sim_config(kContainers));
  zmq::socket_t slow(zmq_, zmq::socket_type::req);
  slow.set(zmq::sockopt::linger, 0);
  slow.connect(daemon_->commands_endpoint());
  // "slow" ignores SIGTERM: the stop waits out its 3 s timeout, then kills.
  const std::string stop = R"({"id":"slow","op":"stop","container":"slow","timeout":3})";
  slow.send(zmq::buffer(stop), zmq::send_flags::none);
  // Until the stop is inside the plugin (`providers` shows the running call).
  for (int i = 0; i < 500; ++i) {
    auto p = call(R"({"op":"providers"})");
    if (p["result"][0]["calls"]["running"].GetUint() == 1) break;
    std::this_thread::sleep_for(10ms);
  }

  auto pong = call(R"({"id":"p","op":"ping"})");
  ASSERT_TRUE(pong["ok"].GetBool());
  auto listed = call(R"({"op":"status","container":"web"})");
  ASSERT_TRUE(listed["ok"].GetBool());
  zmq::pollitem_t item{slow.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(0));
  EXPECT_FALSE(item.revents & ZMQ_POLLIN) << "the stop answered before the ping: it was not slow";

  zmq::message_t reply;
  slow.set(zmq::sockopt::rcvtimeo, 10000);
  ASSERT_TRUE(slow.recv(reply));
  Json r;
  r.Parse(reply.to_string().c_str());
  EXPECT_TRUE(r["ok"].GetBool()) << reply.to_string();
  auto ev = next_event();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->body["exit_code"].GetInt(), 137) << "killed after ignoring SIGTERM";
}

TEST_F(BerthdSim, ADeadlineShorterThanTheStopIsAnsweredWithTimeout) {
  start(sim_config(kContainers));
  auto r = call(R"({"id":9,"op":"stop","container":"slow","timeout":5,"timeout_ms":500})");
  ASSERT_FALSE(r["ok"].GetBool());
  EXPECT_STREQ(r["error"]["code"].GetString(), "timeout");
  EXPECT_EQ(r["id"].GetInt(), 9);
  EXPECT_TRUE(call(R"({"op":"ping"})")["ok"].GetBool());
}

TEST_F(BerthdSim, EachBadRequestGetsItsOwnTypedErrorAndTheDaemonStaysUp) {
  start(sim_config(kContainers));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"this is not json", "malformed_request"},
      {R"(["ping"])", "malformed_request"},
      {R"({"id":1,"op":"explode"})", "unknown_op"},
      {R"({"id":2,"op":"start"})", "missing_field"},
      {R"({"id":3,"op":"start","provider":"nope","container":"web"})", "unknown_provider"},
      {R"({"id":4,"op":"start","container":"no-such-container"})", "not_found"},
      {R"({"id":5,"op":"start","provider":"sim","container":"no-such-container"})", "not_found"},
      {R"({"id":6,"op":"pause","provider":"sim","container":"idle"})", "conflict"},
      {R"({"id":7,"op":"kill","provider":"sim","container":"web","signal":"SIGBOGUS"})",
       "invalid_argument"},
  };
  for (const auto& [req, code] : cases) {
    auto r = call(req);
    ASSERT_TRUE(r.IsObject()) << req;
    ASSERT_FALSE(r["ok"].GetBool()) << req;
    EXPECT_EQ(std::string(r["error"]["code"].GetString()), code) << req;
    EXPECT_GT(r["error"]["message"].GetStringLength(), 0u) << req;
  }
  EXPECT_TRUE(call(R"({"op":"ping"})")["ok"].GetBool());
  EXPECT_EQ(state_of("web"), "running") << "no bad request changed anything";
}

// Found by a client written from docs/protocol.md alone.
TEST_F(BerthdSim, RepliesAreValidUtf8AndEchoTheIdAsWritten) {
  start(sim_config(kContainers));
  // A raw 0xFF in the id was echoed back: the reply was not UTF-8.
  const std::string bad = call_raw_reply("{\"id\":\"\xff\",\"op\":\"ping\"}");
  Json r;
  r.Parse(bad.c_str());
  ASSERT_TRUE(r.IsObject()) << bad;
  EXPECT_STREQ(r["error"]["code"].GetString(), "malformed_request");
  EXPECT_TRUE(berth::valid_utf8(bad));
  // A 30-digit id came back as 1.2345…e29.
  const std::string big = call_raw_reply(R"({"id":123456789012345678901234567890,"op":"ping"})");
  EXPECT_EQ(big.rfind(R"({"id":123456789012345678901234567890,)", 0), 0u) << big;
  // One request is one frame.
  zmq::socket_t req(zmq_, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.connect(daemon_->commands_endpoint());
  req.send(zmq::str_buffer(R"({"op":"ping"})"), zmq::send_flags::sndmore);
  req.send(zmq::str_buffer(R"({"op":"ping"})"), zmq::send_flags::none);
  zmq::message_t reply;
  ASSERT_TRUE(req.recv(reply));
  Json two;
  two.Parse(reply.to_string().c_str());
  EXPECT_STREQ(two["error"]["code"].GetString(), "malformed_request");
}

TEST_F(BerthdSim, UnsupportedOpIsRefusedWithoutCallingThePlugin) {
  start(fmt::format(R"({{"heartbeat_ms": 200, "providers": [
      {{"name": "sim", "plugin": "{}", "config": {{"containers": [
        {{"id": "a1", "name": "web", "state": "running"}}], "disable": ["pause"]}}}}]}})",
                    plugin_path("sim")));
  auto r = call(R"({"op":"pause","container":"web"})");
  ASSERT_FALSE(r["ok"].GetBool());
  EXPECT_STREQ(r["error"]["code"].GetString(), "unsupported");
  EXPECT_EQ(state_of("web"), "running");
  EXPECT_FALSE(next_event(500ms)) << "a refused op must not produce an event";
}

TEST_F(BerthdSim, ProvidersReportsCapabilitiesAndHealth) {
  start(sim_config(kContainers));
  auto r = call(R"({"op":"providers"})");
  ASSERT_TRUE(r["ok"].GetBool());
  ASSERT_EQ(r["result"].Size(), 1u);
  const auto& p = r["result"][0];
  EXPECT_STREQ(p["name"].GetString(), "sim");
  EXPECT_STREQ(p["plugin"].GetString(), "sim");
  EXPECT_TRUE(p["up"].GetBool());
  EXPECT_EQ(p["containers"].GetUint(), 3u);
  std::set<std::string> caps;
  for (const auto& c : p["capabilities"].GetArray()) caps.insert(c.GetString());
  for (const char* want : {"list", "inspect", "status", "start", "stop", "kill", "pause",
                           "unpause", "restart", "watch"})
    EXPECT_TRUE(caps.count(want)) << want;
}

TEST_F(BerthdSim, ListAndInspectDescribeContainers) {
  start(sim_config(kContainers));
  auto list = call(R"({"op":"list"})");
  ASSERT_TRUE(list["ok"].GetBool());
  EXPECT_EQ(list["result"]["containers"].Size(), 3u);
  EXPECT_EQ(list["result"]["errors"].Size(), 0u);
  auto by_name = call(R"({"op":"inspect","container":"web"})");
  auto by_id = call(R"({"op":"inspect","container":"c0ffee01"})");
  ASSERT_TRUE(by_name["ok"].GetBool());
  ASSERT_TRUE(by_id["ok"].GetBool());
  EXPECT_STREQ(by_name["result"]["id"].GetString(), "c0ffee01");
  EXPECT_STREQ(by_id["result"]["name"].GetString(), "web");
  EXPECT_STREQ(by_id["result"]["provider"].GetString(), "sim");
}

// The clone pattern: subscribe, take a snapshot at seq S, apply stream
// events with seq > S — the result equals the daemon's final state, and the
// stream after S has no gap.
TEST_F(BerthdSim, SnapshotPlusStreamEqualsTheFinalState) {
  start(sim_config(R"({"containers": [], "generator": {"rate": 2000, "count": 3000,
                       "containers": 8}})"));
  auto snap = call(R"({"op":"snapshot"})");
  ASSERT_TRUE(snap["ok"].GetBool());
  const uint64_t s = snap["result"]["seq"].GetUint64();
  std::map<std::string, std::string> state;
  for (const auto& c : snap["result"]["providers"]["sim"]["containers"].GetArray())
    state[c["id"].GetString()] = c["state"].GetString();

  uint64_t expected = s + 1, applied = 0;
  for (;;) {
    auto ev = next_event(1500ms);
    if (!ev) break;  // the generator has finished
    const uint64_t seq = ev->body["seq"].GetUint64();
    if (seq <= s) continue;  // already in the snapshot
    ASSERT_EQ(seq, expected) << "gap in the stream";
    ++expected;
    ++applied;
    const std::string id = ev->body["container"]["id"].GetString();
    if (ev->topic == "container/sim/destroyed") state.erase(id);
    else state[id] = ev->body["container"]["state"].GetString();
  }
  auto final_snap = call(R"({"op":"snapshot"})");
  EXPECT_EQ(final_snap["result"]["seq"].GetUint64(), expected - 1);
  std::map<std::string, std::string> final_state;
  for (const auto& c : final_snap["result"]["providers"]["sim"]["containers"].GetArray())
    final_state[c["id"].GetString()] = c["state"].GetString();
  EXPECT_EQ(state, final_state);
  EXPECT_GT(applied, 0u) << "the test saw no stream at all";
}

TEST_F(BerthdSim, HeartbeatCarriesTheCurrentSequenceNumber) {
  start(sim_config(kContainers));
  ASSERT_TRUE(call(R"({"op":"stop","container":"web"})")["ok"].GetBool());
  auto ev = next_event();
  ASSERT_TRUE(ev);
  auto hb = sub_->next_matching("daemon/heartbeat", 2s);
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->body["seq"].GetUint64(), ev->body["seq"].GetUint64());
  EXPECT_STREQ(hb->body["kind"].GetString(), "heartbeat");
}

TEST_F(BerthdSim, EveryMessageNamesTheDaemon) {
  start(sim_config(kContainers, R"("daemon_name": "rack-7.b",)"));
  ASSERT_TRUE(call(R"({"op":"stop","container":"web"})")["ok"].GetBool());
  auto ev = next_event();
  ASSERT_TRUE(ev);
  EXPECT_STREQ(ev->body["daemon_name"].GetString(), "rack-7.b") << ev->raw;
  auto hb = sub_->next_matching("daemon/heartbeat", 2s);
  ASSERT_TRUE(hb);
  EXPECT_STREQ(hb->body["daemon_name"].GetString(), "rack-7.b");
  for (const char* op : {"ping", "version", "snapshot", "list"}) {
    auto r = call(fmt::format(R"({{"op":"{}"}})", op));
    ASSERT_TRUE(r["ok"].GetBool()) << op;
    EXPECT_STREQ(r["result"]["daemon_name"].GetString(), "rack-7.b") << op;
  }
}

// An operator looking at `top -H` or `perf` sees what each thread is.
TEST_F(BerthdSim, ThreadsSayWhatTheyAre) {
  start(sim_config(kContainers));
  EXPECT_EQ(state_of("web"), "running");  // a plugin call: its thread stays a while, idle
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", daemon_->pid()))) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  for (const char* want : {"pipeline", "commands", "subscribers", "ZMQbg/IO/0"}) EXPECT_EQ(names.count(want), 1u) << want;
  EXPECT_GE(names.count("plugin-call"), 1u);  // one per call in flight in the last 5 s
  // The rest: the main thread, ZeroMQ's reaper and sim.so's own threads.
  const std::string all = fmt::format("{}", fmt::join(names, ", "));
  EXPECT_EQ(names.count("zap-handler") + names.count("metrics-http"), 0u) << "neither is configured: " << all;
}

TEST(BerthdLogs, JsonLogsAreOneObjectPerLine) {
  // (Escaping of quotes and control bytes: the Logging unit test.)
  BerthdProcess d(sim_config(kContainers, R"("log_format": "json", "log_level": "debug",)"));
  ASSERT_TRUE(d.ready()) << d.output();
  d.terminate();
  std::istringstream lines(d.output());
  std::string line;
  int objects = 0;
  std::set<std::string> levels;
  while (std::getline(lines, line)) {
    if (line.rfind("berthd ", 0) == 0 || line.rfind("  ", 0) == 0) continue;  // the ready banner (stdout)
    Json j;
    j.Parse(line.c_str());
    ASSERT_FALSE(j.HasParseError()) << line;
    ASSERT_TRUE(j.IsObject()) << line;
    for (const char* key : {"time", "level", "logger", "msg"}) ASSERT_TRUE(j[key].IsString()) << key << ": " << line;
    EXPECT_TRUE(j["thread"].IsNumber()) << line;
    EXPECT_STREQ(j["logger"].GetString(), "berthd");
    EXPECT_EQ(std::string(j["time"].GetString()).back(), 'Z') << "UTC";
    levels.insert(j["level"].GetString());
    ++objects;
  }
  EXPECT_GE(objects, 3) << d.output();
  EXPECT_TRUE(levels.count("info")) << d.output();
}

TEST_F(BerthdSim, SigtermStopsGracefullyAndSaysSo) {
  start(sim_config(kContainers));
  auto exit_code = daemon_->terminate(10s);
  ASSERT_TRUE(exit_code) << "berthd did not exit";
  EXPECT_EQ(*exit_code, 0) << daemon_->output();
  auto bye = sub_->next_matching("daemon/stopping", 2s);
  EXPECT_TRUE(bye) << "no stopping message";
}

TEST(BerthdDefault, WithNoConfigItServesEveryPluginInItsPluginDir) {
  // A plugin dir holding only sim.so, so the test does not depend on dockerd.
  char tmpl[] = "/tmp/berth-plugins-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::filesystem::create_symlink(plugin_path("sim"), dir + "/sim.so");
  zmq::context_t zmq;
  {
    BerthdProcess d("{}", {"--plugin-dir", dir}, /*use_config_file=*/false);
    ASSERT_TRUE(d.ready()) << d.output();
    EXPECT_NE(d.output().find("events:    ipc://"), std::string::npos) << "endpoints are printed";
    Client c(zmq, d.commands_endpoint());
    auto list = c.call(R"({"op":"list"})");
    ASSERT_TRUE(list.IsObject());
    ASSERT_TRUE(list["ok"].GetBool());
    EXPECT_GT(list["result"]["containers"].Size(), 0u) << "the embedded default shows something";
  }
  std::filesystem::remove_all(dir);
}

TEST(BerthdStartup, AMissingRequiredProviderExitsWithStatus3NamingTheFile) {
  BerthdProcess d(R"({"providers": [{"name": "gone", "plugin": "/nonexistent/gone.so",
                                     "required": true}]})");
  EXPECT_FALSE(d.ready());
  auto code = d.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 3);
  EXPECT_NE(d.output().find("/nonexistent/gone.so"), std::string::npos) << d.output();
}

TEST(BerthdStartup, AMissingOptionalProviderIsLoggedAndTheOthersServe) {
  BerthdProcess d(fmt::format(R"({{"providers": [
      {{"name": "gone", "plugin": "/nonexistent/gone.so"}},
      {{"name": "sim", "plugin": "{}"}}]}})",
                              plugin_path("sim")));
  ASSERT_TRUE(d.ready()) << d.output();
  EXPECT_NE(d.output().find("/nonexistent/gone.so: no such file"), std::string::npos) << d.output();
  zmq::context_t zmq;
  Client c(zmq, d.commands_endpoint());
  auto r = c.call(R"({"op":"providers"})");
  ASSERT_TRUE(r.IsObject());
  ASSERT_EQ(r["result"].Size(), 1u);
  EXPECT_STREQ(r["result"][0]["name"].GetString(), "sim");
}

TEST(BerthdStartup, AnInvalidConfigExitsWithStatus1NamingLineAndColumn) {
  char tmpl[] = "/tmp/berth-cfg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string file = std::string(tmpl) + "/bad.json";
  std::ofstream(file) << "{\n  \"heartbeat_ms\": 5,\n  \"workers\": [\n}";
  BerthdProcess d("{}", {"--config", file}, /*use_config_file=*/false);
  auto code = d.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1);
  EXPECT_NE(d.output().find("line 4, column 1"), std::string::npos) << d.output();
  std::filesystem::remove_all(tmpl);
}

// The command line (CLI11): a bad option or value is a usage error (2),
// named, with where the usage is; nothing starts.
TEST(BerthdCommandLine, AnUnknownOptionOrABadValueExitsWithStatus2NamingIt) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--frobnicate"}, "--frobnicate"},
      {{"--log-level", "loud"}, "loud"},
      {{"--log-format", "xml"}, "xml"},
      {{"--plugin-dir"}, "--plugin-dir"},
  };
  for (const auto& [args, named] : cases) {
    BerthdProcess d("{}", args, /*use_config_file=*/false);
    EXPECT_FALSE(d.ready()) << args[0];
    auto code = d.wait_exit(std::chrono::seconds(10));
    ASSERT_TRUE(code) << args[0];
    EXPECT_EQ(*code, 2) << d.output();
    EXPECT_NE(d.output().find(named), std::string::npos) << d.output();
    EXPECT_NE(d.output().find("berthd --help"), std::string::npos) << "where the usage is: " << d.output();
  }
}

TEST(BerthdCommandLine, VersionAndHelpPrintAndExitWith0) {
  BerthdProcess version("{}", {"--version"}, /*use_config_file=*/false);
  auto code = version.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_NE(version.output().find(fmt::format("berthd {} (ABI {}.{})", BERTH_VERSION, BERTH_ABI_MAJOR,
                                              BERTH_ABI_MINOR)),
            std::string::npos)
      << version.output();
  BerthdProcess help("{}", {"--help"}, /*use_config_file=*/false);
  code = help.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  for (const char* option : {"--config", "--plugin-dir", "--runtime-dir", "--log-level", "--log-format",
                             "$BERTH_RUNTIME_DIR"})
    EXPECT_NE(help.output().find(option), std::string::npos) << option << " in " << help.output();
}

}  // namespace
}  // namespace berth::testing
