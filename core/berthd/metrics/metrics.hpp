// What berthd counts for Prometheus (docs/operator.md, Metrics). Each count
// has one writing thread and is a relaxed atomic, read by the scrape; the
// rest (queue depth, provider health, calls, subscribers) is read from its
// owner at scrape time, so nothing is counted twice.
#pragma once

#include "commands/request.hpp"
#include "common/status.hpp"
#include "events/sink.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

// The Prometheus text format (version 0.0.4), written family by family.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  void sample(std::string_view name, Labels labels, double value);
  void sample(std::string_view name, Labels labels, uint64_t value);
  std::string& text() { return out_; }

 private:
  void labels(Labels labels);
  std::string out_;
};

// Counts each published container event by provider and type, and passes it
// on. Providers are added before events flow (the pipeline's start).
class CountingSink final : public EventSink {
 public:
  explicit CountingSink(EventSink& inner) : inner_(inner) {}
  void add_provider(const std::string& name);

  void container_event(std::string_view provider, const Event& e, uint64_t seq, berth_state state_after,
                       Origin origin) override;
  void provider_state(std::string_view provider, std::string_view plugin, bool up, std::string_view reason,
                      uint64_t seq) override;
  void heartbeat(const HeartbeatFigures& h) override { inner_.heartbeat(h); }
  void stopping(uint64_t seq) override { inner_.stopping(seq); }

  void write(Exposition& out) const;

 private:
  static constexpr size_t kTypes = protocol::kEventTypeNames.size();
  struct Counts {
    std::string provider;
    std::array<std::atomic<uint64_t>, kTypes> events{};
    std::atomic<uint64_t> ups{0}, downs{0};
  };
  Counts* find(std::string_view provider);
  EventSink& inner_;
  std::deque<Counts> providers_;  // stable addresses; append-only before start
};

// Commands by op and result code, and their latency per op.
class CommandCounts {
 public:
  // On the command server thread. `op` is empty for a request that named none
  // it knows (malformed, unknown op).
  void record(std::optional<Op> op, Code code, std::chrono::nanoseconds took);
  void write(Exposition& out) const;

  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   1,     5,    30};

 private:
  static constexpr size_t kOps = kOpCount + 1;  // + "invalid"
  static constexpr size_t kCodes = protocol::kCodeCount;
  std::array<std::array<std::atomic<uint64_t>, kCodes>, kOps> by_code_{};
  std::array<std::array<std::atomic<uint64_t>, kBuckets.size() + 1>, kOps> buckets_{};
  std::array<std::atomic<uint64_t>, kOps> sum_ns_{};
};

}  // namespace berth
