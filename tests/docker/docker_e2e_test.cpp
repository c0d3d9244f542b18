// docker.so end to end: the real berthd, the real dockerd (private), the
// real docker CLI, and ZeroMQ SUB/REQ sockets.
#include "berthd_process.hpp"
#include "docker_env.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include <map>
#include <set>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::docker_test;
using namespace std::chrono_literals;

std::string unique_name(const char* what) {
  static int n = 0;
  return fmt::format("berth-{}-{}-{}", what, getpid(), n++);
}

class DockerE2E : public ::testing::Test {
 protected:
  void SetUp() override { BERTH_REQUIRE_DOCKER(); }
  void TearDown() override {
    for (const auto& n : made_) docker("rm -f " + n);
  }

  // berthd with one docker instance named "dk" on `host`.
  void start_daemon(const std::string& host = docker_host()) {
    daemon_ = std::make_unique<BerthdProcess>(fmt::format(
        R"({{"heartbeat_ms": 200, "providers": [{{"name": "dk", "plugin": "{}",
            "config": {{"host": "{}", "reconnect_max_ms": 500}}}}]}})",
        plugin_path("docker"), host));
    ASSERT_TRUE(daemon_->ready()) << daemon_->output();
    sub_ = std::make_unique<Subscriber>(zmq_, daemon_->events_endpoint());
    ASSERT_TRUE(sub_->wait_connected());
    client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 60s);
    // Changes before the provider is up are in berthd's first list, not in
    // the stream (Podman's /info, asked before the stream opens, takes
    // half a second): the scenarios below start from a watched engine.
    if (host == docker_host()) {
      ASSERT_TRUE(wait_provider(true, 30s)) << daemon_->output();
    }
  }
  std::string create(const std::string& extra = "") {
    std::string name = unique_name("c");
    int status = 0;
    auto out = docker(fmt::format("create --network none --name {} {} {} {}", name, extra, kImage, kIdleCommand),
                      &status);
    EXPECT_EQ(status, 0) << out;
    made_.push_back(name);
    return name;
  }
  std::string id_of(const std::string& name) { return docker("inspect -f '{{.Id}}' " + name); }
  std::string engine_state(const std::string& name) { return docker("inspect -f '{{.State.Status}}' " + name); }
  Json call(const std::string& req) { return client_->call(req); }
  // Polls `providers` (the PUB message may predate our subscription).
  bool wait_provider(bool up, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      auto r = call(R"({"op":"providers"})");
      if (r.IsObject() && r["ok"].GetBool() && r["result"][0]["up"].GetBool() == up) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // Container events for `id` until `types` have all been seen in order (or
  // the timeout), then `settle` more to catch duplicates.
  std::vector<Message> events_for(const std::string& id, size_t lifecycle_count,
                                  std::chrono::milliseconds timeout = 30s,
                                  std::chrono::milliseconds settle = 1500ms) {
    std::vector<Message> got;
    size_t lifecycle = 0;
    auto until = std::chrono::steady_clock::now() + timeout;
    std::optional<std::chrono::steady_clock::time_point> settle_until;
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      auto end = settle_until ? *settle_until : until;
      if (now >= end) break;
      auto m = sub_->next_matching("container/", std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
      if (!m) continue;
      if (std::string(m->body["container"]["id"].GetString()) != id) continue;
      const std::string type = m->body["type"].GetString();
      if (type != "other") ++lifecycle;
      got.push_back(std::move(*m));
      if (lifecycle >= lifecycle_count && !settle_until) settle_until = std::chrono::steady_clock::now() + settle;
    }
    return got;
  }
  static std::vector<std::string> lifecycle_types(const std::vector<Message>& ms) {
    std::vector<std::string> out;
    for (const auto& m : ms)
      if (std::string(m.body["type"].GetString()) != "other") out.push_back(m.body["type"].GetString());
    return out;
  }

  zmq::context_t zmq_;
  std::unique_ptr<BerthdProcess> daemon_;
  std::unique_ptr<Subscriber> sub_;
  std::unique_ptr<Client> client_;
  std::vector<std::string> made_;
};

