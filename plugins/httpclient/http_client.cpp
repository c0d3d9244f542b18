#include "http_client.hpp"

#include "http_parse.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <variant>

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol::socket;
using tls_stream = ssl::stream<tcp::socket>;
using boost::system::error_code;
using detail::classify;

namespace {

std::string normalize_fingerprint(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isxdigit(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string leaf_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert, EVP_sha256(), md, &n)) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Runs `ioc` until `done` or the limits end the call; on the latter, `abort`
// closes the socket so pending handlers finish, and the failure is returned.
// Cancellation arrives as the cancel fd turning readable, waited for by the
// same loop as the socket: nothing polls a flag.
Failure run_until(asio::io_context& ioc, const bool& done, const Limits& limits,
                  const std::function<void()>& abort) {
  bool cancelled = false;
  std::optional<asio::posix::stream_descriptor> cancel;
  if (limits.cancel.fd >= 0) {
    cancel.emplace(ioc, limits.cancel.fd);
    cancel->async_wait(asio::posix::stream_descriptor::wait_read, [&](error_code ec) {
      if (!ec) cancelled = true;
    });
  }
  Failure why = Failure::none;
  while (!done) {
    // A cancel fd fired by the deadline itself is a timeout.
    if (Clock::now() >= limits.deadline) why = Failure::timeout;
    else if (cancelled) why = Failure::cancelled;
    if (why != Failure::none) {
      abort();
      break;
    }
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_until(limits.deadline);
  }
  if (cancel) {
    error_code ignored;
    cancel->cancel(ignored);
  }
  // Let the aborted or cancelled handlers run before their state goes away.
  ioc.restart();
  ioc.run();
  if (cancel) cancel->release();  // the descriptor is the caller's
  return why;
}

}  // namespace

// ------------------------------------------------------------ endpoint

std::optional<Endpoint> Endpoint::parse(const std::string& url, const TlsOptions& tls,
                                        std::string& error) {
  Endpoint e;
  e.tls = tls;
  auto split_host = [&](std::string_view rest, std::string_view default_port) {
    auto slash = rest.find('/');
    if (slash != rest.npos) rest = rest.substr(0, slash);
    auto colon = rest.rfind(':');
    if (colon == rest.npos || (rest.find(']') != rest.npos && colon < rest.find(']'))) {
      e.host = std::string(rest);
      e.port = std::string(default_port);
    } else {
      e.host = std::string(rest.substr(0, colon));
      e.port = std::string(rest.substr(colon + 1));
    }
    if (!e.host.empty() && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
    return !e.host.empty() && !e.port.empty();
  };
  const bool has_tls = !tls.ca_file.empty() || !tls.cert_file.empty() || !tls.pin_sha256.empty() ||
                       tls.insecure;
  if (url.rfind("unix://", 0) == 0) {
    e.kind = Kind::unix_socket;
    e.path = url.substr(7);
    if (e.path.empty() || e.path.front() != '/') {
      error = "unix socket URL needs an absolute path: " + url;
      return std::nullopt;
    }
    return e;
  }
  std::string_view rest;
  if (url.rfind("tcp://", 0) == 0) {
    e.kind = has_tls ? Kind::tls : Kind::tcp;
    rest = std::string_view(url).substr(6);
  } else if (url.rfind("http://", 0) == 0) {
    e.kind = Kind::tcp;
    rest = std::string_view(url).substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    e.kind = Kind::tls;
    rest = std::string_view(url).substr(8);
  } else {
    error = "unsupported URL (want unix://, tcp://, http:// or https://): " + url;
    return std::nullopt;
  }
  if (!split_host(rest, e.kind == Kind::tls ? "443" : "80")) {
    error = "URL lacks a host: " + url;
    return std::nullopt;
  }
  return e;
}

std::string Endpoint::describe() const {
  switch (kind) {
    case Kind::unix_socket: return "unix://" + path;
    case Kind::tcp: return "tcp://" + host + ":" + port;
    case Kind::tls: return "https://" + host + ":" + port;
  }
  return {};
}

bool sleep_within(const Limits& limits, std::chrono::milliseconds d) {
  const auto until = std::min(limits.deadline, Clock::now() + d);
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{limits.cancel.fd, POLLIN, 0};
    const int n = limits.cancel.fd >= 0 ? ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)))
                                        : ::poll(nullptr, 0, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n > 0) return false;  // cancelled
    if (n < 0 && errno != EINTR) break;
  }
  return Clock::now() < limits.deadline;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// ------------------------------------------------------------ connection

