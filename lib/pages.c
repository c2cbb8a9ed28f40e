/*
 * pages.c - a kernel hint for the library's large arrays.
 *
 * The customer table and the modules' per-customer arrays are read at random,
 * one record per event: with 4 KiB pages nearly every access also misses the
 * TLB, and the page walk costs about as much as the record's own cache miss.
 * On Linux, transparent huge pages remove that walk; where the system leaves
 * them to madvise (the Debian default), the library asks for them on arrays
 * of 4 MiB or more, whichever allocator gave them: the hint covers only
 * whole 2 MiB pages inside the block, memory the handle owns alone. Define
 * CXM_NO_HUGEPAGES at build time to leave the hint out.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _DEFAULT_SOURCE 1 /* madvise() under -std=c11 */
#include <stdint.h>

#include "internal.h"
#if defined(__linux__) && !defined(CXM_NO_HUGEPAGES)
#include <sys/mman.h>
#endif

#define HUGE_MIN (4u << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

#if defined(__linux__) && !defined(CXM_NO_HUGEPAGES) && defined(MADV_HUGEPAGE)
#define HINT 1
#else
#define HINT 0
#endif

int cxm__pages_wanted(size_t size) { return HINT && size >= HUGE_MIN; }

void cxm__pages_advise(void *p, size_t size) {
#if HINT
  if (!p || size < HUGE_MIN) return;
  /* Only whole huge pages inside the block: the hint never reaches memory
     that belongs to something else. */
  uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  uintptr_t hi = ((uintptr_t)p + size) & ~(HUGE_PAGE - 1);
  if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)size;
#endif
}