TEST_F(DockerE2E, CliLifecycleArrivesOnSubWithTheRightFields) {
  start_daemon();
  const std::string name = unique_name("cli");
  made_.push_back(name);
  int status = 0;
  docker(fmt::format("run -d --network none --name {} --label com.docker.compose.project=shop "
                     "--label com.docker.compose.service=web --label proxy.aliases=shop-web {} {}",
                     name, kImage, kIdleCommand), &status);
  ASSERT_EQ(status, 0);
  const std::string id = id_of(name);
  docker("pause " + name);
  docker("unpause " + name);
  docker("stop -t 5 " + name);
  docker("start " + name);
  docker("kill " + name);
  docker("rm " + name);
  auto ms = events_for(id, 8);
  EXPECT_EQ(lifecycle_types(ms), (std::vector<std::string>{"created", "started", "paused", "unpaused",
                                                          "exited", "started", "exited", "destroyed"}));
  uint64_t last = 0;
  std::vector<int> exit_codes;
  for (const auto& m : ms) {
    EXPECT_GT(m.body["seq"].GetUint64(), last) << "sequence numbers increase";
    last = m.body["seq"].GetUint64();
    EXPECT_STREQ(m.body["provider"].GetString(), "dk");
    EXPECT_STREQ(m.body["container"]["name"].GetString(), name.c_str());
    if (std::string(m.body["type"].GetString()) == "exited") exit_codes.push_back(m.body["exit_code"].GetInt());
    if (std::string(m.body["type"].GetString()) == "created") {
      const auto& labels = m.body["container"]["labels"];
      ASSERT_TRUE(labels.HasMember("com.docker.compose.project"));
      EXPECT_STREQ(labels["com.docker.compose.project"].GetString(), "shop");
      EXPECT_FALSE(labels.HasMember("name")) << "engine attributes are not labels";
      EXPECT_STREQ(m.body["raw_action"].GetString(), "create");
    }
  }
  EXPECT_EQ(exit_codes, (std::vector<int>{0, 137})) << "stop exits 0 (trap), kill exits 128+9";
  EXPECT_EQ(ms.front().topic, "container/dk/created");
}

TEST_F(DockerE2E, CommandsOnTheReqSocketChangeTheRealContainer) {
  start_daemon();
  const std::string name = create();
  auto ok = [&](const std::string& op, const std::string& extra = "") {
    auto r = call(fmt::format(R"({{"op":"{}","container":"{}"{}}})", op, name, extra));
    ASSERT_TRUE(r.IsObject());
    ASSERT_TRUE(r["ok"].GetBool()) << op << ": " << r["error"]["message"].GetString();
  };
  ok("start");
  EXPECT_EQ(engine_state(name), "running");
  ok("pause");
  EXPECT_EQ(engine_state(name), "paused");
  ok("unpause");
  EXPECT_EQ(engine_state(name), "running");
  ok("stop", R"(,"timeout":5)");
  EXPECT_EQ(engine_state(name), "exited");
  ok("start");
  ok("stop", R"(,"timeout":5,"signal":"SIGKILL")");
  EXPECT_EQ(docker("inspect -f '{{.State.ExitCode}}' " + name), "137") << "the signal was used";
  ok("restart", R"(,"timeout":5)");
  EXPECT_EQ(engine_state(name), "running");
  ok("kill");
  EXPECT_EQ(engine_state(name), "exited");

  auto st = call(fmt::format(R"({{"op":"status","container":"{}"}})", name));
  ASSERT_TRUE(st["ok"].GetBool());
  EXPECT_STREQ(st["result"]["state"].GetString(), "stopped");
  EXPECT_STREQ(st["result"]["raw_state"].GetString(), "exited");
  // By id prefix too.
  auto in = call(fmt::format(R"({{"op":"inspect","container":"{}"}})", id_of(name).substr(0, 12)));
  ASSERT_TRUE(in["ok"].GetBool()) << in["error"]["message"].GetString();
  EXPECT_STREQ(in["result"]["name"].GetString(), name.c_str());
  EXPECT_TRUE(in["result"]["details"]["mounts"].IsArray());
}

