// Authenticated, encrypted endpoints: ZeroMQ CURVE, with the daemon's own
// ZAP handler (ZeroMQ RFC 27) deciding which client keys get in and with
// which role. The role reaches the command server as each message's
// "User-Id" property.
#pragma once

#include "auth/keys.hpp"
#include "common/socket_thread.hpp"
#include "common/status.hpp"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

// What a client key may do. subscriber: events only; reader: events and the
// commands that read; operator: everything.
using protocol::Role;  // the protocol's table: names, and who may run which op
using protocol::role_from_name;
using protocol::role_name;

// The ZAP domains of berthd's two sockets.
inline constexpr std::string_view kEventsDomain = "events";
inline constexpr std::string_view kCommandsDomain = "commands";

struct AllowedKey {
  std::string public_key;  // Z85
  Role role;
  std::string name;  // for logs
};

// Answers libzmq's authentication requests for every socket of one context.
// Bound before any CURVE socket binds; a socket whose handler is gone fails
// closed (ZMQ_ZAP_ENFORCE_DOMAIN).
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& zmq, std::vector<AllowedKey> keys);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  Status start();
  void stop();

  // Counts for metrics and tests.
  uint64_t allowed() const { return allowed_; }
  uint64_t denied() const { return denied_; }

 private:
  void answer(std::vector<zmq::message_t>& request);

  zmq::socket_t socket_;
  std::map<std::string, AllowedKey> keys_;  // by the key's 32 raw bytes
  std::atomic<uint64_t> allowed_{0}, denied_{0};
  std::map<std::string, int64_t> last_denial_log_;  // handler thread only; bounded
  SocketThread thread_;  // last: stopped before what it uses goes
};

// Makes `socket` (before bind) a CURVE server whose clients the ZAP handler
// admits in `domain`.
Status make_curve_server(zmq::socket_t& socket, const KeyPair& server, std::string_view domain);
// Makes `socket` (before connect) a CURVE client of the server whose public
// key is `server_public`.
Status make_curve_client(zmq::socket_t& socket, const std::string& server_public, const KeyPair& client);

// The role a message's sender was admitted with; nullopt when the socket
// does not authenticate (no "User-Id" property).
std::optional<Role> sender_role(const zmq::message_t& msg);

// Watches a client socket's CURVE handshakes, so a key the server refuses
// is an error that can be named instead of a silent wait.
class HandshakeWatch {
 public:
  HandshakeWatch(zmq::context_t& zmq, zmq::socket_t& watched);
  zmq::socket_t& socket() { return pair_; }  // poll it for ZMQ_POLLIN
  // Reads what happened; the refusal, if one did.
  std::optional<std::string> refusal();

 private:
  zmq::socket_t pair_;
};

// Where a client finds its keys: flags, else BERTH_SERVER_KEY /
// BERTH_CLIENT_KEY. Both or neither; keys are files (never secrets in argv).
struct ClientKeys {
  std::string server_public;
  KeyPair client;
};
Result<std::optional<ClientKeys>> client_keys(std::string server_key_flag, std::string client_key_flag);

}  // namespace berth
