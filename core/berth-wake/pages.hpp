// The dynamic strategy's waiting page: what a browser sees while its app
// wakes up. It reloads itself every refresh period (a meta refresh, as
// Sablier's themes do: each reload asks again through the proxy).
#pragma once

#include "instances.hpp"

#include <optional>
#include <string>
#include <vector>

namespace berth::wake {

struct PageInstance {
  std::string name, status, error;
  int current = 0, desired = 1;
};

struct PageData {
  std::string display_name;
  std::vector<PageInstance> instances;  // empty when show_details is off
  std::string session_duration;         // humanized
  int64_t refresh_seconds = 5;          // at least 1: a 0 would reload without pause
  std::string version;
};

// The themes, sorted by name.
const std::vector<std::string>& theme_names();
// The page in `theme`, or nullopt for a theme that does not exist.
std::optional<std::string> render_page(const std::string& theme, const PageData& data);

std::string html_escape(std::string_view s);

}  // namespace berth::wake