TEST_F(DockerE2E, LabelsArePresentedAsRoutingInListInspectAndEvents) {
  start_daemon();
  const std::string name = create(
      "--label proxy.aliases=shopweb --label proxy.shopweb.port=8080 --label proxy.idle_timeout=banana "
      "--label proxy.wake_timeout=15s --label com.docker.compose.project=shop");
  const std::string id = id_of(name);
  auto in = call(fmt::format(R"({{"op":"inspect","container":"{}"}})", name));
  ASSERT_TRUE(in["ok"].GetBool());
  const auto& routing = in["result"]["routing"];
  ASSERT_TRUE(routing.IsObject());
  EXPECT_STREQ(routing["routes"][0]["alias"].GetString(), "shopweb");
  EXPECT_EQ(routing["routes"][0]["port"].GetInt(), 8080);
  ASSERT_EQ(routing["errors"].Size(), 1u);
  EXPECT_NE(std::string(routing["errors"][0].GetString()).find("banana"), std::string::npos);
  EXPECT_EQ(routing["idle"]["wake_timeout_ms"].GetInt(), 15000) << "the other labels still apply";
  EXPECT_STREQ(routing["compose"]["project"].GetString(), "shop");

  auto list = call(R"({"op":"list","provider":"dk"})");
  bool found = false;
  for (const auto& c : list["result"]["containers"].GetArray())
    if (std::string(c["id"].GetString()) == id) {
      found = true;
      EXPECT_STREQ(c["routing"]["routes"][0]["alias"].GetString(), "shopweb");
    }
  EXPECT_TRUE(found);

  docker("start " + name);
  auto ms = events_for(id, 1, 10s, 0ms);
  ASSERT_FALSE(ms.empty());
  EXPECT_STREQ(ms[0].body["container"]["routing"]["routes"][0]["alias"].GetString(), "shopweb");
}

// Over plain TCP (through a forwarder to the engine's unix socket).
TEST_F(DockerE2E, PlainTcpWorks) {
  start_daemon();
  const std::string name = create();
  ASSERT_TRUE(call(fmt::format(R"({{"op":"start","container":"{}"}})", name))["ok"].GetBool());
  TcpToUnix tcp(docker_socket_path());
  ASSERT_GT(tcp.port(), 0);
  daemon_ = std::make_unique<BerthdProcess>(fmt::format(
      R"({{"providers": [{{"name": "dk", "plugin": "{}", "config": {{"host": "tcp://127.0.0.1:{}"}}}}]}})",
      plugin_path("docker"), tcp.port()));
  ASSERT_TRUE(daemon_->ready());
  client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 60s);
  auto st = call(fmt::format(R"({{"op":"status","container":"{}"}})", name));
  ASSERT_TRUE(st["ok"].GetBool()) << st["error"]["message"].GetString();
  EXPECT_STREQ(st["result"]["state"].GetString(), "running");
}

// TLS with client certificates: dockerd's own TLS listener (Podman's API
// service has none; a TLS Podman sits behind a proxy of its own).
using DockerdOnly = DockerE2E;
TEST_F(DockerdOnly, TlsWithClientCertificates) {
  if (podman()) GTEST_SKIP() << "dockerd's TLS listener; this binary's Podman run filters it out";
  const std::string tls = fmt::format(R"("{}", "tls": {{"ca": "{}", "cert": "{}", "key": "{}"}})", docker_tls_host(),
                                      docker_tls_file("ca.pem"), docker_tls_file("cert.pem"), docker_tls_file("key.pem"));
  daemon_ = std::make_unique<BerthdProcess>(fmt::format(
      R"({{"heartbeat_ms": 200, "log_level": "trace", "providers": [{{"name": "dk", "plugin": "{}", "config": {{"host": {}}}}}]}})",
      plugin_path("docker"), tls));
  ASSERT_TRUE(daemon_->ready()) << daemon_->output();
  sub_ = std::make_unique<Subscriber>(zmq_, daemon_->events_endpoint());
  ASSERT_TRUE(sub_->wait_connected());
  client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 60s);
  ASSERT_TRUE(wait_provider(true, 10s)) << daemon_->output();
  const std::string name = create();
  auto in = call(fmt::format(R"({{"op":"inspect","container":"{}"}})", name));
  ASSERT_TRUE(in["ok"].GetBool()) << in["error"]["message"].GetString();
  ASSERT_TRUE(call(fmt::format(R"({{"op":"start","container":"{}"}})", name))["ok"].GetBool());
  EXPECT_EQ(lifecycle_types(events_for(id_of(name), 2, 10s, 0ms)), (std::vector<std::string>{"created", "started"}))
      << "the event stream runs over TLS too";
  // The private key never reaches the log, even at trace level.
  std::ifstream key_file(docker_tls_file("key.pem"));
  std::string key_line, log = daemon_->output();
  int key_lines = 0;
  while (std::getline(key_file, key_line)) {
    if (key_line.empty() || key_line[0] == '-') continue;
    ++key_lines;
    EXPECT_EQ(log.find(key_line), std::string::npos) << "a line of the TLS private key is in berthd's log";
  }
  EXPECT_GT(key_lines, 0);

  // Without the client certificate the engine refuses the handshake.
  daemon_ = std::make_unique<BerthdProcess>(fmt::format(
      R"({{"providers": [{{"name": "dk", "plugin": "{}", "config": {{"host": "{}", "tls": {{"ca": "{}"}}}}}}]}})",
      plugin_path("docker"), docker_tls_host(), docker_tls_file("ca.pem")));
  ASSERT_TRUE(daemon_->ready());
  client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 60s);
  auto refused = call(R"({"op":"list","provider":"dk"})");
  EXPECT_STREQ(refused["error"]["code"].GetString(), "unavailable") << refused["error"]["message"].GetString();
}

