// berth-wake's connection to one berthd: its events (SUB) and its commands
// (DEALER), both on berth-wake's one asio thread (ZeroMQ's own file
// descriptor tells when a socket may have work). It keeps the daemon's view
// with the snapshot + seq rule (docs/protocol.md §3): subscribe, take a
// snapshot, drop what it covers, apply the rest in order, and take a new one
// on any gap, on a new berthd run (a restart: `run` changed), when the
// command socket reconnects, or after silence (berth/follow.hpp).
//
// A command in flight when berthd goes away (its connection drops, or it
// falls silent) is answered at once with `cancelled`: its outcome is unknown
// until the next snapshot shows it, and the caller decides again from that.
#pragma once

#include "auth/curve.hpp"

#include "common/socket_thread.hpp"
#include "common/status.hpp"

#include <berth/client.hpp>
#include <berth/follow.hpp>
#include <berth/provider.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <rapidjson/document.h>
#include <zmq.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace berth::wake {

namespace asio = boost::asio;

// What berth-wake needs of a container.
struct Observed {
  std::string provider, id, name;
  berth_state state = BERTH_STATE_UNKNOWN;
  std::string health;  // "" = no healthcheck
  sdk::Labels labels;
};

// Where a link's news goes (the instance registry).
class LinkListener {
 public:
  virtual ~LinkListener() = default;
  // A full view of the daemon: everything not in it is gone, except the
  // containers of providers it has no list of yet (`unsynced`).
  virtual void on_snapshot(int daemon, std::vector<Observed> containers, const std::set<std::string>& unsynced) = 0;
  // One container changed (its event's type).
  virtual void on_change(int daemon, const Observed& c, berth_event_type type) = 0;
  virtual void on_gone(int daemon, const std::string& provider, const std::string& id) = 0;
  virtual void on_link(int daemon, bool up) = 0;
};

// What the instance registry needs of a link: its commands, and whether
// its berthd is there now. Link is the real one; unit tests give a fake.
class CommandLink {
 public:
  // The reply's result or its error; timeout after `wait`, or `cancelled`
  // when berthd went away before answering (or could not be sent to).
  using Reply = std::function<void(const Status&, const rapidjson::Value* result)>;
  virtual ~CommandLink() = default;
  // Sends a command (the link numbers it). `done` is never called from
  // inside command(). On the asio thread.
  virtual void command(client::Request request, std::chrono::milliseconds wait, Reply done) = 0;
  // Its berthd's view is current: a snapshot is in and nothing was lost since.
  virtual bool up() const = 0;
};

struct LinkEndpoints {
  std::string commands, events;
  std::optional<ClientKeys> curve;  // docs/operator.md; none for ipc://
};

class Link final : public CommandLink {
 public:
  Link(asio::io_context& io, zmq::context_t& zmq, int index, LinkEndpoints endpoints, LinkListener& listener);
  ~Link();
  void start();
  void stop();

  void command(client::Request request, std::chrono::milliseconds wait, Reply done) override;

  int index() const { return index_; }
  bool up() const override { return up_; }
  const LinkEndpoints& endpoints() const { return endpoints_; }

 private:
  struct Pending;
  void watch(zmq::socket_t& socket, asio::posix::stream_descriptor& fd);
  void pump();
  void on_connection(const MonitorEvent& e);
  void lose(const char* why);
  void on_event(std::string_view topic, std::string_view body);
  void on_reply(std::string_view body);
  void request_snapshot(const char* why);
  void apply(const client::MessageView& event);
  void set_up(bool up);
  void arm_silence();

  asio::io_context& io_;
  int index_;
  LinkEndpoints endpoints_;
  LinkListener& listener_;
  zmq::socket_t sub_, dealer_, monitor_;  // monitor_: the command socket's connects and disconnects
  asio::posix::stream_descriptor sub_fd_, dealer_fd_, monitor_fd_;
  asio::steady_timer silence_;
  bool stopped_ = false, up_ = false;
  bool connected_ = false;       // the command socket's handshake with a berthd succeeded
  bool refused_logged_ = false;  // its CURVE refusal was said

  // The snapshot + seq + run rule.
  follow::Follow follow_;
  bool snapshot_pending_ = false;
  bool listing_ = false;  // a provider is up but its baseline list is not in our view yet
  uint64_t snapshot_generation_ = 0;  // the snapshot under way (an older answer is ignored)
  std::deque<std::pair<std::string, std::string>> early_;  // events that arrived before the snapshot

  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Pending>> pending_;
};

// What berth-wake keeps of a wire container object (docs/protocol.md).
Observed observed_from(const client::ContainerView& container);

}  // namespace berth::wake
