// docker.so: the Docker Engine as a berth provider. Ops map one-to-one to
// Engine API calls; the watcher keeps one /events stream per instance, on
// its own connection and thread, and replays what it missed after a break.
#include "docker_api.hpp"

#include <rapidjson/document.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <unordered_set>
#include <thread>

namespace berth::docker {
namespace {

using sdk::Error;
using namespace std::chrono_literals;

std::string path_id(const std::string& ref) { return "/containers/" + http::url_encode(ref); }

std::string since_arg(int64_t nano) {  // Docker takes "seconds.nanoseconds"
  std::string frac = std::to_string(nano % 1000000000);
  return std::to_string(nano / 1000000000) + "." + std::string(9 - frac.size(), '0') + frac;
}

class Docker final : public sdk::Instance {
 public:
  Docker(std::string name, const std::string& config, berth_host_ctx* ctx)
      : Instance(std::move(name), ctx), config_(parse_config(config)), api_(config_) {
    if (config_.tls.insecure)
      host().log(BERTH_LOG_WARN, "TLS verification is OFF for " + config_.host + " (tls.insecure)");
  }
  ~Docker() override { watch_stop(); }

  uint64_t capabilities() const override {
    return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
           BERTH_CAP_KILL | BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE | BERTH_CAP_RESTART | BERTH_CAP_WATCH |
           BERTH_CAP_STOP_SIGNAL | BERTH_CAP_KILL_SIGNAL | BERTH_CAP_CREATE | BERTH_CAP_REMOVE;
  }

  void list(sdk::Call& call, const sdk::Sink& sink) override {
    containers_from_list(api_.call("GET", "/containers/json?all=1", limits_of(call)), sink);
  }
  sdk::Container inspect(sdk::Call& call, const std::string& ref) override {
    return container_from_inspect(api_.call("GET", path_id(ref) + "/json", limits_of(call)));
  }
  void start(sdk::Call& call, const std::string& ref) override {
    api_.call("POST", path_id(ref) + "/start", limits_of(call));
  }
  void stop(sdk::Call& call, const std::string& ref, const char* signal, int32_t timeout_s) override {
    const auto limits = limits_of(call);
    std::string query = timeout_s >= 0 ? "?t=" + std::to_string(timeout_s) : "";
    if (signal && !api_.at_least("1.42")) return stop_with_signal(call, ref, signal, timeout_s);
    if (signal) query += (query.empty() ? "?signal=" : "&signal=") + http::url_encode(signal);
    api_.call("POST", path_id(ref) + "/stop" + query, limits);
  }
  void kill(sdk::Call& call, const std::string& ref, const char* signal) override {
    std::string query = signal ? "?signal=" + http::url_encode(signal) : "";
    // Killing a stopped container: its goal (not running) already holds.
    reaching(call, ref, BERTH_STATE_STOPPED, [&] { api_.call("POST", path_id(ref) + "/kill" + query, limits_of(call)); });
  }
  void pause(sdk::Call& call, const std::string& ref) override {
    reaching(call, ref, BERTH_STATE_PAUSED, [&] { api_.call("POST", path_id(ref) + "/pause", limits_of(call)); });
  }
  void unpause(sdk::Call& call, const std::string& ref) override {
    reaching(call, ref, BERTH_STATE_RUNNING, [&] { api_.call("POST", path_id(ref) + "/unpause", limits_of(call)); });
  }
  void restart(sdk::Call& call, const std::string& ref, int32_t timeout_s) override {
    std::string query = timeout_s >= 0 ? "?t=" + std::to_string(timeout_s) : "";
    api_.call("POST", path_id(ref) + "/restart" + query, limits_of(call));
  }

  sdk::Container create_container(sdk::Call& call, const sdk::CreateSpec& spec) override {
    const auto limits = limits_of(call);
    ensure_image(spec.image, spec.pull, limits);
    // Docker creates a container on a network that does not exist and
    // fails only at its start; berth says so at the create, naming it.
    if (!spec.network.empty() && spec.network.rfind("container:", 0) != 0) {
      try {
        api_.call("GET", "/networks/" + http::url_encode(spec.network), limits);
      } catch (const Error& e) {
        if (e.code() == BERTH_E_NOT_FOUND)
          throw Error(BERTH_E_NOT_FOUND, "network " + spec.network + " not found (berth never creates networks)");
        throw;
      }
    }
    std::string query = spec.name.empty() ? "" : "?name=" + http::url_encode(spec.name);
    std::string created;
    try {
      created = api_.call("POST", "/containers/create" + query, limits, create_body(spec));
    } catch (const Error& e) {
      // Podman words a missing network as a 500; berth calls it not_found.
      const std::string_view what = e.what();
      if (e.code() == BERTH_E_INTERNAL && what.find("network") != what.npos && what.find("not found") != what.npos)
        throw Error(BERTH_E_NOT_FOUND, e.what());
      throw;
    }
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(created.c_str());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("Id") || !d["Id"].IsString())
      throw Error(BERTH_E_INTERNAL, "malformed engine response to create: no Id");
    return inspect(call, d["Id"].GetString());
  }
  void remove(sdk::Call& call, const std::string& ref, bool force) override {
    try {
      api_.call("DELETE", path_id(ref) + (force ? "?force=1" : "?force=0"), limits_of(call));
    } catch (const Error& e) {
      if (e.code() == BERTH_E_NOT_FOUND) return;  // gone already: the goal holds
      const std::string_view what = e.what();
      // Podman refuses a running container with a 500; Docker with a 409.
      if (e.code() == BERTH_E_INTERNAL && what.find("running") != what.npos) throw Error(BERTH_E_CONFLICT, e.what());
      throw;
    }
  }

