// berth-wake end to end (issue 10, "Proxies, tested for real"): the real
// berthd with docker.so against the test dockerd, the real berth-wake, real
// nginx (auth_request; njs), real Caddy (forward_auth), and busybox httpd
// apps that start stopped. The proxies run the configs in examples/wake-*
// with only addresses, names and durations rewritten.
#include "docker_env.hpp"
#include "wake_support.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

namespace berth::wake_test {
namespace {

using namespace berth::testing;
using namespace berth::docker_test;
namespace fs = std::filesystem;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kNjsModule = "/usr/lib/nginx/modules/ngx_http_js_module.so";
constexpr const char* kCaddy = "/usr/bin/caddy";
constexpr const char* kHello = "hello from berth";

std::string berthd_config(const std::string& extra = "") {
  return fmt::format(R"({{"heartbeat_ms": 200, {} "providers": [{{"name": "dk", "plugin": "{}",
      "config": {{"host": "{}"}}}}]}})",
                     extra, plugin_path("docker"), docker_host());
}

// Seconds since the epoch as the docker CLI takes them in --since/--until.
std::string docker_now() { return sh("date +%s.%N | tr -d '\\n'"); }

std::string docker_state(const std::string& name) {
  return docker("inspect -f '{{.State.Status}}' " + name);
}

// A proxy from examples/: its config with the addresses, names and
// durations rewritten, run in its own prefix until the test ends.
struct ProxySetup {
  std::string kind;  // "nginx" (auth_request, blocking), "njs" (dynamic), "caddy" (forward_auth, blocking)
  int wake_port = 0, app_port = 0;
  std::string names;  // the app's container name
  std::string session = "1m0s", timeout = "30s";
};

class Proxy {
 public:
  explicit Proxy(const ProxySetup& s) : port_(free_port()) {
    dir_ = fmt::format("{}/berth-wake-{}-{}-{}", fs::temp_directory_path().string(), s.kind, getpid(), port_);
    fs::create_directories(dir_ + "/tmp");
    const std::string examples = BERTH_EXAMPLES_DIR;
    std::string conf;
    auto must = [&](const std::string& from, const std::string& to) {
      if (replace_all(conf, from, to) == 0) problems_ += "the example no longer contains \"" + from + "\"\n";
    };
    if (s.kind == "caddy") {
      conf = read_file(examples + "/wake-caddy/Caddyfile");
      must(":8080 {", fmt::format(":{} {{", port_));
      must("admin 127.0.0.1:2019", fmt::format("admin 127.0.0.1:{}", free_port()));
    } else {
      const std::string ex = s.kind == "njs" ? "/wake-njs" : "/wake-nginx";
      conf = read_file(examples + ex + "/nginx.conf");
      if (s.kind == "njs") fs::copy_file(examples + ex + "/berth_wake.js", dir_ + "/berth_wake.js");
      must("listen 127.0.0.1:8080", fmt::format("listen 127.0.0.1:{}", port_));
    }
    must("127.0.0.1:10000", fmt::format("127.0.0.1:{}", s.wake_port));
    must("127.0.0.1:8081", fmt::format("127.0.0.1:{}", s.app_port));
    must("names=whoami", "names=" + s.names);
    must("session_duration=1m0s", "session_duration=" + s.session);
    if (s.kind != "njs") must("timeout=30s", "timeout=" + s.timeout);
    if (s.kind == "caddy") {
      write_file(dir_ + "/Caddyfile", conf);
      child_ = std::make_unique<Child>(
          std::vector<std::string>{kCaddy, "run", "--config", dir_ + "/Caddyfile", "--adapter", "caddyfile"},
          dir_ + "/proxy.log",
          std::vector<std::string>{"HOME=" + dir_, "XDG_CONFIG_HOME=" + dir_ + "/config",
                                   "XDG_DATA_HOME=" + dir_ + "/data"});
    } else {
      write_file(dir_ + "/nginx.conf", conf);
      child_ = std::make_unique<Child>(std::vector<std::string>{kNginx, "-p", dir_ + "/", "-c", dir_ + "/nginx.conf",
                                                                "-g", "daemon off;"},
                                       dir_ + "/proxy.log");
    }
    // Up once it answers anything on its port.
    ready_ = eventually([&] { return http_get(port_, "/_probe_nothing", 1s).status != 0 || !child_->running(); }, 15s) &&
             child_->running();
  }
  ~Proxy() {
    child_.reset();
    std::error_code ec;
    if (!std::getenv("BERTH_KEEP_TEST_DIRS")) fs::remove_all(dir_, ec);
  }
  bool ready() const { return ready_ && problems_.empty(); }
  int port() const { return port_; }
  std::string why() const {
    return problems_ + child_->output() + read_file(dir_ + "/error.log");
  }
  HttpReply get(const std::string& target = "/", std::chrono::milliseconds timeout = 40s) {
    return http_get(port_, target, timeout);
  }

