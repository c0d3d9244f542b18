// berthctl against the real berthd (sim.so): tables, --json, exit codes that
// mean something, one-line errors, events with filters and --since-snapshot.
#include "background.hpp"
#include "berthd_process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>
#include <thread>

namespace {

using namespace berth::testing;
using namespace std::chrono_literals;

struct CtlResult {
  int code;
  std::string out, err;
};

CtlResult ctl(const std::string& args, const std::string& env = "") {
  char tmpl[] = "/tmp/berthctl-err-XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  const std::string cmd = fmt::format("{} {} {} 2>{}", env, BERTH_TEST_BERTHCTL, args, tmpl);
  CtlResult r{0, "", ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = fopen(tmpl, "r")) {
    while (size_t n = fread(buf, 1, sizeof buf, e)) r.err.append(buf, n);
    fclose(e);
  }
  std::remove(tmpl);
  return r;
}

class Berthctl : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<BerthdProcess>(fmt::format(
        R"({{"heartbeat_ms": 100, "providers": [{{"name": "sim", "plugin": "{}", "config": {{"disable": ["pause"]}}}}]}})",
        plugin_path("sim")));
    ASSERT_TRUE(daemon_->ready()) << daemon_->output();
    rt_ = "--runtime-dir " + daemon_->dir();
  }
  CtlResult run(const std::string& args) { return ctl(rt_ + " " + args); }
  std::unique_ptr<BerthdProcess> daemon_;
  std::string rt_;
};

TEST_F(Berthctl, PsPrintsATableOfRunningContainersAndAllWithA) {
  auto r = run("ps");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("PROVIDER", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("ROUTES"), std::string::npos);
  EXPECT_NE(r.out.find("web→127.0.0.1:8080"), std::string::npos) << "routes from labels: " << r.out;
  EXPECT_EQ(r.out.find("batch"), std::string::npos) << "stopped ones only with -a";
  EXPECT_NE(run("ps -a").out.find("batch"), std::string::npos);
}

TEST_F(Berthctl, JsonIsMachineReadable) {
  auto r = run("--json ps -a");
  ASSERT_EQ(r.code, 0);
  rapidjson::Document d;
  d.Parse(r.out.c_str());
  ASSERT_FALSE(d.HasParseError()) << r.out;
  EXPECT_EQ(d["containers"].Size(), 3u);
  auto st = run("--json status web");
  d.Parse(st.out.c_str());
  ASSERT_FALSE(d.HasParseError()) << st.out;
  EXPECT_STREQ(d["state"].GetString(), "running");
}

TEST_F(Berthctl, LifecycleCommandsWork) {
  EXPECT_EQ(run("stop web --timeout 1").code, 0);
  EXPECT_NE(run("status web").out.find("stopped"), std::string::npos);
  EXPECT_EQ(run("start web --provider sim").code, 0);
  EXPECT_EQ(run("kill web --signal SIGKILL").code, 0);
  EXPECT_EQ(run("restart web --timeout 1").code, 0);
  EXPECT_NE(run("status web").out.find("running"), std::string::npos);
}

TEST_F(Berthctl, ExitCodesTellFailuresApartInOneLine) {
  auto not_found = run("start no-such-container");
  EXPECT_EQ(not_found.code, 3);
  EXPECT_EQ(std::count(not_found.err.begin(), not_found.err.end(), '\n'), 1) << not_found.err;
  EXPECT_NE(not_found.err.find("not_found"), std::string::npos);
  EXPECT_EQ(run("pause web").code, 6) << "unsupported (pause disabled)";
  EXPECT_EQ(run("unpause batch").code, 5) << "conflict: not running";
  EXPECT_EQ(run("kill batch").code, 0) << "kill of a stopped container: its goal holds";
  EXPECT_EQ(run("stop web --signal SIGBOGUS").code, 9) << "invalid argument";
  EXPECT_EQ(run("frobnicate").code, 2) << "usage";
  EXPECT_EQ(run("start").code, 2) << "usage: NAME missing";
  auto down = ctl("--runtime-dir /tmp/berth-no-daemon-here ping");
  EXPECT_EQ(down.code, 4) << "unavailable: " << down.err;
  EXPECT_NE(down.err.find("/tmp/berth-no-daemon-here"), std::string::npos) << "says where it looked";
}

