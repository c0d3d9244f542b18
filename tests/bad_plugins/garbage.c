/* A provider that hands the host everything provider.h §7 bounds: invalid
 * UTF-8, a 1 MB label, 300 labels, details that are not JSON, an unknown
 * event type, an over-long id. The host must repair or refuse each, count
 * it, publish nothing unbounded, and keep running. `start g1` emits the
 * garbage events (so a test can subscribe first). */
#include <berth/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct berth_instance {
  berth_host_ctx *ctx;
};
static const berth_host *host;
static char *huge;             /* 1 MB of 'x' */
static char long_id[301];      /* 300 bytes: beyond BERTH_MAX_ID */
static berth_label many[300];  /* beyond BERTH_MAX_LABELS */
static char keys[300][16];

static berth_status create(const char *name, const char *config, berth_host_ctx *ctx, berth_call *call,
                           berth_instance **out) {
  (void)name; (void)config;
  berth_instance *in = calloc(1, sizeof *in);
  if (!in) return host->call_fail(call, BERTH_E_INTERNAL, "out of memory");
  in->ctx = ctx;
  if (!huge) {
    huge = malloc(1 << 20);
    memset(huge, 'x', (1 << 20) - 1);
    huge[(1 << 20) - 1] = 0;
    memset(long_id, 'i', 300);
    for (int i = 0; i < 300; ++i) {
      snprintf(keys[i], sizeof keys[i], "k%d", i);
      many[i].key = keys[i];
      many[i].value = i == 7 ? huge : "v";
    }
  }
  *out = in;
  return BERTH_OK;
}
static void destroy(berth_instance *in) { free(in); }
static uint64_t capabilities(const berth_instance *in) {
  (void)in;
  return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_WATCH;
}
static void garbage_container(berth_container *c) {
  memset(c, 0, sizeof *c);
  c->struct_size = sizeof *c;
  c->id = "g1";
  c->name = "bad\xff\xfename";
  c->state = (berth_state)77;
  c->labels = many;
  c->label_count = 300;
  c->details_json = "{not json";
}
static berth_status list(berth_instance *in, berth_call *call, berth_container_sink sink, void *ctx) {
  (void)in; (void)call;
  berth_container c;
  garbage_container(&c);
  sink(ctx, &c);
  c.id = long_id; /* refused: the list goes on without it */
  sink(ctx, &c);
  return BERTH_OK;
}
static berth_status inspect(berth_instance *in, berth_call *call, const char *ref, berth_container_sink sink,
                            void *ctx) {
  (void)in;
  if (strcmp(ref, "g1") != 0) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  berth_container c;
  garbage_container(&c);
  sink(ctx, &c);
  return BERTH_OK;
}
static berth_status start(berth_instance *in, berth_call *call, const char *ref) {
  if (strcmp(ref, "g1") != 0) return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container");
  berth_event e;
  memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  e.container_id = "g1";
  e.container_name = "g\xc0\xafone"; /* overlong '/' */
  e.raw_action = "mystery";
  e.type = (berth_event_type)99;
  host->emit(in->ctx, &e); /* 1: unknown type */
  e.type = BERTH_EVENT_STARTED;
  e.raw_action = huge;
  e.labels = many;
  e.label_count = 300;
  host->emit(in->ctx, &e); /* 2: 1 MB action, 300 labels with a 1 MB value */
  e.container_id = long_id;
  host->emit(in->ctx, &e); /* refused: over-long id */
  e.container_id = "g1";
  e.raw_action = "die";
  e.type = BERTH_EVENT_EXITED;
  e.labels = NULL;
  e.label_count = 0;
  host->emit(in->ctx, &e); /* 3: a plain one, so a test knows the end */
  return BERTH_OK;
}
static berth_status watch_start(berth_instance *in, berth_call *call) {
  (void)call;
  host->provider_state(in->ctx, BERTH_PROVIDER_UP, "ready to misbehave");
  return BERTH_OK;
}
static void watch_stop(berth_instance *in) { (void)in; }

static const berth_provider_ops ops = {
    .struct_size = sizeof(berth_provider_ops), .create = create, .destroy = destroy,
    .capabilities = capabilities, .list = list, .inspect = inspect, .status = inspect, .start = start,
    .watch_start = watch_start, .watch_stop = watch_stop};
static const berth_plugin_info info = {sizeof(berth_plugin_info), BERTH_ABI_MAJOR, BERTH_ABI_MINOR,
                                       "garbage", "0.0.1", "data beyond every bound", 0, &ops, 0, NULL, NULL};

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *h) {
  host = h;
  return &info;
}
