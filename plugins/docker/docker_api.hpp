// The Docker Engine API as docker.so needs it: version negotiation, calls
// with berth's deadlines, error mapping, and the JSON → sdk::Container
// mapping. No policy here: that lives in the core.
#pragma once

#include "berth_http.hpp"

#include <berth/provider.hpp>
#include <rapidjson/document.h>

#include <mutex>
#include <optional>
#include <string>

namespace berth::docker {

struct Config {
  std::string host;            // unix:///var/run/docker.sock, tcp://h:2376, ...
  http::TlsOptions tls;
  std::string api_version;     // force one ("1.41"); empty = negotiate
  int64_t reconnect_max_ms = 5000;
  int64_t connect_timeout_ms = 5000;
};

// Throws sdk::Error(BERTH_E_INVALID_ARGUMENT, "<key>: ...").
// Defaults: $DOCKER_HOST (with $DOCKER_TLS_VERIFY/$DOCKER_CERT_PATH), else
// unix:///var/run/docker.sock.
Config parse_config(const std::string& json);

// Newest API version this adapter was written against; older engines are
// spoken to in their own version.
inline constexpr const char* kNewestApi = "1.45";
inline constexpr const char* kOldestApi = "1.24";

class Api {
 public:
  explicit Api(const Config& config);

  // GET /version (unversioned) and pick min(engine, kNewestApi). Throws
  // sdk::Error (unavailable, ...) when the engine cannot be asked.
  std::string negotiate(const http::Limits& limits);
  // The prefix "/v1.41" (negotiating first if needed).
  std::string prefix(const http::Limits& limits);
  // Whether the negotiated version is at least `version`.
  bool at_least(const char* version);
  // Whether the engine is Podman (its /version names a "Podman Engine").
  bool podman();

  // One call; 2xx and 304 return the body, anything else throws sdk::Error
  // with Docker's own message.
  std::string call(const std::string& method, const std::string& path_and_query,
                   const http::Limits& limits, const std::string& body = {});

  const http::Endpoint& endpoint() const { return client_.endpoint(); }

 private:
  http::Client client_;
  std::mutex mutex_;
  std::string version_;  // negotiated, e.g. "1.41"
  std::string forced_;
  bool podman_ = false;
};

using http::limits_of;

// Mapping Docker's JSON to berth's container.
sdk::Container container_from_inspect(const std::string& json);
void containers_from_list(const std::string& json, const sdk::Sink& sink);
berth_state state_from_docker(std::string_view status);
// RFC 3339 with optional fraction and offset → unix ns; 0 for Docker's
// zero time "0001-01-01T00:00:00Z" or anything unparsable.
int64_t parse_time_ns(std::string_view s);

// The engine's rule for a container name, checked before a create pulls its
// image. Docker's (daemon/names) wants two characters at least, Podman's
// (libpod's NameRegex) one: the same classes otherwise.
bool valid_container_name(std::string_view name, bool podman);
const char* container_name_grammar(bool podman);
// The body of POST /containers/create for `spec` (HostConfig.Mounts for
// binds, so a missing source is the engine's error, never a new directory).
std::string create_body(const sdk::CreateSpec& spec);
// "busybox" → "busybox:latest"; a reference with a tag or digest unchanged:
// fromImage without a tag would pull every tag.
std::string image_with_tag(const std::string& image);
// The first error in a pull's JSON progress stream (Docker answers 200 and
// reports a failed pull inside it); empty when there is none.
std::string pull_error(std::string_view progress);

// One event from the /events stream, normalized; nullopt for noise (exec_*,
// non-container types, malformed lines).
struct RawEvent {
  sdk::Event event;
  int64_t time_nano = 0;  // Docker's timeNano, for since= and dedupe
};
std::optional<RawEvent> event_from_json(std::string_view line);
std::optional<RawEvent> event_from_json(const rapidjson::Value& event);
// An event's timeNano (or its time in seconds); 0 when it has neither.
int64_t event_time_ns(const rapidjson::Value& event);

}  // namespace berth::docker
