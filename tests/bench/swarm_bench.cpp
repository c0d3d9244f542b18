// Benchmark, not a test: a Swarm service scaled 0 → 1 through berth
// (swarm.so), from the `start` request to its reply and to the `started`
// event on the SUB socket; beside it the engine's own time for the same
// scale done directly on the Engine API (update, then poll the service's
// running tasks every 10 ms). Rounds interleaved after a warm-up; median
// and range. Needs the private swarm (tests/swarm/swarmd.sh). Asserts nothing.
//
//   swarm_bench [--rounds R]      (default 5)
#include "bench_util.hpp"
#include "berthd_process.hpp"
#include "docker_env.hpp"
#include "http_client.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::bench;
using namespace berth::docker_test;
using namespace std::chrono_literals;

const std::string kHost = "unix:///tmp/berth-test-swarm/docker.sock";

// The service's running tasks and its spec at its version, directly.
struct Service {
  int64_t running = 0, version = 0;
  std::string spec;
};

Service read(berth::http::Client& api, const std::string& id) {
  auto r = api.call({"GET", "/v1.41/services?status=true&filters=" +
                                berth::http::url_encode(R"({"id":[")" + id + R"("]})")},
                    {Clock::now() + 10s, {}});
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  Service s;
  if (!d.IsArray() || d.Empty()) return s;
  auto& x = d[0];
  s.running = x["ServiceStatus"]["RunningTasks"].GetInt64();
  s.version = x["Version"]["Index"].GetInt64();
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  x["Spec"].Accept(w);
  s.spec = b.GetString();
  return s;
}

// Scales directly and waits for the swarm to converge: the engine's own time.
double direct_scale(berth::http::Client& api, const std::string& id, int replicas) {
  const auto t0 = Clock::now();
  auto s = read(api, id);
  rapidjson::Document spec;
  spec.Parse(s.spec.c_str());
  spec["Mode"]["Replicated"]["Replicas"].SetInt64(replicas);
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  spec.Accept(w);
  api.call({"POST", fmt::format("/v1.41/services/{}/update?version={}", id, s.version), b.GetString(),
            "application/json"},
           {Clock::now() + 10s, {}});
  while (read(api, id).running != replicas) std::this_thread::sleep_for(10ms);
  return ms_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
  int status = 0;
  if (docker_at(kHost, "info --format '{{.Swarm.LocalNodeState}}'", &status) != "active") {
    std::printf("\nswarm benchmark: no single-node swarm at %s (tests/swarm/swarmd.sh start)\n", kHost.c_str());
    return 0;
  }
  const std::string name = fmt::format("berth-swarm-bench-{}", getpid());
  docker_at(kHost, fmt::format("service create --no-resolve-image --detach --name {} --replicas 0 {} {}", name, kImage,
                               kIdleCommand));
  const std::string id = docker_at(kHost, "service inspect -f '{{.ID}}' " + name);
  std::string err;
  berth::http::Client api(*berth::http::Endpoint::parse(kHost, {}, err));
  BerthdProcess daemon(fmt::format(
      R"({{"heartbeat_ms": 1000, "log_level": "warn", "providers": [{{"name": "sw", "plugin": "{}",
          "config": {{"host": "{}"}}}}]}})", plugin_path("swarm"), kHost));
  if (!daemon.ready()) return 1;
  zmq::context_t zmq;
  Subscriber sub(zmq, daemon.events_endpoint(), "container/sw/");
  Client client(zmq, daemon.commands_endpoint(), 60s);
  std::this_thread::sleep_for(1s);  // the provider's first list (a benchmark may wait)

  Spread reply, event, engine;
  for (int round = -1; round < rounds; ++round) {
    auto through_berth = [&] {
      const auto t0 = Clock::now();
      auto r = client.call(fmt::format(R"({{"op":"start","container":"{}"}})", id));
      const double replied = ms_since(t0);
      std::optional<Message> m;
      while ((m = sub.next(30s)) && std::string(m->body["type"].GetString()) != "started") {
      }
      const double started = ms_since(t0);
      client.call(fmt::format(R"({{"op":"stop","container":"{}"}})", id));
      while ((m = sub.next(30s)) && std::string(m->body["type"].GetString()) != "exited") {
      }
      if (round >= 0 && r["ok"].GetBool()) reply.add(replied), event.add(started);
    };
    auto directly = [&] {
      const double took = direct_scale(api, id, 1);
      direct_scale(api, id, 0);
      if (round >= 0) engine.add(took);
    };
    if (round % 2 == 0) through_berth(), directly();
    else directly(), through_berth();
  }
  docker_at(kHost, "service rm " + name);
  std::printf("\nswarm benchmark: a service scaled 0 -> 1, %d rounds after a warm-up, interleaved; median (min–max) ms\n",
              rounds);
  std::printf("  berth start -> reply (converged)   %s\n", reply.text("%.0f").c_str());
  std::printf("  berth start -> `started` on SUB    %s\n", event.text("%.0f").c_str());
  std::printf("  engine alone: update -> converged  %s   (polled every 10 ms)\n", engine.text("%.0f").c_str());
  return 0;
}
