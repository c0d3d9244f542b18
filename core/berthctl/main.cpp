// berthctl: the command-line client of berthd (docs/protocol.md).
#include "auth/curve.hpp"
#include "exit_codes.hpp"
#include "table.hpp"

#include <berth/follow.hpp>
#include <berth/protocol.hpp>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace berth::ctl {
namespace {

using Json = rapidjson::Document;
using protocol::Op;

// The op a subcommand runs: the op of its name, as docker names two of them.
Op op_of(const std::string& command) {
  if (command == "rm") return Op::remove;
  if (command == "ps") return Op::list;
  return protocol::op_from_name(command).value_or(Op::ping);  // the parser admits no other
}
using Value = rapidjson::Value;

struct Options {
  std::string command;
  std::vector<std::string> args;
  // One command endpoint per daemon; event endpoints may be fewer (a relay
  // carries every daemon's events).
  std::vector<std::string> endpoints, events_endpoints;
  std::string runtime_dir;
  std::optional<std::string> daemon;  // by daemon_name, when there are several
  std::string server_key, client_key;  // CURVE, as files: never secrets in argv
  std::optional<ClientKeys> curve;
  std::optional<std::string> provider, signal;
  std::optional<int> timeout_s;
  std::vector<std::string> filters;
  bool json = false, all = false, since_snapshot = false, force = false;
  int wait_ms = 0;
  // create / run: IMAGE [COMMAND...] and the spec's options.
  struct Spec {
    std::vector<std::string> image_and_command;
    std::string name, network, memory, log_driver, pull;
    std::vector<std::string> env, labels, volumes, aliases, log_options, ulimits;
    std::optional<double> cpus;
    std::optional<int64_t> pids_limit;
  } spec;
};

[[noreturn]] void usage_error(const std::string& why) {
  std::fprintf(stderr, "berthctl: %s\n(see berthctl --help)\n", why.c_str());
  std::exit(kUsage);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The command line, with each command's own options: an option another
// command takes (`ps --timeout 5`) is an error, not silently ignored.
Options parse_args(int argc, char** argv) {
  Options o;
  CLI::App app{"berthctl: the command-line client of berthd (docs/protocol.md)", "berthctl"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may come after the command too
  app.allow_extras();  // create/run: IMAGE [COMMAND...]; refused for every other command below
  app.footer(
      "exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 unavailable, 5 conflict,\n"
      "            6 unsupported, 7 timeout, 8 permission denied, 9 invalid argument");
  app.add_option("--endpoint", o.endpoints,
                 "a daemon's command socket, repeatable for several daemons (env BERTH_ENDPOINT, comma-separated; "
                 "default ipc://RUNTIME_DIR/commands.sock)")
      ->allow_extra_args(false);
  app.add_option("--events-endpoint", o.events_endpoints,
                 "an event socket, repeatable: each daemon's, or one relay's (env BERTH_EVENTS_ENDPOINT; default: "
                 "beside each ipc command socket)")
      ->allow_extra_args(false);
  app.add_option("--daemon", o.daemon, "with several daemons: the one to act on, by its daemon_name");
  app.add_option("--runtime-dir", o.runtime_dir, "where the default endpoints live (env BERTH_RUNTIME_DIR)");
  app.add_option("--server-key", o.server_key,
                 "berthd's CURVE public key: a .pub file or 40 Z85 characters (env BERTH_SERVER_KEY)");
  app.add_option("--client-key", o.client_key, "this client's key file from `berthctl keygen` (env BERTH_CLIENT_KEY)");
  app.add_flag("--json", o.json, "machine-readable output");
  app.add_option("--wait-ms", o.wait_ms, "how long to wait for the daemon (default: the op's deadline + 5 s)")
      ->check(CLI::NonNegativeNumber);

  auto provider = [&](CLI::App* c) { c->add_option("--provider", o.provider, "the provider instance"); };
  auto name = [&](CLI::App* c) { c->add_option("NAME", o.args, "container: name, id or id prefix")->required()->expected(1); };
  auto timeout = [&](CLI::App* c) {
    c->add_option("-t,--timeout", o.timeout_s, "seconds to wait before killing")->check(CLI::NonNegativeNumber);
  };
  auto signal = [&](CLI::App* c) { c->add_option("-s,--signal", o.signal, "SIGTERM, TERM, 15, ..."); };

  auto* ps = app.add_subcommand("ps", "containers across providers");
  ps->add_flag("-a,--all", o.all, "stopped ones too");
  provider(ps);
  auto* events = app.add_subcommand("events", "live event stream");
  events->add_option("-f,--filter", o.filters, "KEY=VALUE; keys: provider, type, name (repeatable)");
  events->add_flag("--since-snapshot", o.since_snapshot, "first print the current state");
  provider(events);
  // One subcommand per op that acts on a container or makes one, with the
  // options the op's row says it takes (sdk/include/berth/protocol.hpp).
  const std::map<Op, const char*> help = {
      {Op::inspect, "full detail, as JSON"},
      {Op::status, "the container's state"},
      {Op::stop, "stop a container (signal, wait, then kill)"},
      {Op::restart, "stop, then start"},
      {Op::kill, "send a signal (default SIGKILL)"},
      {Op::remove, "remove a container (gone already: fine)"},
      {Op::create, "make a container from an image (not started)"},
      {Op::run, "create and start a container (removed again if the start fails)"},
      {Op::providers, "provider instances, health, calls and capabilities"},
      {Op::ping, "is the daemon there?"},
      {Op::version, "daemon and ABI versions"},
  };
  for (size_t i = 0; i < protocol::kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const auto& info = protocol::info(op);
    if (op == Op::list || op == Op::snapshot) continue;  // ps, and events --since-snapshot: below
    const std::string cmd = op == Op::remove ? "rm" : std::string(info.name);
    const auto h = help.find(op);
    auto* sub = app.add_subcommand(cmd, h != help.end() ? h->second : cmd + " a container");
    if (info.cls == protocol::OpClass::daemon) continue;  // asks berthd itself
    provider(sub);
    if (info.takes & protocol::takes_timeout) timeout(sub);
    if (info.takes & protocol::takes_signal) signal(sub);
    if (info.takes & protocol::takes_force) sub->add_flag("-f,--force", o.force, "kill it first if it runs");
    if (info.needs == protocol::Needs::container) {
      name(sub);
      continue;
    }
    auto& s = o.spec;
    sub->add_option("--name", s.name, "the container's name");
    sub->add_option("-e,--env", s.env, "KEY=VALUE (repeatable)")->allow_extra_args(false);
    sub->add_option("-l,--label", s.labels, "KEY=VALUE (repeatable)")->allow_extra_args(false);
    sub->add_option("-v,--mount", s.volumes, "SOURCE:DESTINATION[:ro], a bind mount (repeatable)")->allow_extra_args(false);
    sub->add_option("--network", s.network, "an existing network");
    sub->add_option("--alias", s.aliases, "a name on --network (repeatable)")->allow_extra_args(false);
    sub->add_option("-m,--memory", s.memory, "memory limit: BYTES, or with k, m, g");
    sub->add_option("--cpus", s.cpus, "CPU limit, 0.5 = half a CPU")->check(CLI::NonNegativeNumber);
    sub->add_option("--pids-limit", s.pids_limit, "process limit")->check(CLI::NonNegativeNumber);
    sub->add_option("--log-driver", s.log_driver, "the engine's log driver");
    sub->add_option("--log-opt", s.log_options, "KEY=VALUE for the log driver (repeatable)")->allow_extra_args(false);
    sub->add_option("--pull", s.pull, "image pull policy")->check(CLI::IsMember({"always", "if_missing", "never"}));
    sub->add_option("--ulimit", s.ulimits, "NAME=SOFT:HARD (repeatable)")->allow_extra_args(false);
    // IMAGE and everything after it (the command, options and all).
    sub->prefix_command();
    sub->allow_extras();
  }
  auto* keygen = app.add_subcommand("keygen", "write a CURVE key pair: FILE (secret, mode 0600) and FILE.pub");
  keygen->add_option("FILE", o.args, "where to write the key pair")->required()->expected(1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(kOk);
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    std::exit(kOk);
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }
  o.command = app.get_subcommands().front()->get_name();
  // create / run stop option parsing at IMAGE (prefix_command): it and
  // what follows, options and all, are the container's.
  auto extras = app.get_subcommands().front()->remaining();
  for (auto& x : app.remaining()) extras.push_back(x);
  if (protocol::info(op_of(o.command)).needs == protocol::Needs::spec) {
    o.spec.image_and_command = std::move(extras);
    if (o.spec.image_and_command.empty()) usage_error(o.command + ": IMAGE required");
  } else if (!extras.empty()) {
    usage_error("unexpected argument \"" + extras.front() + "\" for " + o.command);
  }
  for (const auto& f : o.filters) {
    const auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0) usage_error("--filter takes KEY=VALUE, not \"" + f + "\"");
    const std::string key = f.substr(0, eq);
    if (key != "provider" && key != "type" && key != "name")
      usage_error("--filter key must be provider, type or name, not \"" + key + "\"");
  }
  if (o.command != "keygen") {
    auto keys = client_keys(o.server_key, o.client_key);
    if (!keys) usage_error(keys.error().message());
    o.curve = std::move(*keys);
  }
  if (o.runtime_dir.empty()) o.runtime_dir = protocol::default_runtime_dir();
  auto split = [](const std::string& list) {
    std::vector<std::string> out;
    for (size_t at = 0; at <= list.size();) {
      const size_t comma = std::min(list.find(',', at), list.size());
      if (comma > at) out.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
    return out;
  };
  if (o.endpoints.empty()) o.endpoints = split(env_or("BERTH_ENDPOINT", "ipc://" + o.runtime_dir + "/commands.sock"));
  if (o.events_endpoints.empty()) o.events_endpoints = split(env_or("BERTH_EVENTS_ENDPOINT", ""));
  if (o.events_endpoints.empty())
    for (const auto& e : o.endpoints) {
      // An ipc command socket has its event socket beside it.
      const auto at = e.rfind("/commands.sock");
      if (e.rfind("ipc://", 0) != 0 || at == std::string::npos) {
        if (o.command == "events") usage_error("--events-endpoint is needed for " + e);
        continue;
      }
      o.events_endpoints.push_back(e.substr(0, at) + "/events.sock");
    }
  return o;
}

std::string to_json(const Value& v, bool pretty) {
  rapidjson::StringBuffer buf;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    v.Accept(w);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
  }
  return {buf.GetString(), buf.GetSize()};
}

std::string str(const Value& v, const char* key) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return "";
  return it->value.GetString();
}

class Daemon {
 public:
  Daemon(const Options& o, zmq::context_t& zmq, std::string endpoint)
      : o_(o), zmq_(zmq), endpoint_(std::move(endpoint)) {}

