// The byte-level half of the HTTP client: the parsers Client::call and
// Stream::run read responses with, how a parsed response becomes a Response,
// and Stream::run's body loop, apart from any socket. The client drives
// them with its sockets and deadlines; tests/fuzz/http_response_fuzz.cpp
// drives the same code with bytes from memory. Internal to berth_httpclient
// (and its tests): plugins include http_client.hpp.
#pragma once

#include "http_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

namespace berth::http::detail {

namespace bhttp = boost::beast::http;
using boost::system::error_code;

// Client::call: the whole body in memory, at most this much.
inline constexpr uint64_t kCallBodyLimit = 64u << 20;
using CallParser = bhttp::response_parser<bhttp::string_body>;
inline void configure(CallParser& p) { p.body_limit(kCallBodyLimit); }

// Reads one whole response from a SyncReadStream, as Client::call does
// with its socket (asynchronously): the header first, then the body. Not
// one http::read: Boost 1.74's parser loses body_limit when it parses
// eagerly (as read does) and body bytes came with the header: it then
// reserves the whole Content-Length. read_header is not eager, so the limit
// is reported before any body is allocated.
template <class SyncReadStream, class Buffer>
void read_response(SyncReadStream& s, Buffer& buffer, CallParser& p, error_code& ec) {
  bhttp::read_header(s, buffer, p, ec);
  if (!ec) bhttp::read(s, buffer, p, ec);
}

// The status line and body of a complete response; returns whether the
// connection may be kept for another request.
inline bool take_response(CallParser& p, Response& r) {
  auto& res = p.get();
  r.status = res.result_int();
  r.reason = std::string(res.reason());
  r.body = std::move(res.body());
  return res.keep_alive();
}

// Stream::run: the body as it arrives (chunked encoding removed), unbounded.
// Not body_limit(boost::none): Boost 1.74 then refuses any Content-Length
// body ("body limit exceeded", boostorg/beast#2070); the largest limit is
// the same thing without that bug.
using StreamParser = bhttp::response_parser<bhttp::buffer_body>;
inline void configure(StreamParser& p) { p.body_limit(std::numeric_limits<std::uint64_t>::max()); }
inline constexpr size_t kStreamChunk = 16384;

// What a failed read means for the caller.
inline Failure classify(const error_code& ec) {
  namespace asio = boost::asio;
  if (ec.category() == asio::error::get_ssl_category() ||
      ec.category() == asio::ssl::error::get_stream_category())
    return Failure::tls;
  if (ec == asio::error::connection_refused || ec == asio::error::not_found ||
      ec == asio::error::host_not_found || ec == asio::error::host_unreachable ||
      ec == asio::error::network_unreachable || ec == boost::system::errc::no_such_file_or_directory ||
      ec == asio::error::connection_reset || ec == asio::error::eof ||
      ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream)
    return Failure::unreachable;
  return Failure::protocol;
}

// Stream::run's body loop, after the header: reads until the body ends or a
// read fails. `read_some(parser, ec)` reads once into the parser, blocking,
// and returns Failure::none, or the failure that ended the wait (stop()).
// A 2xx body goes to `on_data` as it arrives; any other is kept in r.body.
// `where` names the far side in r.error.
template <class ReadSome>
void read_stream_body(StreamParser& parser, Response& r, bool success, ReadSome&& read_some,
                      const std::function<void(std::string_view)>& on_data, const std::string& where) {
  char chunk[kStreamChunk];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    error_code result;
    r.failure = read_some(parser, result);
    const size_t n = sizeof chunk - parser.get().body().size;
    if (n > 0) {
      if (success) on_data(std::string_view(chunk, n));
      else r.body.append(chunk, n);
    }
    if (r.failure != Failure::none) {
      r.error = "event stream stopped";
      return;
    }
    if (result && result != bhttp::error::need_buffer) {
      r.failure = classify(result);
      r.error = "event stream on " + where + " broke: " + result.message();
      return;
    }
  }
}

}  // namespace berth::http::detail
