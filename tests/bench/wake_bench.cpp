// Benchmark, not a test: berth-wake (examples of Sablier's HTTP contract).
//  1. Wake: a stopped busybox httpd (real dockerd) from the first blocking
//     request to the app's first byte, beside the engine alone (POST
//     /containers/{id}/start, then the app polled) — rounds interleaved.
//  2. The blocking strategy on a ready instance under wrk, beside nginx
//     serving a static file on this machine, rounds interleaved.
//  3. berth-wake's RSS following 1 000 managed containers (sim), and none.
// Prints; asserts nothing.
//
//   wake_bench [--rounds R] [--seconds S]      (default 5, 3)
#include "background.hpp"
#include "bench_util.hpp"
#include "berthd_process.hpp"
#include "docker_env.hpp"
#include "http_client.hpp"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::bench;
using namespace berth::docker_test;
using namespace std::chrono_literals;
namespace http = berth::http;

http::Client client_for(const std::string& url) {
  std::string err;
  return http::Client(*http::Endpoint::parse(url, {}, err));
}

int status_of(http::Client& c, const std::string& target, std::chrono::seconds within = 30s) {
  auto r = c.call({"GET", target}, {Clock::now() + within, {}});
  return r.ok() ? r.status : 0;
}

double rss_mib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;
  return 0;
}

struct Wrk {
  double rps = 0, p50 = 0, p99 = 0;  // ms
  double non_2xx = 0;                // answers that were not 2xx/3xx
};

