// berth/follow.hpp — the subscriber's rule of docs/protocol.md §3 for one
// daemon, as a value type with no I/O: feed it each message's run, kind and
// seq, and the snapshots you take; it says what to do with each message.
// Header-only, C++17, nothing to link. Used by berthctl, berth-wake and the
// C++ subscriber example; a client in another language follows the same
// table (docs/protocol.md §3).
//
//   berth::follow::Follow f;                    // one per daemon_name
//   ... subscribe, then take a snapshot:
//   f.on_snapshot(result["run_id"], result["seq"]);
//   for each message:
//     switch (f.on_message(run, kind, seq).action) {
//       case apply:    apply it to your view;               break;
//       case skip:     the snapshot has it (or a dead run);  break;
//       case hold:     no snapshot yet: keep it for after;  break;
//       case resync:   take a new snapshot (reason says why) and replay
//                      what arrived meanwhile through on_message again.
//     }
//
// A run is one life of a berthd process (`run_id` in every message and in the
// snapshot): a berthd that restarts keeps its daemon_name but counts seq
// from 1 again under a new run. A run never comes back, so a message of a
// run this follower has left is a straggler of the old process: skipped.
#pragma once

#include <berth/protocol.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace berth::follow {

enum class Action { apply, skip, hold, resync };
enum class Reason {
  none,
  covered,      // skip: the snapshot (or an earlier message) has it
  stale_run,    // skip: a message of a run that has ended
  stopping,     // skip: the followed run says it is stopping (whatever its seq: nothing
                //       can be recovered from a daemon on its way out; its next run will show)
  no_snapshot,  // hold: no snapshot taken yet
  new_run,      // resync: a new berthd process (restart)
  gap,          // resync: seq skipped (ZeroMQ dropped messages), or a heartbeat ahead of us
  went_back,    // resync: seq went back within one run (never from a correct berthd)
};

inline std::string_view reason_text(Reason r) {
  switch (r) {
    case Reason::none: return "";
    case Reason::covered: return "covered by the snapshot";
    case Reason::stale_run: return "from a run that has ended";
    case Reason::stopping: return "berthd is stopping";
    case Reason::no_snapshot: return "no snapshot yet";
    case Reason::new_run: return "berthd restarted";
    case Reason::gap: return "missed messages";
    case Reason::went_back: return "seq went back";
  }
  return "";
}

struct Step {
  Action action;
  Reason reason;
};

class Follow {
 public:
  // `kind` is the body's kind: heartbeats and `stopping` carry the current
  // seq without taking one; every other message takes the next.
  Step on_message(std::string_view run, std::string_view kind, uint64_t seq) {
    if (!synced_) return {Action::hold, Reason::no_snapshot};
    if (run != run_) {
      if (retired(run)) return {Action::skip, Reason::stale_run};
      suspect_ = std::string(run);
      return {Action::resync, Reason::new_run};
    }
    if (kind_of(kind) == protocol::Kind::stopping) return {Action::skip, Reason::stopping};
    const bool numbered = is_numbered(kind);
    if (!numbered) {
      if (seq > seq_) return {Action::resync, Reason::gap};
      if (seq < seq_) return {Action::resync, Reason::went_back};
      return {Action::skip, Reason::covered};
    }
    if (seq <= seq_) return {Action::skip, Reason::covered};
    if (seq != seq_ + 1) return {Action::resync, Reason::gap};
    seq_ = seq;
    return {Action::apply, Reason::none};
  }

  // A snapshot's answer: it holds exactly the messages of `run` numbered
  // <= seq. The run followed before it, and a run whose message asked for
  // this snapshot but is not the snapshot's, have ended (runs never
  // overlap), so their stragglers are skipped from now on.
  void on_snapshot(std::string_view run, uint64_t seq) {
    if (followed_ && run != run_) retire(run_);
    if (!suspect_.empty() && suspect_ != run) retire(suspect_);
    suspect_.clear();
    run_ = std::string(run);
    seq_ = seq;
    synced_ = followed_ = true;
  }

  // For a live tail that takes no snapshot (it shows the stream, not a
  // view): follow from this message on, as if a snapshot had covered what
  // came before it. on_message(run, kind, seq) then applies it.
  void start_at(std::string_view run, std::string_view kind, uint64_t seq) {
    on_snapshot(run, is_numbered(kind) && seq > 0 ? seq - 1 : seq);
  }

  // The view is no longer trusted (the daemon went away or silent): hold
  // messages until the next snapshot.
  void forget() { synced_ = false; }

  bool synced() const { return synced_; }
  // A run this follower has left: its messages are stragglers.
  bool has_left(std::string_view run) const { return retired(run); }
  const std::string& run() const { return run_; }
  uint64_t seq() const { return seq_; }

 private:
  static std::optional<protocol::Kind> kind_of(std::string_view kind) { return protocol::kind_from_name(kind); }
  // A kind this header does not know (a newer berthd's) is numbered: only
  // the heartbeat and `stopping` carry the current seq without taking one.
  static bool is_numbered(std::string_view kind) {
    const auto k = kind_of(kind);
    return !k || protocol::info(*k).numbered;
  }
  bool retired(std::string_view run) const {
    for (const auto& r : retired_)
      if (!r.empty() && r == run) return true;
    return false;
  }
  void retire(const std::string& run) {
    if (retired(run)) return;
    retired_[next_retired_] = run;
    next_retired_ = (next_retired_ + 1) % retired_.size();
  }

  bool synced_ = false, followed_ = false;  // followed_: run_ is a run we followed
  std::string run_, suspect_;
  uint64_t seq_ = 0;
  // The runs left most recently: enough for stragglers, which only come
  // from the run just left.
  std::array<std::string, 4> retired_{};
  std::size_t next_retired_ = 0;
};

}  // namespace berth::follow
