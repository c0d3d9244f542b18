#include "events/pipeline.hpp"

#include "common/thread_name.hpp"
#include "sched/scheduler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <malloc.h>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace berth {

using namespace std::chrono_literals;

// After a reported change: when to ask once more (from the previous answer).
constexpr std::array<std::chrono::milliseconds, 2> kChangeRechecks = {250ms, 1000ms};

struct Pipeline::Track {
  Provider* provider = nullptr;
  std::chrono::milliseconds poll_interval{5000};
  bool can_watch = false, can_list = false;

  // Watching: the plugin's stream reports events and UP/DOWN.
  bool watch_started = false, watch_pending = false;
  int watch_failures = 0;
  std::optional<Clock::time_point> watch_due;

  // Listing: a baseline after UP, or a poll.
  bool holding = false;  // events wait in `held` until the list is in
  bool list_pending = false, relist = false;
  std::vector<Event> held;
  bool held_overflow = false;
  uint64_t generation = 0;  // of the newest list; older results are stale
  std::optional<Clock::time_point> sync_due;
  bool reported = false;  // some up/down was published (polling decides it)
  // A first list has been applied. Unlike the view's `synced`, which a DOWN
  // clears (subscribers must know the view may be stale), this stays: the
  // list after an outage is diffed against what was known before it.
  bool baseline = false;

  // Polling: per container id, when the newest applied observation of it
  // (a list or a status) was taken.
  std::unordered_map<std::string, Clock::time_point> observed;

  // Refs the plugin reported changed (host->changed): whether a status is
  // under way, whether another report came meanwhile (ask once more after
  // it), and the follow-up checks still to come. Engines may apply their
  // own events a little late (Swarm counts a task running after its
  // container's start event), so after its answer a report is checked
  // again twice (kChangeRechecks); a new report starts the count over.
  // At most `held_max` refs are followed at once (a new one past that asks
  // for a list instead), so the status answers they queue are bounded too.
  struct Change {
    bool asking = false, again = false;
    size_t recheck = 0;  // index into kChangeRechecks of the next one
    std::optional<Clock::time_point> due;
  };
  std::unordered_map<std::string, Change> changing;

  // Change reports queued and not yet taken by the pipeline, guarded by
  // their own lock (plugin threads add, the pipeline takes): a ref already
  // in is not queued again, and past `held_max` refs the reports are
  // dropped for one more list instead, as held events are. What a plugin
  // reports can therefore never grow the queue without bound.
  std::mutex inbox_mutex;
  std::unordered_set<std::string> inbox;
  bool inbox_overflow = false;

  bool polling() const { return !watch_started && can_list; }

  // Read by other threads.
  std::atomic<uint64_t> resyncs{0}, held_overflows{0}, failures{0};
  std::atomic<bool> polled{false};
};

Pipeline::Pipeline(EventSink& sink, StateView& view, Scheduler& scheduler, Options options)
    : sink_(sink), view_(view), scheduler_(scheduler), options_(options), queue_(options_.queue_capacity) {}

Pipeline::~Pipeline() { stop(); }

void Pipeline::add_provider(Provider& provider, std::chrono::milliseconds poll_interval) {
  auto t = std::make_unique<Track>();
  t->provider = &provider;
  t->poll_interval = poll_interval;
  t->can_watch = provider.supports(BERTH_CAP_WATCH);
  t->can_list = provider.supports(BERTH_CAP_LIST);
  view_.add_provider(provider.name());
  tracks_.push_back(std::move(t));
}

Pipeline::Track& Pipeline::track(Provider* p) {
  for (auto& t : tracks_)
    if (t->provider == p) return *t;
  // Registered providers only; anything else is a bug in the daemon.
  throw std::logic_error("message from an unregistered provider " + p->name());
}

void Pipeline::start() {
  started_at_ = Clock::now();
  thread_ = std::thread([this] {
    name_this_thread("pipeline");
    run();
  });
}

void Pipeline::stop() {
  if (!thread_.joinable()) return;
  queue_.close();
  thread_.join();
}

bool Pipeline::on_event(Provider& from, Event event) {
  return queue_.push(std::in_place_type<EventItem>, &from, std::move(event));
}