 private:
  int port_;
  std::string dir_, problems_;
  std::unique_ptr<Child> child_;
  bool ready_ = false;
};

// ------------------------------------------------------------ the fixture

class WakeDockerBase : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_DOCKER();
    // dockerd's own container events, streamed to a file for the whole test
    // (its history keeps only the last 256 events, which healthchecks fill
    // in seconds).
    engine_log_ = fmt::format("{}/berth-wake-engine-{}.log", fs::temp_directory_path().string(), getpid());
    engine_events_ = std::make_unique<Child>(
        std::vector<std::string>{"/bin/sh", "-c",
                                 fmt::format("exec docker -H {} events --since {} --filter type=container "
                                             "--format '{{{{.Actor.Attributes.name}}}} {{{{.Action}}}}'",
                                             docker_host(), docker_now())},
        engine_log_);
  }
  void TearDown() override {
    // Unpaused first: Docker 20.10's `rm -f` of a paused container whose
    // healthcheck exec was frozen with it hangs (seen in the pause test).
    for (const auto& n : made_) {
      docker("unpause " + n);
      docker("rm -f " + n);
    }
    engine_events_.reset();
    ::unlink(engine_log_.c_str());
  }

  // How many `action` events dockerd itself reported for `name` so far.
  int docker_event_count(const std::string& name, const std::string& action) {
    const std::string log = read_file(engine_log_), line = name + " " + action + "\n";
    int n = 0;
    for (size_t at = 0; (at = log.find(line, at)) != std::string::npos; at += line.size())
      n += at == 0 || log[at - 1] == '\n';
    return n;
  }

  void start_berthd(const std::string& extra = "") {
    berthd_ = std::make_unique<BerthdProcess>(berthd_config(extra));
    ASSERT_TRUE(berthd_->ready()) << berthd_->output();
    events_ = std::make_unique<EventLog>(berthd_->events_endpoint());
    ASSERT_TRUE(events_->connected()) << "no heartbeat from berthd";
  }
  void start_wake(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--log-level", "debug"});
    wake_ = std::make_unique<WakeProcess>(std::vector<const BerthdProcess*>{berthd_.get()}, args);
    ASSERT_TRUE(wake_->ready()) << wake_->output();
  }
  void start_all(std::vector<std::string> wake_args = {}) {
    ASSERT_NO_FATAL_FAILURE(start_berthd());
    ASSERT_NO_FATAL_FAILURE(start_wake(std::move(wake_args)));
  }

  // A stopped (created, never started) busybox httpd on 127.0.0.1:<port>,
  // opted in, in its own group g-<name> (so the test can see berth-wake know
  // it without starting it). httpd as PID 1 ignores SIGTERM: stop_timeout=1
  // has it killed after 1 s instead of Docker's 10. Returns the container's name.
  //
  // With a healthcheck (unless `extra` has its own): without one, ready is
  // "running", which comes before httpd listens (a request right after the
  // blocking answer was refused in about one run in ten under ctest -j2) -
  // as with Sablier, an app that must be served on the first request needs
  // a healthcheck.
  std::string make_app(const std::string& role, int port, const std::string& labels = "",
                       std::string extra = "") {
    const std::string name = fmt::format("berth-wake-{}-{}", role, getpid());
    docker("rm -f " + name);
    if (extra.find("--health-cmd") == std::string::npos)
      extra += fmt::format(" --health-cmd 'busybox wget -q -O /dev/null http://127.0.0.1:{}/' --health-interval 100ms",
                           port);
    int status = 0;
    const std::string out = docker(fmt::format("create --network host --name {} --label sablier.enable=true "
                                               "--label sablier.group=g-{} --label proxy.stop_timeout=1 {} {} {} "
                                               "httpd -f -p 127.0.0.1:{} -h /www",
                                               name, name, labels, extra, kImage, port),
                                   &status);
    EXPECT_EQ(status, 0) << out;
    made_.push_back(name);
    return name;
  }

  // Waits until berth-wake knows the container (its group is listed in a
  // group-not-found problem; asking for an unknown group starts nothing).
  bool wait_known(const std::string& name) {
    HttpReply last;
    const bool ok = eventually(
        [&] {
          last = http_get(wake_->port(), "/api/strategies/blocking?group=berth-wake-probe-no-such-group");
          return last.body.find("\"g-" + name + "\"") != std::string::npos;
        },
        15s);
    if (!ok) ADD_FAILURE() << "berth-wake never saw " << name << ":\n" << last.describe() << "\n" << wake_->output();
    return ok;
  }

  // A request while the session's stop is under way; `second_session` is
  // its own session_duration. It must be answered once the app is started
  // again, and the app must then answer.
  void request_during_stop(const std::string& role, const std::string& second_session) {
    ASSERT_NO_FATAL_FAILURE(start_all());
    const int app_port = free_port();
    // httpd ignores SIGTERM: each stop takes its whole 3 s timeout.
    const std::string app = make_app(role, app_port, "--label proxy.stop_timeout=3");
    ASSERT_TRUE(wait_known(app));
    HttpReply r =
        http_get(wake_->port(), "/api/strategies/blocking?names=" + app + "&session_duration=1s&timeout=30s", 40s);
    ASSERT_EQ(r.status, 200) << r.describe() << context();
    // The session ends; Docker's "kill" (SIGTERM) says the stop is under way.
    ASSERT_TRUE(events_->wait_count(app, "other", 1, 15s)) << context();
    ASSERT_EQ(events_->count(app, "exited"), 0u) << "too late: already stopped" << context();
    r = http_get(wake_->port(),
                 "/api/strategies/blocking?names=" + app + "&session_duration=" + second_session + "&timeout=30s", 40s);
    const HttpReply served = http_get(app_port, "/", 5s);
    EXPECT_EQ(r.status, 200) << r.describe() << context();
    EXPECT_NE(served.body.find(kHello), std::string::npos)
        << "told ready, but the app does not answer: " << served.describe() << context();
    EXPECT_EQ(events_->count(app, "exited"), 1u) << context();
    EXPECT_EQ(events_->count(app, "started"), 2u) << context();
  }

  std::string context() {
    return "\nberthd events:\n" + events_->dump() + "\nberth-wake:\n" + wake_->output().substr(0, 30000);
  }

  std::string engine_log_;
  std::unique_ptr<Child> engine_events_;
  std::vector<std::string> made_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<WakeProcess> wake_;
};