TEST_F(Berthctl, EndpointsComeFromTheEnvironmentToo) {
  auto r = ctl("ping", "BERTH_ENDPOINT=" + daemon_->commands_endpoint());
  EXPECT_EQ(r.code, 0) << r.err;
  auto flag = ctl("--endpoint " + daemon_->commands_endpoint() + " providers");
  EXPECT_EQ(flag.code, 0);
  EXPECT_NE(flag.out.find("sim"), std::string::npos);
}

// create / run / rm: the spec from the command line, IMAGE and everything
// after it the container's (options and all), a failed run leaves nothing.
TEST_F(Berthctl, CreateRunAndRmBuildTheSpecFromTheCommandLine) {
  auto made = run("run --name made -e A=1 -l proxy.aliases=made -v /srv:/data:ro --memory 64m --cpus 0.5 "
                  "--pids-limit 10 --ulimit nofile=1024:2048 sim/app:1 sh -c 'echo -x'");
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_EQ(made.out, "made\n");
  auto inspected = run("--json inspect made");
  ASSERT_EQ(inspected.code, 0) << inspected.err;
  rapidjson::Document d;
  d.Parse(inspected.out.c_str());
  ASSERT_TRUE(d.IsObject()) << inspected.out;
  EXPECT_STREQ(d["state"].GetString(), "running");
  EXPECT_STREQ(d["labels"]["proxy.aliases"].GetString(), "made");
  EXPECT_STREQ(d["routing"]["routes"][0]["alias"].GetString(), "made");
  EXPECT_EQ(run("rm made").code, 5) << "running: conflict without --force";
  EXPECT_EQ(run("rm --force made").code, 0);
  EXPECT_EQ(run("rm made").code, 0) << "gone already";
  EXPECT_EQ(run("status made").code, 3);

  auto failing = run("run --name broken -l sim.start_fails=true sim/app:1");
  EXPECT_EQ(failing.code, 1) << failing.err;
  EXPECT_NE(failing.err.find("simulated start failure"), std::string::npos) << failing.err;
  EXPECT_EQ(run("status broken").code, 3) << "run removed what it made";

  auto created = run("create --pull never no/such:image");
  EXPECT_EQ(created.code, 3) << created.err;
  EXPECT_NE(created.err.find("no/such:image"), std::string::npos) << created.err;
  EXPECT_EQ(run("create --memory lots sim/app:1").code, 2) << "a bad size is a usage error";
  EXPECT_EQ(run("create").code, 2) << "IMAGE required";
  EXPECT_EQ(run("ps --timeout 5").code, 2) << "an option ps does not take";
}

// Whether `berthctl events` in the background (tests/support/background.hpp:
// its stdout and stderr in a file, which stdio buffers as it buffers a pipe)
// shows `what` `times` times while it still runs.
bool shows(const Background& tail, const std::string& what, size_t times) {
  return tail.wait_until(
      [&](const std::string& t) {
        size_t n = 0;
        for (size_t at = t.find(what); at != std::string::npos; at = t.find(what, at + 1)) ++n;
        return n >= times;
      },
      10s);
}

TEST_F(Berthctl, EventsFilterAndSinceSnapshot) {
  Background tail(fmt::format("{} {} events --since-snapshot --filter name=web --filter type=exited",
                              BERTH_TEST_BERTHCTL, rt_));
  // The snapshot is printed once the subscription is live.
  ASSERT_TRUE(shows(tail, "snapshot", 1)) << tail.output();
  run("stop db --timeout 1");
  run("stop web --timeout 1");
  run("start web");
  run("stop web --timeout 1");
  // Events come in order: once the second exit of web is out, anything the
  // filters let through before it is out too.
  EXPECT_TRUE(shows(tail, "exited    web", 2)) << tail.output();
  const std::string text = tail.output();
  EXPECT_NE(text.find("snapshot"), std::string::npos) << text;
  EXPECT_NE(text.find("exited    web"), std::string::npos) << text;
  EXPECT_EQ(text.find("started   web"), std::string::npos) << "type filter: " << text;
  EXPECT_EQ(text.find("exited    db"), std::string::npos) << "name filter: " << text;
}

