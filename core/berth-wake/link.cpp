#include "link.hpp"

#include "common/socket_thread.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <zmq_addon.hpp>

#include <iterator>

#include <unistd.h>

namespace berth::wake {
namespace {

using namespace std::chrono_literals;
// berthd sends a heartbeat every second by default; silence this long means
// the daemon (or the way to it) is gone.
constexpr auto kSilence = 5s;
constexpr size_t kEarlyMax = 100000;  // events buffered while a snapshot is out
constexpr const char* kListing = "a provider is listing its containers";
constexpr const char* kFirst = "the first";  // not logged: every link takes one

}  // namespace

Observed observed_from(const client::ContainerView& c) {
  Observed o;
  o.provider = std::string(c.provider);
  o.id = std::string(c.id);
  o.name = std::string(c.name);
  o.state = c.state;
  o.health = std::string(c.health);
  c.for_each_label([&](std::string_view name, std::string_view value) { o.labels.emplace_back(name, value); });
  return o;
}

struct Link::Pending {
  Reply done;
  asio::steady_timer timer;
};

Link::Link(asio::io_context& io, zmq::context_t& zmq, int index, LinkEndpoints endpoints, LinkListener& listener)
    : io_(io),
      index_(index),
      endpoints_(std::move(endpoints)),
      listener_(listener),
      sub_(zmq, zmq::socket_type::sub),
      dealer_(zmq, zmq::socket_type::dealer),
      monitor_(zmq, zmq::socket_type::pair),
      sub_fd_(io),
      dealer_fd_(io),
      monitor_fd_(io),
      silence_(io) {
  for (auto* s : {&sub_, &dealer_}) {
    s->set(zmq::sockopt::linger, 0);
    if (endpoints_.curve)
      if (auto st = make_curve_client(*s, endpoints_.curve->server_public, endpoints_.curve->client); !st)
        spdlog::error("daemon {}: {}", index, st.message());
  }
  // A command is sent to a connected berthd or not at all: never queued for
  // whichever berthd connects next, which would run it unasked.
  dealer_.set(zmq::sockopt::immediate, 1);
  sub_.set(zmq::sockopt::rcvhwm, 100000);
  for (const char* topic : {"container/", "provider/", "daemon/"}) sub_.set(zmq::sockopt::subscribe, topic);
}

Link::~Link() { stop(); }

void Link::start() {
  // The command socket's connection tells first when berthd goes away (its
  // process died: the socket closed) and when one is back.
  const std::string monitor = fmt::format("inproc://berth-wake-link-{}-{}", static_cast<const void*>(this), index_);
  if (zmq_socket_monitor(dealer_.handle(), monitor.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0)
    monitor_.connect(monitor);
  else  // then a lost berthd shows by its silence or its next run only
    spdlog::error("berthd {}: cannot watch the command socket's connection: {}", endpoints_.commands,
                  zmq_strerror(zmq_errno()));
  sub_.connect(endpoints_.events);
  dealer_.connect(endpoints_.commands);
  // asio watches duplicates: ZeroMQ keeps its own descriptors.
  sub_fd_.assign(::dup(sub_.get(zmq::sockopt::fd)));
  dealer_fd_.assign(::dup(dealer_.get(zmq::sockopt::fd)));
  monitor_fd_.assign(::dup(monitor_.get(zmq::sockopt::fd)));
  watch(sub_, sub_fd_);
  watch(dealer_, dealer_fd_);
  watch(monitor_, monitor_fd_);
  arm_silence();
  pump();
}

void Link::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  sub_fd_.close(ignored);
  dealer_fd_.close(ignored);
  monitor_fd_.close(ignored);
  silence_.cancel();
  for (auto& [id, p] : pending_) p->timer.cancel();
  pending_.clear();
  zmq_socket_monitor(dealer_.handle(), nullptr, 0);
}

void Link::watch(zmq::socket_t& socket, asio::posix::stream_descriptor& fd) {
  fd.async_wait(asio::posix::stream_descriptor::wait_read, [this, &socket, &fd](boost::system::error_code ec) {
    if (ec || stopped_) return;
    pump();
    watch(socket, fd);
  });
}

// ZeroMQ's descriptor only says "look": drain every socket until they say
// nothing is left (also after every send, which may have consumed the edge).
void Link::pump() {
  for (bool more = true; more && !stopped_;) {
    more = false;
    while (!stopped_ && (monitor_.get(zmq::sockopt::events) & ZMQ_POLLIN)) {
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(monitor_, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
      if (auto e = monitor_event(frames)) on_connection(*e);
      more = true;
    }
    while (!stopped_ && (sub_.get(zmq::sockopt::events) & ZMQ_POLLIN)) {
      zmq::message_t topic, body;
      if (!sub_.recv(topic, zmq::recv_flags::dontwait)) break;
      if (!topic.more() || !sub_.recv(body, zmq::recv_flags::dontwait)) continue;
      on_event(topic.to_string_view(), body.to_string_view());
      more = true;
    }
    while (!stopped_ && (dealer_.get(zmq::sockopt::events) & ZMQ_POLLIN)) {
      zmq::message_t reply;
      if (!dealer_.recv(reply, zmq::recv_flags::dontwait)) break;
      on_reply(reply.to_string_view());
      more = true;
    }
  }
}

void Link::on_connection(const MonitorEvent& e) {
  switch (e.kind) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      connected_ = true;
      refused_logged_ = false;
      // A berthd is there (the same one after a network hiccup, or a new
      // one): what we know is checked against its snapshot.
      if (!follow_.synced()) request_snapshot(kFirst);
      return;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      // Retried by libzmq every reconnect interval: said once.
      if (!refused_logged_) spdlog::error("berthd {} refused this client's CURVE key", endpoints_.commands);
      refused_logged_ = true;
      return;
    default:  // disconnected; one that never got through its handshake was never a berthd of ours
      if (!connected_) return;
      connected_ = false;
      lose("berthd went away before answering");
  }
}

// The berthd behind the command socket is gone (its connection dropped, a
// new run spoke, or nothing could be sent): the view waits for the next
// snapshot, and what was sent to it may or may not have been done, so its
// callers decide again from that snapshot instead of waiting out their
// timeouts.
void Link::lose(const char* why) {
  if (up_ || snapshot_pending_ || !pending_.empty()) spdlog::warn("berthd {}: {}", endpoints_.commands, why);
  set_up(false);
  follow_.forget();
  if (snapshot_pending_) {
    ++snapshot_generation_;  // it went with the berthd that had it
    snapshot_pending_ = false;
    early_.clear();
  }
  auto lost = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : lost) {
    p->timer.cancel();
    asio::post(io_, [done = std::move(p->done), why] { done(Status(Code::cancelled, why), nullptr); });
  }
}

