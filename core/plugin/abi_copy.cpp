#include "plugin/abi_copy.hpp"

#include <rapidjson/document.h>

#include <cstddef>

namespace berth {
namespace {

// True when `member` lies wholly inside the first `size` bytes.
#define BERTH_HAS(ptr, member) \
  ((ptr)->struct_size >= offsetof(std::remove_pointer_t<decltype(ptr)>, member) + sizeof((ptr)->member))

std::string str(const char* s) { return s ? s : ""; }

sdk::Labels labels(const berth_label* items, size_t count) {
  sdk::Labels out;
  if (items == nullptr) return out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i)
    if (items[i].key) out.emplace_back(items[i].key, str(items[i].value));
  return out;
}

}  // namespace

Result<sdk::Container> container_from_abi(const berth_container* c) {
  if (c == nullptr || !BERTH_HAS(c, state))
    return Status(Code::internal, "plugin passed a container without id/name/state");
  if (c->id == nullptr || *c->id == '\0')
    return Status(Code::internal, "plugin passed a container without an id");
  sdk::Container out;
  out.id = c->id;
  out.name = str(c->name);
  out.image = str(c->image);
  out.state = c->state;
  if (out.state < BERTH_STATE_UNKNOWN || out.state > BERTH_STATE_ERROR)
    out.state = BERTH_STATE_UNKNOWN;
  if (BERTH_HAS(c, raw_state)) out.raw_state = str(c->raw_state);
  if (BERTH_HAS(c, finished_unix_ms)) {
    out.created_unix_ms = c->created_unix_ms;
    out.started_unix_ms = c->started_unix_ms;
    out.finished_unix_ms = c->finished_unix_ms;
  }
  if (BERTH_HAS(c, exit_code) && c->has_exit_code) out.exit_code = c->exit_code;
  if (BERTH_HAS(c, restart_count)) {
    out.oom_killed = c->oom_killed != 0;
    out.restart_count = c->restart_count;
  }
  if (BERTH_HAS(c, health)) out.health = str(c->health);
  if (BERTH_HAS(c, label_count)) out.labels = labels(c->labels, c->label_count);
  if (BERTH_HAS(c, details_json) && c->details_json && *c->details_json) {
    // Checked once here, so writers can embed it raw later.
    rapidjson::Document doc;
    if (doc.Parse(c->details_json).HasParseError() || !doc.IsObject())
      return Status(Code::internal, "plugin passed details_json that is not a JSON object");
    out.details_json = c->details_json;
  }
  return out;
}

Result<sdk::Event> event_from_abi(const berth_event* e) {
  if (e == nullptr || !BERTH_HAS(e, container_id))
    return Status(Code::invalid_argument, "event shorter than its required fields");
  if (e->raw_action == nullptr || e->container_id == nullptr || *e->container_id == '\0')
    return Status(Code::invalid_argument, "event without raw_action or container_id");
  sdk::Event out;
  out.type = (e->type >= BERTH_EVENT_OTHER && e->type <= BERTH_EVENT_RENAMED) ? e->type
                                                                             : BERTH_EVENT_OTHER;
  out.raw_action = e->raw_action;
  out.time_unix_ns = e->time_unix_ns;
  out.container_id = e->container_id;
  if (BERTH_HAS(e, container_name)) out.container_name = str(e->container_name);
  if (BERTH_HAS(e, image)) out.image = str(e->image);
  if (BERTH_HAS(e, exit_code) && e->has_exit_code) out.exit_code = e->exit_code;
  if (BERTH_HAS(e, health)) out.health = str(e->health);
  if (BERTH_HAS(e, old_name)) out.old_name = str(e->old_name);
  if (BERTH_HAS(e, label_count)) out.labels = labels(e->labels, e->label_count);
  return out;
}

#undef BERTH_HAS

}  // namespace berth
