#include "instances.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth::wake {
namespace {

using namespace std::chrono_literals;

std::string key_of(int daemon, std::string_view provider, std::string_view id) {
  return fmt::format("{}/{}/{}", daemon, provider, id);
}

std::string json_string(std::string_view s) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {b.GetString(), b.GetSize()};
}

// The op went with a berthd that stopped or vanished before it answered: it
// may or may not have been done.
bool outcome_unknown(const Status& st) {
  return st.code() == Code::cancelled || st.code() == Code::shutting_down;
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? "," : "") + json_string(s);
  return out + "]";
}

}  // namespace

std::string_view status_name(WakeStatus s) {
  switch (s) {
    case WakeStatus::stopped: return "stopped";
    case WakeStatus::starting: return "starting";
    case WakeStatus::ready: return "ready";
    case WakeStatus::not_ready: return "not-ready";
    case WakeStatus::error: return "error";
  }
  return "not-ready";
}

WakeStatus Instance::status() const {
  const bool running = state == BERTH_STATE_RUNNING;
  if (!error.empty() && !running) return WakeStatus::error;
  if (stopping) return WakeStatus::not_ready;
  if (running) {
    // Ready = running, and healthy if it has a healthcheck.
    if (health.empty() && health_probe) return WakeStatus::starting;  // has it one?
    if (health.empty() || health == "healthy") return WakeStatus::ready;
    return health == "starting" ? WakeStatus::starting : WakeStatus::not_ready;
  }
  if (starting || want_up) return WakeStatus::starting;
  return WakeStatus::stopped;
}

struct Instances::Waiter {
  std::vector<std::string> keys;
  std::function<void(bool)> done;
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool finished = false;
};

Instances::Instances(boost::asio::io_context& io, WakeSettings settings) : io_(io), settings_(settings) {}

CommandLink* Instances::link(int daemon) const {
  return daemon >= 0 && daemon < static_cast<int>(links_.size()) ? links_[daemon] : nullptr;
}

size_t Instances::managed_count() const {
  return std::count_if(instances_.begin(), instances_.end(), [](const auto& kv) { return kv.second->managed; });
}

bool Instances::all_links_up() const {
  return std::all_of(links_.begin(), links_.end(), [](const CommandLink* l) { return l->up(); });
}

// ------------------------------------------------------------ lookup

std::variant<std::vector<Instance*>, Problem> Instances::by_names(const std::vector<std::string>& names) {
  std::vector<Instance*> out;
  for (const auto& wanted : names) {
    std::string provider, name = wanted;
    if (auto slash = wanted.rfind('/'); slash != std::string::npos) {
      provider = wanted.substr(0, slash);
      name = wanted.substr(slash + 1);
    }
    std::vector<Instance*> found;
    for (auto& [key, i] : instances_)
      if (i->name == name && (provider.empty() || i->provider == provider)) found.push_back(i.get());
    if (found.empty() || (!found.front()->managed && !settings_.allow_unlabeled && found.size() == 1)) {
      const bool exists = !found.empty();
      Problem p;
      p.status = 404;
      p.type = exists ? "https://sablierapp.dev/#/errors?id=instance-not-managed"
                      : "https://sablierapp.dev/#/errors?id=instance-not-found";
      p.title = exists ? "Instance not managed" : "Instance not found";
      p.detail = exists ? fmt::format("instance {} is not managed by berth-wake: it needs the label "
                                      "sablier.enable=true (or an idle label such as proxy.idle_timeout)",
                                      wanted)
                        : fmt::format("no container named {} in any provider berth-wake follows", wanted);
      p.extensions.emplace_back("requestInstance", json_string(wanted));
      return p;
    }
    if (found.size() > 1) {
      std::vector<std::string> candidates;
      for (auto* i : found) candidates.push_back(i->provider + "/" + i->name);
      std::sort(candidates.begin(), candidates.end());
      Problem p;
      p.status = 400;
      p.type = "https://sablierapp.dev/#/errors?id=validation-error";
      p.title = "Validation Failed";
      p.detail = fmt::format("instance {} is ambiguous: name it as one of {}", wanted, fmt::join(candidates, ", "));
      p.extensions.emplace_back("candidates", json_strings(candidates));
      return p;
    }
    if (std::find(out.begin(), out.end(), found.front()) == out.end()) out.push_back(found.front());
  }
  return out;
}

Instance* Instances::find(const std::string& key) {
  auto it = instances_.find(key);
  return it == instances_.end() ? nullptr : it->second.get();
}

std::set<std::string> Instances::groups() const {
  std::set<std::string> out;
  for (const auto& [key, i] : instances_)
    if (i->managed)
      for (const auto& g : i->groups()) out.insert(g);
  return out;
}

