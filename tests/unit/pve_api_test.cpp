// proxmox.so's decoders of PVE's answers (plugins/proxmox/pve_api.*), on
// answers of the wrong shape: a guest that is not an object, numbers that
// are not integers, uptimes past any clock. Found by tests/fuzz (pve_api
// target); reproducers in tests/fuzz/regressions/.
#include "pve_api.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace berth::proxmox;

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

TEST(PveApi, AGuestThatIsNotAnObjectIsNoGuest) {
  // A release build looked members up in the array as if it were an object:
  // ["vmid", 101] read as {"vmid": 101}, then read past the array's end.
  for (const char* text : {R"(["vmid", 101])", "[]", "null", "101", R"("vmid")"}) {
    const auto g = guest_from(json(text), "pve1");
    EXPECT_EQ(g.vmid, 0) << text;
    EXPECT_EQ(g.name, "") << text;
  }
  EXPECT_EQ(string_member(json(R"(["node", "pve1"])"), "node"), "");
}

TEST(PveApi, NumbersThatAreNotIntegersAreReadAsNumbers) {
  // "uptime": 1.5 was read with GetInt64 (a double's bits as an integer).
  const auto g = guest_from(json(R"({"vmid":101,"uptime":1.5,"mem":2048.0,"maxmem":1e300,"cpu":0.5})"), "pve1");
  EXPECT_EQ(g.vmid, 101);
  EXPECT_EQ(g.uptime_s, 1);
  EXPECT_EQ(g.mem, 2048);
  EXPECT_EQ(g.maxmem, 0);  // out of range: unknown
  EXPECT_DOUBLE_EQ(g.cpu, 0.5);
  const auto big = guest_from(json(R"({"vmid":101,"uptime":18446744073709551615})"), "pve1");
  EXPECT_EQ(big.uptime_s, 0);
}

TEST(PveApi, AnUptimeLongerThanTheClockLeavesTheStartUnknown) {
  // started = now - uptime * 1000 overflowed for uptimes near INT64_MAX.
  Guest g;
  g.vmid = 101;
  g.status = "running";
  g.uptime_s = 9223372036854775807;
  const auto c = container_of(g);
  EXPECT_EQ(c.started_unix_ms, 0);
  g.uptime_s = 60;
  EXPECT_GT(container_of(g).started_unix_ms, 1700000000000);
}

TEST(PveApi, ACpuLoadRapidJsonReadsAsInfinityLeavesTheDetailsValidJson) {
  // RapidJSON 1.1.0 reads 18.00e0309 (past DBL_MAX) as infinity instead of
  // an error; Writer::Double(inf) writes nothing, so the details were
  // {"...","cpu":,"mem":...}, which the host drops whole.
  const auto g = guest_from(json(R"({"vmid":101,"status":"running","cpu":18.00e0309})"), "pve1");
  EXPECT_EQ(g.cpu, 0);
  const auto c = container_of(g);
  rapidjson::Document d;
  d.Parse(c.details_json.c_str());
  EXPECT_FALSE(d.HasParseError()) << c.details_json;
}

}  // namespace
