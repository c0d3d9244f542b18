// How deep the objects and arrays of a JSON text nest, found by one linear
// scan (strings, and with `comments` also // and /* */ comments, skipped).
// Recursive readers and writers are only safe on text whose depth was
// bounded first.
#pragma once

#include <algorithm>
#include <string_view>

namespace berth {

inline int json_nesting_depth(std::string_view json, bool comments = false) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (comments && c == '/' && i + 1 < json.size() && (json[i + 1] == '/' || json[i + 1] == '*')) {
      const bool line = json[i + 1] == '/';
      const size_t end = json.find(line ? "\n" : "*/", i + 2);
      i = end == std::string_view::npos ? json.size() : end + (line ? 0 : 1);
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace berth
