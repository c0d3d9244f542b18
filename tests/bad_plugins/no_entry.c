/* A shared object that is not a berth provider: no entry symbol. */
#include <berth/provider.h>

BERTH_EXPORT int not_a_berth_provider(void) { return 42; }
