// A berth subscriber in C++ (cppzmq + RapidJSON), following docs/protocol.md §3:
// subscribe first, take a snapshot, skip what it covers, apply the rest in
// seq order, and take a new snapshot when a seq is skipped or berthd
// restarted (a new run): the rule itself is the SDK's berth/follow.hpp. With several
// daemons (each --commands, events from each daemon or through one relay)
// it keeps one view per daemon: seq is per daemon, and so is the snapshot.
//
//   berth-subscriber [--events ENDPOINT]... [--commands ENDPOINT]... [--count N]
//                    [--server-key FILE.pub --client-key FILE]   (CURVE)
#include <berth/follow.hpp>
#include <rapidjson/document.h>
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
#include <unistd.h>
#include <vector>

namespace {

std::string runtime_dir() {
  if (const char* d = std::getenv("BERTH_RUNTIME_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/berth";
  return getuid() == 0 ? "/run/berth" : "/tmp/berth-" + std::to_string(getuid());
}

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

rapidjson::Document call(zmq::context_t& ctx, const std::string& endpoint, const std::optional<Curve>& curve,
                         const std::string& request) {
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 15000);
  secure(req, curve);
  req.connect(endpoint);
  req.send(zmq::buffer(request), zmq::send_flags::none);
  zmq::message_t reply;
  if (!req.recv(reply)) throw std::runtime_error("berthd at " + endpoint + " did not answer " + request);
  rapidjson::Document d;
  d.Parse(static_cast<const char*>(reply.data()), reply.size());
  if (d.HasParseError() || !d.IsObject() || !d["ok"].GetBool())
    throw std::runtime_error("request failed: " + reply.to_string());
  return d;
}

// One daemon's containers, kept current from its snapshot and its messages.
class View {
 public:
  View(zmq::context_t& ctx, std::string commands, const std::optional<Curve>& curve, std::string label)
      : ctx_(ctx), commands_(std::move(commands)), curve_(curve), label_(std::move(label)) {}

  void resync() {
    auto snap = call(ctx_, commands_, curve_, R"({"op":"snapshot"})");
    states_.clear();
    for (auto& p : snap["result"]["providers"].GetObject())
      for (auto& c : p.value["containers"].GetArray())
        states_[std::string(p.name.GetString()) + "/" + c["id"].GetString()] = c["state"].GetString();
    const auto& r = snap["result"];
    follow_.on_snapshot(r.HasMember("run_id") ? r["run_id"].GetString() : "", r["seq"].GetUint64());
    std::printf("snapshot%s: %zu containers at seq %llu\n", label_.c_str(), states_.size(),
                static_cast<unsigned long long>(follow_.seq()));
  }

  // Applies one message; returns false if it revealed a gap or a restart
  // (and resynced).
  bool apply(const std::string& topic, const rapidjson::Document& body) {
    const uint64_t seq = body["seq"].GetUint64();
    const std::string run = body.HasMember("run_id") ? body["run_id"].GetString() : "";
    const auto step = follow_.on_message(run, body["kind"].GetString(), seq);
    if (step.action == berth::follow::Action::resync) {
      std::printf("%s%s: expected seq %llu, saw %llu (run %s); resyncing\n",
                  step.reason == berth::follow::Reason::new_run ? "restart" : "gap", label_.c_str(),
                  static_cast<unsigned long long>(follow_.seq() + 1), static_cast<unsigned long long>(seq),
                  run.c_str());
      resync();
      return false;
    }
    if (step.action != berth::follow::Action::apply) return true;  // the snapshot has it
    if (topic.rfind("container/", 0) == 0) {
      const auto& c = body["container"];
      const std::string key = std::string(body["provider"].GetString()) + "/" + c["id"].GetString();
      states_[key] = c["state"].GetString();
      std::printf("%s%llu %s %s %s", prefix().c_str(), static_cast<unsigned long long>(seq),
                  body["provider"].GetString(), body["type"].GetString(), c["name"].GetString());
      if (body["exit_code"].IsInt()) std::printf(" exit_code=%d", body["exit_code"].GetInt());
      std::printf("\n");
    } else {
      std::printf("%s%llu %s\n", prefix().c_str(), static_cast<unsigned long long>(seq), topic.c_str());
    }
    return true;
  }

 private:
  std::string prefix() const { return label_.empty() ? "" : label_.substr(1) + " "; }
  zmq::context_t& ctx_;
  std::string commands_;
  std::optional<Curve> curve_;
  std::string label_;  // " <daemon_name>" with several daemons, else ""
  berth::follow::Follow follow_;
  std::map<std::string, std::string> states_;
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
  if (events.empty()) events.push_back("ipc://" + runtime_dir() + "/events.sock");
  if (commands.empty()) commands.push_back("ipc://" + runtime_dir() + "/commands.sock");
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
      auto pong = call(ctx, c, curve, R"({"op":"ping"})");
      const auto& r = pong["result"];
      const std::string name = r.HasMember("daemon_name") ? r["daemon_name"].GetString() : "";
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
      body.Parse(static_cast<const char*>(parts[1].data()), parts[1].size());
      if (body.HasParseError() || !body.IsObject()) continue;
      const std::string name = body.HasMember("daemon_name") ? body["daemon_name"].GetString() : "";
      if (views.count(name)) heard[name] = true;
    }
    for (auto& [name, view] : views) view->resync();
    sub.set(zmq::sockopt::rcvtimeo, -1);
    for (long n = 0; count == 0 || n < count;) {
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(sub, std::back_inserter(parts)) || parts.size() != 2) continue;
      const std::string topic = parts[0].to_string();
      rapidjson::Document body;
      body.Parse(static_cast<const char*>(parts[1].data()), parts[1].size());
      if (body.HasParseError() || !body.IsObject()) continue;
      const std::string name = body.HasMember("daemon_name") ? body["daemon_name"].GetString() : "";
      auto view = views.find(name);
      if (view == views.end()) continue;  // a daemon we have no command socket for
      if (topic == "daemon/stopping") {
        std::printf("berthd %s is stopping\n", name.c_str());
        if (views.size() == 1) return 0;
        continue;
      }
      view->second->apply(topic, body);
      if (topic.rfind("daemon/", 0) != 0) ++n;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-subscriber: %s\n", e.what());
    return 1;
  }
  return 0;
}
