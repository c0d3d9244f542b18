// Test support: runs the real berthd binary as a child process with a config
// of the test's choosing, and talks to it over ZeroMQ like any client would.
#pragma once

#include "auth/curve.hpp"

#include <rapidjson/document.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace berth::testing {

using Json = rapidjson::Document;

// Paths the build gives the tests.
std::string berthd_path();
std::string plugin_dir();
std::string plugin_path(const std::string& name);  // plugin_dir()/name.so
std::string make_temp_dir();                       // /tmp/berth-test-XXXXXX

class BerthdProcess {
 public:
  // Writes `config_json` (a JSON object WITHOUT endpoint/runtime keys: they
  // are added) to a temp dir and starts berthd on it. Pass extra_args for
  // flags. Waits for the "ready" banner (or process exit).
  explicit BerthdProcess(const std::string& config_json, std::vector<std::string> extra_args = {},
                         bool use_config_file = true);
  ~BerthdProcess();  // SIGTERM, then SIGKILL after 10 s

  bool ready() const { return ready_; }
  const std::string& events_endpoint() const { return events_; }
  const std::string& commands_endpoint() const { return commands_; }
  const std::string& dir() const { return dir_; }
  int pid() const { return pid_; }  // < 0 once it exited

  // Sends SIGTERM; returns the exit code (or -signal), waiting up to `wait`.
  std::optional<int> terminate(std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Waits for the process to exit by itself.
  std::optional<int> wait_exit(std::chrono::milliseconds wait);
  // SIGKILL, as a crash or the OOM killer would (no `stopping`, nothing
  // cleaned up), and waits up to 5 s for it. False if it was not running.
  bool kill_now();
  // Everything berthd wrote to stdout/stderr so far.
  std::string output() const;

 private:
  std::string dir_, events_, commands_, log_path_;
  int pid_ = -1;  // < 0 once reaped
  int exit_status_ = 0;
  bool ready_ = false;
};

// A REQ client: one request at a time, with a receive timeout.
class Client {
 public:
  Client(zmq::context_t& ctx, const std::string& endpoint,
         std::chrono::milliseconds timeout = std::chrono::seconds(20), std::optional<ClientKeys> curve = {});
  // Sends `request_json`; returns the parsed reply (IsNull() on timeout).
  Json call(const std::string& request_json);
  std::string call_raw(const std::string& body);

 private:
  zmq::context_t& ctx_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::optional<ClientKeys> curve_;
  std::optional<zmq::socket_t> socket_;
};

// A DEALER client: many requests in flight at once; replies in any order
// (match them by "id"). It queues up to `rcvhwm` replies (1000 is libzmq's
// default); a client that stops reading gets 1, so the rest wait in berthd.
class Dealer {
 public:
  Dealer(zmq::context_t& ctx, const std::string& endpoint, int rcvhwm = 1000);
  void send(const std::string& request_json);
  // The next reply, or a null document after `timeout`.
  Json next(std::chrono::milliseconds timeout);

 private:
  zmq::socket_t socket_;
};

struct Message {
  std::string topic;
  std::string raw;  // the body as sent
  Json body;
};

// A SUB socket subscribed to `prefix`, queueing up to `rcvhwm` messages
// (0: unbounded).
class Subscriber {
 public:
  Subscriber(zmq::context_t& ctx, const std::string& endpoint, const std::string& prefix = "",
             const std::optional<ClientKeys>& curve = {}, int rcvhwm = 0);
  // The next message, or nullopt after `timeout`.
  std::optional<Message> next(std::chrono::milliseconds timeout);
  // Skips messages until one whose topic starts with `prefix` arrives.
  std::optional<Message> next_matching(const std::string& prefix, std::chrono::milliseconds timeout);
  // Waits until the subscription is live (a heartbeat arrived).
  bool wait_connected(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // For readers that must not parse every body (a flood).
  zmq::socket_t& socket() { return socket_; }

 private:
  zmq::socket_t socket_;
};

}  // namespace berth::testing
