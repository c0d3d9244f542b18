// berthd: command line → config → run_daemon.
#include "common/logging.hpp"
#include "config/config.hpp"
#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace {

constexpr const char* kUsage =
    "usage: berthd [--config FILE] [--plugin-dir DIR]... [--runtime-dir DIR]\n"
    "              [--log-level trace|debug|info|warn|error|off] [--log-format text|json]\n"
    "              [--version] [--help]\n"
    "\n"
    "With no --config, berthd loads every plugin in its plugin directories with\n"
    "default settings and binds ipc:// endpoints under its runtime directory\n"
    "($BERTH_RUNTIME_DIR, $XDG_RUNTIME_DIR/berth, /run/berth or /tmp/berth-UID).\n";

std::filesystem::path exe_dir(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) self = std::filesystem::absolute(argv0, ec);
  return self.parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists; run_daemon sigwaits.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::string config_file, runtime_dir, log_level, log_format;
  std::vector<std::string> plugin_dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "berthd: %s needs a value\n%s", arg.c_str(), kUsage);
        std::exit(berth::kExitUsage);
      }
      out = argv[++i];
    };
    if (arg == "--config" || arg == "-c") value(config_file);
    else if (arg == "--runtime-dir") value(runtime_dir);
    else if (arg == "--log-level") value(log_level);
    else if (arg == "--log-format") value(log_format);
    else if (arg == "--plugin-dir") plugin_dirs.emplace_back(), value(plugin_dirs.back());
    else if (arg == "--version") return std::printf("berthd %s (ABI %u.%u)\n", BERTH_VERSION, BERTH_ABI_MAJOR, BERTH_ABI_MINOR), 0;
    else if (arg == "--help" || arg == "-h") return std::fputs(kUsage, stdout), 0;
    else {
      std::fprintf(stderr, "berthd: unknown argument %s\n%s", arg.c_str(), kUsage);
      return berth::kExitUsage;
    }
  }

  auto config = config_file.empty() ? berth::Result<berth::Config>(berth::default_config())
                                    : berth::load_config_file(config_file);
  if (!config) {
    std::fprintf(stderr, "berthd: %s\n", config.error().message().c_str());
    return berth::kExitConfig;
  }
  if (!runtime_dir.empty()) config->runtime_dir = runtime_dir;
  if (!log_level.empty()) config->log_level = log_level;
  if (!plugin_dirs.empty()) config->plugin_dirs = plugin_dirs;
  berth::complete_defaults(*config, exe_dir(argv[0]));

  const auto level = spdlog::level::from_str(config->log_level);
  if (level == spdlog::level::off && config->log_level != "off") {
    std::fprintf(stderr, "berthd: unknown log level %s\n", config->log_level.c_str());
    return berth::kExitUsage;
  }
  if (!log_format.empty()) config->log_format = log_format;
  if (config->log_format != "text" && config->log_format != "json") {
    std::fprintf(stderr, "berthd: unknown log format %s (text or json)\n", config->log_format.c_str());
    return berth::kExitUsage;
  }
  berth::setup_logging("berthd", config->log_level, config->log_format);
  return berth::run_daemon(*config);
}
