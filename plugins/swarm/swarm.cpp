// swarm.so: Docker Swarm's replicated services as berth containers. A
// service runs when it has running tasks; `start` scales it to its wanted
// replicas, `stop` to zero, and both wait until the swarm has converged.
// The engine's service and task events only say that a service changed, so
// the plugin hands them to the host (host->changed), which asks status()
// and publishes what differs: no state to diff is kept here.
#include "docker_api.hpp"
#include "event_stream.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <mutex>

namespace berth::swarm {
namespace {

using sdk::Error;
using docker::Api;
using docker::Config;
namespace json = rapidjson;

// The label that says how many replicas `start` brings a service to.
constexpr const char* kReplicasLabel = "berth.replicas";
constexpr int kUpdateAttempts = 5;  // "update out of sequence" is retried this often

const char* str(const json::Value& obj, const char* key, const char* fallback = "") {
  if (!obj.IsObject()) return fallback;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsString() ? it->value.GetString() : fallback;
}

const json::Value& member(const json::Value& obj, const char* key) {
  static const json::Value none;
  if (!obj.IsObject()) return none;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() ? it->value : none;
}

int64_t integer(const json::Value& obj, const char* key) {
  const auto& v = member(obj, key);
  return v.IsInt64() ? v.GetInt64() : 0;
}

json::Document parse(const std::string& body, const char* what) {
  json::Document d;
  d.Parse<json::kParseIterativeFlag>(body.c_str(), body.size());
  if (d.HasParseError()) throw Error(BERTH_E_INTERNAL, std::string("malformed engine response to ") + what);
  return d;
}

// Mode.Replicated.Replicas of a spec; nullopt for a global (or unknown) mode.
std::optional<int64_t> replicas_of(const json::Value& spec) {
  const auto& replicated = member(member(spec, "Mode"), "Replicated");
  if (!replicated.IsObject()) return std::nullopt;
  return integer(replicated, "Replicas");
}

// One service as berth shows it.
sdk::Container container_of(const json::Value& s) {
  const auto& spec = member(s, "Spec");
  const auto& status = member(s, "ServiceStatus");
  const int64_t running = integer(status, "RunningTasks"), desired = integer(status, "DesiredTasks");
  const auto replicas = replicas_of(spec);
  sdk::Container c;
  c.id = str(s, "ID");
  c.name = str(spec, "Name");
  c.image = str(member(member(spec, "TaskTemplate"), "ContainerSpec"), "Image");
  // The image as written, without the digest the swarm pins it to.
  if (auto at = c.image.find('@'); at != std::string::npos) c.image.erase(at);
  c.state = running > 0 ? BERTH_STATE_RUNNING : BERTH_STATE_STOPPED;
  c.raw_state = std::string(replicas ? "replicated " : "global ") + std::to_string(running) + "/" +
                std::to_string(replicas ? *replicas : desired);
  c.created_unix_ms = docker::parse_time_ns(str(s, "CreatedAt")) / 1000000;
  if (const auto& labels = member(spec, "Labels"); labels.IsObject())
    for (const auto& m : labels.GetObject())
      if (m.value.IsString()) c.labels.emplace_back(m.name.GetString(), m.value.GetString());
  c.details_json = "{\"mode\":\"" + std::string(replicas ? "replicated" : "global") +
                   "\",\"replicas\":{\"running\":" + std::to_string(running) + ",\"desired\":" +
                   std::to_string(desired) + "},\"version\":" + std::to_string(integer(member(s, "Version"), "Index")) +
                   "}";
  return c;
}

// docker.so's config, but never its default engine: a swarm is asked for
// by naming its manager (berthd's default config, "{}", leaves it out).
Config manager_config(const std::string& json) {
  json::Document d;
  d.Parse<json::kParseIterativeFlag>(json.c_str());
  if (!d.HasParseError() && d.IsObject() && !d.HasMember("host"))
    throw Error(BERTH_E_INVALID_ARGUMENT, "host: required (a swarm manager's Engine API, e.g. unix:///var/run/docker.sock)");
  return docker::parse_config(json);
}

class Swarm final : public sdk::Instance {
 public:
  static constexpr uint32_t kMinHostMinor = 2;  // events go through host->changed (ABI 1.2)
  Swarm(std::string name, const std::string& config, berth_host_ctx* ctx)
      : Instance(std::move(name), ctx), config_(manager_config(config)), api_(config_) {}
  ~Swarm() override { events_.stop(); }

