// Benchmark, not a test: sim.so emitting as fast as it can → berthd → SUB,
// beside its ceiling: raw libzmq PUB→SUB with the same message size and
// transport, the PUB in a process of its own as berthd's is. Measured over
// several rounds, raw and berth interleaved (the order alternating), after
// a warm-up round of each; prints the median and the range of each figure
// and of the ratio. Beside the rates, the CPU each side spends per message,
// and berthd's by thread: the pipeline and ZeroMQ's I/O thread each on a
// core of their own bound what berthd could publish on a machine with more
// cores than this one. Asserts nothing.
//
//   pipeline_bench [--events N] [--rounds R]      (default 200000, 5)
#include "bench_util.hpp"
#include "berthd_process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/resource.h>
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
  // CPU seconds the publishing process spent: in all, and (berthd) in its
  // pipeline and in ZeroMQ's I/O thread.
  double cpu_s = 0, pipeline_s = 0, io_s = 0;
  double us_per_message(double cpu) const { return received ? cpu * 1e6 / received : 0; }
};

// CPU a process has used: in all, exited threads included (/proc/PID/stat,
// at the kernel's tick), and by thread name (schedstat, in ns).
struct CpuUse {
  double total_s = 0;
  std::map<std::string, double> by_thread_s;
};
CpuUse cpu_use(int pid) {
  CpuUse u;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  if (auto close = line.rfind(')'); close != line.npos) {
    // After "pid (comm) ": field 3 is the state; 14 and 15 are utime and stime.
    std::istringstream fields(line.substr(close + 2));
    std::string f;
    unsigned long long ticks = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i)
      if (i >= 14) ticks += std::strtoull(f.c_str(), nullptr, 10);
    u.total_s = static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream comm(task.path() / "comm"), sched(task.path() / "schedstat");
    std::string name;
    unsigned long long ns = 0;
    if (std::getline(comm, name) && (sched >> ns)) u.by_thread_s[name] += static_cast<double>(ns) / 1e9;
  }
  return u;
}

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
  rusage used{};
  int status = 0;
  wait4(child, &status, 0, &used);
  f.cpu_s = static_cast<double>(used.ru_utime.tv_sec + used.ru_stime.tv_sec) +
            static_cast<double>(used.ru_utime.tv_usec + used.ru_stime.tv_usec) / 1e6;
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
  // The generator waits delay_ms after the watch starts: this is before it.
  const CpuUse before = cpu_use(daemon.pid());
  Figures f = receive(sub, count, true);
  const CpuUse after = cpu_use(daemon.pid());
  auto thread_s = [&](const std::string& name) {
    auto in = [&](const CpuUse& u) { return u.by_thread_s.count(name) ? u.by_thread_s.at(name) : 0.0; };
    return in(after) - in(before);
  };
  f.cpu_s = after.total_s - before.total_s;
  f.pipeline_s = thread_s("pipeline");
  f.io_s = thread_s("ZMQbg/IO/0");
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
  zmq::context_t zmq;
  std::printf("berth pipeline benchmark: %llu events per round, 1 subscriber, %d rounds after a warm-up,\n"
              "raw and berth interleaved; median (min–max)\n",
              static_cast<unsigned long long>(count), rounds);
  char dir[] = "/tmp/berth-bench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  const size_t topic = std::string("container/sim/started").size();
  int tcp_port = 23900;
  for (const std::string transport : {"ipc", "tcp"}) {
    Spread raw_rate, berth_rate, ratio, raw_cpu, berth_cpu, pipeline_cpu, io_cpu, rest_cpu, alone, alone_ratio;
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
      raw_cpu.add(r.us_per_message(r.cpu_s));
      berth_cpu.add(b.us_per_message(b.cpu_s));
      pipeline_cpu.add(b.us_per_message(b.pipeline_s));
      io_cpu.add(b.us_per_message(b.io_s));
      rest_cpu.add(b.us_per_message(b.cpu_s - b.pipeline_s - b.io_s));
      // The busiest stage, on a core of its own, bounds the rate ("the rest"
      // counted as one stage: it is mostly the plugin's thread).
      const double busiest = std::max({b.us_per_message(b.pipeline_s), b.us_per_message(b.io_s),
                                       b.us_per_message(b.cpu_s - b.pipeline_s - b.io_s)});
      alone.add(busiest > 0 ? 1e6 / busiest : 0);
      alone_ratio.add(busiest > 0 ? 1e6 / busiest / r.rate() : 0);
      gaps += b.gaps;
    }
    std::printf("\n%s, %zu-byte messages:\n", transport.c_str(), bytes);
    std::printf("  raw libzmq PUB->SUB   %s msg/s\n", raw_rate.text("%.0f").c_str());
    std::printf("  sim -> berthd -> SUB  %s events/s (%llu gaps)\n", berth_rate.text("%.0f").c_str(),
                static_cast<unsigned long long>(gaps));
    std::printf("  ratio berth/raw       %s   (goal >= 0.90)\n", ratio.text().c_str());
    std::printf("  CPU per message, us: raw PUB process %s; berthd %s = pipeline %s + ZeroMQ I/O %s\n"
                "                       + plugin and the rest %s\n",
                raw_cpu.text("%.2f").c_str(), berth_cpu.text("%.2f").c_str(), pipeline_cpu.text("%.2f").c_str(),
                io_cpu.text("%.2f").c_str(), rest_cpu.text("%.2f").c_str());
    std::printf("  berthd's busiest stage on a core of its own: %s events/s = %s x raw\n"
                "  (this machine has %ld cores for berthd's three busy threads and the subscriber's two)\n",
                alone.text("%.0f").c_str(), alone_ratio.text().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  }
  std::filesystem::remove_all(dir);
  return 0;
}
