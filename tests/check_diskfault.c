/*
 * check_diskfault.c - snapshot saves under disk faults injected by
 * tests/faultshim.c (run through tests/check_diskfault.sh with LD_PRELOAD):
 * a full disk, a read-only directory, permission denied, failing write,
 * fsync and rename. Each must return its documented status with a message
 * naming the step, leave the previous snapshot intact and loadable, and
 * leave no temporary file behind.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cxmetrics.h"

static int failures;
#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                       \
      fputc('\n', stderr);                                \
      failures++;                                         \
    }                                                     \
  } while (0)

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static int64_t events_in(const char *path) {
  cxm_ctx *c = NULL;
  if (cxm_ctx_create(&c) != CXM_OK) return -1;
  int64_t v = -1;
  if (cxm_snapshot_load_file(c, path) == CXM_OK) cxm_stat_get(c, CXM_STAT_EVENTS_ACCEPTED, &v);
  else fprintf(stderr, "load: %s\n", cxm_ctx_errmsg(c));
  cxm_ctx_destroy(c);
  return v;
}

typedef struct fault_case {
  const char *var, *err, *after;
  int want;
  const char *step; /* in the message */
} fault_case;

int main(void) {
  if (!dlsym(RTLD_DEFAULT, "cxm_faultshim_active")) {
    fprintf(stderr, "check_diskfault: tests/faultshim.so is not preloaded\n");
    return 99;
  }
  char dir[] = "/tmp/cxm-faultXXXXXX";
  if (!mkdtemp(dir)) return 99;
  char path[256];
  snprintf(path, sizeof path, "%s/state.cxs", dir);
  cxm_ctx *ctx = NULL;
  if (cxm_ctx_create(&ctx) != CXM_OK) return 99;
  char id[32];
  for (int i = 0; i < 5000; i++) { /* big enough for several write calls */
    snprintf(id, sizeof id, "c%d", i);
    cxm_event_add(ctx, 1767225600 + i, CXM_EV_PURCHASE, id, strlen(id), CXM_NO_CHANNEL, 3.5, NAN);
  }
  CHECK(cxm_snapshot_save_file(ctx, path, 0) == CXM_OK, "first save: %s", cxm_ctx_errmsg(ctx));
  const int64_t saved = events_in(path);
  CHECK(saved == 5000, "first snapshot holds %lld events", (long long)saved);

  static const fault_case cases[] = {
      {"CXM_FAULT_WRITE", "ENOSPC", "0", CXM_E_NOSPACE, "writing"},
      {"CXM_FAULT_WRITE", "ENOSPC", "70000", CXM_E_NOSPACE, "writing"},
      {"CXM_FAULT_WRITE", "EDQUOT", "4096", CXM_E_NOSPACE, "writing"},
      {"CXM_FAULT_WRITE", "EIO", "100", CXM_E_IO, "writing"},
      {"CXM_FAULT_FSYNC", "EIO", NULL, CXM_E_SYNC, "fsync"},
      {"CXM_FAULT_FSYNC", "ENOSPC", NULL, CXM_E_NOSPACE, "fsync"},
      {"CXM_FAULT_OPEN", "EROFS", NULL, CXM_E_ACCESS, "creating"},
      {"CXM_FAULT_OPEN", "EACCES", NULL, CXM_E_ACCESS, "creating"},
      {"CXM_FAULT_OPEN", "ENOSPC", NULL, CXM_E_NOSPACE, "creating"},
      {"CXM_FAULT_RENAME", "EIO", NULL, CXM_E_IO, "renaming"},
      {"CXM_FAULT_RENAME", "EROFS", NULL, CXM_E_ACCESS, "renaming"},
  };
  setenv("CXM_FAULT_PATH", dir + 5, 1); /* "cxm-faultXXXXXX" */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const fault_case *fc = &cases[i];
    /* a new event, so that a save that got through would show */
    cxm_event_add(ctx, 1767225600 + 9000 + (int64_t)i, CXM_EV_TOUCH, "x", 1, CXM_NO_CHANNEL, NAN,
                  NAN);
    setenv(fc->var, fc->err, 1);
    if (fc->after) setenv("CXM_FAULT_WRITE_AFTER", fc->after, 1);
    int rc = cxm_snapshot_save_file(ctx, path, 0);
    unsetenv(fc->var);
    unsetenv("CXM_FAULT_WRITE_AFTER");
    const char *msg = cxm_ctx_errmsg(ctx);
    CHECK(rc == fc->want, "%s=%s: status %d, want %d (%s)", fc->var, fc->err, rc, fc->want, msg);
    CHECK(strstr(msg, fc->step) != NULL, "%s=%s: message '%s' does not name '%s'", fc->var,
          fc->err, msg, fc->step);
    CHECK(strcmp(fc->err, "ENOSPC") || strstr(msg, strerror(ENOSPC)),
          "%s: no errno text in '%s'", fc->var, msg);
    CHECK(entries(dir) == 1, "%s=%s: %d files in the directory (a temporary file left?)", fc->var,
          fc->err, entries(dir));
    int64_t n = events_in(path);
    CHECK(n == saved, "%s=%s: the previous snapshot now holds %lld events, want %lld", fc->var,
          fc->err, (long long)n, (long long)saved);
    printf("ok %zu - %s=%s: %s\n", i + 1, fc->var, fc->err, msg);
  }
  /* fsync of the directory fails after the rename: the new file is whole */
  setenv("CXM_FAULT_DIRSYNC", "EIO", 1);
  int rc = cxm_snapshot_save_file(ctx, path, 0);
  unsetenv("CXM_FAULT_DIRSYNC");
  CHECK(rc == CXM_E_SYNC, "dir fsync: status %d (%s)", rc, cxm_ctx_errmsg(ctx));
  CHECK(strstr(cxm_ctx_errmsg(ctx), "directory") != NULL, "dir fsync message: %s",
        cxm_ctx_errmsg(ctx));
  int64_t now = 0;
  cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &now);
  CHECK(events_in(path) == now, "after a failed directory fsync the file is the new state");
  CHECK(entries(dir) == 1, "dir fsync: %d files", entries(dir));
  /* and with the faults gone the handle saves normally */
  unsetenv("CXM_FAULT_PATH");
  CHECK(cxm_snapshot_save_file(ctx, path, 0) == CXM_OK, "final save: %s", cxm_ctx_errmsg(ctx));
  CHECK(events_in(path) == now, "final snapshot");
  cxm_ctx_destroy(ctx);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) failures++;
  if (failures) fprintf(stderr, "check_diskfault: %d failures\n", failures);
  return failures ? 1 : 0;
}
