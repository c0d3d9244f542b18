#include "events/pipeline.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace berth {

struct Pipeline::Track {
  Provider* provider = nullptr;
  bool polled = false;                      // cannot watch: listed every poll interval
  std::chrono::milliseconds poll_interval;
  bool holding = false;             // events wait in `held` until the list is in
  std::vector<Event> held;
  uint64_t generation = 0;          // of the newest sync; older results are stale
  bool has_baseline = false;
  std::optional<Clock::time_point> sync_due;
};

Pipeline::Pipeline(zmq::context_t& zmq, StateView& view, boost::asio::thread_pool& workers,
                   Options options)
    : pub_(zmq, zmq::socket_type::pub),
      view_(view),
      workers_(workers),
      options_(std::move(options)),
      queue_(options_.queue_capacity),
      writer_(body_) {}

Pipeline::~Pipeline() { stop(); }

Status Pipeline::bind() {
  try {
    pub_.set(zmq::sockopt::sndhwm, options_.pub_hwm);
    pub_.set(zmq::sockopt::linger, 1000);
    pub_.bind(options_.endpoint);
  } catch (const zmq::error_t& e) {
    return {Code::unavailable, "cannot bind events endpoint " + options_.endpoint + ": " + e.what()};
  }
  return {};
}

void Pipeline::add_provider(Provider& provider, std::chrono::milliseconds poll_interval) {
  const bool polled = !provider.supports(BERTH_CAP_WATCH);
  auto t = std::make_unique<Track>();
  t->provider = &provider;
  t->polled = polled;
  t->poll_interval = poll_interval;
  if (polled && provider.supports(BERTH_CAP_LIST)) t->sync_due = Clock::now();
  view_.add_provider(provider.name());
  tracks_.push_back(std::move(t));
}

Pipeline::Track& Pipeline::track(Provider* p) {
  for (auto& t : tracks_)
    if (t->provider == p) return *t;
  // Registered providers only; anything else is a bug in the daemon.
  throw std::logic_error("event from an unregistered provider " + p->name());
}

void Pipeline::start() {
  started_at_ = Clock::now();
  thread_ = std::thread([this] { run(); });
}

void Pipeline::stop() {
  if (!thread_.joinable()) return;
  queue_.close();
  thread_.join();
}

bool Pipeline::on_event(Provider& from, Event event) {
  return queue_.push(EventItem{&from, std::move(event)});
}

void Pipeline::on_state(Provider& from, berth_provider_state state, const std::string& reason) {
  queue_.push(StateItem{&from, state == BERTH_PROVIDER_UP, reason});
}

Pipeline::Stats Pipeline::stats() const {
  return {queue_.depth(), queue_.capacity(), queue_.blocked_total(), published_.load()};
}

void Pipeline::run() {
  std::vector<Item> batch;
  batch.reserve(256);
  auto next_heartbeat = Clock::now();
  for (;;) {
    auto wake = next_heartbeat;
    for (auto& t : tracks_)
      if (t->sync_due) wake = std::min(wake, *t->sync_due);
    const bool alive = queue_.pop_batch(batch, 256, wake);
    for (auto& item : batch) {
      if (auto* e = std::get_if<EventItem>(&item)) handle(*e);
      else if (auto* s = std::get_if<StateItem>(&item)) handle(*s);
      else if (auto* y = std::get_if<SyncItem>(&item)) handle(*y);
    }
    if (!alive) break;
    const auto now = Clock::now();
    run_due_syncs(now);
    if (now >= next_heartbeat) {
      publish_heartbeat();
      next_heartbeat = now + options_.heartbeat;
    }
  }
  // Held events were emitted; publish them rather than lose them.
  for (auto& t : tracks_) {
    for (const auto& e : t->held) publish_event(*t->provider, e, Origin::engine);
    t->held.clear();
  }
  publish_stopping();
}

void Pipeline::handle(EventItem& item) {
  Track& t = track(item.provider);
  if (t.holding) t.held.push_back(std::move(item.event));
  else publish_event(*item.provider, item.event, Origin::engine);
}

void Pipeline::handle(StateItem& item) {
  publish_provider_state(*item.provider, item.up, item.reason);
  Track& t = track(item.provider);
  if (item.up) start_sync(t);
}

void Pipeline::start_sync(Track& t) {
  t.sync_due.reset();
  t.holding = true;
  const uint64_t generation = ++t.generation;
  Provider* p = t.provider;
  const auto deadline = options_.list_timeout;
  boost::asio::post(workers_, [this, p, generation, deadline] {
    auto listed = p->list(CallOptions::within(deadline));
    // If the daemon is stopping the queue refuses this; the held events are
    // then flushed by run() as they are.
    queue_.push(SyncItem{p, generation, std::move(listed)});
  });
}

void Pipeline::handle(SyncItem& item) {
  Track& t = track(item.provider);
  if (item.generation != t.generation) return;  // a newer sync is under way
  Provider& p = *item.provider;
  if (!item.listed) {
    spdlog::warn("provider {}: list for resync failed: {}; retrying in 2s", p.name(),
                 item.listed.error().message());
    t.sync_due = Clock::now() + std::chrono::seconds(2);
  } else {
    std::set<std::string> pending;
    for (const auto& e : t.held) pending.insert(e.container_id);
    if (t.has_baseline)
      for (const auto& e : view_.diff(p.name(), *item.listed, pending))
        publish_event(p, e, Origin::resync);
    view_.rebase(p.name(), *item.listed, pending);
    t.has_baseline = true;
    if (t.polled) t.sync_due = Clock::now() + t.poll_interval;
  }
  for (const auto& e : t.held) publish_event(p, e, Origin::engine);
  t.held.clear();
  t.holding = false;
}

void Pipeline::run_due_syncs(Clock::time_point now) {
  for (auto& t : tracks_)
    if (t->sync_due && *t->sync_due <= now && !t->holding) start_sync(*t);
}

void Pipeline::send(std::string_view topic) {
  pub_.send(zmq::const_buffer(topic.data(), topic.size()), zmq::send_flags::sndmore);
  pub_.send(zmq::const_buffer(body_.GetString(), body_.GetSize()), zmq::send_flags::none);
  published_.fetch_add(1, std::memory_order_relaxed);
}

wire::Writer& Pipeline::fresh_body() {
  body_.Clear();
  writer_.Reset(body_);
  return writer_;
}

void Pipeline::publish_event(Provider& p, const Event& e, Origin origin) {
  const auto applied = view_.apply(p.name(), e);
  wire::write_event(fresh_body(),
                    {p.name(), e, applied.seq, applied.state, origin == Origin::resync});
  wire::container_topic(topic_, p.name(), e.type);
  send(topic_);
}

void Pipeline::publish_provider_state(Provider& p, bool up, const std::string& reason) {
  const uint64_t seq = view_.set_provider_state(p.name(), up, reason);
  spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "provider {} is {}{}{}", p.name(),
              up ? "up" : "down", reason.empty() ? "" : ": ", reason);
  wire::write_provider_message(fresh_body(), seq, p.name(), p.plugin().name(), up, reason);
  send(wire::provider_topic(p.name(), up));
}

void Pipeline::publish_heartbeat() {
  const auto s = stats();
  const auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at_);
  wire::write_heartbeat(fresh_body(), {view_.seq(), uptime.count(), s.queue_depth,
                                       s.queue_capacity, s.emit_blocked_total});
  send(wire::kHeartbeatTopic);
}

void Pipeline::publish_stopping() {
  wire::write_stopping(fresh_body(), view_.seq());
  send(wire::kStoppingTopic);
}

}  // namespace berth
