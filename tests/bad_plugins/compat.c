/* ABI compatibility within major 1, in one source built twice:
 *  - OLD_MINOR: a plugin from before `restart` and `watch_*` existed: its op
 *    table's struct_size ends after `unpause`, yet it claims every capability.
 *    The host must read nothing past struct_size and report only what exists.
 *  - otherwise (FUTURE): a plugin from minor 9 whose info and op table carry
 *    extra trailing fields the host does not know; it must load and work. */
#include <berth/provider.h>

#include <stddef.h>
#include <string.h>

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
  return ~(uint64_t)0; /* claims everything; the host masks by the op table */
}
static berth_status one(berth_call *call, berth_container_sink sink, void *sink_ctx) {
  (void)call;
  berth_container c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.id = "compat-1";
  c.name = "compat";
  c.state = BERTH_STATE_RUNNING;
  sink(sink_ctx, &c); /* one container: nothing left to stop early */
  return BERTH_OK;
}
static berth_status list(berth_instance *inst, berth_call *call, berth_container_sink sink, void *sink_ctx) {
  (void)inst;
  return one(call, sink, sink_ctx);
}
static berth_status inspect(berth_instance *inst, berth_call *call, const char *ref,
                   berth_container_sink sink, void *sink_ctx) {
  (void)inst;
  if (strcmp(ref, "compat") != 0 && strcmp(ref, "compat-1") != 0)
    return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  return one(call, sink, sink_ctx);
}

#ifdef OLD_MINOR
static const berth_provider_ops ops = {
    .struct_size = offsetof(berth_provider_ops, restart),
    .create = create, .destroy = destroy, .capabilities = capabilities,
    .list = list, .inspect = inspect, .status = inspect};
static const berth_plugin_info info = {
    sizeof(berth_plugin_info), 1, 0, "old_minor", "1.0.0", "ops table without restart/watch",
    0, &ops, 0, NULL, NULL};
#define INFO (&info)
#else
/* What a later minor's structs look like to this host: longer. */
struct future_ops { berth_provider_ops v1; void (*added_in_1_9)(void); };
struct future_info { berth_plugin_info v1; const char *added_in_1_9; };
static const struct future_ops ops = {
    {.struct_size = sizeof(struct future_ops),
     .create = create, .destroy = destroy, .capabilities = capabilities,
     .list = list, .inspect = inspect, .status = inspect},
    NULL};
static const struct future_info info = {
    {sizeof(struct future_info), 1, 9, "future_minor", "1.9.0", "larger structs from minor 9",
     0, &ops.v1, 0, NULL, NULL},
    "unknown to the host"};
#define INFO (&info.v1)
#endif

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *h) {
  host = h;
  return INFO;
}
