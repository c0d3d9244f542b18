// berth-wake's HTTP side: Sablier's contract (docs/wake.md), on Boost.Beast,
// on the one asio thread. Routes: /health, /api/strategies/{blocking,dynamic},
// /api/themes (and the legacy /api/dynamic/themes), /api/events (SSE).
#pragma once

#include "instances.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

namespace berth::wake {

struct HttpOptions {
  std::string host = "127.0.0.1";
  std::string port = "10000";
  std::string theme = "berth";                  // when the request names none
  Nanoseconds refresh = 5'000'000'000;          // the waiting page's reload period
  bool show_details = true;
  std::string version = BERTH_VERSION;
};

class WakeHttp {
 public:
  WakeHttp(boost::asio::io_context& io, Instances& instances, HttpOptions options);
  ~WakeHttp();
  // Binds; an error names the address.
  Status listen();
  // From now on /health answers 503 and no new connection is taken.
  void shutting_down();
  // The address it listens on (the port is known after listen()).
  std::string address() const;

  struct Connection;  // one HTTP connection (defined in http.cpp)
  struct Shared;      // what connections share with the server

 private:
  void accept();
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace berth::wake
