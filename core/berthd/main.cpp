// berthd: command line → config → run_daemon.
#include "common/command_line.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"
#include "daemon/daemon.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>


namespace {

constexpr const char* kDefaults =
    "With no --config, berthd loads every plugin in its plugin directories with\n"
    "default settings and binds ipc:// endpoints under its runtime directory\n"
    "($BERTH_RUNTIME_DIR, $XDG_RUNTIME_DIR/berth, /run/berth or /tmp/berth-UID).";

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

  CLI::App app{"berthd: every container runtime's lifecycle events and commands on ZeroMQ", "berthd"};
  app.footer(kDefaults);
  std::string config_file, runtime_dir, log_level, log_format;
  std::vector<std::string> plugin_dirs;
  bool version = false;
  app.add_option("-c,--config", config_file, "the config file (docs/operator.md)");
  app.add_option("--plugin-dir", plugin_dirs, "a directory of plugins (repeatable; replaces the config's)");
  app.add_option("--runtime-dir", runtime_dir, "where the ipc:// sockets are made");
  berth::add_logging_options(app, log_level, log_format);
  app.add_flag("--version", version, "print the version and the plugin ABI, then exit");
  if (auto exit_status = berth::parse_command_line(app, argc, argv)) return *exit_status;
  if (version) return std::printf("berthd %s (ABI %u.%u)\n", BERTH_VERSION, BERTH_ABI_MAJOR, BERTH_ABI_MINOR), 0;

  // The file's values are checked when it loads; the command line's, above.
  auto config = config_file.empty() ? berth::Result<berth::Config>(berth::default_config())
                                    : berth::load_config_file(config_file);
  if (!config) {
    std::fprintf(stderr, "berthd: %s\n", config.error().message().c_str());
    return berth::kExitConfig;
  }
  if (!runtime_dir.empty()) config->runtime_dir = runtime_dir;
  if (!log_level.empty()) config->log_level = log_level;
  if (!log_format.empty()) config->log_format = log_format;
  if (!plugin_dirs.empty()) config->plugin_dirs = plugin_dirs;
  berth::complete_defaults(*config, exe_dir(argv[0]));
  berth::setup_logging("berthd", config->log_level, config->log_format);
  return berth::run_daemon(*config);
}
