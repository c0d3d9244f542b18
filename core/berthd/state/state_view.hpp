// The daemon's view of every container, and the sequence number it is
// consistent with. The publisher applies each event and assigns its number
// under one lock, so a snapshot taken at sequence N reflects exactly the
// events numbered <= N (the clone pattern: subscribe, snapshot, then drop
// stream messages with seq <= snapshot.seq).
#pragma once

#include <berth/provider.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace berth {

using Container = sdk::Container;
using Event = sdk::Event;

struct ProviderView {
  bool up = false;      // last provider_state report
  bool synced = false;  // a baseline list has been taken
  std::string reason;   // of the last up/down report
  std::map<std::string, Container> containers;  // by id
};

struct Snapshot {
  uint64_t seq = 0;
  std::map<std::string, ProviderView> providers;  // by instance name
};

// Where a container event came from: the engine's own report, a difference
// found by listing after an outage, or one found by polling a provider that
// cannot watch.
enum class Origin { engine, resync, poll };
std::string_view origin_name(Origin o);

class StateView {
 public:
  void add_provider(const std::string& provider);

  // Applies `e` to the view and numbers it. Returns the new sequence number
  // and the container's state after the event (UNKNOWN once destroyed).
  struct Applied {
    uint64_t seq;
    berth_state state;
  };
  Applied apply(const std::string& provider, const Event& e);

  // Numbers a message that changes no container (provider up/down). A
  // provider that goes down is no longer synced.
  uint64_t set_provider_state(const std::string& provider, bool up, const std::string& reason);

  // The events that turn the current view of `provider` into `listed`,
  // skipping containers in `leave_alone` (their own events are pending). A
  // listed container whose state is UNKNOWN (its node is unreachable, say)
  // keeps its last known state: no event. With `whole` false, `listed` is a
  // part (one status) and absence means nothing.
  std::vector<Event> diff(const std::string& provider, const std::vector<Container>& listed,
                          const std::set<std::string>& leave_alone, bool whole = true) const;

  // Replaces the view's details of `provider` with `listed` (after diff's
  // events were applied) and marks it synced. Containers in `leave_alone`
  // are only added if missing; UNKNOWN states do not overwrite known ones.
  void rebase(const std::string& provider, std::vector<Container> listed,
              const std::set<std::string>& leave_alone, bool whole = true);

  // The id of the one container of `provider` that `ref` names (id, name,
  // or unique id prefix), if the view knows it.
  std::optional<std::string> resolve(const std::string& provider, const std::string& ref) const;
  std::optional<berth_state> state_of(const std::string& provider, const std::string& id) const;
  bool synced(const std::string& provider) const;
  bool up(const std::string& provider) const;

  Snapshot snapshot() const;
  uint64_t seq() const;
  // Provider of the container `ref` (id, unique id prefix, or name) per
  // provider that knows it.
  std::vector<std::string> providers_knowing(const std::string& ref) const;

 private:
  mutable std::mutex mutex_;
  uint64_t seq_ = 0;
  std::unordered_map<std::string, ProviderView> providers_;
};

}  // namespace berth
