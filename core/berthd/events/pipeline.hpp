// The pipeline: the one thread that changes the state view and numbers what
// is published, and the one owner of every provider's synchronisation.
//
//   plugin threads ─ emit/provider_state ─▶ queue ─▶ pipeline ─▶ StateView (seq)
//   op threads ───── op begin/end, list/status results ─┘            └▶ EventSink
//
// Per provider it decides, once for every plugin:
//  - watching providers: watch_start (retried with capped backoff when it
//    fails; the provider is polled meanwhile if it can list); on each UP
//    report, list and publish what changed during the outage (origin
//    "resync"), holding the stream's events until the list is in so that none
//    falls between list and stream;
//  - providers that cannot watch: list every poll interval, and right after
//    each lifecycle op (on the op's thread, before its reply and before the
//    next op on that container) ask status() of that container; publish the
//    differences (origin "poll"). Observations of one container are applied
//    in the order they were taken, so a slow poll never contradicts a newer
//    status. Up and down follow whether list succeeds.
// Held events are bounded: past `held_max` they are dropped and the provider
// is listed again, so what they said comes back as resync events.
#pragma once

#include "events/event_queue.hpp"
#include "events/sink.hpp"
#include "plugin/provider.hpp"
#include "state/state_view.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace berth {

class Scheduler;

class Pipeline final : public ProviderListener {
 public:
  struct Options {
    std::chrono::milliseconds heartbeat{1000};
    size_t queue_capacity = 65536;
    size_t held_max = 65536;
    std::chrono::milliseconds list_timeout{30000};
    std::chrono::milliseconds watch_retry_max{30000};
  };

  Pipeline(EventSink& sink, StateView& view, Scheduler& scheduler, Options options);
  ~Pipeline() override;

  // Registers a provider (before start()).
  void add_provider(Provider& provider, std::chrono::milliseconds poll_interval);
  // Starts the pipeline; it starts each provider's watch or polling.
  void start();
  // Refuses new events, publishes what is queued, says "stopping", joins.
  void stop();

  bool on_event(Provider& from, Event event) override;
  void on_state(Provider& from, berth_provider_state state, const std::string& reason) override;
  void on_op(Provider& from, const OpNotice& notice, const CallOptions& o) override;
  void on_changed(Provider& from, std::string ref) override;

  struct Stats {
    size_t queue_depth, queue_capacity;
    uint64_t emit_blocked_total, published_total;
  };
  Stats stats() const;

  // Per provider, for `providers` and metrics (pipeline-maintained counts).
  struct ProviderStats {
    uint64_t resyncs = 0, held_overflows = 0, watch_failures = 0;
    bool polling = false;
  };
  ProviderStats provider_stats(const Provider& p) const;

 private:
  struct EventItem {
    // Built in the queue's slot from the plugin's copy (not an aggregate:
    // clang 14, which the fuzz build uses, has no parenthesized aggregate
    // initialization).
    EventItem(Provider* p, Event&& e) : provider(p), event(std::move(e)) {}
    Provider* provider;
    Event event;
  };
  struct StateItem {
    Provider* provider;
    bool up;
    std::string reason;
  };
  struct ListItem {
    Provider* provider;
    uint64_t generation;
    Clock::time_point started;
    Result<std::vector<Container>> listed;
  };
  struct StatusItem {
    Provider* provider;
    std::string ref;
    Clock::time_point started;
    Result<Container> status;
    Origin origin = Origin::poll;
    bool changed = false;  // asked because the plugin reported a change
  };
  struct ChangedItem {
    Provider* provider;
    std::string ref;
  };
  struct WatchItem {
    Provider* provider;
    Status started;
  };
  using Item = std::variant<std::monostate, EventItem, StateItem, ListItem, StatusItem, WatchItem, ChangedItem>;

  struct Track;  // one provider's sync state; pipeline thread only
  Track& track(Provider* p);

  void run();
  void handle(EventItem& item);
  void handle(StateItem& item);
  void handle(ListItem& item);
  void handle(StatusItem& item);
  void handle(WatchItem& item);
  void handle(ChangedItem& item);
  void ask_status(Track& t, const std::string& ref);
  void list_instead(Track& t, std::string_view too_many);
  void begin(Track& t);
  void start_watch(Track& t);
  void start_sync(Track& t);
  void run_due(Clock::time_point now);
  Clock::time_point next_due() const;
  // Containers a list or status taken at `taken` must not change: their
  // events are held, or a newer observation was applied. Records `taken`
  // as the newest observation of every other container in `seen`.
  std::set<std::string> leave_alone(Track& t, Clock::time_point taken, const std::vector<Container>& seen);
  void publish_event(Provider& p, const Event& e, Origin origin);
  void publish_provider_state(Track& t, bool up, const std::string& reason);
  void publish_heartbeat();

  EventSink& sink_;
  StateView& view_;
  Scheduler& scheduler_;
  Options options_;
  BoundedQueue<Item> queue_;
  std::vector<std::unique_ptr<Track>> tracks_;
  std::thread thread_;
  Clock::time_point started_at_;
  std::atomic<uint64_t> published_{0};
};

}  // namespace berth
