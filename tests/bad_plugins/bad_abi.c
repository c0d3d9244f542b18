/* A provider built for a future ABI major (99.3): the host must refuse it,
 * naming both versions, without calling anything past the frozen prefix. */
#include <berth/provider.h>

static const berth_plugin_info info = {
    sizeof(berth_plugin_info), 99, 3, "bad_abi", "0.0.1", "wrong ABI major", 0, NULL, 0, NULL, NULL};

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *host) {
  (void)host;
  return &info;
}
