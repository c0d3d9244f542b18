// Command parsing: each kind of bad request gets its own code.
#include "commands/request.hpp"

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

TEST(Request, WrongTypedFieldIsMissingField) {
  auto r = parse(R"({"op":"start","container":5})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::missing_field);
}

TEST(Request, NegativeTimeoutIsInvalid) {
  auto r = parse(R"({"op":"stop","container":"x","timeout":-1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::invalid_argument);
}

TEST(Request, InlineOpsAreTheOnesWithoutPluginCalls) {
  EXPECT_TRUE(is_inline(Op::ping));
  EXPECT_TRUE(is_inline(Op::snapshot));
  EXPECT_FALSE(is_inline(Op::list));
  EXPECT_FALSE(is_inline(Op::stop));
}

}  // namespace
}  // namespace berth
