// A small blocking HTTP/1.1 client for provider plugins (Docker Engine API,
// Proxmox VE API): unix socket, plain TCP or TLS (CA file, client cert, or a
// pinned SHA-256 certificate fingerprint), with deadlines and cancellation
// on every call. Built on Boost.Beast; knows nothing about berth's ABI.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::http {

using Clock = std::chrono::steady_clock;

struct TlsOptions {
  std::string ca_file;      // verify the server against this CA bundle
  std::string cert_file;    // client certificate (Docker's tlsverify mode)
  std::string key_file;
  std::string pin_sha256;   // accept exactly this leaf certificate (any case, ':' optional)
  bool insecure = false;    // accept any certificate (callers log this loudly)
};

struct Endpoint {
  enum class Kind { unix_socket, tcp, tls };
  Kind kind = Kind::unix_socket;
  std::string path;         // unix socket
  std::string host, port;   // tcp / tls
  TlsOptions tls;

  // "unix:///var/run/docker.sock", "tcp://h:2375", "http://h:p", "https://h:p".
  // tcp:// becomes TLS when tls options are given. Returns nullopt and sets
  // `error` on a malformed URL.
  static std::optional<Endpoint> parse(const std::string& url, const TlsOptions& tls,
                                       std::string& error);
  std::string describe() const;
};

// How a call failed before any HTTP status arrived.
enum class Failure { none, unreachable, timeout, cancelled, protocol, tls };

struct Response {
  Failure failure = Failure::none;
  std::string error;        // when failure != none
  unsigned status = 0;
  std::string reason;       // HTTP reason phrase (PVE puts its error text here)
  std::string body;
  bool ok() const { return failure == Failure::none; }
};

// A descriptor that turns readable once the caller gives up (berth's
// call_cancel_fd). Borrowed, never closed here; -1 (also `{}`) = none.
struct CancelFd {
  int fd = -1;
};

struct Limits {
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  CancelFd cancel;  // the call is abandoned at once when it fires
};

// Sleeps `d` or until the limits end it; false when they did (cancelled or
// past the deadline).
bool sleep_within(const Limits& limits, std::chrono::milliseconds d);

struct Request {
  Request(std::string m, std::string t, std::string b = {}, std::string type = {})
      : method(std::move(m)), target(std::move(t)), body(std::move(b)), content_type(std::move(type)) {}
  std::string method = "GET";
  std::string target;                          // path + query, already encoded
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Thread-safe; keeps a few idle keep-alive connections for reuse.
class Client {
 public:
  explicit Client(Endpoint endpoint);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Response call(const Request& request, const Limits& limits);
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  friend class Stream;  // runs its one request on a Connection
  struct Connection;
  std::unique_ptr<Connection> take();
  void give_back(std::unique_ptr<Connection> c);

  Endpoint endpoint_;
  std::shared_ptr<void> tls_context_;  // ssl::context, shared by connections
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// One long-lived request whose body is read as it arrives (Docker's
// /events). run() blocks on the caller's thread; stop() may be called from
// any thread and makes run() return at once (it signals an eventfd the
// stream waits on, together with its socket).
class Stream {
 public:
  explicit Stream(Endpoint endpoint);
  ~Stream();

  // on_open: headers received with a 2xx status. on_data: body bytes (chunked
  // encoding removed). Returns how the stream ended: a Response whose failure
  // is set, or whose status is not 2xx (body included), or ok when the server
  // ended the body.
  Response run(const Request& request, std::chrono::milliseconds connect_timeout,
               const std::function<void()>& on_open,
               const std::function<void(std::string_view)>& on_data);
  void stop();

 private:
  struct State;
  Endpoint endpoint_;
  std::shared_ptr<State> state_;
};

// "%2F"-style encoding for a query value or a path segment.
std::string url_encode(std::string_view s);

}  // namespace berth::http
