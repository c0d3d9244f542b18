#include "event_stream.hpp"

namespace berth::docker {
namespace {

using sdk::Error;
using namespace std::chrono_literals;

std::string since_arg(int64_t nano) {  // the engine takes "seconds.nanoseconds"
  std::string frac = std::to_string(nano % 1000000000);
  return std::to_string(nano / 1000000000) + "." + std::string(9 - frac.size(), '0') + frac;
}

const char* text(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

const rapidjson::Value& actor(const rapidjson::Value& event) {
  static const rapidjson::Value none;
  auto it = event.FindMember("Actor");
  return it != event.MemberEnd() ? it->value : none;
}

}  // namespace

EventStream::EventStream(Api& api, const Config& config, std::vector<std::string> types, const sdk::Host& host,
                         Deliver deliver)
    : api_(api), config_(config), host_(host), deliver_(std::move(deliver)) {
  std::string list;
  for (const auto& t : types) list += (list.empty() ? "\"" : ",\"") + t + "\"";
  filters_ = http::url_encode("{\"type\":[" + list + "]}");
}

void EventStream::start() {
  std::lock_guard lock(watch_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { host_.run_guarded("event watcher", [this] { loop(); }); });
}

void EventStream::stop() {
  std::lock_guard lock(watch_mutex_);
  if (!thread_.joinable()) return;
  {
    std::lock_guard s(sleep_mutex_);
    stopping_ = true;
    if (stream_) stream_->stop();
  }
  sleep_cv_.notify_all();
  thread_.join();
}

void EventStream::loop() {
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
      const int64_t engine_now = parse_time_ns(text(info, "SystemTime"));
      if (engine_now == 0) throw Error(BERTH_E_INTERNAL, "engine /info has no SystemTime");
      // Replay what happened while we were away, before saying UP: the
      // core's resync then sees a state that already includes it. Never
      // replay from before the first stream: the core's first list covers
      // that. Podman 4.3 answers an `until` that is not in the future with
      // nothing at all, so its replay runs a little past the engine's clock;
      // the overlap with the live stream is deduplicated like any other.
      if (floor_nano_ == 0) floor_nano_ = newest_nano_ = engine_now;
      else
        replay(std::max(floor_nano_, newest_nano_ - kReplayOverlapNs),
               engine_now + (api_.podman() ? kPodmanUntilSlackNs : 0));
      why = run(target(engine_now, 0), [&] {
        up = reported = true;
        backoff = 100ms;
        host_.provider_state(BERTH_PROVIDER_UP, "events stream open on " + config_.host);
      });
    } catch (const Error& e) {
      why = e.what();
    }
    if (stopping_) break;
    if (up || !reported) host_.provider_state(BERTH_PROVIDER_DOWN, why);
    up = false;
    reported = true;
    std::unique_lock lock(sleep_mutex_);
    sleep_cv_.wait_for(lock, backoff, [&] { return stopping_.load(); });
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(config_.reconnect_max_ms));
  }
}

std::string EventStream::target(int64_t since, int64_t until) {
  const http::Limits limits{http::Clock::now() + 5s, {}};
  std::string t = api_.prefix(limits) + "/events?filters=" + filters_ + "&since=" + since_arg(since);
  if (until > 0) t += "&until=" + since_arg(until);
  return t;
}

// Returns why the stream ended.
std::string EventStream::run(const std::string& target, const std::function<void()>& on_open) {
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
                            line(std::string_view(pending).substr(start, nl - start));
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

void EventStream::replay(int64_t since, int64_t until) {
  auto why = run(target(since, until), [] {});
  if (why != "event stream ended") throw Error(BERTH_E_UNAVAILABLE, "replay since " + since_arg(since) + ": " + why);
}

// Delivers one event unless it was already delivered. Engines stamp events
// before ordering them, so under load they may arrive slightly out of time
// order: dedupe by exact identity (time, type, id, action), never by "older
// than the newest seen".
void EventStream::line(std::string_view json) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return;
  const auto nano = event_time_ns(d);
  std::string key = std::to_string(nano) + '/' + text(d, "Type") + '/' + text(actor(d), "ID") + '/' + text(d, "Action");
  if (!recent_.insert(key).second) return;
  recent_order_.push_back(std::move(key));
  if (recent_order_.size() > kRecentKeys) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
  newest_nano_ = std::max(newest_nano_, nano);
  deliver_(d);
}

}  // namespace berth::docker