class WakeProxy : public WakeDockerBase {};
class WakeDocker : public WakeDockerBase {};


// ------------------------------------------------------------ proxies

TEST_F(WakeProxy, NginxAuthRequestServesTheFirstRequestAndA504PageOnTimeout) {
  BERTH_REQUIRE_FILE(kNginx, "nginx");
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int app_port = free_port();
  const std::string app = make_app("nginx", app_port);
  // Never healthy: running, but never ready.
  const int sick_port = free_port();
  const std::string sick = make_app("nginx-sick", sick_port, "",
                                    "--health-cmd false --health-interval 200ms --health-retries 1000");
  ASSERT_TRUE(wait_known(app));
  ASSERT_TRUE(wait_known(sick));

  Proxy proxy({"nginx", wake_->port(), app_port, app});
  ASSERT_TRUE(proxy.ready()) << proxy.why();
  // A query of the client's own must not reach berth-wake (it could name other apps).
  const std::string other = make_app("nginx-other", free_port());
  ASSERT_TRUE(wait_known(other));
  const HttpReply first = proxy.get("/?names=" + other);
  EXPECT_EQ(first.status, 200) << first.describe() << context();
  EXPECT_NE(first.body.find(kHello), std::string::npos) << first.describe();
  EXPECT_EQ(events_->count(app, "started"), 1u) << context();
  EXPECT_EQ(events_->count(other, "started"), 0u) << context();
  EXPECT_EQ(docker_state(app), "running");

  ProxySetup slow{"nginx", wake_->port(), sick_port, sick};
  slow.timeout = "2s";
  Proxy timing_out(slow);
  ASSERT_TRUE(timing_out.ready()) << timing_out.why();
  const auto asked = Clock::now();
  const HttpReply late = timing_out.get();
  const auto waited = Clock::now() - asked;
  EXPECT_EQ(late.status, 504) << late.describe() << context();
  EXPECT_NE(late.body.find("Still waking up"), std::string::npos) << late.describe();
  EXPECT_EQ(late.header("Content-Type"), "text/html");
  EXPECT_GE(waited, 1900ms) << "berth-wake answered before the blocking timeout";

  ProxySetup unknown{"nginx", wake_->port(), app_port, "berth-wake-no-such-app"};
  Proxy nowhere(unknown);
  ASSERT_TRUE(nowhere.ready()) << nowhere.why();
  const HttpReply missing = nowhere.get();
  EXPECT_EQ(missing.status, 404) << missing.describe();
  EXPECT_NE(missing.body.find("No such app"), std::string::npos) << missing.describe();
}

