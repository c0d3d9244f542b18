#include "http.hpp"

#include "pages.hpp"
#include "problem.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>

namespace berth::wake {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Response = bhttp::response<bhttp::string_body>;

namespace {

// ------------------------------------------------------------ query strings

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Query {
  std::vector<std::pair<std::string, std::string>> items;
  explicit Query(std::string_view q) {
    while (!q.empty()) {
      const size_t amp = q.find('&');
      const std::string_view pair = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      items.emplace_back(percent_decode(pair.substr(0, eq)),
                         eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1)));
    }
  }
  // Single-valued parameters: the first value, as gin binds them.
  std::optional<std::string> first(std::string_view key) const {
    for (const auto& [k, v] : items)
      if (k == key) return v;
    return std::nullopt;
  }
  std::vector<std::string> all(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items)
      if (k == key) out.push_back(v);
    return out;
  }
};

// ------------------------------------------------------------ parameters

struct Params {
  std::vector<std::string> names;
  std::optional<std::string> group, theme, display_name;
  std::optional<Nanoseconds> session, timeout, refresh;
  std::optional<bool> show_details;
};

Problem validation(std::string detail) {
  Problem p;
  p.status = 400;
  p.type = "https://sablierapp.dev/#/errors?id=validation-error";
  p.title = "Validation Failed";
  p.detail = std::move(detail);
  return p;
}

// strconv.ParseBool.
std::optional<bool> go_bool(std::string_view s) {
  for (auto t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return true;
  for (auto f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return false;
  return std::nullopt;
}

std::variant<Params, Problem> params_of(const Query& q) {
  Params p;
  p.names = q.all("names");
  p.group = q.first("group");
  p.theme = q.first("theme");
  p.display_name = q.first("display_name");
  for (auto [key, out] : {std::pair{"session_duration", &p.session}, {"timeout", &p.timeout},
                          {"refresh_frequency", &p.refresh}}) {
    auto v = q.first(key);
    if (!v) continue;
    auto d = parse_go_duration(*v);
    if (auto* error = std::get_if<std::string>(&d)) return validation(*error);
    *out = std::get<Nanoseconds>(d);
  }
  if (auto v = q.first("show_details")) {
    if (v->empty()) p.show_details = false;  // gin binds an empty bool as false
    else if (auto b = go_bool(*v)) p.show_details = *b;
    else return validation("strconv.ParseBool: parsing \"" + *v + "\": invalid syntax");
  }
  if (p.names.empty() && !p.group) return validation("'names' or 'group' query parameter must be set");
  if (!p.names.empty() && p.group)
    return validation("'names' and 'group' query parameters are both set, only one must be set");
  return p;
}

// ------------------------------------------------------------ JSON

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_str(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

// Sablier's InstanceInfo.
void write_instance(JsonWriter& w, const Instance& i) {
  w.StartObject();
  w.Key("name");
  write_str(w, i.name);
  w.Key("currentReplicas");
  w.Int(i.state == BERTH_STATE_RUNNING ? 1 : 0);
  w.Key("desiredReplicas");
  w.Int(1);
  w.Key("status");
  write_str(w, status_name(i.status()));
  if (i.managed) {
    w.Key("groups");
    w.StartArray();
    for (const auto& g : i.groups()) write_str(w, g);
    w.EndArray();
    if (i.routing.wake.enabled) {
      w.Key("enabled");
      w.String("true");
    }
  }
  w.Key("provider");
  write_str(w, i.provider);
  w.Key("providerName");
  write_str(w, i.provider);
  w.EndObject();
}

std::string instance_json(const Instance& i) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  write_instance(w, i);
  return go_html_escape({b.GetString(), b.GetSize()});
}

// [{"instance":{…},"error":"…"}…], sorted by name; "error" only when there is one.
std::string instances_json(std::vector<const Instance*> list) {
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartArray();
  for (auto* i : list) {
    w.StartObject();
    w.Key("instance");
    write_instance(w, *i);
    if (!i->error.empty()) {
      w.Key("error");
      write_str(w, i->error);
    }
    w.EndObject();
  }
  w.EndArray();
  return {b.GetString(), b.GetSize()};
}

Response text_response(unsigned status, std::string body, const char* type = "text/plain; charset=utf-8") {
  Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, type);
  r.body() = std::move(body);
  return r;
}

}  // namespace

