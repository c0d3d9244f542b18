// The HTTP client's response handling apart from sockets
// (plugins/httpclient/http_parse.hpp): Stream::run's parser and body loop
// fed from memory, in reads split anywhere.
#include "http_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace detail = berth::http::detail;
using boost::system::error_code;

// A SyncReadStream over a string: at most `step` bytes per read, then eof.
class MemoryStream {
 public:
  MemoryStream(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  template <class Buffers>
  size_t read_some(const Buffers& buffers, error_code& ec) {
    ec = {};
    if (at_ == data_.size()) {
      ec = asio::error::eof;
      return 0;
    }
    const size_t n = asio::buffer_copy(buffers, asio::buffer(data_.data() + at_, std::min(step_, data_.size() - at_)));
    at_ += n;
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
  std::string data_;
  size_t step_, at_ = 0;
};

struct Streamed {
  error_code header_error;
  berth::http::Response r;
  std::string data;  // what on_data got
};

Streamed stream(const std::string& bytes, size_t step) {
  MemoryStream s(bytes, step);
  boost::beast::flat_buffer buffer;
  detail::StreamParser parser;
  detail::configure(parser);
  Streamed out;
  bhttp::read_header(s, buffer, parser, out.header_error);
  if (out.header_error) return out;
  out.r.status = parser.get().result_int();
  detail::read_stream_body(
      parser, out.r, out.r.status / 100 == 2,
      [&](detail::StreamParser& p, error_code& ec) {
        bhttp::read_some(s, buffer, p, ec);
        return berth::http::Failure::none;
      },
      [&](std::string_view d) { out.data.append(d); }, "test");
  return out;
}

TEST(HttpParse, AStreamedErrorAnswerWithContentLengthKeepsItsStatusAndBody) {
  // Beast 1.74 compares the content length with an empty body_limit as if
  // the limit were below any length (boostorg/beast#2070), so an unlimited
  // parser failed every Content-Length body with "body limit exceeded":
  // a refused GET /events lost dockerd's status and message.
  for (size_t step : {1, 7, 4096}) {
    auto s = stream("HTTP/1.1 400 Bad Request\r\nContent-Length: 27\r\n\r\n{\"message\":\"bad filters\"}\r\n", step);
    ASSERT_FALSE(s.header_error) << s.header_error.message() << " (reads of " << step << ")";
    EXPECT_EQ(s.r.status, 400u);
    EXPECT_TRUE(s.r.ok()) << s.r.error;
    EXPECT_EQ(s.r.body, "{\"message\":\"bad filters\"}\r\n");
    EXPECT_EQ(s.data, "");
  }
}

TEST(HttpParse, AChunkedStreamArrivesWholeHoweverItsReadsSplit) {
  const std::string bytes =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "8\r\n{\"n\":1}\n\r\n"
      "8;ext=1\r\n{\"n\":2}\n\r\n"
      "0\r\n\r\n";
  for (size_t step = 1; step <= bytes.size(); ++step) {
    auto s = stream(bytes, step);
    ASSERT_FALSE(s.header_error) << step;
    EXPECT_TRUE(s.r.ok()) << s.r.error << " (reads of " << step << ")";
    EXPECT_EQ(s.data, "{\"n\":1}\n{\"n\":2}\n") << step;
  }
}

TEST(HttpParse, AContentLengthPastTheCallLimitIsRefusedBeforeAnyAllocation) {
  // Boost 1.74's parser sets its body state before it reports body_limit,
  // and an eager read (what http::read / async_read do) goes on parsing
  // when body bytes came with the header: the string body then reserved
  // the whole Content-Length (here 3 EB: std::bad_alloc, which escapes
  // docker.so's watcher thread; 1 GB would simply be allocated).
  for (const char* length : {"3287003324691717234", "1073741824", "67108865"}) {
    MemoryStream s(std::string("HTTP/1.1 200 OK\r\nContent-Length: ") + length + "\r\n\r\n{\"a\":1}", 4096);
    boost::beast::flat_buffer buffer;
    detail::CallParser parser;
    detail::configure(parser);
    error_code ec;
    try {
      detail::read_response(s, buffer, parser, ec);
    } catch (const std::exception& e) {
      FAIL() << length << ": " << e.what();
    }
    EXPECT_EQ(ec, bhttp::error::body_limit) << length << ": " << ec.message();
    EXPECT_LT(parser.get().body().capacity(), size_t{1} << 20) << length;
  }
  MemoryStream ok("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 3);
  boost::beast::flat_buffer buffer;
  detail::CallParser parser;
  detail::configure(parser);
  error_code ec;
  detail::read_response(ok, buffer, parser, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(parser.get().body(), "{\"a\":1}");
}

}  // namespace