std::variant<std::vector<Instance*>, Problem> Instances::by_group(const std::string& group) {
  std::vector<Instance*> out;
  for (auto& [key, i] : instances_) {
    const auto g = i->groups();
    if (i->managed && std::find(g.begin(), g.end(), group) != g.end()) out.push_back(i.get());
  }
  if (!out.empty()) return out;
  const auto all = groups();
  Problem p;
  p.status = 404;
  p.type = "https://sablierapp.dev/#/errors?id=group-not-found";
  p.title = "Group not found";
  p.detail = "The group you requested does not exist. It is possible that the group has not been scanned yet.";
  p.extensions.emplace_back("availableGroups", json_strings({all.begin(), all.end()}));
  p.extensions.emplace_back("error", json_string("group " + group + " not found"));
  p.extensions.emplace_back("requestGroup", json_string(group));
  return p;
}

// ------------------------------------------------------------ sessions

void Instances::request(const std::vector<Instance*>& instances, Nanoseconds session) {
  for (auto* i : instances) {
    const Nanoseconds own = i->routing.idle.idle_timeout_ms ? *i->routing.idle.idle_timeout_ms * 1000000
                                                            : settings_.session;
    const WakeStatus before = i->status();
    touch(*i, session >= 0 ? session : own);
    i->want_up = true;
    i->stop_owed = false;
    std::set<Instance*> seen;
    forget_failure(*i, seen);
    wake(*i);
    changed(*i, before, {});
  }
}

void Instances::touch(Instance& i, Nanoseconds session) {
  // Extends, never shortens: a short route does not cut a long one's session.
  const auto until = Clock::now() + std::chrono::nanoseconds(std::max<Nanoseconds>(0, session));
  if (!i.in_session || until > i.expires) i.expires = until;
  i.in_session = true;
  arm(i);
}

void Instances::arm(Instance& i) {
  if (!i.timer) i.timer = std::make_unique<boost::asio::steady_timer>(io_);
  i.timer->expires_at(i.expires);
  i.timer->async_wait([this, key = i.key](boost::system::error_code ec) {
    if (ec) return;
    auto it = instances_.find(key);
    if (it != instances_.end()) expire(*it->second);
  });
}

void Instances::expire(Instance& i) {
  if (!i.in_session) return;
  if (Clock::now() < i.expires) return arm(i);
  // A request still waiting for it keeps it wanted (Sablier renews the
  // session of a blocking request while it waits).
  for (const auto& w : waiters_)
    if (!w->finished && std::find(w->keys.begin(), w->keys.end(), i.key) != w->keys.end()) {
      i.expires = Clock::now() + 1s;
      return arm(i);
    }
  // Stopped after its dependents: while one still runs (or is wanted), wait.
  for (auto* d : dependents(i))
    if (d->in_session || d->state == BERTH_STATE_RUNNING || d->stopping) {
      i.expires = Clock::now() + 1s;
      return arm(i);
    }
  stop_now(i, "session ended");
}

void Instances::stop_now(Instance& i, const char* why) {
  const WakeStatus before = i.status();
  i.in_session = false;
  i.want_up = false;
  if (i.timer) i.timer->cancel();
  if (i.state != BERTH_STATE_RUNNING && i.state != BERTH_STATE_PAUSED) return changed(i, before, {});
  CommandLink* l = link(i.daemon);
  if (l == nullptr || i.stopping) return;
  if (!l->up()) {  // done when berthd is back, if it still runs then
    i.stop_owed = true;
    return changed(i, before, {});
  }
  i.stop_owed = false;
  const auto& idle = i.routing.idle;
  using protocol::Op;
  const Op method = protocol::op_from_name(idle.stop_method).value_or(Op::stop);  // labels: stop, pause, kill
  if (method == Op::pause && i.state == BERTH_STATE_PAUSED) return changed(i, before, {});
  // The request sends what the method reads: a signal to stop and kill, a
  // timeout to stop.
  auto req = client::Request(method).provider(i.provider).container(i.id).signal(idle.stop_signal);
  if (idle.stop_timeout_s) req.timeout(*idle.stop_timeout_s);
  spdlog::info("{}: {} ({}) by {}", i.name, why, i.provider, protocol::op_name(method));
  i.stopping = true;
  changed(i, before, {});
  const auto wait = std::chrono::seconds(idle.stop_timeout_s.value_or(10) + 30);
  l->command(std::move(req), wait, [this, key = i.key](const Status& st, const rapidjson::Value*) {
    auto it = instances_.find(key);
    if (it == instances_.end()) return;
    Instance& x = *it->second;
    const WakeStatus b = x.status();
    x.stopping = false;
    if (outcome_unknown(st)) {
      x.stop_owed = !x.want_up;
      spdlog::info("{}: {}; stopped once berthd is back, if it still runs", x.name, st.message());
    } else if (!st) {
      spdlog::warn("{}: stop failed: {}", x.name, st.message());
    }
    changed(x, b, {});
    settle(x);  // a stop owed (berthd went away), or a request that came while it stopped
  });
}

