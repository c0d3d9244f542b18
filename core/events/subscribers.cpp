#include "events/subscribers.hpp"

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include <cstring>
#include <linux/sockios.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

namespace berth {

Subscribers::Subscribers(zmq::context_t& zmq, zmq::socket_t& events)
    : pair_(zmq, zmq::socket_type::pair), stop_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  static std::atomic<unsigned> next{0};
  const std::string address = "inproc://berth-subscribers-" + std::to_string(next++);
  if (zmq_socket_monitor(events.handle(), address.c_str(), ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    spdlog::warn("cannot monitor the events socket: {}", zmq_strerror(zmq_errno()));
    return;
  }
  pair_.set(zmq::sockopt::linger, 0);
  pair_.set(zmq::sockopt::rcvhwm, 0);  // unbounded: a lost disconnect would leave a stale descriptor
  pair_.connect(address);
  thread_ = std::thread([this] { run(); });
}

Subscribers::~Subscribers() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (stop_fd_ >= 0) close(stop_fd_);
}

void Subscribers::run() {
  zmq::pollitem_t items[] = {{pair_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, stop_fd_, ZMQ_POLLIN, 0}};
  for (;;) {
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
      if (items[1].revents & ZMQ_POLLIN) return;
      std::vector<zmq::message_t> event;
      if (!zmq::recv_multipart(pair_, std::back_inserter(event), zmq::recv_flags::dontwait)) continue;
      if (event.empty() || event[0].size() < 6) continue;
      uint16_t kind;
      uint32_t fd;
      std::memcpy(&kind, event[0].data(), 2);
      std::memcpy(&fd, static_cast<const char*>(event[0].data()) + 2, 4);
      std::lock_guard lock(mutex_);
      if (kind == ZMQ_EVENT_ACCEPTED) open_.insert(static_cast<int>(fd));
      else if (kind == ZMQ_EVENT_DISCONNECTED) open_.erase(static_cast<int>(fd));
      count_ = open_.size();
    } catch (const std::exception& e) {
      spdlog::error("events socket monitor: {}", e.what());
      return;
    }
  }
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