  uint64_t capabilities() const override {
    return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
           BERTH_CAP_RESTART | BERTH_CAP_WATCH;
  }

  void list(sdk::Call& call, const sdk::Sink& sink) override {
    auto d = parse(api_.call("GET", "/services?status=true", docker::limits_of(call)), "service list");
    if (!d.IsArray()) throw Error(BERTH_E_INTERNAL, "malformed engine response: service list is not an array");
    for (const auto& s : d.GetArray()) {
      auto c = container_of(s);
      if (!c.id.empty() && sink(c) == BERTH_SINK_STOP) return;
    }
  }

  sdk::Container inspect(sdk::Call& call, const std::string& ref) override { return container_of(*find(call, ref)); }

  void start(sdk::Call& call, const std::string& ref) override {
    auto s = find(call, ref);
    const auto& spec = member(*s, "Spec");
    const auto now = replicas_of(spec);
    if (!now) throw_global(spec);
    const int64_t wanted = wanted_replicas(*s);
    if (*now != wanted || integer(member(*s, "ServiceStatus"), "RunningTasks") == 0) scale(call, ref, wanted);
    converge(call, ref, [&](int64_t running) { return running >= wanted; });
  }

  // Swarm stops a task with the service's own StopSignal and
  // StopGracePeriod; the call's signal and timeout have no say here.
  void stop(sdk::Call& call, const std::string& ref, const char* signal, int32_t) override {
    if (signal) throw Error(BERTH_E_UNSUPPORTED, "swarm stops tasks with the service's own stop signal");
    auto s = find(call, ref);
    const auto now = replicas_of(member(*s, "Spec"));
    if (!now) throw_global(member(*s, "Spec"));
    if (*now != 0) scale(call, ref, 0);
    converge(call, ref, [](int64_t running) { return running == 0; });
  }

  void restart(sdk::Call& call, const std::string& ref, int32_t timeout_s) override {
    stop(call, ref, nullptr, timeout_s);
    start(call, ref);
  }

  void watch_start(sdk::Call&) override { events_.start(); }
  void watch_stop() override { events_.stop(); }

 private:
  // GET /services/{ref}: by id, name or id prefix, as the engine resolves it.
  std::unique_ptr<json::Document> find(sdk::Call& call, const std::string& ref) {
    auto one = std::make_unique<json::Document>(
        parse(api_.call("GET", "/services/" + http::url_encode(ref), docker::limits_of(call)), "service inspect"));
    const std::string id = str(*one, "ID");
    if (id.empty()) throw Error(BERTH_E_INTERNAL, "malformed engine response: service without ID");
    // The task counts come only with a list (status=true).
    const std::string filter = http::url_encode("{\"id\":[\"" + id + "\"]}");
    auto listed = parse(api_.call("GET", "/services?status=true&filters=" + filter, docker::limits_of(call)),
                        "service list");
    if (listed.IsArray())
      for (auto& s : listed.GetArray())
        if (str(s, "ID") == id) {
          auto out = std::make_unique<json::Document>();
          out->CopyFrom(s, out->GetAllocator());
          return out;
        }
    throw Error(BERTH_E_NOT_FOUND, "no such service: " + ref);  // removed meanwhile
  }

  [[noreturn]] static void throw_global(const json::Value& spec) {
    throw Error(BERTH_E_UNSUPPORTED, "service " + std::string(str(spec, "Name")) +
                                         " is global (one task per node): berth scales only replicated services");
  }

