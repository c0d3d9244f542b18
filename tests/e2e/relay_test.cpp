// Many daemons, one view: three berthd (sim) behind one berth-relay. A
// subscriber on the relay sees all three, tells their seqs apart by
// daemon_name, detects a gap in one and recovers it from that daemon's
// snapshot; berthctl lists and follows all three.
#include "background.hpp"
#include "berthd_process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "auth/keys.hpp"

#include <filesystem>
#include <map>
#include <thread>

namespace {

using namespace berth::testing;
using namespace std::chrono_literals;

class Relay : public ::testing::TestWithParam<std::string> {
 protected:
  // d1, d2, d3; `extra[i]` is added to daemon i's config.
  void start(const std::array<std::string, 3>& extra = {}, const std::string& relay_flags = "") {
    for (int i = 0; i < 3; ++i) {
      daemons_.push_back(std::make_unique<BerthdProcess>(fmt::format(
          R"({{"daemon_name": "d{}", "heartbeat_ms": 100{}, "providers": [{{"name": "sim", "plugin": "{}"{}}}]}})",
          i + 1, extra[i].empty() ? "" : ", " + extra[i], plugin_path("sim"),
          i == 1 && !generator_.empty() ? ", \"config\": " + generator_ : "")));
      ASSERT_TRUE(daemons_.back()->ready()) << daemons_.back()->output();
    }
    relay_endpoint_ = fmt::format("ipc://{}/relay.sock", daemons_[0]->dir());
    std::string upstreams;
    for (auto& d : daemons_) upstreams += " --upstream " + d->events_endpoint();
    relay_ = std::make_unique<Background>(
        fmt::format("{} --listen {}{} {}", BERTH_TEST_RELAY, relay_endpoint_, upstreams, relay_flags));
    ASSERT_TRUE(relay_->wait_for("berth-relay", 10s)) << relay_->output();
  }
  std::string commands_flags(const char* flag) const {
    std::string out;
    for (auto& d : daemons_) out += fmt::format(" {} {}", flag, d->commands_endpoint());
    return out;
  }
  Json call(int daemon, const std::string& req) {
    Client c(zmq_, daemons_.at(daemon)->commands_endpoint());
    return c.call(req);
  }