// Bounded like events (a plugin flapping up and down waits for room): only
// the results of the pipeline's own requests bypass the bound.
void Pipeline::on_state(Provider& from, berth_provider_state state, const std::string& reason) {
  queue_.push(StateItem{&from, state == BERTH_PROVIDER_UP, reason});
}

void Pipeline::on_op(Provider& from, const OpNotice& notice, const CallOptions& o) {
  // A provider that cannot watch reports nothing by itself: ask it, now,
  // while this op still holds its container, so the next op cannot race the
  // answer and the event is queued before the client hears "ok".
  if (!notice.done || notice.ref.empty() || !from.supports(BERTH_CAP_STATUS)) return;
  if (notice.op == protocol::Op::create && !notice.result) return;  // nothing was made
  const Track* t = nullptr;
  for (const auto& k : tracks_)
    if (k->provider == &from) t = k.get();
  if (t == nullptr || !t->polled.load()) return;
  const auto started = Clock::now();
  auto status = from.status(notice.ref, CallOptions::within(std::chrono::seconds(10), o.stop));
  queue_.push_now(StatusItem{&from, notice.ref, started, std::move(status)});
}

void Pipeline::on_changed(Provider& from, std::string ref) {
  Track& t = track(&from);
  {
    std::lock_guard lock(t.inbox_mutex);
    if (t.inbox_overflow || t.inbox.count(ref)) return;
    if (t.inbox.size() >= options_.held_max) {
      t.inbox_overflow = true;
      ref.clear();  // the item below asks for a list instead
    } else {
      t.inbox.insert(ref);
    }
  }
  queue_.push_now(ChangedItem{&from, std::move(ref)});
}

Pipeline::Stats Pipeline::stats() const {
  return {queue_.depth(), queue_.capacity(), queue_.blocked_total(), published_.load()};
}

Pipeline::ProviderStats Pipeline::provider_stats(const Provider& p) const {
  for (const auto& t : tracks_)
    if (t->provider == &p) return {t->resyncs.load(), t->held_overflows.load(), t->failures.load(), t->polled.load()};
  return {};
}

void Pipeline::run() {
  for (auto& t : tracks_) begin(*t);
  std::vector<Item> batch;
  auto next_heartbeat = Clock::now();
  for (;;) {
    const bool alive = queue_.pop_all(batch, std::min(next_heartbeat, next_due()));
    for (auto& item : batch) {
      // Last resort: one bad message fails itself, not the daemon.
      try {
        std::visit([this](auto& i) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(i)>, std::monostate>) handle(i);
        }, item);
      } catch (const std::exception& e) {
        spdlog::error("pipeline: a message was dropped: {}", e.what());
      }
    }
    if (!alive) break;
    const auto now = Clock::now();
    try {  // last resort, as for each message above
      run_due(now);
      if (now >= next_heartbeat) {
        publish_heartbeat();
        next_heartbeat = now + options_.heartbeat;
      }
    } catch (const std::exception& e) {
      spdlog::error("pipeline: {}", e.what());
      next_heartbeat = now + options_.heartbeat;
    }
  }
  // Held events were emitted; publish them rather than lose them.
  for (auto& t : tracks_) {
    for (const auto& e : t->held) publish_event(*t->provider, e, Origin::engine);
    t->held.clear();
  }
  sink_.stopping(view_.seq());
}

// ----------------------------------------------------------- the schedule

void Pipeline::begin(Track& t) {
  if (t.can_watch) start_watch(t);
  else if (t.can_list) t.sync_due = Clock::now();
  else publish_provider_state(t, true, "can neither watch nor list: no events");
  t.polled = t.polling();
}

Clock::time_point Pipeline::next_due() const {
  auto due = Clock::time_point::max();
  for (const auto& t : tracks_) {
    if (t->sync_due && !t->list_pending) due = std::min(due, *t->sync_due);
    if (t->watch_due && !t->watch_pending) due = std::min(due, *t->watch_due);
    for (const auto& [ref, c] : t->changing)
      if (c.due) due = std::min(due, *c.due);
  }
  return due;
}

