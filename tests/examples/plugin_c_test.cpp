// examples/plugin-c (plain C, built out of tree from the installed SDK):
// the conformance kit, and berthd serving it.
#include "berthd_process.hpp"
#include "eventually.hpp"

#include <berth/provider.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace {

namespace fs = std::filesystem;

const std::string& services_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/berth-procdir-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

// A service that exits 0 on SIGTERM.
std::string make_service(const std::string& name) {
  fs::create_directories(services_dir() + "/" + name);
  const std::string run = services_dir() + "/" + name + "/run";
  std::ofstream(run) << "#!/bin/sh\ntrap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n";
  fs::permissions(run, fs::perms::owner_all);
  return name;
}

}  // namespace

// The conformance kit runs on procdir.so through the installed runner
// (plugin_c_conformance.sh), as a third party would run it.

TEST(PluginC, BerthdLoadsItAndRunsTheDemoService) {
  using namespace berth::testing;
  // A copy of the demo: the service writes its log beside itself, and other
  // builds' suites may run the same demo at the same time.
  const std::string demo = services_dir() + "/demo";
  fs::copy(BERTH_EXAMPLES_DIR "/plugin-c/demo", demo, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  BerthdProcess d(fmt::format(R"({{"heartbeat_ms": 100, "providers": [{{"name": "svc", "plugin": "{}",
      "config": {{"dir": "{}", "poll_ms": 100}}}}]}})", BERTH_PLUGIN_C_SO, demo));
  ASSERT_TRUE(d.ready()) << d.output();
  EXPECT_NE(d.output().find(fmt::format("loaded plugin procdir 0.1.0 (ABI {}.{})", BERTH_ABI_MAJOR, BERTH_ABI_MINOR)),
            std::string::npos) << d.output();
  zmq::context_t zmq;
  Client c(zmq, d.commands_endpoint());
  Subscriber sub(zmq, d.events_endpoint());
  ASSERT_TRUE(sub.wait_connected());
  auto started = c.call(R"({"op":"start","container":"hello"})");
  ASSERT_TRUE(started["ok"].GetBool()) << started["error"]["message"].GetString();
  auto st = c.call(R"({"op":"inspect","container":"hello"})");
  EXPECT_STREQ(st["result"]["state"].GetString(), "running");
  EXPECT_STREQ(st["result"]["routing"]["routes"][0]["alias"].GetString(), "hello");
  // The watcher has seen it run (else a quick stop could fall between polls).
  ASSERT_TRUE(sub.next_matching("container/svc/started", std::chrono::seconds(5)));
  // And the service has set its trap: its first line comes after the trap. A
  // SIGTERM before it kills the shell (exit 143); under TSan the forked child
  // took long enough for that once.
  const auto said_hello = [&] {
    std::ifstream log(demo + "/hello/log");
    return std::string(std::istreambuf_iterator<char>(log), {}).find("hello ") != std::string::npos;
  };
  ASSERT_TRUE(eventually(said_hello, std::chrono::seconds(5))) << "the demo service never wrote its first line";
  const auto t0 = std::chrono::steady_clock::now();
  auto stopped = c.call(R"({"op":"stop","container":"hello","timeout":5})");
  ASSERT_TRUE(stopped["ok"].GetBool());
  // SIGTERM reaches the service's trap even though berthd blocks SIGTERM
  // for itself: a graceful exit 0, long before the 5 s escalation.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  auto exited = sub.next_matching("container/svc/exited", std::chrono::seconds(5));
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->body["exit_code"].GetInt(), 0);
  EXPECT_STREQ(c.call(R"({"op":"status","container":"hello"})")["result"]["state"].GetString(), "stopped");
  fs::remove_all(demo);
}

// berthd blocks SIGTERM in all its threads (it sigwaits for it); a service
// must not inherit that, or no stop could be graceful. A shell resets its
// mask itself, so the service here execs a plain program.
TEST(PluginC, ServicesStartedByBerthdCanBeStoppedBySigterm) {
  using namespace berth::testing;
  make_service("plain");
  std::ofstream(services_dir() + "/plain/run") << "#!/bin/sh\nexec sleep 600\n";
  BerthdProcess d(fmt::format(R"({{"heartbeat_ms": 100, "providers": [{{"name": "svc", "plugin": "{}",
      "config": {{"dir": "{}", "poll_ms": 50}}}}]}})", BERTH_PLUGIN_C_SO, services_dir()));
  ASSERT_TRUE(d.ready()) << d.output();
  zmq::context_t zmq;
  Client c(zmq, d.commands_endpoint());
  Subscriber sub(zmq, d.events_endpoint());
  ASSERT_TRUE(sub.wait_connected());
  ASSERT_TRUE(c.call(R"({"op":"start","container":"plain"})")["ok"].GetBool());
  ASSERT_TRUE(sub.next_matching("container/svc/started", std::chrono::seconds(5)));
  ASSERT_TRUE(c.call(R"({"op":"stop","container":"plain","timeout":5})")["ok"].GetBool());
  auto exited = sub.next_matching("container/svc/exited", std::chrono::seconds(10));
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->body["exit_code"].GetInt(), 128 + SIGTERM) << "SIGTERM, not the SIGKILL escalation";
  fs::remove_all(services_dir() + "/plain");
}

// Shutdown with one stuck plugin used to exit after 5 s without naming it,
// and the other instances' destroy never ran: procdir's services were left
// running. Now: bounded, the stuck op named, every other instance destroyed.
TEST(PluginC, ShutdownNamesAStuckOpAndStillDestroysEveryOtherInstance) {
  using namespace berth::testing;
  make_service("keep");
  const std::string pidfile = services_dir() + "/keep/pid";
  std::ofstream(services_dir() + "/keep/run") << "#!/bin/sh\necho $$ > " << pidfile << "\nexec sleep 600\n";
  BerthdProcess d(fmt::format(R"({{"shutdown_timeout_ms": 1500, "providers": [
      {{"name": "svc", "plugin": "{}", "config": {{"dir": "{}", "poll_ms": 50}}}},
      {{"name": "stuck", "plugin": "{}"}}]}})", BERTH_PLUGIN_C_SO, services_dir(), BERTH_TEST_BAD_PLUGIN_DIR "/hang.so"));
  ASSERT_TRUE(d.ready()) << d.output();
  zmq::context_t zmq;
  Client c(zmq, d.commands_endpoint());
  ASSERT_TRUE(c.call(R"({"op":"start","container":"keep"})")["ok"].GetBool());
  int pid = 0;
  const auto ran = [&] { return static_cast<bool>(std::ifstream(pidfile) >> pid) && pid > 0; };
  ASSERT_TRUE(eventually(ran, std::chrono::seconds(5), std::chrono::milliseconds(10))) << "the service never ran";
  EXPECT_STREQ(c.call(R"({"op":"start","container":"h0","timeout_ms":300})")["error"]["code"].GetString(), "timeout");
  const auto t0 = std::chrono::steady_clock::now();
  auto code = d.terminate(std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 5) << "exit 5: a provider was left stuck";
  EXPECT_LT(took, std::chrono::milliseconds(1500 + 1000)) << "bounded by shutdown_timeout_ms";
  const std::string log = d.output();
  EXPECT_NE(log.find("provider stuck (hang) is stuck"), std::string::npos) << log;
  EXPECT_NE(log.find("start(h0)"), std::string::npos) << log;
  EXPECT_NE(::kill(pid, 0), 0) << "procdir's destroy stopped its service";
  EXPECT_EQ(errno, ESRCH);
  fs::remove_all(services_dir() + "/keep");
}