std::vector<Instance*> Instances::dependencies(const Instance& i) {
  std::vector<std::string> names = i.routing.idle.depends_on;
  for (const auto& s : i.routing.compose.depends_on) names.push_back(s);
  std::vector<Instance*> out;
  for (const auto& dep : names)
    for (auto& [key, o] : instances_) {
      if (o.get() == &i || o->daemon != i.daemon || o->provider != i.provider) continue;
      const bool by_service = !i.routing.compose.project.empty() &&
                              o->routing.compose.project == i.routing.compose.project &&
                              o->routing.compose.service == dep;
      if (o->name == dep || by_service) {
        out.push_back(o.get());
        break;
      }
    }
  return out;
}

std::vector<Instance*> Instances::dependents(const Instance& i) {
  std::vector<Instance*> out;
  for (auto& [key, o] : instances_) {
    if (o.get() == &i || o->daemon != i.daemon) continue;
    const auto deps = dependencies(*o);
    if (std::find(deps.begin(), deps.end(), &i) != deps.end()) out.push_back(o.get());
  }
  return out;
}

// A new request tries again what failed: the instance and what it depends on.
void Instances::forget_failure(Instance& i, std::set<Instance*>& seen) {
  if (!seen.insert(&i).second) return;  // depends_on may loop
  i.error.clear();
  for (auto* d : dependencies(i)) forget_failure(*d, seen);
}

void Instances::wake(Instance& i) {
  if (!i.want_up) return;
  // A failed start waits for the next request: tried again at once, an
  // engine that refuses it would be asked in a loop.
  if (!i.error.empty()) return;
  bool waiting_for_deps = false;
  for (auto* d : dependencies(i)) {
    // A dependency lives at least as long as its dependent's session.
    if (!d->in_session || d->expires < i.expires) {
      d->expires = i.expires;
      d->in_session = true;
      arm(*d);
    }
    if (!d->want_up) {
      d->want_up = true;
      wake(*d);
    }
    waiting_for_deps = waiting_for_deps || !d->ready();
  }
  if (waiting_for_deps || i.ready() || i.starting || i.stopping || i.started_unseen) return;
  if (i.state == BERTH_STATE_RUNNING) return;  // running, not healthy yet: wait
  if (!known(i)) return;  // woken again when the link is back and its provider listed
  CommandLink* l = link(i.daemon);
  const protocol::Op method = i.state == BERTH_STATE_PAUSED ? protocol::Op::unpause : protocol::Op::start;
  const std::string_view op = protocol::op_name(method);
  spdlog::info("{}: requested: {} ({})", i.name, op, i.provider);
  i.starting = true;
  i.error.clear();
  const auto wait = std::chrono::milliseconds(i.routing.idle.wake_timeout_ms.value_or(60000) + 30000);
  l->command(client::Request(method).provider(i.provider).container(i.id), wait, [this, key = i.key, op, seen = i.state_events](const Status& st, const rapidjson::Value*) {
               auto it = instances_.find(key);
               if (it == instances_.end()) return;
               Instance& x = *it->second;
               const WakeStatus before = x.status();
               x.starting = false;
               if (outcome_unknown(st)) {
                 // Still wanted: started once berthd is back, unless its
                 // snapshot shows it running (one start, never two).
                 spdlog::info("{}: {}; deciding again from berthd's snapshot", x.name, st.message());
               } else if (!st) {
                 x.error = fmt::format("instance {} failed: {}", op, st.message());
                 spdlog::warn("{}: {}", x.name, x.error);
               } else if (x.state_events == seen) {
                 x.started_unseen = true;  // done, and its event is still on its way
               }
               changed(x, before, {});
             });
}