  const std::string& endpoint() const { return endpoint_; }

  // Sends one request; exits with a meaningful code on any failure.
  Json call(Value& request, int op_deadline_ms = 15000) {
    require_socket(endpoint_);
    zmq::socket_t req(zmq_, zmq::socket_type::req);
    const int wait = o_.wait_ms > 0 ? o_.wait_ms : op_deadline_ms + 5000;
    req.set(zmq::sockopt::linger, 0);
    auto watch = secure(req);
    req.connect(endpoint_);
    Json doc;
    const std::string body = to_json(request, false);
    req.send(zmq::buffer(body), zmq::send_flags::none);
    zmq::message_t reply;
    if (!receive(req, reply, watch.get(), std::chrono::milliseconds(wait))) {
      std::fprintf(stderr, "berthctl: no answer from berthd at %s within %d ms (is it running?)\n",
                   endpoint_.c_str(), wait);
      std::exit(kUnavailable);
    }
    doc.Parse(static_cast<const char*>(reply.data()), reply.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("ok")) {
      std::fprintf(stderr, "berthctl: unreadable reply from berthd\n");
      std::exit(kFailed);
    }
    if (!doc["ok"].GetBool()) {
      const auto& err = doc["error"];
      if (o_.json) std::printf("%s\n", to_json(doc, true).c_str());
      else std::fprintf(stderr, "berthctl: %s: %s\n", str(err, "code").c_str(), str(err, "message").c_str());
      std::exit(exit_for(str(err, "code")));
    }
    return doc;
  }

