#include "docker_env.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::docker_test {

std::string engine() {
  const char* e = std::getenv("BERTH_TEST_ENGINE");
  return e && std::string(e) == "podman" ? "podman" : "docker";
}

bool podman() { return engine() == "podman"; }

std::string docker_host() {
  const char* h = std::getenv("BERTH_TEST_DOCKER_HOST");
  if (h && *h) return h;
  return podman() ? "unix:///tmp/berth-test-podman/podman.sock" : "unix:///tmp/berth-test-dockerd/docker.sock";
}

std::string engine_run_flags() { return podman() ? "--ulimit nofile=1024:20000 --ulimit nproc=1024:1024 " : ""; }

std::string docker_socket_path() {
  const std::string h = docker_host();
  return h.rfind("unix://", 0) == 0 ? h.substr(7) : h;
}

std::string docker_at(const std::string& host, const std::string& args, int* status) {
  std::string line = args;
  for (const char* verb : {"run ", "create "})
    if (line.rfind(verb, 0) == 0) line.insert(std::strlen(verb), engine_run_flags());
  const std::string cmd = "docker -H " + host + " " + line + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string docker(const std::string& args, int* status) { return docker_at(docker_host(), args, status); }

std::string engine_unreachable() {
  int status = 0;
  std::string out = docker("version --format '{{.Server.APIVersion}}'", &status);
  return status == 0 ? "" : (out.empty() ? "docker CLI failed" : out);
}

// ------------------------------------------------------------ proxy

int unix_listen(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
int unix_connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
void pump(int client, int server, const std::function<void(std::string_view)>& from_client) {
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  char buf[16384];
  for (;;) {
    if (poll(fds, 2, -1) < 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0 && i == 0 && from_client) from_client(std::string_view(buf, static_cast<size_t>(n)));
      // MSG_NOSIGNAL: a peer that has gone (berthd stopped, the engine
      // closed) ends the pump, not the test process with SIGPIPE.
      if (n <= 0 || send(fds[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
        shutdown(client, SHUT_RDWR);
        shutdown(server, SHUT_RDWR);
        return;
      }
    }
  }
}

CutProxy::CutProxy(std::string listen_path, std::string target_path)
    : listen_path_(std::move(listen_path)), target_path_(std::move(target_path)) {
  listen();
}

CutProxy::~CutProxy() {
  cut();
  for (auto& t : threads_) t.join();
  unlink(listen_path_.c_str());
}

void CutProxy::listen() {
  std::lock_guard lock(mutex_);
  listener_ = unix_listen(listen_path_);
  acceptor_ = std::thread([this, l = listener_] { accept_loop(l); });
}

void CutProxy::accept_loop(int listener) {
  for (;;) {
    int client = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // listener shut down by cut()
    int server = unix_connect(target_path_);
    if (server < 0) {
      close(client);
      continue;
    }
    std::lock_guard lock(mutex_);
    fds_.push_back(client);
    fds_.push_back(server);
    threads_.emplace_back([client, server] {
      pump(client, server);
    });
  }
}

void CutProxy::cut() {
  std::thread acceptor;
  {
    std::lock_guard lock(mutex_);
    if (listener_ >= 0) {
      shutdown(listener_, SHUT_RDWR);
      close(listener_);
      listener_ = -1;
      unlink(listen_path_.c_str());  // new connects fail: no such file
    }
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    acceptor = std::move(acceptor_);
  }
  if (acceptor.joinable()) acceptor.join();
  std::lock_guard lock(mutex_);
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (int fd : fds_) close(fd);
  fds_.clear();
}

void CutProxy::restore() { listen(); }

TcpToUnix::TcpToUnix(std::string target_path) : target_(std::move(target_path)) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 16) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return;
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] {
    for (;;) {
      int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      int server = unix_connect(target_);
      if (server < 0) {
        close(client);
        continue;
      }
      std::lock_guard lock(mutex_);
      fds_.push_back(client);
      fds_.push_back(server);
      threads_.emplace_back([client, server] { pump(client, server); });
    }
  });
}

TcpToUnix::~TcpToUnix() {
  shutdown(listener_, SHUT_RDWR);
  close(listener_);
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard lock(mutex_);
  for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  for (auto& t : threads_) t.join();
  for (int fd : fds_) close(fd);
}

std::string docker_tls_host() {
  const char* p = std::getenv("BERTH_TEST_DOCKER_TLS_PORT");
  return std::string("tcp://127.0.0.1:") + (p && *p ? p : "23760");
}

std::string docker_tls_file(const char* name) {
  const char* d = std::getenv("BERTH_TEST_DOCKER_DIR");
  return std::string(d && *d ? d : "/tmp/berth-test-dockerd") + "/tls/" + name;
}

}  // namespace berth::docker_test
