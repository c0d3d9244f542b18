#include "problem.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <map>

namespace berth::wake {

std::string go_html_escape(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '&') out += "\\u0026";
    else if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else out += c;
  }
  return out;
}

std::string problem_json(const Problem& p, std::string_view instance) {
  // Go marshals the problem as a map: keys sorted, empty ones left out.
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  std::map<std::string, rapidjson::Value> members;
  auto text = [&](const char* key, std::string_view v) {
    if (!v.empty()) members.emplace(key, rapidjson::Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), a));
  };
  text("detail", p.detail);
  text("instance", instance);
  text("title", p.title);
  text("type", p.type);
  members.emplace("status", rapidjson::Value(p.status));
  for (const auto& [key, raw] : p.extensions) {
    rapidjson::Document v(&a);
    v.Parse(raw.c_str(), raw.size());
    if (!v.HasParseError()) members.emplace(key, rapidjson::Value(v, a));
  }
  for (auto& [key, value] : members) d.AddMember(rapidjson::Value(key.c_str(), a), value, a);
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 4);
  d.Accept(w);
  return go_html_escape({buf.GetString(), buf.GetSize()});
}

}  // namespace berth::wake
