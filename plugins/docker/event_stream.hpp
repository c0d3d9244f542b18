// The Engine API's /events stream as both Docker adapters need it (docker.so
// for containers, swarm.so for services): one stream per instance on its own
// connection and thread, UP once it is open, DOWN with the reason when it
// breaks, and after a break the missed events replayed with since=/until=
// before UP again, each event delivered exactly once.
#pragma once

#include "docker_api.hpp"

#include <rapidjson/document.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace berth::docker {

class EventStream {
 public:
  // Called on the stream's thread with each event of the types asked for,
  // once, in the engine's order.
  using Deliver = std::function<void(const rapidjson::Value& event)>;

  // `types`: the Engine API's event types to follow ("container", "service").
  EventStream(Api& api, const Config& config, std::vector<std::string> types, const sdk::Host& host,
              Deliver deliver);
  ~EventStream() { stop(); }

  void start();  // returns at once; idempotent
  void stop();   // returns when nothing more will be delivered

 private:
  void loop();
  std::string target(int64_t since, int64_t until);
  std::string run(const std::string& target, const std::function<void()>& on_open);
  void replay(int64_t since, int64_t until);
  void line(std::string_view text);

  Api& api_;
  const Config& config_;
  std::string filters_;  // url-encoded {"type":[...]}
  const sdk::Host& host_;
  Deliver deliver_;
  std::mutex watch_mutex_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;  // guards stream_ and the backoff sleep
  std::condition_variable sleep_cv_;
  std::optional<http::Stream> stream_;
  // Stream thread only: the newest event time delivered, and the identities
  // of the most recent events (a replay starts kReplayOverlap before the
  // newest, so it overlaps what was delivered; these keys drop the overlap).
  static constexpr size_t kRecentKeys = 8192;
  static constexpr int64_t kReplayOverlapNs = 2'000'000'000;
  static constexpr int64_t kPodmanUntilSlackNs = 1'500'000'000;
  int64_t newest_nano_ = 0;
  int64_t floor_nano_ = 0;  // engine time when the first stream opened
  std::unordered_set<std::string> recent_;
  std::deque<std::string> recent_order_;
};

}  // namespace berth::docker