TEST_F(WakeProxy, NjsDynamicShowsTheWaitingPageThenTheApp) {
  BERTH_REQUIRE_FILE(kNginx, "nginx");
  BERTH_REQUIRE_FILE(kNjsModule, "njs (libnginx-mod-http-js)");
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int app_port = free_port();
  const std::string app = make_app("njs", app_port);
  ASSERT_TRUE(wait_known(app));
  Proxy proxy({"njs", wake_->port(), app_port, app});
  ASSERT_TRUE(proxy.ready()) << proxy.why();

  // The first request starts the app and gets the waiting page at once.
  const HttpReply page = proxy.get("/", 5s);
  EXPECT_EQ(page.status, 200) << page.describe() << context();
  EXPECT_NE(page.header("Content-Type").find("text/html"), std::string::npos) << page.describe();
  EXPECT_EQ(page.header("Cache-Control"), "no-cache") << page.describe();
  EXPECT_EQ(page.header("X-Sablier-Session-Status"), "not-ready") << page.describe();
  EXPECT_NE(page.body.find("<meta http-equiv=\"refresh\" content=\"5\">"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("Whoami"), std::string::npos) << "display_name: " << page.body;
  EXPECT_EQ(page.body.find(kHello), std::string::npos);

  // A browser reloads until it gets the app (each reload is a new request).
  HttpReply last;
  EXPECT_TRUE(eventually(
      [&] {
        last = proxy.get("/", 5s);
        return last.status == 200 && last.body.find(kHello) != std::string::npos;
      },
      20s))
      << last.describe() << context();
  EXPECT_FALSE(last.has_header("X-Sablier-Session-Status")) << "the app's own answer: " << last.describe();
  EXPECT_EQ(events_->count(app, "started"), 1u) << context();
}

TEST_F(WakeProxy, CaddyForwardAuthServesTheFirstRequest) {
  BERTH_REQUIRE_FILE(kCaddy, "caddy");
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int app_port = free_port();
  const std::string app = make_app("caddy", app_port);
  const int sick_port = free_port();
  const std::string sick = make_app("caddy-sick", sick_port, "",
                                    "--health-cmd false --health-interval 200ms --health-retries 1000");
  ASSERT_TRUE(wait_known(app));
  ASSERT_TRUE(wait_known(sick));

  Proxy proxy({"caddy", wake_->port(), app_port, app});
  ASSERT_TRUE(proxy.ready()) << proxy.why();
  // A query of the client's own must not reach berth-wake (it could name other apps).
  const std::string other = make_app("caddy-other", free_port());
  ASSERT_TRUE(wait_known(other));
  const HttpReply first = proxy.get("/index.html?names=" + other);
  EXPECT_EQ(first.status, 200) << first.describe() << context();
  EXPECT_NE(first.body.find(kHello), std::string::npos) << first.describe();
  EXPECT_EQ(events_->count(app, "started"), 1u) << context();
  EXPECT_EQ(events_->count(other, "started"), 0u) << context();

  // Anything but 2xx from berth-wake reaches the client as it came.
  ProxySetup slow{"caddy", wake_->port(), sick_port, sick};
  slow.timeout = "2s";
  Proxy timing_out(slow);
  ASSERT_TRUE(timing_out.ready()) << timing_out.why();
  const HttpReply late = timing_out.get();
  EXPECT_EQ(late.status, 504) << late.describe() << context();
  EXPECT_EQ(late.header("Content-Type"), "application/problem+json") << late.describe();

  Proxy nowhere({"caddy", wake_->port(), app_port, "berth-wake-no-such-app"});
  ASSERT_TRUE(nowhere.ready()) << nowhere.why();
  const HttpReply missing = nowhere.get();
  EXPECT_EQ(missing.status, 404) << missing.describe();
  EXPECT_EQ(missing.header("Content-Type"), "application/problem+json") << missing.describe();
}

// ------------------------------------------------------------ semantics

// berthd's count of `op` commands answered (its Prometheus endpoint).
int commands_answered(int metrics_port, const std::string& op) {
  const HttpReply m = http_get(metrics_port, "/metrics");
  int n = 0;
  const std::string key = "berth_commands_total{op=\"" + op + "\",";
  for (size_t at = 0; (at = m.body.find(key, at)) != std::string::npos; ++at) {
    const size_t eol = m.body.find('\n', at);
    const size_t space = m.body.rfind(' ', eol);
    n += std::atoi(m.body.c_str() + space + 1);
  }
  return n;
}

TEST_F(WakeDocker, TwentyConcurrentFirstRequestsStartItOnce) {
  BERTH_REQUIRE_FILE(kNginx, "nginx");
  const int metrics = free_port();
  ASSERT_NO_FATAL_FAILURE(start_berthd(fmt::format(R"("metrics_listen": "127.0.0.1:{}",)", metrics)));
  ASSERT_NO_FATAL_FAILURE(start_wake());
  const int app_port = free_port();
  const std::string app = make_app("herd", app_port);
  ASSERT_TRUE(wait_known(app));
  Proxy proxy({"nginx", wake_->port(), app_port, app});
  ASSERT_TRUE(proxy.ready()) << proxy.why();

  std::vector<std::future<HttpReply>> replies;
  std::promise<void> go;
  std::shared_future<void> gate = go.get_future().share();
  for (int i = 0; i < 20; ++i)
    replies.push_back(std::async(std::launch::async, [&, gate] {
      gate.wait();
      return proxy.get();
    }));
  go.set_value();
  int served = 0;
  for (auto& f : replies) {
    const HttpReply r = f.get();
    served += r.status == 200 && r.body.find(kHello) != std::string::npos;
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  EXPECT_EQ(served, 20);
  EXPECT_EQ(events_->count(app, "started"), 1u) << context();
  EXPECT_EQ(docker_event_count(app, "start"), 1) << context();
  // And berth-wake sent berthd one start command (not one per request, nor
  // a second one when the command's answer overtakes the 'started' event).
  EXPECT_EQ(commands_answered(metrics, "start"), 1) << http_get(metrics, "/metrics").body << context();
}

TEST_F(WakeDocker, TheSessionEndsWithOneStop) {
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int app_port = free_port();
  const std::string app = make_app("session", app_port);
  ASSERT_TRUE(wait_known(app));
  const HttpReply r = http_get(wake_->port(), "/api/strategies/blocking?names=" + app + "&session_duration=2s", 30s);
  const auto served = Clock::now();
  ASSERT_EQ(r.status, 200) << r.describe() << context();
  EXPECT_EQ(http_get(app_port, "/").body.find(kHello) != std::string::npos, true);

  ASSERT_TRUE(events_->wait_count(app, "exited", 1, 20s)) << context();
  const auto exited = events_->of(app, "exited").front().at;
  EXPECT_GE(exited - served, 1900ms) << "stopped before its session ended";
  EXPECT_NE(docker_state(app), "running");
  EXPECT_EQ(events_->count(app, "started"), 1u) << context();
  EXPECT_EQ(events_->count(app, "exited"), 1u) << context();
  // It stays stopped: the session is over, nothing starts it again.
  EXPECT_EQ(docker_event_count(app, "start"), 1);
}

// A request that comes while the session's stop is under way waits for the
// stop to end and the app to be started again: it is never told "ready"
// for a container on its way down.
TEST_F(WakeDocker, ARequestDuringTheStopWaitsForTheNextStart) {
  request_during_stop("midstop", "1m");
}

// The same with a session shorter than the wait (Sablier renews the session
// of a blocking request while it waits): the waiting request keeps its
// instance wanted.
TEST_F(WakeDocker, ARequestDuringTheStopOutlivingItsSessionIsStillServed) {
  request_during_stop("midstop-short", "1s");
}

TEST_F(WakeDocker, PauseStopMethodPausesAndTheNextRequestUnpauses) {
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int app_port = free_port();
  const std::string app = make_app("pause", app_port, "--label proxy.stop_method=pause");
  ASSERT_TRUE(wait_known(app));
  const std::string ask = "/api/strategies/blocking?names=" + app + "&session_duration=2s";
  HttpReply r = http_get(wake_->port(), ask, 30s);
  ASSERT_EQ(r.status, 200) << r.describe() << context();

  ASSERT_TRUE(events_->wait_count(app, "paused", 1, 20s)) << context();
  EXPECT_EQ(docker_state(app), "paused");

  r = http_get(wake_->port(), ask, 30s);
  EXPECT_EQ(r.status, 200) << r.describe() << context();
  EXPECT_EQ(r.header("X-Sablier-Session-Status"), "ready");
  EXPECT_EQ(docker_state(app), "running") << context();
  EXPECT_EQ(events_->count(app, "unpaused"), 1u) << context();
  EXPECT_NE(http_get(app_port, "/").body.find(kHello), std::string::npos);
  EXPECT_EQ(events_->count(app, "started"), 1u) << "unpaused, not restarted" << context();
  EXPECT_EQ(events_->count(app, "exited"), 0u) << context();
  // And paused again when that session ends.
  EXPECT_TRUE(events_->wait_count(app, "paused", 2, 20s)) << context();
}

TEST_F(WakeDocker, ADependencyStartsFirstAndStopsLast) {
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int db_port = free_port(), app_port = free_port();
  const std::string db = make_app("db", db_port);
  const std::string app = make_app("front", app_port, "--label proxy.depends_on=" + db);
  ASSERT_TRUE(wait_known(db));
  ASSERT_TRUE(wait_known(app));
  const HttpReply r =
      http_get(wake_->port(), "/api/strategies/blocking?names=" + app + "&session_duration=2s", 30s);
  ASSERT_EQ(r.status, 200) << r.describe() << context();
  EXPECT_EQ(docker_state(db), "running");
  ASSERT_EQ(events_->count(db, "started"), 1u) << context();
  ASSERT_EQ(events_->count(app, "started"), 1u) << context();
  EXPECT_LT(events_->of(db, "started").front().seq, events_->of(app, "started").front().seq) << context();

  ASSERT_TRUE(events_->wait_count(app, "exited", 1, 20s)) << context();
  ASSERT_TRUE(events_->wait_count(db, "exited", 1, 20s)) << context();
  EXPECT_LT(events_->of(app, "exited").front().seq, events_->of(db, "exited").front().seq)
      << "the dependency stops after its dependent" << context();
}

// Ready = running and healthy when it has a healthcheck: the blocking
// answer waits for Docker's own verdict.
TEST_F(WakeDocker, AnAppWithAHealthcheckIsReadyWhenHealthy) {
  ASSERT_NO_FATAL_FAILURE(start_all());
  const int app_port = free_port();
  const std::string app = make_app("healthy", app_port);  // busybox wget on its port every 100 ms
  ASSERT_TRUE(wait_known(app));
  const HttpReply r = http_get(wake_->port(), "/api/strategies/blocking?names=" + app + "&timeout=20s", 30s);
  const std::string health = docker("inspect -f '{{.State.Health.Status}}' " + app);
  EXPECT_EQ(r.status, 200) << r.describe() << context();
  EXPECT_EQ(health, "healthy") << "answered ready before Docker found it healthy" << context();
}

TEST_F(WakeDocker, UnknownNameIs404ProblemJson) {
  ASSERT_NO_FATAL_FAILURE(start_all());
  const HttpReply r = http_get(wake_->port(), "/api/strategies/blocking?names=berth-wake-nobody-here");
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  ASSERT_TRUE(d.IsObject()) << r.body;
  EXPECT_EQ(d["status"].GetInt(), 404);
  EXPECT_STREQ(d["type"].GetString(), "https://sablierapp.dev/#/errors?id=instance-not-found");
}

TEST_F(WakeDocker, BerthdRestartedMidSessionIsRecovered) {
  // berthd at fixed endpoints, so the new one is where the old one was.
  const ScopedDir dir;
  const std::string& rt = dir.path;
  const std::string endpoints = fmt::format(R"("events_endpoint": "ipc://{0}/events.sock",
      "commands_endpoint": "ipc://{0}/commands.sock",)", rt);
  ASSERT_NO_FATAL_FAILURE(start_berthd(endpoints));
  wake_ = std::make_unique<WakeProcess>(
      std::vector<std::pair<std::string, std::string>>{{"ipc://" + rt + "/commands.sock", "ipc://" + rt + "/events.sock"}},
      std::vector<std::string>{"--log-level", "debug"}, rt + "/berth-wake.log");
  ASSERT_TRUE(wake_->ready()) << wake_->output();
  const int app_port = free_port();
  const std::string app = make_app("restart", app_port);
  const std::string later = make_app("restart-later", free_port());
  ASSERT_TRUE(wait_known(app));
  ASSERT_TRUE(wait_known(later));
  const std::string ask = "/api/strategies/blocking?names=" + app + "&session_duration=6s";
  HttpReply r = http_get(wake_->port(), ask, 30s);
  ASSERT_EQ(r.status, 200) << r.describe() << context();

  // Restart berthd mid-session (what its events said so far is kept).
  const size_t started_before = events_->count(app, "started"), exited_before = events_->count(app, "exited");
  events_.reset();
  ASSERT_TRUE(berthd_->terminate()) << berthd_->output();
  berthd_ = std::make_unique<BerthdProcess>(berthd_config(endpoints));
  ASSERT_TRUE(berthd_->ready()) << berthd_->output();
  const auto back = Clock::now();
  events_ = std::make_unique<EventLog>(berthd_->events_endpoint());

  // A stopped app asked for now is started by the new daemon without delay
  // (berth-wake follows the new daemon within a few heartbeats).
  const HttpReply woke = http_get(wake_->port(), "/api/strategies/blocking?names=" + later + "&session_duration=1m",
                                  30s);
  EXPECT_EQ(woke.status, 200) << woke.describe() << context();
  EXPECT_LT(Clock::now() - back, 3s) << "berth-wake was slow to follow the restarted berthd" << context();

  // A request after the restart still works (it renews the session).
  r = http_get(wake_->port(), ask, 30s);
  EXPECT_EQ(r.status, 200) << r.describe() << context();
  const auto renewed = Clock::now();

  // The session ends with exactly one stop, and nothing was started twice.
  ASSERT_TRUE(events_->wait_count(app, "exited", 1, 30s)) << context();
  EXPECT_GE(events_->of(app, "exited").front().at - renewed, 5500ms) << "the renewed session was cut short";
  // dockerd logs "stop" after "die".
  EXPECT_TRUE(eventually([&] { return docker_event_count(app, "stop") >= 1; }, 10s));
  EXPECT_EQ(docker_event_count(app, "stop"), 1) << context();
  EXPECT_EQ(docker_event_count(app, "die"), 1) << context();
  EXPECT_EQ(docker_event_count(app, "start"), 1) << context();
  // berthd's view agrees, across both daemons.
  EXPECT_EQ(started_before + events_->count(app, "started"), 1u) << context();
  EXPECT_EQ(exited_before + events_->count(app, "exited"), 1u) << context();
  wake_.reset();  // before its directory goes
  events_.reset();
  berthd_.reset();
}

// ------------------------------------------------------------ berthd crashes

// berthd killed (SIGKILL: no `stopping`) and started again at the same
// sockets after a delay, as its systemd unit does (Restart=on-failure,
// RestartSec=2): during a blocking wake whose start went to the berthd that
// died, and during another app's session that ends after the restart.
//
// As an operator meets it: the apps exist before berthd starts, so the old
// berthd published one message (its provider's `up`, seq 1) before it died,
// and the new one starts at seq 1 again. A follower that went by seq alone
// took the new berthd's messages as already seen: the wake timed out and
// every later one too.
class WakeBerthdCrash : public WakeDockerBase, public ::testing::WithParamInterface<std::chrono::milliseconds> {};

TEST_P(WakeBerthdCrash, TheWakeInFlightIsServedWithOneStartAndTheSessionStillEnds) {
  const auto delay = GetParam();
  const ScopedDir dir;
  const std::string& rt = dir.path;
  const std::string endpoints = fmt::format(R"("events_endpoint": "ipc://{0}/events.sock",
      "commands_endpoint": "ipc://{0}/commands.sock",)", rt);
  // The app in session: running and healthy before berthd starts, adopted by
  // berth-wake with its own idle timeout. It ends about 4 s after berthd is
  // back, or (the 6 s outage) while no berthd runs: then its stop is owed
  // and sent once berthd is back.
  const auto session = delay >= 6s ? std::chrono::milliseconds(3000)
                                   : std::chrono::duration_cast<std::chrono::milliseconds>(delay + 4s);
  const int idle_port = free_port(), woken_port = free_port();
  const std::string idle = make_app("crash-idle", idle_port, fmt::format("--label proxy.idle_timeout={}ms", session.count()));
  const std::string woken = make_app("crash-woken", woken_port);
  docker("start " + idle);
  ASSERT_TRUE(eventually([&] { return docker("inspect -f '{{.State.Health.Status}}' " + idle) == "healthy"; }, 20s));
  const auto session_from = Clock::now();  // adopted after this
  ASSERT_NO_FATAL_FAILURE(start_berthd(endpoints));
  wake_ = std::make_unique<WakeProcess>(
      std::vector<std::pair<std::string, std::string>>{{"ipc://" + rt + "/commands.sock", "ipc://" + rt + "/events.sock"}},
      std::vector<std::string>{"--log-level", "debug"}, rt + "/berth-wake.log");
  ASSERT_TRUE(wake_->ready()) << wake_->output();
  ASSERT_TRUE(wait_known(idle));
  ASSERT_TRUE(wait_known(woken));

  // A blocking wake in flight: berth-wake has sent its start when berthd dies.
  Clock::time_point answered{};
  auto in_flight = std::async(std::launch::async, [&] {
    auto r = http_get(wake_->port(), "/api/strategies/blocking?names=" + woken + "&session_duration=1m&timeout=30s", 40s);
    answered = Clock::now();
    return r;
  });
  ASSERT_TRUE(eventually([&] { return wake_->output().find(woken + ": requested: start") != std::string::npos; }, 10s))
      << wake_->output();
  ASSERT_TRUE(berthd_->kill_now());
  const std::string before = events_->dump();
  events_.reset();
  std::this_thread::sleep_for(delay);
  berthd_ = std::make_unique<BerthdProcess>(berthd_config(endpoints));
  ASSERT_TRUE(berthd_->ready()) << berthd_->output();
  const auto back = Clock::now();
  events_ = std::make_unique<EventLog>(berthd_->events_endpoint());

  const HttpReply woke = in_flight.get();
  EXPECT_NE(wake_->output().find(woken + ": berthd went away before answering"), std::string::npos)
      << "the start was not in flight when berthd died" << context();
  EXPECT_EQ(woke.status, 200) << woke.describe() << "\nbefore the kill:\n" << before << context();
  EXPECT_LT(answered - back, 4s) << "not served within a few seconds of the new berthd" << context();
  EXPECT_NE(http_get(woken_port, "/", 5s).body.find(kHello), std::string::npos) << context();
  EXPECT_EQ(docker_event_count(woken, "start"), 1) << "one start, never two" << context();

  // The session that ends after the restart stops its app, once, on time.
  Clock::time_point stopped{};
  EXPECT_TRUE(eventually(
      [&] {
        if (docker_event_count(idle, "die") == 0) return false;
        stopped = Clock::now();
        return true;
      },
      session + 20s))
      << "the session's stop never came" << context();
  EXPECT_GE(stopped - session_from, session) << "stopped before its session ended" << context();
  if (delay >= 6s) {
    EXPECT_NE(wake_->output().find(idle + ": session ended while berthd was away"), std::string::npos) << context();
    EXPECT_LT(stopped - back, 5s) << "the owed stop waited" << context();
  }
  EXPECT_EQ(docker_event_count(idle, "die"), 1) << context();
  // And a later wake works: the instance was not left waiting on a lost start.
  docker("stop -t 1 " + woken);
  ASSERT_TRUE(events_->wait_count(woken, "exited", 1, 10s)) << context();
  const HttpReply again =
      http_get(wake_->port(), "/api/strategies/blocking?names=" + woken + "&session_duration=1m&timeout=10s", 20s);
  EXPECT_EQ(again.status, 200) << again.describe() << context();
  EXPECT_EQ(docker_event_count(woken, "start"), 2) << context();
  std::printf("[ figures  ] berthd back after %lld ms: the wake in flight answered %lld ms after its banner\n",
              static_cast<long long>(delay.count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(answered - back).count()));
  wake_.reset();  // before its directory goes
  events_.reset();
  berthd_.reset();
}

INSTANTIATE_TEST_SUITE_P(RestartDelays, WakeBerthdCrash, ::testing::Values(100ms, 1000ms, 2000ms, 6000ms),
                         [](const auto& info) { return "After" + std::to_string(info.param.count()) + "ms"; });

}  // namespace
}  // namespace berth::wake_test
