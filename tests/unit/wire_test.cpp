// The wire format's building blocks: topics, names, container JSON.
#include "wire/wire.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

namespace berth::wire {
namespace {

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

TEST(Wire, EveryCodeHasItsOwnName) {
  std::set<std::string_view> names;
  for (int c : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101, 102, 103, 104, 105, 106})
    names.insert(code_name(static_cast<Code>(c)));
  EXPECT_EQ(names.size(), 17u);
  EXPECT_EQ(code_name(code_from_abi(12345)), "internal");
}

}  // namespace
}  // namespace berth::wire
