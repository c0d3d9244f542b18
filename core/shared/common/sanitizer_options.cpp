// Default options of the sanitizer runtimes, compiled in only for sanitizer
// builds (BERTH_SANITIZE), so berthd and every test binary use them however
// they are started.
extern "C" {
#ifdef BERTH_TSAN_SUPPRESSIONS
const char* __tsan_default_options() {
  return "suppressions=" BERTH_TSAN_SUPPRESSIONS " halt_on_error=1 second_deadlock_stack=1";
}
#endif
const char* __ubsan_default_options() { return "print_stacktrace=1 halt_on_error=1"; }
#ifdef BERTH_LSAN_SUPPRESSIONS
// A smaller quarantine than the default 256 MiB: freed memory is still kept
// from reuse long enough to catch a use after free, and a test that bounds
// berthd's memory measures berthd, not the quarantine (tests/e2e/overload_test.cpp).
const char* __asan_default_options() { return "quarantine_size_mb=64"; }
#endif
#ifdef BERTH_LSAN_SUPPRESSIONS
const char* __lsan_default_options() { return "suppressions=" BERTH_LSAN_SUPPRESSIONS; }
#endif
}