  void watch_start(sdk::Call&) override {
    std::lock_guard lock(watch_mutex_);
    if (watcher_.joinable()) return;
    stopping_ = false;
    watcher_ = std::thread([this] { host().run_guarded("docker event watcher", [this] { watch_loop(); }); });
  }
  void watch_stop() override {
    std::lock_guard lock(watch_mutex_);
    if (!watcher_.joinable()) return;
    {
      std::lock_guard s(sleep_mutex_);
      stopping_ = true;
      if (stream_) stream_->stop();
    }
    sleep_cv_.notify_all();
    watcher_.join();
  }

 private:
  // The engine refuses some ops whose goal already holds (pause a paused
  // container: 409; unpause a running one: 500 "is not paused"). provider.h
  // says those succeed. Only on that error path, one inspect decides: the
  // goal holds → success; otherwise the container is in the wrong state for
  // the op → conflict, with the engine's words.
  template <class Fn>
  void reaching(sdk::Call& call, const std::string& ref, berth_state goal, Fn&& op) {
    try {
      op();
    } catch (const Error& e) {
      if (e.code() != BERTH_E_CONFLICT && e.code() != BERTH_E_INTERNAL) throw;
      const berth_state now = inspect(call, ref).state;
      if (now == goal) return;
      throw Error(BERTH_E_CONFLICT, e.what());
    }
  }

  // The image is there when the create needs it, as the pull policy says.
  void ensure_image(const std::string& image, berth_pull_policy pull, const http::Limits& limits) {
    if (pull != BERTH_PULL_ALWAYS) {
      try {
        api_.call("GET", "/images/" + http::url_encode(image) + "/json", limits);
        return;
      } catch (const Error& e) {
        if (e.code() != BERTH_E_NOT_FOUND) throw;
        if (pull == BERTH_PULL_NEVER)
          throw Error(BERTH_E_NOT_FOUND, "image " + image + " is not present and the pull policy is never");
      }
    }
    std::string progress;
    try {
      progress = api_.call("POST", "/images/create?fromImage=" + http::url_encode(image_with_tag(image)), limits);
    } catch (const Error& e) {
      if (e.code() == BERTH_E_NOT_FOUND || e.code() == BERTH_E_TIMEOUT || e.code() == BERTH_E_PERMISSION_DENIED)
        throw Error(e.code(), "pulling image " + image + ": " + e.what());
      throw Error(BERTH_E_UNAVAILABLE, "pulling image " + image + ": " + e.what());
    }
    if (auto why = pull_error(progress); !why.empty()) {
      const bool missing = why.find("not found") != why.npos || why.find("manifest unknown") != why.npos ||
                           why.find("does not exist") != why.npos || why.find("pull access denied") != why.npos;
      throw Error(missing ? BERTH_E_NOT_FOUND : BERTH_E_UNAVAILABLE, "pulling image " + image + ": " + why);
    }
  }

  // Engines before API 1.42 take no signal on /stop: send it with /kill,
  // wait for the exit up to the timeout, then SIGKILL, as dockerd would.
  void stop_with_signal(sdk::Call& call, const std::string& ref, const char* signal, int32_t timeout_s) {
    const auto limits = limits_of(call);
    api_.call("POST", path_id(ref) + "/kill?signal=" + http::url_encode(signal), limits);
    http::Limits wait = limits;
    wait.deadline = std::min(limits.deadline, http::Clock::now() + std::chrono::seconds(timeout_s < 0 ? 10 : timeout_s));
    try {
      api_.call("POST", path_id(ref) + "/wait?condition=not-running", wait);
    } catch (const Error& e) {
      if (e.code() != BERTH_E_TIMEOUT || http::Clock::now() >= limits.deadline) throw;
      api_.call("POST", path_id(ref) + "/kill", limits);
    }
  }

  // ------------------------------------------------------------ events