void Pipeline::run_due(Clock::time_point now) {
  for (auto& t : tracks_) {
    if (t->watch_due && *t->watch_due <= now && !t->watch_pending) start_watch(*t);
    if (t->sync_due && *t->sync_due <= now && !t->list_pending) start_sync(*t);
    for (auto& [ref, c] : t->changing)
      if (c.due && *c.due <= now && !c.asking) {
        c.due.reset();
        c.asking = true;
        ask_status(*t, ref);
      }
  }
}

void Pipeline::start_watch(Track& t) {
  t.watch_due.reset();
  t.watch_pending = true;
  Provider* p = t.provider;
  const auto deadline = Clock::now() + options_.list_timeout;
  auto done = [this, p](Status st) { queue_.push_now(WatchItem{p, std::move(st)}); };
  Status queued = scheduler_.submit({p, Scheduler::Lane::read, {}, "watch", {}, deadline,
                                     [p, done](const CallOptions& o) { done(p->watch_start(o)); }, done});
  if (!queued) done(queued);
}

void Pipeline::handle(WatchItem& item) {
  Track& t = track(item.provider);
  t.watch_pending = false;
  if (item.started) {
    if (t.watch_failures > 0) spdlog::info("provider {}: watching again", t.provider->name());
    t.watch_started = true;
    t.watch_failures = 0;
    t.polled = false;
    if (!t.list_pending) t.sync_due.reset();  // the plugin's UP starts the sync now
    return;
  }
  if (item.started.code() == Code::shutting_down) return;
  // Capped exponential backoff: 1 s, 2 s, 4 s, ... up to watch_retry_max.
  const auto backoff = std::min<std::chrono::milliseconds>(
      options_.watch_retry_max, 1000ms * (1 << std::min(t.watch_failures, 15)));
  ++t.watch_failures;
  ++t.failures;
  spdlog::error("provider {}: watch failed: {}; retrying in {} ms{}", t.provider->name(),
                item.started.message(), backoff.count(), t.can_list ? ", polling meanwhile" : "");
  t.watch_due = Clock::now() + backoff;
  if (!t.reported || view_.up(t.provider->name()))
    publish_provider_state(t, false, "watch failed: " + item.started.message());
  if (t.can_list && !t.sync_due && !t.list_pending) t.sync_due = Clock::now();
  t.polled = t.polling();
}

// ----------------------------------------------------------- listing

void Pipeline::start_sync(Track& t) {
  t.sync_due.reset();
  if (t.list_pending) {
    t.relist = true;  // after the one under way
    return;
  }
  t.holding = true;
  t.list_pending = true;
  const uint64_t generation = ++t.generation;
  Provider* p = t.provider;
  const std::string name = p->name();
  auto done = [this, p, generation](Clock::time_point started, Result<std::vector<Container>> r) {
    queue_.push_now(ListItem{p, generation, started, std::move(r)});
  };
  auto body = [this, p, name, done](const CallOptions& o) {
    const auto started = Clock::now();
    auto listed = p->list(o);
    if (listed && p->supports(BERTH_CAP_INSPECT)) {
      // A container that stopped while nobody watched: its exit time is in
      // the engine's detail (Docker's list lacks it), so the resync event
      // can carry it.
      for (auto& c : *listed) {
        if (c.state != BERTH_STATE_STOPPED || c.finished_unix_ms > 0) continue;
        auto before = view_.state_of(name, c.id);
        if (!before || (*before != BERTH_STATE_RUNNING && *before != BERTH_STATE_PAUSED)) continue;
        if (auto full = p->inspect(c.id, o)) {
          c.finished_unix_ms = full->finished_unix_ms;
          if (full->exit_code) c.exit_code = full->exit_code;
        }
      }
    }
    done(started, std::move(listed));
  };
  Status queued = scheduler_.submit({p, Scheduler::Lane::read, {}, std::string(protocol::op_name(protocol::Op::list)), {},
                                     Clock::now() + options_.list_timeout, body,
                                     [done](const Status& why) { done(Clock::now(), why); }});
  if (!queued) done(Clock::now(), queued);
}

