#include "pve_sim.hpp"

#include "http_client.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::pve_test {

PveSim::PveSim(int task_delay_ms) {
  char tmpl[] = "/tmp/berth-pvesim-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  dir_ = tmpl;
  setenv(kSecretEnv, kSecret, 1);
  const std::string ready = dir_ + "/ready";
  const std::string token = std::string(kTokenId) + "=" + kSecret;
  const std::string delay = std::to_string(task_delay_ms);
  pid_ = fork();
  if (pid_ == 0) {
    int log = open((dir_ + "/sim.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 2);
    // The token goes through the environment-free argv of a test process;
    // the simulator never prints it.
    execl("/usr/bin/python3", "python3", BERTH_PVESIM, "--cert-dir", dir_.c_str(), "--token", token.c_str(),
          "--ready-file", ready.c_str(), "--task-delay-ms", delay.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(ready);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      rapidjson::Document d;
      d.Parse(ss.str().c_str());
      if (!d.HasParseError() && d.IsObject()) {
        port_ = d["port"].GetInt();
        fingerprint_ = d["fingerprint"].GetString();
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("pvesim did not start: " + log());
}

PveSim::~PveSim() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::system(("rm -rf " + dir_).c_str());
}

std::string PveSim::plugin_config(const std::string& extra) const {
  return R"({"url": ")" + url() + R"(", "token_id": ")" + kTokenId + R"(", "token_secret_env": ")" + kSecretEnv +
         R"(", "tls": {"fingerprint": ")" + fingerprint_ + R"("}, "task_poll_ms": 50)" + extra + "}";
}

std::string PveSim::control(const std::string& method, const std::string& what, const std::string& json) {
  http::TlsOptions tls;
  tls.pin_sha256 = fingerprint_;
  std::string err;
  http::Client client(*http::Endpoint::parse(url(), tls, err));
  http::Request req{method, "/_sim/" + what, json, json.empty() ? "" : "application/json"};
  auto r = client.call(req, {http::Clock::now() + std::chrono::seconds(10), {}});
  if (!r.ok() || r.status != 200) throw std::runtime_error("pvesim control " + what + " failed: " + r.error + r.body);
  return r.body;
}

std::string PveSim::log() const {
  std::ifstream in(dir_ + "/sim.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace berth::pve_test