// Silence with the connection still up is the same berthd, stuck or
// cut off from us: the view is not trusted until a snapshot, but its
// commands keep running (their own timers bound them).
void Link::arm_silence() {
  silence_.expires_after(kSilence);
  silence_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    spdlog::warn("berthd {} silent for {} s", endpoints_.events, kSilence.count());
    set_up(false);
    follow_.forget();
    request_snapshot("silence");
    arm_silence();
  });
}

void Link::set_up(bool up) {
  if (up == up_) return;
  up_ = up;
  listener_.on_link(index_, up);
}

void Link::on_event(std::string_view topic, std::string_view body) {
  rapidjson::Document d;
  if (!client::parse_object(d, body)) return;
  const auto m = client::read_message(d);
  if (!m) return;
  const uint64_t seq = m->seq;
  const std::string_view run = m->run_id, kind_name = m->kind_name;
  const auto kind = m->kind;
  // A berthd is alive while a run speaks; an old run's stragglers say nothing of it.
  if (!follow_.has_left(run)) arm_silence();
  if (snapshot_pending_) {
    if (early_.size() < kEarlyMax) early_.emplace_back(topic, body);
    return;
  }
  const follow::Step step = follow_.on_message(run, kind_name, seq);
  switch (step.action) {
    case follow::Action::hold:
    case follow::Action::resync:
      if (step.reason == follow::Reason::new_run) lose("berthd restarted before answering");
      request_snapshot(step.action == follow::Action::hold ? kFirst : follow::reason_text(step.reason).data());
      // Replayed once the snapshot is in: it tells what the snapshot covers.
      if (snapshot_pending_ && early_.size() < kEarlyMax) early_.emplace_back(topic, body);
      return;
    case follow::Action::skip:
      if (kind == protocol::Kind::heartbeat && step.reason == follow::Reason::covered) {
        set_up(true);
        // A provider's first list (its baseline) is published as no event:
        // only a snapshot taken once it is synced has its containers.
        if (listing_) request_snapshot(kListing);
      } else if (step.reason == follow::Reason::stopping) {
        // Its last message: a snapshot asked of it now would never be
        // answered; the next run's first message asks for one.
        spdlog::info("berthd {}: stopping; waiting for it to come back", endpoints_.events);
        set_up(false);
      }
      return;
    case follow::Action::apply:
      if (!kind) return;  // a kind of a newer berthd's: counted, not understood
      if (kind == protocol::Kind::container) apply(*m);
      else if (kind == protocol::Kind::provider && m->state == "up") listing_ = true;  // its list follows
      return;
  }
}