// --json: one JSON object per line, each flushed as it happens (seen while
// berthctl still runs, not at its exit). Diagnostics go to stderr, which
// the file holds too: they are the lines that start "berthctl: ".
TEST_F(Berthctl, JsonEventsAreOneObjectPerLineFlushedAsTheyCome) {
  Background tail(fmt::format("{} {} events --json --since-snapshot --filter type=exited", BERTH_TEST_BERTHCTL, rt_));
  ASSERT_TRUE(shows(tail, "\"providers\"", 1)) << "the snapshot line: " << tail.output();
  run("stop web --timeout 1");
  ASSERT_TRUE(shows(tail, "\"type\":\"exited\"", 1)) << tail.output();
  const std::string text = tail.output();
  size_t lines = 0;
  for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
    const std::string_view line(text.data() + at, nl - at);
    if (line.starts_with("berthctl: ")) continue;
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    EXPECT_FALSE(d.HasParseError()) << "line " << lines << ": " << line;
    ++lines;
  }
  EXPECT_GE(lines, 2u) << text;
}

}  // namespace

// berthd killed (no `stopping`) and started again at the same sockets within
// a heartbeat or two: its seq starts again at 1, below what berthctl has seen.
// `berthctl events` says so and prints every event of the new run; with
// --since-snapshot it prints the new run's snapshot first.
TEST(BerthctlRestart, EventsFollowABerthdKilledAndStartedAgain) {
  const std::string rt = make_temp_dir();
  const std::string config = fmt::format(
      R"({{"heartbeat_ms": 100, "events_endpoint": "ipc://{0}/events.sock", "commands_endpoint": "ipc://{0}/commands.sock",
          "providers": [{{"name": "sim", "plugin": "{1}"}}]}})",
      rt, plugin_path("sim"));
  auto daemon = std::make_unique<BerthdProcess>(config);
  ASSERT_TRUE(daemon->ready()) << daemon->output();
  const std::string at = "--runtime-dir " + rt;
  Background live(fmt::format("{} {} events", BERTH_TEST_BERTHCTL, at));
  Background snap(fmt::format("{} {} events --since-snapshot", BERTH_TEST_BERTHCTL, at));
  ASSERT_TRUE(shows(snap, "snapshot  sim", 3)) << snap.output();
  // Events advance the old run's seq past what the new run will start at.
  for (int i = 0; i < 3; ++i) {
    ctl(at + " stop web --timeout 1");
    ctl(at + " start web");
  }
  ASSERT_TRUE(shows(live, "started   web", 3)) << live.output();
  ASSERT_TRUE(shows(snap, "started   web", 3)) << snap.output();

  ASSERT_TRUE(daemon->kill_now());
  std::this_thread::sleep_for(100ms);  // the supervisor's restart delay
  daemon = std::make_unique<BerthdProcess>(config);
  ASSERT_TRUE(daemon->ready()) << daemon->output();

  ASSERT_TRUE(shows(live, "berthd restarted", 1)) << live.output();
  ASSERT_TRUE(shows(snap, "berthd restarted", 1)) << snap.output();
  EXPECT_TRUE(shows(snap, "snapshot  sim", 6)) << "the new run's snapshot: " << snap.output();
  // The new run's events, each printed (none taken for one already seen).
  ASSERT_EQ(ctl(at + " stop web --timeout 1").code, 0);
  ASSERT_EQ(ctl(at + " stop batch --timeout 1").code, 0) << "batch: already stopped, so no event";
  ASSERT_EQ(ctl(at + " start batch").code, 0);
  for (const Background* tail : {&live, &snap}) {
    EXPECT_TRUE(shows(*tail, "exited    web", 4)) << tail->output();
    EXPECT_TRUE(shows(*tail, "started   batch", 1)) << tail->output();
    const std::string text = tail->output();
    const size_t restarted = text.find("berthd restarted");
    EXPECT_LT(restarted, text.rfind("exited    web")) << text;
    EXPECT_LT(text.rfind("exited    web"), text.find("started   batch")) << "in order: " << text;
  }
  daemon.reset();
  std::filesystem::remove_all(rt);
}