TEST_F(DockerE2E, EngineErrorsAreTyped) {
  start_daemon();
  const std::string name = create();
  auto code = [&](const std::string& req) {
    auto r = call(req);
    EXPECT_TRUE(r.IsObject());
    EXPECT_FALSE(r["ok"].GetBool()) << req;
    return std::string(r["ok"].GetBool() ? "ok" : r["error"]["code"].GetString());
  };
  EXPECT_EQ(code(R"({"op":"inspect","container":"berth-no-such-container","provider":"dk"})"), "not_found");
  EXPECT_EQ(code(fmt::format(R"({{"op":"pause","container":"{}"}})", name)), "conflict");
  auto r = call(fmt::format(R"({{"op":"pause","container":"{}"}})", name));
  EXPECT_NE(std::string(r["error"]["message"].GetString()).find("is not running"), std::string::npos)
      << "Docker's own message: " << r["error"]["message"].GetString();
  // Starting a running container is Docker's 304: success.
  ASSERT_TRUE(call(fmt::format(R"({{"op":"start","container":"{}"}})", name))["ok"].GetBool());
  EXPECT_TRUE(call(fmt::format(R"({{"op":"start","container":"{}"}})", name))["ok"].GetBool());
}

TEST_F(DockerE2E, ADeadSocketIsUnavailableAndTheDaemonServesOn) {
  start_daemon("unix:///tmp/berth-no-such-dockerd.sock");
  ASSERT_TRUE(wait_provider(false, 10s)) << "the provider is reported down";
  auto r = call(R"({"op":"list","provider":"dk"})");
  ASSERT_TRUE(r.IsObject());
  ASSERT_FALSE(r["ok"].GetBool());
  EXPECT_STREQ(r["error"]["code"].GetString(), "unavailable");
  auto p = call(R"({"op":"providers"})");
  EXPECT_FALSE(p["result"][0]["up"].GetBool());
  EXPECT_TRUE(call(R"({"op":"ping"})")["ok"].GetBool());
}

