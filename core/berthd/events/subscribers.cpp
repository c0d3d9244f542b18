#include "events/subscribers.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <linux/sockios.h>
#include <string>
#include <sys/ioctl.h>
#include <vector>

namespace berth {

Subscribers::Subscribers(zmq::context_t& zmq, zmq::socket_t& events) : pair_(zmq, zmq::socket_type::pair) {
  static std::atomic<unsigned> next{0};
  const std::string address = "inproc://berth-subscribers-" + std::to_string(next++);
  if (zmq_socket_monitor(events.handle(), address.c_str(), ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    spdlog::warn("cannot monitor the events socket: {}", zmq_strerror(zmq_errno()));
    return;
  }
  pair_.set(zmq::sockopt::linger, 0);
  pair_.set(zmq::sockopt::rcvhwm, 0);  // unbounded: a lost disconnect would leave a stale descriptor
  pair_.connect(address);
  if (auto st = thread_.start(pair_, "subscribers", [this](auto& event) { on_event(event); }); !st)
    spdlog::warn("cannot monitor the events socket: {}", st.message());
}

Subscribers::~Subscribers() = default;

void Subscribers::on_event(const std::vector<zmq::message_t>& message) {
  const auto e = monitor_event(message);
  if (!e) return;
  std::lock_guard lock(mutex_);
  if (e->kind == ZMQ_EVENT_ACCEPTED) open_.insert(static_cast<int>(e->value));
  else if (e->kind == ZMQ_EVENT_DISCONNECTED) open_.erase(static_cast<int>(e->value));
}

uint64_t Subscribers::now() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

bool Subscribers::flushed() const {
  std::lock_guard lock(mutex_);
  for (int fd : open_) {
    int bytes = 0;
    // A descriptor already closed (its disconnect not yet seen) fails: nothing to send.
    if (ioctl(fd, SIOCOUTQ, &bytes) == 0 && bytes > 0) return false;
  }
  return true;
}

}  // namespace berth
