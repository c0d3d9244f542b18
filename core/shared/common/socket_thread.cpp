#include "common/socket_thread.hpp"

#include "common/thread_name.hpp"

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include <cerrno>
#include <cstring>

namespace berth {

SocketThread::~SocketThread() { stop(); }

Status SocketThread::start(zmq::socket_t& socket, std::string name, Serve serve) {
  if (!stop_.ok()) return {Code::internal, "eventfd failed"};
  thread_ = std::thread([this, &socket, name = std::move(name), serve = std::move(serve)] {
    name_this_thread(name.c_str());
    run(socket, name, serve);
  });
  return {};
}

void SocketThread::stop() {
  if (!thread_.joinable()) return;
  stop_.signal();
  thread_.join();
}

void SocketThread::run(zmq::socket_t& socket, const std::string& name, const Serve& serve) {
  zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, stop_.fd(), ZMQ_POLLIN, 0}};
  for (;;) {
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
      if (items[1].revents & ZMQ_POLLIN) return;
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> message;
      if (!zmq::recv_multipart(socket, std::back_inserter(message), zmq::recv_flags::dontwait)) continue;
      serve(message);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;  // the context is closing: nothing more will come
      spdlog::error("{} thread: {}", name, e.what());
    } catch (const std::exception& e) {
      // Last resort: logged loudly, and the thread serves on (a ZAP handler
      // that stopped answering would lock every client out).
      spdlog::error("{} thread: {}", name, e.what());
    }
  }
}

std::optional<MonitorEvent> monitor_event(const std::vector<zmq::message_t>& message) {
  if (message.empty() || message[0].size() < 6) return std::nullopt;
  MonitorEvent e;
  std::memcpy(&e.kind, message[0].data(), 2);
  std::memcpy(&e.value, static_cast<const char*>(message[0].data()) + 2, 4);
  return e;
}

}  // namespace berth
