#include "plugin/abi_copy.hpp"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstring>

namespace berth {
namespace {

#define HAS(ptr, member) BERTH_HAS_FIELD(ptr, std::remove_cv_t<std::remove_pointer_t<decltype(ptr)>>, member)

void mark(RepairSet& seen, Repairs::Kind k) { seen |= RepairSet(1) << k; }

// Length of `s` as long as it is at most `max`; max + 1 means "longer".
size_t bounded_length(const char* s, size_t max) { return strnlen(s, max + 1); }

// Cuts valid UTF-8 `s` to at most `max` bytes without splitting a sequence
// (a sequence is at most 4 bytes: back up at most 3).
void cut(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t end = max;
  for (int i = 0; i < 3 && end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80; ++i) --end;
  s.resize(end);
}

// Removes a multi-byte sequence left incomplete at the end of `s` by
// reading a longer string only up to some length.
void drop_partial_tail(std::string& s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const unsigned c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) s.resize(s.size() - back);
    return;
  }
}

// A bounded, valid UTF-8 copy of an optional text field: repaired first (a
// bad byte becomes the 3 bytes of U+FFFD), then cut, so the limit holds for
// what is kept.
std::string text(const char* s, size_t max, RepairSet& seen) {
  if (s == nullptr) return {};
  const size_t n = strnlen(s, max + 4);  // enough to end on a whole character
  std::string out(s, n);
  const bool longer = n > max;
  if (n == max + 4) drop_partial_tail(out);  // the string goes on: not the writer's error
  if (repair_utf8(out)) mark(seen, Repairs::invalid_utf8);
  if (longer || out.size() > max) {
    cut(out, max);
    mark(seen, Repairs::truncated);
  }
  return out;
}

sdk::Labels labels(const berth_label* items, size_t count, RepairSet& seen) {
  sdk::Labels out;
  if (items == nullptr) return out;
  if (count > BERTH_MAX_LABELS) {
    count = BERTH_MAX_LABELS;
    mark(seen, Repairs::dropped_labels);
  }
  out.reserve(count);
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const char* k = items[i].key;
    const char* v = items[i].value ? items[i].value : "";
    if (k == nullptr) {
      mark(seen, Repairs::dropped_labels);
      continue;
    }
    // Repaired first, so the limits hold for what is kept.
    std::string key(k, bounded_length(k, BERTH_MAX_LABEL_KEY)), value(v, bounded_length(v, BERTH_MAX_LABEL_VALUE));
    if (repair_utf8(key) | repair_utf8(value)) mark(seen, Repairs::invalid_utf8);
    if (key.empty() || key.size() > BERTH_MAX_LABEL_KEY || value.size() > BERTH_MAX_LABEL_VALUE ||
        total + key.size() + value.size() > BERTH_MAX_LABEL_BYTES) {
      mark(seen, Repairs::dropped_labels);
      continue;
    }
    total += key.size() + value.size();
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

Result<std::string> id_of(const char* id, RepairSet& seen) {
  if (id == nullptr || *id == '\0') return Status(Code::invalid_argument, "no id");
  const size_t n = bounded_length(id, BERTH_MAX_ID);
  if (n > BERTH_MAX_ID) {
    mark(seen, Repairs::refused);
    return Status(Code::invalid_argument, "id longer than BERTH_MAX_ID (255 bytes)");
  }
  std::string out(id, n);
  if (!valid_utf8(out)) {
    mark(seen, Repairs::refused);
    return Status(Code::invalid_argument, "id is not UTF-8");
  }
  return out;
}

}  // namespace

std::string_view Repairs::name(Kind k) {
  switch (k) {
    case invalid_utf8: return "invalid_utf8";
    case truncated: return "truncated";
    case dropped_labels: return "dropped_labels";
    case dropped_details: return "dropped_details";
    case unknown_values: return "unknown_values";
    case refused: return "refused";
    case kKinds: break;
  }
  return "?";
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII runs, eight bytes at a time.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ull) break;
      p += 8;
    }
    if (p == end) break;
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
    else return false;
    if (static_cast<size_t>(end - p) <= n) return false;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += n + 1;
  }
  return true;
}

bool repair_utf8(std::string& s) {
  if (valid_utf8(s)) return false;
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    // The longest valid prefix from i, one sequence at a time.
    size_t len = 1;
    const unsigned c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (i + len <= s.size() && valid_utf8(std::string_view(s).substr(i, len))) {
      out.append(s, i, len);
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
    }
  }
  s.swap(out);
  return true;
}

