// The events socket: a ZeroMQ PUB that sends each numbered message as
// [topic, body] (docs/protocol.md §1). Sequencer thread only.
#pragma once

#include "common/status.hpp"
#include "events/sink.hpp"

#include <zmq.hpp>

#include <string>

namespace berth {

class ZmqPublisher final : public EventSink {
 public:
  struct Options {
    std::string endpoint;
    int hwm = 100000;
  };
  ZmqPublisher(zmq::context_t& zmq, Options options);

  Status bind();

  void container_event(std::string_view provider, const Event& e, uint64_t seq, berth_state state_after,
                       Origin origin) override;
  void provider_state(std::string_view provider, std::string_view plugin, bool up, std::string_view reason,
                      uint64_t seq) override;
  void heartbeat(const HeartbeatFigures& h) override;
  void stopping(uint64_t seq) override;

 private:
  void send(std::string_view topic, std::string_view body);

  zmq::socket_t pub_;
  Options options_;
  // Reused for every message: the hot path allocates only when they grow.
  std::string topic_, body_;
};

}  // namespace berth