// The connection between berthd and dockerd is cut while containers change
// through the CLI on the direct socket. After restore, every missed event is
// published, in order, exactly once.
TEST_F(DockerE2E, ACutConnectionIsReplayedInOrderExactlyOnce) {
  const std::string proxy_path = fmt::format("/tmp/berth-cut-{}.sock", getpid());
  CutProxy proxy(proxy_path, docker_socket_path());
  start_daemon("unix://" + proxy_path);
  ASSERT_TRUE(wait_provider(true, 10s));
  const std::string a = create(), b = create();
  const std::string id_a = id_of(a), id_b = id_of(b);
  // Both creations are seen live first.
  ASSERT_EQ(lifecycle_types(events_for(id_a, 1, 10s, 0ms)), std::vector<std::string>{"created"});
  ASSERT_EQ(lifecycle_types(events_for(id_b, 1, 10s, 0ms)), std::vector<std::string>{"created"});

  proxy.cut();
  ASSERT_TRUE(sub_->next_matching("provider/dk/down", 10s)) << "the cut is noticed";
  docker("start " + a);
  docker("start " + b);
  docker("stop -t 5 " + a);
  docker("pause " + b);
  docker("start " + a);
  docker("kill " + a);
  proxy.restore();

  // Collect everything for both until two seconds pass without news.
  std::map<std::string, std::vector<std::string>> seen;
  std::map<std::string, std::vector<std::string>> origins;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto last_news = std::chrono::steady_clock::now();
  bool up = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (up && seen[id_a].size() >= 4 && std::chrono::steady_clock::now() - last_news > 2s) break;
    auto m = sub_->next(500ms);
    if (!m) continue;
    if (m->topic == "provider/dk/up") up = true;
    if (m->topic.rfind("container/", 0) != 0) continue;
    const std::string id = m->body["container"]["id"].GetString();
    if (std::string(m->body["type"].GetString()) == "other") continue;
    seen[id].push_back(m->body["type"].GetString());
    origins[id].push_back(m->body["origin"].GetString());
    last_news = std::chrono::steady_clock::now();
  }
  EXPECT_TRUE(up);
  EXPECT_EQ(seen[id_a], (std::vector<std::string>{"started", "exited", "started", "exited"}));
  EXPECT_EQ(seen[id_b], (std::vector<std::string>{"started", "paused"}));
  for (const auto& o : origins[id_a]) EXPECT_EQ(o, "engine") << "replayed, not reconstructed";
}

// The engine itself goes away and comes back: provider down, then up, and
// the state berthd serves matches the engine again, the container's exit
// published exactly once. dockerd stops its containers when it stops;
// Podman's outlive its API service, so there the container is stopped
// (through the podman CLI) while the service is down.
TEST_F(DockerE2E, EngineRestartIsDownThenUpAndNothingIsLost) {
  const std::string dir = fmt::format("/tmp/berth-{}-restart-{}", engine(), getpid());
  const std::string script = podman() ? BERTH_TEST_PODMAN_SCRIPT : BERTH_TEST_DOCKERD_SCRIPT;
  const std::string env = podman() ? "BERTH_TEST_PODMAN_DIR=" + dir + " "
                                   : "BERTH_TEST_DOCKER_DIR=" + dir + " BERTH_TEST_DOCKER_TLS_PORT=23761 ";
  ASSERT_EQ(std::system((env + script + " start").c_str()), 0);
  // Stopped whatever happens below, so a failure leaves no engine behind.
  struct StopEngine {
    std::string cmd;
    ~StopEngine() { std::system(cmd.c_str()); }
  } stop_engine{env + script + " stop; rm -rf " + dir};
  const std::string host = "unix://" + dir + (podman() ? "/podman.sock" : "/docker.sock");
  start_daemon(host);
  ASSERT_TRUE(wait_provider(true, 20s));
  int status = 0;
  const std::string name = unique_name("restart");
  docker_at(host, fmt::format("run -d --network none --name {} {} {}", name, kImage, kIdleCommand), &status);
  ASSERT_EQ(status, 0);
  const std::string id = docker_at(host, "inspect -f '{{.Id}}' " + name);
  ASSERT_TRUE(sub_->next_matching("container/dk/started", 10s));

  // Stop the engine and start it again. The container's exit is published
  // either live (dockerd reports it while shutting down), or from the
  // replay or the resync once the engine is back.
  const std::string pid_file = dir + (podman() ? "/service.pid" : "/docker.pid");
  // SIGKILL: no shutdown of its own, as when it crashes or is OOM-killed.
  ASSERT_EQ(std::system(fmt::format("kill -KILL $(cat {})", pid_file).c_str()), 0);
  ASSERT_TRUE(wait_provider(false, 30s));
  if (podman()) {
    ASSERT_EQ(std::system((env + script + " cli stop -t 1 " + name + " >/dev/null").c_str()), 0);
  }
  ASSERT_EQ(std::system((env + script + " start").c_str()), 0);
  ASSERT_TRUE(wait_provider(true, 30s));
  // Read the stream in order until two seconds past the "up" message, so a
  // duplicate from the resync would be counted.
  int exits = 0;
  std::optional<std::chrono::steady_clock::time_point> after_up;
  while (!after_up || std::chrono::steady_clock::now() < *after_up) {
    auto m = sub_->next(3000ms);
    if (!m) break;
    if (m->topic == "container/dk/exited" && std::string(m->body["container"]["id"].GetString()) == id) ++exits;
    if (m->topic == "provider/dk/up" && !after_up) after_up = std::chrono::steady_clock::now() + 2s;
  }
  EXPECT_EQ(exits, 1) << "the exit is published exactly once";
  auto st = call(fmt::format(R"({{"op":"status","container":"{}"}})", name));
  ASSERT_TRUE(st["ok"].GetBool()) << st["error"]["message"].GetString();
  EXPECT_STREQ(st["result"]["state"].GetString(), "stopped");
  // And it is watched again.
  docker_at(host, "start " + name);
  auto started = sub_->next_matching("container/dk/started", 15s);
  ASSERT_TRUE(started);
  EXPECT_STREQ(started->body["container"]["id"].GetString(), id.c_str());
  daemon_.reset();
}

}  // namespace

