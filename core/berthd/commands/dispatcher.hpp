// Turns a parsed request into its JSON reply: finds the provider, calls the
// op with the deadline the scheduler gives it, and writes the result or the
// typed error. Knows nothing of sockets or threads.
#pragma once

#include "commands/request.hpp"
#include "events/pipeline.hpp"
#include "plugin/provider.hpp"
#include "sched/scheduler.hpp"
#include "state/state_view.hpp"
#include "wire/wire.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace berth {

// A reply body and the code it carries (ok or the error's), for metrics.
struct Reply {
  Code code = Code::ok;
  std::string body;
};

class Dispatcher {
 public:
  struct Limits {
    std::chrono::milliseconds default_timeout{15000};
    std::chrono::milliseconds stop_grace{10000};
    wire::Identity daemon;  // in the results that describe the daemon
  };

  Dispatcher(std::vector<Provider*> providers, StateView& view, const Scheduler& scheduler,
             const Pipeline* pipeline, Limits limits);

  // How long the client is promised an answer within.
  std::chrono::milliseconds deadline_for(const Request& r) const;
  // ping, version, providers, snapshot: cheap, no plugin call.
  Reply answer_inline(const Request& r) const;
  // The provider a container op goes to (the view tells when not named).
  Result<Provider*> resolve(const Request& r) const;
  // The providers a `list` asks: the named one, or all.
  Result<std::vector<Provider*>> list_targets(const Request& r) const;
  // Runs one plugin op; blocks; on a worker thread.
  Reply execute(const Request& r, Provider& p, const CallOptions& o) const;
  // The reply of a list over several providers.
  using Listed = std::vector<std::pair<const Provider*, Result<std::vector<Container>>>>;
  Reply list_reply(const Request& r, const Listed& results) const;

  static Reply error_reply(const std::string& id_json, const Status& st);
  const StateView& view() const { return view_; }

 private:
  Reply create(const Request& r, Provider& p, const CallOptions& o) const;

  std::vector<Provider*> providers_;
  StateView& view_;
  const Scheduler& scheduler_;
  const Pipeline* pipeline_;
  Limits limits_;
};

}  // namespace berth
