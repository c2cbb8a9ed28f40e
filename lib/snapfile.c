/*
 * snapfile.c - snapshot files: atomic save (temporary file in the same
 * directory, write, fsync, rename, fsync of the directory) and load.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif

/* The status of a failed system call: the cause decides, not the step, so
   that a caller can tell a full disk from a read-only one whatever failed. */
static int errno_status(int e, int dflt) {
  switch (e) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
      return CXM_E_NOSPACE;
    case EACCES:
    case EPERM:
    case EROFS:
      return CXM_E_ACCESS;
    default:
      return dflt;
  }
}

static int io_fail(cxm_ctx *ctx, int e, int dflt, const char *step, const char *path) {
  return cxm__seterr(ctx, errno_status(e, dflt), "%s %s: %s", step, path, strerror(e));
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (k == 0) { /* no progress and no error: treat as a full device */
      errno = ENOSPC;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* fsync of the directory makes the rename itself durable; file systems that
   cannot sync a directory say EINVAL, which leaves nothing to do. */
static int sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno == EACCES ? 0 : -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0 && e != EINVAL && e != EROFS) {
    errno = e;
    return -1;
  }
  return 0;
}

int cxm_snapshot_save_file(cxm_ctx *ctx, const char *path, uint32_t flags) {
  if (!ctx) return CXM_E_NULL;
  CXM_NO_REENTRY(ctx);
  if (!path) return cxm__seterr(ctx, CXM_E_NULL, "path: NULL");
  if (!*path) return cxm__seterr(ctx, CXM_E_ARG, "path: empty");
  size_t plen = strlen(path);
  /* path + ".tmp." + pid + "." + a counter; and the directory's name */
  size_t tsz = plen + 64;
  char *tmp = (char *)cxm__malloc(ctx, 2 * tsz);
  if (!tmp) return cxm__seterr(ctx, CXM_E_NOMEM, "no memory for the file name");
  char *dir = tmp + tsz;
  const char *slash = strrchr(path, '/');
  if (!slash) {
    strcpy(dir, ".");
  } else if (slash == path) {
    strcpy(dir, "/");
  } else {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = 0;
  }

  cxm_wbuf w;
  int rc = cxm__snap_save(ctx, flags, &w);
  if (rc) {
    cxm__free(ctx, tmp, 2 * tsz);
    return rc;
  }
  int fd = -1;
  for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
    snprintf(tmp, tsz, "%s.tmp.%ld.%u", path, (long)getpid(), attempt);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    rc = io_fail(ctx, errno, CXM_E_IO, "creating a temporary file beside", path);
    goto out;
  }
  if (write_all(fd, w.data, w.len) != 0) {
    rc = io_fail(ctx, errno, CXM_E_IO, "writing", tmp);
  } else if (fsync(fd) != 0) {
    rc = io_fail(ctx, errno, CXM_E_SYNC, "fsync of", tmp);
  }
  if (close(fd) != 0 && rc == CXM_OK) rc = io_fail(ctx, errno, CXM_E_IO, "closing", tmp);
  if (rc == CXM_OK && rename(tmp, path) != 0)
    rc = io_fail(ctx, errno, CXM_E_IO, "renaming the temporary file to", path);
  if (rc != CXM_OK) {
    unlink(tmp);
    goto out;
  }
  if (sync_dir(dir) != 0)
    rc = cxm__seterr(ctx, errno_status(errno, CXM_E_SYNC),
                     "fsync of directory %s: %s (%s is complete but the rename may not "
                     "survive a crash)", dir, strerror(errno), path);
out:
  cxm__wbuf_free(&w);
  cxm__free(ctx, tmp, 2 * tsz);
  return rc;
}

int cxm_snapshot_load_file(cxm_ctx *ctx, const char *path) {
  if (!ctx) return CXM_E_NULL;
  if (!path) return cxm__seterr(ctx, CXM_E_NULL, "path: NULL");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_fail(ctx, errno, CXM_E_IO, "opening", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return io_fail(ctx, e, CXM_E_IO, "reading", path);
  }
  if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX / 2) {
    close(fd);
    return cxm__seterr(ctx, CXM_E_IO, "reading %s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = (uint8_t *)cxm__malloc(ctx, n);
  if (!buf) {
    close(fd);
    return cxm__seterr(ctx, CXM_E_NOMEM, "no memory to read %zu bytes of %s", n, path);
  }
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, buf + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  int e = errno;
  close(fd);
  int rc;
  if (got < n)
    rc = got == 0 && n && e ? io_fail(ctx, e, CXM_E_IO, "reading", path)
                            : cxm_snapshot_load_buffer(ctx, buf, got);
  else
    rc = cxm_snapshot_load_buffer(ctx, buf, n);
  cxm__free(ctx, buf, n);
  return rc;
}
