// What the Docker tests share: where the private test engine is, running the
// real docker CLI against it, and a unix-socket proxy that can be cut.
#pragma once

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace berth::docker_test {

// Which engine serves the Docker API to these tests: "docker" (the private
// dockerd) or "podman" (the private Podman service), by BERTH_TEST_ENGINE.
std::string engine();
bool podman();
// The engine's socket: unix:///tmp/berth-test-dockerd/docker.sock, or
// unix:///tmp/berth-test-podman/podman.sock, unless BERTH_TEST_DOCKER_HOST
// says otherwise.
std::string docker_host();
std::string docker_socket_path();
inline const char* kImage = "berth-busybox:test";
// A command that keeps running and exits 0 promptly on SIGTERM.
inline const char* kIdleCommand = "sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.2; done'";

// What a created container needs on this engine: "", or for Podman the
// ulimits the sandbox needs (tests/podman/podman.sh).
std::string engine_run_flags();
// Runs `docker -H <host> <args>` (the Docker CLI speaks to Podman's
// compatible API too); returns stdout without the trailing newline. Sets
// `status` to the exit status when given. `run` and `create` get
// engine_run_flags().
std::string docker(const std::string& args, int* status = nullptr);
std::string docker_at(const std::string& host, const std::string& args, int* status = nullptr);
// "" when the engine answers, else why not.
std::string engine_unreachable();
// Skips the test when there is no engine, except under CI=true where that fails.
#define BERTH_REQUIRE_DOCKER()                                                      \
  do {                                                                              \
    if (auto why = ::berth::docker_test::engine_unreachable(); !why.empty()) {      \
      if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")      \
        FAIL() << ::berth::docker_test::engine() << " required under CI=true: " << why; \
      GTEST_SKIP() << "no " << ::berth::docker_test::engine() << ": " << why;       \
    }                                                                               \
  } while (0)

// The proxies' plumbing, for tests that need a proxy of their own.
int unix_listen(const std::string& path);   // replaces a leftover file; -1 on failure
int unix_connect(const std::string& path);  // -1 on failure
// Copies both ways until either side closes, then shuts both down.
// `from_client`, if set, sees each chunk read from `client` before it is
// forwarded.
void pump(int client, int server, const std::function<void(std::string_view)>& from_client = {});

// Forwards connections from `listen_path` to `target_path`. cut() closes
// every connection and refuses new ones (the engine looks dead); restore()
// accepts again.
class CutProxy {
 public:
  CutProxy(std::string listen_path, std::string target_path);
  ~CutProxy();
  void cut();
  void restore();
  const std::string& path() const { return listen_path_; }

 private:
  void listen();
  void accept_loop(int listener);
  std::string listen_path_, target_path_;
  std::mutex mutex_;
  int listener_ = -1;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// Plain TCP to the engine: 127.0.0.1:<port()> forwarded to a unix socket
// (the test engine only listens on TCP with TLS).
class TcpToUnix {
 public:
  explicit TcpToUnix(std::string target_path);
  ~TcpToUnix();
  int port() const { return port_; }

 private:
  std::string target_;
  int listener_ = -1, port_ = 0;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// The TLS endpoint of the test engine and its certificates.
std::string docker_tls_host();             // tcp://127.0.0.1:23760
std::string docker_tls_file(const char* name);  // ca.pem, cert.pem, key.pem

}  // namespace berth::docker_test
