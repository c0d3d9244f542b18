#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

namespace berth {
namespace {

// %j: the message as the inside of a JSON string. Messages carry untrusted
// text (labels, engine errors): quotes, control bytes and all.
class JsonEscaped final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
            dest.append(esc, esc + 6);
          } else {
            dest.push_back(ch);  // UTF-8 passes through; spdlog's payload is bytes
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscaped>(); }
};

}  // namespace

void setup_logging(std::string_view program, std::string_view level, std::string_view format) {
  spdlog::set_default_logger(spdlog::default_logger()->clone(std::string(program)));
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonEscaped>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","thread":%t,"msg":"%j"})");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace berth