namespace {

// create / run / remove through berth's command socket: every field of the
// spec reaches the engine, a failed start of `run` leaves nothing behind,
// a missing image (pull never) or network is not_found naming it, and a
// removal is idempotent. created/destroyed arrive as for any container.
TEST_F(DockerE2E, CreateRunAndRemoveThroughBerth) {
  start_daemon();
  const std::string net = unique_name("net"), name = unique_name("made"), dir = make_temp_dir();
  ASSERT_EQ(std::system(fmt::format("echo mounted >{}/file", dir).c_str()), 0);
  int status = 0;
  docker("network create " + net, &status);
  ASSERT_EQ(status, 0);
  struct Cleanup {
    std::string net;
    ~Cleanup() { docker("network rm " + net); }
  } cleanup{net};
  made_.push_back(name);
  const std::string ulimits = podman() ? R"(,"ulimits":{"nofile":{"soft":1024,"hard":20000},"nproc":{"soft":1024,"hard":1024}})" : "";
  auto r = call(fmt::format(
      R"({{"op":"run","provider":"dk","spec":{{"image":"{}","name":"{}","command":["sh","-c","cat /data/file; sleep 300"],
          "env":{{"GREETING":"hi there"}},"labels":{{"proxy.aliases":"made"}},
          "mounts":[{{"source":"{}","destination":"/data","read_only":true}}],
          "network":"{}","aliases":["made-alias"],"memory":67108864,"cpus":0.5,"pids_limit":64,
          "log_driver":"json-file","log_options":{{"max-size":"1m"}},"pull":"never"{}}}}})",
      kImage, name, dir, net, ulimits));
  ASSERT_TRUE(r["ok"].GetBool()) << r["error"]["message"].GetString();
  EXPECT_STREQ(r["result"]["name"].GetString(), name.c_str());
  EXPECT_STREQ(r["result"]["state"].GetString(), "running");
  const std::string id = r["result"]["id"].GetString();
  auto field = [&](const std::string& tmpl) { return docker(fmt::format("inspect -f '{}' {}", tmpl, name)); };
  EXPECT_NE(field("{{json .Config.Env}}").find("GREETING=hi there"), std::string::npos);
  EXPECT_EQ(field("{{index .Config.Labels \"proxy.aliases\"}}"), "made");
  EXPECT_EQ(field("{{range .Mounts}}{{.Destination}} {{.RW}}{{end}}"), "/data false");
  EXPECT_EQ(field("{{.HostConfig.Memory}}"), "67108864");
  EXPECT_EQ(field("{{.HostConfig.NanoCpus}}"), "500000000");
  EXPECT_EQ(field("{{.HostConfig.PidsLimit}}"), "64");
  EXPECT_EQ(field("{{.HostConfig.LogConfig.Type}}"), "json-file");
  EXPECT_NE(field(fmt::format("{{{{json (index .NetworkSettings.Networks \"{}\").Aliases}}}}", net)).find("made-alias"),
            std::string::npos);
  for (int i = 0; i < 50 && docker("logs " + name).find("mounted") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_NE(docker("logs " + name).find("mounted"), std::string::npos) << "the bind mount is readable";
  EXPECT_EQ(lifecycle_types(events_for(id, 2, 10s, 0ms)), (std::vector<std::string>{"created", "started"}));

  auto code = [&](const std::string& req) {
    auto x = call(req);
    return std::string(x["ok"].GetBool() ? "ok" : x["error"]["code"].GetString()) + " " +
           (x["ok"].GetBool() ? "" : x["error"]["message"].GetString());
  };
  EXPECT_EQ(code(fmt::format(R"({{"op":"remove","container":"{}"}})", name)).substr(0, 8), "conflict") << "running";
  EXPECT_EQ(code(fmt::format(R"({{"op":"remove","container":"{}","force":true}})", name)), "ok ");
  EXPECT_EQ(lifecycle_types(events_for(id, 2, 10s, 0ms)), (std::vector<std::string>{"exited", "destroyed"}));
  EXPECT_EQ(code(fmt::format(R"({{"op":"remove","container":"{}"}})", name)), "ok ") << "gone already";
  EXPECT_NE(docker("inspect " + name).find("o such"), std::string::npos);

  // A start that fails: run removes what it made.
  const std::string broken = unique_name("broken");
  auto failed = call(fmt::format(R"({{"op":"run","provider":"dk","spec":{{"image":"{}","name":"{}","command":["/no/such/binary"]{}}}}})",
                                 kImage, broken, ulimits));
  ASSERT_FALSE(failed["ok"].GetBool());
  EXPECT_EQ(docker("ps -a -q --filter name=^" + broken + "$"), "") << "nothing left behind";

  auto missing_image = code(R"({"op":"create","provider":"dk","spec":{"image":"berth-no-such-image:1","pull":"never"}})");
  EXPECT_EQ(missing_image.substr(0, 9), "not_found");
  EXPECT_NE(missing_image.find("berth-no-such-image:1"), std::string::npos) << missing_image;
  auto missing_net = code(fmt::format(R"({{"op":"create","provider":"dk","spec":{{"image":"{}","network":"berth-no-such-net"}}}})", kImage));
  EXPECT_EQ(missing_net.substr(0, 9), "not_found");
  EXPECT_NE(missing_net.find("berth-no-such-net"), std::string::npos) << missing_net;
  EXPECT_EQ(code(fmt::format(R"({{"op":"create","provider":"dk","spec":{{"image":"{}","mounts":[{{"source":"relative","destination":"/x"}}]}}}})", kImage)).substr(0, 16),
            "invalid_argument");
  // Docker's name grammar is docker.so's to check, before anything is pulled.
  // Docker's grammar wants two characters at least, Podman's one.
  const std::vector<std::string> bad_names = podman() ? std::vector<std::string>{"-lead"}
                                                      : std::vector<std::string>{"-lead", "a"};
  for (const auto& name : bad_names) {
    auto bad_name = code(fmt::format(
        R"({{"op":"create","provider":"dk","spec":{{"image":"berth-no-such-image:1","name":"{}"}}}})", name));
    EXPECT_EQ(bad_name.substr(0, 16), "invalid_argument") << bad_name;
    EXPECT_NE(bad_name.find(podman() ? "[a-zA-Z0-9][a-zA-Z0-9_.-]*" : "[a-zA-Z0-9][a-zA-Z0-9_.-]+"), std::string::npos)
        << bad_name;
  }
}

