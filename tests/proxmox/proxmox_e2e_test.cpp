// proxmox.so end to end: the real berthd against the PVE API simulator.
#include "berthd_process.hpp"
#include "pve_sim.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::pve_test;
using namespace std::chrono_literals;

class ProxmoxE2E : public ::testing::Test {
 protected:
  void start(const std::string& plugin_config, int task_delay_ms = 100) {
    sim_ = std::make_unique<PveSim>(task_delay_ms);
    sim_->control("POST", "reset", R"({"nodes":["pve1","pve2"],"guests":[
        {"vmid":101,"node":"pve1","name":"web","status":"running","tags":"proxy.aliases.web;proxy.web.port.80"},
        {"vmid":102,"node":"pve1","name":"db","status":"stopped"},
        {"vmid":103,"node":"pve1","name":"tmpl","status":"stopped","template":1},
        {"vmid":201,"node":"pve2","name":"batch","status":"stopped"}]})");
    daemon_ = std::make_unique<BerthdProcess>(fmt::format(
        R"({{"heartbeat_ms": 200, "log_level": "trace", "providers": [{{"name": "pve", "plugin": "{}",
            "poll_interval_ms": 300, "config": {}}}]}})", plugin_path("proxmox"),
        plugin_config.empty() ? sim_->plugin_config() : plugin_config));
    ASSERT_TRUE(daemon_->ready()) << daemon_->output();
    sub_ = std::make_unique<Subscriber>(zmq_, daemon_->events_endpoint(), "container/");
    client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 30s);
  }
  Json call(const std::string& req) { return client_->call(req); }
  std::string error_code(const std::string& req) {
    auto r = call(req);
    EXPECT_TRUE(r.IsObject()) << req;
    if (!r.IsObject() || r["ok"].GetBool()) return "ok";
    return r["error"]["code"].GetString();
  }
  std::string guest_status(int vmid) {
    Json d;
    d.Parse(sim_->control("GET", "state").c_str());
    for (const auto& g : d["guests"].GetArray())
      if (g["vmid"].GetInt() == vmid) return g["status"].GetString();
    return "gone";
  }
  bool wait_up() {
    for (int i = 0; i < 100; ++i) {
      auto r = call(R"({"op":"providers"})");
      if (r.IsObject() && r["result"][0]["up"].GetBool() && r["result"][0]["synced"].GetBool()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // Container events for `id`, collected for `window`.
  std::vector<std::string> events_for(const std::string& id, std::chrono::milliseconds window) {
    std::vector<std::string> out;
    auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until) {
      auto m = sub_->next(50ms);
      if (m && std::string(m->body["container"]["id"].GetString()) == id) out.push_back(m->body["type"].GetString());
    }
    return out;
  }
  void TearDown() override {
    if (daemon_) {
      const std::string out = daemon_->output();
      EXPECT_EQ(out.find(kSecret), std::string::npos) << "the token secret leaked into berthd's log";
      EXPECT_EQ(sim_->log().find(kSecret), std::string::npos) << "the simulator logged the secret";
      EXPECT_TRUE(call(R"({"op":"ping"})")["ok"].GetBool()) << "the daemon keeps running";
    }
  }

  zmq::context_t zmq_;
  std::unique_ptr<PveSim> sim_;
  std::unique_ptr<BerthdProcess> daemon_;
  std::unique_ptr<Subscriber> sub_;
  std::unique_ptr<Client> client_;
};

TEST_F(ProxmoxE2E, CommandsMoveGuestsAndEachEventArrivesOnce) {
  start("");
  ASSERT_TRUE(wait_up());
  auto ok = [&](const std::string& req) {
    auto r = call(req);
    ASSERT_TRUE(r["ok"].GetBool()) << req << ": " << r["error"]["message"].GetString();
  };
  ok(R"({"op":"start","container":"db"})");
  EXPECT_EQ(guest_status(102), "running");
  ok(R"({"op":"stop","container":"102","timeout":5})");
  EXPECT_EQ(guest_status(102), "stopped");
  ok(R"({"op":"start","container":"pve1/102"})");
  ok(R"({"op":"kill","container":"db"})");
  EXPECT_EQ(guest_status(102), "stopped");
  // Several poll intervals, so a duplicate from the poller would show.
  EXPECT_EQ(events_for("102", 1500ms), (std::vector<std::string>{"started", "exited", "started", "exited"}));
}

TEST_F(ProxmoxE2E, ListShowsClusterWideLxcWithoutTemplatesAndTagsAsLabels) {
  start("");
  auto r = call(R"({"op":"list","provider":"pve"})");
  ASSERT_TRUE(r["ok"].GetBool());
  std::set<std::string> names;
  for (const auto& c : r["result"]["containers"].GetArray()) {
    names.insert(c["name"].GetString());
    if (std::string(c["name"].GetString()) == "web") {
      EXPECT_STREQ(c["details"]["node"].GetString(), "pve1");
      EXPECT_STREQ(c["labels"]["proxy.aliases"].GetString(), "web");
      EXPECT_EQ(c["routing"]["routes"][0]["port"].GetInt(), 80);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"web", "db", "batch"})) << "templates and the qemu VM are left out";
  auto in = call(R"({"op":"inspect","container":"web"})");
  ASSERT_TRUE(in["ok"].GetBool());
  EXPECT_STREQ(in["result"]["details"]["networks"][0]["ip"].GetString(), "10.0.0.101");
}

