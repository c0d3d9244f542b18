// Benchmark, not a test: what berthd costs to keep running. Idle RSS and
// threads with docker.so, proxmox.so and sim.so loaded; with 10 000 sim
// containers: start-up to ready (first list in), RSS, and a `list` (asks the
// plugin) and `snapshot` (berthd's view) through the command socket, beside
// the same list done in-process on the plugin directly (the ceiling: what
// the socket, the scheduler and the JSON add). Prints; asserts nothing.
//
//   footprint_bench [--containers N] [--rounds R]     (default 10000, 5)
#include "bench_util.hpp"
#include "berthd_process.hpp"
#include "plugin/plugin.hpp"
#include "plugin/provider.hpp"

#include <fmt/format.h>

#include <cstring>
#include <dirent.h>
#include <fstream>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::bench;
using namespace std::chrono_literals;

uint64_t status_field(int pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::strtoull(line.c_str() + std::strlen(field), nullptr, 10);
  return 0;
}
double rss_mib(int pid) { return status_field(pid, "VmRSS:") / 1024.0; }

bool synced(Client& c, size_t providers) {
  auto r = c.call(R"({"op":"providers"})");
  if (!r.IsObject() || !r["ok"].GetBool() || r["result"].Size() != providers) return false;
  for (const auto& p : r["result"].GetArray())
    if (!p["synced"].GetBool() && p["up"].GetBool()) return false;
  return true;
}

// RSS in two parts (/proc/PID/status): anonymous — heap, stacks, queues,
// what berthd itself holds — and file-backed — the code and read-only data
// of berthd, its plugins and the libraries they use, touched pages only.
double anon_mib(int pid) { return status_field(pid, "RssAnon:") / 1024.0; }
double file_mib(int pid) { return status_field(pid, "RssFile:") / 1024.0; }

// Idle footprint of a config, three daemons in turn: median (min–max).
void idle(zmq::context_t& zmq, const char* what, const std::string& config, size_t providers) {
  Spread rss, anon, file, threads;
  for (int i = 0; i < 3; ++i) {
    BerthdProcess d(config);
    if (!d.ready()) {
      std::fprintf(stderr, "%s\n", d.output().c_str());
      return;
    }
    Client c(zmq, d.commands_endpoint());
    for (int k = 0; k < 200 && !synced(c, providers); ++k) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(2s);  // settled: no start-up work left
    rss.add(rss_mib(d.pid())), anon.add(anon_mib(d.pid())), file.add(file_mib(d.pid()));
    threads.add(static_cast<double>(status_field(d.pid(), "Threads:")));
  }
  std::printf("  idle, %-38s RSS %s MiB (anonymous %s, file-backed %s), %s threads   (goal <= 10 MiB)\n",
              what, rss.text("%.1f").c_str(), anon.text("%.1f").c_str(), file.text("%.1f").c_str(),
              threads.text("%.0f").c_str());
}

std::string sim_config(int n) {
  return fmt::format(R"({{"containers": [{{"id": "bulk", "name": "bulk", "state": "running", "copies": {},
      "labels": {{"com.docker.compose.project": "bench", "proxy.aliases": "bulk"}}}}]}})", n);
}

class Ignore : public berth::ProviderListener {
  bool on_event(berth::Provider&, berth::Event) override { return true; }
  void on_state(berth::Provider&, berth_provider_state, const std::string&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  int n = 10000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--containers")) n = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  zmq::context_t zmq;
  std::printf("\nfootprint benchmark\n");
  // The default config: every plugin in the plugin directory (docker.so on
  // a socket nobody serves here: down and retried; proxmox.so skipped, it
  // has no URL; sim.so's demo); then all three instantiated, proxmox.so with
  // TLS towards an address that refuses (polled).
  idle(zmq, "default config", R"({"log_level": "warn"})", 2);
  idle(zmq, "docker + proxmox (TLS) + sim instances",
       fmt::format(R"({{"log_level": "warn", "providers": [
          {{"name": "docker", "plugin": "{}", "config": {{"host": "unix:///tmp/berth-bench-no-docker.sock"}}}},
          {{"name": "pve", "plugin": "{}", "poll_interval_ms": 5000,
            "config": {{"url": "https://127.0.0.1:1", "token_id": "b@pve!t", "token_secret_env": "PATH"}}}},
          {{"name": "sim", "plugin": "{}"}}]}})",
                   plugin_path("docker"), plugin_path("proxmox"), plugin_path("sim")),
       3);
  Spread startup, rss, list_ms, snapshot_ms, direct_ms;
  for (int round = -1; round < rounds; ++round) {
    const auto t0 = Clock::now();
    BerthdProcess d(fmt::format(R"({{"log_level": "warn", "providers": [{{"name": "sim", "plugin": "{}", "config": {}}}]}})",
                                plugin_path("sim"), sim_config(n)));
    if (!d.ready()) return std::fprintf(stderr, "%s\n", d.output().c_str()), 1;
    Client c(zmq, d.commands_endpoint(), 60s);
    while (!synced(c, 1)) std::this_thread::sleep_for(1ms);
    const double up = ms_since(t0);
    std::this_thread::sleep_for(500ms);
    const double mib = rss_mib(d.pid());
    // The ceiling first on every other round, so neither side always runs warm.
    auto in_process = [&] {
      auto plugin = berth::Plugin::load(plugin_path("sim"));
      Ignore quiet;
      auto p = berth::Provider::create(*plugin, "direct", sim_config(n), quiet);
      const auto t = Clock::now();
      auto direct = (*p)->list(berth::CallOptions::within(60s));
      return ms_since(t);
    };
    double direct_list = round % 2 == 0 ? in_process() : 0;
    auto t1 = Clock::now();  // after the ceiling: a list's time is its own
    auto l = c.call(R"({"op":"list"})");
    const double listed = ms_since(t1);
    t1 = Clock::now();
    auto s = c.call(R"({"op":"snapshot"})");
    const double snap = ms_since(t1);
    if (l["result"]["containers"].Size() != static_cast<size_t>(n)) std::fprintf(stderr, "list is short\n");
    // The ceiling: the same list, in this process, straight from the plugin.
    if (round % 2 != 0) direct_list = in_process();
    if (round < 0) continue;
    startup.add(up);
    rss.add(mib);
    list_ms.add(listed);
    snapshot_ms.add(snap);
    direct_ms.add(direct_list);
  }
  std::printf("  %d containers, %d rounds after a warm-up; median (min–max)\n", n, rounds);
  std::printf("    start-up to ready (first list in)  %s ms   (goal <= 100 ms)\n", startup.text("%.0f").c_str());
  std::printf("    RSS                                %s MiB   (goal <= 40 MiB)\n", rss.text("%.1f").c_str());
  std::printf("    list through berthd                %s ms\n", list_ms.text("%.1f").c_str());
  std::printf("    snapshot (berthd's own view)       %s ms\n", snapshot_ms.text("%.1f").c_str());
  std::printf("    the same list in-process (ceiling) %s ms\n", direct_ms.text("%.1f").c_str());
  return 0;
}