std::set<std::string> Pipeline::leave_alone(Track& t, Clock::time_point taken, const std::vector<Container>& seen) {
  std::set<std::string> ids;
  for (const auto& e : t.held) ids.insert(e.container_id);
  for (const auto& [id, at] : t.observed)
    if (at > taken) ids.insert(id);
  for (const auto& c : seen)
    if (!ids.count(c.id)) t.observed[c.id] = taken;
  return ids;
}

void Pipeline::handle(ListItem& item) {
  Track& t = track(item.provider);
  if (item.generation != t.generation) return;  // a newer list is under way
  t.list_pending = false;
  Provider& p = *item.provider;
  const bool polled = t.polling();
  const size_t listed_count = item.listed ? item.listed->size() : 0;
  if (t.held_overflow) {
    // Held events were dropped: this list may predate them. List again; the
    // new list reflects them, and the diff publishes what they said.
    t.held_overflow = false;
    start_sync(t);
    return;
  }
  if (!item.listed) {
    const auto retry = polled ? t.poll_interval : std::chrono::milliseconds(2000);
    if (item.listed.error().code() != Code::shutting_down) {
      spdlog::warn("provider {}: list failed: {}; retrying in {} ms", p.name(),
                   item.listed.error().message(), retry.count());
      t.sync_due = Clock::now() + retry;
    }
    if (polled && (!t.reported || view_.up(p.name())))
      publish_provider_state(t, false, item.listed.error().message());
  } else {
    if (polled && !view_.up(p.name()))
      publish_provider_state(t, true, fmt::format("polling every {} ms", t.poll_interval.count()));
    const auto alone = leave_alone(t, item.started, *item.listed);
    if (t.baseline) {
      const auto events = view_.diff(p.name(), *item.listed, alone);
      if (!events.empty() && !polled) ++t.resyncs;
      for (const auto& e : events) publish_event(p, e, polled ? Origin::poll : Origin::resync);
    }
    view_.rebase(p.name(), std::move(*item.listed), alone);
    t.baseline = true;
    if (polled) t.sync_due = Clock::now() + t.poll_interval;
    // Containers gone from a whole list need no observation time.
    std::erase_if(t.observed, [&](const auto& kv) { return !view_.state_of(p.name(), kv.first).has_value(); });
  }
  for (const auto& e : t.held) publish_event(p, e, Origin::engine);
  t.held.clear();
  t.held.shrink_to_fit();
  t.holding = false;
  // A big list was built on a worker thread's malloc arena: give what it
  // left there back, or RSS keeps the high-water mark of every sync.
  if (listed_count >= 1000) {
    item.listed = std::vector<Container>{};
    malloc_trim(0);
  }
  if (t.relist) {
    t.relist = false;
    start_sync(t);
  }
}

// ----------------------------------------------------------- ops

// A reported change: one status call per ref at a time, however many
// reports arrive while it runs (they are merged into one more call after it).
void Pipeline::handle(ChangedItem& item) {
  Track& t = track(item.provider);
  bool flooded;  // more reports than the inbox holds: they were dropped
  {
    std::lock_guard lock(t.inbox_mutex);
    flooded = item.ref.empty();
    if (flooded) {
      t.inbox_overflow = false;
      t.inbox.clear();
    } else {
      t.inbox.erase(item.ref);
    }
  }
  if (flooded) return list_instead(t, "changes reported at once");
  if (!t.changing.count(item.ref) && t.changing.size() >= options_.held_max)
    return list_instead(t, "changed containers followed at once");
  auto& c = t.changing[item.ref];
  c.recheck = 0;  // a new report restarts the follow-ups
  if (c.asking) {
    c.again = true;
    return;
  }
  c.due.reset();
  c.asking = true;
  ask_status(t, item.ref);
}

// Too many changes to follow one by one: one list tells them all.
void Pipeline::list_instead(Track& t, std::string_view too_many) {
  ++t.held_overflows;
  if (!t.list_pending)  // once per list, not once per report
    spdlog::warn("provider {}: more than {} {}; listing it instead", t.provider->name(), options_.held_max, too_many);
  start_sync(t);
}

