// The wire format's building blocks: topics, names, container JSON.
#include "wire/wire.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <rapidjson/document.h>

#include <set>

namespace berth::wire {
namespace {

const Identity kHost{"host-1", "0123456789abcdef"}, kH{"h", "r"};

TEST(Wire, ContainerTopicSelectsOneProviderByPrefix) {
  std::string t;
  container_topic(t, "docker", BERTH_EVENT_EXITED);
  EXPECT_EQ(t, "container/docker/exited");
  container_topic(t, "docker2", BERTH_EVENT_STARTED);
  EXPECT_NE(t.rfind("container/docker/", 0), 0u) << "prefix of docker must not match docker2";
}

TEST(Wire, NonContainerTopicsAreSeparable) {
  EXPECT_EQ(provider_topic("pve", false), "provider/pve/down");
  EXPECT_EQ(kHeartbeatTopic.substr(0, 7), "daemon/");
}

TEST(Wire, TimeIsRfc3339WithNanoseconds) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write_time(w, 1700000000123456789LL);
  EXPECT_STREQ(buf.GetString(), "\"2023-11-14T22:13:20.123456789Z\"");
}

TEST(Wire, TimeFormattingAgreesWithGmtimeAcrossCalendarEdges) {
  // Leap day, century non-leap year, end of year, the epoch, before it.
  for (int64_t secs : {1709251199LL, 4107542400LL, 1735689599LL, 0LL, -1LL, 951782400LL}) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    write_time(w, secs * 1000000000LL + 7);
    const time_t t = static_cast<time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char want[64];
    std::strftime(want, sizeof want, "\"%Y-%m-%dT%H:%M:%S.000000007Z\"", &tm);
    EXPECT_STREQ(buf.GetString(), want) << secs;
  }
}

TEST(Wire, ContainerJsonCarriesStateLabelsAndDetails) {
  sdk::Container c;
  c.id = "abc";
  c.name = "web";
  c.state = BERTH_STATE_PAUSED;
  c.raw_state = "paused";
  c.exit_code = 3;
  c.labels = {{"proxy.aliases", "app"}};
  c.details_json = R"({"ports":[{"private":80}]})";
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write_container(w, "docker", c);
  rapidjson::Document d;
  ASSERT_FALSE(d.Parse(buf.GetString()).HasParseError()) << buf.GetString();
  EXPECT_STREQ(d["provider"].GetString(), "docker");
  EXPECT_STREQ(d["state"].GetString(), "paused");
  EXPECT_EQ(d["exit_code"].GetInt(), 3);
  EXPECT_TRUE(d["image"].IsNull());
  EXPECT_STREQ(d["labels"]["proxy.aliases"].GetString(), "app");
  EXPECT_EQ(d["details"]["ports"][0]["private"].GetInt(), 80);
}

rapidjson::Document parse(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  return d;
}

rapidjson::Document parse(const rapidjson::StringBuffer& buf) {
  rapidjson::Document d;
  d.Parse(buf.GetString());
  return d;
}

TEST(Wire, ExitedEventIsNormalizedWithSequenceStateAndExitCode) {
  sdk::Event e;
  e.type = BERTH_EVENT_EXITED;
  e.raw_action = "die";
  e.time_unix_ns = 1700000000000000001LL;
  e.container_id = "4f1c";
  e.container_name = "web";
  e.exit_code = 137;
  e.labels = {{"com.docker.compose.project", "shop"}};
  std::string buf;
  write_event(buf, {kHost, "docker", e, 42, BERTH_STATE_STOPPED, "engine"});
  auto d = parse(buf);
  ASSERT_FALSE(d.HasParseError()) << buf;
  EXPECT_EQ(d["schema"].GetInt(), kSchemaVersion);
  EXPECT_STREQ(d["kind"].GetString(), "container");
  EXPECT_STREQ(d["daemon_name"].GetString(), "host-1");
  EXPECT_STREQ(d["run_id"].GetString(), "0123456789abcdef");
  EXPECT_EQ(d["seq"].GetUint64(), 42u);
  EXPECT_STREQ(d["time"].GetString(), "2023-11-14T22:13:20.000000001Z");
  EXPECT_STREQ(d["provider"].GetString(), "docker");
  EXPECT_STREQ(d["type"].GetString(), "exited");
  EXPECT_STREQ(d["raw_action"].GetString(), "die");
  EXPECT_STREQ(d["origin"].GetString(), "engine");
  EXPECT_STREQ(d["container"]["id"].GetString(), "4f1c");
  EXPECT_STREQ(d["container"]["name"].GetString(), "web");
  EXPECT_TRUE(d["container"]["image"].IsNull());
  EXPECT_STREQ(d["container"]["state"].GetString(), "stopped");
  EXPECT_STREQ(d["container"]["labels"]["com.docker.compose.project"].GetString(), "shop");
  EXPECT_EQ(d["exit_code"].GetInt(), 137);
  EXPECT_TRUE(d["health"].IsNull());
}

TEST(Wire, ResyncEventsSayWhereTheyCameFrom) {
  sdk::Event e;
  e.type = BERTH_EVENT_HEALTH;
  e.raw_action = "resync";
  e.container_id = "x";
  e.health = "unhealthy";
  std::string buf;
  write_event(buf, {kH, "p", e, 1, BERTH_STATE_RUNNING, "resync"});
  auto d = parse(buf);
  EXPECT_STREQ(d["origin"].GetString(), "resync");
  EXPECT_STREQ(d["health"].GetString(), "unhealthy");
  EXPECT_TRUE(d["exit_code"].IsNull());
}

