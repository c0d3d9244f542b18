// Benchmark, not a test: what berth-relay costs. sim.so emitting as fast as
// it can → berthd → SUB, directly and through berth-relay (libzmq's
// zmq_proxy), interleaved over several rounds after a warm-up; median and
// range of each rate and of the ratio. The relay's own ceiling beside it:
// raw libzmq PUB→SUB against the same PUB through a bare zmq_proxy in the
// same process layout. Asserts nothing.
//
//   relay_bench [--events N] [--rounds R]      (default 200000, 5)
#include "background.hpp"
#include "bench_util.hpp"
#include "berthd_process.hpp"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <sys/wait.h>
#include <thread>

namespace {

using namespace berth::testing;
using namespace berth::bench;
using namespace std::chrono_literals;

constexpr int kHwm = 1000000;

struct Figures {
  uint64_t received = 0, gaps = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? received / seconds : 0; }
};

// `count` two-frame messages (or until 5 s of silence); the seq is berth's
// "seq" field, or the raw side's first 8 bytes.
Figures receive(zmq::socket_t& sub, uint64_t count, bool json) {
  Figures f;
  uint64_t first_seq = 0, last_seq = 0;
  Clock::time_point first{}, last{};
  zmq::message_t topic, body;
  while (f.received < count) {
    if (!sub.recv(topic) || !sub.recv(body)) break;
    last = Clock::now();
    if (json) {
      std::string_view v(static_cast<const char*>(body.data()), body.size());
      auto at = v.find("\"seq\":");
      last_seq = at == v.npos ? 0 : std::strtoull(v.data() + at + 6, nullptr, 10);
    } else {
      std::memcpy(&last_seq, body.data(), std::min<size_t>(8, body.size()));
    }
    if (f.received++ == 0) first = last, first_seq = last_seq;
  }
  f.seconds = std::chrono::duration<double>(last - first).count();
  f.gaps = f.received ? (last_seq - first_seq + 1) - f.received : 0;
  return f;
}

zmq::socket_t subscriber(zmq::context_t& zmq, const std::string& endpoint, const char* prefix) {
  zmq::socket_t sub(zmq, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, kHwm);
  sub.set(zmq::sockopt::subscribe, prefix);
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  for (int i = 0; i < 200; ++i) {
    try {
      sub.connect(endpoint);
      break;
    } catch (const zmq::error_t&) {
      std::this_thread::sleep_for(10ms);
    }
  }
  return sub;
}

// berthd with a sim generator, read directly or through a relay.
Figures berth_events(zmq::context_t& zmq, uint64_t count, bool relayed, const std::string& dir) {
  const std::string config = fmt::format(
      R"({{"heartbeat_ms": 1000, "pub_hwm": {}, "log_level": "warn", "providers": [
        {{"name": "sim", "plugin": "{}", "config": {{"containers": [],
          "generator": {{"rate": 0, "count": {}, "containers": 16, "delay_ms": 1500}}}}}}]}})",
      kHwm, plugin_path("sim"), count);
  BerthdProcess daemon(config);
  if (!daemon.ready()) return {};
  std::unique_ptr<Background> relay;
  std::string endpoint = daemon.events_endpoint();
  if (relayed) {
    endpoint = fmt::format("ipc://{}/relay.sock", dir);
    relay = std::make_unique<Background>(fmt::format("{} --listen {} --upstream {} --hwm {} --log-level warn",
                                                     BERTH_BENCH_RELAY, endpoint, daemon.events_endpoint(), kHwm));
    if (!relay->wait_for("ready", 5s)) return {};
  }
  auto sub = subscriber(zmq, endpoint, "container/");
  return receive(sub, count, true);
}

// A raw PUB in a child process, sending as fast as the path takes it
// (XPUB_NODROP), directly to the SUB or through a bare zmq_proxy.
Figures raw(zmq::context_t& zmq, uint64_t count, bool proxied, const std::string& dir) {
  static int n = 0;
  const std::string pub_at = fmt::format("ipc://{}/raw-{}.sock", dir, n++);
  const std::string sub_at = proxied ? fmt::format("ipc://{}/proxy-{}.sock", dir, n++) : pub_at;
  const pid_t child = fork();
  if (child == 0) {
    zmq::context_t own;
    zmq::socket_t pub(own, zmq::socket_type::xpub);
    pub.set(zmq::sockopt::sndhwm, 10000);
    pub.set(zmq::sockopt::xpub_nodrop, 1);
    pub.set(zmq::sockopt::linger, 10000);
    pub.bind(pub_at);
    zmq::message_t subscription;
    (void)pub.recv(subscription);
    const std::string topic(21, 't');
    std::string body(330, 'b');
    for (uint64_t i = 0; i < count; ++i) {
      std::memcpy(body.data(), &i, sizeof i);
      pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      pub.send(zmq::buffer(body), zmq::send_flags::none);
    }
    pub.close();
    _exit(0);
  }
  std::unique_ptr<Background> proxy;
  if (proxied) {
    proxy = std::make_unique<Background>(fmt::format("{} --listen {} --upstream {} --hwm {} --log-level warn",
                                                     BERTH_BENCH_RELAY, sub_at, pub_at, kHwm));
    proxy->wait_for("ready", 5s);
  }
  auto sub = subscriber(zmq, sub_at, "");
  Figures f = receive(sub, count, false);
  waitpid(child, nullptr, 0);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t count = 200000;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--events")) count = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  char dir[] = "/tmp/berth-relay-bench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  zmq::context_t zmq;
  std::printf("\nberth-relay benchmark (ipc): %llu events per round, %d rounds after a warm-up, direct and\n"
              "relayed interleaved; median (min–max)\n",
              static_cast<unsigned long long>(count), rounds);
  Spread direct, relayed, ratio, raw_direct, raw_proxied, raw_ratio;
  uint64_t gaps = 0;
  for (int round = -1; round < rounds; ++round) {
    Figures d, r, rd, rp;
    if (round % 2 == 0) {
      d = berth_events(zmq, count, false, dir), r = berth_events(zmq, count, true, dir);
      rd = raw(zmq, count, false, dir), rp = raw(zmq, count, true, dir);
    } else {
      r = berth_events(zmq, count, true, dir), d = berth_events(zmq, count, false, dir);
      rp = raw(zmq, count, true, dir), rd = raw(zmq, count, false, dir);
    }
    if (round < 0 || d.received == 0 || r.received == 0) continue;
    direct.add(d.rate());
    relayed.add(r.rate());
    ratio.add(r.rate() / d.rate());
    raw_direct.add(rd.rate());
    raw_proxied.add(rp.rate());
    raw_ratio.add(rp.rate() / rd.rate());
    gaps += d.gaps + r.gaps;
  }
  std::printf("  sim -> berthd -> SUB           %s events/s\n", direct.text("%.0f").c_str());
  std::printf("  sim -> berthd -> relay -> SUB  %s events/s (%llu gaps in all)\n", relayed.text("%.0f").c_str(),
              static_cast<unsigned long long>(gaps));
  std::printf("  ratio relayed/direct           %s\n", ratio.text().c_str());
  std::printf("  raw PUB -> SUB                 %s msg/s\n", raw_direct.text("%.0f").c_str());
  std::printf("  raw PUB -> zmq_proxy -> SUB    %s msg/s\n", raw_proxied.text("%.0f").c_str());
  std::printf("  ratio proxied/direct (raw)     %s\n", raw_ratio.text().c_str());
  std::filesystem::remove_all(dir);
  return 0;
}
