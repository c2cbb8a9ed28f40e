/* tests/check_header.c: the public header compiles alone as strict C99
 * (-std=c99 -pedantic -Werror -Wall -Wextra) and agrees with the library.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING. */
#include <cxmetrics.h>
#include <cxmetrics.h> /* include guard */

int main(void) {
  cxm_ctx *ctx = 0;
  /* The header's version equals the library's. */
  if (cxm_version_number() != CXM_VERSION_NUMBER) return 1;
  if (CXM_VERSION_NUMBER != CXM_VERSION_MAJOR * 10000 + CXM_VERSION_MINOR * 100 +
                                CXM_VERSION_PATCH)
    return 1;
  if (cxm_strerror(CXM_OK) == 0) return 1;
  cxm_ctx_destroy(ctx); /* accepts NULL */
  return 0;
}
