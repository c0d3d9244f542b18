// Signal names as the host hands them to plugins (provider.h §6): every
// spelling a client may write becomes one canonical, Docker-compatible name.
#include "plugin/signals.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace {

using berth::Code;
namespace signals = berth::signals;

std::string canonical(std::string_view given) {
  auto r = signals::normalize(given);
  EXPECT_TRUE(r) << "refused \"" << given << "\": " << r.error().message();
  return r ? *r : std::string();
}

TEST(Signals, NamesWithAndWithoutSigPrefixInAnyCaseBecomeTheCanonicalName) {
  EXPECT_EQ(canonical("SIGTERM"), "SIGTERM");
  EXPECT_EQ(canonical("TERM"), "SIGTERM");
  EXPECT_EQ(canonical("term"), "SIGTERM");
  EXPECT_EQ(canonical("sigkill"), "SIGKILL");
  EXPECT_EQ(canonical("SigHup"), "SIGHUP");
}

TEST(Signals, NumbersBecomeTheirName) {
  EXPECT_EQ(canonical("15"), "SIGTERM");
  EXPECT_EQ(canonical("9"), "SIGKILL");
  EXPECT_EQ(canonical("1"), "SIGHUP");
  EXPECT_EQ(canonical("31"), "SIGSYS");
}

TEST(Signals, RealTimeNamesAreKeptInDockersSpelling) {
  EXPECT_EQ(canonical("SIGRTMIN"), "SIGRTMIN");
  EXPECT_EQ(canonical("RTMIN+3"), "SIGRTMIN+3");
  EXPECT_EQ(canonical("SIGRTMAX-2"), "SIGRTMAX-2");
  EXPECT_EQ(canonical("sigrtmax"), "SIGRTMAX");
}

TEST(Signals, RealTimeNumbersCountUpFromRtminToFifteenThenDownFromRtmax) {
  EXPECT_EQ(canonical("34"), "SIGRTMIN");
  EXPECT_EQ(canonical("35"), "SIGRTMIN+1");
  EXPECT_EQ(canonical("49"), "SIGRTMIN+15");
  EXPECT_EQ(canonical("50"), "SIGRTMAX-14");
  EXPECT_EQ(canonical("63"), "SIGRTMAX-1");
  EXPECT_EQ(canonical("64"), "SIGRTMAX");
}

TEST(Signals, AnRtminOffsetIntoTheUpperHalfIsSpelledFromRtmax) {
  EXPECT_EQ(canonical("RTMIN+16"), "SIGRTMAX-14");
}

TEST(Signals, UnknownOrMalformedSignalsAreInvalidArguments) {
  for (std::string_view bad : {"", "0", "65", "-1", "SIG", "TERMX", "RTMIN+31", "RTMAX-31", "RTMAX+1",
                               "RTMIN-1", "1.5", " 15", "SIGSIGTERM", "32", "33"}) {
    auto r = signals::normalize(bad);
    ASSERT_FALSE(r) << "accepted \"" << bad << "\" as " << *r;
    EXPECT_EQ(r.error().code(), Code::invalid_argument) << bad;
  }
}

TEST(Signals, TheRefusalOfAHugeStringHasAShortMessage) {
  const std::string huge(10 * 1024, 'X');
  auto r = signals::normalize(huge);
  ASSERT_FALSE(r);
  EXPECT_LT(r.error().message().size(), 200u);
}

TEST(Signals, TheRefusalNamesWhatWasGiven) {
  auto r = signals::normalize("SIGBOGUS");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("SIGBOGUS"), std::string::npos) << r.error().message();
}

TEST(Signals, NumberInvertsEveryCanonicalNameFromOneToSixtyFour) {
  for (int n = 1; n <= 64; ++n) {
    if (n == 32 || n == 33) continue;  // glibc keeps these for itself: they have no name
    auto name = signals::normalize(std::to_string(n));
    ASSERT_TRUE(name) << n;
    EXPECT_EQ(signals::number(*name), n) << *name;
  }
}

TEST(Signals, NumberIsZeroForAnythingButACanonicalName) {
  EXPECT_EQ(signals::number(""), 0);
  EXPECT_EQ(signals::number("TERM"), 0);
  EXPECT_EQ(signals::number("sigterm"), 0);
  EXPECT_EQ(signals::number("15"), 0);
  EXPECT_EQ(signals::number("SIGBOGUS"), 0);
  EXPECT_EQ(signals::number("SIGRTMIN+31"), 0);
}

}  // namespace