// A container whose health was never reported (created and never started,
// or listed while stopped: Docker's list says nothing of a stopped
// container's healthcheck) may still have a healthcheck; its `started` event
// does not say. Until berthd's inspect answers, it is not ready.
void Instances::probe_health(Instance& i) {
  CommandLink* l = link(i.daemon);
  if (l == nullptr) return;
  i.health_probe = true;
  l->command(client::Request(protocol::Op::inspect).provider(i.provider).container(i.id), 10s, [this, key = i.key](const Status& st, const rapidjson::Value* result) {
               auto it = instances_.find(key);
               if (it == instances_.end()) return;
               Instance& x = *it->second;
               const WakeStatus before = x.status();
               x.health_probe = false;
               // A health event that came first is newer than this answer.
               if (st && result != nullptr && x.health.empty()) x.health = client::read_container(*result).health;
               changed(x, before, {});
             });
}

// berthd's view of the instance is current: the link is up and its
// provider's list is in the last snapshot.
bool Instances::known(const Instance& i) const {
  const CommandLink* l = link(i.daemon);
  return l != nullptr && l->up() && !unsynced_.count({i.daemon, i.provider});
}

// Once berthd's view of it is known again: a stop it is owed, then a wake.
void Instances::settle(Instance& i) {
  if (!known(i)) return;
  if (i.stop_owed && !i.want_up) {
    i.stop_owed = false;
    if (i.state == BERTH_STATE_RUNNING || i.state == BERTH_STATE_PAUSED)
      stop_now(i, "session ended while berthd was away");
  }
  wake(i);
}

void Instances::adopt_or_stop(Instance& i) {
  if (!i.managed || i.in_session || i.starting || i.stop_owed) return;
  if (settings_.adopt) {
    const Nanoseconds own = i.routing.idle.idle_timeout_ms ? *i.routing.idle.idle_timeout_ms * 1000000
                                                           : settings_.session;
    spdlog::info("{}: running without a session: adopted for {}", i.name, go_duration_string(own));
    touch(i, own);
  } else {
    stop_now(i, "running without a session");
  }
}

// ------------------------------------------------------------ waiting

void Instances::wait_ready(std::vector<Instance*> instances, Clock::time_point deadline,
                           std::function<void(bool)> done) {
  auto w = std::make_shared<Waiter>();
  for (auto* i : instances) w->keys.push_back(i->key);
  w->done = std::move(done);
  w->timer = std::make_unique<boost::asio::steady_timer>(io_, deadline);
  w->timer->async_wait([w](boost::system::error_code ec) {
    if (ec || w->finished) return;
    w->finished = true;
    w->done(false);
  });
  waiters_.push_back(w);
  check_waiters();
}

void Instances::check_waiters() {
  for (auto& w : waiters_) {
    if (w->finished) continue;
    bool all_ready = true, failed = false;
    for (const auto& key : w->keys) {
      auto it = instances_.find(key);
      if (it == instances_.end()) {
        failed = true;
        break;
      }
      const WakeStatus s = it->second->status();
      all_ready = all_ready && s == WakeStatus::ready;
      failed = failed || s == WakeStatus::error;
    }
    if (all_ready || failed) {
      w->finished = true;
      w->timer->cancel();
      // Answer on the next turn: the caller may still be inside this call.
      boost::asio::post(io_, [w, all_ready] { w->done(all_ready); });
    }
  }
  std::erase_if(waiters_, [](const auto& w) { return w->finished; });
}

// ------------------------------------------------------------ from berthd

WakeStatus Instances::status_before(int daemon, const Observed& c) {
  const Instance* i = find(key_of(daemon, c.provider, c.id));
  return i ? i->status() : WakeStatus::stopped;
}

Instance& Instances::upsert(int daemon, const Observed& c, bool& created) {
  const std::string key = key_of(daemon, c.provider, c.id);
  auto [it, fresh] = instances_.try_emplace(key);
  created = fresh;
  if (fresh) {
    it->second = std::make_unique<Instance>();
    it->second->key = key;
    it->second->daemon = daemon;
    it->second->provider = c.provider;
    it->second->id = c.id;
  }
  Instance& i = *it->second;
  if (!c.name.empty()) i.name = c.name;
  if (fresh || (!c.labels.empty() && c.labels != i.labels)) {
    i.labels = c.labels;
    i.routing = labels::parse(i.labels, labels::Facts{i.name, "", {}, {}, {}});
    i.managed = i.routing.wake.enabled || i.routing.idle.any;
    if (i.managed && i.routing.wake.groups.empty()) i.routing.wake.groups = {"default"};
  }
  if (c.state != BERTH_STATE_UNKNOWN) i.state = c.state;
  return i;
}