TEST(Wire, StringsAreEscaped) {
  sdk::Event e;
  e.type = BERTH_EVENT_RENAMED;
  e.raw_action = "rename";
  e.container_id = "x";
  e.container_name = "we\"ird\nname";
  e.old_name = "old";
  std::string buf;
  write_event(buf, {kH, "p", e, 1, BERTH_STATE_RUNNING, "engine"});
  auto d = parse(buf);
  ASSERT_FALSE(d.HasParseError());
  EXPECT_STREQ(d["container"]["name"].GetString(), "we\"ird\nname");
  EXPECT_STREQ(d["old_name"].GetString(), "old");
}

TEST(Wire, HeartbeatCarriesSequenceAndQueueFigures) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write_heartbeat(w, {kHost, 7, 1500, 3, 100, 2});
  auto d = parse(buf);
  EXPECT_STREQ(d["kind"].GetString(), "heartbeat");
  EXPECT_STREQ(d["daemon_name"].GetString(), "host-1");
  EXPECT_STREQ(d["run_id"].GetString(), "0123456789abcdef");
  EXPECT_EQ(d["seq"].GetUint64(), 7u);
  EXPECT_EQ(d["queue_depth"].GetUint64(), 3u);
  EXPECT_EQ(d["emit_blocked_total"].GetUint64(), 2u);
}

TEST(Wire, StoppingAndProviderMessagesNameTheRun) {
  rapidjson::StringBuffer a, b;
  Writer wa(a), wb(b);
  write_stopping(wa, kHost, 9);
  write_provider_message(wb, kHost, 3, "dk", "docker", true, "");
  for (auto* buf : {&a, &b}) {
    auto d = parse(*buf);
    EXPECT_STREQ(d["run_id"].GetString(), "0123456789abcdef") << buf->GetString();
  }
}

TEST(Wire, EachStartHasANewRunId) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_run_id();
    ASSERT_EQ(id.size(), 16u) << id;
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Wire, EveryCodeHasItsOwnName) {
  std::set<std::string_view> names;
  for (int c : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101, 102, 103, 104, 105, 106})
    names.insert(code_name(static_cast<Code>(c)));
  EXPECT_EQ(names.size(), 17u);
  EXPECT_EQ(code_name(code_from_abi(12345)), "internal");
}

TEST(Wire, EventStringsAreEscapedExactlyAsJsonRequires) {
  sdk::Event e;
  e.type = BERTH_EVENT_RENAMED;
  e.raw_action = "rename";
  e.container_id = "id\"1";
  e.container_name = "back\\slash\nnew\tline\x01\x1f end";
  e.old_name = "caf\xc3\xa9 \xe2\x86\x92 /x";
  e.labels = {{"k\"ey", "v\\al"}, {"proxy.aliases", "a,b"}};
  std::string buf;
  write_event(buf, {kH, "p", e, 42, BERTH_STATE_RUNNING, "engine"});
  rapidjson::Document d;
  d.Parse(buf.c_str());
  ASSERT_FALSE(d.HasParseError()) << buf;
  EXPECT_EQ(std::string(d["container"]["id"].GetString()), e.container_id);
  EXPECT_EQ(std::string(d["container"]["name"].GetString()), e.container_name);
  EXPECT_EQ(std::string(d["old_name"].GetString()), e.old_name);
  EXPECT_EQ(std::string(d["container"]["labels"]["k\"ey"].GetString()), "v\\al");
  EXPECT_EQ(d["seq"].GetUint64(), 42u);
  EXPECT_TRUE(d["exit_code"].IsNull());
  EXPECT_EQ(d["container"]["routing"]["routes"].Size(), 2u);
  EXPECT_NE(buf.find("\\u0001"), std::string::npos) << "controls as \\u00XX";
}

// The escaper scans eight bytes at a time: a special byte at any position of
// any length must still be escaped, and a time within a cached second still
// formatted whole.
TEST(Wire, EveryByteThatNeedsEscapingIsEscapedWhereverItStands) {
  const std::string specials[] = {"\"", "\\", std::string(1, '\x01'), "\x1f", "\n", std::string(1, '\0')};
  for (size_t len = 1; len <= 40; ++len)
    for (size_t at = 0; at < len; ++at)
      for (const auto& sp : specials) {
        std::string name(len, 'a');
        name.replace(at, 1, sp);
        name += "\xc3\xa9\x7f";  // UTF-8 and DEL pass as they are
        sdk::Event e;
        e.type = BERTH_EVENT_STARTED;
        e.raw_action = "start";
        e.container_id = "x";
        e.container_name = name;
        std::string buf;
        write_event(buf, {kH, "p", e, 1, BERTH_STATE_RUNNING, "engine"});
        rapidjson::Document d;
        d.Parse(buf.c_str(), buf.size());
        ASSERT_FALSE(d.HasParseError()) << len << "/" << at;
        ASSERT_EQ(std::string(d["container"]["name"].GetString(), d["container"]["name"].GetStringLength()), name)
            << len << "/" << at;
      }
}

TEST(Wire, TimesWithinOneSecondAreFormattedWhole) {
  char a[kTimeChars], b[kTimeChars], c[kTimeChars];
  const int64_t t = 1700000000LL * 1000000000;
  ASSERT_EQ(format_time(a, t + 1), kTimeChars);
  ASSERT_EQ(format_time(b, t + 999999999), kTimeChars);
  ASSERT_EQ(format_time(c, t + 1000000000), kTimeChars);
  EXPECT_EQ(std::string(a, kTimeChars), "2023-11-14T22:13:20.000000001Z");
  EXPECT_EQ(std::string(b, kTimeChars), "2023-11-14T22:13:20.999999999Z");
  EXPECT_EQ(std::string(c, kTimeChars), "2023-11-14T22:13:21.000000000Z");
}

}  // namespace
}  // namespace berth::wire
