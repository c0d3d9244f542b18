// docker.so: the Docker Engine as a berth provider. Ops map one-to-one to
// Engine API calls; the watcher keeps one /events stream per instance, on
// its own connection and thread, and replays what it missed after a break.
#include "docker_api.hpp"
#include "event_stream.hpp"

#include <rapidjson/document.h>

namespace berth::docker {
namespace {

using sdk::Error;
using namespace std::chrono_literals;

std::string path_id(const std::string& ref) { return "/containers/" + http::url_encode(ref); }

class Docker final : public sdk::Instance {
 public:
  Docker(std::string name, const std::string& config, berth_host_ctx* ctx)
      : Instance(std::move(name), ctx), config_(parse_config(config)), api_(config_) {
    if (config_.tls.insecure)
      host().log(BERTH_LOG_WARN, "TLS verification is OFF for " + config_.host + " (tls.insecure)");
  }
  ~Docker() override { events_.stop(); }

  uint64_t capabilities() const override {
    return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
           BERTH_CAP_KILL | BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE | BERTH_CAP_RESTART | BERTH_CAP_WATCH |
           BERTH_CAP_STOP_SIGNAL | BERTH_CAP_KILL_SIGNAL | BERTH_CAP_CREATE | BERTH_CAP_REMOVE;
  }

  void list(sdk::Call& call, const sdk::Sink& sink) override {
    containers_from_list(api_.call("GET", "/containers/json?all=1", limits_of(call)), sink);
  }
  sdk::Container inspect(sdk::Call& call, const std::string& ref) override {
    return container_from_inspect(api_.call("GET", path_id(ref) + "/json", limits_of(call)));
  }
  void start(sdk::Call& call, const std::string& ref) override {
    // Docker refuses a paused container with 409, Podman with 500: both
    // are the conflict provider.h names.
    reaching(call, ref, BERTH_STATE_RUNNING, [&] { api_.call("POST", path_id(ref) + "/start", limits_of(call)); });
  }
  void stop(sdk::Call& call, const std::string& ref, const char* signal, int32_t timeout_s) override {
    const auto limits = limits_of(call);
    std::string query = timeout_s >= 0 ? "?t=" + std::to_string(timeout_s) : "";
    if (signal && !api_.at_least("1.42")) return stop_with_signal(call, ref, signal, timeout_s);
    if (signal) query += (query.empty() ? "?signal=" : "&signal=") + http::url_encode(signal);
    api_.call("POST", path_id(ref) + "/stop" + query, limits);
  }
  void kill(sdk::Call& call, const std::string& ref, const char* signal) override {
    std::string query = signal ? "?signal=" + http::url_encode(signal) : "";
    // Killing a stopped container: its goal (not running) already holds.
    reaching(call, ref, BERTH_STATE_STOPPED, [&] { api_.call("POST", path_id(ref) + "/kill" + query, limits_of(call)); });
  }
  void pause(sdk::Call& call, const std::string& ref) override {
    reaching(call, ref, BERTH_STATE_PAUSED, [&] { api_.call("POST", path_id(ref) + "/pause", limits_of(call)); });
  }
  void unpause(sdk::Call& call, const std::string& ref) override {
    reaching(call, ref, BERTH_STATE_RUNNING, [&] { api_.call("POST", path_id(ref) + "/unpause", limits_of(call)); });
  }
  void restart(sdk::Call& call, const std::string& ref, int32_t timeout_s) override {
    std::string query = timeout_s >= 0 ? "?t=" + std::to_string(timeout_s) : "";
    api_.call("POST", path_id(ref) + "/restart" + query, limits_of(call));
  }

  sdk::Container create_container(sdk::Call& call, const sdk::CreateSpec& spec) override {
    const auto limits = limits_of(call);
    api_.prefix(limits);  // negotiated first: the name's grammar is the engine's
    if (const bool podman = api_.podman(); !spec.name.empty() && !valid_container_name(spec.name, podman))
      throw Error(BERTH_E_INVALID_ARGUMENT,
                  "name " + spec.name + ": must match " + container_name_grammar(podman));
    ensure_image(spec.image, spec.pull, limits);
    // Docker creates a container on a network that does not exist and
    // fails only at its start; berth says so at the create, naming it.
    if (!spec.network.empty() && !network_mode(spec.network)) {
      try {
        api_.call("GET", "/networks/" + http::url_encode(spec.network), limits);
      } catch (const Error& e) {
        if (e.code() == BERTH_E_NOT_FOUND)
          throw Error(BERTH_E_NOT_FOUND, "network " + spec.network + " not found (berth never creates networks)");
        throw;
      }
    }
    std::string query = spec.name.empty() ? "" : "?name=" + http::url_encode(spec.name);
    const std::string created = api_.call("POST", "/containers/create" + query, limits, create_body(spec));
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(created.c_str());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("Id") || !d["Id"].IsString())
      throw Error(BERTH_E_INTERNAL, "malformed engine response to create: no Id");
    return inspect(call, d["Id"].GetString());
  }
  void remove(sdk::Call& call, const std::string& ref, bool force) override {
    try {
      api_.call("DELETE", path_id(ref) + (force ? "?force=1" : "?force=0"), limits_of(call));
    } catch (const Error& e) {
      if (e.code() == BERTH_E_NOT_FOUND) return;  // gone already: the goal holds
      throw;
    }
  }

