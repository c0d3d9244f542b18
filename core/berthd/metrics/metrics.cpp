#include "metrics/metrics.hpp"

#include "wire/wire.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>


namespace berth {

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void Exposition::labels(Labels labels) {
  if (labels.size() == 0) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_.append(k).append("=\"");
    for (char c : v) {
      if (c == '\\') out_ += "\\\\";
      else if (c == '"') out_ += "\\\"";
      else if (c == '\n') out_ += "\\n";
      else out_ += c;
    }
    out_ += '"';
  }
  out_ += '}';
}

void Exposition::sample(std::string_view name, Labels l, double value) {
  out_.append(name);
  labels(l);
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void Exposition::sample(std::string_view name, Labels l, uint64_t value) {
  out_.append(name);
  labels(l);
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void CountingSink::add_provider(const std::string& name) {
  if (!find(name)) providers_.emplace_back().provider = name;
}

CountingSink::Counts* CountingSink::find(std::string_view provider) {
  for (auto& c : providers_)
    if (c.provider == provider) return &c;
  return nullptr;
}

void CountingSink::container_event(std::string_view provider, const Event& e, uint64_t seq, berth_state state_after,
                                   Origin origin) {
  const auto type = static_cast<size_t>(e.type);
  if (Counts* c = find(provider); c && type < kTypes) c->events[type].fetch_add(1, std::memory_order_relaxed);
  inner_.container_event(provider, e, seq, state_after, origin);
}

void CountingSink::provider_state(std::string_view provider, std::string_view plugin, bool up,
                                  std::string_view reason, uint64_t seq) {
  if (Counts* c = find(provider)) (up ? c->ups : c->downs).fetch_add(1, std::memory_order_relaxed);
  inner_.provider_state(provider, plugin, up, reason, seq);
}

void CountingSink::write(Exposition& out) const {
  out.family("berth_events_published_total", "counter", "Container events published, by provider and type.");
  for (const auto& c : providers_)
    for (size_t t = 0; t < kTypes; ++t)
      out.sample("berth_events_published_total",
                 {{"provider", c.provider}, {"type", protocol::kEventTypeNames[t]}},
                 c.events[t].load(std::memory_order_relaxed));
  out.family("berth_provider_transitions_total", "counter", "Provider up and down reports, by provider.");
  for (const auto& c : providers_) {
    out.sample("berth_provider_transitions_total", {{"provider", c.provider}, {"to", "up"}},
               c.ups.load(std::memory_order_relaxed));
    out.sample("berth_provider_transitions_total", {{"provider", c.provider}, {"to", "down"}},
               c.downs.load(std::memory_order_relaxed));
  }
}

namespace {
std::string_view op_label(size_t i) {
  return i == 0 ? std::string_view("invalid") : op_name(static_cast<Op>(i - 1));
}
}  // namespace

void CommandCounts::record(std::optional<Op> op, Code code, std::chrono::nanoseconds took) {
  const size_t o = op ? static_cast<size_t>(*op) + 1 : 0;
  by_code_[o][protocol::code_index(code)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(took).count();
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  buckets_[o][b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_[o].fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, took.count())), std::memory_order_relaxed);
}

void CommandCounts::write(Exposition& out) const {
  out.family("berth_commands_total", "counter", "Commands answered, by op and result code.");
  for (size_t o = 0; o < kOps; ++o)
    for (size_t c = 0; c < kCodes; ++c)
      if (const uint64_t n = by_code_[o][c].load(std::memory_order_relaxed))
        out.sample("berth_commands_total", {{"op", op_label(o)}, {"code", protocol::kCodes[c].name}}, n);
  out.family("berth_command_duration_seconds", "histogram",
             "Time from a command's arrival to its reply, by op.");
  for (size_t o = 0; o < kOps; ++o) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += buckets_[o][b].load(std::memory_order_relaxed);
      const std::string le = b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf";
      out.sample("berth_command_duration_seconds_bucket", {{"op", op_label(o)}, {"le", le}}, cumulative);
    }
    out.sample("berth_command_duration_seconds_sum", {{"op", op_label(o)}},
               sum_ns_[o].load(std::memory_order_relaxed) / 1e9);
    out.sample("berth_command_duration_seconds_count", {{"op", op_label(o)}}, cumulative);
  }
}

}  // namespace berth
