// The command socket: a ROUTER, so plain REQ clients work unchanged while
// requests are served concurrently. One thread owns the socket; plugin calls
// go to the scheduler and their replies come back through an
// eventfd-signalled queue. Every request is answered exactly once: with its
// result, or with `timeout` when its deadline passes first (a late result is
// discarded).
#pragma once

#include "auth/keys.hpp"
#include "commands/dispatcher.hpp"
#include "common/wakeup.hpp"
#include "metrics/metrics.hpp"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth {

class CommandServer {
 public:
  struct Options {
    std::string endpoint;
    std::chrono::milliseconds late_slack{250};  // lets the plugin's own timeout win
    const KeyPair* curve = nullptr;  // CURVE: each client acts in its key's role
    CommandCounts* counts = nullptr;  // metrics, when they are served
    // How long, at exit, replies a client has not taken yet may hold the
    // process (closing the socket waits for them): berthd passes a share
    // of shutdown_timeout_ms, as it does for the events socket.
    std::chrono::milliseconds linger{1000};
  };

  CommandServer(zmq::context_t& zmq, const Dispatcher& dispatcher, Scheduler& scheduler, Options options);
  ~CommandServer();

  Status bind();
  void start();
  // Answers what is pending with `shutting_down` and stops the thread.
  void stop();

 private:
  using Frames = std::vector<zmq::message_t>;
  struct Pending {
    Frames envelope;
    std::string id_json;
    Clock::time_point answer_by;
    Op op;
    Clock::time_point received;
  };
  struct Completion {
    uint64_t token;
    Reply reply;
  };

  void run();
  void serve_once();
  void on_request(Frames frames);
  void submit(Request r, Frames envelope, Clock::time_point received);
  void submit_list(Request r, std::vector<Provider*> targets, uint64_t token, Clock::time_point deadline);
  void complete(uint64_t token, Reply reply);
  void drain_completions();
  void expire(Clock::time_point now);
  // Sends a reply and counts it (`op` empty: the request named no op we know).
  void reply(Frames& envelope, const Reply& r, std::optional<Op> op, Clock::time_point received);

  zmq::socket_t router_;
  const Dispatcher& dispatcher_;
  Scheduler& scheduler_;
  Options options_;
  Wakeup wake_;  // workers → server thread: a reply is ready (or stop)
  std::atomic<bool> stopping_{false};
  std::thread thread_;

  // Server thread only.
  uint64_t next_token_ = 1;
  std::map<uint64_t, Pending> pending_;

  std::mutex done_mutex_;
  std::vector<Completion> done_;
};

}  // namespace berth
