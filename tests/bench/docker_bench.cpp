// Benchmark, not a test: docker.so through berthd against the private test
// dockerd, each figure next to the same thing done directly on the Engine API
// in the same run. Prints; asserts nothing.
//   1. engine event → SUB latency vs engine event → a raw /events reader,
//      beside the floor of any ZeroMQ publisher: the raw reader republishing
//      each event at once on a bare PUB (its own context, as a daemon's
//      would be) to a SUB here
//   2. `status` over REQ vs GET /containers/{id}/json on a kept-alive socket,
//      beside the floor of any call through berthd: `ping`, a REQ round trip
//      that berthd answers itself
//   3. a burst of 300 containers started, then killed, at once → each one's
//      `started` and `exited`, in that order, exactly once
#include "bench_util.hpp"
#include "berthd_process.hpp"
#include "docker_env.hpp"
#include "http_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <map>
#include <set>
#include <thread>

using namespace berth::testing;
using namespace berth::docker_test;
using namespace std::chrono_literals;
using berth::bench::Clock;
using berth::bench::Samples;
using berth::bench::Spread;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string api_version() { return docker("version --format '{{.Server.APIVersion}}'"); }

// "2026-12-04T23:11:00.098625391Z" → unix ns (berth writes UTC with 9 digits).
int64_t rfc3339_ns(const char* s) {
  std::tm tm{};
  int ns = 0;
  if (std::sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%9d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ns) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000 + ns;
}

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

  // --- 1 and 2, over several rounds (median and range of each figure).
  const int rounds = 5;
  Spread lat50, lat99, unpaired, st_direct, st_berth, st_ratio, st_ping, fwd50, fwd99;
  zmq::context_t fwd_zmq;  // the bare forwarder's, apart from the subscribers' context
  const std::string fwd_endpoint = fmt::format("ipc:///tmp/berth-bench-fwd-{}.sock", getpid());
  for (int round = 0; round < rounds; ++round) {
    // 1. event latency: SUB vs a raw /events reader, the same events paired
    //    by the engine's own time (timeNano), each side stamped on its own
    //    reader thread as the event arrives.
    Subscriber sub(zmq, daemon.events_endpoint(), "container/dk/");
    sub.wait_connected();
    std::mutex m;
    std::map<int64_t, Clock::time_point> raw_at, sub_at, fwd_at;
    zmq::socket_t fwd_pub(fwd_zmq, zmq::socket_type::pub);
    fwd_pub.set(zmq::sockopt::linger, 0);
    fwd_pub.bind(fwd_endpoint);
    zmq::socket_t fwd_sub(zmq, zmq::socket_type::sub);
    fwd_sub.set(zmq::sockopt::subscribe, "");
    fwd_sub.set(zmq::sockopt::rcvtimeo, 200);
    fwd_sub.connect(fwd_endpoint);
    berth::http::Stream raw(ep);
    std::thread reader([&] {
      raw.run({"GET", api + "/events?filters=" + berth::http::url_encode(R"({"type":["container"]})")}, 5s, [] {},
              [&, pending = std::string()](std::string_view data) mutable {
                auto now = Clock::now();
                pending.append(data);
                std::lock_guard lock(m);
                for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
                  std::string_view line(pending.data(), nl);
                  if (line.find(id) == line.npos || (line.find("\"Action\":\"pause\"") == line.npos &&
                                                     line.find("\"Action\":\"unpause\"") == line.npos))
                    continue;
                  const auto at = line.find("\"timeNano\":");
                  if (at == line.npos) continue;
                  const int64_t t = std::strtoll(line.data() + at + 11, nullptr, 10);
                  raw_at[t] = now;
                  fwd_pub.send(zmq::const_buffer(&t, sizeof t), zmq::send_flags::dontwait);
                }
              });
    });
    std::atomic<bool> done{false};
    std::this_thread::sleep_for(500ms);
    berth::http::Client direct(ep);
    std::thread fwd_reader([&] {
      while (!done) {
        zmq::message_t msg;
        if (!fwd_sub.recv(msg) || msg.size() != sizeof(int64_t)) continue;
        const auto now = Clock::now();
        int64_t t;
        std::memcpy(&t, msg.data(), sizeof t);
        std::lock_guard lock(m);
        fwd_at[t] = now;
      }
    });
    const int cycles = 50;
    std::thread sub_reader([&] {
      while (!done) {
        auto msg = sub.next_matching("container/dk/", 200ms);
        if (!msg) continue;
        const auto now = Clock::now();
        const std::string type = msg->body["type"].GetString();
        if ((type == "paused" || type == "unpaused") && msg->body["container"]["id"].GetString() == id) {
          std::lock_guard lock(m);
          sub_at[rfc3339_ns(msg->body["time"].GetString())] = now;
        }
      }
    });
    for (int i = 0; i < cycles; ++i)
      for (const char* op : {"/pause", "/unpause"})
        direct.call({"POST", api + "/containers/" + id + op}, {Clock::now() + 10s, {}});
    std::this_thread::sleep_for(500ms);
    done = true;
    sub_reader.join();
    fwd_reader.join();
    std::this_thread::sleep_for(300ms);
    raw.stop();
    reader.join();
    Samples extra, fwd;
    size_t lone = 0;
    {
      std::lock_guard lock(m);
      for (const auto& [t, at] : raw_at) {
        auto it = sub_at.find(t);
        if (it == sub_at.end()) ++lone;
        else extra.add(ms(it->second - at));
        if (auto f = fwd_at.find(t); f != fwd_at.end()) fwd.add(ms(f->second - at));
      }
    }
    lat50.add(extra.p50()), lat99.add(extra.p99()), unpaired.add(static_cast<double>(lone));
    fwd50.add(fwd.p50()), fwd99.add(fwd.p99());

    // 2. status through berth vs the direct API call, interleaved call by call.
    Samples d, b, p;
    for (int i = 0; i < 200; ++i) {
      auto t0 = Clock::now();
      direct.call({"GET", api + "/containers/" + id + "/json"}, {Clock::now() + 10s, {}});
      auto t1 = Clock::now();
      client.call(fmt::format(R"({{"op":"status","container":"{}","provider":"dk"}})", name));
      auto t2 = Clock::now();
      client.call(R"({"op":"ping"})");
      auto t3 = Clock::now();
      d.add(ms(t1 - t0));
      b.add(ms(t2 - t1));
      p.add(ms(t3 - t2));
    }
    st_direct.add(d.p50()), st_berth.add(b.p50()), st_ratio.add(b.p50() / d.p50()), st_ping.add(p.p50());
  }
  std::printf("  %d rounds; median (min–max)\n", rounds);
  std::printf("  1. event latency added by berth (SUB arrival - raw /events arrival), 100 pause/unpause\n"
              "     events a round paired by the engine's time (%s unpaired a round):\n"
              "       p50 %s ms   p99 %s ms   (goal p99 <= 0.5 ms)\n"
              "     the same events republished at once on a bare PUB (one ZeroMQ hop, no berth):\n"
              "       p50 %s ms   p99 %s ms\n",
              unpaired.text("%.0f").c_str(), lat50.text("%.3f").c_str(), lat99.text("%.3f").c_str(),
              fwd50.text("%.3f").c_str(), fwd99.text("%.3f").c_str());
  std::printf("  2. status, 200 calls each a round, p50:\n"
              "       direct GET /containers/{id}/json   %s ms\n"
              "       berth REQ status                   %s ms\n"
              "       ratio berth/direct                 %s   (goal <= 1.5)\n"
              "       berth REQ ping (no plugin, no engine) %s ms: the round trip every call pays\n",
              st_direct.text("%.3f").c_str(), st_berth.text("%.3f").c_str(), st_ratio.text().c_str(),
              st_ping.text("%.3f").c_str());
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