void Link::apply(const client::MessageView& event) {
  const berth_event_type type = event.type;
  if (event.container.raw == nullptr) return;
  Observed o = observed_from(event.container);
  if (type == BERTH_EVENT_HEALTH) o.health = std::string(event.health);
  if (type == BERTH_EVENT_DESTROYED) listener_.on_gone(index_, o.provider, o.id);
  else listener_.on_change(index_, o, type);
}

void Link::request_snapshot(const char* why) {
  if (snapshot_pending_ || stopped_) return;
  snapshot_pending_ = true;
  early_.clear();
  if (std::string_view(why) == kListing) spdlog::debug("berthd {}: {}; taking a snapshot", endpoints_.events, why);
  else if (std::string_view(why) != kFirst) spdlog::info("berthd {}: {}; taking a snapshot", endpoints_.events, why);
  command(client::Request(protocol::Op::snapshot), 10s,
          [this, generation = ++snapshot_generation_](const Status& st, const rapidjson::Value* result) {
    if (generation != snapshot_generation_) return;  // abandoned: its daemon went away
    const auto snapshot = st && result ? client::read_snapshot(*result) : std::nullopt;
    if (!snapshot) {
      // Not there (yet): its next message, its reconnection or the
      // silence timer asks again.
      snapshot_pending_ = false;
      early_.clear();
      set_up(false);
      return;
    }
    std::vector<Observed> all;
    snapshot->for_each_container([&](const client::ContainerView& c) { all.push_back(observed_from(c)); });
    // Not synced: its containers are not in the snapshot (yet). Up but not
    // synced: listing now; snapshot again once it is (heartbeats).
    listing_ = false;
    std::set<std::string> unsynced;
    for (const auto& p : snapshot->providers) {
      if (p.synced) continue;
      unsynced.emplace(p.name);
      if (p.up) listing_ = true;
    }
    const std::string_view run = snapshot->run_id;
    const uint64_t seq = snapshot->seq;
    if (!follow_.run().empty() && run != follow_.run())
      spdlog::info("berthd {}: a new run {} (was {}): recovered from its snapshot at seq {}", endpoints_.events, run,
                   follow_.run(), seq);
    follow_.on_snapshot(run, seq);
    listener_.on_snapshot(index_, std::move(all), unsynced);
    snapshot_pending_ = false;
    set_up(true);
    // What arrived meanwhile, in order; the snapshot covers seq <= its seq.
    auto early = std::move(early_);
    early_.clear();
    for (auto& [topic, body] : early) on_event(topic, body);
  });
}

void Link::command(client::Request request, std::chrono::milliseconds wait, Reply done) {
  const uint64_t id = next_id_++;
  const std::string body = request.id(id).json();
  bool sent = false;
  try {
    sent = dealer_.send(zmq::buffer(body), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    spdlog::warn("command to {} not sent: {}", endpoints_.commands, e.what());
  }
  if (!sent) {  // no berthd connected (immediate): nothing was done, and nothing is until a snapshot
    lose("berthd is not connected");
    asio::post(io_, [done = std::move(done)] { done(Status(Code::cancelled, "berthd is not connected"), nullptr); });
    return;
  }
  auto p = std::make_unique<Pending>(Pending{std::move(done), asio::steady_timer(io_)});
  p->timer.expires_after(wait);
  p->timer.async_wait([this, id](boost::system::error_code ec) {
    if (ec) return;
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto reply = std::move(it->second->done);
    pending_.erase(it);
    reply(Status(Code::timeout, "no answer from berthd"), nullptr);
  });
  pending_.emplace(id, std::move(p));
  // A send may have consumed the descriptor's edge: look now.
  asio::post(io_, [this] { pump(); });
}

void Link::on_reply(std::string_view body) {
  const auto reply = client::Reply::parse(body);
  const auto id = reply.id();
  if (!id) return;
  auto it = pending_.find(*id);
  if (it == pending_.end()) return;  // answered by its timeout already
  auto pending = std::move(it->second);
  pending_.erase(it);
  pending->timer.cancel();
  if (reply.ok()) return pending->done({}, reply.result().IsNull() ? nullptr : &reply.result());
  pending->done(Status(reply.error().code, std::string(reply.error().message)), nullptr);
}

}  // namespace berth::wake
