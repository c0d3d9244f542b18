// Turns a parsed request into its JSON reply: finds the provider, calls the
// op with a deadline, and writes the result or the typed error.
#pragma once

#include "commands/request.hpp"
#include "plugin/provider.hpp"
#include "state/state_view.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace berth {

class Dispatcher {
 public:
  struct Limits {
    std::chrono::milliseconds default_timeout{15000};
    std::chrono::milliseconds stop_grace{10000};
  };

  Dispatcher(std::vector<Provider*> providers, StateView& view, Limits limits,
             const std::atomic<bool>& cancelled);

  // How long the client is promised an answer within.
  std::chrono::milliseconds deadline_for(const Request& r) const;
  // ping, version, providers, snapshot: cheap, no plugin call.
  std::string answer_inline(const Request& r) const;
  // Every other op; blocks on the plugin, so it runs on a worker.
  std::string execute(const Request& r, Clock::time_point deadline) const;

  static std::string error_reply(const std::string& id_json, const Status& st);

 private:
  Result<Provider*> resolve(const Request& r) const;
  std::string list(const Request& r, const CallOptions& o) const;

  std::vector<Provider*> providers_;
  StateView& view_;
  Limits limits_;
  const std::atomic<bool>& cancelled_;
};

}  // namespace berth