void Pipeline::ask_status(Track& t, const std::string& ref) {
  Provider* p = t.provider;
  auto done = [this, p, ref](Clock::time_point started, Result<Container> r) {
    queue_.push_now(StatusItem{p, ref, started, std::move(r), Origin::engine, true});
  };
  Status queued = scheduler_.submit({p, Scheduler::Lane::read, {}, std::string(protocol::op_name(protocol::Op::status)), ref,
                                     Clock::now() + options_.list_timeout,
                                     [p, ref, done](const CallOptions& o) {
                                       const auto started = Clock::now();
                                       done(started, p->status(ref, o));
                                     },
                                     [done](const Status& why) { done(Clock::now(), why); }});
  if (!queued) done(Clock::now(), queued);
}

void Pipeline::handle(StatusItem& item) {
  Track& t = track(item.provider);
  Provider& p = *item.provider;
  if (item.changed) {
    auto it = t.changing.find(item.ref);
    if (it != t.changing.end()) {
      auto& c = it->second;
      c.asking = false;
      const bool gone = !item.status && item.status.error().code() == Code::not_found;
      if (c.again) {
        c.again = false;
        c.asking = true;
        ask_status(t, item.ref);  // reported again meanwhile: this answer may be stale
      } else if (!gone && c.recheck < kChangeRechecks.size()) {
        c.due = Clock::now() + kChangeRechecks[c.recheck++];
      } else {
        t.changing.erase(it);
      }
    }
    if (!item.status && item.status.error().code() != Code::not_found)
      spdlog::warn("provider {}: status of changed {} failed: {}", p.name(), item.ref, item.status.error().message());
  }
  if (!t.baseline) return;  // the first list is the baseline
  if (!item.status) {
    if (item.status.error().code() != Code::not_found) return;  // the next poll will tell
    // Gone: removed by the op (or by someone else).
    auto id = view_.resolve(p.name(), item.ref);
    if (!id) return;
    if (t.holding || leave_alone(t, item.started, {}).count(*id)) return;
    t.observed.erase(*id);
    Event e;
    e.type = BERTH_EVENT_DESTROYED;
    e.raw_action = "resync";
    e.container_id = *id;
    publish_event(p, e, item.origin);
    return;
  }
  const std::vector<Container> one{*item.status};
  auto alone = leave_alone(t, item.started, one);
  for (const auto& e : view_.diff(p.name(), one, alone, false)) publish_event(p, e, item.origin);
  view_.rebase(p.name(), std::vector<Container>{*item.status}, alone, false);
}

// ----------------------------------------------------------- engine reports

void Pipeline::handle(EventItem& item) {
  Track& t = track(item.provider);
  if (!t.holding) return publish_event(*item.provider, item.event, Origin::engine);
  if (t.held.size() >= options_.held_max) {
    if (!t.held_overflow)
      spdlog::warn("provider {}: more than {} events arrived during its sync; listing again instead",
                   item.provider->name(), options_.held_max);
    t.held_overflow = true;
    ++t.held_overflows;
    t.held.clear();
    return;
  }
  t.held.push_back(std::move(item.event));
}

void Pipeline::handle(StateItem& item) {
  Track& t = track(item.provider);
  publish_provider_state(t, item.up, item.reason);
  if (item.up) start_sync(t);
}

// ----------------------------------------------------------- publishing

void Pipeline::publish_event(Provider& p, const Event& e, Origin origin) {
  const auto applied = view_.apply(p.name(), e);
  sink_.container_event(p.name(), e, applied.seq, applied.state, origin);
  published_.fetch_add(1, std::memory_order_relaxed);
}

void Pipeline::publish_provider_state(Track& t, bool up, const std::string& reason) {
  Provider& p = *t.provider;
  t.reported = true;
  const uint64_t seq = view_.set_provider_state(p.name(), up, reason);
  spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "provider {} is {}{}{}", p.name(),
              up ? "up" : "down", reason.empty() ? "" : ": ", reason);
  sink_.provider_state(p.name(), p.plugin().name(), up, reason, seq);
  published_.fetch_add(1, std::memory_order_relaxed);
}

void Pipeline::publish_heartbeat() {
  const auto s = stats();
  const auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at_);
  sink_.heartbeat({view_.seq(), uptime.count(), s.queue_depth, s.queue_capacity, s.emit_blocked_total});
}

}  // namespace berth
