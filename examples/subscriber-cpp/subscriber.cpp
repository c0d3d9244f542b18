// A berth subscriber in C++ (cppzmq + RapidJSON), following docs/protocol.md §3:
// subscribe first, take a snapshot, skip what it covers, apply the rest in
// seq order, and take a new snapshot when a seq is skipped.
//
//   berth-subscriber [--events ENDPOINT] [--commands ENDPOINT] [--count N]
#include <rapidjson/document.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {

std::string runtime_dir() {
  if (const char* d = std::getenv("BERTH_RUNTIME_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/berth";
  return getuid() == 0 ? "/run/berth" : "/tmp/berth-" + std::to_string(getuid());
}

rapidjson::Document call(zmq::context_t& ctx, const std::string& endpoint, const std::string& request) {
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 15000);
  req.connect(endpoint);
  req.send(zmq::buffer(request), zmq::send_flags::none);
  zmq::message_t reply;
  if (!req.recv(reply)) throw std::runtime_error("berthd did not answer " + request);
  rapidjson::Document d;
  d.Parse(static_cast<const char*>(reply.data()), reply.size());
  if (d.HasParseError() || !d["ok"].GetBool())
    throw std::runtime_error("request failed: " + reply.to_string());
  return d;
}

class View {
 public:
  View(zmq::context_t& ctx, std::string commands) : ctx_(ctx), commands_(std::move(commands)) {}

  void resync() {
    auto snap = call(ctx_, commands_, R"({"op":"snapshot"})");
    states_.clear();
    for (auto& p : snap["result"]["providers"].GetObject())
      for (auto& c : p.value["containers"].GetArray())
        states_[std::string(p.name.GetString()) + "/" + c["id"].GetString()] = c["state"].GetString();
    seq_ = snap["result"]["seq"].GetUint64();
    std::printf("snapshot: %zu containers at seq %llu\n", states_.size(), static_cast<unsigned long long>(seq_));
  }

  // Applies one message; returns false if it revealed a gap (and resynced).
  bool apply(const std::string& topic, const rapidjson::Document& body) {
    const uint64_t seq = body["seq"].GetUint64();
    if (topic.rfind("daemon/", 0) == 0) return seq <= seq_ || gap(seq);
    if (seq <= seq_) return true;  // the snapshot has it
    if (seq != seq_ + 1) return gap(seq);
    seq_ = seq;
    if (topic.rfind("container/", 0) == 0) {
      const auto& c = body["container"];
      const std::string key = std::string(body["provider"].GetString()) + "/" + c["id"].GetString();
      states_[key] = c["state"].GetString();
      std::printf("%llu %s %s %s", static_cast<unsigned long long>(seq), body["provider"].GetString(),
                  body["type"].GetString(), c["name"].GetString());
      if (body["exit_code"].IsInt()) std::printf(" exit_code=%d", body["exit_code"].GetInt());
      std::printf("\n");
    } else {
      std::printf("%llu %s\n", static_cast<unsigned long long>(seq), topic.c_str());
    }
    std::fflush(stdout);
    return true;
  }

 private:
  bool gap(uint64_t seen) {
    std::printf("gap: expected seq %llu, saw %llu; resyncing\n", static_cast<unsigned long long>(seq_ + 1),
                static_cast<unsigned long long>(seen));
    resync();
    return false;
  }
  zmq::context_t& ctx_;
  std::string commands_;
  uint64_t seq_ = 0;
  std::map<std::string, std::string> states_;
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a line per event, even into a pipe
  std::string events = "ipc://" + runtime_dir() + "/events.sock";
  std::string commands = "ipc://" + runtime_dir() + "/commands.sock";
  long count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--events") events = argv[i + 1];
    else if (a == "--commands") commands = argv[i + 1];
    else if (a == "--count") count = std::atol(argv[i + 1]);
    else return std::fprintf(stderr, "usage: %s [--events E] [--commands C] [--count N]\n", argv[0]), 2;
  }
  try {
    zmq::context_t ctx;
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::rcvtimeo, 10000);
    sub.connect(events);
    // 1. Live once a heartbeat arrives; 2. snapshot; 3. stream.
    for (;;) {
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(sub, std::back_inserter(parts)))
        throw std::runtime_error("no heartbeat on " + events);
      if (parts[0].to_string_view().rfind("daemon/", 0) == 0) break;
    }
    View view(ctx, commands);
    view.resync();
    sub.set(zmq::sockopt::rcvtimeo, -1);
    for (long n = 0; count == 0 || n < count;) {
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(sub, std::back_inserter(parts)) || parts.size() != 2) continue;
      const std::string topic = parts[0].to_string();
      rapidjson::Document body;
      body.Parse(static_cast<const char*>(parts[1].data()), parts[1].size());
      if (body.HasParseError()) continue;
      if (topic == "daemon/stopping") return std::printf("berthd is stopping\n"), 0;
      view.apply(topic, body);
      if (topic.rfind("daemon/", 0) != 0) ++n;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-subscriber: %s\n", e.what());
    return 1;
  }
  return 0;
}
