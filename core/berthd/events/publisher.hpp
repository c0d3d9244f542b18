// The events socket: sends each numbered message as [topic, body]
// (docs/protocol.md §1). An XPUB, which subscribers see as a PUB: it drops
// for a subscriber that falls pub_hwm behind (as libzmq counts: a reader
// reports progress every pub_hwm/2 messages), except the final `stopping`,
// which waits up to `stopping_wait` for every subscriber to catch up.
// Pipeline thread only.
#pragma once

#include "auth/keys.hpp"
#include "common/status.hpp"
#include "events/sink.hpp"
#include "wire/wire.hpp"

#include <zmq.hpp>

#include <chrono>
#include <string>

namespace berth {

class Subscribers;

class ZmqPublisher final : public EventSink {
 public:
  struct Options {
    std::string endpoint;
    int hwm = 100000;
    wire::Identity daemon;  // in every message
    std::chrono::milliseconds stopping_wait{1000};  // `stopping`'s whole window: waits, send, close
    const KeyPair* curve = nullptr;  // the daemon's keys: CURVE on every endpoint
  };
  ZmqPublisher(zmq::context_t& zmq, Options options);
  ~ZmqPublisher() override;

  Status bind();
  // For the connection monitor, before the pipeline starts using it.
  zmq::socket_t& socket() { return pub_; }
  // What `stopping` waits on; set before the pipeline starts, outlives it.
  void watch(const Subscribers* subscribers) { subscribers_ = subscribers; }

  void container_event(std::string_view provider, const Event& e, uint64_t seq, berth_state state_after,
                       Origin origin) override;
  void provider_state(std::string_view provider, std::string_view plugin, bool up, std::string_view reason,
                      uint64_t seq) override;
  void heartbeat(const HeartbeatFigures& h) override;
  void stopping(uint64_t seq) override;

 private:
  void send(std::string_view topic, std::string_view body);
  void drain_subscriptions();
  bool wait_for_readers(std::chrono::steady_clock::time_point until);  // false: `until` came first

  // An event body is written into body_ (its capacity kept) and copied once
  // into the message: for bodies of a few hundred bytes one memcpy costs less
  // than a zero-copy message (ZeroMQ allocates a descriptor for it and frees
  // it through a callback on its I/O thread, and the buffers in flight must
  // be pooled across two threads); figures in docs/performance.md.
  zmq::socket_t pub_;
  Options options_;
  const Subscribers* subscribers_ = nullptr;
  std::string topic_;
  std::string body_;
  static constexpr size_t kKeepBytes = 64 * 1024;
};

}  // namespace berth
