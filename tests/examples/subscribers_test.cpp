// The subscriber examples (C++ and Python) against the real berthd: they
// print the snapshot and the events, and they notice gaps.
#include "background.hpp"
#include "berthd_process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace {

using namespace berth::testing;
using namespace std::chrono_literals;

std::string python_subscriber() { return "/usr/bin/python3 " BERTH_EXAMPLES_DIR "/subscriber-python/berth_subscriber.py"; }
std::string cpp_subscriber() { return BERTH_CPP_SUBSCRIBER; }

class Subscribers : public ::testing::TestWithParam<std::string> {};

TEST_P(Subscribers, PrintTheSnapshotThenEventsInOrder) {
  BerthdProcess d(fmt::format(R"({{"heartbeat_ms": 100, "providers": [{{"name": "sim", "plugin": "{}"}}]}})",
                              plugin_path("sim")));
  ASSERT_TRUE(d.ready()) << d.output();
  Background sub(GetParam() + " --events " + d.events_endpoint() + " --commands " + d.commands_endpoint());
  ASSERT_TRUE(sub.wait_for("snapshot: 3 containers", 10s)) << sub.output();
  zmq::context_t zmq;
  Client c(zmq, d.commands_endpoint());
  ASSERT_TRUE(c.call(R"({"op":"stop","container":"web","timeout":1})")["ok"].GetBool());
  ASSERT_TRUE(c.call(R"({"op":"start","container":"web"})")["ok"].GetBool());
  ASSERT_TRUE(sub.wait_for("sim started web", 10s)) << sub.output();
  const std::string out = sub.output();
  const auto exited = out.find("sim exited web exit_code=0");
  ASSERT_NE(exited, std::string::npos) << out;
  EXPECT_LT(exited, out.find("sim started web")) << "in order";
}

TEST_P(Subscribers, NoticeAGapAndResync) {
  // A subscriber far slower than a burst, with a tiny high-water mark:
  // ZeroMQ drops for it, and it must say so and recover.
  BerthdProcess d(fmt::format(R"({{"heartbeat_ms": 100, "pub_hwm": 10, "providers": [{{"name": "sim",
      "plugin": "{}", "config": {{"generator": {{"count": 50000, "rate": 0, "delay_ms": 1500}}}}}}]}})",
                              plugin_path("sim")));
  ASSERT_TRUE(d.ready()) << d.output();
  Background sub(GetParam() + " --events " + d.events_endpoint() + " --commands " + d.commands_endpoint());
  ASSERT_TRUE(sub.wait_for("gap", 20s)) << sub.output().substr(0, 2000);
  // Recovered after the gap: a second snapshot (C++ prints it) or the resync
  // point (Python). Waited for: it comes after the gap line, not with it.
  auto recovered = [](const std::string& out) {
    const auto gap = out.find("gap");
    return gap != std::string::npos && (out.find("snapshot:", gap) != std::string::npos ||
                                         out.find("resynced to seq", gap) != std::string::npos);
  };
  EXPECT_TRUE(sub.wait_until(recovered, 20s)) << sub.output().substr(0, 2000);
}

// berthd killed and started again at the same sockets within a heartbeat:
// the new run's seq starts below the subscriber's. It must see the new run,
// take its snapshot, and apply the new run's events.
TEST_P(Subscribers, FollowABerthdKilledAndStartedAgain) {
  const std::string rt = make_temp_dir();
  const std::string config = fmt::format(
      R"({{"heartbeat_ms": 100, "events_endpoint": "ipc://{0}/events.sock", "commands_endpoint": "ipc://{0}/commands.sock",
          "providers": [{{"name": "sim", "plugin": "{1}"}}]}})",
      rt, plugin_path("sim"));
  auto d = std::make_unique<BerthdProcess>(config);
  ASSERT_TRUE(d->ready()) << d->output();
  Background sub(GetParam() + " --events " + d->events_endpoint() + " --commands " + d->commands_endpoint());
  ASSERT_TRUE(sub.wait_for("snapshot: 3 containers", 10s)) << sub.output();
  zmq::context_t zmq;
  for (int i = 0; i < 3; ++i) {  // the old run's seq goes past where the new one starts
    Client c(zmq, d->commands_endpoint());
    ASSERT_TRUE(c.call(R"({"op":"stop","container":"web","timeout":1})")["ok"].GetBool());
    ASSERT_TRUE(c.call(R"({"op":"start","container":"web"})")["ok"].GetBool());
  }
  ASSERT_TRUE(sub.wait_until([](const std::string& o) { return o.rfind("sim started web") != o.find("sim started web"); },
                             10s))
      << sub.output();
  ASSERT_TRUE(d->kill_now());
  d = std::make_unique<BerthdProcess>(config);
  ASSERT_TRUE(d->ready()) << d->output();
  ASSERT_TRUE(sub.wait_for("restart", 10s)) << sub.output();
  Client c(zmq, d->commands_endpoint());
  ASSERT_TRUE(c.call(R"({"op":"stop","container":"db","timeout":1})")["ok"].GetBool());
  EXPECT_TRUE(sub.wait_for("sim exited db", 10s)) << "an event of the new run: " << sub.output();
  d.reset();
  std::filesystem::remove_all(rt);
}

INSTANTIATE_TEST_SUITE_P(Examples, Subscribers, ::testing::Values(cpp_subscriber(), python_subscriber()),
                         [](const auto& info) { return info.index == 0 ? std::string("cpp") : std::string("python"); });

}  // namespace
