// Config parsing: what a valid file yields, and how each mistake is named.
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Config, EmptyObjectGivesDefaults) {
  auto c = parse_config("{}");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->heartbeat_ms, 1000);
  EXPECT_TRUE(c->providers.empty());
  EXPECT_EQ(c->log_level, "info");
}

TEST(Config, ProvidersAreReadWithTheirOwnConfigVerbatim) {
  auto c = parse_config(R"({
    "providers": [
      {"name": "local", "plugin": "docker", "config": {"host": "unix:///x.sock"}, "required": true},
      {"plugin": "/opt/p/sim.so"}
    ]})");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->providers.size(), 2u);
  EXPECT_EQ(c->providers[0].name, "local");
  EXPECT_EQ(c->providers[0].config_json, R"({"host":"unix:///x.sock"})");
  EXPECT_TRUE(c->providers[0].required);
  EXPECT_EQ(c->providers[1].name, "sim") << "name defaults to the plugin's stem";
  EXPECT_EQ(c->providers[1].config_json, "{}");
}

TEST(Config, MalformedJsonNamesLineAndColumn) {
  auto c = parse_config("{\n  \"heartbeat_ms\": 10,\n  oops\n}");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Code::invalid_argument);
  EXPECT_NE(c.error().message().find("line 3, column 3"), std::string::npos) << c.error().message();
}

TEST(Config, UnknownKeyIsNamed) {
  auto c = parse_config(R"({"heartbeat": 5})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("heartbeat: unknown key"), std::string::npos);
}

TEST(Config, WrongTypeNamesTheNestedKey) {
  auto c = parse_config(R"({"providers": [{"plugin": "sim"}, {"plugin": 7}]})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("providers[1].plugin"), std::string::npos)
      << c.error().message();
}

TEST(Config, MissingPluginIsRequired) {
  auto c = parse_config(R"({"providers": [{"name": "x"}]})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("providers[0].plugin: required"), std::string::npos);
}

TEST(Config, DuplicateInstanceNamesAreRefused) {
  auto c = parse_config(R"({"providers": [{"plugin": "sim"}, {"plugin": "/a/sim.so"}]})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("duplicate instance name \"sim\""), std::string::npos);
}

TEST(Config, InstanceNamesCannotBreakTopics) {
  auto c = parse_config(R"({"providers": [{"name": "a/b", "plugin": "sim"}]})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("providers[0].name"), std::string::npos);
}

TEST(Config, NonPositiveNumbersAreRefused) {
  auto c = parse_config(R"({"workers": 0})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("workers: expected a positive integer"), std::string::npos);
}

TEST(Config, UnknownLogLevelIsRefused) {
  auto c = parse_config(R"({"log_level": "loud"})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("log_level"), std::string::npos);
}

TEST(Config, DefaultsPutEndpointsUnderTheRuntimeDir) {
  Config c;
  c.runtime_dir = "/tmp/rt";
  complete_defaults(c, "/opt/berth/bin");
  EXPECT_EQ(c.events_endpoint, "ipc:///tmp/rt/events.sock");
  EXPECT_EQ(c.commands_endpoint, "ipc:///tmp/rt/commands.sock");
  ASSERT_FALSE(c.plugin_dirs.empty());
  EXPECT_NE(std::find(c.plugin_dirs.begin(), c.plugin_dirs.end(), "/opt/berth/plugins"),
            c.plugin_dirs.end());
}

}  // namespace
TEST(Config, TheShippedExampleConfigParses) {
  auto c = load_config_file(BERTH_SOURCE_DIR "/examples/deploy/berthd.json");
  ASSERT_TRUE(c.is_ok()) << c.error().message();
  ASSERT_EQ(c->providers.size(), 2u);
  EXPECT_EQ(c->providers[0].name, "local");
  EXPECT_TRUE(c->providers[0].required);
}

TEST(Config, TheDebianPackagesConfigParses) {
  auto c = load_config_file(BERTH_SOURCE_DIR "/examples/deploy/berthd.json.dist");
  ASSERT_TRUE(c.is_ok()) << c.error().message();
  ASSERT_EQ(c->providers.size(), 1u);
  EXPECT_EQ(c->providers[0].plugin, "docker");
}

TEST(Config, NestingDeeperThanAnyRealConfigIsRefusedByName) {
  const std::string deep = R"({"providers":[{"plugin":"sim","config":{"x":)" + std::string(50000, '[') +
                           std::string(50000, ']') + "}}]}";
  auto c = parse_config(deep);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("nested deeper"), std::string::npos) << c.error().message();
  // Brackets inside strings and comments do not count.
  EXPECT_TRUE(parse_config(R"({// [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
      "log_level": "info" /* [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ */,
      "runtime_dir": "/tmp/[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"));
}

}  // namespace berth