  zmq::context_t& zmq() { return zmq_; }

  // Makes `s` a CURVE client when keys are given, watched so that a refused
  // key ends berthctl with that reason rather than a timeout.
  std::unique_ptr<HandshakeWatch> secure(zmq::socket_t& s) {
    if (!o_.curve) return nullptr;
    if (auto st = make_curve_client(s, o_.curve->server_public, o_.curve->client); !st) {
      std::fprintf(stderr, "berthctl: %s\n", st.message().c_str());
      std::exit(kFailed);
    }
    return std::make_unique<HandshakeWatch>(zmq_, s);
  }

  // One message from `s` within `wait` (forever if negative); false on
  // timeout. Exits with permission_denied when the handshake is refused.
  static bool receive(zmq::socket_t& s, zmq::message_t& out, HandshakeWatch* watch, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0},
                                 {watch ? watch->socket().handle() : nullptr, 0, ZMQ_POLLIN, 0}};
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (wait.count() < 0) left = std::chrono::milliseconds(-1);
      else if (left.count() <= 0) return false;
      zmq::poll(items, watch ? 2 : 1, left);
      if (watch && (items[1].revents & ZMQ_POLLIN))
        if (auto why = watch->refusal()) {
          std::fprintf(stderr, "berthctl: %s\n", why->c_str());
          std::exit(kPermission);
        }
      if ((items[0].revents & ZMQ_POLLIN) && s.recv(out, zmq::recv_flags::dontwait)) return true;
    }
  }

  // An ipc:// endpoint without its socket file means no daemon: say so now
  // instead of waiting out the timeout.
  static void require_socket(const std::string& endpoint) {
    if (endpoint.rfind("ipc://", 0) != 0) return;
    const std::string path = endpoint.substr(6);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      std::fprintf(stderr, "berthctl: berthd is not running (no socket at %s)\n", path.c_str());
      std::exit(kUnavailable);
    }
  }

 private:
  const Options& o_;
  zmq::context_t& zmq_;
  std::string endpoint_;
};