  void watch_start(sdk::Call&) override { events_.start(); }
  void watch_stop() override { events_.stop(); }

 private:
  // The engine refuses some ops whose goal already holds (pause a paused
  // container: 409; unpause a running one: 500 "is not paused"). provider.h
  // says those succeed. Only on that error path, one inspect decides: the
  // goal holds → success; otherwise the container is in the wrong state for
  // the op → conflict, with the engine's words.
  template <class Fn>
  void reaching(sdk::Call& call, const std::string& ref, berth_state goal, Fn&& op) {
    try {
      op();
    } catch (const Error& e) {
      if (e.code() != BERTH_E_CONFLICT && e.code() != BERTH_E_INTERNAL) throw;
      const berth_state now = inspect(call, ref).state;
      if (now == goal) return;
      throw Error(BERTH_E_CONFLICT, e.what());
    }
  }

  // Modes the engines take where a network's name goes; not networks
  // (Podman has no network called "none" or "host").
  static bool network_mode(const std::string& n) {
    return n == "none" || n == "host" || n == "bridge" || n == "default" || n == "private" || n == "slirp4netns" ||
           n == "pasta" || n.rfind("container:", 0) == 0 || n.rfind("ns:", 0) == 0;
  }

  // The image is there when the create needs it, as the pull policy says.
  void ensure_image(const std::string& image, berth_pull_policy pull, const http::Limits& limits) {
    if (pull != BERTH_PULL_ALWAYS) {
      try {
        api_.call("GET", "/images/" + http::url_encode(image) + "/json", limits);
        return;
      } catch (const Error& e) {
        if (e.code() != BERTH_E_NOT_FOUND) throw;
        if (pull == BERTH_PULL_NEVER)
          throw Error(BERTH_E_NOT_FOUND, "image " + image + " is not present and the pull policy is never");
      }
    }
    std::string progress;
    try {
      progress = api_.call("POST", "/images/create?fromImage=" + http::url_encode(image_with_tag(image)), limits);
    } catch (const Error& e) {
      if (e.code() == BERTH_E_NOT_FOUND || e.code() == BERTH_E_TIMEOUT || e.code() == BERTH_E_PERMISSION_DENIED)
        throw Error(e.code(), "pulling image " + image + ": " + e.what());
      throw Error(BERTH_E_UNAVAILABLE, "pulling image " + image + ": " + e.what());
    }
    if (auto why = pull_error(progress); !why.empty()) {
      const bool missing = why.find("not found") != why.npos || why.find("manifest unknown") != why.npos ||
                           why.find("does not exist") != why.npos || why.find("pull access denied") != why.npos;
      throw Error(missing ? BERTH_E_NOT_FOUND : BERTH_E_UNAVAILABLE, "pulling image " + image + ": " + why);
    }
  }

  // Engines before API 1.42 take no signal on /stop: send it with /kill,
  // wait for the exit up to the timeout, then SIGKILL, as dockerd would.
  void stop_with_signal(sdk::Call& call, const std::string& ref, const char* signal, int32_t timeout_s) {
    const auto limits = limits_of(call);
    api_.call("POST", path_id(ref) + "/kill?signal=" + http::url_encode(signal), limits);
    http::Limits wait = limits;
    wait.deadline = std::min(limits.deadline, http::Clock::now() + std::chrono::seconds(timeout_s < 0 ? 10 : timeout_s));
    try {
      api_.call("POST", path_id(ref) + "/wait?condition=not-running", wait);
    } catch (const Error& e) {
      if (e.code() != BERTH_E_TIMEOUT || http::Clock::now() >= limits.deadline) throw;
      api_.call("POST", path_id(ref) + "/kill", limits);
    }
  }

  Config config_;
  Api api_;
  // Container events, normalized; each exactly once, replayed after a break.
  EventStream events_{api_, config_, {"container"}, host(), [this](const rapidjson::Value& e) {
                        if (auto raw = event_from_json(e)) host().emit(raw->event);
                      }};
};

}  // namespace
}  // namespace berth::docker

BERTH_DEFINE_PROVIDER(berth::docker::Docker, "docker", "0.1.0",
                      "Docker Engine API (unix, tcp, tls), with event replay", 0)
