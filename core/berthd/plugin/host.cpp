// The host's half of the ABI: the service table every plugin receives.
// Everything here is callable from any plugin thread, and nothing here lets
// an exception out: these functions are called from C.
#include "plugin/abi_copy.hpp"
#include "plugin/provider.hpp"
#include "plugin/signals.hpp"

#include <spdlog/spdlog.h>

namespace berth {
namespace {

spdlog::level::level_enum to_spdlog(berth_log_level level) {
  switch (level) {
    case BERTH_LOG_TRACE: return spdlog::level::trace;
    case BERTH_LOG_DEBUG: return spdlog::level::debug;
    case BERTH_LOG_INFO: return spdlog::level::info;
    case BERTH_LOG_WARN: return spdlog::level::warn;
    case BERTH_LOG_ERROR: return spdlog::level::err;
    default: break;
  }
  return spdlog::level::info;
}

void host_log(berth_host_ctx* ctx, berth_log_level level, const char* message) noexcept {
  try {
    std::string text = message ? std::string(message, strnlen(message, BERTH_MAX_LOG_LINE)) : std::string();
    repair_utf8(text);
    auto& logger = ctx ? ctx->provider->logger() : spdlog::default_logger();
    logger->log(to_spdlog(level), "{}", text);
  } catch (...) {
  }
}

berth_status host_emit(berth_host_ctx* ctx, const berth_event* event) noexcept {
  if (ctx == nullptr) return BERTH_E_INVALID_ARGUMENT;
  Provider& p = *ctx->provider;
  try {
    RepairSet seen = 0;
    auto copied = event_from_abi(event, seen);
    p.note_repairs(seen, "event");
    if (!copied) {
      p.logger()->warn("dropped malformed event: {}", copied.error().message());
      return BERTH_E_INVALID_ARGUMENT;
    }
    return p.listener().on_event(p, std::move(*copied)) ? BERTH_OK : BERTH_E_CANCELLED;
  } catch (const std::exception& e) {
    p.logger()->error("event dropped: {}", e.what());
    return BERTH_E_INTERNAL;
  } catch (...) {  // called from C: nothing may leave
    return BERTH_E_INTERNAL;
  }
}

void host_provider_state(berth_host_ctx* ctx, berth_provider_state state, const char* reason) noexcept {
  if (ctx == nullptr) return;
  Provider& p = *ctx->provider;
  try {
    std::string why = reason ? std::string(reason, strnlen(reason, BERTH_MAX_TEXT)) : std::string();
    repair_utf8(why);
    p.listener().on_state(p, state == BERTH_PROVIDER_UP ? BERTH_PROVIDER_UP : BERTH_PROVIDER_DOWN, why);
  } catch (const std::exception& e) {
    p.logger()->error("provider state report dropped: {}", e.what());
  } catch (...) {
  }
}

berth_status host_call_fail(berth_call* call, berth_status code, const char* message) noexcept {
  if (call == nullptr) return code;
  try {
    const Code c = code_from_abi(code);
    std::string text = message && *message ? std::string(message, strnlen(message, BERTH_MAX_TEXT))
                                           : std::string(code_name(c));
    repair_utf8(text);
    call->failure = Status(c, std::move(text));
  } catch (...) {
  }
  return code;
}

int64_t host_call_remaining_ms(const berth_call* call) noexcept { return call ? call->remaining_ms() : 0; }

int host_call_cancelled(const berth_call* call) noexcept { return call ? call->cancelled() : 1; }

int host_call_wait(const berth_call* call, int64_t ms) noexcept {
  if (call == nullptr) return 1;
  try {
    return call->wait(ms) ? 1 : 0;
  } catch (...) {
    return call->cancelled();
  }
}

int host_call_cancel_fd(const berth_call* call) noexcept { return call ? call->cancel_fd() : -1; }

int host_signal_number(const char* signal) noexcept {
  return signal ? signals::number(std::string_view(signal, strnlen(signal, BERTH_MAX_SIGNAL_NAME + 1))) : 0;
}

void host_changed(berth_host_ctx* ctx, const char* ref) noexcept {
  if (ctx == nullptr || ref == nullptr) return;
  Provider& p = *ctx->provider;
  try {
    std::string id(ref, strnlen(ref, BERTH_MAX_ID + 1));
    if (id.empty() || id.size() > BERTH_MAX_ID || !valid_utf8(id)) {
      p.note_repairs(RepairSet(1) << Repairs::refused, "changed() reference");
      return;
    }
    p.listener().on_changed(p, std::move(id));
  } catch (const std::exception& e) {
    p.logger()->error("change report dropped: {}", e.what());
  } catch (...) {
  }
}

}  // namespace

const berth_host& host_services() {
  static const berth_host table = {
      sizeof(berth_host),       BERTH_ABI_MAJOR,        BERTH_ABI_MINOR,
      &host_log,                &host_emit,             &host_provider_state,
      &host_call_fail,          &host_call_remaining_ms, &host_call_cancelled,
      &host_call_wait,          &host_call_cancel_fd,   &host_signal_number,
      &host_changed,
  };
  return table;
}

}  // namespace berth
