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

}  // namespace
}  // namespace berth
