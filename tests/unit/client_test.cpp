// berth/client.hpp: the requests it builds are the ones berthd's own parser
// accepts (every op, every field), and its readers take any bytes without
// throwing.
#include <berth/client.hpp>

#include "commands/request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace berth::client {
namespace {

// berthd's reading of what the client wrote.
berth::Request parsed(const Request& r) {
  std::string id_json;
  auto result = parse_request(r.json(), id_json);
  EXPECT_TRUE(result.is_ok()) << r.json() << ": " << result.error().message();
  return result.is_ok() ? *result : berth::Request{};
}

TEST(ClientRequest, EveryOpBuiltWithWhatItNeedsIsAcceptedByBerthd) {
  for (size_t i = 0; i < protocol::kOpCount; ++i) {
    const auto op = static_cast<Op>(i);
    Request r(op);
    r.id(7).container("web");
    Spec s;
    s.image = "alpine:3";
    r.spec(s);
    ASSERT_FALSE(r.missing()) << protocol::op_name(op);
    const auto p = parsed(r);
    EXPECT_EQ(p.op, op);
    EXPECT_EQ(p.id_json, "7");
    EXPECT_EQ(p.container.has_value(), protocol::info(op).needs == protocol::Needs::container) << protocol::op_name(op);
    EXPECT_EQ(p.spec.has_value(), protocol::info(op).needs == protocol::Needs::spec) << protocol::op_name(op);
  }
}

TEST(ClientRequest, MissingNamesTheFieldTheOpNeeds) {
  EXPECT_EQ(Request(Op::stop).missing(), "container");
  EXPECT_EQ(Request(Op::create).missing(), "spec");
  EXPECT_EQ(Request(Op::run).container("web").missing(), "spec");
  EXPECT_FALSE(Request(Op::ping).missing());
  EXPECT_FALSE(Request(Op::list).provider("docker").missing());
}

TEST(ClientRequest, OnlyTheFieldsTheOpTakesAreSent) {
  EXPECT_EQ(Request(Op::start).container("web").signal("KILL").timeout(3).force().json(),
            R"({"op":"start","container":"web"})");
  EXPECT_EQ(Request(Op::ping).container("web").json(), R"({"op":"ping"})");
  const auto stop = parsed(Request(Op::stop).provider("d").container("web").signal("SIGINT").timeout(3).timeout_ms(9000));
  EXPECT_EQ(stop.provider, "d");
  EXPECT_EQ(stop.signal, "SIGINT");
  EXPECT_EQ(stop.timeout_s, 3);
  EXPECT_EQ(stop.timeout_ms, 9000);
  EXPECT_TRUE(parsed(Request(Op::remove).container("web").force()).force);
  EXPECT_EQ(parsed(Request(Op::kill).container("web").signal("HUP")).signal, "SIGHUP");
}

TEST(ClientRequest, TheDeadlineFollowsTheOpsRule) {
  EXPECT_EQ(Request(Op::ping).deadline_ms(), 5000);
  EXPECT_EQ(Request(Op::status).deadline_ms(), 15000);
  EXPECT_EQ(Request(Op::stop).deadline_ms(), 20000);
  EXPECT_EQ(Request(Op::restart).timeout(30).deadline_ms(), 40000);
  EXPECT_EQ(Request(Op::stop).timeout(30).timeout_ms(1234).deadline_ms(), 1234);
}

TEST(ClientRequest, ASpecArrivesWholeAndEscaped) {
  Spec s;
  s.image = "alpine:3";
  s.name = "web";
  s.command = {"sh", "-c", "echo \"hi\"\n"};
  s.env = {{"A", "1"}, {"B", "x\\y"}};
  s.labels = {{"sablier.enable", "true"}};
  s.log_options = {{"max-size", "1m"}};
  s.mounts = {{"/srv", "/data", true}};
  s.network = "host";
  s.aliases = {"w"};
  s.memory = 64 << 20;
  s.cpus = 0.5;
  s.pids_limit = 100;
  s.log_driver = "json-file";
  s.pull = BERTH_PULL_NEVER;
  s.ulimits = {{"nofile", 1024, 2048}};
  const auto p = parsed(Request(Op::run).spec(s));
  ASSERT_TRUE(p.spec);
  const auto& c = *p.spec;
  EXPECT_EQ(c.image, "alpine:3");
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.command, s.command);
  EXPECT_EQ(c.env, s.env);
  EXPECT_EQ(c.labels, s.labels);
  EXPECT_EQ(c.log_options, s.log_options);
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].source, "/srv");
  EXPECT_EQ(c.mounts[0].destination, "/data");
  EXPECT_TRUE(c.mounts[0].read_only);
  EXPECT_EQ(c.network, "host");
  EXPECT_EQ(c.network_aliases, s.aliases);
  EXPECT_EQ(c.memory_bytes, 64 << 20);
  EXPECT_EQ(c.nano_cpus, 500'000'000);
  EXPECT_EQ(c.pids_limit, 100);
  EXPECT_EQ(c.log_driver, "json-file");
  EXPECT_EQ(c.pull, BERTH_PULL_NEVER);
  ASSERT_EQ(c.ulimits.size(), 1u);
  EXPECT_EQ(c.ulimits[0].name, "nofile");
  EXPECT_EQ(c.ulimits[0].soft, 1024);
  EXPECT_EQ(c.ulimits[0].hard, 2048);
}

