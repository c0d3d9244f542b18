// Copying plugin-owned, borrowed ABI structs into owned C++ values, reading
// no field beyond the struct_size the plugin declared, and bounding what is
// copied (provider.h §7): a plugin's bad data is repaired or refused here,
// counted, and never published as it came.
#pragma once

#include "common/status.hpp"

#include <berth/provider.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace berth {

// What was repaired in one instance's data, by kind.
class Repairs {
 public:
  enum Kind { invalid_utf8, truncated, dropped_labels, dropped_details, unknown_values, refused, kKinds };
  static std::string_view name(Kind k);
  // Counts one; true if it is the first of its kind (worth a log line).
  bool note(Kind k) { return counts_[k].fetch_add(1, std::memory_order_relaxed) == 0; }
  uint64_t count(Kind k) const { return counts_[k].load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kKinds> counts_{};
};

// Each returns the copy, or an error for data that cannot be repaired (no
// id, an id over BERTH_MAX_ID or not UTF-8, required fields missing):
// internal for a container (the op that returned it fails: a plugin bug),
// invalid_argument for an event (what emit returns). `seen` collects the
// kinds repaired in this one item.
using RepairSet = uint32_t;  // bit (1 << Repairs::Kind)
Result<sdk::Container> container_from_abi(const berth_container* c, RepairSet& seen);
Result<sdk::Event> event_from_abi(const berth_event* e, RepairSet& seen);

// Replaces invalid UTF-8 sequences with U+FFFD; true if anything changed.
bool repair_utf8(std::string& s);
// True when `s` is valid UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace berth