  void watch_loop() {
    auto backoff = 100ms;
    bool up = false, reported = false;
    while (!stopping_) {
      std::string why;
      try {
        const http::Limits limits{http::Clock::now() + std::chrono::milliseconds(config_.connect_timeout_ms), {}};
        api_.negotiate(limits);
        // The engine's clock, so since=/until= mean what the engine thinks.
        rapidjson::Document info;
        const std::string body = api_.call("GET", "/info", limits);
        info.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
        int64_t engine_now = info.IsObject() && info.HasMember("SystemTime") && info["SystemTime"].IsString()
                                 ? parse_time_ns(info["SystemTime"].GetString()) : 0;
        if (engine_now == 0) throw Error(BERTH_E_INTERNAL, "engine /info has no SystemTime");
        // Replay what happened while we were away, before saying UP: the
        // core's resync then sees a state that already includes it.
        // Never replay from before the first stream: the core's first list
        // already covers that.
        if (floor_nano_ == 0) floor_nano_ = newest_nano_ = engine_now;
        else replay(std::max(floor_nano_, newest_nano_ - kReplayOverlapNs), engine_now);
        why = stream_events(engine_now, [&] {
          up = reported = true;
          backoff = 100ms;
          host().provider_state(BERTH_PROVIDER_UP, "events stream open on " + config_.host);
        });
      } catch (const Error& e) {
        why = e.what();
      }
      if (stopping_) break;
      if (up || !reported) host().provider_state(BERTH_PROVIDER_DOWN, why);
      up = false;
      reported = true;
      std::unique_lock lock(sleep_mutex_);
      sleep_cv_.wait_for(lock, backoff, [&] { return stopping_.load(); });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(config_.reconnect_max_ms));
    }
  }

  std::string events_target(int64_t since, int64_t until) {
    const http::Limits limits{http::Clock::now() + 5s, {}};
    std::string t = api_.prefix(limits) + "/events?filters=" + http::url_encode(R"({"type":["container"]})") +
                    "&since=" + since_arg(since);
    if (until > 0) t += "&until=" + since_arg(until);
    return t;
  }

  // Returns why the stream ended.
  std::string run_stream(const std::string& target, const std::function<void()>& on_open) {
    {
      std::lock_guard lock(sleep_mutex_);
      if (stopping_) return "stopping";
      stream_.emplace(api_.endpoint());
    }
    std::string pending;
    auto r = stream_->run({"GET", target}, std::chrono::milliseconds(config_.connect_timeout_ms), on_open,
                          [&](std::string_view data) {
                            pending.append(data);
                            size_t start = 0;
                            for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
                              deliver(std::string_view(pending).substr(start, nl - start));
                            pending.erase(0, start);
                          });
    {
      std::lock_guard lock(sleep_mutex_);
      stream_.reset();
    }
    if (!r.ok()) return r.error;
    if (r.status / 100 != 2) return "GET /events answered HTTP " + std::to_string(r.status) + " " + r.body;
    return "event stream ended";
  }

  void replay(int64_t since, int64_t until) {
    auto why = run_stream(events_target(since, until), [] {});
    if (why != "event stream ended") throw Error(BERTH_E_UNAVAILABLE, "replay since " + since_arg(since) + ": " + why);
  }
  std::string stream_events(int64_t since, const std::function<void()>& on_open) {
    return run_stream(events_target(since, 0), on_open);
  }

  // Emits one event unless it was already delivered. Docker stamps events
  // before ordering them, so under load they may arrive slightly out of time
  // order: dedupe by exact identity (time, id, action), never by "older than
  // the newest seen".
  void deliver(std::string_view line) {
    auto raw = event_from_json(line);
    if (!raw) return;
    std::string key = std::to_string(raw->time_nano) + '/' + raw->event.container_id + '/' + raw->event.raw_action;
    if (!recent_.insert(key).second) return;
    recent_order_.push_back(std::move(key));
    if (recent_order_.size() > kRecentKeys) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
    newest_nano_ = std::max(newest_nano_, raw->time_nano);
    host().emit(raw->event);
  }

  Config config_;
  Api api_;
  std::mutex watch_mutex_;
  std::thread watcher_;
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;  // guards stream_ and the backoff sleep
  std::condition_variable sleep_cv_;
  std::optional<http::Stream> stream_;
  // Watcher thread only: the newest event time delivered, and the identities
  // of the most recent events (a replay starts kReplayOverlap before the
  // newest, so it overlaps what was delivered; these keys drop the overlap).
  static constexpr size_t kRecentKeys = 8192;
  static constexpr int64_t kReplayOverlapNs = 2'000'000'000;
  int64_t newest_nano_ = 0;
  int64_t floor_nano_ = 0;  // engine time when the first stream opened
  std::unordered_set<std::string> recent_;
  std::deque<std::string> recent_order_;
};

}  // namespace
}  // namespace berth::docker

BERTH_DEFINE_PROVIDER(berth::docker::Docker, "docker", "0.1.0",
                      "Docker Engine API (unix, tcp, tls), with event replay", 0)
