// plugin threads → emit → bounded queue → one publisher thread → StateView
// (numbering) → JSON → PUB [topic, body].
//
// The publisher thread also closes the list/stream race: when a provider
// reports UP, its events are held while a worker lists it; the list becomes
// the baseline (after an outage: the differences are published as events
// with origin "resync"), then the held events are published in order.
// Providers that cannot watch are listed every poll interval the same way.
#pragma once

#include "events/event_queue.hpp"
#include "plugin/provider.hpp"
#include "state/state_view.hpp"
#include "wire/wire.hpp"

#include <boost/asio/thread_pool.hpp>
#include <zmq.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace berth {

class Pipeline final : public ProviderListener {
 public:
  struct Options {
    std::string endpoint;
    std::chrono::milliseconds heartbeat{1000};
    size_t queue_capacity = 65536;
    int pub_hwm = 100000;
    std::chrono::milliseconds list_timeout{30000};
  };

  Pipeline(zmq::context_t& zmq, StateView& view, boost::asio::thread_pool& workers,
           Options options);
  ~Pipeline() override;

  Status bind();  // the PUB socket; call before start()
  // Registers a provider (before start()). Watchers sync on their UP report;
  // the others are listed every poll interval.
  void add_provider(Provider& provider, std::chrono::milliseconds poll_interval);
  void start();
  // Refuses new events, publishes what is queued, says "stopping", joins.
  void stop();

  bool on_event(Provider& from, Event event) override;
  void on_state(Provider& from, berth_provider_state state, const std::string& reason) override;

  struct Stats {
    size_t queue_depth, queue_capacity;
    uint64_t emit_blocked_total, published_total;
  };
  Stats stats() const;

 private:
  struct EventItem {
    Provider* provider;
    Event event;
  };
  struct StateItem {
    Provider* provider;
    bool up;
    std::string reason;
  };
  struct SyncItem {
    Provider* provider;
    uint64_t generation;
    Result<std::vector<Container>> listed;
  };
  using Item = std::variant<std::monostate, EventItem, StateItem, SyncItem>;

  struct Track;  // per-provider sync state; publisher thread only
  Track& track(Provider* p);

  void run();
  void handle(EventItem& item);
  void handle(StateItem& item);
  void handle(SyncItem& item);
  void start_sync(Track& t);
  void run_due_syncs(Clock::time_point now);
  void publish_event(Provider& p, const Event& e, Origin origin);
  void publish_provider_state(Provider& p, bool up, const std::string& reason);
  void publish_heartbeat();
  void publish_stopping();
  wire::Writer& fresh_body();          // body_ emptied, writer_ reset onto it
  void send(std::string_view topic);  // sends topic + body_

  zmq::socket_t pub_;
  StateView& view_;
  boost::asio::thread_pool& workers_;
  Options options_;
  BoundedQueue<Item> queue_;
  std::vector<std::unique_ptr<Track>> tracks_;
  std::thread thread_;
  Clock::time_point started_at_;
  std::atomic<uint64_t> published_{0};
  // Reused for every message: the hot path allocates only when they grow.
  rapidjson::StringBuffer body_;
  wire::Writer writer_;
  std::string topic_;
};

}  // namespace berth
