// The wire format (docs/protocol.md): names of codes, states and event
// types, topics, and the JSON of containers and events. One writer type is
// used everywhere so buffers can be reused on the hot path.
#pragma once

#include "common/status.hpp"

#include <berth/provider.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::wire {

inline constexpr int kSchemaVersion = protocol::kSchema;

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// The names are the protocol's tables (sdk/include/berth/protocol.hpp).
using protocol::event_type_name;
using protocol::state_name;

// "container/<provider>/<type>", "provider/<provider>/<up|down>",
// "daemon/heartbeat", "daemon/stopping".
void container_topic(std::string& out, std::string_view provider, berth_event_type type);
std::string provider_topic(std::string_view provider, bool up);
inline constexpr std::string_view kHeartbeatTopic = protocol::info(protocol::Kind::heartbeat).topic_prefix;
inline constexpr std::string_view kStoppingTopic = protocol::info(protocol::Kind::stopping).topic_prefix;

// Who sends: the daemon's name (config daemon_name) and this process's run,
// a new opaque id at every start (docs/protocol.md §3): a restarted berthd
// keeps its name and counts seq from 1 again, under a new run.
struct Identity {
  std::string name = "berthd";
  std::string run;
};
// 16 lowercase hex digits from the kernel's random source.
std::string new_run_id();
// "daemon_name":…,"run_id":… inside an open object.
void write_identity(Writer& w, const Identity& id);

void write_string(Writer& w, std::string_view s);
void write_labels(Writer& w, const sdk::Labels& labels);
// The container object: id, name, image, state, labels, details, routing...
void write_container(Writer& w, std::string_view provider, const sdk::Container& c);
void write_error(Writer& w, const Status& st);  // {"code":..., "message":...}

// Bodies of the PUB messages (docs/protocol.md §1). Each writes one whole
// JSON object.
struct EventRecord {
  const Identity& daemon;
  std::string_view provider;
  const sdk::Event& event;
  uint64_t seq;
  berth_state state_after;
  std::string_view origin;  // "engine", "resync", "poll"
};
// The publisher's hot path: writes the body into `out` (cleared first).
void write_event(std::string& out, const EventRecord& r);
void write_provider_message(Writer& w, const Identity& daemon, uint64_t seq, std::string_view provider,
                            std::string_view plugin, bool up, std::string_view reason);
struct HeartbeatRecord {
  const Identity& daemon;
  uint64_t seq;
  int64_t uptime_ms;
  uint64_t queue_depth, queue_capacity, emit_blocked_total;
};
void write_heartbeat(Writer& w, const HeartbeatRecord& r);
void write_stopping(Writer& w, const Identity& daemon, uint64_t seq);

// RFC 3339 UTC with nanoseconds.
void write_time(Writer& w, int64_t unix_ns);
// "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" into buf (kTimeChars bytes, no NUL); returns its length.
inline constexpr size_t kTimeChars = 30;
size_t format_time(char* buf, int64_t unix_ns);
int64_t now_unix_ns();

}  // namespace berth::wire
