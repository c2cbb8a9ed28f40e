/*
 * faultshim.c - an LD_PRELOAD library that makes open, write, fsync and
 * rename fail on request, to test how snapshot saves handle disk faults
 * (tests/check_diskfault.sh). Read at every call, so one process can run
 * many cases by changing its environment:
 *
 *   CXM_FAULT_PATH        only paths containing this string are affected
 *                         (and the descriptors opened on them); unset = off
 *   CXM_FAULT_OPEN=E      opening such a path for writing fails with errno E
 *   CXM_FAULT_WRITE=E     writing fails with E ...
 *   CXM_FAULT_WRITE_AFTER=N  ... once N bytes went through (short write first)
 *   CXM_FAULT_FSYNC=E     fsync/fdatasync of such a file fails with E
 *   CXM_FAULT_DIRSYNC=E   fsync of a directory opened through such a path fails
 *   CXM_FAULT_RENAME=E    renaming onto such a path fails with E
 *
 * E is a name: ENOSPC, EDQUOT, EIO, EROFS, EACCES, EPERM, EXDEV.
 * Test code only; not part of the library.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAXFD 1024
static unsigned char watched[MAXFD]; /* 1 file, 2 directory */
static long long written[MAXFD];

static int err_of(const char *var) {
  const char *v = getenv(var);
  if (!v || !*v) return 0;
  static const struct { const char *name; int e; } names[] = {
      {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EIO", EIO},   {"EROFS", EROFS},
      {"EACCES", EACCES}, {"EPERM", EPERM},   {"EXDEV", EXDEV}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(v, names[i].name) == 0) return names[i].e;
  return EIO;
}

static int path_hit(const char *path) {
  const char *p = getenv("CXM_FAULT_PATH");
  return p && *p && path && strstr(path, p) != NULL;
}

static int fd_hit(int fd) { return fd >= 0 && fd < MAXFD && watched[fd]; }

static int do_open(const char *sym, const char *path, int flags, mode_t mode) {
  int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
  int hit = path_hit(path);
  if (hit && (flags & (O_WRONLY | O_RDWR | O_CREAT))) {
    int e = err_of("CXM_FAULT_OPEN");
    if (e) {
      errno = e;
      return -1;
    }
  }
  int fd = real(path, flags, mode);
  if (fd >= 0 && fd < MAXFD) {
    watched[fd] = 0;
    written[fd] = 0;
    if (hit) {
      struct stat st;
      watched[fd] = (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) ? 2 : 1;
    }
  }
  return fd;
}

#define OPEN_WRAPPER(NAME)                                   \
  int NAME(const char *path, int flags, ...) {               \
    mode_t mode = 0;                                         \
    if (flags & O_CREAT) {                                   \
      va_list ap;                                            \
      va_start(ap, flags);                                   \
      mode = (mode_t)va_arg(ap, int);                        \
      va_end(ap);                                            \
    }                                                        \
    return do_open(#NAME, path, flags, mode);                \
  }
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags) { return do_open("open", path, flags, 0); }
int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags) { return do_open("open64", path, flags, 0); }

ssize_t write(int fd, const void *buf, size_t n) {
  ssize_t (*real)(int, const void *, size_t) =
      (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  if (fd_hit(fd) && watched[fd] == 1) {
    int e = err_of("CXM_FAULT_WRITE");
    if (e) {
      const char *a = getenv("CXM_FAULT_WRITE_AFTER");
      long long after = a ? atoll(a) : 0;
      if (written[fd] >= after) {
        errno = e;
        return -1;
      }
      if ((long long)n > after - written[fd]) n = (size_t)(after - written[fd]);
    }
  }
  ssize_t k = real(fd, buf, n);
  if (k > 0 && fd >= 0 && fd < MAXFD) written[fd] += k;
  return k;
}

static int sync_fault(int fd) {
  if (!fd_hit(fd)) return 0;
  return err_of(watched[fd] == 2 ? "CXM_FAULT_DIRSYNC" : "CXM_FAULT_FSYNC");
}

int fsync(int fd) {
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  int e = sync_fault(fd);
  if (e) {
    errno = e;
    return -1;
  }
  return real(fd);
}

int fdatasync(int fd) {
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  int e = sync_fault(fd);
  if (e) {
    errno = e;
    return -1;
  }
  return real(fd);
}

int rename(const char *from, const char *to) {
  int (*real)(const char *, const char *) =
      (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
  if (path_hit(to)) {
    int e = err_of("CXM_FAULT_RENAME");
    if (e) {
      errno = e;
      return -1;
    }
  }
  return real(from, to);
}

/* Lets the test know that the shim is loaded. */
int cxm_faultshim_active(void);
int cxm_faultshim_active(void) { return 1; }
