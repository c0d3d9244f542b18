// Test support: a shell command run in the background with its output in a
// file, and waits on that output (polled for the text, never a fixed sleep).
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace berth::testing {

struct Background {
  explicit Background(const std::string& cmd) : out(fmt::format("/tmp/berth-bg-{}-{}.out", getpid(), n++)) {
    pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >" + out + " 2>&1").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Background() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    std::remove(out.c_str());
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  std::string output() const {
    std::string s;
    if (FILE* f = std::fopen(out.c_str(), "r")) {
      char buf[4096];
      while (size_t k = std::fread(buf, 1, sizeof buf, f)) s.append(buf, k);
      std::fclose(f);
    }
    return s;
  }
  bool wait_for(const std::string& text, std::chrono::milliseconds t) const {
    return wait_until([&](const std::string& o) { return o.find(text) != std::string::npos; }, t);
  }
  template <class Pred>
  bool wait_until(Pred&& done, std::chrono::milliseconds t) const {
    auto until = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < until) {
      if (done(output())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done(output());
  }

  static inline int n = 0;
  int pid;
  std::string out;
};

}  // namespace berth::testing
