// The label parser (core/shared/labels/labels.*). Input: the first line is the
// container's details_json (read by facts_of), every further line one label
// "key=value". Labels reach the parser through the ABI copy, which repairs
// them to UTF-8; so does this harness. Checked besides "no crash": what
// labels::write makes of the result is valid JSON (it goes out in replies),
// and parse_duration_ms never exceeds its bound.
#include "labels/labels.hpp"
#include "plugin/abi_copy.hpp"

#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  berth::sdk::Container c;
  c.name = "fuzz";
  size_t nl = in.find('\n');
  c.details_json = std::string(in.substr(0, nl));
  berth::repair_utf8(c.details_json);
  while (nl != std::string_view::npos) {
    in.remove_prefix(nl + 1);
    nl = in.find('\n');
    std::string line(in.substr(0, nl));
    berth::repair_utf8(line);
    const size_t eq = line.find('=');
    if (eq == std::string::npos) c.labels.emplace_back(line, "");
    else c.labels.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    if (auto d = berth::labels::parse_duration_ms(c.labels.back().second))
      if (*d < 0 || *d > berth::labels::kMaxDurationMs) std::abort();
  }
  const auto facts = berth::labels::facts_of(c);
  const auto routing = berth::labels::parse(c.labels, facts);
  rapidjson::StringBuffer buf;
  berth::labels::Writer w(buf);
  berth::labels::write(w, routing);
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(buf.GetString(), buf.GetSize());
  if (d.HasParseError() || !d.IsObject()) std::abort();
  return 0;
}
