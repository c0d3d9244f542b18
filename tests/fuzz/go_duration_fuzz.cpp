// The Go duration parser of berth-wake (core/berth-wake/go_duration.*): Sablier's
// "session_duration" query values. Checked besides "no crash": a parsed
// duration printed by go_duration_string parses back to the same value (as
// in Go), and the error text is never empty.
#include "berth-wake/go_duration.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  auto r = berth::wake::parse_go_duration(s);
  if (auto* err = std::get_if<std::string>(&r)) {
    if (err->empty()) std::abort();
    return 0;
  }
  const auto d = std::get<berth::wake::Nanoseconds>(r);
  const std::string text = berth::wake::go_duration_string(d);
  auto back = berth::wake::parse_go_duration(text);
  if (!std::holds_alternative<berth::wake::Nanoseconds>(back) || std::get<berth::wake::Nanoseconds>(back) != d)
    std::abort();
  (void)berth::wake::humanize_duration(d);
  return 0;
}