  zmq::context_t zmq_;
  std::vector<std::unique_ptr<BerthdProcess>> daemons_;
  std::unique_ptr<Background> relay_;
  std::string relay_endpoint_, generator_;
};

TEST_P(Relay, ASubscriberSeesEveryDaemonThroughOneRelay) {
  start();
  Background sub(GetParam() + " --events " + relay_endpoint_ + commands_flags("--commands"));
  for (const char* d : {"d1", "d2", "d3"})
    ASSERT_TRUE(sub.wait_for(fmt::format("snapshot {}: 3 containers", d), 15s)) << sub.output();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(call(i, R"({"op":"stop","container":"web","timeout":1})")["ok"].GetBool());
  // Each daemon's event carries that daemon's own next seq (each was at 1,
  // its provider's "up", when the snapshots were taken).
  auto all_exited = [](const std::string& out) {
    for (const char* d : {"d1", "d2", "d3"})
      if (out.find(fmt::format("{} 2 sim exited web", d)) == std::string::npos) return false;
    return true;
  };
  EXPECT_TRUE(sub.wait_until(all_exited, 10s)) << sub.output();
}

TEST_P(Relay, AGapInOneDaemonIsRecoveredFromThatDaemonsSnapshot) {
  // d2 bursts far faster than the subscriber reads, through a relay that
  // queues only 10 messages for it: ZeroMQ drops, and only d2's seq skips.
  generator_ = R"({"generator": {"count": 50000, "rate": 0, "delay_ms": 1500}})";
  start({"", "\"pub_hwm\": 10", ""}, "--hwm 10");
  Background sub(GetParam() + " --events " + relay_endpoint_ + commands_flags("--commands"));
  ASSERT_TRUE(sub.wait_for("snapshot d3:", 15s)) << sub.output();
  ASSERT_TRUE(sub.wait_for("gap d2", 30s)) << sub.output().substr(0, 3000);
  auto recovered = [](const std::string& out) {
    const auto gap = out.find("gap d2");
    return gap != std::string::npos &&
           (out.find("snapshot d2:", gap) != std::string::npos || out.find("resynced to seq", gap) != std::string::npos);
  };
  EXPECT_TRUE(sub.wait_until(recovered, 30s)) << sub.output().substr(0, 3000);
  // The others keep flowing, unaffected, after d2's burst.
  ASSERT_TRUE(call(0, R"({"op":"stop","container":"web","timeout":1})")["ok"].GetBool());
  EXPECT_TRUE(sub.wait_until([](const std::string& out) { return out.find("sim exited web") != std::string::npos; }, 30s))
      << sub.output().substr(0, 3000);
}

INSTANTIATE_TEST_SUITE_P(Examples, Relay,
                         ::testing::Values(std::string(BERTH_CPP_SUBSCRIBER),
                                           std::string("/usr/bin/python3 " BERTH_EXAMPLES_DIR
                                                       "/subscriber-python/berth_subscriber.py")),
                         [](const auto& info) { return info.index == 0 ? std::string("cpp") : std::string("python"); });

// berthctl with several --endpoint: one table with a DAEMON column, events
// of all three through the relay, and container ops routed to the daemon
// that has the container.
TEST_F(Relay, BerthctlListsAndFollowsEveryDaemon) {
  start();
  // Each daemon gets a container only it has.
  for (int i = 0; i < 3; ++i) {
    auto r = call(i, fmt::format(R"({{"op":"run","spec":{{"image":"sim/app","name":"only-d{}"}}}})", i + 1));
    ASSERT_TRUE(r["ok"].GetBool()) << r["error"]["message"].GetString();
  }
  const std::string ctl = BERTH_TEST_BERTHCTL + commands_flags("--endpoint");
  Background ps(ctl + " ps -a");
  ASSERT_TRUE(ps.wait_for("only-d3", 10s)) << ps.output();
  ASSERT_TRUE(ps.wait_until([](const std::string& o) { return o.find("only-d1") != o.npos && o.find("only-d2") != o.npos; }, 5s));
  const std::string table = ps.output();
  EXPECT_EQ(table.rfind("DAEMON", 0), 0u) << table;
  for (int i = 1; i <= 3; ++i)
    EXPECT_NE(table.find(fmt::format("d{}       sim        only-d{}", i, i)), std::string::npos) << table;

  // Subscribed (through the relay) once every daemon's snapshot is printed.
  Background events(ctl + " --events-endpoint " + relay_endpoint_ + " events --since-snapshot");
  ASSERT_TRUE(events.wait_until([](const std::string& o) {
    return o.find("d1  sim") != o.npos && o.find("d2  sim") != o.npos && o.find("d3  sim") != o.npos;
  }, 10s)) << events.output();
  // The routed op: only d2 has only-d2.
  Background stop(ctl + " stop only-d2");
  EXPECT_TRUE(stop.wait_for("only-d2", 10s)) << stop.output();
  EXPECT_TRUE(events.wait_for("d2: sim      exited    only-d2", 10s)) << events.output();
  Background ambiguous(ctl + " stop web");
  EXPECT_TRUE(ambiguous.wait_for("ambiguous", 10s)) << ambiguous.output();
  Background chosen(ctl + " --daemon d3 stop web");
  EXPECT_TRUE(chosen.wait_for("web", 10s)) << chosen.output();
  EXPECT_TRUE(events.wait_for("d3: sim      exited    web", 10s)) << events.output();
}

// CURVE on both sides of the relay: it is the daemons' client with its
// own key, and a CURVE server with its own ZAP handler for subscribers. An
// allowed key sees every event; an unknown one gets nothing.
TEST(RelayCurve, OnlyAllowedSubscribersGetEventsAndTheRelayAuthenticatesUpstream) {
  const std::string keys = make_temp_dir();
  std::map<std::string, berth::KeyPair> k;
  for (const char* who : {"fleet", "relay", "watcher", "stranger"})
    ASSERT_TRUE(berth::write_key_pair(keys + "/" + who, k[who])) << who;
  BerthdProcess d(fmt::format(
      R"({{"daemon_name": "secure", "heartbeat_ms": 100, "curve": {{"server_key_file": "{0}/fleet", "clients": [
            {{"key_file": "{0}/relay.pub", "role": "subscriber"}}, {{"key_file": "{0}/watcher.pub", "role": "reader"}},
            {{"key_file": "{0}/stranger.pub", "role": "reader"}}]}},
          "providers": [{{"name": "sim", "plugin": "{1}"}}]}})",
      keys, plugin_path("sim")));
  ASSERT_TRUE(d.ready()) << d.output();
  const std::string listen = fmt::format("ipc://{}/relay.sock", keys);
  Background relay(fmt::format("{} --listen {} --upstream {} --client-key {}/relay --upstream-key {}/fleet.pub "
                               "--server-key {}/fleet --allow {}/watcher.pub",
                               BERTH_TEST_RELAY, listen, d.events_endpoint(), keys, keys, keys, keys));
  ASSERT_TRUE(relay.wait_for("ready", 10s)) << relay.output();
  const std::string sub = fmt::format("{} --events {} --commands {} --server-key {}/fleet.pub --client-key {}/", BERTH_CPP_SUBSCRIBER,
                                      listen, d.commands_endpoint(), keys, keys);
  Background watcher(sub + "watcher");
  ASSERT_TRUE(watcher.wait_for("snapshot: 3 containers", 15s)) << watcher.output() << relay.output();
  zmq::context_t zmq;
  Client operator_client(zmq, d.commands_endpoint(), 10s,
                         berth::ClientKeys{k["fleet"].public_key, k["watcher"]});
  // A reader may not stop; the stranger may not even look.
  EXPECT_STREQ(operator_client.call(R"({"op":"stop","container":"web"})")["error"]["code"].GetString(),
               "permission_denied");
  // The daemon knows the stranger; the relay does not let it in.
  Subscriber through_relay(zmq, listen, "", berth::ClientKeys{k["fleet"].public_key, k["stranger"]});
  EXPECT_FALSE(through_relay.next(2s)) << "heartbeats every 100 ms: none came through for an unknown key";
  Subscriber allowed(zmq, listen, "", berth::ClientKeys{k["fleet"].public_key, k["watcher"]});
  EXPECT_TRUE(allowed.next(2s)) << "the same relay, an allowed key";
  std::filesystem::remove_all(keys);
}

}  // namespace

TEST(RelayCommandLine, ABadLogLevelOrFormatExitsWithStatus2NamingIt) {
  for (const char* bad : {"--log-level loud", "--log-format xml"}) {
    const std::string cmd = fmt::format("{} --listen ipc:///tmp/none --upstream ipc:///tmp/none {} 2>&1",
                                        BERTH_TEST_RELAY, bad);
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (size_t k = std::fread(buf, 1, sizeof buf, p)) out.append(buf, k);
    const int status = pclose(p);
    ASSERT_TRUE(WIFEXITED(status)) << bad;
    EXPECT_EQ(WEXITSTATUS(status), 2) << bad << ": " << out;
    EXPECT_NE(out.find(std::string(bad).substr(std::string(bad).find(' ') + 1)), std::string::npos) << out;
    EXPECT_NE(out.find("berth-relay --help"), std::string::npos) << out;
  }
}
