/* ABI 1.3's library lifetime (provider.h section 10), made visible: every
 * library_init, create, destroy and library_fini appends a line to the file
 * $BERTH_TEST_LIFETIME_LOG. With $BERTH_TEST_LIFETIME_FAIL set, library_init
 * refuses. Built twice: as is, and with NEEDS_NEWER_HOST, claiming a
 * min_host_minor one above the header's (which no host has yet). */
#include <berth/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct berth_instance { char name[64]; };
static const berth_host *host;

static void note(const char *what, const char *name) {
  const char *path = getenv("BERTH_TEST_LIFETIME_LOG");
  FILE *f = path ? fopen(path, "a") : NULL;
  if (!f) return;
  fprintf(f, "%s%s%s\n", what, name ? " " : "", name ? name : "");
  fclose(f);
}

static berth_status library_init(const berth_host *h) {
  note("init", NULL);
  if (getenv("BERTH_TEST_LIFETIME_FAIL")) {
    h->log(NULL, BERTH_LOG_ERROR, "lifetime: refusing, as asked");
    return BERTH_E_UNAVAILABLE;
  }
  return BERTH_OK;
}
static void library_fini(void) { note("fini", NULL); }

static berth_status create(const char *name, const char *config, berth_host_ctx *ctx, berth_call *call,
                           berth_instance **out) {
  (void)config; (void)ctx; (void)call;
  berth_instance *inst = calloc(1, sizeof *inst);
  if (!inst) return BERTH_E_INTERNAL;
  snprintf(inst->name, sizeof inst->name, "%s", name);
  note("create", name);
  *out = inst;
  return BERTH_OK;
}
static void destroy(berth_instance *inst) {
  note("destroy", inst->name);
  free(inst);
}
static uint64_t capabilities(const berth_instance *inst) {
  (void)inst;
  return BERTH_CAP_LIST;
}
static berth_status list(berth_instance *inst, berth_call *call, berth_container_sink sink, void *sink_ctx) {
  (void)inst; (void)call; (void)sink; (void)sink_ctx;
  return BERTH_OK;
}

static const berth_provider_ops ops = {.struct_size = sizeof(berth_provider_ops), .create = create,
                                       .destroy = destroy, .capabilities = capabilities, .list = list};
#ifdef NEEDS_NEWER_HOST
#define NAME "needs_newer_host"
#define MIN_MINOR (BERTH_ABI_MINOR + 1)
#else
#define NAME "lifetime"
#define MIN_MINOR BERTH_ABI_MINOR
#endif
static const berth_plugin_info info = {
    .struct_size = sizeof(berth_plugin_info), .abi_major = BERTH_ABI_MAJOR, .abi_minor = BERTH_ABI_MINOR,
    .name = NAME, .version = "1.0.0", .description = "library_init and library_fini, logged",
    .ops = &ops, .min_host_minor = MIN_MINOR, .library_init = library_init, .library_fini = library_fini};

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *h) {
  host = h;
  return &info;
}
