// examples/nginx-sidecar end to end: real nginx, real berthd with docker.so
// against the test dockerd, a labelled busybox httpd container, and curl.
#include "berthd_process.hpp"
#include "docker_env.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::docker_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string sh(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen((cmd + " 2>&1").c_str(), "r")) {
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// Polls `curl` through nginx until the body contains `want`.
bool curl_until(int port, const std::string& host, const std::string& want, std::string& last) {
  for (int i = 0; i < 100; ++i) {
    last = sh(fmt::format("curl -s -m 2 -H 'Host: {}' -w ' HTTP=%{{http_code}}' http://127.0.0.1:{}/", host, port));
    if (last.find(want) != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST(NginxSidecar, RoutesFollowTheContainer) {
  BERTH_REQUIRE_DOCKER();
  if (!fs::exists("/usr/sbin/nginx")) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << "nginx required under CI=true";
    GTEST_SKIP() << "nginx not installed";
  }
  const int nginx_port = 21000 + getpid() % 4000, app_port = nginx_port + 5000;
  const fs::path prefix = fs::temp_directory_path() / fmt::format("berth-nginx-{}", getpid());
  fs::create_directories(prefix / "tmp");
  fs::copy_file(BERTH_EXAMPLES_DIR "/nginx-sidecar/nginx.conf", prefix / "nginx.conf");
  const std::string nginx = fmt::format("/usr/sbin/nginx -p {}/ -c {}/nginx.conf", prefix.string(), prefix.string());

  BerthdProcess d(fmt::format(R"({{"heartbeat_ms": 200, "providers": [{{"name": "dk", "plugin": "{}",
      "config": {{"host": "{}"}}}}]}})", plugin_path("docker"), docker_host()));
  ASSERT_TRUE(d.ready()) << d.output();

  const std::string sidecar_log = (prefix / "sidecar.log").string();
  pid_t sidecar = fork();
  if (sidecar == 0) {
    const std::string cmd = fmt::format(
        "exec /usr/bin/python3 {}/nginx-sidecar/berth_nginx_sidecar.py --conf {}/berth.conf --listen 127.0.0.1:{} "
        "--reload '{} -s reload' --events {} --commands {} >{} 2>&1",
        BERTH_EXAMPLES_DIR, prefix.string(), nginx_port, nginx, d.events_endpoint(), d.commands_endpoint(), sidecar_log);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 100 && !fs::exists(prefix / "berth.conf"); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(fs::exists(prefix / "berth.conf")) << sh("cat " + sidecar_log);
  ASSERT_EQ(std::system(nginx.c_str()), 0) << sh("cat " + (prefix / "error.log").string());

  const std::string name = fmt::format("berth-nginx-app-{}", getpid());
  int status = 0;
  std::string out = docker(fmt::format("run -d --network host --name {} --label proxy.aliases=hello "
                                       "--label proxy.hello.port={} {} httpd -f -p 127.0.0.1:{} -h /www",
                                       name, app_port, kImage, app_port), &status);
  ASSERT_EQ(status, 0) << out;

  std::string last;
  EXPECT_TRUE(curl_until(nginx_port, "hello", "hello from berth", last)) << last << "\n" << sh("cat " + sidecar_log);
  EXPECT_TRUE(curl_until(nginx_port, "unknown-alias", "no such route", last)) << last;

  docker("stop -t 1 " + name);
  EXPECT_TRUE(curl_until(nginx_port, "hello", "HTTP=404", last)) << "the route disappears: " << last;

  docker("start " + name);
  EXPECT_TRUE(curl_until(nginx_port, "hello", "hello from berth", last)) << "and comes back: " << last;

  docker("rm -f " + name);
  std::system((nginx + " -s quit").c_str());
  kill(sidecar, SIGTERM);
  waitpid(sidecar, nullptr, 0);
  const std::string log = sh("cat " + sidecar_log);
  EXPECT_NE(log.find(fmt::format("hello→127.0.0.1:{}", app_port)), std::string::npos) << log;
  fs::remove_all(prefix);
}

}  // namespace
