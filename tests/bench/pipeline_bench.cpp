// Benchmark, not a test: sim.so emitting as fast as it can → berthd → SUB,
// next to raw libzmq PUB→SUB with the same message size and transport,
// measured in the same run. Prints figures and the ratio; asserts nothing.
//
//   pipeline_bench [events]      (default 200000)
#include "berthd_process.hpp"

#include <fmt/format.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

namespace berth::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The same high-water mark on both sides of the comparison.
constexpr int kHwm = 1000000;

struct Figures {
  uint64_t received = 0;
  uint64_t gaps = 0;  // messages missing between the first and the last
  double seconds = 0;
  size_t bytes = 0;   // topic + body of one message
  double rate() const { return seconds > 0 ? received / seconds : 0; }
};

// Raw ceiling: one PUB thread sending `count` two-frame messages of the
// given sizes as fast as it can, one SUB receiving them.
Figures raw_pub_sub(zmq::context_t& zmq, const std::string& endpoint, uint64_t count,
                    size_t topic_size, size_t body_size) {
  zmq::socket_t pub(zmq, zmq::socket_type::pub), sub(zmq, zmq::socket_type::sub);
  pub.set(zmq::sockopt::sndhwm, kHwm);
  sub.set(zmq::sockopt::rcvhwm, kHwm);
  sub.set(zmq::sockopt::subscribe, "");
  pub.bind(endpoint);
  sub.connect(endpoint);
  const std::string topic(topic_size, 't');
  std::string body(body_size, 'b');
  // Wait for the subscription to be live before timing.
  sub.set(zmq::sockopt::rcvtimeo, 10);
  for (;;) {
    pub.send(zmq::buffer(std::string("warmup")), zmq::send_flags::none);
    zmq::message_t m;
    if (sub.recv(m)) break;
  }
  sub.set(zmq::sockopt::rcvtimeo, 2000);
  zmq::message_t drain;
  while (sub.recv(drain, zmq::recv_flags::dontwait)) {}

  Figures f;
  f.bytes = topic_size + body_size;
  std::thread sender([&] {
    for (uint64_t i = 0; i < count; ++i) {
      std::memcpy(body.data(), &i, sizeof i);  // like a sequence number
      pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      pub.send(zmq::buffer(body), zmq::send_flags::none);
    }
  });
  Clock::time_point first{}, last{};
  zmq::message_t t, b;
  while (f.received < count) {
    if (!sub.recv(t) || !sub.recv(b)) break;
    last = Clock::now();
    if (f.received++ == 0) first = last;
  }
  sender.join();
  f.seconds = std::chrono::duration<double>(last - first).count();
  f.gaps = count - f.received;
  return f;
}

Figures through_berthd(zmq::context_t& zmq, uint64_t count) {
  const std::string config = fmt::format(
      R"({{"heartbeat_ms": 1000, "pub_hwm": {}, "log_level": "warn", "providers": [
        {{"name": "sim", "plugin": "{}", "config": {{"containers": [],
          "generator": {{"rate": 0, "count": {}, "containers": 16, "delay_ms": 1500}}}}}}]}})",
      kHwm, plugin_path("sim"), count);
  BerthdProcess daemon(config);
  if (!daemon.ready()) {
    std::fprintf(stderr, "berthd did not start:\n%s\n", daemon.output().c_str());
    return {};
  }
  // Receive the frames without parsing them, as the raw side does; only the
  // sequence number is read, to count gaps.
  zmq::socket_t sub(zmq, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, kHwm);
  sub.set(zmq::sockopt::subscribe, "container/");
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  sub.connect(daemon.events_endpoint());
  auto seq_of = [](const zmq::message_t& body) {
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
    const uint64_t seq = seq_of(body);
    if (f.received++ == 0) {
      first = last;
      first_seq = seq;
      f.bytes = topic.size() + body.size();
    }
    last_seq = seq;
  }
  f.seconds = std::chrono::duration<double>(last - first).count();
  f.gaps = f.received ? (last_seq - first_seq + 1) - f.received : 0;
  return f;
}

}  // namespace
}  // namespace berth::testing

int main(int argc, char** argv) {
  using namespace berth::testing;
  const uint64_t count = argc > 1 ? std::stoull(argv[1]) : 200000;
  zmq::context_t zmq;
  std::printf("berth pipeline benchmark: %llu events, ipc transport, 1 subscriber\n",
              static_cast<unsigned long long>(count));
  const Figures berth = through_berthd(zmq, count);
  if (berth.received == 0) return 1;
  char dir[] = "/tmp/berth-bench-XXXXXX";
  mkdtemp(dir);
  const size_t topic = std::string("container/sim/started").size();
  const Figures raw = raw_pub_sub(zmq, fmt::format("ipc://{}/raw.sock", dir), count, topic,
                                  berth.bytes - topic);
  std::filesystem::remove_all(dir);
  std::printf("  raw libzmq PUB->SUB  %10.0f msg/s   (%zu-byte messages, %llu received)\n",
              raw.rate(), raw.bytes, static_cast<unsigned long long>(raw.received));
  std::printf("  sim -> berthd -> SUB %10.0f events/s (%zu-byte messages, %llu received, %llu gaps)\n",
              berth.rate(), berth.bytes, static_cast<unsigned long long>(berth.received),
              static_cast<unsigned long long>(berth.gaps));
  std::printf("  ratio berth/raw      %10.2f   (target >= 0.70)\n", berth.rate() / raw.rate());
  return 0;
}
