#include "pages.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace berth::wake {
namespace {

// A theme is its stylesheet and the words it uses; the page is the same.
struct Theme {
  const char* name;
  const char* css;
  const char* heading;  // {} = the display name
  const char* status_line;  // {name} {status} {current} {desired}
};

constexpr Theme kThemes[] = {
    {"berth",
     R"(body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:#f4f6f8;color:#1d2733;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{background:#fff;border-radius:14px;box-shadow:0 6px 30px rgba(20,40,60,.12);padding:2.2rem 2.6rem;max-width:32rem}
h1{font-size:1.35rem;margin:0 0 .4rem}p{margin:.3rem 0;color:#51606f}
.dots span{display:inline-block;width:.6rem;height:.6rem;margin-right:.35rem;border-radius:50%;background:#2f7de1;
animation:b 1.2s infinite ease-in-out}.dots span:nth-child(2){animation-delay:.2s}.dots span:nth-child(3){animation-delay:.4s}
@keyframes b{0%,80%,100%{opacity:.2}40%{opacity:1}}
ul{list-style:none;padding:0;margin:1.2rem 0 0}li{padding:.35rem 0;border-top:1px solid #e6eaee;display:flex;justify-content:space-between}
.ready{color:#1f8a4c}.error{color:#c0392b}small{color:#8795a3})",
     "Waking up {}", "<span>{name}</span><span class=\"{status}\">{status} ({current}/{desired})</span>"},
    {"ghost",
     R"(body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#2b2f36;
color:#e8e8e8;font:15px/1.6 Georgia,serif}main{max-width:30rem;text-align:center}
h1{font-weight:normal;letter-spacing:.04em;margin:0 0 1rem;opacity:.9;animation:g 2.4s infinite ease-in-out}
@keyframes g{0%,100%{opacity:.35}50%{opacity:.95}}p{opacity:.7;margin:.2rem 0}ul{list-style:none;padding:0;margin:1.4rem 0 0}
li{opacity:.8}.error{color:#ff9a8a}.dots{display:none}small{opacity:.5})",
     "{} is waking up", "<span>{name}</span> &mdash; <span class=\"{status}\">{status}</span>"},
    {"hacker-terminal",
     R"(body{margin:0;min-height:100vh;background:#0b0f0b;color:#3bff62;font:15px/1.5 "DejaVu Sans Mono",monospace;padding:2rem}
h1{font-size:1rem;font-weight:normal;margin:0}h1::before{content:"$ "}p{margin:.2rem 0}
ul{list-style:none;padding:0;margin:1rem 0}li::before{content:"> "}.error{color:#ff5555}
.dots span{animation:t 1s steps(1) infinite}.dots span:nth-child(2),.dots span:nth-child(3){display:none}
.dots span::after{content:"_"}@keyframes t{50%{opacity:0}}small{color:#1f8a35})",
     "berth-wake start {}", "berth-wake status {name}: <span class=\"{status}\">{status} ({current}/{desired})</span>"},
    // Sablier's other two theme names, so that a proxy configured with any
    // of Sablier's themes keeps working when pointed at berth-wake (the
    // looks are berth's own).
    {"matrix",
     R"(body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#000;
color:#00ff41;font:15px/1.6 "DejaVu Sans Mono",monospace;text-shadow:0 0 6px #00ff41}
main{max-width:34rem;padding:2rem;border:1px solid #0a3;box-shadow:0 0 24px #0a33 inset}
h1{font-size:1.1rem;letter-spacing:.12em;text-transform:uppercase;margin:0 0 .8rem}p{margin:.2rem 0;opacity:.8}
.dots span{display:inline-block;width:.5rem;height:1rem;margin-right:.2rem;background:#00ff41;animation:m 1.5s infinite}
.dots span:nth-child(2){animation-delay:.5s}.dots span:nth-child(3){animation-delay:1s}@keyframes m{0%,100%{opacity:.1}50%{opacity:1}}
ul{list-style:none;padding:0;margin:1rem 0}.error{color:#ff3b3b;text-shadow:none}small{opacity:.5})",
     "Wake up, {}", "<span>{name}</span> [<span class=\"{status}\">{status}</span> {current}/{desired}]"},
    {"shuffle",
     R"(body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:linear-gradient(135deg,#ffcf71,#2376ae);color:#13222f;font:16px/1.5 system-ui,-apple-system,sans-serif}
main{background:rgba(255,255,255,.85);border-radius:18px;padding:2rem 2.4rem;max-width:30rem;text-align:center}
h1{font-size:1.4rem;margin:0 0 .6rem}p{margin:.3rem 0}
.dots span{display:inline-block;width:.8rem;height:.8rem;margin:0 .25rem;border-radius:3px;background:#2376ae;
animation:s 1.2s infinite ease-in-out}.dots span:nth-child(2){background:#ef6f6c;animation-delay:.15s}
.dots span:nth-child(3){background:#ffcf71;animation-delay:.3s}@keyframes s{0%,100%{transform:rotate(0)}50%{transform:rotate(180deg) scale(.6)}}
ul{list-style:none;padding:0;margin:1rem 0 0}.ready{color:#1f8a4c}.error{color:#c0392b}small{opacity:.6})",
     "{} is on its way", "<span>{name}</span>: <span class=\"{status}\">{status}</span> ({current}/{desired})"},
};

const Theme* find_theme(const std::string& name) {
  for (const auto& t : kThemes)
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

const std::vector<std::string>& theme_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& t : kThemes) v.emplace_back(t.name);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return names;
}

std::optional<std::string> render_page(const std::string& theme, const PageData& d) {
  const Theme* t = find_theme(theme);
  if (t == nullptr) return std::nullopt;
  const std::string who = d.display_name.empty() ? std::string("your app") : html_escape(d.display_name);
  std::string items;
  for (const auto& i : d.instances) {
    std::string line = t->status_line;
    auto put = [&](std::string_view key, const std::string& value) {
      for (size_t at; (at = line.find(key)) != std::string::npos;) line.replace(at, key.size(), value);
    };
    put("{name}", html_escape(i.name));
    put("{status}", html_escape(i.status));
    put("{current}", std::to_string(i.current));
    put("{desired}", std::to_string(i.desired));
    items += "<li>" + line;
    if (!i.error.empty()) items += " <span class=\"error\">" + html_escape(i.error) + "</span>";
    items += "</li>\n";
  }
  const std::string session = d.session_duration.empty()
                                  ? std::string()
                                  : "<p>It will sleep again after " + html_escape(d.session_duration) +
                                        " without visits.</p>\n";
  return fmt::format(
      R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<title>{heading}</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>{heading}</h1>
<p class="dots"><span></span><span></span><span></span></p>
<p>This page reloads by itself every {refresh} s and shows the app as soon as it is ready.</p>
{session}{list}<small>berth-wake {version}</small>
</main>
</body>
</html>
)",
      fmt::arg("refresh", std::max<int64_t>(1, d.refresh_seconds)),
      fmt::arg("heading", fmt::format(fmt::runtime(t->heading), who)), fmt::arg("css", t->css),
      fmt::arg("session", session), fmt::arg("list", items.empty() ? std::string() : "<ul>\n" + items + "</ul>\n"),
      fmt::arg("version", html_escape(d.version)));
}

}  // namespace berth::wake