// wrk --latency's summary: "Requests/sec: N" and the 50%/99% lines.
Wrk wrk(const std::string& url, int seconds) {
  std::string out;
  if (FILE* p = popen(fmt::format("wrk -t1 -c16 -d{}s --latency '{}' 2>&1", seconds, url).c_str(), "r")) {
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  auto number = [&](const std::regex& re) {
    std::smatch m;
    if (!std::regex_search(out, m, re)) return 0.0;
    double v = std::strtod(m[1].str().c_str(), nullptr);
    const std::string unit = m.size() > 2 ? m[2].str() : "";
    return unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v;
  };
  return {number(std::regex(R"(Requests/sec:\s+([0-9.]+))")), number(std::regex(R"(\s50%\s+([0-9.]+)(us|ms|s))")),
          number(std::regex(R"(\s99%\s+([0-9.]+)(us|ms|s))")), number(std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))};
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::max(1, std::atoi(argv[i + 1]));
  }
  std::printf("\nberth-wake benchmark: %d rounds after a warm-up, interleaved; median (min–max)\n", rounds);
  const int port = 24000 + getpid() % 1000, app_port = port + 1, nginx_port = port + 2;

  // --- 1 and 2 need the engine.
  if (auto why = engine_unreachable(); !why.empty()) {
    std::printf("  (no dockerd: %s; wake and wrk figures skipped)\n", why.c_str());
  } else {
    const std::string name = fmt::format("berth-wake-bench-{}", getpid());
    docker(fmt::format("create --network host --name {} --label sablier.enable=true --label sablier.group=bench {} "
                       "httpd -f -p 127.0.0.1:{} -h /www", name, kImage, app_port));
    const std::string id = docker("inspect -f '{{.Id}}' " + name);
    BerthdProcess d(fmt::format(R"({{"log_level": "warn", "providers": [{{"name": "dk", "plugin": "{}",
        "config": {{"host": "{}"}}}}]}})", plugin_path("docker"), docker_host()));
    Background wake(fmt::format("{} --listen 127.0.0.1:{} --runtime-dir {} --log-level warn", BERTH_BENCH_WAKE, port,
                                d.dir()));
    wake.wait_for("ready", 10s);
    auto berth_wake = client_for(fmt::format("http://127.0.0.1:{}", port));
    auto app = client_for(fmt::format("http://127.0.0.1:{}", app_port));
    auto engine = client_for(docker_host());
    const std::string blocking = fmt::format("/api/strategies/blocking?names={}&session_duration=10m&timeout=30s", name);
    for (int i = 0; i < 100 && status_of(berth_wake, "/health") != 200; ++i) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(1s);  // berth-wake's first snapshot
    Spread through_wake, wake_ready, alone, added;
    for (int round = -1; round < rounds; ++round) {
      auto stop = [&] { docker("stop -t 0 " + name); };
      double w = 0, wr = 0, e = 0;
      auto via_wake = [&] {
        stop();
        std::this_thread::sleep_for(300ms);  // berth-wake sees it stopped
        const auto t0 = Clock::now();
        if (status_of(berth_wake, blocking) != 200) std::fprintf(stderr, "blocking request failed\n");
        wr = ms_since(t0);
        while (status_of(app, "/", 2s) != 200) std::this_thread::sleep_for(1ms);
        w = ms_since(t0);
      };
      auto directly = [&] {
        stop();
        const auto t0 = Clock::now();
        engine.call({"POST", "/v1.41/containers/" + id + "/start"}, {Clock::now() + 30s, {}});
        while (status_of(app, "/", 2s) != 200) std::this_thread::sleep_for(1ms);
        e = ms_since(t0);
      };
      if (round % 2 == 0) via_wake(), directly();
      else directly(), via_wake();
      if (round < 0) continue;
      through_wake.add(w), wake_ready.add(wr), alone.add(e), added.add(w - e);
    }
    std::printf("  1. wake, stopped busybox httpd (dockerd), first request -> first byte of the app, ms\n");
    std::printf("     through berth-wake (blocking)     %s   (the blocking answer itself: %s)\n",
                through_wake.text("%.1f").c_str(), wake_ready.text("%.1f").c_str());
    std::printf("     engine alone: start, then app     %s\n", alone.text("%.1f").c_str());
    std::printf("     added by berth                    %s   (goal <= 50 ms)\n", added.text("%.1f").c_str());

    // --- 2. blocking on a ready instance vs nginx static
    status_of(berth_wake, blocking);  // ready, session running
    const std::string prefix = make_temp_dir();
    std::filesystem::create_directories(prefix + "/html");
    std::ofstream(prefix + "/html/index.html") << "hello from berth\n";
    std::ofstream(prefix + "/nginx.conf") << fmt::format(
        "worker_processes 1; daemon off; pid {0}/nginx.pid; error_log {0}/error.log;\n"
        "events {{ worker_connections 256; }}\n"
        "http {{ access_log off; client_body_temp_path {0}; proxy_temp_path {0}; fastcgi_temp_path {0};\n"
        "  uwsgi_temp_path {0}; scgi_temp_path {0};\n"
        "  server {{ listen 127.0.0.1:{1}; root {0}/html; }} }}\n",
        prefix, nginx_port);
    Background nginx(fmt::format("/usr/sbin/nginx -p {0}/ -c {0}/nginx.conf", prefix));
    auto static_page = client_for(fmt::format("http://127.0.0.1:{}", nginx_port));
    for (int i = 0; i < 100 && status_of(static_page, "/", 1s) != 200; ++i) std::this_thread::sleep_for(50ms);
    Spread wrps, wp50, wp99, nrps, np50, np99, ratio;
    double bad = 0;
    for (int round = -1; round < rounds; ++round) {
      Wrk a, b;
      auto w = [&] { a = wrk(fmt::format("http://127.0.0.1:{}{}", port, blocking), seconds); };
      auto n = [&] { b = wrk(fmt::format("http://127.0.0.1:{}/", nginx_port), seconds); };
      if (round % 2 == 0) w(), n();
      else n(), w();
      if (round < 0) continue;
      bad += a.non_2xx + b.non_2xx;
      wrps.add(a.rps), wp50.add(a.p50), wp99.add(a.p99), nrps.add(b.rps), np50.add(b.p50), np99.add(b.p99);
      ratio.add(b.rps > 0 ? a.rps / b.rps : 0);
    }
    std::printf("  2. wrk -t1 -c16, %d s per round\n", seconds);
    std::printf("     blocking, ready instance   %s req/s   p50 %s ms   p99 %s ms\n", wrps.text("%.0f").c_str(),
                wp50.text("%.2f").c_str(), wp99.text("%.2f").c_str());
    std::printf("     nginx, static file         %s req/s   p50 %s ms   p99 %s ms\n", nrps.text("%.0f").c_str(),
                np50.text("%.2f").c_str(), np99.text("%.2f").c_str());
    std::printf("     ratio berth-wake/nginx     %s   (Sablier publishes 5.75 k req/s, p99 4.94 ms, 4-core laptop)\n",
                ratio.text().c_str());
    std::printf("     answers that were not 2xx: %.0f\n", bad);
    docker("rm -f " + name);
    std::filesystem::remove_all(prefix);
  }

  // --- 3. RSS following 1 000 managed containers (and none)
  for (int managed : {0, 1000}) {
    BerthdProcess d(fmt::format(
        R"({{"log_level": "warn", "providers": [{{"name": "sim", "plugin": "{}", "config": {{"containers": [
          {{"id": "m", "name": "m", "state": "stopped", "copies": {},
            "labels": {{"sablier.enable": "true", "sablier.group": "bench"}}}}]}}}}]}})",
        plugin_path("sim"), std::max(managed, 1)));
    Background wake(fmt::format("{} --listen 127.0.0.1:{} --runtime-dir {} --log-level warn", BERTH_BENCH_WAKE,
                                port + 10 + managed / 1000, d.dir()));
    wake.wait_for("ready", 10s);
    std::this_thread::sleep_for(2s);  // its snapshot is in
    std::printf("  3. berth-wake RSS following %4d managed containers: %.1f MiB   (goal <= 10 MiB)\n",
                std::max(managed, 1), rss_mib(wake.pid));
  }
  return 0;
}
