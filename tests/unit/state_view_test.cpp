// The state view: events applied in order, numbered, and the resync diff
// that publishes what happened while nobody was watching.
#include "state/state_view.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

Container make(const std::string& id, const std::string& name, berth_state s,
               std::optional<int> exit_code = std::nullopt) {
  Container c;
  c.id = id;
  c.name = name;
  c.state = s;
  c.exit_code = exit_code;
  return c;
}

Event event(berth_event_type type, const std::string& id, const std::string& name = "") {
  Event e;
  e.type = type;
  e.raw_action = "test";
  e.container_id = id;
  e.container_name = name;
  return e;
}

TEST(StateView, EventsAreNumberedConsecutively) {
  StateView v;
  v.add_provider("p");
  EXPECT_EQ(v.apply("p", event(BERTH_EVENT_CREATED, "a", "web")).seq, 1u);
  EXPECT_EQ(v.apply("p", event(BERTH_EVENT_STARTED, "a")).seq, 2u);
  EXPECT_EQ(v.set_provider_state("p", true, ""), 3u);
  EXPECT_EQ(v.seq(), 3u);
}

TEST(StateView, AppliedEventsChangeTheSnapshot) {
  StateView v;
  v.apply("p", event(BERTH_EVENT_CREATED, "a", "web"));
  EXPECT_EQ(v.apply("p", event(BERTH_EVENT_STARTED, "a")).state, BERTH_STATE_RUNNING);
  EXPECT_EQ(v.apply("p", event(BERTH_EVENT_PAUSED, "a")).state, BERTH_STATE_PAUSED);
  auto exited = event(BERTH_EVENT_EXITED, "a");
  exited.exit_code = 137;
  EXPECT_EQ(v.apply("p", exited).state, BERTH_STATE_STOPPED);
  auto snap = v.snapshot();
  EXPECT_EQ(snap.seq, 4u);
  const auto& c = snap.providers.at("p").containers.at("a");
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.exit_code, 137);
  v.apply("p", event(BERTH_EVENT_DESTROYED, "a"));
  EXPECT_TRUE(v.snapshot().providers.at("p").containers.empty());
}

TEST(StateView, DiffPublishesExitsCreationsAndRemovalsFromTheOutage) {
  StateView v;
  v.rebase("p", {make("a", "web", BERTH_STATE_RUNNING), make("b", "db", BERTH_STATE_RUNNING),
                 make("c", "old", BERTH_STATE_STOPPED)},
           {});
  const auto events =
      v.diff("p",
             {make("a", "web", BERTH_STATE_STOPPED, 1), make("b", "db", BERTH_STATE_RUNNING),
              make("d", "new", BERTH_STATE_RUNNING)},
             {});
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, BERTH_EVENT_EXITED);
  EXPECT_EQ(events[0].container_id, "a");
  EXPECT_EQ(events[0].exit_code, 1);
  EXPECT_EQ(events[1].type, BERTH_EVENT_CREATED);
  EXPECT_EQ(events[1].container_id, "d");
  EXPECT_EQ(events[2].type, BERTH_EVENT_STARTED);
  EXPECT_EQ(events[2].container_id, "d");
  EXPECT_EQ(events[3].type, BERTH_EVENT_DESTROYED);
  EXPECT_EQ(events[3].container_id, "c");
}

TEST(StateView, DiffOfAnUnchangedViewIsEmpty) {
  StateView v;
  std::vector<Container> same = {make("a", "web", BERTH_STATE_RUNNING)};
  v.rebase("p", same, {});
  EXPECT_TRUE(v.diff("p", same, {}).empty()) << "no re-announcing of live containers";
}

TEST(StateView, DiffLeavesContainersWithPendingEventsAlone) {
  StateView v;
  v.rebase("p", {make("a", "web", BERTH_STATE_STOPPED)}, {});
  EXPECT_TRUE(v.diff("p", {make("a", "web", BERTH_STATE_RUNNING)}, {"a"}).empty());
}

