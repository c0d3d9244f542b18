// Names the calling thread, as `top -H`, `perf` and /proc/PID/task/*/comm
// show it: berthd's threads say what they are (ZeroMQ names its own).
#pragma once

#include <pthread.h>

namespace berth {

// At most 15 characters (the kernel's limit); a longer name is not set.
inline void name_this_thread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace berth
