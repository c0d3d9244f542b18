#include "commands/command_server.hpp"

#include "auth/curve.hpp"
#include "common/thread_name.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace berth {

CommandServer::CommandServer(zmq::context_t& zmq, const Dispatcher& dispatcher, Scheduler& scheduler,
                             Options options)
    : router_(zmq, zmq::socket_type::router),
      dispatcher_(dispatcher),
      scheduler_(scheduler),
      options_(std::move(options)) {}

CommandServer::~CommandServer() { stop(); }

Status CommandServer::bind() {
  if (!wake_.ok()) return {Code::internal, "eventfd failed"};
  try {
    router_.set(zmq::sockopt::linger, static_cast<int>(options_.linger.count()));
    router_.set(zmq::sockopt::router_mandatory, 0);
    if (options_.curve)
      if (auto st = make_curve_server(router_, *options_.curve, kCommandsDomain); !st) return st;
    router_.bind(options_.endpoint);
  } catch (const zmq::error_t& e) {
    return {Code::unavailable, "cannot bind commands endpoint " + options_.endpoint + ": " + e.what()};
  }
  return {};
}

void CommandServer::start() {
  thread_ = std::thread([this] {
    name_this_thread("commands");
    run();
  });
}

void CommandServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  wake_.signal();
  thread_.join();
}

