#include "wake_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <strings.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::wake_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
namespace fs = std::filesystem;

std::string sh(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen((cmd + " 2>&1").c_str(), "r")) {
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

int replace_all(std::string& s, const std::string& from, const std::string& to) {
  int n = 0;
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size(), ++n) s.replace(at, from.size(), to);
  return n;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// ------------------------------------------------------------ processes

Child::Child(std::vector<std::string> argv, std::string log, std::vector<std::string> env) : log_(std::move(log)) {
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);  // its own group: nothing it spawns outlives the test
    const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    for (auto& e : env) putenv(e.data());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Child::~Child() {
  if (!stop(SIGTERM, 5s)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

bool Child::running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return true;
}

std::optional<int> Child::stop(int sig, std::chrono::milliseconds wait) {
  auto code = [this] { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_); };
  if (!running()) return code();
  kill(pid_, sig);
  if (eventually([this] { return !running(); }, wait)) return code();
  return std::nullopt;
}

std::string wake_path() { return BERTH_TEST_WAKE; }

WakeProcess::WakeProcess(const std::vector<const testing::BerthdProcess*>& daemons, std::vector<std::string> extra,
                         std::string log) {
  std::vector<std::string> args = {wake_path(), "--listen", "127.0.0.1:0"};
  for (auto* d : daemons) {
    args.insert(args.end(), {"--endpoint", d->commands_endpoint(), "--events-endpoint", d->events_endpoint()});
    if (log.empty()) log = d->dir() + "/berth-wake.log";
  }
  for (auto& a : extra) args.push_back(a);
  start(std::move(args), std::move(log));
}

WakeProcess::WakeProcess(const std::vector<std::pair<std::string, std::string>>& endpoints,
                         std::vector<std::string> extra, std::string log) {
  std::vector<std::string> args = {wake_path(), "--listen", "127.0.0.1:0"};
  for (auto& [commands, events] : endpoints)
    args.insert(args.end(), {"--endpoint", commands, "--events-endpoint", events});
  for (auto& a : extra) args.push_back(a);
  start(std::move(args), std::move(log));
}

void WakeProcess::start(std::vector<std::string> args, std::string log) {
  ::unlink(log.c_str());
  child_ = std::make_unique<Child>(std::move(args), log);
  // The banner names the address once it listens: "  http:    http://127.0.0.1:PORT".
  eventually(
      [&] {
        const std::string out = child_->output();
        const auto at = out.find("http:    http://127.0.0.1:");
        if (at != std::string::npos) {
          const auto eol = out.find('\n', at);
          if (eol != std::string::npos) port_ = std::atoi(out.c_str() + at + 26);
        }
        return port_ > 0 || !child_->running();
      },
      10s);
}

// ------------------------------------------------------------ HTTP

std::string HttpReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return {};
}

bool HttpReply::has_header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return true;
  return false;
}

std::string HttpReply::describe() const {
  std::string out = fmt::format("HTTP {}{}\n", status, error.empty() ? "" : " (" + error + ")");
  for (const auto& [k, v] : headers) out += k + ": " + v + "\n";
  return out + "\n" + body.substr(0, 2000);
}

namespace {

HttpReply to_reply(const bhttp::response<bhttp::string_body>& res) {
  HttpReply r;
  r.status = static_cast<int>(res.result_int());
  for (const auto& f : res) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  r.body = res.body();
  return r;
}

}  // namespace

struct HttpConnection::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool ok = false;
  int port = 0;
};

HttpConnection::HttpConnection(int port) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  beast::error_code ec;
  impl_->stream.expires_after(5s);
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  impl_->ok = !ec;
}

HttpConnection::~HttpConnection() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

bool HttpConnection::connected() const { return impl_->ok; }

HttpReply HttpConnection::get(const std::string& target, std::chrono::milliseconds timeout) {
  HttpReply r;
  if (!impl_->ok) {
    r.error = "not connected";
    return r;
  }
  try {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, fmt::format("127.0.0.1:{}", impl_->port));
    req.keep_alive(true);
    impl_->stream.expires_after(timeout);
    bhttp::write(impl_->stream, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    bhttp::read(impl_->stream, impl_->buffer, parser);
    r = to_reply(parser.get());
    if (!parser.get().keep_alive()) impl_->ok = false;
  } catch (const std::exception& e) {
    r.error = e.what();
    impl_->ok = false;
  }
  return r;
}

