// Go durations exactly as Go parses and prints them: the vectors in
// data/go_durations.tsv come from a port of Go's time package checked against
// its documentation (input, ok, nanoseconds or Go's error text, String()).
#include "berth-wake/go_duration.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace berth::wake {
namespace {

void utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) out += static_cast<char>(cp);
  else if (cp < 0x800) out += static_cast<char>(0xC0 | cp >> 6), out += static_cast<char>(0x80 | (cp & 0x3F));
  else out += static_cast<char>(0xE0 | cp >> 12), out += static_cast<char>(0x80 | (cp >> 6 & 0x3F)),
       out += static_cast<char>(0x80 | (cp & 0x3F));
}

// The file writes non-ASCII inputs as \xNN (a Latin-1 code point) or \uNNNN.
std::string decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      utf8(out, std::stoul(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else if (s[i] == '\\' && i + 5 < s.size() && s[i + 1] == 'u') {
      utf8(out, std::stoul(s.substr(i + 2, 4), nullptr, 16));
      i += 5;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(GoDuration, ParsesAndPrintsEveryVectorAsGoDoes) {
  std::ifstream in(BERTH_SOURCE_DIR "/tests/unit/data/go_durations.tsv");
  ASSERT_TRUE(in);
  std::string line;
  std::getline(in, line);  // header
  int rows = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
    f.resize(4);
    const std::string input = decode(f[0]);
    auto r = parse_go_duration(input);
    if (f[1] == "1") {
      ASSERT_TRUE(std::holds_alternative<Nanoseconds>(r)) << f[0] << ": " << std::get<std::string>(r);
      EXPECT_EQ(std::get<Nanoseconds>(r), std::stoll(f[2])) << f[0];
      EXPECT_EQ(go_duration_string(std::get<Nanoseconds>(r)), decode(f[3])) << f[0];
    } else {
      ASSERT_TRUE(std::holds_alternative<std::string>(r)) << f[0] << " should be refused";
      EXPECT_EQ(std::get<std::string>(r), f[2]) << f[0];
    }
    ++rows;
  }
  EXPECT_GE(rows, 90);
}

TEST(GoDuration, StringOfValuesNobodyWrote) {
  EXPECT_EQ(go_duration_string(1100), "1.1\xC2\xB5s");
  EXPECT_EQ(go_duration_string(999999999), "999.999999ms");
  EXPECT_EQ(go_duration_string(1000000001), "1.000000001s");
  EXPECT_EQ(go_duration_string(48LL * 3600 * 1000000000), "48h0m0s");
  EXPECT_EQ(go_duration_string(-245000000000), "-4m5s");
}

TEST(GoDuration, HumanizedAsSablierShowsIt) {
  const std::pair<const char*, const char*> cases[] = {
      {"0s", ""},         {"500ms", ""},       {"1s", "1 second"},           {"1.9s", "1 second"},
      {"59s", "59 seconds"}, {"1m", "1 minute"}, {"90s", "1 minute 30 seconds"}, {"5m", "5 minutes"},
      {"1h", "1 hour"},   {"1h30m", "1 hour 30 minutes"}, {"1h0m1s", "1 hour 1 second"}, {"24h", "1 day"},
      {"25h1m1s", "1 day 1 hour 1 minute 1 second"}, {"100h", "4 days 4 hours"}, {"-5m", "-5 minutes"},
  };
  for (auto [in, want] : cases)
    EXPECT_EQ(humanize_duration(std::get<Nanoseconds>(parse_go_duration(in))), want) << in;
}

}  // namespace
}  // namespace berth::wake
