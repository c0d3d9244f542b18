// Command parsing: each kind of bad request gets its own code.
#include "commands/request.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace berth {
namespace {

Result<Request> parse(std::string_view body) {
  std::string id;
  return parse_request(body, id);
}

TEST(Request, StopWithAllFields) {
  auto r = parse(R"({"id":"a1","op":"stop","provider":"docker","container":"web",
                     "signal":"SIGTERM","timeout":30,"timeout_ms":45000})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->op, Op::stop);
  EXPECT_EQ(r->id_json, R"("a1")");
  EXPECT_EQ(*r->provider, "docker");
  EXPECT_EQ(*r->container, "web");
  EXPECT_EQ(*r->signal, "SIGTERM");
  EXPECT_EQ(*r->timeout_s, 30);
  EXPECT_EQ(*r->timeout_ms, 45000);
}

TEST(Request, NumericIdIsEchoedVerbatim) {
  auto r = parse(R"({"id":42,"op":"ping"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id_json, "42");
}

// A client written from docs/protocol.md sent a 30-digit id and got 1.23e29.
TEST(Request, AnyIdIsEchoedAsTheClientWroteIt) {
  for (std::string id : {"123456789012345678901234567890", "-0.000000000000000000001", "1.5e300",
                         R"("caf\u00e9")", R"({"n": 123456789012345678901234567890, "a": [1, 2.50]})",
                         "[]", "true", "null"}) {
    auto r = parse(R"({"op":"ping", "id": )" + id + "  }");
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->id_json, id);
  }
  auto nested = parse(R"({"x":{"id":1},"op":"ping","id":"outer"})");
  EXPECT_EQ(nested->id_json, R"("outer")") << "only the top-level id";
}

// Recursive readers would overflow the server's stack on deep nesting: a
// request nests no deeper than kMaxRequestDepth.
TEST(Request, DeepNestingIsMalformedNotACrash) {
  const std::string deep = R"({"op":"ping","id":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = parse(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::malformed_request);
  const std::string ok = R"({"op":"ping","id":)" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_TRUE(parse(ok));
}

TEST(Request, BytesThatAreNotUtf8AreMalformed) {
  auto r = parse("{\"op\":\"ping\",\"id\":\"\xff\"}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::malformed_request);
  EXPECT_NE(r.error().message().find("UTF-8"), std::string::npos);
}

TEST(Request, SignalsAreNormalizedOrRefused) {
  for (const char* given : {"SIGTERM", "TERM", "term", "15", "sigterm"}) {
    auto r = parse(std::string(R"({"op":"stop","container":"x","signal":")") + given + "\"}");
    ASSERT_TRUE(r) << given;
    EXPECT_EQ(*r->signal, "SIGTERM") << given;
  }
  EXPECT_EQ(*parse(R"({"op":"kill","container":"x","signal":"RTMIN+3"})")->signal, "SIGRTMIN+3");
  EXPECT_EQ(*parse(R"({"op":"kill","container":"x","signal":"60"})")->signal, "SIGRTMAX-4");
  for (const char* bad : {"SIGBOGUS", "0", "65", "-9", "9x", "RTMIN+40", ""}) {
    auto r = parse(std::string(R"({"op":"kill","container":"x","signal":")") + bad + "\"}");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::invalid_argument) << bad;
  }
}

TEST(Request, TimeoutsBeyondADayAreInvalid) {
  EXPECT_EQ(parse(R"({"op":"ping","timeout_ms":99999999999999999})").error().code(), Code::invalid_argument);
  EXPECT_EQ(parse(R"({"op":"stop","container":"x","timeout":100000})").error().code(), Code::invalid_argument);
  EXPECT_TRUE(parse(R"({"op":"stop","container":"x","timeout":86400,"timeout_ms":86400000})"));
}

TEST(Request, MissingIdEchoesNull) {
  auto r = parse(R"({"op":"ping"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id_json, "null");
}

TEST(Request, NotJsonIsMalformed) {
  auto r = parse("{op: ping");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::malformed_request);
}

TEST(Request, NonObjectIsMalformed) {
  auto r = parse(R"(["ping"])");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::malformed_request);
}

TEST(Request, UnknownOpIsNamed) {
  std::string id;
  auto r = parse_request(R"({"id":7,"op":"explode"})", id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::unknown_op);
  EXPECT_NE(r.error().message().find("explode"), std::string::npos);
  EXPECT_EQ(id, "7") << "the error reply can still echo the id";
}