void Instances::on_snapshot(int daemon, std::vector<Observed> containers, const std::set<std::string>& unsynced) {
  std::set<std::string> seen;
  for (const auto& c : containers) {
    const WakeStatus before = status_before(daemon, c);
    bool created = false;
    Instance& i = upsert(daemon, c, created);
    i.health = c.health;
    ++i.state_events;
    i.started_unseen = false;  // the snapshot has it
    seen.insert(i.key);
    if (created && i.managed) emit("created", i);
    // What happened while nobody watched: a session whose container was
    // stopped by someone else ends; one that runs without a session is
    // adopted (or stopped).
    if (i.in_session && i.state != BERTH_STATE_RUNNING && !i.starting && !i.want_up) {
      i.in_session = false;
      if (i.timer) i.timer->cancel();
    }
    if (i.state == BERTH_STATE_RUNNING) adopt_or_stop(i);
    changed(i, before, {});
  }
  std::vector<std::string> gone;
  // A provider still listing (a restarted berthd's) is absent, not empty:
  // its containers keep what was known of them, sessions included.
  for (const auto& [key, i] : instances_)
    if (i->daemon == daemon && !seen.count(key) && !unsynced.count(i->provider)) gone.push_back(key);
  for (const auto& key : gone) remove(key);
  synced_.insert(daemon);
  std::erase_if(unsynced_, [daemon](const auto& p) { return p.first == daemon; });
  for (const auto& provider : unsynced) unsynced_.emplace(daemon, provider);
  for (auto& [key, i] : instances_)
    if (i->daemon == daemon) settle(*i);
  check_waiters();
}

void Instances::on_change(int daemon, const Observed& c, berth_event_type type) {
  const WakeStatus before = status_before(daemon, c);
  bool created = false;
  Instance& i = upsert(daemon, c, created);
  if (type == BERTH_EVENT_STARTED || type == BERTH_EVENT_UNPAUSED || type == BERTH_EVENT_EXITED || type == BERTH_EVENT_PAUSED) {
    ++i.state_events;
    i.started_unseen = false;
  }
  if (type == BERTH_EVENT_STARTED || type == BERTH_EVENT_UNPAUSED) i.error.clear();  // runs now, however
  if (type == BERTH_EVENT_HEALTH) i.health = c.health;
  else if (type == BERTH_EVENT_STARTED && !i.health.empty()) i.health = "starting";  // a fresh start is checked anew
  else if (type == BERTH_EVENT_STARTED && i.managed) probe_health(i);  // never checked yet: has it a healthcheck?
  if (created && i.managed) emit("created", i);
  const bool up = i.state == BERTH_STATE_RUNNING;
  if ((type == BERTH_EVENT_STARTED || type == BERTH_EVENT_UNPAUSED) && up) adopt_or_stop(i);
  if (type == BERTH_EVENT_EXITED || type == BERTH_EVENT_PAUSED) i.stop_owed = false;  // done, by whoever
  if ((type == BERTH_EVENT_EXITED || type == BERTH_EVENT_PAUSED) && i.in_session && !i.stopping && !i.starting) {
    // Stopped by someone else: its session is over.
    spdlog::info("{}: stopped outside berth-wake; session ended", i.name);
    i.in_session = false;
    i.want_up = false;
    if (i.timer) i.timer->cancel();
  }
  changed(i, before, created ? std::string_view("created") : std::string_view());
}

void Instances::on_gone(int daemon, const std::string& provider, const std::string& id) {
  remove(key_of(daemon, provider, id));
  check_waiters();
}

void Instances::remove(const std::string& key) {
  auto it = instances_.find(key);
  if (it == instances_.end()) return;
  if (it->second->managed) emit("removed", *it->second);
  if (it->second->timer) it->second->timer->cancel();
  instances_.erase(it);
}

void Instances::on_link(int daemon, bool up) {
  spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "berthd #{} {}", daemon, up ? "up" : "unreachable");
  if (!up) return;
  for (auto& [key, i] : instances_)
    if (i->daemon == daemon) settle(*i);
}

void Instances::changed(Instance& i, WakeStatus before, std::string_view type_hint) {
  const WakeStatus after = i.status();
  spdlog::debug("{}: {} -> {} (state {}, health '{}', starting {}, stopping {}, session {}, want {})", i.name,
                status_name(before), status_name(after), static_cast<int>(i.state), i.health, i.starting, i.stopping,
                i.in_session, i.want_up);
  if (i.managed && (before != after) && type_hint.empty())
    emit(after == WakeStatus::ready ? "started" : after == WakeStatus::stopped ? "stopped" : "updated", i);
  // Anything that waited for this one (dependents, requests) looks again.
  for (auto& [key, o] : instances_)
    if (o->want_up && o.get() != &i) wake(*o);
  if (i.want_up) wake(i);
  check_waiters();
}

void Instances::emit(std::string_view type, const Instance& i) {
  for (auto& observer : observers_) observer(type, i);
}

}  // namespace berth::wake
