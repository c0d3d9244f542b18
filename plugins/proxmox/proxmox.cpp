// proxmox.so: Proxmox VE LXC guests as a berth provider. Lifecycle ops are
// PVE tasks (UPIDs) waited for within the call's deadline; PVE has no event
// stream, so a watcher polls one live list per node per interval and diffs.
// The plugin's own ops emit their event when their task completes; the
// poller never repeats it.
#include "pve_api.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <set>
#include <thread>

namespace berth::proxmox {
namespace {

using sdk::Error;
using Clock = std::chrono::steady_clock;

struct Guest {
  int64_t vmid = 0;
  std::string node, name, status, tags, lock;
  int64_t uptime_s = 0;
  double cpu = 0;
  int64_t mem = 0, maxmem = 0;
  bool is_template = false;
};

int64_t vmid_of(const rapidjson::Value& v) {  // older servers send it as a string
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsString()) return std::atoll(v.GetString());
  return 0;
}

std::string s(const rapidjson::Value& o, const char* k) {
  auto it = o.FindMember(k);
  return it != o.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

Guest guest_from(const rapidjson::Value& g, const std::string& node) {
  Guest out;
  out.vmid = g.HasMember("vmid") ? vmid_of(g["vmid"]) : 0;
  out.node = node;
  out.name = s(g, "name");
  out.status = s(g, "status");
  out.tags = s(g, "tags");
  out.lock = s(g, "lock");
  if (g.HasMember("uptime") && g["uptime"].IsNumber()) out.uptime_s = g["uptime"].GetInt64();
  if (g.HasMember("cpu") && g["cpu"].IsNumber()) out.cpu = g["cpu"].GetDouble();
  if (g.HasMember("mem") && g["mem"].IsNumber()) out.mem = g["mem"].GetInt64();
  if (g.HasMember("maxmem") && g["maxmem"].IsNumber()) out.maxmem = g["maxmem"].GetInt64();
  out.is_template = g.HasMember("template") && ((g["template"].IsInt() && g["template"].GetInt() == 1) ||
                                                (g["template"].IsString() && s(g, "template") == "1"));
  return out;
}

berth_state state_of(const std::string& status) {
  if (status == "running") return BERTH_STATE_RUNNING;
  if (status == "stopped") return BERTH_STATE_STOPPED;
  if (status == "paused" || status == "suspended") return BERTH_STATE_PAUSED;
  return BERTH_STATE_UNKNOWN;
}

// PVE tags cannot hold '=' or ','. A tag "proxy.<key…>.<value>" becomes the
// label "proxy.<key…>" = "<value>" (repeated keys join with ','), so the
// core's route labels work on Proxmox; every tag is also "pve.tag.<tag>".
sdk::Labels labels_from_tags(const std::string& tags) {
  sdk::Labels out;
  std::map<std::string, std::string> proxy;
  size_t start = 0;
  while (start < tags.size()) {
    size_t end = tags.find_first_of(";, ", start);
    if (end == std::string::npos) end = tags.size();
    std::string tag = tags.substr(start, end - start);
    start = end + 1;
    if (tag.empty()) continue;
    out.emplace_back("pve.tag." + tag, "true");
    auto dot = tag.rfind('.');
    if (tag.rfind("proxy.", 0) == 0 && dot > 6) {
      auto& v = proxy[tag.substr(0, dot)];
      v += (v.empty() ? "" : ",") + tag.substr(dot + 1);
    }
  }
  for (auto& [k, v] : proxy) out.emplace_back(k, v);
  if (!tags.empty()) out.emplace_back("pve.tags", tags);
  return out;
}

sdk::Container container_of(const Guest& g, const rapidjson::Value* config = nullptr) {
  sdk::Container c;
  c.id = std::to_string(g.vmid);
  c.name = g.name.empty() ? "CT" + c.id : g.name;
  c.state = state_of(g.status);
  c.raw_state = g.status;
  if (c.state == BERTH_STATE_RUNNING && g.uptime_s > 0)
    c.started_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count() - g.uptime_s * 1000;
  c.labels = labels_from_tags(g.tags);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("node");
  w.String(g.node.c_str());
  w.Key("vmid");
  w.Int64(g.vmid);
  if (!g.lock.empty()) {
    w.Key("lock");
    w.String(g.lock.c_str());
  }
  w.Key("uptime_s");
  w.Int64(g.uptime_s);
  w.Key("cpu");
  w.Double(g.cpu);
  w.Key("mem");
  w.Int64(g.mem);
  w.Key("maxmem");
  w.Int64(g.maxmem);
  if (config && config->IsObject()) {
    if (std::string os = s(*config, "ostype"); !os.empty()) c.image = "lxc:" + os;
    // net0 = "name=eth0,bridge=vmbr0,hwaddr=…,ip=10.0.0.5/24,type=veth"
    w.Key("networks");
    w.StartArray();
    for (auto& m : config->GetObject()) {
      const std::string key = m.name.GetString();
      if (key.rfind("net", 0) != 0 || !m.value.IsString()) continue;
      std::string spec = m.value.GetString(), name = key, ip;
      for (size_t i = 0; i < spec.size();) {
        size_t comma = spec.find(',', i);
        if (comma == std::string::npos) comma = spec.size();
        std::string kv = spec.substr(i, comma - i);
        if (kv.rfind("name=", 0) == 0) name = kv.substr(5);
        if (kv.rfind("ip=", 0) == 0) ip = kv.substr(3, kv.find('/') == std::string::npos ? std::string::npos : kv.find('/') - 3);
        i = comma + 1;
      }
      w.StartObject();
      w.Key("name");
      w.String(name.c_str());
      w.Key("ip");
      w.String(ip == "dhcp" ? "" : ip.c_str());
      w.EndObject();
    }
    w.EndArray();
    if (std::string lock = s(*config, "lock"); !lock.empty() && g.lock.empty()) {
      w.Key("lock");
      w.String(lock.c_str());
    }
  }
  w.EndObject();
  c.details_json.assign(buf.GetString(), buf.GetSize());
  return c;
}

class Proxmox final : public sdk::Instance {
 public:
  Proxmox(std::string name, const std::string& config, berth_host_ctx* ctx)
      : Instance(std::move(name), ctx), config_(parse_config(config)), api_(config_) {
    if (config_.tls.insecure)
      host().log(BERTH_LOG_WARN, "TLS verification is OFF for " + config_.url + " (tls.insecure)");
    host().log(BERTH_LOG_INFO, "PVE " + config_.url + " as " + config_.token_id + ", secret from " + config_.secret_source);
  }
  ~Proxmox() override { watch_stop(); }

  uint64_t capabilities() const override {
    uint64_t caps = BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
                    BERTH_CAP_KILL | BERTH_CAP_RESTART | BERTH_CAP_WATCH;
    if (config_.suspend) caps |= BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE;
    return caps;
  }

  void list(sdk::Call& call, const sdk::Sink& sink) override {
    for (const auto& g : snapshot(limits_of(call)).guests)
      if (!sink(container_of(g))) return;
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

  void start(sdk::Call& call, const std::string& ref) override {
    lifecycle(call, ref, "start", "", "running", {BERTH_EVENT_STARTED}, "already running");
  }
  void stop(sdk::Call& call, const std::string& ref, const char*, int32_t timeout_s) override {
    // A graceful shutdown that PVE itself escalates to a hard stop after the timeout.
    const int t = timeout_s < 0 ? 60 : timeout_s;
    lifecycle(call, ref, "shutdown", "timeout=" + std::to_string(t) + "&forceStop=1", "stopped",
              {BERTH_EVENT_EXITED}, "not running");
  }
  void kill(sdk::Call& call, const std::string& ref, const char*) override {
    lifecycle(call, ref, "stop", "", "stopped", {BERTH_EVENT_EXITED}, "not running");
  }
  void restart(sdk::Call& call, const std::string& ref, int32_t timeout_s) override {
    const Guest g = resolve(ref, limits_of(call));
    if (g.status != "running") return start(call, ref);  // reboot needs a running CT
    lifecycle(call, ref, "reboot", timeout_s >= 0 ? "timeout=" + std::to_string(timeout_s) : "", "running",
              {BERTH_EVENT_EXITED, BERTH_EVENT_STARTED}, "");
  }
  void pause(sdk::Call& call, const std::string& ref) override {
    lifecycle(call, ref, "suspend", "", "paused", {BERTH_EVENT_PAUSED}, "");
  }
  void unpause(sdk::Call& call, const std::string& ref) override {
    lifecycle(call, ref, "resume", "", "running", {BERTH_EVENT_UNPAUSED}, "");
  }

  void watch_start(sdk::Call&) override {
    std::lock_guard lock(watch_mutex_);
    if (poller_.joinable()) return;
    stopping_ = false;
    watching_ = true;
    poller_ = std::thread([this] { poll_loop(); });
  }
  void watch_stop() override {
    std::lock_guard lock(watch_mutex_);
    if (!poller_.joinable()) return;
    {
      std::lock_guard s(sleep_mutex_);
      stopping_ = true;
    }
    sleep_cv_.notify_all();
    poller_.join();
    watching_ = false;
  }

 private:
  struct Snapshot {
    std::vector<Guest> guests;         // templates excluded
    std::set<std::string> answered;    // nodes whose list we got
  };

  static std::string base(const Guest& g) { return "/nodes/" + g.node + "/lxc/" + std::to_string(g.vmid); }

  // Every LXC guest, live: one GET /nodes, then one list per online node.
  // The cost per interval grows with nodes, never with guests.
  Snapshot snapshot(const http::Limits& limits) {
    Snapshot snap;
    auto nodes = api_.call("GET", "/nodes", limits);
    if (!nodes.IsArray()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: /nodes is not a list");
    for (auto& n : nodes.GetArray()) {
      const std::string node = s(n, "node");
      if (node.empty() || s(n, "status") == "offline") continue;
      try {
        auto guests = api_.call("GET", "/nodes/" + node + "/lxc", limits);
        if (!guests.IsArray()) continue;
        snap.answered.insert(node);
        for (auto& g : guests.GetArray()) {
          Guest guest = guest_from(g, node);
          if (guest.vmid > 0 && !guest.is_template) snap.guests.push_back(std::move(guest));
        }
      } catch (const Error& e) {
        if (e.code() != BERTH_E_UNAVAILABLE) throw;  // an offline node: its guests are unknown, not gone
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

  // One lifecycle POST and its task. `idempotent` is PVE's synchronous error
  // text that means "already in that state": success, no event.
  void lifecycle(sdk::Call& call, const std::string& ref, const std::string& action, const std::string& form,
                 const std::string& after, std::vector<berth_event_type> events, const std::string& idempotent) {
    const auto limits = limits_of(call);
    const Guest g = resolve(ref, limits);
    // While the op runs the poller leaves this guest alone: the op reports
    // the change itself when its task completes, exactly once.
    {
      std::lock_guard lock(known_mutex_);
      auto [it, fresh] = known_.try_emplace(g.vmid, Known{g, Clock::now()});
      ++it->second.in_flight;
    }
    struct Done {
      Proxmox* self;
      int64_t vmid;
      ~Done() {
        std::lock_guard lock(self->known_mutex_);
        auto& k = self->known_[vmid];
        --k.in_flight;
        k.changed_at = Clock::now();
      }
    } done{this, g.vmid};
    std::string upid;
    try {
      auto d = api_.call("POST", base(g) + "/status/" + action, limits, form);
      if (!d.IsString()) throw Error(BERTH_E_INTERNAL, "malformed PVE response: no UPID for " + action);
      upid = d.GetString();
    } catch (const Error& e) {
      if (!idempotent.empty() && std::string(e.what()).find(idempotent) != std::string::npos) return;
      throw;
    }
    api_.wait_task(upid, limits);
    const std::string raw = "vz" + action;
    std::vector<sdk::Event> out;
    {
      std::lock_guard lock(known_mutex_);
      auto& k = known_[g.vmid];
      k.guest = g;
      k.guest.status = after;
      k.changed_at = Clock::now();
      for (auto type : events) out.push_back(event(type, g, raw));
    }
    if (watching_)
      for (const auto& e : out) host().emit(e);
  }

  static sdk::Event event(berth_event_type type, const Guest& g, const std::string& raw) {
    sdk::Event e;
    e.type = type;
    e.raw_action = raw;
    e.container_id = std::to_string(g.vmid);
    e.container_name = g.name;
    e.labels = labels_from_tags(g.tags);
    return e;
  }

  // ------------------------------------------------------------ polling

  void poll_loop() {
    bool up = false, reported = false, baseline = false;
    while (!stopping_) {
      const auto started = Clock::now();
      try {
        Snapshot snap = snapshot({started + std::chrono::milliseconds(std::max<int64_t>(config_.poll_interval_ms, 5000)), {}});
        auto events = diff(snap, started, baseline);
        baseline = true;
        if (!up) host().provider_state(BERTH_PROVIDER_UP, "polling " + config_.url);
        up = reported = true;
        for (const auto& e : events) host().emit(e);
      } catch (const Error& e) {
        if (up || !reported) host().provider_state(BERTH_PROVIDER_DOWN, e.what());
        up = false;
        reported = true;
      }
      std::unique_lock lock(sleep_mutex_);
      sleep_cv_.wait_until(lock, started + std::chrono::milliseconds(config_.poll_interval_ms),
                           [&] { return stopping_.load(); });
    }
  }

  // Changes since the last poll, as events. A guest an op changed after this
  // poll began is left alone: the op already reported it.
  std::vector<sdk::Event> diff(const Snapshot& snap, Clock::time_point poll_started, bool emit) {
    std::vector<sdk::Event> out;
    std::lock_guard lock(known_mutex_);
    std::set<int64_t> present;
    for (const auto& g : snap.guests) {
      present.insert(g.vmid);
      auto it = known_.find(g.vmid);
      if (it == known_.end()) {
        known_[g.vmid] = {g, poll_started};
        if (!emit) continue;
        out.push_back(event(BERTH_EVENT_CREATED, g, "poll:created"));
        if (g.status == "running") out.push_back(event(BERTH_EVENT_STARTED, g, "poll:running"));
        continue;
      }
      Known& k = it->second;
      if (k.in_flight > 0 || k.changed_at > poll_started) continue;
      const std::string before = k.guest.status;
      k.guest = g;
      if (!emit || before == g.status) continue;
      const std::string raw = "poll:" + g.status;
      if (g.status == "running") out.push_back(event(before == "paused" ? BERTH_EVENT_UNPAUSED : BERTH_EVENT_STARTED, g, raw));
      else if (g.status == "stopped") out.push_back(event(BERTH_EVENT_EXITED, g, raw));
      else if (g.status == "paused" || g.status == "suspended") out.push_back(event(BERTH_EVENT_PAUSED, g, raw));
      else out.push_back(event(BERTH_EVENT_OTHER, g, raw));
    }
    for (auto it = known_.begin(); it != known_.end();) {
      const bool node_answered = snap.answered.count(it->second.guest.node) > 0;
      if (present.count(it->first) || !node_answered || it->second.in_flight > 0 ||
          it->second.changed_at > poll_started) {
        ++it;
        continue;
      }
      if (emit) out.push_back(event(BERTH_EVENT_DESTROYED, it->second.guest, "poll:destroyed"));
      it = known_.erase(it);
    }
    return out;
  }

  struct Known {
    Guest guest;
    Clock::time_point changed_at;  // last change an op made
    int in_flight = 0;             // ops running on this guest
  };

  Config config_;
  Api api_;
  std::mutex known_mutex_;
  std::map<int64_t, Known> known_;
  std::mutex watch_mutex_;
  std::thread poller_;
  std::atomic<bool> stopping_{false}, watching_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
};

}  // namespace
}  // namespace berth::proxmox

BERTH_DEFINE_PROVIDER(berth::proxmox::Proxmox, "proxmox", "0.1.0",
                      "Proxmox VE LXC guests over the PVE HTTP API (token auth, UPID tasks, polling)", 0)
