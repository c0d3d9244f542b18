#include "auth/curve.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

// Stable in libzmq since 4.2.3, but declared only under its draft API.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace berth {

namespace {
std::string raw_key(const std::string& z85) {
  std::string raw(32, '\0');
  zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), z85.c_str());
  return raw;
}

std::string_view view(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

ZapHandler::ZapHandler(zmq::context_t& zmq, std::vector<AllowedKey> keys) : socket_(zmq, zmq::socket_type::rep) {
  for (auto& k : keys) {
    auto raw = raw_key(k.public_key);
    keys_.emplace(std::move(raw), std::move(k));
  }
}

ZapHandler::~ZapHandler() { stop(); }

Status ZapHandler::start() {
  try {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
  } catch (const zmq::error_t& e) {
    return {Code::internal, fmt::format("cannot bind the ZAP handler: {}", e.what())};
  }
  return thread_.start(socket_, "zap-handler", [this](auto& request) { answer(request); });
}

void ZapHandler::stop() { thread_.stop(); }

// RFC 27: version, request id, domain, address, identity, mechanism,
// credentials... → version, request id, status code, status text, user id,
// metadata.
void ZapHandler::answer(std::vector<zmq::message_t>& request) {
  auto reply = [&](std::string_view code, std::string_view text, std::string_view user) {
    const std::string_view id = request.size() > 1 ? view(request[1]) : std::string_view();
    std::array<zmq::const_buffer, 6> frames = {zmq::buffer(std::string_view("1.0")), zmq::buffer(id),
                                               zmq::buffer(code), zmq::buffer(text),
                                               zmq::buffer(user), zmq::const_buffer()};
    zmq::send_multipart(socket_, frames);
  };
  if (request.size() < 6 || view(request[0]) != "1.0") return reply("400", "malformed ZAP request", "");
  const std::string_view domain = view(request[2]);
  const std::string_view mechanism = view(request[5]);
  if (mechanism != "CURVE" || request.size() != 7 || request[6].size() != 32) {
    ++denied_;
    return reply("400", "CURVE required", "");
  }
  const std::string key(view(request[6]));
  auto it = keys_.find(key);
  std::string_view why;
  if (it == keys_.end()) why = "unknown client key";
  else if (domain == kCommandsDomain && it->second.role == Role::subscriber) why = "a subscriber key may not send commands";
  else if (domain != kCommandsDomain && domain != kEventsDomain) why = "unknown domain";
  if (why.empty()) {
    ++allowed_;
    spdlog::debug("ZAP: {} ({}) admitted to {}", it->second.name, role_name(it->second.role), domain);
    return reply("200", "OK", role_name(it->second.role));
  }
  ++denied_;
  // A refused client retries every reconnect interval: log each key at most
  // once a minute, and keep the memory of that bounded.
  char z85[41] = {};
  zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(key.data()), 32);
  auto& last = last_denial_log_[key];
  if (now_s() - last >= 60 || last == 0) {
    last = now_s();
    spdlog::warn("ZAP: refused client key {} on {} from {}: {}", z85, domain, view(request[3]), why);
  }
  if (last_denial_log_.size() > 1024) last_denial_log_.clear();
  reply("400", why, "");
}

Status make_curve_server(zmq::socket_t& socket, const KeyPair& server, std::string_view domain) {
  try {
    socket.set(zmq::sockopt::zap_domain, std::string(domain));
    const int one = 1;
    if (zmq_setsockopt(socket.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
      return {Code::unsupported, "this libzmq cannot enforce ZAP (ZMQ_ZAP_ENFORCE_DOMAIN)"};
    socket.set(zmq::sockopt::curve_server, true);
    socket.set(zmq::sockopt::curve_secretkey, server.secret_key);
  } catch (const zmq::error_t& e) {
    return {Code::unsupported, fmt::format("cannot make a CURVE server: {}", e.what())};
  }
  return {};
}

Status make_curve_client(zmq::socket_t& socket, const std::string& server_public, const KeyPair& client) {
  try {
    socket.set(zmq::sockopt::curve_serverkey, server_public);
    socket.set(zmq::sockopt::curve_publickey, client.public_key);
    socket.set(zmq::sockopt::curve_secretkey, client.secret_key);
  } catch (const zmq::error_t& e) {
    return {Code::unsupported, fmt::format("cannot make a CURVE client: {}", e.what())};
  }
  return {};
}

std::optional<Role> sender_role(const zmq::message_t& msg) {
  const char* user = zmq_msg_gets(msg.handle(), "User-Id");
  if (!user) return std::nullopt;
  return role_from_name(user).value_or(Role::subscriber);
}

HandshakeWatch::HandshakeWatch(zmq::context_t& zmq, zmq::socket_t& watched) : pair_(zmq, zmq::socket_type::pair) {
  static std::atomic<unsigned> next{0};
  const std::string address = fmt::format("inproc://berth-handshake-{}", next++);
  zmq_socket_monitor(watched.handle(), address.c_str(),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
  pair_.set(zmq::sockopt::linger, 0);
  pair_.connect(address);
}

std::optional<std::string> HandshakeWatch::refusal() {
  std::optional<std::string> why;
  for (;;) {
    std::vector<zmq::message_t> event;
    if (!zmq::recv_multipart(pair_, std::back_inserter(event), zmq::recv_flags::dontwait)) return why;
    const auto e = monitor_event(event);
    if (!e || event.size() < 2) continue;
    const std::string where(view(event[1]));
    if (e->kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
      why = fmt::format("{} refused this client's key (ZAP status {})", where, e->value);
    else
      why = fmt::format("CURVE handshake with {} failed (is --server-key that daemon's public key?)", where);
  }
}

Result<std::optional<ClientKeys>> client_keys(std::string server_key_flag, std::string client_key_flag) {
  if (server_key_flag.empty())
    if (const char* env = std::getenv("BERTH_SERVER_KEY")) server_key_flag = env;
  if (client_key_flag.empty())
    if (const char* env = std::getenv("BERTH_CLIENT_KEY")) client_key_flag = env;
  if (server_key_flag.empty() && client_key_flag.empty()) return std::optional<ClientKeys>();
  if (server_key_flag.empty() || client_key_flag.empty())
    return Status(Code::invalid_argument,
                  "CURVE needs both the server's public key (--server-key, BERTH_SERVER_KEY) and this "
                  "client's key file (--client-key, BERTH_CLIENT_KEY)");
  ClientKeys keys;
  auto server = public_key_from(server_key_flag);
  if (!server) return server.error();
  keys.server_public = *server;
  auto client = read_key_file(client_key_flag, true);
  if (!client) return client.error();
  keys.client = *client;
  return std::optional<ClientKeys>(std::move(keys));
}

}  // namespace berth
