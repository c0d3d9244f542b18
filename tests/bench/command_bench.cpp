// Benchmark, not a test: the command engine under the load that used to
// break it. 200 containers whose stop takes its whole 10 s timeout are in
// flight at once; meanwhile `status`, `inspect` and `start` of other
// containers are timed, beside the same calls on the idle daemon in the same
// run (sim.so, then the private dockerd, where the direct Engine API call is
// the ceiling). Prints p50/p99 and the loaded/idle ratio; asserts nothing.
//
//   command_bench [--sim-only] [--rounds N]
#include "bench_util.hpp"
#include "berthd_process.hpp"
#include "docker_env.hpp"
#include "http_client.hpp"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::bench;
using namespace std::chrono_literals;

constexpr int kStuck = 200;   // stops in flight at once
constexpr int kSamples = 100; // of each op, idle and loaded

struct OpFigures {
  Samples idle, loaded;
};
using Table = std::map<std::string, std::vector<OpFigures>>;  // op → per round

// One measured phase: reads (status, inspect of `probe`) on one client,
// starts of stopped containers (named by `stopped(i)`) on kStartLanes
// clients at once, until kSamples of each or `until` (a loaded phase lasts
// only as long as the stops do). `direct`, when given, is the ceiling: the
// same call straight to the engine, interleaved with berth's (op, index).
constexpr int kStartLanes = 4;
struct Phase {
  std::map<std::string, Samples> berth, direct;
};
using DirectCall = std::function<void(const std::string& op, int i)>;

void measure(zmq::context_t& zmq, const std::string& endpoint, const std::string& provider,
             const std::string& probe, const std::function<std::string(int)>& stopped, Phase& out,
             Clock::time_point until = Clock::time_point::max(), const DirectCall& direct = {}) {
  std::mutex m;
  auto add = [&](std::map<std::string, Samples>& to, const std::string& op, double ms) {
    std::lock_guard lock(m);
    to[op].add(ms);
  };
  auto timed = [&](Client& c, const std::string& op, const std::string& container) {
    const auto t0 = Clock::now();
    auto r = c.call(fmt::format(R"({{"op":"{}","provider":"{}","container":"{}"}})", op, provider, container));
    add(out.berth, op, ms_since(t0));
    if (!r.IsObject() || !r["ok"].GetBool()) std::fprintf(stderr, "  %s %s failed\n", op.c_str(), container.c_str());
  };
  auto timed_direct = [&](const std::string& op, int i) {
    if (!direct) return;
    const auto t0 = Clock::now();
    direct(op, i);
    add(out.direct, op, ms_since(t0));
  };
  std::vector<std::thread> lanes;
  lanes.emplace_back([&] {
    Client c(zmq, endpoint, 60s);
    for (int i = 0; i < kSamples && Clock::now() < until; ++i) {
      timed(c, "status", probe);
      timed(c, "inspect", probe);
      timed_direct("inspect", i);
    }
  });
  for (int lane = 0; lane < kStartLanes; ++lane)
    lanes.emplace_back([&, lane] {
      Client c(zmq, endpoint, 60s);
      for (int i = lane; i < kSamples && Clock::now() < until; i += kStartLanes) {
        timed(c, "start", stopped(i));
        timed_direct("start", i);
      }
    });
  for (auto& t : lanes) t.join();
}