Json request(Op op) {
  Json r(rapidjson::kObjectType);
  const std::string_view name = protocol::op_name(op);
  r.AddMember("op", rapidjson::StringRef(name.data(), name.size()), r.GetAllocator());
  return r;
}

// How long berthd promises to answer within when the request names no
// timeout_ms (docs/protocol.md, its default settings): the op's deadline rule.
int deadline_ms(Op op, std::optional<int> timeout_s) {
  switch (protocol::info(op).deadline) {
    case protocol::Deadline::stop: return timeout_s.value_or(10) * 1000 + 10000;
    case protocol::Deadline::standard: return timeout_s ? *timeout_s * 1000 + 10000 : 15000;
    case protocol::Deadline::none: break;
  }
  return 5000;
}

void add(Json& r, const char* key, const std::string& v) {
  r.AddMember(rapidjson::StringRef(key), Value(v.c_str(), r.GetAllocator()), r.GetAllocator());
}

std::string short_id(const std::string& id) { return id.size() > 12 ? id.substr(0, 12) : id; }

// "web→127.0.0.1:8080" per route, from the container's parsed routing.
std::string routes_of(const Value& c) {
  auto it = c.FindMember("routing");
  if (it == c.MemberEnd() || !it->value.IsObject() || !it->value.HasMember("routes")) return "";
  std::string out;
  for (const auto& r : it->value["routes"].GetArray()) {
    if (!out.empty()) out += ",";
    out += str(r, "alias");
    const std::string host = str(r, "host");
    if (r.HasMember("port") && r["port"].IsInt())
      out += fmt::format("→{}:{}", host.empty() ? "?" : host, r["port"].GetInt());
  }
  return out;
}

using Daemons = std::vector<Daemon>;

// Every daemon's containers in one table (a DAEMON column when there are
// several); a daemon or provider that could not answer is named on stderr.
int cmd_ps(Daemons& ds, const Options& o) {
  std::vector<Json> replies;
  for (auto& d : ds) {
    auto r = request(Op::list);
    if (o.provider) add(r, "provider", *o.provider);
    replies.push_back(d.call(r));
  }
  if (o.json) {
    if (replies.size() == 1) return std::printf("%s\n", to_json(replies[0]["result"], true).c_str()), kOk;
    Json all(rapidjson::kArrayType);
    for (auto& r : replies) all.PushBack(Value(r["result"], all.GetAllocator()), all.GetAllocator());
    return std::printf("%s\n", to_json(all, true).c_str()), kOk;
  }
  const bool several = ds.size() > 1;
  std::vector<std::string> head = {"PROVIDER", "NAME", "ID", "STATE", "IMAGE", "ROUTES"};
  if (several) head.insert(head.begin(), "DAEMON");
  Table t(head);
  bool errors = false;
  for (auto& r : replies) {
    const auto& result = r["result"];
    const std::string daemon = str(result, "daemon_name");
    for (const auto& c : result["containers"].GetArray()) {
      const std::string state = str(c, "state");
      const berth_state st = protocol::state_from_name(state);
      if (!o.all && st != BERTH_STATE_RUNNING && st != BERTH_STATE_PAUSED) continue;
      std::vector<std::string> row = {str(c, "provider"), str(c, "name"), short_id(str(c, "id")), state,
                                      str(c, "image"), routes_of(c)};
      if (several) row.insert(row.begin(), daemon);
      t.add(row);
    }
    for (const auto& e : result["errors"].GetArray()) {
      errors = true;
      std::fprintf(stderr, "berthctl: %s%sprovider %s: %s: %s\n", several ? daemon.c_str() : "", several ? ": " : "",
                   str(e, "provider").c_str(), str(e["error"], "code").c_str(), str(e["error"], "message").c_str());
    }
  }
  t.print();
  return errors ? kUnavailable : kOk;
}