namespace {

std::shared_ptr<ssl::context> make_tls_context(const TlsOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  error_code ec;
  // The system's CAs through their hashed directory, looked up when a
  // handshake needs one, not the whole bundle parsed up front (~4 MiB held
  // for the life of the daemon). A pinned or unverified endpoint needs none.
  if (!o.ca_file.empty()) ctx->load_verify_file(o.ca_file, ec);
  else if (o.pin_sha256.empty() && !o.insecure) ctx->add_verify_path(X509_get_default_cert_dir(), ec);
  if (!o.cert_file.empty()) ctx->use_certificate_chain_file(o.cert_file, ec);
  if (!o.key_file.empty()) ctx->use_private_key_file(o.key_file, ssl::context::pem, ec);
  return ctx;
}

}  // namespace

struct Client::Connection {
  asio::io_context ioc;
  std::variant<std::monostate, unix_socket, tcp::socket, tls_stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;

  template <class F>
  void with_stream(F&& f) {
    std::visit([&](auto& s) {
      if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) f(s);
    }, stream);
  }
  void close() {
    error_code ignored;
    if (auto* u = std::get_if<unix_socket>(&stream)) u->close(ignored);
    if (auto* t = std::get_if<tcp::socket>(&stream)) t->close(ignored);
    if (auto* s = std::get_if<tls_stream>(&stream)) s->next_layer().close(ignored);
  }

  // Connects and (for TLS) handshakes within `limits`.
  Response connect(const Endpoint& ep, ssl::context* tls_ctx, const Limits& limits) {
    Response r;
    bool done = false;
    error_code result;
    auto finish = [&](error_code ec) { result = ec; done = true; };
    std::optional<tcp::resolver> resolver;
    switch (ep.kind) {
      case Endpoint::Kind::unix_socket: {
        auto& s = stream.emplace<unix_socket>(ioc);
        s.async_connect(asio::local::stream_protocol::endpoint(ep.path), finish);
        break;
      }
      case Endpoint::Kind::tcp:
      case Endpoint::Kind::tls: {
        tcp::socket* sock;
        if (ep.kind == Endpoint::Kind::tcp) {
          sock = &stream.emplace<tcp::socket>(ioc);
        } else {
          auto& s = stream.emplace<tls_stream>(ioc, *tls_ctx);
          sock = &s.next_layer();
          SSL_set_tlsext_host_name(s.native_handle(), ep.host.c_str());
          const auto pin = normalize_fingerprint(ep.tls.pin_sha256);
          if (ep.tls.insecure) {
            s.set_verify_mode(ssl::verify_none);
          } else if (!pin.empty()) {
            // Self-signed clusters: trust exactly the pinned leaf, nothing else.
            s.set_verify_mode(ssl::verify_peer);
            s.set_verify_callback([pin](bool, ssl::verify_context& vc) {
              X509_STORE_CTX* store = vc.native_handle();
              if (X509_STORE_CTX_get_error_depth(store) > 0) return true;
              return leaf_fingerprint(X509_STORE_CTX_get_current_cert(store)) == pin;
            });
          } else {
            s.set_verify_mode(ssl::verify_peer);
            s.set_verify_callback(ssl::host_name_verification(ep.host));
          }
        }
        resolver.emplace(ioc);
        resolver->async_resolve(ep.host, ep.port, [&, sock](error_code ec, tcp::resolver::results_type rs) {
          if (ec) return finish(ec);
          asio::async_connect(*sock, rs, [&](error_code ec2, const tcp::endpoint&) {
            if (ec2 || ep.kind == Endpoint::Kind::tcp) return finish(ec2);
            std::get<tls_stream>(stream).async_handshake(ssl::stream_base::client, finish);
          });
        });
        break;
      }
    }
    r.failure = run_until(ioc, done, limits, [&] {
      if (resolver) resolver->cancel();
      close();
    });
    if (r.failure == Failure::none && result) {
      r.failure = classify(result);
      r.error = "cannot connect to " + ep.describe() + ": " + result.message();
    } else if (r.failure != Failure::none) {
      r.error = "connecting to " + ep.describe() + " " +
                (r.failure == Failure::timeout ? "timed out" : "was cancelled");
    }
    return r;
  }
};

Client::Client(Endpoint endpoint) : endpoint_(std::move(endpoint)) {
  if (endpoint_.kind == Endpoint::Kind::tls) tls_context_ = make_tls_context(endpoint_.tls);
}
Client::~Client() = default;

std::unique_ptr<Client::Connection> Client::take() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return nullptr;
  auto c = std::move(idle_.back());
  idle_.pop_back();
  c->reused = true;
  return c;
}

void Client::give_back(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < 8) idle_.push_back(std::move(c));
}

