// berth-relay: many berthd event sockets behind one, with libzmq's own proxy
// (zmq_proxy) between an XSUB connected to every daemon and an XPUB that
// subscribers connect to. Subscriptions travel upstream, events downstream;
// nothing is parsed, buffered or reordered here. Every event names its
// daemon (daemon_name) and keeps that daemon's seq, so a subscriber detects
// a gap per daemon and recovers it from that daemon's snapshot
// (docs/protocol.md, "Several daemons").
//
//   berth-relay --upstream EP [--upstream EP]... --listen EP
//               [--upstream-key DAEMON.pub --client-key RELAY_KEY]   CURVE to the daemons
//               [--server-key RELAY_KEY --allow CLIENT.pub]...       CURVE for subscribers
//               [--insecure] [--hwm N]
#include "auth/curve.hpp"
#include "common/command_line.hpp"
#include "common/logging.hpp"

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include <csignal>
#include <cstdio>
#include <thread>

namespace {

using namespace berth;

int fail(const std::string& why, int code = 2) {
  std::fprintf(stderr, "berth-relay: %s\n", why.c_str());
  return code;
}

bool is_local(const std::string& endpoint) {
  return endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-relay: many berthd event sockets behind one (zmq_proxy, XSUB to XPUB)", "berth-relay"};
  std::vector<std::string> upstreams, upstream_keys, allowed;
  std::string listen, client_key, server_key, log_level = "info", log_format = "text";
  bool insecure = false;
  int hwm = 100000;
  app.add_option("--upstream", upstreams, "a berthd events endpoint (repeatable)")->required();
  app.add_option("--listen", listen, "where subscribers connect")->required();
  app.add_option("--upstream-key", upstream_keys,
                 "the daemons' CURVE public key: one for all, or one per --upstream in order");
  app.add_option("--client-key", client_key, "the relay's key file as the daemons' client");
  app.add_option("--server-key", server_key, "the relay's key file for --listen (CURVE server)");
  app.add_option("--allow", allowed, "a subscriber's public key file (repeatable)");
  app.add_flag("--insecure", insecure, "listen on a network endpoint without CURVE (logged at every start)");
  app.add_option("--hwm", hwm, "messages queued per subscriber and per upstream before ZeroMQ drops")
      ->check(CLI::PositiveNumber)->capture_default_str();
  add_logging_options(app, log_level, log_format);
  if (auto exit_status = parse_command_line(app, argc, argv)) return *exit_status;
  setup_logging("berth-relay", log_level, log_format);
  if (!upstream_keys.empty() && upstream_keys.size() != 1 && upstream_keys.size() != upstreams.size())
    return fail("--upstream-key: give one for all daemons or one per --upstream");
  if (upstream_keys.empty() != client_key.empty()) return fail("--upstream-key and --client-key go together");
  if (server_key.empty() && !allowed.empty()) return fail("--allow needs --server-key");

  // Block the stop signals before any thread starts; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  zmq::context_t zmq(1);
  std::optional<ZapHandler> zap;
  try {
    zmq::socket_t xpub(zmq, zmq::socket_type::xpub), xsub(zmq, zmq::socket_type::xsub);
    xpub.set(zmq::sockopt::sndhwm, hwm);
    xsub.set(zmq::sockopt::rcvhwm, hwm);
    xpub.set(zmq::sockopt::linger, 0);
    xsub.set(zmq::sockopt::linger, 0);

    // Downstream: CURVE with the relay's own ZAP handler, or a local
    // endpoint, or a network one the operator said is fine open.
    if (!server_key.empty()) {
      auto keys = read_key_file(server_key, true);
      if (!keys) return fail("--server-key: " + keys.error().message());
      std::vector<AllowedKey> clients;
      for (const auto& file : allowed) {
        auto pub = public_key_from(file);
        if (!pub) return fail("--allow " + file + ": " + pub.error().message());
        clients.push_back({*pub, Role::subscriber, file});
      }
      zap.emplace(zmq, std::move(clients));
      if (auto st = zap->start(); !st) return fail(st.message(), 1);
      if (auto st = make_curve_server(xpub, *keys, kEventsDomain); !st) return fail(st.message(), 1);
      spdlog::info("curve: {} subscriber key(s) allowed on {}", allowed.size(), listen);
    } else if (!is_local(listen)) {
      if (!insecure) return fail(listen + " can be reached from the network: give --server-key and --allow, or --insecure");
      spdlog::warn("INSECURE (--insecure): {} relays every daemon's events to anyone who can reach it", listen);
    }
    xpub.bind(listen);

    // Upstream: one XSUB connected to every daemon. libzmq copies a
    // socket's options into each connection when it is made, so each
    // daemon's server key is set just before its connect.
    std::optional<KeyPair> mine;
    if (!client_key.empty()) {
      auto k = read_key_file(client_key, true);
      if (!k) return fail("--client-key: " + k.error().message());
      mine = std::move(*k);
    }
    for (size_t i = 0; i < upstreams.size(); ++i) {
      if (mine) {
        auto server = public_key_from(upstream_keys.size() == 1 ? upstream_keys[0] : upstream_keys[i]);
        if (!server) return fail("--upstream-key: " + server.error().message());
        if (auto st = make_curve_client(xsub, *server, *mine); !st) return fail(st.message(), 1);
      }
      xsub.connect(upstreams[i]);
    }

    zmq::socket_t control(zmq, zmq::socket_type::pair), stopper(zmq, zmq::socket_type::pair);
    control.bind("inproc://berth-relay-control");
    stopper.connect("inproc://berth-relay-control");
    std::thread signals([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      spdlog::info("signal {} received; stopping", sig);
      stopper.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
    });
    std::printf("berth-relay %s ready\n  listen:   %s\n", BERTH_VERSION, listen.c_str());
    for (const auto& u : upstreams) std::printf("  upstream: %s\n", u.c_str());
    std::fflush(stdout);
    zmq::proxy_steerable(xsub, xpub, zmq::socket_ref(), control);
    signals.join();
  } catch (const zmq::error_t& e) {
    return fail(e.what(), 1);
  }
  if (zap) zap->stop();
  spdlog::info("stopped");
  return 0;
}
