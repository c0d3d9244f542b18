#include "events/publisher.hpp"

#include "events/subscribers.hpp"

#include "auth/curve.hpp"

#include "wire/wire.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace berth {

ZmqPublisher::ZmqPublisher(zmq::context_t& zmq, Options options)
    : pub_(zmq, zmq::socket_type::xpub), options_(std::move(options)) {
  body_.reserve(512);  // a typical event; grows once for a bigger one and stays
}

ZmqPublisher::~ZmqPublisher() = default;

Status ZmqPublisher::bind() {
  try {
    pub_.set(zmq::sockopt::sndhwm, options_.hwm);
    pub_.set(zmq::sockopt::linger, 1000);
    if (options_.curve)
      if (auto st = make_curve_server(pub_, *options_.curve, kEventsDomain); !st) return st;
    pub_.bind(options_.endpoint);
  } catch (const zmq::error_t& e) {
    return {Code::unavailable, "cannot bind events endpoint " + options_.endpoint + ": " + e.what()};
  }
  return {};
}

void ZmqPublisher::send(std::string_view topic, std::string_view body) {
  try {
    pub_.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore);
    pub_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::error("event not published: {}", e.what());
  }
}

void ZmqPublisher::container_event(std::string_view provider, const Event& e, uint64_t seq,
                                   berth_state state_after, Origin origin) {
  // Written into one reused buffer, then copied once into the message:
  // faster than handing ZeroMQ the buffer itself (see publisher.hpp).
  wire::write_event(body_, {options_.daemon, provider, e, seq, state_after, origin_name(origin)});
  wire::container_topic(topic_, provider, e.type);
  send(topic_, body_);
  if (body_.capacity() > kKeepBytes) std::string().swap(body_);  // one huge event is not kept
}

namespace {
template <class Fn>
std::string_view with_writer(rapidjson::StringBuffer& buf, Fn&& fn) {
  buf.Clear();
  wire::Writer w(buf);
  fn(w);
  return {buf.GetString(), buf.GetSize()};
}
}  // namespace

void ZmqPublisher::provider_state(std::string_view provider, std::string_view plugin, bool up,
                                  std::string_view reason, uint64_t seq) {
  rapidjson::StringBuffer buf;
  send(wire::provider_topic(provider, up), with_writer(buf, [&](wire::Writer& w) {
         wire::write_provider_message(w, options_.daemon, seq, provider, plugin, up, reason);
       }));
}

// An XPUB hands its subscriptions up to be read; unread, libzmq keeps them,
// one per new topic, for as long as the socket lives.
void ZmqPublisher::drain_subscriptions() {
  zmq::message_t m;
  try {
    while (pub_.recv(m, zmq::recv_flags::dontwait)) {
    }
  } catch (const zmq::error_t&) {
  }
}

void ZmqPublisher::heartbeat(const HeartbeatFigures& h) {
  drain_subscriptions();
  rapidjson::StringBuffer buf;
  send(wire::kHeartbeatTopic, with_writer(buf, [&](wire::Writer& w) {
         wire::write_heartbeat(w, {options_.daemon, h.seq, h.uptime_ms, h.queue_depth, h.queue_capacity, h.emit_blocked_total});
       }));
}

// Waits until what was sent has left berthd (Subscribers::flushed), letting
// the socket take in its pending commands meanwhile (getting ZMQ_EVENTS
// does). Before `stopping`: a subscriber whose queue filled up is out of
// libzmq's distribution until the socket hears that it read again (dist_t
// skips it, and XPUB_NODROP waits only on those it does not skip), so
// `stopping` would pass it by. After: so the process does not exit with
// `stopping` still inside libzmq (zeromq/libzmq#4660). Measured with the
// SIGTERM-in-a-flood test under two CPU hogs: 5 of 40 runs lost `stopping`
// without these waits, 1 of 104 with them. libzmq has no call that says
// this: ZMQ_EVENTS' POLLOUT means only that one reader has room, and the
// linger of zmq_close is what #4660 loses; so each connection's kernel send
// queue is read (SIOCOUTQ, on the descriptors the socket monitor names).
bool ZmqPublisher::wait_for_readers(std::chrono::steady_clock::time_point until) {
  if (!subscribers_) return true;
  for (int empty_in_a_row = 0; std::chrono::steady_clock::now() < until;) {
    (void)pub_.get(zmq::sockopt::events);
    empty_in_a_row = subscribers_->flushed() ? empty_in_a_row + 1 : 0;
    // Empty over 10 ms, not in a pause between two writes (or two time
    // slices of ZeroMQ's I/O thread on a busy machine).
    if (empty_in_a_row == 3) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// The last message: a subscriber that is behind would lose it, so it waits
// (bounded by stopping_wait in all) for every subscriber to catch up and for
// room in every queue, and then goes to whoever has room.
void ZmqPublisher::stopping(uint64_t seq) {
  rapidjson::StringBuffer buf;
  const auto body = with_writer(buf, [&](wire::Writer& w) { wire::write_stopping(w, options_.daemon, seq); });
  const auto topic = wire::kStoppingTopic;
  const auto until = std::chrono::steady_clock::now() + options_.stopping_wait;
  const auto left = [&] {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(ms.count(), 0));
  };
  try {
    if (!wait_for_readers(until))
      spdlog::warn("a subscriber is still behind after {} ms: it may miss 'stopping'", options_.stopping_wait.count());
    pub_.set(zmq::sockopt::xpub_nodrop, 1);
    pub_.set(zmq::sockopt::sndtimeo, left());
    if (pub_.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore)) {
      if (pub_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)) wait_for_readers(until);
    } else {
      spdlog::warn("a subscriber is more than pub_hwm behind: 'stopping' reaches only those with room");
      pub_.set(zmq::sockopt::xpub_nodrop, 0);
      send(topic, body);
    }
    // Closing the socket waits no longer than this window either: a
    // subscriber that stopped reading would otherwise hold the exit for
    // the whole linger, past shutdown_timeout_ms when that is short.
    pub_.set(zmq::sockopt::linger, left());
  } catch (const zmq::error_t& e) {
    spdlog::warn("stopping: {}", e.what());
    send(topic, body);
  }
}

}  // namespace berth
