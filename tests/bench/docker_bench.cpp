// Benchmark, not a test: docker.so through berthd against the private test
// dockerd, each figure next to the same thing done directly on the Engine API
// in the same run. Prints; asserts nothing.
//   1. engine event → SUB latency vs engine event → a raw /events reader
//   2. `status` over REQ vs GET /containers/{id}/json on a kept-alive socket
//   3. a burst of 200 containers started at once → started events received
#include "berthd_process.hpp"
#include "docker_env.hpp"
#include "http_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <map>
#include <set>
#include <thread>

using namespace berth::testing;
using namespace berth::docker_test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double p50, p99, mean;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {0, 0, 0};
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)],
          std::accumulate(v.begin(), v.end(), 0.0) / v.size()};
}

std::string api_version() { return docker("version --format '{{.Server.APIVersion}}'"); }

}  // namespace

int main() {
  if (auto why = engine_unreachable(); !why.empty()) {
    std::fprintf(stderr, "docker bench: no dockerd (%s); run tests/docker/dockerd.sh start\n", why.c_str());
    return 1;
  }
  const std::string api = "/v" + api_version();
  std::printf("berth docker benchmark: engine %s, API %s\n", docker("version --format '{{.Server.Version}}'").c_str(),
              api.c_str() + 2);
  std::string err;
  auto ep = *berth::http::Endpoint::parse(docker_host(), {}, err);
  zmq::context_t zmq;
  BerthdProcess daemon(fmt::format(R"({{"log_level":"warn","providers":[{{"name":"dk","plugin":"{}",
      "config":{{"host":"{}"}}}}]}})", plugin_path("docker"), docker_host()));
  if (!daemon.ready()) {
    std::fprintf(stderr, "berthd did not start:\n%s\n", daemon.output().c_str());
    return 1;
  }
  Client client(zmq, daemon.commands_endpoint(), 60s);
  const std::string name = fmt::format("berth-bench-{}", getpid());
  docker(fmt::format("run -d --network none --name {} {} {}", name, kImage, kIdleCommand));
  const std::string id = docker("inspect -f '{{.Id}}' " + name);

  // --- 1. event latency: SUB vs a raw /events reader, same events
  {
    Subscriber sub(zmq, daemon.events_endpoint(), "container/dk/");
    sub.wait_connected();
    std::mutex m;
    std::vector<Clock::time_point> raw_at;
    berth::http::Stream raw(ep);
    std::thread reader([&] {
      raw.run({"GET", api + "/events?filters=" + berth::http::url_encode(R"({"type":["container"]})")}, 5s, [] {},
              [&, pending = std::string()](std::string_view data) mutable {
                // Only this container's pause/unpause, as the SUB side sees.
                auto now = Clock::now();
                pending.append(data);
                std::lock_guard lock(m);
                for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
                  std::string_view line(pending.data(), nl);
                  if (line.find(id) != line.npos && (line.find("\"Action\":\"pause\"") != line.npos ||
                                                     line.find("\"Action\":\"unpause\"") != line.npos))
                    raw_at.push_back(now);
                }
              });
    });
    std::this_thread::sleep_for(500ms);
    berth::http::Client direct(ep);
    const int cycles = 100;
    // Both sides are timestamped on their own reader threads, as events arrive.
    std::vector<Clock::time_point> sub_at;
    std::atomic<bool> done{false};
    std::thread sub_reader([&] {
      while (!done) {
        auto msg = sub.next_matching("container/dk/", 200ms);
        if (!msg) continue;
        const std::string type = msg->body["type"].GetString();
        if ((type == "paused" || type == "unpaused") && msg->body["container"]["id"].GetString() == id)
          sub_at.push_back(Clock::now());
      }
    });
    for (int i = 0; i < cycles; ++i)
      for (const char* op : {"/pause", "/unpause"})
        direct.call({"POST", api + "/containers/" + id + op}, {Clock::now() + 10s, {}});
    std::this_thread::sleep_for(500ms);
    done = true;
    sub_reader.join();
    std::this_thread::sleep_for(300ms);
    raw.stop();
    reader.join();
    std::vector<double> extra;
    {
      std::lock_guard lock(m);
      for (size_t i = 0; i < std::min(raw_at.size(), sub_at.size()); ++i) extra.push_back(ms(sub_at[i] - raw_at[i]));
    }
    auto s = stats(extra);
    std::printf("  event latency added by berth (SUB arrival - raw /events arrival), %d pause/unpause calls,\n"
                "  %zu events on the raw stream, %zu on SUB:\n"
                "      p50 %.3f ms   p99 %.3f ms   mean %.3f ms\n",
                2 * cycles, raw_at.size(), sub_at.size(), s.p50, s.p99, s.mean);
  }

  // --- 2. status through berth vs the direct API call
  {
    berth::http::Client direct(ep);
    const int n = 500;
    std::vector<double> d, b;
    for (int i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      direct.call({"GET", api + "/containers/" + id + "/json"}, {Clock::now() + 10s, {}});
      auto t1 = Clock::now();
      client.call(fmt::format(R"({{"op":"status","container":"{}","provider":"dk"}})", name));
      auto t2 = Clock::now();
      d.push_back(ms(t1 - t0));
      b.push_back(ms(t2 - t1));
    }
    auto sd = stats(d), sb = stats(b);
    std::printf("  status, %d calls each:\n"
                "      direct GET /containers/{id}/json  p50 %.3f ms  mean %.3f ms\n"
                "      berth REQ status                  p50 %.3f ms  mean %.3f ms\n"
                "      ratio berth/direct (p50)          %.2f\n",
                n, sd.p50, sd.mean, sb.p50, sb.mean, sb.p50 / sd.p50);
  }
  docker("rm -f " + name);

  // --- 3. burst: 300 containers started at once, then killed at once; every
  // container's `started` must come before its `exited`, each exactly once.
  {
    const int n = 300;
    Subscriber sub(zmq, daemon.events_endpoint(), "container/dk/");
    sub.wait_connected();
    std::set<std::string> ids;
    std::string names;
    for (int i = 0; i < n; ++i) {
      std::string nm = fmt::format("berth-burst-{}-{}", getpid(), i);
      ids.insert(docker(fmt::format("create --network none --name {} {} sleep 600", nm, kImage)));
      names += nm + "\n";
    }
    FILE* f = std::fopen("/tmp/berth-burst-names", "w");
    std::fputs(names.c_str(), f);
    std::fclose(f);
    auto t0 = Clock::now();
    std::system(("xargs -P 50 -n 4 docker -H " + docker_host() + " start < /tmp/berth-burst-names >/dev/null").c_str());
    std::system(("xargs -P 50 -n 4 docker -H " + docker_host() + " kill < /tmp/berth-burst-names >/dev/null").c_str());
    std::map<std::string, std::vector<std::string>> seen;
    size_t complete = 0;
    while (complete < ids.size()) {
      auto m = sub.next(30s);
      if (!m) break;
      const std::string type = m->body["type"].GetString(), cid = m->body["container"]["id"].GetString();
      if (!ids.count(cid) || (type != "started" && type != "exited")) continue;
      seen[cid].push_back(type);
      if (type == "exited") ++complete;
    }
    size_t in_order = 0;
    for (const auto& [id, types] : seen)
      if (types == std::vector<std::string>{"started", "exited"}) ++in_order;
    std::printf("  burst: %d containers started, then killed, at once -> %zu with exactly `started` then `exited` "
                "(want %d) in %.1f s\n", n, in_order, n, ms(Clock::now() - t0) / 1000);
    std::system(("xargs -P 8 -n 20 docker -H " + docker_host() + " rm -f < /tmp/berth-burst-names >/dev/null").c_str());
  }
  return 0;
}