  // The label, else the count before it was scaled to zero (the engine keeps
  // the previous spec), else the last non-zero count seen, else 1.
  int64_t wanted_replicas(const json::Value& s) {
    const auto& spec = member(s, "Spec");
    const std::string id = str(s, "ID");
    if (const char* label = str(member(spec, "Labels"), kReplicasLabel, nullptr))
      if (auto n = sdk::parse_number<int64_t>(label); n && *n > 0 && *n <= 10000) return *n;
    std::lock_guard lock(mutex_);
    for (const auto* from : {&spec, &member(s, "PreviousSpec")})
      if (auto n = replicas_of(*from); n && *n > 0) return last_nonzero_[id] = *n;
    auto it = last_nonzero_.find(id);
    return it != last_nonzero_.end() ? it->second : 1;
  }

  // POST /services/{id}/update with the full spec at its current version;
  // another writer in between ("update out of sequence") means: read the
  // fresh version and try again.
  void scale(sdk::Call& call, const std::string& ref, int64_t replicas) {
    for (int attempt = 1;; ++attempt) {
      auto s = find(call, ref);
      auto spec = s->FindMember("Spec");
      if (spec == s->MemberEnd() || !spec->value.IsObject())
        throw Error(BERTH_E_INTERNAL, "malformed engine response: service without a spec");
      auto mode = spec->value.FindMember("Mode");
      if (mode == spec->value.MemberEnd() || !mode->value.IsObject() || !mode->value.HasMember("Replicated") ||
          !mode->value["Replicated"].IsObject())
        throw_global(spec->value);
      auto& replicated = mode->value["Replicated"];
      if (auto n = replicated.FindMember("Replicas"); n != replicated.MemberEnd()) n->value.SetInt64(replicas);
      else replicated.AddMember("Replicas", replicas, s->GetAllocator());
      json::StringBuffer body;
      json::Writer<json::StringBuffer> w(body);
      spec->value.Accept(w);
      const std::string version = std::to_string(integer(member(*s, "Version"), "Index"));
      try {
        api_.call("POST", "/services/" + std::string(str(*s, "ID")) + "/update?version=" + version,
                  docker::limits_of(call), std::string(body.GetString(), body.GetSize()));
        return;
      } catch (const Error& e) {
        if (std::string_view(e.what()).find("out of sequence") == std::string_view::npos || attempt >= kUpdateAttempts)
          throw;
      }
    }
  }

  // Waits until the running task count satisfies `done`, asking every
  // 100 ms; the call's deadline bounds the wait.
  template <class Done>
  void converge(sdk::Call& call, const std::string& ref, Done&& done) {
    for (;;) {
      auto s = find(call, ref);
      if (done(integer(member(*s, "ServiceStatus"), "RunningTasks"))) return;
      if (call.wait(100)) {
        if (call.remaining_ms() <= 0)
          throw Error(BERTH_E_TIMEOUT, "service " + ref + " has not converged: " + container_of(*s).raw_state);
        throw Error(BERTH_E_CANCELLED, "cancelled");
      }
    }
  }

  // A service event names the service; a task container's event names it
  // in the label the swarm puts on every task.
  void on_event(const json::Value& e) {
    const std::string type = str(e, "Type");
    const auto& actor = member(e, "Actor");
    std::string id = type == "service" ? str(actor, "ID")
                                       : str(member(actor, "Attributes"), "com.docker.swarm.service.id");
    if (id.empty()) return;  // a container that is no task
    if (type == "service" && std::string_view(str(e, "Action")) == "update")
      if (auto n = sdk::parse_number<int64_t>(str(member(actor, "Attributes"), "replicas.new")); n && *n > 0) {
        std::lock_guard lock(mutex_);
        last_nonzero_[id] = *n;
      }
    host().changed(id);  // there on every host that loads us (kMinHostMinor)
  }

  Config config_;
  Api api_;
  std::mutex mutex_;
  std::map<std::string, int64_t> last_nonzero_;  // by service id; guarded by mutex_
  docker::EventStream events_{api_, config_, {"service", "container"}, host(),
                              [this](const json::Value& e) { on_event(e); }};
};

}  // namespace
}  // namespace berth::swarm

BERTH_DEFINE_PROVIDER(berth::swarm::Swarm, "swarm", "0.1.0",
                      "Docker Swarm replicated services (scale to zero and back), on the Engine API", 0)