// Sends kStuck stops and waits until all are inside the plugin.
bool load_up(zmq::context_t& zmq, BerthdProcess& d, Dealer& dealer, const std::string& provider,
             const std::function<std::string(int)>& slow) {
  for (int i = 0; i < kStuck; ++i)
    dealer.send(fmt::format(R"({{"id":{},"op":"stop","provider":"{}","container":"{}","timeout":10}})", i, provider,
                            slow(i)));
  Client c(zmq, d.commands_endpoint());
  for (int i = 0; i < 500; ++i) {
    auto p = c.call(R"({"op":"providers"})");
    for (const auto& x : p["result"].GetArray())
      if (provider == x["name"].GetString() && x["calls"]["running"].GetUint() >= kStuck) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void drain(Dealer& dealer) {
  for (int i = 0; i < kStuck; ++i)
    if (!dealer.next(30s).IsObject()) break;
}

void print(const char* title, const std::map<std::string, Spread[4]>& rows, const std::string& ceiling = {}) {
  std::printf("\n%s\n", title);
  std::printf("  %-8s %-22s %-22s %-22s %-22s %-14s\n", "op", "idle p50 ms", "idle p99 ms", "loaded p50 ms",
              "loaded p99 ms", "p99 loaded/idle");
  for (const auto& [op, s] : rows) {
    Spread ratio;
    for (size_t r = 0; r < s[1].rounds.size(); ++r) ratio.add(s[3].rounds[r] / s[1].rounds[r]);
    std::printf("  %-8s %-22s %-22s %-22s %-22s %-14s\n", op.c_str(), s[0].text("%.3f").c_str(),
                s[1].text("%.3f").c_str(), s[2].text("%.3f").c_str(), s[3].text("%.3f").c_str(),
                ratio.text().c_str());
  }
  if (!ceiling.empty()) std::printf("%s\n", ceiling.c_str());
}

void record(std::map<std::string, Spread[4]>& rows, std::map<std::string, Samples>& idle,
            std::map<std::string, Samples>& loaded) {
  for (auto& [op, s] : idle) {
    rows[op][0].add(s.p50());
    rows[op][1].add(s.p99());
    rows[op][2].add(loaded[op].p50());
    rows[op][3].add(loaded[op].p99());
  }
}

void sim_bench(int rounds) {
  std::string containers;
  for (int i = 0; i < kStuck; ++i)
    containers += fmt::format(R"({{"id":"s{}","name":"slow-{}","state":"running","stop_behaviour":"ignores_sigterm"}},)", i, i);
  for (int i = 0; i < 2 * kSamples * rounds; ++i)
    containers += fmt::format(R"({{"id":"o{}","name":"other-{}","state":"stopped"}},)", i, i);
  containers += R"({"id":"p0","name":"probe","state":"running"})";
  zmq::context_t zmq;
  std::map<std::string, Spread[4]> rows;
  for (int round = 0; round < rounds; ++round) {
    // A fresh daemon per round: the slow containers are stopped by the end.
    BerthdProcess d(fmt::format(R"({{"log_level":"warn","providers":[{{"name":"sim","plugin":"{}",
        "config":{{"containers":[{}]}}}}]}})", plugin_path("sim"), containers));
    if (!d.ready()) return (void)std::fprintf(stderr, "berthd did not start:\n%s\n", d.output().c_str());
    Phase warm, idle, loaded;
    const std::string ep = d.commands_endpoint();
    measure(zmq, ep, "sim", "probe", [&](int i) { return fmt::format("other-{}", 2 * kSamples * round + i); }, warm);
    // The warm-up started other-0..: idle starts are of running ones (cheap),
    // loaded ones of fresh stopped ones.
    measure(zmq, ep, "sim", "probe", [&](int i) { return fmt::format("other-{}", 2 * kSamples * round + i); }, idle);
    Dealer dealer(zmq, d.commands_endpoint());
    if (!load_up(zmq, d, dealer, "sim", [](int i) { return fmt::format("slow-{}", i); }))
      std::fprintf(stderr, "  the stops never were all in flight\n");
    measure(zmq, ep, "sim", "probe",
            [&](int i) { return fmt::format("other-{}", 2 * kSamples * round + kSamples + i); }, loaded,
            Clock::now() + 8s);
    record(rows, idle.berth, loaded.berth);
    drain(dealer);
  }
  print(fmt::format("sim.so, {} stops of 10 s in flight (median (min–max) of {} rounds, {} calls each):", kStuck,
                    rounds, kSamples).c_str(), rows);
}

