// berth/client.hpp — the wire protocol (docs/protocol.md) as C++ types, for
// any client of berthd: requests built from the op table, replies and PUB
// messages read into typed views. No I/O: send the bytes on whatever socket
// you hold (a REQ, a DEALER, an asio loop) and follow the seq with
// berth/follow.hpp. berthctl, berth-wake, the tests and the C++ subscriber
// example use it; so can yours (target berth::client, or pkg-config
// berth-sdk, plus RapidJSON's headers: Debian's rapidjson-dev).
//
//   auto req = berth::client::Request(Op::stop).container("web").timeout(5).json();
//   ... send req, receive `body` ...
//   auto reply = berth::client::Reply::parse(body);
//   if (!reply.ok()) fail(reply.error().code, reply.error().message);
//   auto c = berth::client::read_container(reply.result());
//
// Readers never throw and never trust the bytes: a missing or mistyped
// field reads as empty (0, "", nullopt), a body that is no JSON object as an
// unreadable reply (code `internal`) or no message. Views (string_view,
// `const Value*`) point into the parsed document: they live as long as it.
// Header-only, C++17.
#pragma once

#include <berth/protocol.hpp>
#include <berth/provider.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::client {

using protocol::Code;
using protocol::Op;
using Value = rapidjson::Value;

// ---------------------------------------------------------------- reading
// The field `key` of object `v` as a string, number or flag; absent or of
// another type: empty.
inline std::string_view text(const Value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString()
             ? std::string_view(it->value.GetString(), it->value.GetStringLength())
             : std::string_view();
}
inline const Value* member(const Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}
inline std::optional<uint64_t> uint_of(const Value& v, const char* key) {
  const Value* m = member(v, key);
  return m && m->IsUint64() ? std::optional<uint64_t>(m->GetUint64()) : std::nullopt;
}
inline std::optional<int> int_of(const Value& v, const char* key) {
  const Value* m = member(v, key);
  return m && m->IsInt() ? std::optional<int>(m->GetInt()) : std::nullopt;
}
inline bool flag(const Value& v, const char* key, bool absent = false) {
  const Value* m = member(v, key);
  return m && m->IsBool() ? m->GetBool() : absent;
}

// The elements of `v` (or of its field `key`) when it is an array, else
// none: iterate without checking.
inline Value::ConstArray elements(const Value& v) {
  static const Value none(rapidjson::kArrayType);
  return (v.IsArray() ? v : none).GetArray();
}
inline Value::ConstArray elements(const Value& v, const char* key) {
  static const Value null;
  const Value* m = member(v, key);
  return elements(m ? *m : null);
}

// Parses `body` into `d` (depth-safe: iteratively). False unless it is a
// JSON object.
inline bool parse_object(rapidjson::Document& d, std::string_view body) {
  d.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  return !d.HasParseError() && d.IsObject();
}

// ---------------------------------------------------------------- requests
// A `create`/`run` spec (docs/protocol.md, Creating containers). Empty and
// unset fields are left out: the engine's defaults.
// The wire's form of sdk::CreateSpec: unset is absent, cpus a fraction.
struct Spec {
  using Mount = sdk::Mount;
  using Ulimit = sdk::Ulimit;
  using Pairs = sdk::Labels;
  std::string image, name;
  std::vector<std::string> command;
  Pairs env, labels, log_options;
  std::vector<Mount> mounts;
  std::string network;
  std::vector<std::string> aliases;
  std::optional<int64_t> memory, pids_limit;
  std::optional<double> cpus;
  std::string log_driver;
  std::optional<berth_pull_policy> pull;
  std::vector<Ulimit> ulimits;
};