// ------------------------------------------------------------ the server

struct WakeHttp::Shared {
  Instances& instances;
  HttpOptions options;
  bool shutting_down = false;
  std::vector<std::weak_ptr<Connection>> streams;  // /api/events subscribers
};

struct WakeHttp::Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, std::shared_ptr<Shared> sh)
      : socket(std::move(s)), shared(std::move(sh)), keepalive(socket.get_executor()) {}

  tcp::socket socket;
  std::shared_ptr<Shared> shared;
  beast::flat_buffer buffer;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
  std::string target;
  // Server-sent events.
  bool streaming = false, writing = false;
  std::vector<std::string> types;  // empty = all
  std::deque<std::string> outbox;
  asio::steady_timer keepalive;

  Instances& instances() { return shared->instances; }

  void read() {
    parser.emplace();
    parser->body_limit(64 * 1024);
    parser->header_limit(16 * 1024);
    bhttp::async_read(socket, buffer, *parser, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->handle();
    });
  }

  void close() {
    beast::error_code ignored;
    keepalive.cancel();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  void reply(Response r) {
    const bool keep = parser->get().keep_alive() && !shared->shutting_down;
    r.keep_alive(keep);
    r.prepare_payload();
    auto res = std::make_shared<Response>(std::move(r));
    bhttp::async_write(socket, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !res->keep_alive()) return self->close();
      self->read();
    });
  }

  void problem(const Problem& p) {
    reply(text_response(p.status, problem_json(p, target), "application/problem+json"));
  }

  void handle() {
    const auto& req = parser->get();
    target = std::string(req.target());
    const auto q = target.find('?');
    const std::string_view path = std::string_view(target).substr(0, q);
    const Query query(q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1));
    if (req.method() != bhttp::verb::get) return reply(text_response(404, "404 page not found"));
    if (path == "/health")
      return reply(shared->shutting_down ? text_response(503, "Service Unavailable") : text_response(200, "OK"));
    if (path == "/api/themes" || path == "/api/dynamic/themes") return themes();
    if (path == "/api/strategies/blocking") return blocking(query);
    if (path == "/api/strategies/dynamic") return dynamic(query);
    if (path == "/api/events") return events(query);
    reply(text_response(404, "404 page not found"));
  }

  void themes() {
    rapidjson::StringBuffer b;
    JsonWriter w(b);
    w.StartObject();
    w.Key("themes");
    w.StartArray();
    for (const auto& t : theme_names()) write_str(w, t);
    w.EndArray();
    w.EndObject();
    reply(text_response(200, {b.GetString(), b.GetSize()}, "application/json; charset=utf-8"));
  }

  // The instances a request names, or why not.
  std::variant<std::vector<Instance*>, Problem> resolve(const Params& p) {
    return p.group ? instances().by_group(*p.group) : instances().by_names(p.names);
  }

  // The request's timeout; else the longest wake_timeout label; else the default.
  Nanoseconds timeout_for(const Params& p, const std::vector<Instance*>& list) const {
    if (p.timeout) return *p.timeout;
    std::optional<Nanoseconds> longest;
    for (auto* i : list)
      if (i->routing.idle.wake_timeout_ms)
        longest = std::max(longest.value_or(0), *i->routing.idle.wake_timeout_ms * 1000000);
    return longest.value_or(shared->instances.settings().blocking_timeout);
  }

  std::vector<std::string> keys_of(const std::vector<Instance*>& list) {
    std::vector<std::string> keys;
    for (auto* i : list) keys.push_back(i->key);
    return keys;
  }

  void blocking(const Query& q) {
    auto parsed = params_of(q);
    if (auto* p = std::get_if<Problem>(&parsed)) return problem(*p);
    const Params& params = std::get<Params>(parsed);
    auto found = resolve(params);
    if (auto* p = std::get_if<Problem>(&found)) return problem(*p);
    auto& list = std::get<std::vector<Instance*>>(found);
    instances().request(list, params.session.value_or(-1));
    const Nanoseconds timeout = timeout_for(params, list);
    const auto deadline = Clock::now() + std::chrono::nanoseconds(std::max<Nanoseconds>(0, timeout));
    instances().wait_ready(list, deadline, [self = shared_from_this(), keys = keys_of(list), timeout](bool) {
      self->blocking_done(keys, timeout);
    });
  }

  void blocking_done(const std::vector<std::string>& keys, Nanoseconds timeout) {
    std::vector<const Instance*> list, not_ready;
    std::vector<std::string> errors, reasons;
    for (const auto& key : keys) {
      const Instance* i = instances().find(key);
      if (i == nullptr) {
        errors.push_back("an instance was removed while waiting");
        continue;
      }
      list.push_back(i);
      if (!i->error.empty()) errors.push_back(i->name + ": " + i->error);
      if (!i->ready()) {
        not_ready.push_back(i);
        reasons.push_back(fmt::format("{} is {}", i->name, status_name(i->status())));
      }
    }
    if (!errors.empty()) {
      Problem p;
      p.status = 500;
      p.type = "https://sablierapp.dev/#/errors?id=internal-error";
      p.title = "Internal Server Error";
      p.detail = fmt::format("{}", fmt::join(errors, "; "));
      p.extensions.emplace_back("instances", instances_json(not_ready));
      return problem(p);
    }
    if (!not_ready.empty()) {
      Problem p;
      p.status = 504;
      p.type = "https://sablierapp.dev/#/errors?id=timeout";
      p.title = "Gateway Timeout";
      p.detail = fmt::format("session was not ready after {}: {}", go_duration_string(timeout), fmt::join(reasons, ", "));
      p.extensions.emplace_back("instances", instances_json(not_ready));
      return problem(p);
    }
    Response r = text_response(200, R"({"session":{"instances":)" + instances_json(list) + R"(,"status":"ready"}})",
                               "application/json; charset=utf-8");
    r.set("X-Sablier-Session-Status", "ready");
    reply(std::move(r));
  }

  void dynamic(const Query& q) {
    auto parsed = params_of(q);
    if (auto* p = std::get_if<Problem>(&parsed)) return problem(*p);
    const Params params = std::get<Params>(parsed);
    const std::string theme = params.theme.value_or(shared->options.theme);
    // The theme is checked before anything is started.
    if (std::find(theme_names().begin(), theme_names().end(), theme) == theme_names().end()) {
      Problem p;
      p.status = 404;
      p.type = "https://sablierapp.dev/#/errors?id=theme-not-found";
      p.title = "Theme not found";
      p.detail = "The theme you requested does not exist among the default themes and the custom themes (if any).";
      rapidjson::StringBuffer b;
      JsonWriter w(b);
      w.StartArray();
      for (const auto& t : theme_names()) write_str(w, t);
      w.EndArray();
      p.extensions.emplace_back("availableTheme", std::string(b.GetString(), b.GetSize()));
      p.extensions.emplace_back("error", "\"theme " + theme + " not found\"");
      p.extensions.emplace_back("requestTheme", "\"" + theme + "\"");
      return problem(p);
    }
    auto found = resolve(params);
    if (auto* p = std::get_if<Problem>(&found)) return problem(*p);
    auto& list = std::get<std::vector<Instance*>>(found);
    instances().request(list, params.session.value_or(-1));
    // godoxy's no_loading_page: those instances are waited for, as blocking.
    const bool wait = std::any_of(list.begin(), list.end(), [](auto* i) { return i->routing.idle.no_loading_page; });
    if (!wait) return page(keys_of(list), params, theme);
    const auto deadline = Clock::now() + std::chrono::nanoseconds(std::max<Nanoseconds>(0, timeout_for(params, list)));
    instances().wait_ready(list, deadline, [self = shared_from_this(), keys = keys_of(list), params, theme](bool) {
      self->page(keys, params, theme);
    });
  }

  void page(const std::vector<std::string>& keys, const Params& params, const std::string& theme) {
    PageData d;
    d.display_name = params.display_name.value_or("");
    d.refresh_seconds = params.refresh.value_or(shared->options.refresh) / 1000000000;
    d.session_duration = humanize_duration(params.session.value_or(instances().settings().session));
    d.version = shared->options.version;
    bool ready = true;
    std::vector<const Instance*> list;
    for (const auto& key : keys)
      if (const Instance* i = instances().find(key)) list.push_back(i);
      else ready = false;
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (auto* i : list) {
      ready = ready && i->ready();
      if (params.show_details.value_or(shared->options.show_details))
        d.instances.push_back({i->name, std::string(status_name(i->status())), i->error,
                               i->state == BERTH_STATE_RUNNING ? 1 : 0, 1});
    }
    Response r = text_response(200, *render_page(theme, d), "text/html");
    r.set(bhttp::field::cache_control, "no-cache");
    r.set("X-Sablier-Session-Status", ready ? "ready" : "not-ready");
    reply(std::move(r));
  }

  // ---------------------------------------------------------- SSE

  void events(const Query& q) {
    types = q.all("types");
    streaming = true;
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
    res->set(bhttp::field::content_type, "text/event-stream;charset=utf-8");
    res->set(bhttp::field::cache_control, "no-cache");
    res->set(bhttp::field::connection, "keep-alive");
    res->set("X-Accel-Buffering", "no");
    res->chunked(true);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    // The headers go out at once, not with the first event.
    bhttp::async_write_header(socket, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->shared->streams.push_back(self);
      self->tick();
      self->watch_close();
    });
  }

  void send_event(std::string_view type, const std::string& json) {
    if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) return;
    push(fmt::format("event: {}\ndata: {}\n\n", type, json));
  }

  void push(std::string text) {
    outbox.push_back(std::move(text));
    if (!writing) flush();
  }

  void flush() {
    if (outbox.empty()) {
      writing = false;
      return;
    }
    writing = true;
    auto chunk = std::make_shared<std::string>(std::move(outbox.front()));
    outbox.pop_front();
    asio::async_write(socket, bhttp::make_chunk(asio::buffer(*chunk)),
                      [self = shared_from_this(), chunk](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->flush();
                      });
  }

  // A comment every 15 s keeps proxies from timing the stream out.
  void tick() {
    keepalive.expires_after(std::chrono::seconds(15));
    keepalive.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->socket.is_open()) return;
      self->push(": keep-alive\n\n");
      self->tick();
    });
  }

  // Notices the client leaving (a stream is never read from otherwise).
  void watch_close() {
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      char b;
      beast::error_code rec;
      if (ec || self->socket.read_some(asio::buffer(&b, 1), rec) == 0 || rec) return self->close();
      self->watch_close();
    });
  }
};

