#include "go_duration.hpp"

#include <cmath>
#include <utility>

namespace berth::wake {
namespace {

constexpr uint64_t kHalf = uint64_t(1) << 63;

// time.quote: '"' and '\\' escaped; bytes of control or non-ASCII
// characters (and invalid bytes) as \xNN.
std::string quote(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80) {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // The bytes of one character (a valid UTF-8 sequence), or one bad byte.
    size_t width = 1;
    if (c >= 0xC2 && c <= 0xF4) {
      const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      bool ok = i + need <= s.size();
      for (size_t k = 1; ok && k < need; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (ok) width = need;
    }
    for (size_t k = 0; k < width; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
    }
    i += width;
  }
  return out + "\"";
}

std::string invalid(std::string_view orig) { return "time: invalid duration " + quote(orig); }

uint64_t unit_of(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return 60000000000ull;
  if (u == "h") return 3600000000000ull;
  return 0;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::variant<Nanoseconds, std::string> parse_go_duration(std::string_view orig) {
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Nanoseconds{0};
  if (s.empty()) return invalid(orig);
  uint64_t d = 0;
  while (!s.empty()) {
    if (!(s.front() == '.' || digit(s.front()))) return invalid(orig);
    // [0-9]*
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && digit(s[i]); ++i) {
      if (v > kHalf / 10) return invalid(orig);
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kHalf) return invalid(orig);
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // (\.[0-9]*)?
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      size_t j = 0;
      for (; j < s.size() && digit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (kHalf - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kHalf) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid(orig);
    // The unit: everything up to the next '.' or digit.
    size_t u = 0;
    while (u < s.size() && !(s[u] == '.' || digit(s[u]))) ++u;
    if (u == 0) return "time: missing unit in duration " + quote(orig);
    const std::string_view name = s.substr(0, u);
    s.remove_prefix(u);
    const uint64_t unit = unit_of(name);
    if (unit == 0) return "time: unknown unit " + quote(name) + " in duration " + quote(orig);
    if (v > kHalf / unit) return invalid(orig);
    v *= unit;
    if (f > 0) {
      // Go's float arithmetic, truncated toward zero.
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kHalf) return invalid(orig);
    }
    d += v;
    if (d > kHalf) return invalid(orig);
  }
  if (neg) return static_cast<Nanoseconds>(-d);  // -2^63 included
  if (d > kHalf - 1) return invalid(orig);
  return static_cast<Nanoseconds>(d);
}

namespace {

// Duration.format's helpers: digits written backwards from `w`.
size_t frac(char* buf, size_t w, uint64_t& v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) buf[--w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) buf[--w] = '.';
  return w;
}

size_t integer(char* buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  for (; v > 0; v /= 10) buf[--w] = static_cast<char>('0' + v % 10);
  return w;
}

}  // namespace

std::string go_duration_string(Nanoseconds d) {
  char buf[32];
  size_t w = sizeof buf;
  uint64_t u = static_cast<uint64_t>(d);
  const bool neg = d < 0;
  if (neg) u = -u;
  if (u < 1000000000) {
    int prec = 0;
    buf[--w] = 's';
    --w;
    if (u == 0) {
      buf[w] = '0';
      return std::string(buf + w, sizeof buf - w);
    } else if (u < 1000) {
      buf[w] = 'n';
    } else if (u < 1000000) {
      prec = 3;
      --w;
      buf[w] = '\xC2';  // U+00B5, the micro sign
      buf[w + 1] = '\xB5';
    } else {
      prec = 6;
      buf[w] = 'm';
    }
    w = frac(buf, w, u, prec);
    w = integer(buf, w, u);
  } else {
    buf[--w] = 's';
    w = frac(buf, w, u, 9);
    w = integer(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = integer(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = integer(buf, w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof buf - w);
}

std::string humanize_duration(Nanoseconds d) {
  // As Sablier computes it: from float hours/minutes/seconds, truncated.
  const double hours = static_cast<double>(d) / 3.6e12, minutes = static_cast<double>(d) / 6e10,
               seconds = static_cast<double>(d) / 1e9;
  const std::pair<int64_t, const char*> parts[] = {
      {static_cast<int64_t>(hours / 24), "day"},
      {static_cast<int64_t>(std::fmod(hours, 24)), "hour"},
      {static_cast<int64_t>(std::fmod(minutes, 60)), "minute"},
      {static_cast<int64_t>(std::fmod(seconds, 60)), "second"},
  };
  std::string out;
  for (auto [amount, unit] : parts) {
    if (amount == 0) continue;
    if (!out.empty()) out += ' ';
    out += std::to_string(amount) + ' ' + unit + (amount == 1 ? "" : "s");
  }
  return out;
}

}  // namespace berth::wake