// One request, built from the op's row: what the op does not read
// (protocol.hpp's Takes) is not sent.
class Request {
 public:
  explicit Request(Op op) : op_(op) {}
  Request& id(uint64_t id) { return id_ = id, *this; }
  Request& provider(std::string_view p) { return provider_ = p, *this; }
  Request& container(std::string_view c) { return container_ = c, *this; }
  Request& signal(std::string_view s) { return signal_ = s, *this; }  // stop, kill
  Request& timeout(int seconds) { return timeout_s_ = seconds, *this; }  // stop, restart
  Request& force(bool f = true) { return force_ = f, *this; }             // remove
  Request& timeout_ms(int64_t ms) { return timeout_ms_ = ms, *this; }
  Request& spec(Spec s) { return spec_ = std::move(s), *this; }  // create, run

  Op op() const { return op_; }
  // The field the op needs that is not set ("container", "spec"), if any:
  // berthd would answer missing_field.
  std::optional<std::string_view> missing() const {
    switch (protocol::info(op_).needs) {
      case protocol::Needs::container: return container_.empty() ? std::optional<std::string_view>("container") : std::nullopt;
      case protocol::Needs::spec: return spec_ ? std::nullopt : std::optional<std::string_view>("spec");
      case protocol::Needs::nothing: break;
    }
    return std::nullopt;
  }
  // How long berthd promises to answer within when timeout_ms is not set
  // (docs/protocol.md, at its default settings: default_timeout_ms 15 s,
  // stop_grace_ms 10 s); a client waits a little longer than this.
  int64_t deadline_ms() const {
    if (timeout_ms_) return *timeout_ms_;
    switch (protocol::info(op_).deadline) {
      case protocol::Deadline::stop: return int64_t{timeout_s_.value_or(10)} * 1000 + 10000;
      case protocol::Deadline::standard: return 15000;
      case protocol::Deadline::none: break;
    }
    return 5000;
  }

  std::string json() const {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    const auto& row = protocol::info(op_);
    w.StartObject();
    key(w, "op"), string(w, row.name);
    if (id_) key(w, "id"), w.Uint64(*id_);
    if (!provider_.empty()) key(w, "provider"), string(w, provider_);
    if (row.needs == protocol::Needs::container && !container_.empty()) key(w, "container"), string(w, container_);
    if ((row.takes & protocol::takes_signal) && !signal_.empty()) key(w, "signal"), string(w, signal_);
    if ((row.takes & protocol::takes_timeout) && timeout_s_) key(w, "timeout"), w.Int(*timeout_s_);
    if ((row.takes & protocol::takes_force) && force_) key(w, "force"), w.Bool(true);
    if (timeout_ms_) key(w, "timeout_ms"), w.Int64(*timeout_ms_);
    if (row.needs == protocol::Needs::spec && spec_) key(w, "spec"), write_spec(w, *spec_);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
  }

