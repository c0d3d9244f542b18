// berth-wake: scale to zero and wake on demand, speaking Sablier's HTTP
// contract so existing proxy integrations work unchanged (docs/wake.md). A
// client of one or more berthd (events and commands); it acts on containers
// only through berthd's command socket.
#include "auth/curve.hpp"
#include "common/command_line.hpp"
#include "common/logging.hpp"
#include "http.hpp"
#include "instances.hpp"
#include "link.hpp"
#include "pages.hpp"

#include <berth/protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

namespace {

using namespace berth;
using namespace berth::wake;

int usage(const std::string& why) {
  std::fprintf(stderr, "berth-wake: %s\n(see berth-wake --help)\n", why.c_str());
  return 2;
}

// A Go duration option: "5m", "1h30m", "500ms".
std::string duration_check(const std::string& v) {
  auto d = parse_go_duration(v);
  if (auto* e = std::get_if<std::string>(&d)) return *e;
  return std::get<Nanoseconds>(d) < 0 ? "must not be negative" : "";
}
Nanoseconds duration(const std::string& v) { return std::get<Nanoseconds>(parse_go_duration(v)); }

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"berth-wake: scale to zero and wake on demand, with Sablier's HTTP API (docs/wake.md)", "berth-wake"};
  std::string listen = "127.0.0.1:10000", session = "5m", timeout = "1m", refresh = "5s", theme = "berth";
  std::string unrequested = "adopt", log_level = "info", log_format = "text", server_key, client_key;
  std::vector<std::string> endpoints, events_endpoints, runtime_dirs;
  bool allow_unlabeled = false, hide_details = false;
  app.add_option("--listen", listen, "HOST:PORT to serve HTTP on")->capture_default_str();
  app.add_option("--endpoint", endpoints, "a berthd command socket (repeatable; pairs with --events-endpoint)");
  app.add_option("--events-endpoint", events_endpoints, "that berthd's event socket (repeatable, same order)");
  app.add_option("--runtime-dir", runtime_dirs, "a berthd runtime directory with its ipc sockets (repeatable)");
  app.add_option("--session-duration", session, "session length when neither request nor label says")
      ->check(duration_check)->capture_default_str();
  app.add_option("--blocking-timeout", timeout, "blocking strategy's timeout when the request says none")
      ->check(duration_check)->capture_default_str();
  app.add_option("--refresh-frequency", refresh, "waiting page's reload period when the request says none")
      ->check(duration_check)->capture_default_str();
  app.add_option("--theme", theme, "waiting page's theme when the request says none")
      ->check(CLI::IsMember(theme_names()))->capture_default_str();
  app.add_option("--unrequested", unrequested,
                 "a managed container running without a session (found at start, or started by someone else): "
                 "adopt it with a fresh session, or stop it")
      ->check(CLI::IsMember({"adopt", "stop"}))->capture_default_str();
  app.add_flag("--allow-unlabeled", allow_unlabeled, "also start containers that did not opt in by label");
  app.add_flag("--hide-details", hide_details, "waiting pages list no instances unless show_details=true");
  app.add_option("--server-key", server_key,
                 "berthd's CURVE public key: a .pub file or 40 Z85 characters (env BERTH_SERVER_KEY)");
  app.add_option("--client-key", client_key, "this client's key file from `berthctl keygen` (env BERTH_CLIENT_KEY)");
  add_logging_options(app, log_level, log_format);
  if (auto exit_status = parse_command_line(app, argc, argv)) return *exit_status;
  setup_logging("berth-wake", log_level, log_format);

  // Where the daemons are: explicit endpoints, runtime dirs, or berthctl's default.
  std::vector<LinkEndpoints> daemons;
  if (events_endpoints.size() > endpoints.size()) return usage("more --events-endpoint than --endpoint");
  for (size_t i = 0; i < endpoints.size(); ++i) {
    std::string events = i < events_endpoints.size() ? events_endpoints[i] : std::string();
    if (events.empty()) {
      const auto at = endpoints[i].rfind("commands.sock");
      if (endpoints[i].rfind("ipc://", 0) != 0 || at == std::string::npos)
        return usage("--endpoint " + endpoints[i] + " needs its --events-endpoint");
      events = endpoints[i].substr(0, at) + "events.sock";
    }
    daemons.push_back({endpoints[i], events, {}});
  }
  for (const auto& dir : runtime_dirs) daemons.push_back({"ipc://" + dir + "/commands.sock", "ipc://" + dir + "/events.sock", {}});
  if (daemons.empty()) {
    const std::string dir = protocol::default_runtime_dir();
    daemons.push_back({"ipc://" + dir + "/commands.sock", "ipc://" + dir + "/events.sock", {}});
  }
  auto keys = client_keys(server_key, client_key);
  if (!keys) return usage(keys.error().message());
  for (auto& d : daemons) d.curve = *keys;

  HttpOptions http;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return usage("--listen takes HOST:PORT");
  http.host = listen.substr(0, colon);
  http.port = listen.substr(colon + 1);
  http.theme = theme;
  http.refresh = duration(refresh);
  http.show_details = !hide_details;

  boost::asio::io_context io;
  zmq::context_t zmq(1);
  Instances instances(io, {duration(session), duration(timeout), unrequested == "adopt", allow_unlabeled});
  std::vector<std::unique_ptr<Link>> links;
  std::vector<CommandLink*> raw;
  for (size_t i = 0; i < daemons.size(); ++i) {
    links.push_back(std::make_unique<Link>(io, zmq, static_cast<int>(i), daemons[i], instances));
    raw.push_back(links.back().get());
  }
  instances.set_links(raw);
  WakeHttp server(io, instances, http);
  if (auto st = server.listen(); !st) {
    spdlog::error("{}", st.message());
    return 4;
  }
  for (auto& l : links) l->start();
  std::printf("berth-wake %s ready\n  http:    http://%s\n", BERTH_VERSION, server.address().c_str());
  for (const auto& d : daemons) std::printf("  berthd:  %s\n", d.commands.c_str());
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer grace(io);
  signals.async_wait([&](boost::system::error_code, int sig) {
    spdlog::info("signal {} received; shutting down", sig);
    server.shutting_down();  // /health answers 503 from now on
    grace.expires_after(std::chrono::milliseconds(500));
    grace.async_wait([&](boost::system::error_code) {
      for (auto& l : links) l->stop();
      io.stop();
    });
  });
  io.run();
  spdlog::info("stopped");
  return 0;
}
