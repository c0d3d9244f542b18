/* A plugin as it was written against an earlier ABI minor: built three times,
 * against the frozen headers tests/abi/1.0, 1.1 and 1.2 (copies of
 * sdk/include/berth/provider.h as each minor shipped it), so the binaries
 * have exactly those minors' struct sizes. Uses only what 1.0 had: one
 * container, "old", that start and stop drive; no watch (the host polls). */
#include <berth/provider.h>

#include <stdio.h>
#include <string.h>

struct berth_instance { berth_state state; };
static const berth_host *host;

static berth_status create(const char *name, const char *config, berth_host_ctx *ctx, berth_call *call,
                           berth_instance **out) {
  static struct berth_instance one;
  (void)name; (void)config; (void)ctx; (void)call;
  one.state = BERTH_STATE_STOPPED;
  *out = &one;
  return BERTH_OK;
}
static void destroy(berth_instance *inst) { (void)inst; }
static uint64_t capabilities(const berth_instance *inst) {
  (void)inst;
  return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP;
}
static berth_status sink_it(berth_instance *inst, berth_container_sink sink, void *sink_ctx) {
  berth_container c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.id = "old-1";
  c.name = "old";
  c.state = inst->state;
  c.raw_state = inst->state == BERTH_STATE_RUNNING ? "running" : "exited";
  sink(sink_ctx, &c);
  return BERTH_OK;
}
static int known(const char *ref) { return strcmp(ref, "old") == 0 || strcmp(ref, "old-1") == 0; }
static berth_status list(berth_instance *inst, berth_call *call, berth_container_sink sink, void *sink_ctx) {
  (void)call;
  return sink_it(inst, sink, sink_ctx);
}
static berth_status status(berth_instance *inst, berth_call *call, const char *ref, berth_container_sink sink,
                           void *sink_ctx) {
  if (!known(ref)) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  return sink_it(inst, sink, sink_ctx);
}
static berth_status start(berth_instance *inst, berth_call *call, const char *ref) {
  if (!known(ref)) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  inst->state = BERTH_STATE_RUNNING;
  return BERTH_OK;
}
static berth_status stop(berth_instance *inst, berth_call *call, const char *ref, const char *signal,
                         int32_t timeout_s) {
  (void)signal; (void)timeout_s;
  if (!known(ref)) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  inst->state = BERTH_STATE_STOPPED;
  return BERTH_OK;
}

static const berth_provider_ops ops = {
    .struct_size = sizeof(berth_provider_ops), .create = create, .destroy = destroy,
    .capabilities = capabilities, .list = list, .inspect = status, .status = status,
    .start = start, .stop = stop};
/* Named after the minor it was built with: old_1_0, old_1_1, old_1_2. */
#define STR2(x) #x
#define STR(x) STR2(x)
static const berth_plugin_info info = {
    sizeof(berth_plugin_info), BERTH_ABI_MAJOR, BERTH_ABI_MINOR, "old_1_" STR(OLD_HEADER_MINOR), "1.0.0",
    "built against an earlier minor's header", 0, &ops};

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *h) {
  host = h;
  return &info;
}
