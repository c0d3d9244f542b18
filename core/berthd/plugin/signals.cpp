#include "plugin/signals.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <fmt/format.h>

namespace berth::signals {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 31> kNamed = {{
    {"HUP", 1},     {"INT", 2},     {"QUIT", 3},  {"ILL", 4},     {"TRAP", 5},   {"ABRT", 6},
    {"BUS", 7},     {"FPE", 8},     {"KILL", 9},  {"USR1", 10},   {"SEGV", 11},  {"USR2", 12},
    {"PIPE", 13},   {"ALRM", 14},   {"TERM", 15}, {"STKFLT", 16}, {"CHLD", 17},  {"CONT", 18},
    {"STOP", 19},   {"TSTP", 20},   {"TTIN", 21}, {"TTOU", 22},   {"URG", 23},   {"XCPU", 24},
    {"XFSZ", 25},   {"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28},  {"IO", 29},    {"PWR", 30},
    {"SYS", 31},
}};
constexpr int kRtMin = 34, kRtMax = 64;  // as glibc and Docker number them

// Decimal digits only: no sign, no space ("-0" is not a number of a signal).
std::optional<int> small_number(std::string_view s) {
  if (s.empty() || s.size() > 4 || s.front() < '0' || s.front() > '9') return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

std::string name_of(int n) {
  for (auto [name, num] : kNamed)
    if (num == n) return fmt::format("SIG{}", name);
  if (n == kRtMin) return "SIGRTMIN";
  if (n == kRtMax) return "SIGRTMAX";
  // Docker's spelling: the lower half counts up from RTMIN, the upper down from RTMAX.
  if (n > kRtMin && n <= kRtMin + 15) return fmt::format("SIGRTMIN+{}", n - kRtMin);
  if (n > kRtMin + 15 && n < kRtMax) return fmt::format("SIGRTMAX-{}", kRtMax - n);
  return {};
}

// Number of an upper-case name without "SIG"; 0 when unknown.
int parse_name(std::string_view s) {
  for (auto [name, num] : kNamed)
    if (s == name) return num;
  for (auto [base, sign, origin] : {std::tuple{std::string_view("RTMIN"), 1, kRtMin},
                                    std::tuple{std::string_view("RTMAX"), -1, kRtMax}}) {
    if (s.substr(0, base.size()) != base) continue;
    std::string_view rest = s.substr(base.size());
    if (rest.empty()) return origin;
    if (rest.front() != (sign > 0 ? '+' : '-')) return 0;
    auto k = small_number(rest.substr(1));
    if (!k || *k < 0) return 0;
    const int n = origin + sign * *k;
    return n >= kRtMin && n <= kRtMax ? n : 0;
  }
  return 0;
}

}  // namespace

Result<std::string> normalize(std::string_view given) {
  std::string s;
  for (char c : given) s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  int n = 0;
  if (auto num = small_number(s)) n = *num >= 1 && *num <= kRtMax ? *num : 0;
  else n = parse_name(std::string_view(s).substr(s.rfind("SIG", 0) == 0 ? 3 : 0));
  std::string name = n > 0 ? name_of(n) : std::string();
  if (name.empty())
    return Status(Code::invalid_argument,
                  fmt::format("unknown signal \"{}\" (use a name such as SIGTERM, or its number)",
                              given.substr(0, 64)));
  return name;
}

int number(std::string_view canonical) {
  if (canonical.substr(0, 3) != "SIG") return 0;
  return parse_name(canonical.substr(3));
}

}  // namespace berth::signals