int cmd_providers(Daemons& ds, const Options& o) {
  const bool several = ds.size() > 1;
  std::vector<std::string> head = {"NAME", "PLUGIN", "VERSION", "STATE", "CONTAINERS", "CAPABILITIES"};
  if (several) head.insert(head.begin(), "DAEMON");
  Table t(head);
  Json all(rapidjson::kArrayType);
  for (auto& d : ds) {
    std::string daemon;
    if (several) {
      auto ping = request(Op::ping);
      daemon = str(d.call(ping, 5000)["result"], "daemon_name");
    }
    auto r = request(Op::providers);
    auto reply = d.call(r);
    for (const auto& p : reply["result"].GetArray()) {
      if (o.json) {
        Value copy(p, all.GetAllocator());
        if (several) copy.AddMember("daemon_name", Value(daemon.c_str(), all.GetAllocator()), all.GetAllocator());
        all.PushBack(copy, all.GetAllocator());
        continue;
      }
      std::string caps;
      for (const auto& c : p["capabilities"].GetArray()) caps += (caps.empty() ? "" : ",") + std::string(c.GetString());
      std::vector<std::string> row = {str(p, "name"), str(p, "plugin"), str(p, "plugin_version"),
                                      p["up"].GetBool() ? "up" : "down", std::to_string(p["containers"].GetUint()), caps};
      if (several) row.insert(row.begin(), daemon);
      t.add(row);
    }
  }
  if (o.json) return std::printf("%s\n", to_json(all, true).c_str()), kOk;
  t.print();
  return kOk;
}

// With several daemons: the one --daemon names, else the one whose view
// holds the container (by name, id or id prefix; berthd's snapshot, no
// engine asked). create/run need --daemon.
Daemon& pick(Daemons& ds, const Options& o, const std::string* container) {
  if (ds.size() == 1) return ds.front();
  if (o.daemon) {
    for (auto& d : ds) {
      auto ping = request(Op::ping);
      if (str(d.call(ping, 5000)["result"], "daemon_name") == *o.daemon) return d;
    }
    std::fprintf(stderr, "berthctl: not_found: no daemon named \"%s\" at the given endpoints\n", o.daemon->c_str());
    std::exit(kNotFound);
  }
  if (!container) usage_error(o.command + " with several daemons: name one with --daemon");
  std::vector<std::pair<Daemon*, std::string>> knowing;
  for (auto& d : ds) {
    auto r = request(Op::snapshot);
    if (o.provider) add(r, "provider", *o.provider);
    auto snap = d.call(r);
    bool found = false;
    for (const auto& [name, p] : snap["result"]["providers"].GetObject())
      for (const auto& c : p["containers"].GetArray()) {
        const std::string id = str(c, "id");
        if (str(c, "name") == *container || id.rfind(*container, 0) == 0) found = true;
      }
    if (found) knowing.emplace_back(&d, str(snap["result"], "daemon_name"));
  }
  if (knowing.empty()) {
    std::fprintf(stderr, "berthctl: not_found: no daemon knows container \"%s\"\n", container->c_str());
    std::exit(kNotFound);
  }
  if (knowing.size() > 1) {
    std::string names;
    for (const auto& k : knowing) names += (names.empty() ? "" : ", ") + k.second;
    std::fprintf(stderr, "berthctl: ambiguous: container \"%s\" exists on daemons %s: name one with --daemon\n",
                 container->c_str(), names.c_str());
    std::exit(kConflict);
  }
  return *knowing.front().first;
}

int cmd_container_op(Daemons& ds, const Options& o) {
  Daemon& d = pick(ds, o, &o.args[0]);
  const Op op = op_of(o.command);
  auto r = request(op);
  add(r, "container", o.args[0]);
  if (o.provider) add(r, "provider", *o.provider);
  if (o.signal) add(r, "signal", *o.signal);
  if (o.force) r.AddMember("force", true, r.GetAllocator());
  if (o.timeout_s) r.AddMember("timeout", *o.timeout_s, r.GetAllocator());
  auto reply = d.call(r, deadline_ms(op, o.timeout_s));
  const auto& result = reply["result"];
  if (o.json) std::printf("%s\n", to_json(result, true).c_str());
  else if (op == Op::inspect) std::printf("%s\n", to_json(result, true).c_str());
  else if (op == Op::status) std::printf("%s\n", str(result, "state").c_str());
  else std::printf("%s\n", o.args[0].c_str());  // as docker does
  return kOk;
}

// "KEY=VALUE" → {"KEY": "VALUE"} under `field` of `spec`.
void add_pairs(Json& r, Value& spec, const char* field, const std::vector<std::string>& pairs, const char* what) {
  if (pairs.empty()) return;
  Value m(rapidjson::kObjectType);
  for (const auto& p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) usage_error(std::string(what) + " takes KEY=VALUE, not \"" + p + "\"");
    m.AddMember(Value(p.substr(0, eq).c_str(), r.GetAllocator()), Value(p.substr(eq + 1).c_str(), r.GetAllocator()),
                r.GetAllocator());
  }
  spec.AddMember(rapidjson::StringRef(field), m, r.GetAllocator());
}

