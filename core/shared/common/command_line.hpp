// The programs' command lines are CLI11's; this is what each does with a
// parse: --help prints the options and exits 0, anything else wrong is
// named on stderr with where the options are listed, and exits 2.
#pragma once

#include "common/logging.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace berth {

// Every program's exit status for a command line it cannot take.
inline constexpr int kExitBadCommandLine = 2;

// --log-level and --log-format, checked against logging.hpp's tables.
inline void add_logging_options(CLI::App& app, std::string& level, std::string& format) {
  app.add_option("--log-level", level, std::string(kLogLevelsText))
      ->check(CLI::IsMember(std::vector<std::string>(kLogLevels.begin(), kLogLevels.end())));
  app.add_option("--log-format", format, std::string(kLogFormatsText))
      ->check(CLI::IsMember(std::vector<std::string>(kLogFormats.begin(), kLogFormats.end())));
}

// nullopt: parsed, go on. Otherwise the status to exit with.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    const std::string& name = app.get_name();
    std::fprintf(stderr, "%s: %s (%s --help lists the options)\n", name.c_str(), e.what(), name.c_str());
    return kExitBadCommandLine;
  }
}

}  // namespace berth
