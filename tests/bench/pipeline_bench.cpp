// Benchmark, not a test: sim.so emitting as fast as it can → berthd → SUB,
// beside its ceiling: raw libzmq PUB→SUB with the same message size and
// transport, the PUB in a process of its own as berthd's is. Measured over
// several rounds, raw and berth interleaved (the order alternating), after
// a warm-up round of each; prints the median and the range of each figure
// and of the ratio. Asserts nothing.
//
//   pipeline_bench [--events N] [--rounds R]      (default 200000, 5)
#include "bench_util.hpp"
#include "berthd_process.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace berth::testing;
using namespace berth::bench;
using namespace std::chrono_literals;

// berthd's high-water mark: above the count, so a subscriber that keeps up
// sees no gap; the raw side's: enough for full batches, small enough to stay
// in cache.
constexpr int kHwm = 1000000;
constexpr int kRawHwm = 10000;

struct Figures {
  uint64_t received = 0;
  uint64_t gaps = 0;  // messages missing between the first and the last
  double seconds = 0;
  size_t bytes = 0;   // topic + body of one message
  double rate() const { return seconds > 0 ? received / seconds : 0; }
};

// Receives `count` two-frame messages (or until 5 s of silence); reads only
// the sequence number (berth's "seq", or the raw side's first 8 bytes).
Figures receive(zmq::socket_t& sub, uint64_t count, bool json) {
  auto seq_of = [json](const zmq::message_t& body) -> uint64_t {
    if (!json) {
      uint64_t s = 0;
      std::memcpy(&s, body.data(), std::min<size_t>(8, body.size()));
      return s;
    }
    std::string_view v(static_cast<const char*>(body.data()), body.size());
    auto at = v.find("\"seq\":");
    return at == v.npos ? 0 : std::strtoull(v.data() + at + 6, nullptr, 10);
  };
  Figures f;
  uint64_t first_seq = 0, last_seq = 0;
  Clock::time_point first{}, last{};
  zmq::message_t topic, body;
  while (f.received < count) {
    if (!sub.recv(topic) || !sub.recv(body)) break;
    last = Clock::now();
    last_seq = seq_of(body);
    if (f.received++ == 0) {
      first = last;
      first_seq = last_seq;
      f.bytes = topic.size() + body.size();
    }
  }
  f.seconds = std::chrono::duration<double>(last - first).count();
  f.gaps = f.received ? (last_seq - first_seq + 1) - f.received : 0;
  return f;
}

// The ceiling: a child process binds an XPUB (a PUB that also tells when a
// subscriber arrived), waits for the subscription, and sends `count`
// messages of the given sizes as fast as the subscriber takes them: with
// XPUB_NODROP and a moderate high-water mark the sender waits for room
// instead of piling 200 000 messages into memory (a cold, ballooned queue
// measured slower than berthd on top of it: not a ceiling).
Figures raw_pub_sub(zmq::context_t& zmq, const std::string& endpoint, uint64_t count, size_t topic_size,
                    size_t body_size) {
  const pid_t child = fork();
  if (child == 0) {
    zmq::context_t own;
    zmq::socket_t pub(own, zmq::socket_type::xpub);
    pub.set(zmq::sockopt::sndhwm, kRawHwm);
    pub.set(zmq::sockopt::xpub_nodrop, 1);
    pub.set(zmq::sockopt::linger, 10000);
    pub.bind(endpoint);
    zmq::message_t subscription;
    (void)pub.recv(subscription);
    const std::string topic(topic_size, 't');
    std::string body(body_size, 'b');
    for (uint64_t i = 0; i < count; ++i) {
      std::memcpy(body.data(), &i, sizeof i);  // like a sequence number
      pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      pub.send(zmq::buffer(body), zmq::send_flags::none);
    }
    pub.close();
    _exit(0);
  }
  zmq::socket_t sub(zmq, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, kRawHwm);
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  sub.set(zmq::sockopt::subscribe, "");
  for (int i = 0; i < 200; ++i) {  // the child binds, then we connect
    try {
      sub.connect(endpoint);
      break;
    } catch (const zmq::error_t&) {
      std::this_thread::sleep_for(10ms);
    }
  }
  Figures f = receive(sub, count, false);
  waitpid(child, nullptr, 0);
  return f;
}

Figures through_berthd(zmq::context_t& zmq, uint64_t count, const std::string& transport) {
  static int port = 23950;
  std::string endpoints;
  if (transport == "tcp") endpoints = fmt::format(R"("events_endpoint": "tcp://127.0.0.1:{}", "insecure": true,)", port++);
  const std::string config = fmt::format(
      R"({{{} "heartbeat_ms": 1000, "pub_hwm": {}, "log_level": "warn", "providers": [
        {{"name": "sim", "plugin": "{}", "config": {{"containers": [],
          "generator": {{"rate": 0, "count": {}, "containers": 16, "delay_ms": 1000}}}}}}]}})",
      endpoints, kHwm, plugin_path("sim"), count);
  BerthdProcess daemon(config);
  if (!daemon.ready()) {
    std::fprintf(stderr, "berthd did not start:\n%s\n", daemon.output().c_str());
    return {};
  }
  zmq::socket_t sub(zmq, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, kHwm);
  sub.set(zmq::sockopt::subscribe, "container/");
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  sub.connect(daemon.events_endpoint());
  return receive(sub, count, true);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t count = 200000;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--events")) count = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  zmq::context_t zmq;
  std::printf("berth pipeline benchmark: %llu events per round, 1 subscriber, %d rounds after a warm-up,\n"
              "raw and berth interleaved; median (min–max)\n",
              static_cast<unsigned long long>(count), rounds);
  char dir[] = "/tmp/berth-bench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  const size_t topic = std::string("container/sim/started").size();
  int tcp_port = 23900;
  for (const std::string transport : {"ipc", "tcp"}) {
    Spread raw_rate, berth_rate, ratio;
    size_t bytes = 0;
    uint64_t gaps = 0;
    auto raw_endpoint = [&] {
      return transport == "ipc" ? fmt::format("ipc://{}/raw.sock", dir) : fmt::format("tcp://127.0.0.1:{}", tcp_port++);
    };
    for (int round = -1; round < rounds; ++round) {  // round -1: warm-up
      Figures b, r;
      auto measure_berth = [&] { b = through_berthd(zmq, count, transport); };
      auto measure_raw = [&] {
        r = raw_pub_sub(zmq, raw_endpoint(), count, topic, (bytes ? bytes : 330) - topic);
      };
      if (round % 2 == 0) measure_raw(), measure_berth();
      else measure_berth(), measure_raw();
      if (b.received == 0) return 1;
      bytes = b.bytes;
      if (round < 0) continue;
      raw_rate.add(r.rate());
      berth_rate.add(b.rate());
      ratio.add(b.rate() / r.rate());
      gaps += b.gaps;
    }
    std::printf("\n%s, %zu-byte messages:\n", transport.c_str(), bytes);
    std::printf("  raw libzmq PUB->SUB   %s msg/s\n", raw_rate.text("%.0f").c_str());
    std::printf("  sim -> berthd -> SUB  %s events/s (%llu gaps)\n", berth_rate.text("%.0f").c_str(),
                static_cast<unsigned long long>(gaps));
    std::printf("  ratio berth/raw       %s   (goal >= 0.90)\n", ratio.text().c_str());
  }
  std::filesystem::remove_all(dir);
  return 0;
}
