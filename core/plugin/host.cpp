// The host's half of the ABI: the service table every plugin receives.
// Everything here is callable from any plugin thread.
#include "plugin/abi_copy.hpp"
#include "plugin/provider.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth {
namespace {

spdlog::level::level_enum to_spdlog(berth_log_level level) {
  switch (level) {
    case BERTH_LOG_TRACE: return spdlog::level::trace;
    case BERTH_LOG_DEBUG: return spdlog::level::debug;
    case BERTH_LOG_INFO: return spdlog::level::info;
    case BERTH_LOG_WARN: return spdlog::level::warn;
    case BERTH_LOG_ERROR: return spdlog::level::err;
  }
  return spdlog::level::info;
}

void host_log(berth_host_ctx* ctx, berth_log_level level, const char* message) {
  auto& logger = ctx ? ctx->provider->logger() : spdlog::default_logger();
  logger->log(to_spdlog(level), "{}", message ? message : "");
}

berth_status host_emit(berth_host_ctx* ctx, const berth_event* event) {
  if (ctx == nullptr) return BERTH_E_INVALID_ARGUMENT;
  Provider& p = *ctx->provider;
  auto copied = event_from_abi(event);
  if (!copied) {
    p.logger()->warn("dropped malformed event: {}", copied.error().message());
    return BERTH_E_INVALID_ARGUMENT;
  }
  return p.listener().on_event(p, std::move(*copied)) ? BERTH_OK : BERTH_E_CANCELLED;
}

void host_provider_state(berth_host_ctx* ctx, berth_provider_state state,
                         const char* reason) {
  if (ctx == nullptr) return;
  Provider& p = *ctx->provider;
  p.listener().on_state(p, state, reason ? reason : "");
}

berth_status host_call_fail(berth_call* call, berth_status code, const char* message) {
  if (call != nullptr) {
    const Code c = code_from_abi(code);
    call->failure = Status(c, message && *message ? message : std::string(code_name(c)));
  }
  return code;
}

int64_t host_call_remaining_ms(const berth_call* call) {
  if (call == nullptr) return 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      call->options.deadline - Clock::now());
  return std::max<int64_t>(0, left.count());
}

int host_call_cancelled(const berth_call* call) {
  return call && call->options.cancelled &&
         call->options.cancelled->load(std::memory_order_relaxed);
}

}  // namespace

const berth_host& host_services() {
  static const berth_host table = {
      sizeof(berth_host),   BERTH_ABI_MAJOR,        BERTH_ABI_MINOR,
      &host_log,            &host_emit,             &host_provider_state,
      &host_call_fail,      &host_call_remaining_ms, &host_call_cancelled,
  };
  return table;
}

}  // namespace berth
