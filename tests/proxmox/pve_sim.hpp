// Runs tests/proxmox/pvesim.py (the PVE API simulator) for a test, and
// drives its control API.
#pragma once

#include <string>

namespace berth::pve_test {

inline constexpr const char* kTokenId = "root@pam!berth";
inline constexpr const char* kSecret = "b3rth-s3cret-7f1e";  // asserted absent from every log
inline constexpr const char* kSecretEnv = "BERTH_TEST_PVE_SECRET";

class PveSim {
 public:
  // Starts the simulator with `task_delay_ms` per task; throws on failure.
  explicit PveSim(int task_delay_ms = 100);
  ~PveSim();
  int port() const { return port_; }
  const std::string& fingerprint() const { return fingerprint_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // The proxmox.so config for this simulator (secret from kSecretEnv).
  std::string plugin_config(const std::string& extra = "") const;

  // POST/GET/DELETE on /_sim/<what>; returns the body.
  std::string control(const std::string& method, const std::string& what, const std::string& json = "");
  std::string log() const;  // the simulator's stderr

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string dir_, fingerprint_;
};

}  // namespace berth::pve_test
