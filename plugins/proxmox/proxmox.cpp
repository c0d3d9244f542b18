// proxmox.so: Proxmox VE LXC guests as a berth provider. Lifecycle ops are
// PVE tasks (UPIDs) waited for within the call's deadline. PVE has no event
// stream, so the plugin does not watch: it maps list/status/ops to the API
// and nothing more; berthd polls it and publishes the differences (and asks
// status right after each op of its own, so those are reported at once).
#include "pve_api.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace berth::proxmox {
namespace {

using sdk::Error;
using Clock = std::chrono::steady_clock;

class Proxmox final : public sdk::Instance {
 public:
  Proxmox(std::string name, const std::string& config, berth_host_ctx* ctx)
      : Instance(std::move(name), ctx), config_(parse_config(config)), api_(config_) {
    if (config_.tls.insecure)
      host().log(BERTH_LOG_WARN, "TLS verification is OFF for " + config_.url + " (tls.insecure)");
    host().log(BERTH_LOG_INFO, "PVE " + config_.url + " as " + config_.token_id + ", secret from " + config_.secret_source);
  }

  uint64_t capabilities() const override {
    uint64_t caps = BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
                    BERTH_CAP_KILL | BERTH_CAP_RESTART;
    if (config_.suspend) caps |= BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE;
    return caps;
  }

  void list(sdk::Call& call, const sdk::Sink& sink) override {
    for (const auto& g : snapshot(limits_of(call)).guests)
      if (sink(container_of(g)) == BERTH_SINK_STOP) return;
  }
  sdk::Container inspect(sdk::Call& call, const std::string& ref) override {
    const auto limits = limits_of(call);
    Guest g = resolve(ref, limits);
    auto config = api_.call("GET", base(g) + "/config", limits);
    return container_of(g, &config);
  }
  sdk::Container status(sdk::Call& call, const std::string& ref) override {
    return container_of(resolve(ref, limits_of(call)));
  }

  // Each op's goal state; an op whose goal already holds succeeds without
  // a task (provider.h's idempotence table).
  void start(sdk::Call& call, const std::string& ref) override {
    lifecycle(call, ref, "start", "", {"running"}, {"paused", "suspended"});
  }
  void stop(sdk::Call& call, const std::string& ref, const char*, int32_t timeout_s) override {
    // A graceful shutdown that PVE itself escalates to a hard stop after the timeout.
    const int t = timeout_s < 0 ? 60 : timeout_s;
    lifecycle(call, ref, "shutdown", "timeout=" + std::to_string(t) + "&forceStop=1", {"stopped"}, {});
  }
  void kill(sdk::Call& call, const std::string& ref, const char*) override {
    lifecycle(call, ref, "stop", "", {"stopped"}, {});
  }
  void restart(sdk::Call& call, const std::string& ref, int32_t timeout_s) override {
    const Guest g = resolve(ref, limits_of(call));
    if (g.status != "running") return start(call, ref);  // reboot needs a running CT
    lifecycle(call, ref, "reboot", timeout_s >= 0 ? "timeout=" + std::to_string(timeout_s) : "", {}, {});
  }
  void pause(sdk::Call& call, const std::string& ref) override {
    lifecycle(call, ref, "suspend", "", {"paused", "suspended"}, {"stopped"});
  }
  void unpause(sdk::Call& call, const std::string& ref) override {
    lifecycle(call, ref, "resume", "", {"running"}, {"stopped"});
  }

 private:
  struct Snapshot {
    std::vector<Guest> guests;  // templates excluded
  };

  static std::string base(const Guest& g) { return "/nodes/" + g.node + "/lxc/" + std::to_string(g.vmid); }