TEST_F(ProxmoxE2E, AGuestStartedBySomeoneElseIsSeenWithinOnePollInterval) {
  start("");
  ASSERT_TRUE(wait_up());  // up = the first list is in: the baseline
  sim_->control("POST", "guest/201", R"({"status":"running"})");
  auto t0 = std::chrono::steady_clock::now();
  auto ev = sub_->next_matching("container/pve/started", 3s);
  ASSERT_TRUE(ev);
  EXPECT_STREQ(ev->body["container"]["id"].GetString(), "201");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 700ms) << "poll interval is 300 ms";
  // And a new VMID is created, a removed one destroyed.
  sim_->control("POST", "guest", R"({"vmid":301,"node":"pve2","name":"new","status":"stopped"})");
  auto created = sub_->next_matching("container/pve/created", 3s);
  ASSERT_TRUE(created);
  EXPECT_STREQ(created->body["container"]["id"].GetString(), "301");
  sim_->control("DELETE", "guest/301");
  auto destroyed = sub_->next_matching("container/pve/destroyed", 3s);
  ASSERT_TRUE(destroyed);
}

TEST_F(ProxmoxE2E, PollingCostsOneRequestPerNodeNotPerGuest) {
  start("");
  ASSERT_TRUE(wait_up());
  for (int i = 0; i < 30; ++i)
    sim_->control("POST", "guest", fmt::format(R"({{"vmid":{},"node":"pve2","name":"g{}","status":"stopped"}})", 600 + i, i));
  sim_->control("POST", "clear_requests");
  std::this_thread::sleep_for(1000ms);  // the measuring window itself, not a wait for an event
  Json d;
  d.Parse(sim_->control("GET", "requests").c_str());
  int nodes = 0, per_guest = 0, lists = 0;
  for (const auto& r : d["requests"].GetArray()) {
    const std::string p = r["path"].GetString();
    if (p == "/nodes") ++nodes;
    else if (p.find("/lxc/") != std::string::npos) ++per_guest;
    else if (p.size() > 4 && p.substr(p.size() - 4) == "/lxc") ++lists;
  }
  EXPECT_GE(nodes, 2) << "about three polls in a second at 300 ms";
  // One live list per node per poll (the window may cut one poll in two).
  EXPECT_LE(std::abs(lists - 2 * nodes), 2) << lists << " lists in " << nodes << " polls";
  EXPECT_EQ(per_guest, 0) << "never one request per guest";
}

TEST_F(ProxmoxE2E, AWrongTokenIsPermissionDeniedAndNeverLogged) {
  setenv("BERTH_TEST_WRONG_SECRET", "not-the-secret", 1);
  start("");  // then replace the daemon with one holding the wrong secret
  std::string wrong = sim_->plugin_config();
  wrong.replace(wrong.find(kSecretEnv), std::string(kSecretEnv).size(), "BERTH_TEST_WRONG_SECRET");
  daemon_ = std::make_unique<BerthdProcess>(fmt::format(
      R"({{"log_level": "debug", "providers": [{{"name": "pve", "plugin": "{}", "config": {}}}]}})",
      plugin_path("proxmox"), wrong));
  ASSERT_TRUE(daemon_->ready()) << daemon_->output();
  client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 30s);
  EXPECT_EQ(error_code(R"({"op":"list","provider":"pve"})"), "permission_denied");
  EXPECT_EQ(error_code(R"({"op":"start","container":"102","provider":"pve"})"), "permission_denied");
  EXPECT_EQ(daemon_->output().find("not-the-secret"), std::string::npos);
}