 private:
  using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
  static void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
  static void string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
  static void pairs(Writer& w, const char* name, const Spec::Pairs& p) {
    if (p.empty()) return;
    key(w, name);
    w.StartObject();
    for (const auto& [k, v] : p) key(w, k), string(w, v);
    w.EndObject();
  }
  static void strings(Writer& w, const char* name, const std::vector<std::string>& v) {
    if (v.empty()) return;
    key(w, name);
    w.StartArray();
    for (const auto& s : v) string(w, s);
    w.EndArray();
  }
  static void write_spec(Writer& w, const Spec& s) {
    w.StartObject();
    key(w, "image"), string(w, s.image);
    if (!s.name.empty()) key(w, "name"), string(w, s.name);
    strings(w, "command", s.command);
    pairs(w, "env", s.env);
    pairs(w, "labels", s.labels);
    pairs(w, "log_options", s.log_options);
    if (!s.mounts.empty()) {
      key(w, "mounts");
      w.StartArray();
      for (const auto& m : s.mounts) {
        w.StartObject();
        key(w, "source"), string(w, m.source);
        key(w, "destination"), string(w, m.destination);
        key(w, "read_only"), w.Bool(m.read_only);
        w.EndObject();
      }
      w.EndArray();
    }
    if (!s.network.empty()) key(w, "network"), string(w, s.network);
    strings(w, "aliases", s.aliases);
    if (s.memory) key(w, "memory"), w.Int64(*s.memory);
    if (s.cpus) key(w, "cpus"), w.Double(*s.cpus);
    if (s.pids_limit) key(w, "pids_limit"), w.Int64(*s.pids_limit);
    if (!s.log_driver.empty()) key(w, "log_driver"), string(w, s.log_driver);
    if (s.pull) key(w, "pull"), string(w, protocol::pull_policy_name(*s.pull));
    if (!s.ulimits.empty()) {
      key(w, "ulimits");
      w.StartObject();
      for (const auto& u : s.ulimits) {
        key(w, u.name);
        w.StartObject();
        key(w, "soft"), w.Int64(u.soft);
        key(w, "hard"), w.Int64(u.hard);
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndObject();
  }

  Op op_;
  std::optional<uint64_t> id_;
  std::string provider_, container_, signal_;
  std::optional<int> timeout_s_;
  bool force_ = false;
  std::optional<int64_t> timeout_ms_;
  std::optional<Spec> spec_;
};

// ---------------------------------------------------------------- replies
struct Error {
  Code code = Code::ok;
  std::string_view name;     // as sent: a newer daemon's code reads as internal but keeps its name
  std::string_view message;
};

// One reply, parsed. Owns its document; views point into it.
class Reply {
 public:
  static Reply parse(std::string_view body) {
    Reply r;
    if (!parse_object(r.doc_, body) || !member(r.doc_, "ok") || !member(r.doc_, "ok")->IsBool()) {
      r.error_ = {Code::internal, protocol::code_name(Code::internal), "unreadable reply from berthd"};
      return r;
    }
    r.readable_ = true;
    r.ok_ = r.doc_["ok"].GetBool();
    if (!r.ok_) {
      const Value* e = member(r.doc_, "error");
      const std::string_view name = e ? text(*e, "code") : std::string_view();
      r.error_ = {protocol::code_from_name(name), name, e ? text(*e, "message") : std::string_view()};
    }
    return r;
  }
  bool readable() const { return readable_; }  // a JSON object with "ok"
  bool ok() const { return ok_; }
  const Error& error() const { return error_; }
  // berthctl's exit status for this reply's code (0 when ok).
  int exit_status() const { return protocol::kCodes[protocol::code_index(ok_ ? Code::ok : error_.code)].exit_status; }
  std::optional<uint64_t> id() const { return uint_of(doc_, "id"); }
  // The result, or null when there is none.
  const Value& result() const {
    const Value* r = member(doc_, "result");
    return r ? *r : null_;
  }
  const rapidjson::Document& document() const { return doc_; }

 private:
  rapidjson::Document doc_;
  bool readable_ = false, ok_ = false;
  Error error_;
  inline static const Value null_{};
};

// ---------------------------------------------------------------- containers
// A Container object (list, inspect, status, create, run, snapshot, and
// every container event). `provider` is the object's own, or the one the
// caller knows it by (a snapshot's provider key, an event's provider).
struct ContainerView {
  std::string_view provider, id, name, image, raw_state, health;
  berth_state state = BERTH_STATE_UNKNOWN;
  std::optional<int> exit_code;
  const Value* labels = nullptr;   // {name: value}, or null
  const Value* routing = nullptr;  // docs/protocol.md, or null
  const Value* raw = nullptr;      // the whole object

  template <class F>  // f(std::string_view name, std::string_view value)
  void for_each_label(F&& f) const {
    if (!labels || !labels->IsObject()) return;
    for (const auto& l : labels->GetObject())
      if (l.value.IsString())
        f(std::string_view(l.name.GetString(), l.name.GetStringLength()),
          std::string_view(l.value.GetString(), l.value.GetStringLength()));
  }
};

inline ContainerView read_container(const Value& c, std::string_view provider = {}) {
  ContainerView v;
  v.raw = &c;
  v.provider = text(c, "provider").empty() ? provider : text(c, "provider");
  v.id = text(c, "id");
  v.name = text(c, "name");
  v.image = text(c, "image");
  v.raw_state = text(c, "raw_state");
  v.health = text(c, "health");
  v.state = protocol::state_from_name(text(c, "state"));
  v.exit_code = int_of(c, "exit_code");
  if (const Value* l = member(c, "labels"); l && l->IsObject()) v.labels = l;
  if (const Value* r = member(c, "routing"); r && r->IsObject()) v.routing = r;
  return v;
}

// ---------------------------------------------------------------- snapshot
struct ProviderView {
  std::string_view name;
  bool up = false, synced = false;
  const Value* containers = nullptr;  // [Container], or null
};
struct SnapshotView {
  std::string_view daemon_name, run_id;
  uint64_t seq = 0;
  std::vector<ProviderView> providers;

  template <class F>  // f(const ContainerView&), each with its provider set
  void for_each_container(F&& f) const {
    for (const auto& p : providers)
      if (p.containers && p.containers->IsArray())
        for (const auto& c : p.containers->GetArray()) f(read_container(c, p.name));
  }
};
// nullopt unless `result` is a snapshot (it has a seq).
inline std::optional<SnapshotView> read_snapshot(const Value& result) {
  const auto seq = uint_of(result, "seq");
  if (!seq) return std::nullopt;
  SnapshotView s;
  s.daemon_name = text(result, "daemon_name");
  s.run_id = text(result, "run_id");
  s.seq = *seq;
  if (const Value* ps = member(result, "providers"); ps && ps->IsObject())
    for (const auto& p : ps->GetObject()) {
      const Value* cs = member(p.value, "containers");
      s.providers.push_back({std::string_view(p.name.GetString(), p.name.GetStringLength()), flag(p.value, "up"),
                             flag(p.value, "synced", true), cs && cs->IsArray() ? cs : nullptr});
    }
  return s;
}

// ---------------------------------------------------------------- messages
// One PUB message's body. `kind` is nullopt for a kind this header does not
// know (a newer daemon's): follow it by `kind_name` and seq, ignore it.
struct MessageView {
  std::optional<protocol::Kind> kind;
  std::string_view kind_name, daemon_name, run_id, time;
  uint64_t seq = 0;
  std::string_view provider;  // container and provider messages
  // container: the event
  berth_event_type type = BERTH_EVENT_OTHER;
  std::string_view type_name, raw_action, origin, health, old_name;
  std::optional<int> exit_code;
  ContainerView container;
  // provider: "up" or "down", and why
  std::string_view state, reason;
};
// nullopt unless `body` is an object with a uint64 seq (every message has one).
inline std::optional<MessageView> read_message(const Value& body) {
  const auto seq = uint_of(body, "seq");
  if (!seq) return std::nullopt;
  MessageView m;
  m.seq = *seq;
  m.kind_name = text(body, "kind");
  m.kind = protocol::kind_from_name(m.kind_name);
  m.daemon_name = text(body, "daemon_name");
  m.run_id = text(body, "run_id");
  m.time = text(body, "time");
  m.provider = text(body, "provider");
  if (m.kind == protocol::Kind::container) {
    m.type_name = text(body, "type");
    m.type = protocol::event_type_from_name(m.type_name);
    m.raw_action = text(body, "raw_action");
    m.origin = text(body, "origin");
    m.health = text(body, "health");
    m.old_name = text(body, "old_name");
    m.exit_code = int_of(body, "exit_code");
    if (const Value* c = member(body, "container"); c && c->IsObject()) m.container = read_container(*c, m.provider);
  } else if (m.kind == protocol::Kind::provider) {
    m.state = text(body, "state");
    m.reason = text(body, "reason");
  }
  return m;
}

}  // namespace berth::client