  // Every LXC guest, live: one GET /nodes, then one list per online node.
  // The cost per call grows with nodes, never with guests. Guests of a node
  // that does not answer are unknown, not gone: they come from the cluster's
  // own index with state UNKNOWN, which berthd reads as "keep what you knew".
  Snapshot snapshot(const http::Limits& limits) {
    Snapshot snap;
    auto nodes = api_.call("GET", "/nodes", limits);
    if (!nodes.IsArray()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: /nodes is not a list");
    std::set<std::string> silent;
    for (auto& n : nodes.GetArray()) {
      const std::string node = string_member(n, "node");
      if (node.empty()) continue;
      if (string_member(n, "status") == "offline") {
        silent.insert(node);
        continue;
      }
      try {
        auto guests = api_.call("GET", "/nodes/" + node + "/lxc", limits);
        if (!guests.IsArray()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: lxc list");
        for (auto& g : guests.GetArray()) {
          Guest guest = guest_from(g, node);
          if (guest.vmid > 0 && !guest.is_template) snap.guests.push_back(std::move(guest));
        }
      } catch (const Error& e) {
        if (e.code() != BERTH_E_UNAVAILABLE) throw;
        silent.insert(node);
      }
    }
    if (!silent.empty()) {
      auto all = api_.call("GET", "/cluster/resources?type=vm", limits);
      if (all.IsArray())
        for (auto& g : all.GetArray()) {
          const std::string node = string_member(g, "node");
          if (!silent.count(node) || string_member(g, "type") != "lxc") continue;
          Guest guest = guest_from(g, node);
          guest.status = "unknown";
          if (guest.vmid > 0 && !guest.is_template) snap.guests.push_back(std::move(guest));
        }
    }
    return snap;
  }

  // "101", "pve1/101" or a name. The node is found, not assumed, so a
  // migrated guest still resolves.
  Guest resolve(const std::string& ref, const http::Limits& limits) {
    std::string node, id = ref;
    if (auto slash = ref.find('/'); slash != std::string::npos) {
      node = ref.substr(0, slash);
      id = ref.substr(slash + 1);
    }
    const bool numeric = !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
    if (!node.empty() && numeric) {
      auto d = api_.call("GET", "/nodes/" + node + "/lxc/" + id + "/status/current", limits);
      if (!d.IsObject()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: status/current is not an object");
      return guest_from(d, node);
    }
    const Snapshot snap = snapshot(limits);
    const Guest* found = nullptr;
    for (const auto& g : snap.guests) {
      if (numeric ? std::to_string(g.vmid) == id : g.name == id) {
        if (found && !numeric) throw Error(BERTH_E_INVALID_ARGUMENT, "ambiguous name " + id + ": use its VMID");
        found = &g;
      }
    }
    if (!found) throw Error(BERTH_E_NOT_FOUND, "no LXC guest " + ref);
    return *found;
  }

  // One lifecycle POST and its task. `done` are the states in which the
  // goal already holds (success without a task); `wrong` those from which
  // the op cannot reach it (conflict). PVE's own "already running" / "not
  // running" answers are read the same way, for a guest that changed between
  // our look and the POST.
  void lifecycle(sdk::Call& call, const std::string& ref, const std::string& action, const std::string& form,
                 const std::vector<std::string>& done, const std::vector<std::string>& wrong) {
    const auto limits = limits_of(call);
    const Guest g = resolve(ref, limits);
    auto in = [&](const std::vector<std::string>& states) {
      return std::find(states.begin(), states.end(), g.status) != states.end();
    };
    if (g.status == "unknown") throw Error(BERTH_E_UNAVAILABLE, "node " + g.node + " does not answer");
    if (in(done)) return;
    if (in(wrong)) throw Error(BERTH_E_CONFLICT, "CT " + std::to_string(g.vmid) + " is " + g.status);
    std::string upid;
    try {
      auto d = api_.call("POST", base(g) + "/status/" + action, limits, form);
      if (!d.IsString()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: no UPID for " + action);
      upid = d.GetString();
    } catch (const Error& e) {
      const std::string text = e.what();
      const bool holds = (action == "start" && text.find("already running") != std::string::npos) ||
                         ((action == "shutdown" || action == "stop") && text.find("not running") != std::string::npos);
      if (holds) return;
      throw;
    }
    api_.wait_task(upid, limits);
  }

  Config config_;
  Api api_;
};

}  // namespace
}  // namespace berth::proxmox

BERTH_DEFINE_PROVIDER(berth::proxmox::Proxmox, "proxmox", "0.1.0",
                      "Proxmox VE LXC guests over the PVE HTTP API (token auth, UPID tasks, polling)", 0)
