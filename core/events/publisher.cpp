#include "events/publisher.hpp"

#include "wire/wire.hpp"

#include <spdlog/spdlog.h>

namespace berth {

ZmqPublisher::ZmqPublisher(zmq::context_t& zmq, Options options)
    : pub_(zmq, zmq::socket_type::pub), options_(std::move(options)) {}

Status ZmqPublisher::bind() {
  try {
    pub_.set(zmq::sockopt::sndhwm, options_.hwm);
    pub_.set(zmq::sockopt::linger, 1000);
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
  wire::write_event(body_, {provider, e, seq, state_after, origin_name(origin)});
  wire::container_topic(topic_, provider, e.type);
  send(topic_, body_);
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
         wire::write_provider_message(w, seq, provider, plugin, up, reason);
       }));
}

void ZmqPublisher::heartbeat(const HeartbeatFigures& h) {
  rapidjson::StringBuffer buf;
  send(wire::kHeartbeatTopic, with_writer(buf, [&](wire::Writer& w) {
         wire::write_heartbeat(w, {h.seq, h.uptime_ms, h.queue_depth, h.queue_capacity, h.emit_blocked_total});
       }));
}

void ZmqPublisher::stopping(uint64_t seq) {
  rapidjson::StringBuffer buf;
  send(wire::kStoppingTopic, with_writer(buf, [&](wire::Writer& w) { wire::write_stopping(w, seq); }));
}

}  // namespace berth
