/* A provider whose lifecycle ops never return, whatever the deadline or
 * shutdown says: the worst a plugin can do to its host short of crashing.
 * Containers h0..h63 list and report status normally (stopped); start, stop
 * and kill block their thread forever. */
#include <berth/provider.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct berth_instance { int unused; };
static struct berth_instance the_instance;
static const berth_host *host;

static berth_status create(const char *name, const char *config, berth_host_ctx *ctx, berth_call *call,
                           berth_instance **out) {
  (void)name; (void)config; (void)ctx; (void)call;
  *out = &the_instance;
  return BERTH_OK;
}
static void destroy(berth_instance *inst) { (void)inst; }
static uint64_t capabilities(const berth_instance *inst) {
  (void)inst;
  return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
         BERTH_CAP_KILL;
}
static int known(const char *ref) {
  return ref[0] == 'h' && strlen(ref) <= 3 && ref[1] >= '0' && ref[1] <= '9';
}
static void one(const char *id, berth_container_sink sink, void *ctx) {
  berth_container c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.id = id;
  c.name = id;
  c.state = BERTH_STATE_STOPPED;
  c.raw_state = "created";
  sink(ctx, &c);
}
static berth_status list(berth_instance *inst, berth_call *call, berth_container_sink sink, void *ctx) {
  (void)inst; (void)call;
  char id[16];  /* "h" and any int: no truncation a compiler must warn of */
  for (int i = 0; i < 64; ++i) {
    snprintf(id, sizeof id, "h%d", i);
    one(id, sink, ctx);
  }
  return BERTH_OK;
}
static berth_status status(berth_instance *inst, berth_call *call, const char *ref, berth_container_sink sink,
                           void *ctx) {
  (void)inst;
  if (!known(ref)) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  one(ref, sink, ctx);
  return BERTH_OK;
}
static berth_status forever(void) {
  for (;;) pause(); /* ignores call_cancelled, deadlines and shutdown alike */
  return BERTH_OK;
}
static berth_status start(berth_instance *inst, berth_call *call, const char *ref) {
  (void)inst;
  if (!known(ref)) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  return forever();
}
static berth_status stop(berth_instance *inst, berth_call *call, const char *ref, const char *sig, int32_t t) {
  (void)sig; (void)t;
  return start(inst, call, ref);
}
static berth_status kill_op(berth_instance *inst, berth_call *call, const char *ref, const char *sig) {
  (void)sig;
  return start(inst, call, ref);
}

static const berth_provider_ops ops = {
    .struct_size = sizeof(berth_provider_ops), .create = create, .destroy = destroy,
    .capabilities = capabilities, .list = list, .inspect = status, .status = status,
    .start = start, .stop = stop, .kill = kill_op};
static const berth_plugin_info info = {sizeof(berth_plugin_info), BERTH_ABI_MAJOR, BERTH_ABI_MINOR,
                                       "hang", "0.0.1", "lifecycle ops that never return", 0, &ops, 0, NULL, NULL};

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *h) {
  host = h;
  return &info;
}