TEST(ClientReply, AnOkReplyGivesItsIdAndResult) {
  const auto r = Reply::parse(R"({"id":18446744073709551615,"ok":true,"result":{"state":"running"}})");
  EXPECT_TRUE(r.readable());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.id(), 18446744073709551615ull);
  EXPECT_EQ(text(r.result(), "state"), "running");
  EXPECT_EQ(r.exit_status(), 0);
}

TEST(ClientReply, AnErrorGivesItsTypedCodeMessageAndExitStatus) {
  const auto r = Reply::parse(R"({"id":"a","ok":false,"error":{"code":"not_found","message":"no web"}})");
  EXPECT_TRUE(r.readable());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::not_found);
  EXPECT_EQ(r.error().message, "no web");
  EXPECT_EQ(r.exit_status(), 3);
  EXPECT_FALSE(r.id()) << "a string id is not a number";
  EXPECT_TRUE(r.result().IsNull());
}

TEST(ClientReply, ANewerDaemonsCodeReadsAsInternalAndKeepsItsName) {
  const auto r = Reply::parse(R"({"ok":false,"error":{"code":"quota_exceeded","message":"m"}})");
  EXPECT_EQ(r.error().code, Code::internal);
  EXPECT_EQ(r.error().name, "quota_exceeded");
  EXPECT_EQ(r.exit_status(), 1);
}

TEST(ClientReply, BytesThatAreNoReplyAreUnreadableNeverAThrow) {
  for (std::string_view body : {"", "null", "[1]", "{", R"({"ok":"yes"})", R"({"result":{}})", "\xff\xfe",
                                R"({"ok":false,"error":7})", R"({"ok":false})"}) {
    const auto r = Reply::parse(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, Code::internal) << body;
    EXPECT_NE(r.exit_status(), 0) << body;
  }
  EXPECT_TRUE(Reply::parse(R"({"ok":false,"error":7})").readable()) << "an error with no code is still a reply";
  EXPECT_FALSE(Reply::parse(R"({"ok":1})").readable());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(Reply::parse(deep).readable()) << "deep nesting parses iteratively";
}

TEST(ClientContainer, ReadsTheObjectAndItsLabelsAndIgnoresMistypedFields) {
  rapidjson::Document d;
  ASSERT_TRUE(parse_object(d, R"({"id":"abc","name":"web","image":7,"state":"paused","exit_code":"1",
    "health":"healthy","labels":{"a":"1","b":2,"c":"3"},"routing":[]})"));
  const auto c = read_container(d, "docker");
  EXPECT_EQ(c.provider, "docker");
  EXPECT_EQ(c.id, "abc");
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.image, "") << "a number is no image";
  EXPECT_EQ(c.state, BERTH_STATE_PAUSED);
  EXPECT_FALSE(c.exit_code) << "a string is no exit code";
  EXPECT_EQ(c.health, "healthy");
  EXPECT_EQ(c.routing, nullptr) << "an array is no routing object";
  std::string labels;
  c.for_each_label([&](std::string_view k, std::string_view v) { labels.append(k).append("=").append(v).append(";"); });
  EXPECT_EQ(labels, "a=1;c=3;");
  EXPECT_EQ(read_container(d, "x").provider, "x");
  rapidjson::Document own;
  ASSERT_TRUE(parse_object(own, R"({"provider":"podman","state":"zombie"})"));
  EXPECT_EQ(read_container(own, "x").provider, "podman") << "the object's own provider wins";
  EXPECT_EQ(read_container(own).state, BERTH_STATE_UNKNOWN);
}