Result<sdk::Container> container_from_abi(const berth_container* c, RepairSet& seen) {
  if (c == nullptr || !HAS(c, state))
    return Status(Code::internal, "plugin passed a container without id/name/state");
  auto id = id_of(c->id, seen);
  if (!id) return Status(Code::internal, "plugin passed a container with a bad id: " + id.error().message());
  sdk::Container out;
  out.id = std::move(*id);
  out.name = text(c->name, BERTH_MAX_TEXT, seen);
  out.image = text(c->image, BERTH_MAX_TEXT, seen);
  // Read as the integer it is: a value outside the enum must not be loaded
  // as one (undefined behaviour).
  int32_t state;
  std::memcpy(&state, &c->state, sizeof state);
  out.state = state >= BERTH_STATE_UNKNOWN && state <= BERTH_STATE_ERROR ? static_cast<berth_state>(state)
                                                                        : BERTH_STATE_UNKNOWN;
  if (out.state != state) mark(seen, Repairs::unknown_values);
  if (HAS(c, raw_state)) out.raw_state = text(c->raw_state, BERTH_MAX_TEXT, seen);
  if (HAS(c, finished_unix_ms)) {
    out.created_unix_ms = c->created_unix_ms;
    out.started_unix_ms = c->started_unix_ms;
    out.finished_unix_ms = c->finished_unix_ms;
  }
  if (HAS(c, exit_code) && c->has_exit_code) out.exit_code = c->exit_code;
  if (HAS(c, restart_count)) {
    out.oom_killed = c->oom_killed != 0;
    out.restart_count = c->restart_count;
  }
  if (HAS(c, health)) out.health = text(c->health, BERTH_MAX_TEXT, seen);
  if (HAS(c, label_count)) out.labels = labels(c->labels, c->label_count, seen);
  if (HAS(c, details_json) && c->details_json && *c->details_json) {
    // Checked once here, so writers can embed it raw later.
    const size_t n = bounded_length(c->details_json, BERTH_MAX_DETAILS);
    rapidjson::Document doc;
    // Iterative: a plugin's deeply nested details must not overflow the
    // stack of the thread that copies them.
    if (n > BERTH_MAX_DETAILS ||
        doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(c->details_json, n)
            .HasParseError() ||
        !doc.IsObject())
      mark(seen, Repairs::dropped_details);
    else
      out.details_json.assign(c->details_json, n);
  }
  return out;
}

Result<sdk::Event> event_from_abi(const berth_event* e, RepairSet& seen) {
  if (e == nullptr || !HAS(e, container_id))
    return Status(Code::invalid_argument, "event shorter than its required fields");
  if (e->raw_action == nullptr) return Status(Code::invalid_argument, "event without raw_action");
  auto id = id_of(e->container_id, seen);
  if (!id) return Status(Code::invalid_argument, "event with a bad container_id: " + id.error().message());
  sdk::Event out;
  int32_t type;
  std::memcpy(&type, &e->type, sizeof type);  // as an integer: see the state above
  // From a newer minor, or garbage: OTHER, and raw_action says what.
  out.type = type >= BERTH_EVENT_OTHER && type <= BERTH_EVENT_RENAMED ? static_cast<berth_event_type>(type)
                                                                      : BERTH_EVENT_OTHER;
  if (out.type != type) mark(seen, Repairs::unknown_values);
  out.raw_action = text(e->raw_action, BERTH_MAX_TEXT, seen);
  out.time_unix_ns = e->time_unix_ns;
  out.container_id = std::move(*id);
  if (HAS(e, container_name)) out.container_name = text(e->container_name, BERTH_MAX_TEXT, seen);
  if (HAS(e, image)) out.image = text(e->image, BERTH_MAX_TEXT, seen);
  if (HAS(e, exit_code) && e->has_exit_code) out.exit_code = e->exit_code;
  if (HAS(e, health)) out.health = text(e->health, BERTH_MAX_TEXT, seen);
  if (HAS(e, old_name)) out.old_name = text(e->old_name, BERTH_MAX_TEXT, seen);
  if (HAS(e, label_count)) out.labels = labels(e->labels, e->label_count, seen);
  return out;
}

#undef HAS

}  // namespace berth
