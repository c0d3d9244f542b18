// The connections to the events socket, from its monitor: a thread that only
// waits for accept and disconnect events. Gives the subscriber count (a
// metric), and tells the publisher whether everything it sent has left
// berthd, so that `stopping` can wait for a subscriber that is behind.
#pragma once

#include "common/socket_thread.hpp"

#include <zmq.hpp>

#include <mutex>
#include <set>

namespace berth {

class Subscribers {
 public:
  // Monitors `events` (one monitor per socket: nothing else may monitor it).
  Subscribers(zmq::context_t& zmq, zmq::socket_t& events);
  ~Subscribers();
  Subscribers(const Subscribers&) = delete;
  Subscribers& operator=(const Subscribers&) = delete;

  // Connections open now. Any thread.
  uint64_t now() const;

  // True when no connection has bytes waiting in its kernel send queue.
  // libzmq writes to a connection whenever the kernel has room, so a queue
  // that stays empty means libzmq holds nothing more for that reader either.
  // Any thread.
  bool flushed() const;

 private:
  void on_event(const std::vector<zmq::message_t>& event);
  zmq::socket_t pair_;
  mutable std::mutex mutex_;
  std::set<int> open_;  // descriptors accepted and not yet gone
  SocketThread thread_;  // last: stopped before what it uses goes
};

}  // namespace berth