HttpReply http_get(int port, const std::string& target, std::chrono::milliseconds timeout,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpReply r;
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, fmt::format("127.0.0.1:{}", port));
    for (const auto& [k, v] : headers) req.set(k, v);
    req.keep_alive(false);
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    bhttp::read(stream, buffer, parser);
    r = to_reply(parser.get());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    r.status = 0;
    r.error = e.what();
  }
  return r;
}

// ------------------------------------------------------------ SSE

struct SseReader::Impl {
  std::mutex mutex;
  std::string head, text;
  int fd = -1;
  std::thread thread;
};

SseReader::SseReader(int port, const std::string& target) : impl_(std::make_unique<Impl>()) {
  impl_->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(impl_->fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
  const std::string req = fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\n\r\n",
                                      target, port);
  if (send(impl_->fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return;
  impl_->thread = std::thread([impl = impl_.get()] {
    std::string raw;
    bool in_head = true;
    char buf[4096];
    for (;;) {
      const ssize_t n = read(impl->fd, buf, sizeof buf);
      if (n <= 0) return;
      raw.append(buf, static_cast<size_t>(n));
      std::lock_guard lock(impl->mutex);
      if (in_head) {
        const auto end = raw.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        impl->head = raw.substr(0, end);
        raw.erase(0, end + 4);
        in_head = false;
      }
      // Chunked: "<hex>\r\n<data>\r\n" ...; take every complete chunk.
      for (;;) {
        const auto eol = raw.find("\r\n");
        if (eol == std::string::npos) break;
        const size_t size = std::strtoul(raw.substr(0, eol).c_str(), nullptr, 16);
        if (raw.size() < eol + 2 + size + 2) break;
        impl->text += raw.substr(eol + 2, size);
        raw.erase(0, eol + 2 + size + 2);
      }
    }
  });
}

SseReader::~SseReader() {
  if (impl_->fd >= 0) shutdown(impl_->fd, SHUT_RDWR);
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->fd >= 0) close(impl_->fd);
}

std::string SseReader::head() {
  std::lock_guard lock(impl_->mutex);
  return impl_->head;
}

std::string SseReader::text() {
  std::lock_guard lock(impl_->mutex);
  return impl_->text;
}

bool SseReader::wait_for(const std::function<bool(const std::string&)>& ok, std::chrono::milliseconds timeout) {
  return eventually([&] { return ok(text()); }, timeout);
}

// ------------------------------------------------------------ berthd events

EventLog::EventLog(const std::string& events_endpoint) {
  thread_ = std::thread([this, events_endpoint] { run(events_endpoint); });
  eventually([this] { return connected_.load(); }, 10s);
}

EventLog::~EventLog() {
  stop_ = true;
  thread_.join();
}

void EventLog::run(std::string endpoint) {
  zmq::context_t ctx(1);
  testing::Subscriber sub(ctx, endpoint, "");
  while (!stop_) {
    auto m = sub.next(100ms);
    if (!m) continue;
    if (m->topic == "daemon/heartbeat") connected_ = true;
    if (m->topic.rfind("container/", 0) != 0 || !m->body.IsObject()) continue;
    SeenEvent e;
    e.type = m->body["type"].GetString();
    e.provider = m->body["provider"].GetString();
    e.seq = m->body["seq"].GetUint64();
    if (m->body.HasMember("container") && m->body["container"].IsObject()) {
      const auto& c = m->body["container"];
      if (c.HasMember("name") && c["name"].IsString()) e.name = c["name"].GetString();
      if (c.HasMember("id") && c["id"].IsString()) e.id = c["id"].GetString();
    }
    e.at = Clock::now();
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
}

std::vector<SeenEvent> EventLog::events() {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<SeenEvent> EventLog::of(const std::string& name, const std::string& type) {
  std::vector<SeenEvent> out;
  for (auto& e : events())
    if (e.name == name && (type.empty() || e.type == type)) out.push_back(e);
  return out;
}

size_t EventLog::count(const std::string& name, const std::string& type) { return of(name, type).size(); }

bool EventLog::wait_count(const std::string& name, const std::string& type, size_t n,
                          std::chrono::milliseconds timeout) {
  return eventually([&] { return count(name, type) >= n; }, timeout);
}

std::string EventLog::dump() {
  std::string out;
  for (auto& e : events()) out += fmt::format("  #{} {} {} {}\n", e.seq, e.provider, e.name, e.type);
  return out;
}

}  // namespace berth::wake_test