TEST(ClientSnapshot, ReadsProvidersAndTheirContainers) {
  const auto r = Reply::parse(R"({"ok":true,"result":{"daemon_name":"h","run_id":"r1","seq":42,"providers":{
    "docker":{"up":true,"synced":true,"containers":[{"id":"1","name":"a","state":"running"},{"id":"2","state":"stopped"}]},
    "pve":{"up":false,"synced":false,"containers":{}}}}})");
  const auto s = read_snapshot(r.result());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->daemon_name, "h");
  EXPECT_EQ(s->run_id, "r1");
  EXPECT_EQ(s->seq, 42u);
  ASSERT_EQ(s->providers.size(), 2u);
  EXPECT_TRUE(s->providers[0].up && s->providers[0].synced);
  EXPECT_FALSE(s->providers[1].up || s->providers[1].synced);
  EXPECT_EQ(s->providers[1].containers, nullptr) << "an object is no container list";
  std::string seen;
  s->for_each_container([&](const ContainerView& c) {
    seen.append(c.provider).append("/").append(c.id).append(":").append(protocol::state_name(c.state)).append(";");
  });
  EXPECT_EQ(seen, "docker/1:running;docker/2:stopped;");
  EXPECT_FALSE(read_snapshot(Reply::parse(R"({"ok":true,"result":{"seq":-1}})").result()));
  EXPECT_FALSE(read_snapshot(Reply::parse(R"({"ok":true})").result()));
}

TEST(ClientMessage, ReadsAContainerEvent) {
  rapidjson::Document d;
  ASSERT_TRUE(parse_object(d, R"({"kind":"container","daemon_name":"h","run_id":"r","seq":9,"time":"t",
    "provider":"docker","type":"exited","raw_action":"die","origin":"engine","exit_code":137,
    "container":{"id":"1","name":"web","state":"stopped"}})"));
  const auto m = read_message(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, protocol::Kind::container);
  EXPECT_EQ(m->seq, 9u);
  EXPECT_EQ(m->run_id, "r");
  EXPECT_EQ(m->type, BERTH_EVENT_EXITED);
  EXPECT_EQ(m->raw_action, "die");
  EXPECT_EQ(m->origin, "engine");
  EXPECT_EQ(m->exit_code, 137);
  EXPECT_EQ(m->container.provider, "docker");
  EXPECT_EQ(m->container.name, "web");
  EXPECT_EQ(m->container.state, BERTH_STATE_STOPPED);
}

TEST(ClientMessage, ReadsAProviderMessageAndKeepsAnUnknownKindByName) {
  rapidjson::Document d;
  ASSERT_TRUE(parse_object(d, R"({"kind":"provider","seq":3,"provider":"pve","state":"down","reason":"refused"})"));
  const auto p = read_message(d);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, protocol::Kind::provider);
  EXPECT_EQ(p->state, "down");
  EXPECT_EQ(p->reason, "refused");
  ASSERT_TRUE(parse_object(d, R"({"kind":"weather","seq":4})"));
  const auto u = read_message(d);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->kind);
  EXPECT_EQ(u->kind_name, "weather");
  EXPECT_EQ(u->seq, 4u);
  ASSERT_TRUE(parse_object(d, R"({"kind":"container","seq":"5"})"));
  EXPECT_FALSE(read_message(d)) << "a message without a numeric seq is none";
}

}  // namespace
}  // namespace berth::client
