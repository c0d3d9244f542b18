#include "commands/command_server.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <sys/eventfd.h>
#include <unistd.h>

namespace berth {

CommandServer::CommandServer(zmq::context_t& zmq, const Dispatcher& dispatcher,
                             boost::asio::thread_pool& workers, Options options)
    : router_(zmq, zmq::socket_type::router),
      dispatcher_(dispatcher),
      workers_(workers),
      options_(std::move(options)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

CommandServer::~CommandServer() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status CommandServer::bind() {
  if (wake_fd_ < 0) return {Code::internal, "eventfd failed"};
  try {
    router_.set(zmq::sockopt::linger, 1000);
    router_.set(zmq::sockopt::router_mandatory, 0);
    router_.bind(options_.endpoint);
  } catch (const zmq::error_t& e) {
    return {Code::unavailable,
            "cannot bind commands endpoint " + options_.endpoint + ": " + e.what()};
  }
  return {};
}

void CommandServer::start() {
  thread_ = std::thread([this] { run(); });
}

void CommandServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void CommandServer::reply(Frames& envelope, const std::string& body) {
  try {
    for (auto& f : envelope) router_.send(f, zmq::send_flags::sndmore);
    router_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::warn("command reply not sent: {}", e.what());
  }
}

void CommandServer::run() {
  zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
  while (!stopping_) {
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
        if (!zmq::recv_multipart(router_, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
        on_request(std::move(frames));
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t n;
      (void)!read(wake_fd_, &n, sizeof n);
    }
    drain_completions();
    expire(Clock::now());
  }
  for (auto& [token, p] : pending_)
    reply(p.envelope, Dispatcher::error_reply(p.id_json, {Code::shutting_down, "berthd is stopping"}));
  pending_.clear();
}

void CommandServer::on_request(Frames frames) {
  if (frames.empty()) return;
  // Everything up to the last empty delimiter (REQ) or the identity alone
  // (DEALER) is the envelope; the last frame is the request.
  Frames envelope;
  for (size_t i = 0; i + 1 < frames.size(); ++i) envelope.push_back(std::move(frames[i]));
  const std::string body = frames.back().to_string();

  std::string id_json;
  auto parsed = parse_request(body, id_json);
  if (!parsed) {
    spdlog::debug("bad command: {}", parsed.error().message());
    return reply(envelope, Dispatcher::error_reply(id_json, parsed.error()));
  }
  Request& r = *parsed;
  if (stopping_) return reply(envelope, Dispatcher::error_reply(r.id_json, {Code::shutting_down, "berthd is stopping"}));
  if (is_inline(r.op)) return reply(envelope, dispatcher_.answer_inline(r));
  if (pending_.size() >= options_.max_pending)
    return reply(envelope, Dispatcher::error_reply(
                               r.id_json, {Code::busy, "too many commands in flight; retry"}));

  const auto deadline = Clock::now() + dispatcher_.deadline_for(r);
  const uint64_t token = next_token_++;
  pending_.emplace(token, Pending{std::move(envelope), r.id_json, deadline + options_.late_slack});
  boost::asio::post(workers_, [this, token, deadline, req = std::move(r)] {
    std::string out = dispatcher_.execute(req, deadline);
    {
      std::lock_guard lock(done_mutex_);
      done_.push_back({token, std::move(out)});
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  });
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
      spdlog::info("discarded a late command result (already answered with timeout)");
      continue;
    }
    reply(it->second.envelope, c.reply);
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
          Dispatcher::error_reply(it->second.id_json,
                                  {Code::timeout, "no answer from the provider before the deadline"}));
    it = pending_.erase(it);
  }
}

}  // namespace berth
