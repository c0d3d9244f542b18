// swarm.so end to end: the real berthd, a private dockerd in single-node
// Swarm mode (tests/swarm/swarmd.sh), its services made with the real
// docker CLI, and ZeroMQ SUB/REQ sockets.
#include "berthd_process.hpp"
#include "docker_env.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace berth::testing;
using namespace berth::docker_test;
using namespace std::chrono_literals;

std::string swarm_host() {
  const char* d = std::getenv("BERTH_TEST_SWARM_DIR");
  return "unix://" + std::string(d && *d ? d : "/tmp/berth-test-swarm") + "/docker.sock";
}
std::string cli(const std::string& args, int* status = nullptr) { return docker_at(swarm_host(), args, status); }

// Forwards a unix socket to the engine's, and runs `hook` once, just before
// it forwards the first request that contains `needle`.
class HookProxy {
 public:
  HookProxy(std::string path, std::string target, std::string needle, std::function<void()> hook)
      : path_(std::move(path)), target_(std::move(target)), needle_(std::move(needle)), hook_(std::move(hook)) {
    listener_ = unix_listen(path_);
    if (listener_ < 0) return;
    acceptor_ = std::thread([this] {
      for (int c; (c = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        int s = unix_connect(target_);
        if (s < 0) {
          close(c);
          continue;
        }
        std::lock_guard lock(mutex_);
        fds_.insert(fds_.end(), {c, s});
        pumps_.emplace_back([this, c, s] {
          pump(c, s, [this](std::string_view request) {
            if (request.find(needle_) != request.npos && !fired_.exchange(true)) hook_();
          });
        });
      }
    });
  }
  ~HookProxy() {
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard lock(mutex_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) close(fd);
    unlink(path_.c_str());
  }
  bool fired() const { return fired_; }

 private:
  std::string path_, target_, needle_;
  std::function<void()> hook_;
  std::atomic<bool> fired_{false};
  int listener_ = -1;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

class SwarmE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = [] {
          int status = 0;
          auto out = cli("info --format '{{.Swarm.LocalNodeState}}'", &status);
          return status == 0 && out == "active" ? std::string() : "no single-node swarm at " + swarm_host() + ": " + out;
        }();
        !why.empty()) {
      if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << why;
      GTEST_SKIP() << why;
    }
  }
  void TearDown() override {
    for (const auto& s : made_) cli("service rm " + s);
  }

  void start_daemon(const std::string& host = swarm_host()) {
    daemon_ = std::make_unique<BerthdProcess>(fmt::format(
        R"({{"heartbeat_ms": 200, "providers": [{{"name": "sw", "plugin": "{}", "config": {{"host": "{}"}}}}]}})",
        plugin_path("swarm"), host));
    ASSERT_TRUE(daemon_->ready()) << daemon_->output();
    sub_ = std::make_unique<Subscriber>(zmq_, daemon_->events_endpoint(), "container/");
    client_ = std::make_unique<Client>(zmq_, daemon_->commands_endpoint(), 60s);
    for (int i = 0; i < 300; ++i) {
      auto r = call(R"({"op":"providers"})");
      if (r.IsObject() && r["ok"].GetBool() && r["result"][0]["synced"].GetBool()) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "swarm provider never synced: " << daemon_->output();
  }

  // A replicated service of `replicas` tasks that stop at once on SIGTERM.
  std::string service(int replicas, const std::string& extra = "") {
    static int n = 0;
    const std::string name = fmt::format("berth-sw-{}-{}", getpid(), n++);
    int status = 0;
    auto out = cli(fmt::format("service create --no-resolve-image --detach --name {} --replicas {} {} {} {}", name,
                               replicas, extra, kImage, kIdleCommand),
                   &status);
    EXPECT_EQ(status, 0) << out;
    made_.push_back(name);
    return name;
  }
  std::string id_of(const std::string& name) { return cli("service inspect -f '{{.ID}}' " + name); }
  int spec_replicas(const std::string& name) {
    return std::atoi(cli("service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' " + name).c_str());
  }
  // Running tasks as the engine counts them, polled until `want` or 30 s.
  bool running_tasks(const std::string& name, int want) {
    for (int i = 0; i < 300; ++i) {
      auto out = cli(fmt::format("service ps -q --filter desired-state=running --filter name={} "
                                 "--format '{{{{.CurrentState}}}}' {}", name, name));
      int running = 0;
      for (size_t at = 0; (at = out.find("Running", at)) != std::string::npos; ++at) ++running;
      if (running == want) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  Json call(const std::string& req) { return client_->call(req); }
  Json op(const char* op, const std::string& name) {
    return call(fmt::format(R"({{"op":"{}","container":"{}","timeout_ms":60000}})", op, name));
  }
  // `type` events for `id` seen until `settle` passes without one more.
  int count_events(const std::string& id, const std::string& type, std::chrono::milliseconds first_within,
                   std::chrono::milliseconds settle = 2500ms) {
    int n = 0;
    auto until = std::chrono::steady_clock::now() + first_within;
    while (std::chrono::steady_clock::now() < until) {
      auto m = sub_->next(100ms);
      if (!m || m->body["container"]["id"].GetString() != id || m->body["type"].GetString() != type) continue;
      ++n;
      until = std::chrono::steady_clock::now() + settle;
    }
    return n;
  }

  zmq::context_t zmq_;
  std::unique_ptr<BerthdProcess> daemon_;
  std::unique_ptr<Subscriber> sub_;
  std::unique_ptr<Client> client_;
  std::vector<std::string> made_;
};

TEST_F(SwarmE2E, ServicesAreListedWithRunningAndDesiredTasks) {
  const std::string up = service(1), down = service(0);
  ASSERT_TRUE(running_tasks(up, 1));
  start_daemon();
  auto list = call(R"({"op":"list"})");
  ASSERT_TRUE(list["ok"].GetBool());
  int seen = 0;
  for (const auto& c : list["result"]["containers"].GetArray()) {
    const std::string name = c["name"].GetString();
    if (name == up) {
      ++seen;
      EXPECT_STREQ(c["state"].GetString(), "running");
      EXPECT_STREQ(c["raw_state"].GetString(), "replicated 1/1");
      EXPECT_EQ(c["details"]["replicas"]["running"].GetInt(), 1);
      EXPECT_STREQ(c["image"].GetString(), kImage);
      EXPECT_STREQ(c["id"].GetString(), id_of(up).c_str());
    } else if (name == down) {
      ++seen;
      EXPECT_STREQ(c["state"].GetString(), "stopped");
      EXPECT_STREQ(c["raw_state"].GetString(), "replicated 0/0");
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST_F(SwarmE2E, StartScalesToTheLabelAndStopToZeroEachPublishedOnce) {
  const std::string name = service(0, "--label berth.replicas=2");
  start_daemon();
  const std::string id = id_of(name);
  auto started = op("start", name);
  ASSERT_TRUE(started["ok"].GetBool()) << started["error"]["message"].GetString();
  EXPECT_EQ(spec_replicas(name), 2);
  EXPECT_TRUE(running_tasks(name, 2)) << "start answers once the swarm has converged";
  EXPECT_EQ(count_events(id, "started", 10s), 1);

  auto stopped = op("stop", name);
  ASSERT_TRUE(stopped["ok"].GetBool()) << stopped["error"]["message"].GetString();
  EXPECT_EQ(spec_replicas(name), 0);
  EXPECT_TRUE(running_tasks(name, 0));
  EXPECT_EQ(count_events(id, "exited", 10s), 1);
  auto status = op("status", name);
  EXPECT_STREQ(status["result"]["state"].GetString(), "stopped");
}

TEST_F(SwarmE2E, StartWithoutALabelReturnsToTheLastNonZeroCount) {
  const std::string name = service(2);
  ASSERT_TRUE(running_tasks(name, 2));
  start_daemon();
  ASSERT_TRUE(op("stop", name)["ok"].GetBool());
  EXPECT_EQ(spec_replicas(name), 0);
  ASSERT_TRUE(op("start", name)["ok"].GetBool());
  EXPECT_EQ(spec_replicas(name), 2);
  EXPECT_TRUE(running_tasks(name, 2));
}

TEST_F(SwarmE2E, AGlobalServiceIsRefusedWithAClearError) {
  static int n = 0;
  const std::string global = fmt::format("berth-swg-{}-{}", getpid(), n++);
  int status = 0;
  cli(fmt::format("service create --no-resolve-image --detach --mode global --name {} {} {}", global, kImage,
                  kIdleCommand), &status);
  ASSERT_EQ(status, 0);
  made_.push_back(global);
  start_daemon();
  for (const char* o : {"start", "stop"}) {
    auto r = op(o, global);
    ASSERT_FALSE(r["ok"].GetBool()) << o;
    EXPECT_STREQ(r["error"]["code"].GetString(), "unsupported");
    EXPECT_NE(std::string(r["error"]["message"].GetString()).find("global"), std::string::npos);
  }
}

TEST_F(SwarmE2E, ServicesMadeScaledAndRemovedByOthersArePublished) {
  start_daemon();
  const std::string name = service(0);
  const std::string id = id_of(name);
  auto created = sub_->next_matching("container/sw/created", 10s);
  ASSERT_TRUE(created);
  EXPECT_STREQ(created->body["container"]["id"].GetString(), id.c_str());
  cli(fmt::format("service scale --detach {}=1", name));
  EXPECT_EQ(count_events(id, "started", 15s), 1);
  cli(fmt::format("service scale --detach {}=0", name));
  EXPECT_EQ(count_events(id, "exited", 15s), 1);
  cli("service rm " + name);
  made_.pop_back();
  EXPECT_EQ(count_events(id, "destroyed", 10s, 500ms), 1);
}

// Someone updates the service between swarm.so's read of its version and
// its update: the engine answers "update out of sequence", and the plugin
// reads the fresh version and updates again.
TEST_F(SwarmE2E, AnUpdateOutOfSequenceIsRetriedWithTheFreshVersion) {
  const std::string name = service(0, "--label berth.replicas=1");
  const std::string path = fmt::format("/tmp/berth-sw-hook-{}.sock", getpid());
  std::string host = swarm_host();
  HookProxy proxy(path, host.substr(7), "/update?version=", [&] {
    cli(fmt::format("service update --detach --label-add berth.test.bumped=1 {}", name));
  });
  start_daemon("unix://" + path);
  auto r = op("start", name);
  ASSERT_TRUE(r["ok"].GetBool()) << r["error"]["message"].GetString();
  EXPECT_TRUE(proxy.fired());
  EXPECT_EQ(cli("service inspect -f '{{index .Spec.Labels \"berth.test.bumped\"}}' " + name), "1")
      << "the other writer's update stays";
  EXPECT_EQ(spec_replicas(name), 1) << "and so does berth's";
}

}  // namespace
