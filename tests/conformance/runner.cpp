// berth-conformance: the conformance kit for a plugin built anywhere.
//
//   berth-conformance PLUGIN.so [CONFIG.json] --make-stopped CMD [--remove CMD]
//                     [--unknown-ref REF] [--event-timeout-ms N]
//                     [--poll-interval-ms N] [--gtest_filter=...]
//
// CONFIG.json holds the instance's config object (what berthd's config puts
// under "config"; "{}" when absent). The suite needs fresh stopped containers
// of your engine: CMD is run with /bin/sh and must make one and print a ref
// to it (its last line of output). --remove CMD is run with that ref in
// $BERTH_REF to clean up. Exit status: 0 when every case passed.
#include "conformance.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace berth::conformance {
namespace {

Fixture& the_fixture() {
  static Fixture f;
  return f;
}

// Runs `cmd` with /bin/sh; its output's last non-empty line.
std::string run_for_line(const std::string& cmd, int& status) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    status = pclose(p);
  } else {
    status = -1;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  const auto nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "berth-conformance: %s\n"
               "usage: berth-conformance PLUGIN.so [CONFIG.json] --make-stopped CMD [--remove CMD]\n"
               "       [--unknown-ref REF] [--event-timeout-ms N] [--poll-interval-ms N] [gtest flags]\n",
               why);
  return 2;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Plugin, ProviderConformance, ::testing::Values(the_fixture()),
                         [](const auto&) { return std::string("plugin"); });

}  // namespace berth::conformance

int main(int argc, char** argv) {
  using berth::conformance::the_fixture;
  auto& f = the_fixture();
  std::vector<char*> gtest_args{argv[0]};
  std::vector<std::string> positional;
  std::string make, remove;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        berth::conformance::usage((a + " needs a value").c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto millis = [&]() {
      const std::string v = value();
      auto n = berth::sdk::parse_number<int64_t>(v);
      if (!n || *n <= 0) std::exit(berth::conformance::usage((a + " needs a positive number").c_str()));
      return std::chrono::milliseconds(*n);
    };
    if (a.rfind("--gtest", 0) == 0) gtest_args.push_back(argv[i]);
    else if (a == "--make-stopped") make = value();
    else if (a == "--remove") remove = value();
    else if (a == "--unknown-ref") f.unknown_ref = value();
    else if (a == "--event-timeout-ms") f.event_timeout = millis();
    else if (a == "--poll-interval-ms") f.poll_interval = millis();
    else if (a == "--help" || a == "-h") return berth::conformance::usage("the conformance kit"), 0;
    else if (!a.empty() && a[0] == '-') return berth::conformance::usage(("unknown option " + a).c_str());
    else positional.push_back(a);
  }
  if (positional.empty() || positional.size() > 2) return berth::conformance::usage("give PLUGIN.so [CONFIG.json]");
  if (make.empty()) return berth::conformance::usage("--make-stopped is required");
  f.name = "plugin";
  f.plugin_path = positional[0];
  std::string config = "{}";
  if (positional.size() == 2) {
    std::ifstream in(positional[1]);
    if (!in) return berth::conformance::usage(("cannot read " + positional[1]).c_str());
    std::stringstream ss;
    ss << in.rdbuf();
    config = ss.str();
  }
  f.config = [config] { return config; };
  f.make_stopped_container = [make] {
    int status = 0;
    std::string ref = berth::conformance::run_for_line(make, status);
    EXPECT_EQ(status, 0) << "--make-stopped failed: " << make;
    EXPECT_FALSE(ref.empty()) << "--make-stopped printed no ref: " << make;
    return ref;
  };
  f.remove_container = [remove](const std::string& ref) {
    if (remove.empty()) return;
    setenv("BERTH_REF", ref.c_str(), 1);
    int status = 0;
    berth::conformance::run_for_line(remove, status);
  };
  int gargc = static_cast<int>(gtest_args.size());
  ::testing::InitGoogleTest(&gargc, gtest_args.data());
  return RUN_ALL_TESTS();
}
