#include "commands/dispatcher.hpp"

#include "wire/wire.hpp"

#include <fmt/format.h>

#include <array>

namespace berth {
namespace {

using wire::Writer;

// Writes {"id":..., "ok":true, "result": <fn>} and returns it.
template <class Fn>
Reply ok_reply(const std::string& id_json, Fn&& write_result) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("id");
  w.RawValue(id_json.data(), id_json.size(), rapidjson::kObjectType);
  w.Key("ok");
  w.Bool(true);
  w.Key("result");
  write_result(w);
  w.EndObject();
  return {Code::ok, std::string(buf.GetString(), buf.GetSize())};
}

void write_op_done(Writer& w, const Provider& p, const std::string& container, Op op) {
  w.StartObject();
  w.Key("provider");
  wire::write_string(w, p.name());
  w.Key("container");
  wire::write_string(w, container);
  w.Key("op");
  wire::write_string(w, op_name(op));
  w.EndObject();
}

// What a provider's calls are doing: a stuck plugin shows here, with its op
// and for how long.
void write_calls(Writer& w, const Scheduler::Load& load) {
  w.Key("calls");
  w.StartObject();
  w.Key("max");
  w.Uint64(load.max_calls);
  w.Key("running");
  w.Uint64(load.running);
  w.Key("queued");
  w.Uint64(load.queued);
  w.Key("in_flight");
  w.StartArray();
  for (size_t i = 0; i < load.calls.size() && i < 16; ++i) {
    const auto& c = load.calls[i];
    w.StartObject();
    w.Key("op");
    wire::write_string(w, c.op);
    w.Key("container");
    if (c.container.empty()) w.Null();
    else wire::write_string(w, c.container);
    w.Key("running_ms");
    w.Int64(c.running.count());
    w.Key("overdue");
    w.Bool(c.overdue);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

Dispatcher::Dispatcher(std::vector<Provider*> providers, StateView& view, const Scheduler& scheduler,
                       const Pipeline* pipeline, Limits limits)
    : providers_(std::move(providers)), view_(view), scheduler_(scheduler), pipeline_(pipeline), limits_(limits) {}

Reply Dispatcher::error_reply(const std::string& id_json, const Status& st) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("id");
  w.RawValue(id_json.data(), id_json.size(), rapidjson::kObjectType);
  w.Key("ok");
  w.Bool(false);
  w.Key("error");
  wire::write_error(w, st);
  w.EndObject();
  return {st.code(), std::string(buf.GetString(), buf.GetSize())};
}

std::chrono::milliseconds Dispatcher::deadline_for(const Request& r) const {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  if (r.timeout_ms) return milliseconds(*r.timeout_ms);
  switch (protocol::info(r.op).deadline) {
    case protocol::Deadline::stop: return seconds(r.timeout_s.value_or(10)) + limits_.stop_grace;
    case protocol::Deadline::none:
    case protocol::Deadline::standard: break;
  }
  return limits_.default_timeout;
}

Result<Provider*> Dispatcher::resolve(const Request& r) const {
  if (r.provider) {
    for (auto* p : providers_)
      if (p->name() == *r.provider) return p;
    return Status(Code::unknown_provider, fmt::format("no provider named \"{}\"", *r.provider));
  }
  if (providers_.size() == 1) return providers_.front();
  if (providers_.empty()) return Status(Code::unavailable, "no provider is loaded");
  if (!r.container)
    return Status(Code::missing_field, "\"provider\": required when several are loaded");
  const auto knowing = view_.providers_knowing(*r.container);
  if (knowing.empty())
    return Status(Code::not_found,
                  fmt::format("no provider knows container \"{}\" (name \"provider\" to ask one)",
                              *r.container));
  if (knowing.size() > 1)
    return Status(Code::ambiguous, fmt::format("container \"{}\" exists in providers {} — name "
                                               "\"provider\"",
                                               *r.container, fmt::join(knowing, ", ")));
  for (auto* p : providers_)
    if (p->name() == knowing.front()) return p;
  return Status(Code::internal, "provider vanished");
}

Reply Dispatcher::answer_inline(const Request& r) const {
  switch (r.op) {
    case Op::ping:
      return ok_reply(r.id_json, [&](Writer& w) {
        w.StartObject();
        w.Key("pong");
        w.Bool(true);
        wire::write_identity(w, limits_.daemon);
        w.Key("seq");
        w.Uint64(view_.seq());
        w.EndObject();
      });
    case Op::version:
      return ok_reply(r.id_json, [&](Writer& w) {
        w.StartObject();
        w.Key("daemon");
        w.String(BERTH_VERSION);
        w.Key("abi");
        wire::write_string(w, fmt::format("{}.{}", BERTH_ABI_MAJOR, BERTH_ABI_MINOR));
        w.Key("schema");
        w.Int(wire::kSchemaVersion);
        wire::write_identity(w, limits_.daemon);
        w.EndObject();
      });
    case Op::providers: {
      const auto snap = view_.snapshot();
      return ok_reply(r.id_json, [&](Writer& w) {
        w.StartArray();
        for (auto* p : providers_) {
          const auto& v = snap.providers.at(p->name());
          w.StartObject();
          w.Key("name");
          wire::write_string(w, p->name());
          w.Key("plugin");
          wire::write_string(w, p->plugin().name());
          w.Key("plugin_version");
          wire::write_string(w, p->plugin().version());
          w.Key("path");
          wire::write_string(w, p->plugin().path().string());
          w.Key("abi");
          wire::write_string(w, fmt::format("{}.{}", p->plugin().abi_major(), p->plugin().abi_minor()));
          w.Key("capabilities");
          w.StartArray();
          for (const auto& cap : protocol::kCapabilities)
            if (p->supports(cap.bit)) wire::write_string(w, cap.name);
          w.EndArray();
          w.Key("up");
          w.Bool(v.up);
          w.Key("synced");
          w.Bool(v.synced);
          w.Key("reason");
          wire::write_string(w, v.reason);
          w.Key("containers");
          w.Uint64(v.containers.size());
          write_calls(w, scheduler_.load(*p));
          w.Key("repairs");
          w.StartObject();
          for (int k = 0; k < Repairs::kKinds; ++k) {
            wire::write_string(w, Repairs::name(static_cast<Repairs::Kind>(k)));
            w.Uint64(p->repairs().count(static_cast<Repairs::Kind>(k)));
          }
          w.EndObject();
          if (pipeline_) {
            const auto s = pipeline_->provider_stats(*p);
            w.Key("polling");
            w.Bool(s.polling);
            w.Key("resyncs");
            w.Uint64(s.resyncs);
            w.Key("watch_failures");
            w.Uint64(s.watch_failures);
            w.Key("held_overflows");
            w.Uint64(s.held_overflows);
          }
          w.EndObject();
        }
        w.EndArray();
      });
    }
    case Op::snapshot: {
      if (r.provider) {  // as `list` does: a name that is no provider is an error, not an empty answer
        auto p = resolve(r);
        if (!p) return error_reply(r.id_json, p.error());
      }
      const auto snap = view_.snapshot();
      return ok_reply(r.id_json, [&](Writer& w) {
        w.StartObject();
        wire::write_identity(w, limits_.daemon);
        w.Key("seq");
        w.Uint64(snap.seq);
        w.Key("providers");
        w.StartObject();
        for (const auto& [name, v] : snap.providers) {
          if (r.provider && *r.provider != name) continue;
          wire::write_string(w, name);
          w.StartObject();
          w.Key("up");
          w.Bool(v.up);
          w.Key("synced");
          w.Bool(v.synced);
          w.Key("containers");
          w.StartArray();
          for (const auto& [id, c] : v.containers) wire::write_container(w, name, c);
          w.EndArray();
          w.EndObject();
        }
        w.EndObject();
        w.EndObject();
      });
    }
    default:
      return error_reply(r.id_json, {Code::internal, "not an inline op"});
  }
}

Result<std::vector<Provider*>> Dispatcher::list_targets(const Request& r) const {
  if (!r.provider) return providers_;
  auto p = resolve(r);
  if (!p) return p.error();
  return std::vector<Provider*>{*p};
}

Reply Dispatcher::list_reply(const Request& r, const Listed& results) const {
  if (r.provider && results.size() == 1 && !results.front().second)
    return error_reply(r.id_json, results.front().second.error());
  return ok_reply(r.id_json, [&](Writer& w) {
    w.StartObject();
    wire::write_identity(w, limits_.daemon);
    w.Key("containers");
    w.StartArray();
    for (auto& [p, res] : results)
      if (res)
        for (const auto& c : *res) wire::write_container(w, p->name(), c);
    w.EndArray();
    // One unreachable provider must not hide the others' containers.
    w.Key("errors");
    w.StartArray();
    for (auto& [p, res] : results) {
      if (res) continue;
      w.StartObject();
      w.Key("provider");
      wire::write_string(w, p->name());
      w.Key("error");
      wire::write_error(w, res.error());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

// create: the new container. run: create, start, and remove it again when
// the start fails (the start's error is the answer).
Reply Dispatcher::create(const Request& r, Provider& p, const CallOptions& o) const {
  auto made = p.create_container(*r.spec, o);
  if (!made) return error_reply(r.id_json, made.error());
  if (r.op == Op::run) {
    // The start is a plugin call of its own: never begun after the deadline
    // (the create took it all), and then, as for a start that failed, what
    // was made is removed again.
    Status st = Clock::now() >= o.deadline
                    ? Status(Code::timeout, "the create took the whole deadline: not started")
                    : p.start(made->id, o);
    if (!st) {
      // The start's deadline may be what failed: the clean-up gets its own.
      if (Status rm = p.remove(made->id, true, CallOptions::within(std::chrono::seconds(10), o.stop)); !rm)
        return error_reply(r.id_json, {st.code(), fmt::format("{} (and removing the container {} failed: {})",
                                                              st.message(), made->id, rm.message())});
      return error_reply(r.id_json, st);
    }
    if (auto now = p.status(made->id, o)) *made = std::move(*now);
  }
  return ok_reply(r.id_json, [&](Writer& w) { wire::write_container(w, p.name(), *made); });
}

Reply Dispatcher::execute(const Request& r, Provider& p, const CallOptions& o) const {
  // All it needs, before anything is done (run: a create with no start).
  if (!p.supports(protocol::info(r.op).caps))
    return error_reply(r.id_json, {Code::unsupported, fmt::format("provider {} does not support {}", p.name(),
                                                                  op_name(r.op))});
  if (r.op == Op::create || r.op == Op::run) return create(r, p, o);
  if (r.op == Op::list) {
    Listed one;
    one.emplace_back(&p, p.list(o));
    return list_reply(r, one);
  }
  const std::string& ref = *r.container;
  if (r.op == Op::inspect || r.op == Op::status) {
    auto c = r.op == Op::inspect ? p.inspect(ref, o) : p.status(ref, o);
    if (!c) return error_reply(r.id_json, c.error());
    return ok_reply(r.id_json, [&](Writer& w) { wire::write_container(w, p.name(), *c); });
  }
  const int32_t timeout_s = r.timeout_s ? *r.timeout_s : -1;
  Status st;
  switch (r.op) {
    case Op::start: st = p.start(ref, o); break;
    case Op::stop: st = p.stop(ref, r.signal, timeout_s, o); break;
    case Op::kill: st = p.kill(ref, r.signal, o); break;
    case Op::pause: st = p.pause(ref, o); break;
    case Op::unpause: st = p.unpause(ref, o); break;
    case Op::restart: st = p.restart(ref, timeout_s, o); break;
    case Op::remove: st = p.remove(ref, r.force, o); break;
    default: st = {Code::internal, "not a worker op"};
  }
  if (!st) return error_reply(r.id_json, st);
  return ok_reply(r.id_json, [&](Writer& w) { write_op_done(w, p, ref, r.op); });
}

}  // namespace berth