// "512", "64k", "256m", "2g" → bytes.
std::optional<int64_t> bytes_of(std::string_view s) {
  int64_t unit = 1;
  if (!s.empty()) {
    switch (s.back() | 0x20) {
      case 'k': unit = int64_t{1} << 10; break;
      case 'm': unit = int64_t{1} << 20; break;
      case 'g': unit = int64_t{1} << 30; break;
      case 'b': break;
      default: unit = 0;
    }
    if (unit != 0) s.remove_suffix(1);
    else unit = 1;
  }
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n < 0 || n > (int64_t{1} << 50) / unit)
    return std::nullopt;
  return n * unit;
}

Value spec_json(Json& r, const Options::Spec& s) {
  auto& a = r.GetAllocator();
  Value spec(rapidjson::kObjectType);
  spec.AddMember("image", Value(s.image_and_command[0].c_str(), a), a);
  if (!s.name.empty()) spec.AddMember("name", Value(s.name.c_str(), a), a);
  if (s.image_and_command.size() > 1) {
    Value cmd(rapidjson::kArrayType);
    for (size_t i = 1; i < s.image_and_command.size(); ++i) cmd.PushBack(Value(s.image_and_command[i].c_str(), a), a);
    spec.AddMember("command", cmd, a);
  }
  add_pairs(r, spec, "env", s.env, "--env");
  add_pairs(r, spec, "labels", s.labels, "--label");
  add_pairs(r, spec, "log_options", s.log_options, "--log-opt");
  if (!s.volumes.empty()) {
    Value mounts(rapidjson::kArrayType);
    for (const auto& v : s.volumes) {
      const auto c1 = v.find(':');
      const auto c2 = c1 == std::string::npos ? c1 : v.find(':', c1 + 1);
      const std::string mode = c2 == std::string::npos ? "" : v.substr(c2 + 1);
      if (c1 == std::string::npos || (c2 != std::string::npos && mode != "ro" && mode != "rw"))
        usage_error("--mount takes SOURCE:DESTINATION[:ro], not \"" + v + "\"");
      Value m(rapidjson::kObjectType);
      m.AddMember("source", Value(v.substr(0, c1).c_str(), a), a);
      m.AddMember("destination", Value(v.substr(c1 + 1, c2 - c1 - 1).c_str(), a), a);
      m.AddMember("read_only", mode == "ro", a);
      mounts.PushBack(m, a);
    }
    spec.AddMember("mounts", mounts, a);
  }
  if (!s.network.empty()) spec.AddMember("network", Value(s.network.c_str(), a), a);
  if (!s.aliases.empty()) {
    Value al(rapidjson::kArrayType);
    for (const auto& x : s.aliases) al.PushBack(Value(x.c_str(), a), a);
    spec.AddMember("aliases", al, a);
  }
  if (!s.memory.empty()) {
    auto b = bytes_of(s.memory);
    if (!b) usage_error("--memory takes BYTES or a number with k, m or g, not \"" + s.memory + "\"");
    spec.AddMember("memory", *b, a);
  }
  if (s.cpus) spec.AddMember("cpus", *s.cpus, a);
  if (s.pids_limit) spec.AddMember("pids_limit", *s.pids_limit, a);
  if (!s.log_driver.empty()) spec.AddMember("log_driver", Value(s.log_driver.c_str(), a), a);
  if (!s.pull.empty()) spec.AddMember("pull", Value(s.pull.c_str(), a), a);
  if (!s.ulimits.empty()) {
    Value u(rapidjson::kObjectType);
    for (const auto& x : s.ulimits) {
      const auto eq = x.find('='), colon = x.find(':');
      int64_t soft = 0, hard = 0;
      const bool ok = eq != std::string::npos && colon != std::string::npos && colon > eq &&
                      std::from_chars(x.data() + eq + 1, x.data() + colon, soft).ptr == x.data() + colon &&
                      std::from_chars(x.data() + colon + 1, x.data() + x.size(), hard).ptr == x.data() + x.size();
      if (!ok) usage_error("--ulimit takes NAME=SOFT:HARD, not \"" + x + "\"");
      Value l(rapidjson::kObjectType);
      l.AddMember("soft", soft, a);
      l.AddMember("hard", hard, a);
      u.AddMember(Value(x.substr(0, eq).c_str(), a), l, a);
    }
    spec.AddMember("ulimits", u, a);
  }
  return spec;
}

