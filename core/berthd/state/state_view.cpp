#include "state/state_view.hpp"

namespace berth {
namespace {

Event synthetic(berth_event_type type, const char* action, const Container& c) {
  Event e;
  e.type = type;
  e.raw_action = action;
  e.container_id = c.id;
  e.container_name = c.name;
  e.image = c.image;
  e.labels = c.labels;
  return e;
}

// The events that lead from `before` to `after` for one container.
void transition(const Container& before, const Container& after, std::vector<Event>& out) {
  if (after.state == BERTH_STATE_UNKNOWN) return;  // the provider cannot tell: keep what we knew
  if (after.name != before.name && !after.name.empty()) {
    auto e = synthetic(BERTH_EVENT_RENAMED, "resync", after);
    e.old_name = before.name;
    out.push_back(std::move(e));
  }
  const berth_state from = before.state, to = after.state;
  if (from == to) return;
  const bool was_up = from == BERTH_STATE_RUNNING || from == BERTH_STATE_PAUSED;
  if (to == BERTH_STATE_STOPPED && was_up) {
    auto e = synthetic(BERTH_EVENT_EXITED, "resync", after);
    e.exit_code = after.exit_code;
    // When the engine knows when it exited, the event says so.
    if (after.finished_unix_ms > 0) e.time_unix_ns = after.finished_unix_ms * 1000000;
    out.push_back(std::move(e));
  } else if (to == BERTH_STATE_RUNNING && from == BERTH_STATE_PAUSED) {
    out.push_back(synthetic(BERTH_EVENT_UNPAUSED, "resync", after));
  } else if (to == BERTH_STATE_RUNNING) {
    out.push_back(synthetic(BERTH_EVENT_STARTED, "resync", after));
  } else if (to == BERTH_STATE_PAUSED) {
    if (!was_up) out.push_back(synthetic(BERTH_EVENT_STARTED, "resync", after));
    out.push_back(synthetic(BERTH_EVENT_PAUSED, "resync", after));
  } else {
    out.push_back(synthetic(BERTH_EVENT_OTHER, "resync", after));  // into error/unknown
  }
}

}  // namespace

std::string_view origin_name(Origin o) {
  switch (o) {
    case Origin::engine: return "engine";
    case Origin::resync: return "resync";
    case Origin::poll: return "poll";
  }
  return "engine";
}

void StateView::add_provider(const std::string& provider) {
  std::lock_guard lock(mutex_);
  providers_[provider];
}

StateView::Applied StateView::apply(const std::string& provider, const Event& e) {
  std::lock_guard lock(mutex_);
  auto& view = providers_[provider].containers;
  const uint64_t seq = ++seq_;
  if (e.type == BERTH_EVENT_DESTROYED) {
    view.erase(e.container_id);
    return {seq, BERTH_STATE_UNKNOWN};
  }
  auto [it, inserted] = view.try_emplace(e.container_id);
  Container& c = it->second;
  if (inserted) {
    c.id = e.container_id;
    c.state = BERTH_STATE_STOPPED;
    c.raw_state = "created";
  }
  if (!e.container_name.empty()) c.name = e.container_name;
  if (!e.image.empty()) c.image = e.image;
  // Labels rarely change; comparing is cheaper than reallocating them.
  if (!e.labels.empty() && c.labels != e.labels) c.labels = e.labels;
  switch (e.type) {
    case BERTH_EVENT_STARTED:
    case BERTH_EVENT_UNPAUSED:
      c.state = BERTH_STATE_RUNNING;
      c.raw_state = "running";
      break;
    case BERTH_EVENT_EXITED:
      c.state = BERTH_STATE_STOPPED;
      c.raw_state = "exited";
      c.exit_code = e.exit_code;
      break;
    case BERTH_EVENT_PAUSED:
      c.state = BERTH_STATE_PAUSED;
      c.raw_state = "paused";
      break;
    case BERTH_EVENT_OOM: c.oom_killed = true; break;
    case BERTH_EVENT_HEALTH: c.health = e.health; break;
    default: break;
  }
  return {seq, c.state};
}

uint64_t StateView::set_provider_state(const std::string& provider, bool up,
                                       const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto& p = providers_[provider];
  p.up = up;
  p.reason = reason;
  if (!up) p.synced = false;
  return ++seq_;
}

std::vector<Event> StateView::diff(const std::string& provider,
                                   const std::vector<Container>& listed,
                                   const std::set<std::string>& leave_alone, bool whole) const {
  std::lock_guard lock(mutex_);
  std::vector<Event> out;
  const auto found = providers_.find(provider);
  static const std::map<std::string, Container> none;
  const auto& view = found == providers_.end() ? none : found->second.containers;
  std::set<std::string> seen;
  for (const auto& c : listed) {
    seen.insert(c.id);
    if (leave_alone.count(c.id)) continue;
    auto it = view.find(c.id);
    if (it == view.end()) {
      if (c.state == BERTH_STATE_UNKNOWN && !whole) continue;
      out.push_back(synthetic(BERTH_EVENT_CREATED, "resync", c));
      Container fresh = c;
      fresh.state = BERTH_STATE_STOPPED;
      transition(fresh, c, out);
    } else {
      transition(it->second, c, out);
    }
  }
  if (whole)
    for (const auto& [id, c] : view)
      if (!seen.count(id) && !leave_alone.count(id))
        out.push_back(synthetic(BERTH_EVENT_DESTROYED, "resync", c));
  return out;
}

void StateView::rebase(const std::string& provider, std::vector<Container> listed,
                       const std::set<std::string>& leave_alone, bool whole) {
  std::lock_guard lock(mutex_);
  auto& p = providers_[provider];
  for (auto& c : listed) {
    auto it = p.containers.find(c.id);
    if (it == p.containers.end()) {
      std::string id = c.id;
      p.containers.emplace(std::move(id), std::move(c));
      continue;
    }
    if (leave_alone.count(c.id)) continue;
    const berth_state known = it->second.state;
    std::string known_raw = std::move(it->second.raw_state);
    const bool unknown = c.state == BERTH_STATE_UNKNOWN;
    it->second = std::move(c);
    if (unknown) {
      it->second.state = known;
      it->second.raw_state = std::move(known_raw);
    }
  }
  if (whole) p.synced = true;
}

std::optional<std::string> StateView::resolve(const std::string& provider, const std::string& ref) const {
  std::lock_guard lock(mutex_);
  auto p = providers_.find(provider);
  if (p == providers_.end()) return std::nullopt;
  const auto& view = p->second.containers;
  if (view.count(ref)) return ref;
  std::optional<std::string> found;
  for (const auto& [id, c] : view)
    if (c.name == ref || id.rfind(ref, 0) == 0) {
      if (found) return std::nullopt;  // ambiguous: the plugin will say so
      found = id;
    }
  return found;
}

std::optional<berth_state> StateView::state_of(const std::string& provider, const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto p = providers_.find(provider);
  if (p == providers_.end()) return std::nullopt;
  auto it = p->second.containers.find(id);
  if (it == p->second.containers.end()) return std::nullopt;
  return it->second.state;
}

bool StateView::synced(const std::string& provider) const {
  std::lock_guard lock(mutex_);
  auto p = providers_.find(provider);
  return p != providers_.end() && p->second.synced;
}

bool StateView::up(const std::string& provider) const {
  std::lock_guard lock(mutex_);
  auto p = providers_.find(provider);
  return p != providers_.end() && p->second.up;
}

Snapshot StateView::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot s;
  s.seq = seq_;
  for (const auto& [name, view] : providers_) s.providers.emplace(name, view);
  return s;
}

uint64_t StateView::seq() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

std::vector<std::string> StateView::providers_knowing(const std::string& ref) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, view] : providers_) {
    size_t matches = 0;
    for (const auto& [id, c] : view.containers)
      if (id == ref || c.name == ref || id.rfind(ref, 0) == 0) ++matches;
    if (matches > 0) out.push_back(name);
  }
  return out;
}

}  // namespace berth