void docker_bench() {
  using namespace berth::docker_test;
  if (auto why = engine_unreachable(); !why.empty())
    return (void)std::fprintf(stderr, "\ndocker part skipped: %s\n", why.c_str());
  const std::string tag = fmt::format("bb{}", getpid());
  auto parallel = [&](const std::string& args_fmt, int n) {
    // The CLI in 8 parallel lanes: 200 one by one take minutes.
    std::string seq;
    for (int i = 0; i < n; ++i) seq += std::to_string(i) + "\n";
    std::string cmd = fmt::format("printf '{}' | xargs -P 8 -I N docker -H {} {} >/dev/null 2>&1", seq,
                                  docker_host(), args_fmt);
    return std::system(cmd.c_str());
  };
  std::printf("\n(docker: making %d running containers that ignore SIGTERM and %d stopped ones...)\n", kStuck,
              4 * kSamples);
  std::fflush(stdout);
  // PID 1 without a handler ignores SIGTERM: each stop waits out its timeout.
  parallel(fmt::format("run -d --network none --name {}-slow-N {} sleep 1000", tag, kImage), kStuck);
  parallel(fmt::format("create --network none --name {}-other-N {} {}", tag, kImage, kIdleCommand), 4 * kSamples);
  docker(fmt::format("run -d --network none --name {}-probe {} {}", tag, kImage, kIdleCommand));
  zmq::context_t zmq;
  {
    BerthdProcess d(fmt::format(R"({{"log_level":"warn","providers":[{{"name":"dk","plugin":"{}",
        "config":{{"host":"{}"}}}}]}})", plugin_path("docker"), docker_host()));
    if (!d.ready()) return (void)std::fprintf(stderr, "berthd did not start:\n%s\n", d.output().c_str());
    std::string err;
    berth::http::Client direct(*berth::http::Endpoint::parse(docker_host(), {}, err));
    const std::string api = "/v" + docker("version --format '{{.Server.APIVersion}}'");
    // The ceiling, interleaved with berth's calls: the same calls straight
    // to the Engine API on a kept-alive socket, on other stopped containers.
    auto direct_calls = [&](int other) -> DirectCall {
      return [&, other](const std::string& op, int i) {
        if (op == "inspect") direct.call({"GET", api + "/containers/" + tag + "-probe/json"}, {Clock::now() + 30s, {}});
        else direct.call({"POST", fmt::format("{}/containers/{}-other-{}/start", api, tag, other + i)}, {Clock::now() + 30s, {}});
      };
    };
    const std::string ep = d.commands_endpoint();
    Phase warm, idle, loaded;
    measure(zmq, ep, "dk", tag + "-probe", [&](int) { return tag + "-probe"; }, warm);
    measure(zmq, ep, "dk", tag + "-probe", [&](int i) { return fmt::format("{}-other-{}", tag, i); }, idle,
            Clock::time_point::max(), direct_calls(kSamples));
    Dealer dealer(zmq, d.commands_endpoint());
    if (!load_up(zmq, d, dealer, "dk", [&](int i) { return fmt::format("{}-slow-{}", tag, i); }))
      std::fprintf(stderr, "  the stops never were all in flight\n");
    // The stops end 10 s after they began: measure inside that window.
    measure(zmq, ep, "dk", tag + "-probe", [&](int i) { return fmt::format("{}-other-{}", tag, 2 * kSamples + i); },
            loaded, Clock::now() + 8s, direct_calls(3 * kSamples));
    std::map<std::string, Spread[4]> rows;
    record(rows, idle.berth, loaded.berth);
    print(fmt::format("docker.so on dockerd {} ({} stops of 10 s in flight; loaded: {} reads, {} starts in {} lanes, "
                      "interleaved with direct calls):",
                      docker("version --format '{{.Server.Version}}'"), kStuck, loaded.berth["status"].size(),
                      loaded.berth["start"].size(), kStartLanes).c_str(), rows);
    std::printf("  ceiling, the same call straight to the Engine API, interleaved:\n");
    for (const char* op : {"inspect", "start"})
      std::printf("  %-8s idle p50 %.3f p99 %.3f ms; loaded p50 %.3f p99 %.3f ms (n=%zu)\n", op,
                  idle.direct[op].p50(), idle.direct[op].p99(), loaded.direct[op].p50(), loaded.direct[op].p99(),
                  loaded.direct[op].size());
    drain(dealer);
  }
  docker(fmt::format("ps -aq --filter name={}- | xargs -r -P 8 -n 20 docker -H {} rm -f >/dev/null 2>&1", tag,
                     docker_host()));
}

}  // namespace

int main(int argc, char** argv) {
  bool sim_only = false;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--sim-only")) sim_only = true;
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
  }
  std::printf("berth command engine benchmark: loaded = %d stops that take their whole 10 s timeout\n", kStuck);
  sim_bench(rounds);
  if (!sim_only) docker_bench();
  return 0;
}