TEST(StateView, DiffSeesRenamesAndPauses) {
  StateView v;
  v.rebase("p", {make("a", "web", BERTH_STATE_RUNNING)}, {});
  const auto events = v.diff("p", {make("a", "web2", BERTH_STATE_PAUSED)}, {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, BERTH_EVENT_RENAMED);
  EXPECT_EQ(events[0].old_name, "web");
  EXPECT_EQ(events[1].type, BERTH_EVENT_PAUSED);
}

TEST(StateView, ProvidersKnowingMatchesIdPrefixAndName) {
  StateView v;
  v.rebase("one", {make("abc123", "web", BERTH_STATE_RUNNING)}, {});
  v.rebase("two", {make("def456", "web", BERTH_STATE_RUNNING)}, {});
  EXPECT_EQ(v.providers_knowing("abc"), std::vector<std::string>{"one"});
  EXPECT_EQ(v.providers_knowing("web").size(), 2u);
  EXPECT_TRUE(v.providers_knowing("nothing").empty());
}

// A container that died while nobody watched: its resync `exited` says when
// it died, when the engine knows (not when berthd noticed).
TEST(StateView, AResyncExitCarriesTheEnginesFinishTime) {
  StateView v;
  v.rebase("p", {make("a", "web", BERTH_STATE_RUNNING)}, {});
  auto gone = make("a", "web", BERTH_STATE_STOPPED, 137);
  gone.finished_unix_ms = 1700000000123;
  auto events = v.diff("p", {gone}, {});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, BERTH_EVENT_EXITED);
  EXPECT_EQ(events[0].time_unix_ns, 1700000000123LL * 1000000);
  EXPECT_EQ(events[0].exit_code, 137);
  auto unknown_time = v.diff("p", {make("a", "web", BERTH_STATE_STOPPED)}, {});
  ASSERT_EQ(unknown_time.size(), 1u);
  EXPECT_EQ(unknown_time[0].time_unix_ns, 0) << "0: the publisher stamps its own time";
}

// A provider that cannot tell (its node is unreachable) lists the container
// as UNKNOWN: berthd keeps what it knew, and publishes nothing.
TEST(StateView, AnUnknownStateKeepsTheLastKnownOne) {
  StateView v;
  v.rebase("p", {make("a", "web", BERTH_STATE_RUNNING)}, {});
  const std::vector<Container> unsure{make("a", "web", BERTH_STATE_UNKNOWN)};
  EXPECT_TRUE(v.diff("p", unsure, {}).empty());
  v.rebase("p", unsure, {});
  EXPECT_EQ(v.state_of("p", "a"), BERTH_STATE_RUNNING);
  EXPECT_TRUE(v.diff("p", {make("a", "web", BERTH_STATE_RUNNING)}, {}).empty()) << "no started when it answers again";
}

// A status is part of a list: what it does not mention is not gone.
TEST(StateView, APartialDiffNeverDestroysWhatItDoesNotMention) {
  StateView v;
  v.rebase("p", {make("a", "web", BERTH_STATE_RUNNING), make("b", "db", BERTH_STATE_RUNNING)}, {});
  auto events = v.diff("p", {make("a", "web", BERTH_STATE_STOPPED)}, {}, false);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, BERTH_EVENT_EXITED);
}

TEST(StateView, RefsResolveByIdNameOrUniquePrefix) {
  StateView v;
  v.rebase("p", {make("abc123", "web", BERTH_STATE_RUNNING), make("abd456", "db", BERTH_STATE_RUNNING)}, {});
  EXPECT_EQ(v.resolve("p", "web"), "abc123");
  EXPECT_EQ(v.resolve("p", "abd"), "abd456");
  EXPECT_EQ(v.resolve("p", "ab"), std::nullopt) << "ambiguous";
  EXPECT_EQ(v.resolve("p", "nope"), std::nullopt);
}

}  // namespace
}  // namespace berth