TEST_F(ProxmoxE2E, EveryInjectedFaultIsATypedError) {
  start("", 100);
  ASSERT_TRUE(wait_up());
  auto fault = [&](const std::string& json) {
    sim_->control("POST", "clear_faults");
    sim_->control("POST", "fault", json);
  };
  // 403 on the lifecycle POST.
  fault(R"j({"path_regex":"/status/start$","method":"POST","status":403,"reason":"Permission check failed (/vms/102, VM.PowerMgmt)"})j");
  auto r = call(R"({"op":"start","container":"102"})");
  EXPECT_STREQ(r["error"]["code"].GetString(), "permission_denied");
  EXPECT_NE(std::string(r["error"]["message"].GetString()).find("VM.PowerMgmt"), std::string::npos);
  // 500 with PVE's own text.
  fault(R"({"path_regex":"/status/start$","method":"POST","status":500,"reason":"unable to create CT 102 - got timeout"})");
  r = call(R"({"op":"start","container":"102"})");
  EXPECT_STREQ(r["error"]["code"].GetString(), "internal");
  EXPECT_NE(std::string(r["error"]["message"].GetString()).find("got timeout"), std::string::npos);
  // A dropped connection.
  fault(R"({"path_regex":"^/nodes$","drop":true,"count":5})");
  EXPECT_EQ(error_code(R"({"op":"status","container":"102"})"), "unavailable");
  sim_->control("POST", "clear_faults");
  // Locked CT: the task fails with PVE's text.
  sim_->control("POST", "guest/102", R"({"lock":"backup"})");
  r = call(R"({"op":"start","container":"102"})");
  EXPECT_STREQ(r["error"]["code"].GetString(), "conflict");
  EXPECT_NE(std::string(r["error"]["message"].GetString()).find("CT is locked (backup)"), std::string::npos);
  sim_->control("POST", "guest/102", R"({"lock":null})");
  // Slow task beyond the deadline.
  sim_->control("POST", "guest/102", R"({"task_delay_ms":3000})");
  EXPECT_EQ(error_code(R"({"op":"start","container":"102","timeout_ms":800})"), "timeout");
  sim_->control("POST", "guest/102", R"({"task_delay_ms":null})");
  // Task failing: suspend on stock PVE.
  // (pause is off by default, so the host refuses it before PVE is asked)
  EXPECT_EQ(error_code(R"({"op":"pause","container":"101"})"), "unsupported");
  // Node offline: its guests are known (the cluster's index), but cannot be
  // acted on.
  sim_->control("POST", "node/pve2", R"({"online":false})");
  EXPECT_EQ(error_code(R"({"op":"start","container":"201"})"), "unavailable");
  sim_->control("POST", "node/pve2", R"({"online":true})");
  EXPECT_EQ(error_code(R"({"op":"start","container":"pve2/201"})"), "ok");
  // Unknown guest.
  EXPECT_EQ(error_code(R"({"op":"inspect","container":"99999","provider":"pve"})"), "not_found");
}

TEST_F(ProxmoxE2E, AMigratedGuestIsFoundOnItsNewNode) {
  start("");
  ASSERT_TRUE(wait_up());
  sim_->control("POST", "guest/102", R"({"node":"pve2"})");
  auto r = call(R"({"op":"start","container":"102"})");
  ASSERT_TRUE(r["ok"].GetBool()) << r["error"]["message"].GetString();
  auto in = call(R"({"op":"inspect","container":"db"})");
  EXPECT_STREQ(in["result"]["details"]["node"].GetString(), "pve2");
  EXPECT_EQ(guest_status(102), "running");
}

TEST_F(ProxmoxE2E, TheApiBecomingUnreachableIsProviderDownThenUp) {
  start("");
  ASSERT_TRUE(wait_up());
  Subscriber providers(zmq_, daemon_->events_endpoint());
  ASSERT_TRUE(providers.wait_connected());
  sim_->control("POST", "fault", R"({"path_regex":"^/nodes$","status":595,"reason":"Connection refused","count":-1})");
  auto down = providers.next_matching("provider/pve/down", 3s);
  ASSERT_TRUE(down);
  EXPECT_NE(std::string(down->body["reason"].GetString()).find("Connection refused"), std::string::npos);
  EXPECT_EQ(error_code(R"({"op":"list","provider":"pve"})"), "unavailable");
  sim_->control("POST", "clear_faults");
  ASSERT_TRUE(providers.next_matching("provider/pve/up", 3s));
}

// What changed while the API could not be reached is published once it can
// be again: the list after the outage is diffed against the view from
// before it (protocol.md §3), not taken as a new baseline.
TEST_F(ProxmoxE2E, ChangesDuringAnOutageArePublishedWhenTheApiComesBack) {
  start("");
  ASSERT_TRUE(wait_up());
  Subscriber sub(zmq_, daemon_->events_endpoint());
  ASSERT_TRUE(sub.wait_connected());
  sim_->control("POST", "fault", R"({"path_regex":"^/nodes","status":595,"reason":"Connection refused","count":-1})");
  ASSERT_TRUE(sub.next_matching("provider/pve/down", 3s));
  sim_->control("POST", "guest/201", R"({"status":"running"})");  // batch started meanwhile
  sim_->control("DELETE", "guest/102");                            // db removed meanwhile
  sim_->control("POST", "clear_faults");
  std::map<std::string, std::string> seen;  // type -> container name
  auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until && seen.size() < 2) {
    auto m = sub.next_matching("container/pve/", 500ms);
    if (m) seen[m->body["type"].GetString()] = m->body["container"]["name"].GetString();
  }
  EXPECT_EQ(seen["started"], "batch");
  EXPECT_EQ(seen["destroyed"], "db");
  auto st = call(R"({"op":"snapshot"})");
  for (const auto& c : st["result"]["providers"]["pve"]["containers"].GetArray())
    EXPECT_STRNE(c["name"].GetString(), "db") << "the removed guest is gone from berthd's view too";
}

}  // namespace