// create / run: prints the new container's name, or its id when unnamed.
int cmd_create(Daemons& ds, const Options& o) {
  Daemon& d = pick(ds, o, nullptr);
  auto r = request(op_of(o.command));
  if (o.provider) add(r, "provider", *o.provider);
  Value spec = spec_json(r, o.spec);
  r.AddMember("spec", spec, r.GetAllocator());
  auto reply = d.call(r, 15000);
  const auto& result = reply["result"];
  if (o.json) std::printf("%s\n", to_json(result, true).c_str());
  else std::printf("%s\n", str(result, o.spec.name.empty() ? "id" : "name").c_str());
  return kOk;
}

bool matches(const Options& o, const Value& ev) {
  for (const auto& f : o.filters) {
    const std::string key = f.substr(0, f.find('=')), want = f.substr(f.find('=') + 1);
    std::string have = key == "provider" ? str(ev, "provider")
                       : key == "type"   ? str(ev, "type")
                                         : str(ev["container"], "name");
    if (have != want) return false;
  }
  return true;
}

void print_event(const Options& o, const Value& ev, bool several) {
  if (o.json) {
    // One line per event, flushed: a pipe reader sees each as it happens.
    std::printf("%s\n", to_json(ev, false).c_str());
    std::fflush(stdout);
    return;
  }
  const auto& c = ev["container"];
  std::string extra;
  if (ev["exit_code"].IsInt()) extra = fmt::format(" exit_code={}", ev["exit_code"].GetInt());
  if (ev["health"].IsString()) extra += " health=" + std::string(ev["health"].GetString());
  if (str(ev, "origin") == "resync") extra += " (resync)";
  const std::string who = several ? str(ev, "daemon_name") + ": " : "";
  std::printf("%s  %s%-8s %-9s %s (%s)%s\n", str(ev, "time").c_str(), who.c_str(), str(ev, "provider").c_str(),
              str(ev, "type").c_str(), str(c, "name").c_str(), short_id(str(c, "id")).c_str(), extra.c_str());
  std::fflush(stdout);
}

// Prints a daemon's snapshot (--since-snapshot): what it holds, line by line.
void print_snapshot(const Options& o, const Value& result, bool several) {
  if (o.json) {
    std::printf("%s\n", to_json(result, false).c_str());
  } else {
    const std::string daemon = str(result, "daemon_name");
    for (const auto& [name, p] : result["providers"].GetObject())
      for (const auto& c : p["containers"].GetArray())
        std::printf("snapshot  %s%s%-8s %-9s %s (%s)\n", several ? daemon.c_str() : "", several ? "  " : "",
                    name.GetString(), str(c, "state").c_str(), str(c, "name").c_str(), short_id(str(c, "id")).c_str());
  }
  std::fflush(stdout);
}

