// What every benchmark shares: samples and their percentiles, rounds and
// their median and spread, and one way of printing a figure beside its
// ceiling. Benchmarks print; they never fail on a number.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace berth::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Latencies (or any figure) of one run.
class Samples {
 public:
  void add(double v) { v_.push_back(v); }
  size_t size() const { return v_.size(); }
  // The p-th percentile (0..100), nearest rank; 0 when empty.
  double percentile(double p) const {
    if (v_.empty()) return 0;
    auto s = v_;
    std::sort(s.begin(), s.end());
    const size_t rank = static_cast<size_t>(p / 100.0 * (s.size() - 1) + 0.5);
    return s[std::min(rank, s.size() - 1)];
  }
  double p50() const { return percentile(50); }
  double p99() const { return percentile(99); }

 private:
  std::vector<double> v_;
};

// One figure over several rounds: median and the range around it.
struct Spread {
  std::vector<double> rounds;
  void add(double v) { rounds.push_back(v); }
  double median() const {
    if (rounds.empty()) return 0;
    auto s = rounds;
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
  }
  double min() const { return rounds.empty() ? 0 : *std::min_element(rounds.begin(), rounds.end()); }
  double max() const { return rounds.empty() ? 0 : *std::max_element(rounds.begin(), rounds.end()); }
  // "1.23 (1.10–1.40)"
  std::string text(const char* fmt = "%.2f") const {
    char a[32], b[32], c[32];
    std::snprintf(a, sizeof a, fmt, median());
    std::snprintf(b, sizeof b, fmt, min());
    std::snprintf(c, sizeof c, fmt, max());
    return rounds.size() > 1 ? std::string(a) + " (" + b + "–" + c + ")" : std::string(a);
  }
};

}  // namespace berth::bench
