// berth-wake's instances: every container of every berthd it follows, the
// managed ones (opted in by label) with their session, and the one place
// that starts and stops them. On berth-wake's one asio thread.
//
// A request for an instance extends its session to at least now + its
// duration and wakes it: its dependencies first (depends_on, ready before
// it starts), then the instance itself, with exactly one start in flight
// however many requests arrive. When the session ends the instance is
// stopped with its stop method (stop, pause or kill), after its dependents.
// A managed container started by someone else is adopted with a fresh
// session (or stopped, by configuration); one stopped by someone else ends
// its session. Everything is re-derived from berthd's snapshot after an
// outage, so nothing is started or stopped twice: an op whose berthd went
// away before answering (`cancelled`) is decided again from the next
// snapshot, a start only if the instance is still not running.
#pragma once

#include "labels/labels.hpp"
#include "go_duration.hpp"
#include "link.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace berth::wake {

using Clock = std::chrono::steady_clock;

struct WakeSettings {
  Nanoseconds session = 300'000'000'000;   // 5m, when neither request nor label says
  Nanoseconds blocking_timeout = 60'000'000'000;  // 1m
  bool adopt = true;                       // or stop what runs without a session
  bool allow_unlabeled = false;            // start containers that did not opt in
};

// Sablier's instance states.
enum class WakeStatus { stopped, starting, ready, not_ready, error };
std::string_view status_name(WakeStatus s);

struct Instance {
  std::string key;  // "<daemon>/<provider>/<id>"
  int daemon = 0;
  std::string provider, id, name;
  sdk::Labels labels;
  labels::Routing routing;
  bool managed = false;
  berth_state state = BERTH_STATE_UNKNOWN;
  std::string health;  // "" = no healthcheck
  bool health_probe = false;  // just started with no health known: asking berthd whether it has a healthcheck

  bool in_session = false;
  Clock::time_point expires{};
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool want_up = false;            // a request wants it ready
  bool starting = false, stopping = false;  // our op in flight
  // Our start/unpause was answered before any state event arrived: its
  // event is on its way, so it is not started again meanwhile.
  bool started_unseen = false;
  // Its session ended while berthd was away, or its stop went with the
  // berthd that had it: stopped once berthd is back, if still running.
  bool stop_owed = false;
  uint64_t state_events = 0;       // state events (and snapshots) seen, to tell that
  std::string error;               // of our last failed op; cleared by the next request

  WakeStatus status() const;
  bool ready() const { return status() == WakeStatus::ready; }
  std::vector<std::string> groups() const { return routing.wake.groups; }
};

// An RFC 7807 problem (problem.hpp writes it).
struct Problem {
  int status = 500;
  std::string type, title, detail;
  std::vector<std::pair<std::string, std::string>> extensions;  // key → raw JSON value
};

// What SSE subscribers are told: Sablier's event types.
using InstanceObserver = std::function<void(std::string_view type, const Instance& i)>;

class Instances final : public LinkListener {
 public:
  Instances(boost::asio::io_context& io, WakeSettings settings);
  // The links to each berthd, by daemon index (Link, or a test's fake).
  void set_links(std::vector<CommandLink*> links) { links_ = std::move(links); }

  // The instances `names` name ("name" or "provider/name"), or the 404.
  std::variant<std::vector<Instance*>, Problem> by_names(const std::vector<std::string>& names);
  // A group's managed instances, or the 404 listing the groups there are.
  std::variant<std::vector<Instance*>, Problem> by_group(const std::string& group);
  std::set<std::string> groups() const;
  Instance* find(const std::string& key);

  // Extends the sessions and wakes the instances. `session` < 0: each
  // instance's own (idle_timeout label) or the default.
  void request(const std::vector<Instance*>& instances, Nanoseconds session);
  // Calls `done(true)` once all are ready, `done(false)` at `deadline`.
  void wait_ready(std::vector<Instance*> instances, Clock::time_point deadline, std::function<void(bool)> done);

  void on_instance_event(InstanceObserver observer) { observers_.push_back(std::move(observer)); }
  const WakeSettings& settings() const { return settings_; }
  size_t managed_count() const;
  bool all_links_up() const;

  // LinkListener
  void on_snapshot(int daemon, std::vector<Observed> containers, const std::set<std::string>& unsynced) override;
  void on_change(int daemon, const Observed& c, berth_event_type type) override;
  void on_gone(int daemon, const std::string& provider, const std::string& id) override;
  void on_link(int daemon, bool up) override;

 private:
  struct Waiter;
  Instance& upsert(int daemon, const Observed& c, bool& created);
  WakeStatus status_before(int daemon, const Observed& c);
  void wake(Instance& i);
  void forget_failure(Instance& i, std::set<Instance*>& seen);
  void settle(Instance& i);
  bool known(const Instance& i) const;
  void probe_health(Instance& i);
  void stop_now(Instance& i, const char* why);
  void arm(Instance& i);
  void expire(Instance& i);
  void touch(Instance& i, Nanoseconds session);
  void adopt_or_stop(Instance& i);
  void changed(Instance& i, WakeStatus before, std::string_view type_hint);
  std::vector<Instance*> dependencies(const Instance& i);
  std::vector<Instance*> dependents(const Instance& i);
  void check_waiters();
  void emit(std::string_view type, const Instance& i);
  void remove(const std::string& key);
  CommandLink* link(int daemon) const;

  boost::asio::io_context& io_;
  WakeSettings settings_;
  std::vector<CommandLink*> links_;
  std::map<std::string, std::unique_ptr<Instance>> instances_;  // by key
  std::vector<std::shared_ptr<Waiter>> waiters_;
  std::vector<InstanceObserver> observers_;
  std::set<int> synced_;  // daemons whose first snapshot is in
  // Providers whose list berthd's last snapshot did not have yet: what we
  // know of their containers may be stale, so nothing is decided on it.
  std::set<std::pair<int, std::string>> unsynced_;
};

}  // namespace berth::wake
