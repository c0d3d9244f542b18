// A berth subscriber in C++ (cppzmq + RapidJSON), following docs/protocol.md §3:
// subscribe first, take a snapshot, skip what it covers, apply the rest in
// seq order, and take a new snapshot when a seq is skipped or berthd
// restarted (a new run): the rule itself is the SDK's berth/follow.hpp, the
// requests, replies and messages its berth/client.hpp. With several
// daemons (each --commands, events from each daemon or through one relay)
// it keeps one view per daemon: seq is per daemon, and so is the snapshot.
//
//   berth-subscriber [--events ENDPOINT]... [--commands ENDPOINT]... [--count N]
//                    [--server-key FILE.pub --client-key FILE]   (CURVE)
#include <berth/client.hpp>
#include <berth/follow.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace client = berth::client;
using berth::protocol::Op;

// CURVE keys as `berthctl keygen` writes them: "public=..." and "secret=..." lines.
struct Curve {
  std::string server_public, public_key, secret_key;
};

std::string key_line(const std::string& file, const char* name) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(std::string(name) + "=", 0) == 0) return line.substr(std::string(name).size() + 1);
  throw std::runtime_error(file + " has no " + name + "= line");
}

void secure(zmq::socket_t& s, const std::optional<Curve>& curve) {
  if (!curve) return;
  s.set(zmq::sockopt::curve_serverkey, curve->server_public);
  s.set(zmq::sockopt::curve_publickey, curve->public_key);
  s.set(zmq::sockopt::curve_secretkey, curve->secret_key);
}

// One request, answered ok within its deadline, or an exception.
client::Reply call(zmq::context_t& ctx, const std::string& endpoint, const std::optional<Curve>& curve,
                   const client::Request& request) {
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, static_cast<int>(request.deadline_ms() + 5000));
  secure(req, curve);
  req.connect(endpoint);
  req.send(zmq::buffer(request.json()), zmq::send_flags::none);
  zmq::message_t message;
  if (!req.recv(message)) throw std::runtime_error("berthd at " + endpoint + " did not answer " + request.json());
  auto reply = client::Reply::parse(message.to_string_view());
  if (!reply.ok())
    throw std::runtime_error(request.json() + " failed: " + std::string(reply.error().name) + ": " +
                             std::string(reply.error().message));
  return reply;
}

// One daemon's containers, kept current from its snapshot and its messages.
class View {
 public:
  View(zmq::context_t& ctx, std::string commands, const std::optional<Curve>& curve, std::string label)
      : ctx_(ctx), commands_(std::move(commands)), curve_(curve), label_(std::move(label)) {}

  void resync() {
    const auto reply = call(ctx_, commands_, curve_, client::Request(Op::snapshot));
    const auto snap = client::read_snapshot(reply.result());
    if (!snap) throw std::runtime_error("the snapshot has no seq");
    states_.clear();
    snap->for_each_container([&](const client::ContainerView& c) {
      states_[key(c.provider, c.id)] = berth::protocol::state_name(c.state);
    });
    follow_.on_snapshot(snap->run_id, snap->seq);
    std::printf("snapshot%s: %zu containers at seq %llu\n", label_.c_str(), states_.size(),
                static_cast<unsigned long long>(follow_.seq()));
  }

  // Applies one message; returns false if it revealed a gap or a restart
  // (and resynced).
  bool apply(const std::string& topic, const client::MessageView& m) {
    const auto step = follow_.on_message(m.run_id, m.kind_name, m.seq);
    if (step.action == berth::follow::Action::resync) {
      std::printf("%s%s: expected seq %llu, saw %llu (run %.*s); resyncing\n",
                  step.reason == berth::follow::Reason::new_run ? "restart" : "gap", label_.c_str(),
                  static_cast<unsigned long long>(follow_.seq() + 1), static_cast<unsigned long long>(m.seq),
                  static_cast<int>(m.run_id.size()), m.run_id.data());
      resync();
      return false;
    }
    if (step.action != berth::follow::Action::apply) return true;  // the snapshot has it
    const unsigned long long seq = m.seq;
    if (m.kind == berth::protocol::Kind::container) {
      const auto& c = m.container;
      states_[key(c.provider, c.id)] = berth::protocol::state_name(c.state);
      std::printf("%s%llu %s %s %s", prefix().c_str(), seq, std::string(m.provider).c_str(),
                  std::string(m.type_name).c_str(), std::string(c.name).c_str());
      if (m.exit_code) std::printf(" exit_code=%d", *m.exit_code);
      std::printf("\n");
    } else {
      std::printf("%s%llu %s\n", prefix().c_str(), seq, topic.c_str());
    }
    return true;
  }