// `docker run --label proxy.idle_timeout=.` aborted berthd (std::stod), and
// since berthd lists containers at start-up, it aborted on every restart.
TEST_F(DockerE2E, ALabelThatOnceAbortedTheDaemonIsOnlyThatLabelsError) {
  const std::string name = unique_name("dot");
  made_.push_back(name);
  int status = 0;
  docker(fmt::format("run -d --network none --name {} --label proxy.idle_timeout=. "
                     "--label proxy.{}.port=99999999999999999999 {} {}", name, name, kImage, kIdleCommand),
         &status);
  ASSERT_EQ(status, 0);
  for (int start = 0; start < 2; ++start) {  // it lists the container at start-up: twice
    start_daemon();
    ASSERT_TRUE(wait_provider(true, 30s));
    auto r = call(fmt::format(R"({{"op":"inspect","container":"{}"}})", name));
    ASSERT_TRUE(r["ok"].GetBool()) << daemon_->output();
    EXPECT_EQ(r["result"]["routing"]["errors"].Size(), 2u);
    // And live: the event of a restart carries the same labels.
    docker("restart -t 1 " + name);
    auto started = sub_->next_matching("container/dk/started", 30s);
    ASSERT_TRUE(started);
    EXPECT_TRUE(call(R"({"op":"ping"})")["ok"].GetBool());
    EXPECT_EQ(daemon_->terminate(), 0);
  }
}

}  // namespace