// One SUB on every event endpoint (each daemon's, or a relay's), and the
// follow rule per daemon_name (berth/follow.hpp): seq is per daemon and per
// run. With --since-snapshot the view starts from each daemon's snapshot
// and a restarted daemon's is printed again; without, the stream is taken
// from wherever it is, and a restart or a gap is said on stderr.
int cmd_events(Daemons& ds, const Options& o, zmq::context_t& zmq) {
  zmq::socket_t sub(zmq, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, "container/");
  sub.set(zmq::sockopt::subscribe, "provider/");
  sub.set(zmq::sockopt::subscribe, "daemon/");
  auto watch = ds.front().secure(sub);
  for (const auto& e : o.events_endpoints) {
    Daemon::require_socket(e);
    sub.connect(e);
  }
  const bool several = ds.size() > 1;
  std::map<std::string, follow::Follow> follows;  // by daemon_name
  std::map<std::string, Daemon*> by_name;         // whose snapshot to take
  auto take_snapshot = [&](Daemon& d) {
    auto r = request(Op::snapshot);
    if (o.provider) add(r, "provider", *o.provider);
    auto reply = d.call(r);
    const auto& result = reply["result"];
    const std::string daemon = str(result, "daemon_name");
    by_name[daemon] = &d;
    follows[daemon].on_snapshot(str(result, "run_id"), result["seq"].GetUint64());
    print_snapshot(o, result, several);
  };
  // Clone pattern: subscribed first, so nothing after a snapshot is lost.
  if (o.since_snapshot)
    for (auto& d : ds) take_snapshot(d);
  for (;;) {
    std::vector<zmq::message_t> parts(1);
    if (!Daemon::receive(sub, parts[0], watch.get(), std::chrono::milliseconds(-1))) continue;
    while (parts.back().more())
      if (!sub.recv(parts.emplace_back())) break;
    if (parts.size() != 2) continue;
    Json ev;
    ev.Parse(static_cast<const char*>(parts[1].data()), parts[1].size());
    if (ev.HasParseError() || !ev.IsObject() || !ev.HasMember("seq") || !ev["seq"].IsUint64()) continue;
    const uint64_t seq = ev["seq"].GetUint64();
    const std::string kind = str(ev, "kind"), daemon = str(ev, "daemon_name"), run = str(ev, "run_id");
    const std::string who = several ? daemon + ": " : "";
    follow::Follow& f = follows[daemon];
    follow::Step step = f.on_message(run, kind, seq);
    if (step.action == follow::Action::hold || step.action == follow::Action::resync) {
      if (step.reason == follow::Reason::new_run)
        std::fprintf(stderr, "berthctl: %sberthd restarted (run %s%s%s)\n", who.c_str(), run.c_str(),
                     f.run().empty() ? "" : ", was ", f.run().c_str());
      auto known = by_name.find(daemon);
      if (o.since_snapshot && known != by_name.end()) {
        std::fprintf(stderr, "berthctl: %s%s: taking a snapshot\n", who.c_str(),
                     std::string(follow::reason_text(step.reason)).c_str());
        take_snapshot(*known->second);
      } else {
        // A live tail starts where the stream is; what it missed is said.
        const uint64_t had = f.synced() && step.reason != follow::Reason::new_run ? f.seq() : 0;
        f.start_at(run, kind, seq);
        if (f.seq() > had && step.reason != follow::Reason::no_snapshot)
          std::fprintf(stderr, "berthctl: %smissed %llu event(s)%s\n", who.c_str(),
                       static_cast<unsigned long long>(f.seq() - had),
                       step.reason == follow::Reason::new_run ? " of the new run (published before this reconnected)" : "");
      }
      step = f.on_message(run, kind, seq);
    }
    if (step.action != follow::Action::apply) {
      if (step.reason == follow::Reason::stopping) {
        std::fprintf(stderr, "berthctl: %sberthd is stopping\n", who.c_str());
        if (!several) return kUnavailable;
      }
      continue;
    }
    if (kind == "provider") {
      if (o.filters.empty() && !o.json)
        std::printf("%s  %s%-8s provider  %s %s\n", str(ev, "time").c_str(), who.c_str(), str(ev, "provider").c_str(),
                    str(ev, "state").c_str(), str(ev, "reason").c_str());
      else if (o.json) std::printf("%s\n", to_json(ev, false).c_str());
      std::fflush(stdout);  // every line, also when piped
      continue;
    }
    if (o.provider && str(ev, "provider") != *o.provider) continue;
    if (matches(o, ev)) print_event(o, ev, several);
  }
}

int cmd_keygen(const Options& o) {
  KeyPair keys;
  if (auto st = write_key_pair(o.args.at(0), keys); !st) {
    std::fprintf(stderr, "berthctl: %s\n", st.message().c_str());
    return kFailed;
  }
  std::printf("wrote %s (secret: keep it, mode 0600) and %s.pub (public: hand it out)\npublic key: %s\n",
              o.args[0].c_str(), o.args[0].c_str(), keys.public_key.c_str());
  return kOk;
}

int run(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const std::string& c = o.command;
  if (c == "keygen") return cmd_keygen(o);
  zmq::context_t zmq;
  Daemons ds;
  for (const auto& e : o.endpoints) ds.emplace_back(o, zmq, e);
  if (c == "ps") return cmd_ps(ds, o);
  if (c == "events") return cmd_events(ds, o, zmq);
  if (op_of(c) == Op::providers) return cmd_providers(ds, o);
  if (protocol::info(op_of(c)).cls == protocol::OpClass::daemon) {
    for (auto& d : ds) {
      auto r = request(op_of(c));
      auto reply = d.call(r, deadline_ms(op_of(c), {}));
      const auto& result = reply["result"];
      if (o.json || op_of(c) == Op::version) std::printf("%s\n", to_json(result, true).c_str());
      else if (ds.size() > 1)
        std::printf("%s: pong (seq %llu)\n", str(result, "daemon_name").c_str(),
                    (unsigned long long)result["seq"].GetUint64());
      else std::printf("pong (seq %llu)\n", (unsigned long long)result["seq"].GetUint64());
    }
    return kOk;
  }
  if (protocol::info(op_of(c)).needs == protocol::Needs::spec) return cmd_create(ds, o);
  return cmd_container_op(ds, o);  // the parser admits no other command
}

}  // namespace
}  // namespace berth::ctl

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return berth::ctl::run(argc, argv);
}