 private:
  static std::string key(std::string_view provider, std::string_view id) {
    return std::string(provider) + "/" + std::string(id);
  }
  std::string prefix() const { return label_.empty() ? "" : label_.substr(1) + " "; }
  zmq::context_t& ctx_;
  std::string commands_;
  std::optional<Curve> curve_;
  std::string label_;  // " <daemon_name>" with several daemons, else ""
  berth::follow::Follow follow_;
  std::map<std::string, std::string_view> states_;  // "provider/id" → state name
};

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--events E]... [--commands C]... [--count N] [--server-key F.pub --client-key F]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a line per event, even into a pipe
  std::vector<std::string> events, commands;
  std::string server_key, client_key;
  long count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--events") events.push_back(argv[i + 1]);
    else if (a == "--commands") commands.push_back(argv[i + 1]);
    else if (a == "--count") count = std::strtol(argv[i + 1], nullptr, 10);
    else if (a == "--server-key") server_key = argv[i + 1];
    else if (a == "--client-key") client_key = argv[i + 1];
    else return usage(argv[0]);
  }
  if ((argc - 1) % 2 != 0 || server_key.empty() != client_key.empty()) return usage(argv[0]);
  const std::string runtime_dir = berth::protocol::default_runtime_dir();
  if (events.empty()) events.push_back("ipc://" + runtime_dir + "/events.sock");
  if (commands.empty()) commands.push_back("ipc://" + runtime_dir + "/commands.sock");
  try {
    std::optional<Curve> curve;
    if (!server_key.empty())
      curve = Curve{key_line(server_key, "public"), key_line(client_key, "public"), key_line(client_key, "secret")};
    zmq::context_t ctx;
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    secure(sub, curve);
    for (const auto& e : events) sub.connect(e);
    // Which daemon each command socket belongs to: messages carry daemon_name.
    std::map<std::string, std::unique_ptr<View>> views;
    for (const auto& c : commands) {
      const auto pong = call(ctx, c, curve, client::Request(Op::ping));
      const std::string name(client::text(pong.result(), "daemon_name"));
      views[name] = std::make_unique<View>(ctx, c, curve, commands.size() > 1 ? " " + name : "");
    }
    // 1. Live once a heartbeat of every daemon arrived; 2. snapshots; 3. stream.
    sub.set(zmq::sockopt::rcvtimeo, 10000);
    std::map<std::string, bool> heard;
    while (heard.size() < views.size()) {
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(sub, std::back_inserter(parts)) || parts.size() != 2)
        throw std::runtime_error("no heartbeat from every daemon");
      if (parts[0].to_string_view().rfind("daemon/", 0) != 0) continue;
      rapidjson::Document body;
      if (!client::parse_object(body, parts[1].to_string_view())) continue;
      const std::string name(client::text(body, "daemon_name"));
      if (views.count(name)) heard[name] = true;
    }
    for (auto& [name, view] : views) view->resync();
    sub.set(zmq::sockopt::rcvtimeo, -1);
    for (long n = 0; count == 0 || n < count;) {
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(sub, std::back_inserter(parts)) || parts.size() != 2) continue;
      const std::string topic = parts[0].to_string();
      rapidjson::Document body;
      if (!client::parse_object(body, parts[1].to_string_view())) continue;
      const auto m = client::read_message(body);
      if (!m) continue;
      const std::string name(m->daemon_name);
      auto view = views.find(name);
      if (view == views.end()) continue;  // a daemon we have no command socket for
      if (topic == "daemon/stopping") {
        std::printf("berthd %s is stopping\n", name.c_str());
        if (views.size() == 1) return 0;
        continue;
      }
      view->second->apply(topic, *m);
      if (topic.rfind("daemon/", 0) != 0) ++n;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-subscriber: %s\n", e.what());
    return 1;
  }
  return 0;
}