void CommandServer::reply(Frames& envelope, const Reply& r, std::optional<Op> op, Clock::time_point received) {
  if (options_.counts) options_.counts->record(op, r.code, Clock::now() - received);
  try {
    for (auto& f : envelope) router_.send(f, zmq::send_flags::sndmore);
    router_.send(zmq::const_buffer(r.body.data(), r.body.size()), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::warn("command reply not sent: {}", e.what());
  }
}

void CommandServer::run() {
  while (!stopping_) {
    // Last resort: whatever one turn of the loop throws (a socket error, a
    // request, memory) is logged and the server serves on.
    try {
      serve_once();
    } catch (const std::exception& e) {
      spdlog::error("command server: {}", e.what());
    }
  }
  drain_completions();
  for (auto& [token, p] : pending_)
    reply(p.envelope, Dispatcher::error_reply(p.id_json, {Code::shutting_down, "berthd is stopping"}), p.op,
          p.received);
  pending_.clear();
}

void CommandServer::serve_once() {
  zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, wake_.fd(), ZMQ_POLLIN, 0}};
  auto wait = std::chrono::milliseconds(500);
  if (!pending_.empty()) {
    auto first = Clock::time_point::max();
    for (auto& [token, p] : pending_) first = std::min(first, p.answer_by);
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(first - Clock::now());
    wait = std::clamp(left, std::chrono::milliseconds(0), wait);
  }
  zmq::poll(items, 2, wait);
  if (items[0].revents & ZMQ_POLLIN) {
    // Drain what is there without blocking.
    for (;;) {
      Frames frames;
      if (!zmq::recv_multipart(router_, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
      // A request that throws fails alone.
      try {
        on_request(std::move(frames));
      } catch (const std::exception& e) {
        spdlog::error("a command failed: {}", e.what());
      }
    }
  }
  if (items[1].revents & ZMQ_POLLIN) wake_.clear();
  drain_completions();
  expire(Clock::now());
}

namespace {
// A client admitted over CURVE acts in its key's role; without CURVE the
// socket's file mode is the gate and every client may do everything.
Status permitted(Op op, std::optional<Role> role) {
  if (!role || protocol::permitted(op, *role)) return {};
  return {Code::permission_denied, fmt::format("{} needs the {} role; this client's key is a {}", op_name(op),
                                               role_name(protocol::info(op).min_role), role_name(*role))};
}
}  // namespace

void CommandServer::on_request(Frames frames) {
  if (frames.empty()) return;
  const auto received = Clock::now();
  // [identity, "", body] from REQ; [identity, body] from DEALER. The
  // envelope goes back unchanged; exactly one body frame is a request.
  const size_t body_at = frames.size() >= 2 && frames[1].size() == 0 ? 2 : 1;
  Frames envelope;
  for (size_t i = 0; i < body_at && i < frames.size(); ++i) envelope.push_back(std::move(frames[i]));
  if (frames.size() != body_at + 1)
    return reply(envelope, Dispatcher::error_reply("null", {Code::malformed_request, "a request is exactly one frame"}),
                 std::nullopt, received);
  const std::string_view body(static_cast<const char*>(frames.back().data()), frames.back().size());

  std::string id_json;
  auto parsed = parse_request(body, id_json);
  if (!parsed) {
    spdlog::debug("bad command: {}", parsed.error().message());
    return reply(envelope, Dispatcher::error_reply(id_json, parsed.error()), std::nullopt, received);
  }
  Request& r = *parsed;
  if (auto st = permitted(r.op, sender_role(frames.back())); !st)
    return reply(envelope, Dispatcher::error_reply(r.id_json, st), r.op, received);
  if (stopping_)
    return reply(envelope, Dispatcher::error_reply(r.id_json, {Code::shutting_down, "berthd is stopping"}), r.op,
                 received);
  if (protocol::info(r.op).cls == protocol::OpClass::daemon) return reply(envelope, dispatcher_.answer_inline(r), r.op, received);
  submit(std::move(r), std::move(envelope), received);
}

void CommandServer::submit(Request r, Frames envelope, Clock::time_point received) {
  const auto deadline = Clock::now() + dispatcher_.deadline_for(r);
  std::vector<Provider*> targets;
  if (r.op == Op::list) {
    auto t = dispatcher_.list_targets(r);
    if (!t) return reply(envelope, Dispatcher::error_reply(r.id_json, t.error()), r.op, received);
    targets = std::move(*t);
  } else {
    auto p = dispatcher_.resolve(r);
    if (!p) return reply(envelope, Dispatcher::error_reply(r.id_json, p.error()), r.op, received);
    targets.push_back(*p);
  }
  const uint64_t token = next_token_++;
  const std::string id_json = r.id_json;
  pending_.emplace(token, Pending{std::move(envelope), id_json, deadline + options_.late_slack, r.op, received});
  if (r.op == Op::list) return submit_list(std::move(r), std::move(targets), token, deadline);

  Provider* p = targets.front();
  Scheduler::Job job;
  job.provider = p;
  job.lane = protocol::info(r.op).cls == protocol::OpClass::read ? Scheduler::Lane::read : Scheduler::Lane::lifecycle;
  // Ops on one container run in arrival order; a create is keyed by the
  // name it will have (an unnamed one by nothing it could share).
  if (job.lane == Scheduler::Lane::lifecycle) {
    const std::string& ref = r.spec ? r.spec->name : *r.container;
    job.key = ref.empty() ? fmt::format("\x01create-{}", token) : dispatcher_.view().resolve(p->name(), ref).value_or(ref);
  }
  job.op = std::string(op_name(r.op));
  job.container = r.spec ? r.spec->name : r.container.value_or("");
  job.deadline = deadline;
  job.refused = [this, token, id_json](const Status& why) { complete(token, Dispatcher::error_reply(id_json, why)); };
  job.run = [this, token, p, req = std::move(r)](const CallOptions& o) {
    complete(token, dispatcher_.execute(req, *p, o));
  };
  if (Status st = scheduler_.submit(std::move(job)); !st) {
    auto& p = pending_[token];
    reply(p.envelope, Dispatcher::error_reply(id_json, st), p.op, p.received);
    pending_.erase(token);
  }
}

// A list over several providers: one read per provider, each in its own
// provider's lane; the last to finish writes the reply.
void CommandServer::submit_list(Request r, std::vector<Provider*> targets, uint64_t token,
                                Clock::time_point deadline) {
  struct Gather {
    std::mutex mutex;
    Request request;
    Dispatcher::Listed results;
    size_t left;
  };
  auto g = std::make_shared<Gather>();
  g->request = std::move(r);
  g->left = targets.size();
  for (auto* p : targets) g->results.emplace_back(p, Status(Code::timeout, "no answer"));
  auto settle = [this, g, token](size_t i, Result<std::vector<Container>> res) {
    std::unique_lock lock(g->mutex);
    g->results[i].second = std::move(res);
    if (--g->left > 0) return;
    lock.unlock();
    complete(token, dispatcher_.list_reply(g->request, g->results));
  };
  if (targets.empty()) return complete(token, dispatcher_.list_reply(g->request, g->results));
  for (size_t i = 0; i < targets.size(); ++i) {
    Provider* p = targets[i];
    Status st = scheduler_.submit({p, Scheduler::Lane::read, {}, std::string(op_name(Op::list)), {}, deadline,
                                   [settle, i, p](const CallOptions& o) { settle(i, p->list(o)); },
                                   [settle, i](const Status& why) { settle(i, why); }});
    if (!st) settle(i, st);
  }
}

void CommandServer::complete(uint64_t token, Reply reply) {
  {
    std::lock_guard lock(done_mutex_);
    done_.push_back({token, std::move(reply)});
  }
  wake_.signal();
}

void CommandServer::drain_completions() {
  std::vector<Completion> done;
  {
    std::lock_guard lock(done_mutex_);
    done.swap(done_);
  }
  for (auto& c : done) {
    auto it = pending_.find(c.token);
    if (it == pending_.end()) {
      spdlog::debug("discarded a late command result (already answered with timeout)");
      continue;
    }
    reply(it->second.envelope, c.reply, it->second.op, it->second.received);
    pending_.erase(it);
  }
}

void CommandServer::expire(Clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.answer_by > now) {
      ++it;
      continue;
    }
    reply(it->second.envelope,
          Dispatcher::error_reply(it->second.id_json, {Code::timeout, "no answer from the provider before the deadline"}),
          it->second.op, it->second.received);
    it = pending_.erase(it);
  }
}

}  // namespace berth
