// What the berth-wake tests share: running berth-wake (and proxies) as child
// processes, a small HTTP client, free ports, and a recorder of berthd's
// container events. Every wait polls for an observable result until a
// deadline; nothing sleeps to synchronise.
#pragma once

#include "berthd_process.hpp"
#include "eventually.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace berth::wake_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Under CI=true a missing tool fails the test; elsewhere it skips.
#define BERTH_REQUIRE_FILE(path, what)                                                   \
  do {                                                                                   \
    if (!std::filesystem::exists(path)) {                                                \
      if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")           \
        FAIL() << what << " (" << path << ") required under CI=true";                    \
      GTEST_SKIP() << what << " not installed (" << path << ")";                         \
    }                                                                                    \
  } while (0)

// Runs `cmd` with sh; returns stdout and stderr together.
std::string sh(const std::string& cmd);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
// Replaces every occurrence of `from`; returns how many there were.
int replace_all(std::string& s, const std::string& from, const std::string& to);
// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int free_port();
using berth::testing::eventually;

// A temporary directory (make_temp_dir), removed at the end of the scope
// unless BERTH_KEEP_TEST_DIRS is set.
struct ScopedDir {
  std::string path = testing::make_temp_dir();
  ~ScopedDir() {
    std::error_code ec;
    if (!std::getenv("BERTH_KEEP_TEST_DIRS")) std::filesystem::remove_all(path, ec);
  }
};

// ------------------------------------------------------------ processes

// A child process: argv[0] is the program; stdout and stderr go to `log`.
// The destructor sends SIGTERM, then SIGKILL after 5 s.
class Child {
 public:
  Child(std::vector<std::string> argv, std::string log, std::vector<std::string> env = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  int pid() const { return pid_; }
  bool running();
  // SIGTERM (or `sig`); the exit status (or -signal), nullopt if it did not exit in `wait`.
  std::optional<int> stop(int sig = 15, std::chrono::milliseconds wait = 5s);
  std::string output() const { return read_file(log_); }
  const std::string& log() const { return log_; }

 private:
  int pid_ = -1;
  int status_ = 0;
  std::string log_;
};

// berth-wake on 127.0.0.1 with an ephemeral port, following the given berthd.
class WakeProcess {
 public:
  WakeProcess(const std::vector<const testing::BerthdProcess*>& daemons, std::vector<std::string> extra_args = {},
              std::string log = "");
  // Follows explicit endpoints (a berthd that will be restarted at the same place).
  WakeProcess(const std::vector<std::pair<std::string, std::string>>& endpoints, std::vector<std::string> extra_args,
              std::string log);
  bool ready() const { return port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Child& child() { return *child_; }
  std::string output() const { return child_->output(); }

 private:
  void start(std::vector<std::string> args, std::string log);
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

std::string wake_path();

// ------------------------------------------------------------ HTTP

struct HttpReply {
  int status = 0;  // 0: no answer (see error)
  std::string error;
  std::vector<std::pair<std::string, std::string>> headers;  // in the order sent
  std::string body;
  // The first header of that name (case-insensitive), or "".
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
  std::string describe() const;  // for failure messages
};

// One GET on a fresh connection (closed after the reply).
HttpReply http_get(int port, const std::string& target, std::chrono::milliseconds timeout = 10s,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

// A keep-alive connection: several requests in a row.
class HttpConnection {
 public:
  explicit HttpConnection(int port);
  ~HttpConnection();
  bool connected() const;
  HttpReply get(const std::string& target, std::chrono::milliseconds timeout = 5s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a Server-Sent Events stream into a buffer on its own thread.
class SseReader {
 public:
  SseReader(int port, const std::string& target);
  ~SseReader();
  // The response head (status line and headers) once it arrived.
  std::string head();
  // Everything received after the head so far (chunk framing removed).
  std::string text();
  bool wait_for(const std::function<bool(const std::string&)>& ok, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ------------------------------------------------------------ berthd events

struct SeenEvent {
  std::string type, name, provider, id;
  uint64_t seq = 0;
  Clock::time_point at;
};

// Records every container event berthd publishes, on its own thread.
class EventLog {
 public:
  explicit EventLog(const std::string& events_endpoint);
  ~EventLog();
  bool connected() const { return connected_; }
  std::vector<SeenEvent> events();
  std::vector<SeenEvent> of(const std::string& name, const std::string& type = "");
  size_t count(const std::string& name, const std::string& type);
  // Waits until `name` has had at least `n` events of `type`.
  bool wait_count(const std::string& name, const std::string& type, size_t n, std::chrono::milliseconds timeout);
  std::string dump();

 private:
  void run(std::string endpoint);
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<SeenEvent> events_;
  std::atomic<bool> stop_{false}, connected_{false};
  std::thread thread_;
};

}  // namespace berth::wake_test
