// tests/check_header_cxx.cpp: the public header compiles as C++11
// (-std=c++11 -pedantic -Werror -Wall -Wextra) with C linkage.
// Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
#include <cxmetrics.h>

int main() {
  cxm_ctx *ctx = nullptr;
  if (cxm_ctx_create(&ctx) != CXM_OK || ctx == nullptr) return 1;
  int64_t lo = 0, hi = 0, dflt = 0;
  if (cxm_option_bounds(CXM_OPT_DECIMALS, &lo, &hi, &dflt) != CXM_OK) return 1;
  cxm_ctx_destroy(ctx);
  return cxm_version_number() == CXM_VERSION_NUMBER ? 0 : 1;
}
