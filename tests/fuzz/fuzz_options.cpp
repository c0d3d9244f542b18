// Default sanitizer options of every fuzz target: UBSan halts on its first
// report (a finding) except those ubsan.supp lists with their reasons.
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1:suppressions=" BERTH_UBSAN_SUPPRESSIONS;
}