WakeHttp::WakeHttp(asio::io_context& io, Instances& instances, HttpOptions options)
    : io_(io), shared_(std::make_shared<Shared>(Shared{instances, std::move(options), false, {}})), acceptor_(io) {
  instances.on_instance_event([shared = shared_](std::string_view type, const Instance& i) {
    const std::string json = instance_json(i);
    std::erase_if(shared->streams, [](const auto& w) { return w.expired(); });
    for (auto& w : shared->streams)
      if (auto c = w.lock(); c && c->socket.is_open()) c->send_event(type, json);
  });
}

WakeHttp::~WakeHttp() {
  beast::error_code ignored;
  acceptor_.close(ignored);
  for (auto& w : shared_->streams)
    if (auto c = w.lock()) c->close();
}

Status WakeHttp::listen() {
  try {
    tcp::resolver resolver(io_);
    auto endpoint = *resolver.resolve(shared_->options.host, shared_->options.port).begin();
    acceptor_.open(endpoint.endpoint().protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    return {Code::unavailable, fmt::format("cannot listen on {}:{}: {}", shared_->options.host,
                                           shared_->options.port, e.what())};
  }
  accept();
  return {};
}

std::string WakeHttp::address() const {
  beast::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  return ec ? std::string() : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

void WakeHttp::shutting_down() {
  shared_->shutting_down = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void WakeHttp::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) spdlog::warn("accept: {}", ec.message());
      if (!acceptor_.is_open()) return;
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket), shared_)->read();
    }
    accept();
  });
}

}  // namespace berth::wake
