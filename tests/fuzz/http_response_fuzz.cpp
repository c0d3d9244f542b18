// The HTTP client's response handling (plugins/httpclient/http_parse.hpp):
// the parsers Client::call and Stream::run configure, the Response made of a
// complete message, and Stream::run's chunked body loop, fed from a
// socket-like source in memory that hands out the bytes in reads of a size
// the input picks (so every split of a chunk header, CRLF or header line
// across reads is tried). Byte 0: '0' Client::call (one whole response),
// '1' Stream::run (header, then the body as it arrives). Byte 1: the largest
// read, 1..255 bytes (0: everything at once). The rest: the server's bytes.
#include "http_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using berth::http::Failure;
using berth::http::Response;

// A SyncReadStream over memory: at most `step` bytes per read, then eof.
class MemoryStream {
 public:
  MemoryStream(const char* data, size_t size, size_t step) : data_(data), left_(size), step_(step) {}

  template <class Buffers>
  size_t read_some(const Buffers& buffers, error_code& ec) {
    ec = {};
    if (left_ == 0) {
      ec = asio::error::eof;
      return 0;
    }
    const size_t n = asio::buffer_copy(buffers, asio::buffer(data_, std::min(left_, step_)));
    data_ += n;
    left_ -= n;
    return n;
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  const char* data_;
  size_t left_;
  size_t step_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool stream_mode = data[0] % 2 == 1;
  const size_t step = data[1] == 0 ? size : data[1];
  MemoryStream mem(reinterpret_cast<const char*>(data) + 2, size - 2, step);
  boost::beast::flat_buffer buffer;
  Response r;
  error_code ec;
  if (!stream_mode) {
    berth::http::detail::CallParser parser;
    berth::http::detail::configure(parser);
    berth::http::detail::read_response(mem, buffer, parser, ec);
    if (!ec) {
      (void)berth::http::detail::take_response(parser, r);
      if (r.status > 999) std::abort();  // Beast takes any three digits, "004" too
    } else {
      (void)berth::http::detail::classify(ec);
    }
    return 0;
  }
  berth::http::detail::StreamParser parser;
  berth::http::detail::configure(parser);
  bhttp::read_header(mem, buffer, parser, ec);
  if (ec) return 0;
  r.status = parser.get().result_int();
  r.reason = std::string(parser.get().reason());
  const bool success = r.status / 100 == 2;
  size_t delivered = 0;
  berth::http::detail::read_stream_body(
      parser, r, success,
      [&](berth::http::detail::StreamParser& p, error_code& e) {
        bhttp::read_some(mem, buffer, p, e);
        return Failure::none;
      },
      [&](std::string_view bytes) {
        if (bytes.empty() || bytes.size() > berth::http::detail::kStreamChunk) std::abort();
        delivered += bytes.size();
      },
      "fuzz");
  // Body bytes never outnumber the input's.
  if (delivered + r.body.size() > size) std::abort();
  return 0;
}
