// The JSON log format: one valid object per line, whatever the message holds.
#include "common/logging.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace {

TEST(Logging, JsonLinesStayValidWithQuotesControlBytesAndUtf8) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("x", sink));
  berth::setup_logging("berthd", "info", "json");
  const std::string nasty = "label \"a\\b\"\n\ttab \x01\x1f\x7f caf\xc3\xa9 {\"k\":1}";
  spdlog::warn("{}", nasty);
  spdlog::debug("below the level");
  const std::string text = out.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line: " << text;
  rapidjson::Document d;
  d.Parse(text.c_str());
  ASSERT_FALSE(d.HasParseError()) << text;
  EXPECT_EQ(std::string(d["msg"].GetString()), nasty);
  EXPECT_STREQ(d["level"].GetString(), "warning");
  EXPECT_STREQ(d["logger"].GetString(), "berthd");
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("reset", sink));
}

}  // namespace
