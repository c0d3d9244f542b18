// berthctl: the command-line client of berthd (docs/protocol.md).
#include "auth/curve.hpp"
#include "exit_codes.hpp"
#include "table.hpp"

#include <berth/client.hpp>
#include <berth/follow.hpp>
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
using client::Reply;
using client::Request;
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
    sub->add_option("--pull", s.pull, "image pull policy")
        ->check(CLI::IsMember(std::vector<std::string>(protocol::kPullPolicyNames.begin(), protocol::kPullPolicyNames.end())));
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

std::string str(const Value& v, const char* key) { return std::string(client::text(v, key)); }

class Daemon {
 public:
  Daemon(const Options& o, zmq::context_t& zmq, std::string endpoint)
      : o_(o), zmq_(zmq), endpoint_(std::move(endpoint)) {}

  const std::string& endpoint() const { return endpoint_; }

  // Sends one request; exits with a meaningful code on any failure.
  // Waits for the op's deadline + 5 s unless --wait-ms says otherwise.
  Reply call(const Request& request) {
    require_socket(endpoint_);
    zmq::socket_t req(zmq_, zmq::socket_type::req);
    const int64_t wait = o_.wait_ms > 0 ? o_.wait_ms : request.deadline_ms() + 5000;
    req.set(zmq::sockopt::linger, 0);
    auto watch = secure(req);
    req.connect(endpoint_);
    const std::string body = request.json();
    req.send(zmq::buffer(body), zmq::send_flags::none);
    zmq::message_t message;
    if (!receive(req, message, watch.get(), std::chrono::milliseconds(wait))) {
      std::fprintf(stderr, "berthctl: no answer from berthd at %s within %lld ms (is it running?)\n",
                   endpoint_.c_str(), static_cast<long long>(wait));
      std::exit(kUnavailable);
    }
    auto reply = Reply::parse({static_cast<const char*>(message.data()), message.size()});
    if (!reply.readable()) {
      std::fprintf(stderr, "berthctl: unreadable reply from berthd\n");
      std::exit(kFailed);
    }
    if (!reply.ok()) {
      if (o_.json) std::printf("%s\n", to_json(reply.document(), true).c_str());
      else fmt::print(stderr, "berthctl: {}: {}\n", reply.error().name, reply.error().message);
      std::exit(reply.exit_status());
    }
    return reply;
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

// A request of `op`, to the provider --provider names, if any.
Request request(Op op, const Options& o) {
  Request r(op);
  if (o.provider) r.provider(*o.provider);
  return r;
}

std::string_view short_id(std::string_view id) { return id.substr(0, 12); }

// "web→127.0.0.1:8080" per route, from the container's parsed routing.
std::string routes_of(const client::ContainerView& c) {
  if (!c.routing) return "";
  std::string out;
  for (const auto& r : client::elements(*c.routing, "routes")) {
    if (!out.empty()) out += ",";
    out += client::text(r, "alias");
    const std::string_view host = client::text(r, "host");
    if (const auto port = client::int_of(r, "port")) out += fmt::format("→{}:{}", host.empty() ? "?" : host, *port);
  }
  return out;
}

using Daemons = std::vector<Daemon>;

// Every daemon's containers in one table (a DAEMON column when there are
// several); a daemon or provider that could not answer is named on stderr.
int cmd_ps(Daemons& ds, const Options& o) {
  std::vector<Reply> replies;
  for (auto& d : ds) replies.push_back(d.call(request(Op::list, o)));
  if (o.json) {
    if (replies.size() == 1) return std::printf("%s\n", to_json(replies[0].result(), true).c_str()), kOk;
    Json all(rapidjson::kArrayType);
    for (auto& r : replies) all.PushBack(Value(r.result(), all.GetAllocator()), all.GetAllocator());
    return std::printf("%s\n", to_json(all, true).c_str()), kOk;
  }
  const bool several = ds.size() > 1;
  std::vector<std::string> head = {"PROVIDER", "NAME", "ID", "STATE", "IMAGE", "ROUTES"};
  if (several) head.insert(head.begin(), "DAEMON");
  Table t(head);
  bool errors = false;
  for (auto& r : replies) {
    const auto& result = r.result();
    const std::string daemon = str(result, "daemon_name");
    for (const auto& v : client::elements(result, "containers")) {
      const auto c = client::read_container(v);
      if (!o.all && c.state != BERTH_STATE_RUNNING && c.state != BERTH_STATE_PAUSED) continue;
      std::vector<std::string> row = {std::string(c.provider), std::string(c.name), std::string(short_id(c.id)),
                                      std::string(protocol::state_name(c.state)), std::string(c.image), routes_of(c)};
      if (several) row.insert(row.begin(), daemon);
      t.add(row);
    }
    for (const auto& e : client::elements(result, "errors")) {
      errors = true;
      const Value* error = client::member(e, "error");
      fmt::print(stderr, "berthctl: {}{}provider {}: {}: {}\n", several ? daemon : "", several ? ": " : "",
                 client::text(e, "provider"), error ? client::text(*error, "code") : "",
                 error ? client::text(*error, "message") : "");
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
    if (several) daemon = str(d.call(Request(Op::ping)).result(), "daemon_name");
    const auto reply = d.call(Request(Op::providers));
    for (const auto& p : client::elements(reply.result())) {
      if (o.json) {
        Value copy(p, all.GetAllocator());
        if (several) copy.AddMember("daemon_name", Value(daemon.c_str(), all.GetAllocator()), all.GetAllocator());
        all.PushBack(copy, all.GetAllocator());
        continue;
      }
      std::string caps;
      for (const auto& c : client::elements(p, "capabilities"))
        if (c.IsString()) caps += (caps.empty() ? "" : ",") + std::string(c.GetString(), c.GetStringLength());
      std::vector<std::string> row = {str(p, "name"), str(p, "plugin"), str(p, "plugin_version"),
                                      client::flag(p, "up") ? "up" : "down",
                                      std::to_string(client::uint_of(p, "containers").value_or(0)), caps};
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
    for (auto& d : ds)
      if (client::text(d.call(Request(Op::ping)).result(), "daemon_name") == *o.daemon) return d;
    std::fprintf(stderr, "berthctl: not_found: no daemon named \"%s\" at the given endpoints\n", o.daemon->c_str());
    std::exit(kNotFound);
  }
  if (!container) usage_error(o.command + " with several daemons: name one with --daemon");
  std::vector<std::pair<Daemon*, std::string>> knowing;
  for (auto& d : ds) {
    const auto reply = d.call(request(Op::snapshot, o));
    const auto snap = client::read_snapshot(reply.result());
    if (!snap) continue;
    bool found = false;
    snap->for_each_container([&](const client::ContainerView& c) {
      if (c.name == *container || c.id.substr(0, container->size()) == *container) found = true;
    });
    if (found) knowing.emplace_back(&d, std::string(snap->daemon_name));
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
  auto r = request(op, o);
  r.container(o.args[0]).force(o.force);
  if (o.signal) r.signal(*o.signal);
  if (o.timeout_s) r.timeout(*o.timeout_s);
  const auto reply = d.call(r);
  const auto& result = reply.result();
  if (o.json) std::printf("%s\n", to_json(result, true).c_str());
  else if (op == Op::inspect) std::printf("%s\n", to_json(result, true).c_str());
  else if (op == Op::status) std::printf("%s\n", str(result, "state").c_str());
  else std::printf("%s\n", o.args[0].c_str());  // as docker does
  return kOk;
}

// "KEY=VALUE" → {KEY, VALUE}; `what` is the option, for the usage error.
client::Spec::Pairs pairs_of(const std::vector<std::string>& pairs, const char* what) {
  client::Spec::Pairs out;
  for (const auto& p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) usage_error(std::string(what) + " takes KEY=VALUE, not \"" + p + "\"");
    out.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  return out;
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

client::Spec spec_of(const Options::Spec& s) {
  client::Spec spec;
  spec.image = s.image_and_command[0];
  spec.name = s.name;
  spec.command.assign(s.image_and_command.begin() + 1, s.image_and_command.end());
  spec.env = pairs_of(s.env, "--env");
  spec.labels = pairs_of(s.labels, "--label");
  spec.log_options = pairs_of(s.log_options, "--log-opt");
  for (const auto& v : s.volumes) {
    const auto c1 = v.find(':');
    const auto c2 = c1 == std::string::npos ? c1 : v.find(':', c1 + 1);
    const std::string mode = c2 == std::string::npos ? "" : v.substr(c2 + 1);
    if (c1 == std::string::npos || (c2 != std::string::npos && mode != "ro" && mode != "rw"))
      usage_error("--mount takes SOURCE:DESTINATION[:ro], not \"" + v + "\"");
    spec.mounts.push_back({v.substr(0, c1), v.substr(c1 + 1, c2 - c1 - 1), mode == "ro"});
  }
  spec.network = s.network;
  spec.aliases = s.aliases;
  if (!s.memory.empty()) {
    spec.memory = bytes_of(s.memory);
    if (!spec.memory) usage_error("--memory takes BYTES or a number with k, m or g, not \"" + s.memory + "\"");
  }
  spec.cpus = s.cpus;
  spec.pids_limit = s.pids_limit;
  spec.log_driver = s.log_driver;
  if (!s.pull.empty()) spec.pull = protocol::pull_policy_from_name(s.pull);  // the option's check admits no other
  for (const auto& x : s.ulimits) {
    const auto eq = x.find('='), colon = x.find(':');
    int64_t soft = 0, hard = 0;
    const bool ok = eq != std::string::npos && colon != std::string::npos && colon > eq &&
                    std::from_chars(x.data() + eq + 1, x.data() + colon, soft).ptr == x.data() + colon &&
                    std::from_chars(x.data() + colon + 1, x.data() + x.size(), hard).ptr == x.data() + x.size();
    if (!ok) usage_error("--ulimit takes NAME=SOFT:HARD, not \"" + x + "\"");
    spec.ulimits.push_back({x.substr(0, eq), soft, hard});
  }
  return spec;
}

// create / run: prints the new container's name, or its id when unnamed.
int cmd_create(Daemons& ds, const Options& o) {
  Daemon& d = pick(ds, o, nullptr);
  const auto reply = d.call(request(op_of(o.command), o).spec(spec_of(o.spec)));
  const auto& result = reply.result();
  if (o.json) std::printf("%s\n", to_json(result, true).c_str());
  else std::printf("%s\n", str(result, o.spec.name.empty() ? "id" : "name").c_str());
  return kOk;
}

bool matches(const Options& o, const client::MessageView& m) {
  for (const auto& f : o.filters) {
    const std::string_view key = std::string_view(f).substr(0, f.find('=')), want = std::string_view(f).substr(f.find('=') + 1);
    const std::string_view have = key == "provider" ? m.provider : key == "type" ? m.type_name : m.container.name;
    if (have != want) return false;
  }
  return true;
}

void print_event(const Options& o, const Value& ev, const client::MessageView& m, bool several) {
  if (o.json) {
    // One line per event, flushed: a pipe reader sees each as it happens.
    std::printf("%s\n", to_json(ev, false).c_str());
    std::fflush(stdout);
    return;
  }
  std::string extra;
  if (m.exit_code) extra = fmt::format(" exit_code={}", *m.exit_code);
  if (!m.health.empty()) extra += fmt::format(" health={}", m.health);
  if (m.origin == "resync") extra += " (resync)";
  const std::string who = several ? fmt::format("{}: ", m.daemon_name) : "";
  fmt::print(stdout, "{}  {}{:<8} {:<9} {} ({}){}\n", m.time, who, m.provider, m.type_name, m.container.name,
             short_id(m.container.id), extra);
  std::fflush(stdout);
}

// Prints a daemon's snapshot (--since-snapshot): what it holds, line by line.
void print_snapshot(const Options& o, const Value& result, const client::SnapshotView& snap, bool several) {
  if (o.json) {
    std::printf("%s\n", to_json(result, false).c_str());
  } else {
    snap.for_each_container([&](const client::ContainerView& c) {
      fmt::print(stdout, "snapshot  {}{}{:<8} {:<9} {} ({})\n", several ? snap.daemon_name : "", several ? "  " : "",
                 c.provider, protocol::state_name(c.state), c.name, short_id(c.id));
    });
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
    const auto reply = d.call(request(Op::snapshot, o));
    const auto snap = client::read_snapshot(reply.result());
    if (!snap) {
      std::fprintf(stderr, "berthctl: unreadable snapshot from berthd at %s\n", d.endpoint().c_str());
      std::exit(kFailed);
    }
    const std::string daemon(snap->daemon_name);
    by_name[daemon] = &d;
    follows[daemon].on_snapshot(snap->run_id, snap->seq);
    print_snapshot(o, reply.result(), *snap, several);
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
    if (!client::parse_object(ev, {static_cast<const char*>(parts[1].data()), parts[1].size()})) continue;
    const auto m = client::read_message(ev);
    if (!m) continue;
    const uint64_t seq = m->seq;
    const std::string kind(m->kind_name), daemon(m->daemon_name), run(m->run_id);
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
    if (m->kind == protocol::Kind::provider) {
      if (o.filters.empty() && !o.json)
        fmt::print(stdout, "{}  {}{:<8} provider  {} {}\n", m->time, who, m->provider, m->state, m->reason);
      else if (o.json) std::printf("%s\n", to_json(ev, false).c_str());
      std::fflush(stdout);  // every line, also when piped
      continue;
    }
    if (o.provider && m->provider != *o.provider) continue;
    if (matches(o, *m)) print_event(o, ev, *m, several);
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
      const auto reply = d.call(Request(op_of(c)));
      const auto& result = reply.result();
      const uint64_t seq = client::uint_of(result, "seq").value_or(0);
      if (o.json || op_of(c) == Op::version) std::printf("%s\n", to_json(result, true).c_str());
      else if (ds.size() > 1) fmt::print(stdout, "{}: pong (seq {})\n", client::text(result, "daemon_name"), seq);
      else fmt::print(stdout, "pong (seq {})\n", seq);
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