Response Client::call(const Request& request, const Limits& limits) {
  for (int attempt = 0;; ++attempt) {
    auto conn = take();
    if (!conn) {
      conn = std::make_unique<Connection>();
      Response r = conn->connect(endpoint_, static_cast<ssl::context*>(tls_context_.get()), limits);
      if (!r.ok()) return r;
    }
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(request.method), request.target, 11};
    req.set(bhttp::field::host, endpoint_.kind == Endpoint::Kind::unix_socket ? "localhost" : endpoint_.host);
    req.set(bhttp::field::user_agent, "berth/0.1");
    for (const auto& [k, v] : request.headers) req.set(k, v);
    if (!request.content_type.empty()) req.set(bhttp::field::content_type, request.content_type);
    req.body() = request.body;
    req.prepare_payload();

    detail::CallParser parser;
    detail::configure(parser);
    bool done = false;
    error_code result;
    bool got_bytes = false;
    conn->with_stream([&](auto& s) {
      bhttp::async_write(s, req, [&](error_code ec, size_t) {
        if (ec) {
          result = ec;
          done = true;
          return;
        }
        // The header first, then the body (see detail::read_response).
        bhttp::async_read_header(s, conn->buffer, parser, [&](error_code ec2, size_t n) {
          got_bytes = n > 0;
          if (ec2) {
            result = ec2;
            done = true;
            return;
          }
          bhttp::async_read(s, conn->buffer, parser, [&](error_code ec3, size_t) {
            result = ec3;
            done = true;
          });
        });
      });
    });
    Response r;
    r.failure = run_until(conn->ioc, done, limits, [&] { conn->close(); });
    if (r.failure != Failure::none) {
      r.error = request.method + " " + request.target + (r.failure == Failure::timeout ? " timed out" : " was cancelled");
      return r;
    }
    if (result) {
      // A pooled keep-alive connection the server had closed: retry once on
      // a fresh one (nothing of the request was processed).
      if (conn->reused && !got_bytes && attempt == 0 && classify(result) == Failure::unreachable) continue;
      r.failure = classify(result);
      r.error = request.method + " " + request.target + " on " + endpoint_.describe() + ": " + result.message();
      return r;
    }
    if (detail::take_response(parser, r)) {
      conn->reused = false;
      give_back(std::move(conn));
    }
    return r;
  }
}

// ------------------------------------------------------------ stream

struct Stream::State {
  int stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ~State() {
    if (stop_fd >= 0) close(stop_fd);
  }
};

Stream::Stream(Endpoint endpoint) : endpoint_(std::move(endpoint)), state_(std::make_shared<State>()) {}
Stream::~Stream() = default;

void Stream::stop() {
  const uint64_t one = 1;
  (void)!write(state_->stop_fd, &one, sizeof one);
}

Response Stream::run(const Request& request, std::chrono::milliseconds connect_timeout,
                     const std::function<void()>& on_open,
                     const std::function<void(std::string_view)>& on_data) {
  auto state = state_;
  std::shared_ptr<ssl::context> tls_ctx;
  if (endpoint_.kind == Endpoint::Kind::tls) tls_ctx = make_tls_context(endpoint_.tls);
  Client::Connection conn;
  Limits limits{Clock::now() + connect_timeout, {state->stop_fd}};
  Response r = conn.connect(endpoint_, tls_ctx.get(), limits);
  if (!r.ok()) return r;

  bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(request.method), request.target, 11};
  req.set(bhttp::field::host, endpoint_.kind == Endpoint::Kind::unix_socket ? "localhost" : endpoint_.host);
  req.set(bhttp::field::user_agent, "berth/0.1");
  for (const auto& [k, v] : request.headers) req.set(k, v);

  detail::StreamParser parser;
  detail::configure(parser);
  bool done = false;
  error_code result;
  auto abort = [&] { conn.close(); };
  // Request and headers within the connect timeout.
  conn.with_stream([&](auto& s) {
    bhttp::async_write(s, req, [&](error_code ec, size_t) {
      if (ec) {
        result = ec;
        done = true;
        return;
      }
      bhttp::async_read_header(s, conn.buffer, parser, [&](error_code ec2, size_t) {
        result = ec2;
        done = true;
      });
    });
  });
  r.failure = run_until(conn.ioc, done, limits, abort);
  if (r.failure == Failure::none && result) {
    r.failure = classify(result);
    r.error = "event stream on " + endpoint_.describe() + ": " + result.message();
  }
  if (!r.ok()) return r;
  r.status = parser.get().result_int();
  r.reason = std::string(parser.get().reason());
  const bool success = r.status / 100 == 2;
  if (success) on_open();

  // The body, for as long as it lasts: no deadline, only stop().
  Limits forever{Clock::time_point::max(), limits.cancel};
  detail::read_stream_body(
      parser, r, success,
      [&](detail::StreamParser& p, error_code& ec) {
        done = false;
        conn.with_stream([&](auto& s) {
          bhttp::async_read_some(s, conn.buffer, p, [&](error_code e, size_t) {
            ec = e;
            done = true;
          });
        });
        return run_until(conn.ioc, done, forever, abort);
      },
      on_data, endpoint_.describe());
  return r;
}

}  // namespace berth::http
