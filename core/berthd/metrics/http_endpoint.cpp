#include "metrics/http_endpoint.hpp"

#include "common/thread_name.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace berth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// One scrape connection: requests in order, each read within 10 s.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const MetricsEndpoint::Render& render)
      : stream_(std::move(socket)), render_(render) {}
  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->answer();
    });
  }

 private:
  void answer() {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(request_.version());
    res->keep_alive(request_.keep_alive());
    res->set(http::field::server, "berthd");
    const auto target = request_.target();
    const bool metrics = target == "/metrics" || target.starts_with("/metrics?");
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->set(http::field::allow, "GET, HEAD");
    } else if (!metrics) {
      res->result(http::status::not_found);
      res->set(http::field::content_type, "text/plain");
      res->body() = "berthd serves /metrics here\n";
    } else {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res->body() = render_();
    }
    res->prepare_payload();
    if (request_.method() == http::verb::head) res->body().clear();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (!ec && res->keep_alive()) self->read();
      else self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8192};
  http::request<http::empty_body> request_;
  const MetricsEndpoint::Render& render_;
};

}  // namespace

struct MetricsEndpoint::Impl {
  std::string listen;
  Render render;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), render)->read();
      accept();
    });
  }
};

MetricsEndpoint::MetricsEndpoint(std::string listen, Render render) : impl_(std::make_unique<Impl>()) {
  impl_->listen = std::move(listen);
  impl_->render = std::move(render);
}

MetricsEndpoint::~MetricsEndpoint() { stop(); }

void MetricsEndpoint::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
}

Status MetricsEndpoint::start() {
  const auto colon = impl_->listen.rfind(':');
  if (colon == std::string::npos)
    return {Code::invalid_argument, fmt::format("metrics_listen {}: expected HOST:PORT", impl_->listen)};
  std::string host = impl_->listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = impl_->listen.substr(colon + 1);
  beast::error_code ec;
  tcp::resolver resolver(impl_->io);
  auto found = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || found.empty())
    return {Code::invalid_argument, fmt::format("metrics_listen {}: {}", impl_->listen, ec.message())};
  const tcp::endpoint at = *found.begin();
  auto& a = impl_->acceptor;
  a.open(at.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(at, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return {Code::unavailable, fmt::format("metrics_listen {}: {}", impl_->listen, ec.message())};
  impl_->accept();
  impl_->thread = std::thread([this] {
    name_this_thread("metrics-http");
    for (;;) {
      try {
        impl_->io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("metrics endpoint: {}", e.what());  // last resort; keep serving
      }
    }
  });
  return {};
}

std::string MetricsEndpoint::address() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->listen : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace berth
