// Where the pipeline's numbered messages go: the ZeroMQ publisher in
// berthd, a recorder in tests and the conformance kit. Called on the
// pipeline thread only, in `seq` order.
#pragma once

#include "state/state_view.hpp"

#include <cstdint>
#include <string_view>

namespace berth {

struct HeartbeatFigures {
  uint64_t seq;
  int64_t uptime_ms;
  uint64_t queue_depth, queue_capacity, emit_blocked_total;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void container_event(std::string_view provider, const Event& e, uint64_t seq,
                               berth_state state_after, Origin origin) = 0;
  virtual void provider_state(std::string_view provider, std::string_view plugin, bool up,
                              std::string_view reason, uint64_t seq) = 0;
  virtual void heartbeat(const HeartbeatFigures& h) {}
  virtual void stopping(uint64_t seq) {}
};

}  // namespace berth
