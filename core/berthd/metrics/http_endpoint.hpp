// The Prometheus listener: GET /metrics on HOST:PORT, on one thread of its
// own, so a slow scraper never holds up berthd's work.
#pragma once

#include "common/status.hpp"

#include <functional>
#include <memory>
#include <string>

namespace berth {

class MetricsEndpoint {
 public:
  using Render = std::function<std::string()>;  // the exposition text, on the endpoint's thread
  MetricsEndpoint(std::string listen, Render render);
  ~MetricsEndpoint();
  // Binds HOST:PORT (an error names it) and starts serving.
  Status start();
  std::string address() const;  // HOST:PORT once bound (port 0 → the kernel's choice)
  // Stops serving: no render runs after it returns. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth
