// The subscriber's rule (docs/protocol.md §3) as berth/follow.hpp writes
// it: every case of snapshot + seq + run, one behaviour per test.
#include <berth/follow.hpp>

#include <gtest/gtest.h>

namespace berth::follow {
namespace {

constexpr std::string_view kEvent = "container", kHeartbeat = "heartbeat", kStopping = "stopping";

bool is(Step s, Action a, Reason r) { return s.action == a && s.reason == r; }

TEST(Follow, MessagesBeforeTheFirstSnapshotAreHeld) {
  Follow f;
  EXPECT_TRUE(is(f.on_message("a", kEvent, 1), Action::hold, Reason::no_snapshot));
  EXPECT_FALSE(f.synced());
}

TEST(Follow, TheSnapshotCoversItsSeqAndTheNextIsApplied) {
  Follow f;
  f.on_snapshot("a", 5);
  EXPECT_TRUE(is(f.on_message("a", kEvent, 4), Action::skip, Reason::covered));
  EXPECT_TRUE(is(f.on_message("a", kEvent, 5), Action::skip, Reason::covered));
  EXPECT_TRUE(is(f.on_message("a", kEvent, 6), Action::apply, Reason::none));
  EXPECT_TRUE(is(f.on_message("a", kEvent, 7), Action::apply, Reason::none));
  EXPECT_EQ(f.seq(), 7u);
}

TEST(Follow, ASkippedSeqIsAGap) {
  Follow f;
  f.on_snapshot("a", 5);
  EXPECT_TRUE(is(f.on_message("a", kEvent, 7), Action::resync, Reason::gap));
  EXPECT_EQ(f.seq(), 5u) << "a gap applies nothing";
}

TEST(Follow, AHeartbeatAheadIsAGapAndOneAtOurSeqIsCovered) {
  Follow f;
  f.on_snapshot("a", 5);
  EXPECT_TRUE(is(f.on_message("a", kHeartbeat, 5), Action::skip, Reason::covered));
  EXPECT_TRUE(is(f.on_message("a", kStopping, 5), Action::skip, Reason::stopping));
  EXPECT_TRUE(is(f.on_message("a", kHeartbeat, 6), Action::resync, Reason::gap));
  EXPECT_TRUE(is(f.on_message("a", kHeartbeat, 4), Action::resync, Reason::went_back));
}

// libzmq can drop what a subscriber has not read when berthd exits: a
// `stopping` after a gap is still the end of that run, not a reason to ask
// a daemon on its way out for a snapshot.
TEST(Follow, StoppingEndsTheRunWhateverItsSeq) {
  Follow f;
  f.on_snapshot("a", 5);
  EXPECT_TRUE(is(f.on_message("a", kStopping, 9), Action::skip, Reason::stopping));
  EXPECT_TRUE(is(f.on_message("b", kEvent, 1), Action::resync, Reason::new_run)) << "its next run";
}

TEST(Follow, ALiveTailStartsAtTheMessageItFirstSees) {
  Follow f;
  f.start_at("a", kEvent, 40);
  EXPECT_TRUE(is(f.on_message("a", kEvent, 40), Action::apply, Reason::none));
  Follow g;
  g.start_at("a", kHeartbeat, 40);
  EXPECT_TRUE(is(g.on_message("a", kHeartbeat, 40), Action::skip, Reason::covered));
  EXPECT_TRUE(is(g.on_message("a", kEvent, 41), Action::apply, Reason::none));
}

// The crash this rule exists for: a berthd restarted within its silence
// window whose seq is at or below the old one. Seq alone would take its
// messages as already applied.
TEST(Follow, ANewRunIsARestartWhateverItsSeq) {
  for (uint64_t seq : {1u, 5u, 6u, 100u}) {
    Follow f;
    f.on_snapshot("a", 5);
    EXPECT_TRUE(is(f.on_message("b", kEvent, seq), Action::resync, Reason::new_run)) << seq;
    EXPECT_TRUE(is(f.on_message("b", kHeartbeat, seq), Action::resync, Reason::new_run)) << seq;
  }
}

TEST(Follow, AfterTheNewRunsSnapshotItsMessagesApplyAndTheOldRunsAreStragglers) {
  Follow f;
  f.on_snapshot("a", 50);
  ASSERT_EQ(f.on_message("b", kHeartbeat, 2).reason, Reason::new_run);
  f.on_snapshot("b", 2);
  EXPECT_EQ(f.run(), "b");
  EXPECT_TRUE(is(f.on_message("a", kEvent, 51), Action::skip, Reason::stale_run));
  EXPECT_TRUE(is(f.on_message("b", kEvent, 2), Action::skip, Reason::covered));
  EXPECT_TRUE(is(f.on_message("b", kEvent, 3), Action::apply, Reason::none));
}

// A message of run b made us ask; the snapshot came back from run c: b
// ended before the snapshot was answered, so its messages still queued
// are stragglers, not a reason for another snapshot.
TEST(Follow, ARunThatAskedForASnapshotOfAnotherRunHasEnded) {
  Follow f;
  f.on_snapshot("a", 9);
  ASSERT_EQ(f.on_message("b", kEvent, 1).reason, Reason::new_run);
  f.on_snapshot("c", 3);
  EXPECT_TRUE(is(f.on_message("b", kEvent, 2), Action::skip, Reason::stale_run));
  EXPECT_TRUE(is(f.on_message("a", kEvent, 10), Action::skip, Reason::stale_run));
  EXPECT_TRUE(is(f.on_message("c", kEvent, 4), Action::apply, Reason::none));
}

// The first snapshot may be answered by a new berthd while the old one's
// messages are still queued: unknown to us, they ask for one more
// snapshot (same run), and are stragglers from then on.
TEST(Follow, AnOldRunFirstSeenAfterTheSnapshotCostsOneMoreSnapshot) {
  Follow f;
  f.on_snapshot("b", 2);
  ASSERT_EQ(f.on_message("a", kEvent, 40).reason, Reason::new_run);
  f.on_snapshot("b", 2);
  EXPECT_TRUE(is(f.on_message("a", kEvent, 41), Action::skip, Reason::stale_run));
  EXPECT_TRUE(is(f.on_message("b", kEvent, 3), Action::apply, Reason::none));
}

TEST(Follow, ForgettingHoldsMessagesUntilTheNextSnapshot) {
  Follow f;
  f.on_snapshot("a", 5);
  f.forget();
  EXPECT_TRUE(is(f.on_message("a", kEvent, 6), Action::hold, Reason::no_snapshot));
  f.on_snapshot("b", 1);  // a run followed before forget() is still left behind
  EXPECT_TRUE(is(f.on_message("a", kEvent, 6), Action::skip, Reason::stale_run));
}

TEST(Follow, ASnapshotOfTheSameRunAfterForgettingResumesIt) {
  Follow f;
  f.on_snapshot("a", 5);
  f.forget();
  f.on_snapshot("a", 8);
  EXPECT_TRUE(is(f.on_message("a", kEvent, 8), Action::skip, Reason::covered));
  EXPECT_TRUE(is(f.on_message("a", kEvent, 9), Action::apply, Reason::none));
}

// Only the last four runs left are remembered: a straggler of an older one
// costs one more snapshot (of the same run), never a wrong apply.
TEST(Follow, AStragglerOfARunLongGoneCostsOneSnapshot) {
  Follow f;
  for (int i = 0; i <= 5; ++i) f.on_snapshot("r" + std::to_string(i), 1);
  EXPECT_TRUE(is(f.on_message("r0", kEvent, 2), Action::resync, Reason::new_run));
  f.on_snapshot("r5", 1);
  EXPECT_TRUE(is(f.on_message("r0", kEvent, 3), Action::skip, Reason::stale_run));
}

TEST(Follow, ManyRestartsInARowEachRecover) {
  Follow f;
  f.on_snapshot("r0", 10);
  for (int i = 1; i <= 10; ++i) {
    const std::string run = "r" + std::to_string(i), previous = "r" + std::to_string(i - 1);
    ASSERT_EQ(f.on_message(run, kHeartbeat, 1).reason, Reason::new_run) << run;
    f.on_snapshot(run, 1);
    EXPECT_TRUE(is(f.on_message(previous, kEvent, 11), Action::skip, Reason::stale_run)) << run;
    EXPECT_TRUE(is(f.on_message(run, kEvent, 2), Action::apply, Reason::none)) << run;
  }
}

// A newer berthd may publish a kind this header does not know: it takes a
// seq like every message but the heartbeat and `stopping`.
TEST(Follow, AKindThisHeaderDoesNotKnowIsNumbered) {
  Follow f;
  f.on_snapshot("a", 5);
  EXPECT_TRUE(is(f.on_message("a", "telemetry", 6), Action::apply, Reason::none));
  EXPECT_TRUE(is(f.on_message("a", kEvent, 7), Action::apply, Reason::none));
}

// A berthd from before run ids sends none: the empty run is one run, and
// the seq rule alone applies (a restart then shows only as seq going back).
TEST(Follow, WithoutRunIdsTheSeqRuleStillHolds) {
  Follow f;
  f.on_snapshot("", 5);
  EXPECT_TRUE(is(f.on_message("", kEvent, 6), Action::apply, Reason::none));
  EXPECT_TRUE(is(f.on_message("", kHeartbeat, 2), Action::resync, Reason::went_back));
}

}  // namespace
}  // namespace berth::follow
