// The host's copy of plugin-supplied data (core/berthd/plugin/abi_copy.*): a
// berth_container or berth_event built from fuzz bytes, as a plugin could
// hand it over: strings of any bytes (some longer than the limits), labels
// with NULL keys or values, label counts beyond BERTH_MAX_LABELS, enum values
// out of range, and any struct_size. Every struct and string lives in a heap
// block of exactly its declared size, so AddressSanitizer reports any read
// past struct_size or past a string's NUL. Checked besides: what the copy
// keeps holds provider.h §7's limits and is valid UTF-8.
#include "plugin/abi_copy.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Arena {
  std::vector<std::unique_ptr<char[]>> blocks;
  char* alloc(size_t n) {
    blocks.emplace_back(new char[n]);
    return blocks.back().get();
  }
};

// NULL, a short string of any bytes, or a long one (a byte pattern repeated
// past the ABI's limits).
const char* string_of(FuzzedDataProvider& in, Arena& arena) {
  const uint8_t kind = in.ConsumeIntegralInRange<uint8_t>(0, 7);
  if (kind == 0) return nullptr;
  std::string s;
  if (kind == 7) {
    const std::string unit = in.ConsumeRandomLengthString(8);
    const size_t n = in.ConsumeIntegralInRange<size_t>(0, 70000);
    while (!unit.empty() && s.size() < n) s += unit;
  } else {
    s = in.ConsumeRandomLengthString(64);
  }
  char* p = arena.alloc(s.size() + 1);
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

const berth_label* labels_of(FuzzedDataProvider& in, Arena& arena, size_t& count) {
  if (!in.ConsumeBool()) {
    count = in.ConsumeIntegral<size_t>();  // any count with NULL labels
    return nullptr;
  }
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, BERTH_MAX_LABELS + 4);
  auto* items = reinterpret_cast<berth_label*>(arena.alloc(sizeof(berth_label) * (n ? n : 1)));
  for (size_t i = 0; i < n; ++i) items[i] = {string_of(in, arena), string_of(in, arena)};
  // A count beyond the limit (the host reads only BERTH_MAX_LABELS of it).
  count = n == BERTH_MAX_LABELS && in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(n, SIZE_MAX) : n;
  return items;
}

uint32_t size_of(FuzzedDataProvider& in, uint32_t full) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return full;
    case 1: return in.ConsumeIntegralInRange<uint32_t>(0, full);
    case 2: return in.ConsumeIntegralInRange<uint32_t>(full, full + 64);  // a newer minor
    default: return in.ConsumeIntegral<uint32_t>() % (full + 1);
  }
}

// The struct in a block of exactly struct_size bytes (at least the field
// itself, so the host can read struct_size), as a plugin of another minor
// would pass it.
template <class T>
const T* place(const T& full, uint32_t declared, Arena& arena) {
  const size_t block = std::max<size_t>(declared, sizeof(uint32_t));
  char* p = arena.alloc(block);
  std::memset(p, 0xA5, block);
  std::memcpy(p, &full, std::min<size_t>(block, sizeof full));
  std::memcpy(p, &declared, sizeof declared);
  return reinterpret_cast<const T*>(p);
}

bool text_ok(const std::string& s, size_t max) { return s.size() <= max && berth::valid_utf8(s); }

void check_labels(const berth::sdk::Labels& labels) {
  if (labels.size() > BERTH_MAX_LABELS) std::abort();
  size_t total = 0;
  for (const auto& [k, v] : labels) {
    if (k.empty() || !text_ok(k, BERTH_MAX_LABEL_KEY) || !text_ok(v, BERTH_MAX_LABEL_VALUE)) std::abort();
    total += k.size() + v.size();
  }
  if (total > BERTH_MAX_LABEL_BYTES) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Arena arena;
  berth::RepairSet seen = 0;
  if (in.ConsumeBool()) {
    berth_container c{};
    c.id = string_of(in, arena);
    c.name = string_of(in, arena);
    c.image = string_of(in, arena);
    const int32_t state = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange<int32_t>(0, 4);
    std::memcpy(&c.state, &state, sizeof state);
    c.raw_state = string_of(in, arena);
    c.created_unix_ms = in.ConsumeIntegral<int64_t>();
    c.started_unix_ms = in.ConsumeIntegral<int64_t>();
    c.finished_unix_ms = in.ConsumeIntegral<int64_t>();
    c.has_exit_code = in.ConsumeIntegral<int32_t>();
    c.exit_code = in.ConsumeIntegral<int32_t>();
    c.oom_killed = in.ConsumeIntegral<int32_t>();
    c.restart_count = in.ConsumeIntegral<int32_t>();
    c.health = string_of(in, arena);
    c.labels = labels_of(in, arena, c.label_count);
    c.details_json = string_of(in, arena);
    if (in.ConsumeBool() && in.remaining_bytes() > 0) {  // details from the rest, as JSON
      const std::string rest = in.ConsumeRemainingBytesAsString();
      char* p = arena.alloc(rest.size() + 1);
      std::memcpy(p, rest.c_str(), rest.size() + 1);
      c.details_json = p;
    }
    const auto* placed = place(c, size_of(in, sizeof c), arena);
    auto out = berth::container_from_abi(in.ConsumeBool() ? placed : nullptr, seen);
    if (out) {
      if (out->id.empty() || !text_ok(out->id, BERTH_MAX_ID)) std::abort();
      for (const auto* s : {&out->name, &out->image, &out->raw_state, &out->health})
        if (!text_ok(*s, BERTH_MAX_TEXT)) std::abort();
      if (out->state < BERTH_STATE_UNKNOWN || out->state > BERTH_STATE_ERROR) std::abort();
      check_labels(out->labels);
      if (!out->details_json.empty()) {
        rapidjson::Document d;
        d.Parse<rapidjson::kParseValidateEncodingFlag>(out->details_json.c_str(), out->details_json.size());
        if (out->details_json.size() > BERTH_MAX_DETAILS || d.HasParseError() || !d.IsObject()) std::abort();
      }
    }
  } else {
    berth_event e{};
    const int32_t type = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange<int32_t>(0, 9);
    std::memcpy(&e.type, &type, sizeof type);
    e.raw_action = string_of(in, arena);
    e.time_unix_ns = in.ConsumeIntegral<int64_t>();
    e.container_id = string_of(in, arena);
    e.container_name = string_of(in, arena);
    e.image = string_of(in, arena);
    e.has_exit_code = in.ConsumeIntegral<int32_t>();
    e.exit_code = in.ConsumeIntegral<int32_t>();
    e.health = string_of(in, arena);
    e.old_name = string_of(in, arena);
    e.labels = labels_of(in, arena, e.label_count);
    const auto* placed = place(e, size_of(in, sizeof e), arena);
    auto out = berth::event_from_abi(in.ConsumeBool() ? placed : nullptr, seen);
    if (out) {
      if (out->container_id.empty() || !text_ok(out->container_id, BERTH_MAX_ID)) std::abort();
      for (const auto* s : {&out->raw_action, &out->container_name, &out->image, &out->health, &out->old_name})
        if (!text_ok(*s, BERTH_MAX_TEXT)) std::abort();
      if (out->type < BERTH_EVENT_OTHER || out->type > BERTH_EVENT_RENAMED) std::abort();
      check_labels(out->labels);
    }
  }
  if (seen >> berth::Repairs::kKinds) std::abort();  // only known repair kinds
  return 0;
}
