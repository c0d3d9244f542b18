// docker.so's decoders of the engine's JSON (plugins/docker/docker_api.*),
// on answers no sane engine sends but a broken or hostile one can: times
// and counts beyond what int64 nanoseconds/milliseconds hold. Found by
// tests/fuzz (docker_api target); reproducers in tests/fuzz/regressions/.
#include "docker_api.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace berth::docker;

TEST(DockerApi, ContainerNamesFollowTheEnginesGrammar) {
  for (bool podman : {false, true}) {
    for (const char* ok : {"web", "ab", "a-", "Web-1.b_c", "9lives"})
      EXPECT_TRUE(valid_container_name(ok, podman)) << ok;
    for (const char* bad : {"", "-lead", ".dot", "_under", "web/1", "a b", "pod:a", "caf\xc3\xa9"})
      EXPECT_FALSE(valid_container_name(bad, podman)) << bad;
  }
  // Docker's pattern ends in `+` after the first character; libpod's in `*`.
  EXPECT_FALSE(valid_container_name("a", false));
  EXPECT_TRUE(valid_container_name("a", true));
}

TEST(DockerApi, TimesPastWhatNanosecondsHoldAreUnknown) {
  // int64 nanoseconds end in 2262-04-11; later years used to overflow
  // (undefined behaviour; in practice a wrapped, negative time).
  EXPECT_EQ(parse_time_ns("2262-04-11T23:47:16Z"), 9223372036000000000);
  EXPECT_EQ(parse_time_ns("2262-04-11T23:47:17Z"), 0);
  EXPECT_EQ(parse_time_ns("9999-12-31T23:59:59.999999999Z"), 0);
  EXPECT_EQ(parse_time_ns("2024-01-02T03:04:05.5+01:00"), 1704161045500000000);
}

TEST(DockerApi, AnEventTimeInSecondsPastInt64NanosecondsIsUnknown) {
  // Without timeNano the seconds are scaled; 10^10 s * 10^9 overflowed.
  auto e = event_from_json(R"({"Type":"container","Action":"start","Actor":{"ID":"abc"},"time":10000000000})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->time_nano, 0);
  EXPECT_EQ(e->event.time_unix_ns, 0);
  auto ok = event_from_json(R"({"Type":"container","Action":"start","Actor":{"ID":"abc"},"time":1700000000})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->time_nano, 1700000000000000000);
}

TEST(DockerApi, AListedCreationTimePastInt64MillisecondsIsUnknown) {
  std::vector<berth::sdk::Container> seen;
  containers_from_list(R"([{"Id":"a","Created":9223372036854775807},{"Id":"b","Created":1700000000}])",
                       [&](const berth::sdk::Container& c) {
                         seen.push_back(c);
                         return BERTH_SINK_CONTINUE;
                       });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].created_unix_ms, 0);
  EXPECT_EQ(seen[1].created_unix_ms, 1700000000000);
}

}  // namespace