TEST(Request, MissingOpIsMissingField) {
  auto r = parse(R"({"id":1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::missing_field);
}

TEST(Request, ContainerOpsNeedAContainer) {
  for (const char* op : {"inspect", "status", "start", "stop", "kill", "pause", "unpause", "restart"}) {
    auto r = parse(std::string(R"({"op":")") + op + "\"}");
    ASSERT_FALSE(r) << op;
    EXPECT_EQ(r.error().code(), Code::missing_field) << op;
    EXPECT_NE(r.error().message().find("container"), std::string::npos) << op;
  }
}

TEST(Request, ListAndSnapshotNeedNoContainer) {
  EXPECT_TRUE(parse(R"({"op":"list"})"));
  EXPECT_TRUE(parse(R"({"op":"snapshot"})"));
}

// One documented code for a field of the wrong type, whichever the field.
TEST(Request, AWrongTypedFieldIsInvalidArgument) {
  for (const char* req : {R"({"op":"start","container":5})", R"({"op":"stop","container":"x","signal":9})",
                          R"({"op":"stop","container":"x","timeout":"5"})",
                          R"({"op":"stop","container":"x","timeout_ms":1.5})", R"({"op":7})"}) {
    auto r = parse(req);
    ASSERT_FALSE(r) << req;
    EXPECT_EQ(r.error().code(), Code::invalid_argument) << req;
  }
}

TEST(Request, AnAbsentRequiredFieldIsMissingField) {
  auto r = parse(R"({"op":"start"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::missing_field);
  EXPECT_EQ(parse(R"({"container":"x"})").error().code(), Code::missing_field);
}

TEST(Request, NegativeTimeoutIsInvalid) {
  auto r = parse(R"({"op":"stop","container":"x","timeout":-1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::invalid_argument);
}

TEST(Request, InlineOpsAreTheOnesWithoutPluginCalls) {
  auto daemon = [](Op op) { return protocol::info(op).cls == protocol::OpClass::daemon; };
  EXPECT_TRUE(daemon(Op::ping));
  EXPECT_TRUE(daemon(Op::snapshot));
  EXPECT_FALSE(daemon(Op::list));
  EXPECT_FALSE(daemon(Op::stop));
}

// Every op the table names parses by that name and needs what its row says.
TEST(Request, EveryOpOfTheTableParsesByItsName) {
  for (size_t i = 0; i < protocol::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    std::string body = fmt::format(R"({{"op":"{}")", op_name(op));
    const auto needs = protocol::info(op).needs;
    if (needs == protocol::Needs::container) body += R"(,"container":"x")";
    if (needs == protocol::Needs::spec) body += R"(,"spec":{"image":"busybox"})";
    auto r = parse(body + "}");
    ASSERT_TRUE(r) << body << ": " << r.error().message();
    EXPECT_EQ(r->op, op) << body;
    if (needs != protocol::Needs::nothing) {
      auto bare = parse(fmt::format(R"({{"op":"{}"}})", op_name(op)));
      ASSERT_FALSE(bare) << op_name(op);
      EXPECT_EQ(bare.error().code(), Code::missing_field) << op_name(op);
    }
  }
}

}  // namespace
}  // namespace berth

namespace berth {

TEST(Request, ANulInsideANameIsInvalidNotCut) {
  std::string id;
  auto r = parse_request(R"({"op":"stop","container":"web\u0000db"})", id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::invalid_argument);
  EXPECT_NE(r.error().message().find("container"), std::string::npos);
}

TEST(Request, CreateAndRunNeedASpecAndItsImage) {
  std::string id;
  EXPECT_EQ(parse_request(R"({"op":"create"})", id).error().code(), Code::missing_field);
  EXPECT_EQ(parse_request(R"({"op":"run","spec":{}})", id).error().code(), Code::missing_field);
  auto ok = parse_request(R"({"op":"run","spec":{"image":"busybox","name":"a-1","command":["sh","-c","x"],
      "env":{"A":"1"},"mounts":[{"source":"/s","destination":"/d","read_only":true}],"cpus":1.5,
      "pull":"never","ulimits":{"nofile":{"soft":1,"hard":2}}}})", id);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_FALSE(ok->container) << "create/run name no existing container";
  EXPECT_EQ(ok->spec->image, "busybox");
  EXPECT_EQ(ok->spec->nano_cpus, 1500000000);
  EXPECT_EQ(ok->spec->pull, BERTH_PULL_NEVER);
  EXPECT_TRUE(ok->spec->mounts.at(0).read_only);
  EXPECT_EQ(ok->spec->ulimits.at(0).hard, 2);
}

// A name's grammar is the engine's (docker.so checks Docker's): the core
// passes any name within the ABI's bounds.
TEST(Request, ANameOutsideDockersGrammarIsTheEnginesToJudge) {
  std::string id;
  for (const char* name : {"-lead", "web/1", "pod:a"}) {
    auto r = parse_request(std::string(R"({"op":"create","spec":{"image":"x","name":")") + name + "\"}}", id);
    ASSERT_TRUE(r) << name << ": " << r.error().message();
    EXPECT_EQ(r->spec->name, name);
  }
}

TEST(Request, AMalformedSpecNamesItsField) {
  std::string id;
  for (const auto& [spec, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"image":"x","name":""})", "spec.name"},
           {R"({"image":"x","env":{"A=B":"1"}})", "spec.env"},
           {R"({"image":"x","mounts":[{"source":"rel","destination":"/d"}]})", "spec.mounts"},
           {R"({"image":"x","cpus":-1})", "spec.cpus"},
           {R"({"image":"x","pull":"sometimes"})", "spec.pull"},
           {R"({"image":"x","aliases":["a"]})", "spec.aliases"},
           {R"({"image":"x","ulimits":{"nofile":{"soft":3,"hard":2}}})", "spec.ulimits"},
           {R"({"image":"x","memory":"lots"})", "spec.memory"},
           {R"({"image":"x\u0000y"})", "spec.image"}}) {
    auto r = parse_request(R"({"op":"create","spec":)" + spec + "}", id);
    ASSERT_FALSE(r) << spec;
    EXPECT_EQ(r.error().code(), Code::invalid_argument) << spec;
    EXPECT_NE(r.error().message().find(field), std::string::npos) << spec << ": " << r.error().message();
  }
}

TEST(Request, RemoveTakesForceAsABoolean) {
  std::string id;
  auto r = parse_request(R"({"op":"remove","container":"web","force":true})", id);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->force);
  EXPECT_EQ(parse_request(R"({"op":"remove","container":"web","force":"yes"})", id).error().code(),
            Code::invalid_argument);
}

}  // namespace berth
