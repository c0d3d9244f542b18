// A thread that serves one ZeroMQ socket: waits for a message, hands it to
// `serve`, and again, until stop(). It polls the socket and an eventfd, so
// stop() wakes it at once without closing the socket under its feet.
// Used where a socket needs a thread of its own and nothing else (the ZAP
// handler, the events socket's connection monitor).
#pragma once

#include "common/status.hpp"
#include "common/wakeup.hpp"

#include <zmq.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace berth {

class SocketThread {
 public:
  // One multipart message; what `serve` throws is logged under `name` and
  // the thread serves on.
  using Serve = std::function<void(std::vector<zmq::message_t>& message)>;

  SocketThread() = default;
  ~SocketThread();  // stop()s
  SocketThread(const SocketThread&) = delete;
  SocketThread& operator=(const SocketThread&) = delete;

  // `socket` is the thread's alone from here until stop() returns. `name`
  // is the thread's (at most 15 characters) and its errors' in the log.
  Status start(zmq::socket_t& socket, std::string name, Serve serve);
  void stop();

 private:
  void run(zmq::socket_t& socket, const std::string& name, const Serve& serve);
  Wakeup stop_;
  std::thread thread_;
};

// A socket monitor's event (zmq_socket_monitor): its kind (ZMQ_EVENT_*) and
// value (a descriptor, an error or a status code), from the first frame.
struct MonitorEvent {
  uint16_t kind = 0;
  uint32_t value = 0;
};
std::optional<MonitorEvent> monitor_event(const std::vector<zmq::message_t>& message);

}  // namespace berth
