#include "berthd_process.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace berth::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string berthd_path() { return BERTH_TEST_BERTHD; }
std::string plugin_dir() { return BERTH_BUILD_PLUGIN_DIR; }
std::string plugin_path(const std::string& name) { return plugin_dir() + "/" + name + ".so"; }

namespace {


std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Inserts the endpoint keys into the test's config object.
std::string with_endpoints(const std::string& config, const std::string& dir) {
  Json doc;
  doc.Parse(config.c_str());
  if (doc.HasParseError() || !doc.IsObject()) throw std::runtime_error("bad test config: " + config);
  auto& a = doc.GetAllocator();
  auto set = [&](const char* key, const std::string& value) {
    doc.RemoveMember(key);
    doc.AddMember(rapidjson::Value(key, a), rapidjson::Value(value.c_str(), a), a);
  };
  set("runtime_dir", dir);
  if (!doc.HasMember("events_endpoint")) set("events_endpoint", "ipc://" + dir + "/events.sock");
  if (!doc.HasMember("commands_endpoint"))
    set("commands_endpoint", "ipc://" + dir + "/commands.sock");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return buf.GetString();
}

}  // namespace

std::string make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "berth-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

BerthdProcess::BerthdProcess(const std::string& config_json, std::vector<std::string> extra_args,
                             bool use_config_file) {
  dir_ = make_temp_dir();
  log_path_ = dir_ + "/berthd.log";
  std::vector<std::string> args = {berthd_path()};
  if (use_config_file) {
    const std::string full = with_endpoints(config_json, dir_);
    Json doc;
    doc.Parse(full.c_str());
    events_ = doc["events_endpoint"].GetString();
    commands_ = doc["commands_endpoint"].GetString();
    std::ofstream(dir_ + "/berthd.json") << full;
    args.push_back("--config");
    args.push_back(dir_ + "/berthd.json");
  } else {
    events_ = "ipc://" + dir_ + "/events.sock";
    commands_ = "ipc://" + dir_ + "/commands.sock";
    args.push_back("--runtime-dir");
    args.push_back(dir_);
  }
  for (auto& a : extra_args) args.push_back(a);

  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto until = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < until) {
    if (output().find(" ready\n") != std::string::npos) {
      ready_ = true;
      return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -pid_ - 1;  // reaped; remember the exit below
      exit_status_ = status;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

BerthdProcess::~BerthdProcess() {
  if (pid_ > 0) {
    if (!terminate(std::chrono::seconds(10))) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  if (!std::getenv("BERTH_KEEP_TEST_DIRS")) fs::remove_all(dir_, ec);
}

bool BerthdProcess::kill_now() {
  return pid_ > 0 && ::kill(pid_, SIGKILL) == 0 && wait_exit(std::chrono::seconds(5)).has_value();
}

std::optional<int> BerthdProcess::wait_exit(std::chrono::milliseconds wait) {
  if (pid_ < 0) return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -WTERMSIG(exit_status_);
  const auto until = Clock::now() + wait;
  while (Clock::now() < until) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -pid_ - 1;
      exit_status_ = status;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::optional<int> BerthdProcess::terminate(std::chrono::milliseconds wait) {
  if (pid_ > 0) kill(pid_, SIGTERM);
  return wait_exit(wait);
}

std::string BerthdProcess::output() const { return read_file(log_path_); }

Client::Client(zmq::context_t& ctx, const std::string& endpoint, std::chrono::milliseconds timeout,
               std::optional<ClientKeys> curve)
    : ctx_(ctx), endpoint_(endpoint), timeout_(timeout), curve_(std::move(curve)) {}

std::string Client::call_raw(const std::string& body) {
  if (!socket_) {
    socket_.emplace(ctx_, zmq::socket_type::req);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout_.count()));
    if (curve_) (void)make_curve_client(*socket_, curve_->server_public, curve_->client);
    socket_->connect(endpoint_);
  }
  socket_->send(zmq::buffer(body), zmq::send_flags::none);
  zmq::message_t reply;
  if (!socket_->recv(reply)) {
    socket_.reset();  // a REQ socket that missed its reply is stuck; start over
    return {};
  }
  return reply.to_string();
}

Json Client::call(const std::string& request_json) {
  Json doc;
  const std::string raw = call_raw(request_json);
  if (raw.empty()) return doc;  // null
  doc.Parse(raw.c_str());
  return doc;
}

Dealer::Dealer(zmq::context_t& ctx, const std::string& endpoint, int rcvhwm)
    : socket_(ctx, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::rcvhwm, rcvhwm);
  socket_.connect(endpoint);
}

void Dealer::send(const std::string& request_json) {
  socket_.send(zmq::buffer(request_json), zmq::send_flags::none);
}

Json Dealer::next(std::chrono::milliseconds timeout) {
  socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
  Json doc;
  zmq::message_t reply;
  if (!socket_.recv(reply)) return doc;
  doc.Parse(reply.to_string().c_str());
  return doc;
}

Subscriber::Subscriber(zmq::context_t& ctx, const std::string& endpoint, const std::string& prefix,
                       const std::optional<ClientKeys>& curve, int rcvhwm)
    : socket_(ctx, zmq::socket_type::sub) {
  socket_.set(zmq::sockopt::linger, 0);
  if (curve) (void)make_curve_client(socket_, curve->server_public, curve->client);
  socket_.set(zmq::sockopt::rcvhwm, rcvhwm);
  socket_.set(zmq::sockopt::subscribe, prefix);
  socket_.connect(endpoint);
}

std::optional<Message> Subscriber::next(std::chrono::milliseconds timeout) {
  socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
  std::vector<zmq::message_t> parts;
  if (!zmq::recv_multipart(socket_, std::back_inserter(parts)) || parts.size() != 2)
    return std::nullopt;
  Message m;
  m.topic = parts[0].to_string();
  m.raw = parts[1].to_string();
  m.body.Parse(m.raw.c_str());
  return m;
}

std::optional<Message> Subscriber::next_matching(const std::string& prefix,
                                                 std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    auto m = next(std::max(left, std::chrono::milliseconds(1)));
    if (!m) return std::nullopt;
    if (m->topic.rfind(prefix, 0) == 0) return m;
  }
  return std::nullopt;
}

bool Subscriber::wait_connected(std::chrono::milliseconds timeout) {
  return next_matching("daemon/heartbeat", timeout).has_value();
}

}  // namespace berth::testing
