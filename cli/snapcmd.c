/*
 * snapcmd.c - `cxm init`, `cxm ingest`, `cxm merge` and the snapshot input
 * of `cxm report`: durable state on disk, built on the public snapshot API.
 *
 * Snapshots hold keyed hashes of customer ids, never the ids, and (unless
 * --embed-key) only a fingerprint of the key. The key lives in a key file
 * that the user guards like any secret: we create it with mode 0600 and
 * refuse one that group or others can access, as ssh does with private
 * keys, because whoever reads it can test guessed ids against a snapshot.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#define _POSIX_C_SOURCE 200809L
#include "snapcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "input.h"

#define EXIT_USAGE 2
#define DEFAULT_MAX_ERRORS 20

/* ------------------------------------------------------------------ usage */

#define LIBOPTS_HELP \
  "Library options (they decide how events are stored; a snapshot keeps them):\n" \
  "  --utc-offset +hh:mm            offset of the days from UTC (default +00:00)\n" \
  "  --decimals N                   decimals of the money minor unit, 0..6 (2)\n" \
  "  --max-lateness SECONDS         lateness bound (604800 = 7 days)\n" \
  "  --modules LIST                 optional modules kept: all (default), none,\n" \
  "                                 or a comma list of retention, funnel,\n" \
  "                                 attribution, clv\n" \
  "  --churn-window-days N          (90)    --retention-period-days N (30)\n" \
  "  --funnel-retention-days N      (365)   --funnel-window-days N    (0)\n" \
  "  --lookback-days N              (30)    --half-life-days N        (7)\n" \
  "  --touches-kept N               (8)     --clv-period-days N       (1)\n"

#define KEYFILE_HELP \
  "Key file: the 16-byte secret key of the customer-id hash, as 16 raw bytes\n" \
  "or 32 hex digits. Created with 16 bytes from /dev/urandom and mode 0600 if\n" \
  "it does not exist; refused if group or others may access it (chmod 600).\n"

const char SNAPCMD_INIT_USAGE[] =
  "Usage: cxm init -o SNAPSHOT --key-file KEY [OPTION]...\n"
  "Write an empty snapshot with the given options and key. Shards of one\n"
  "stream start as copies of it, so that they can be merged.\n"
  "\n"
  "  -o, --output SNAPSHOT  the snapshot to write (refused if it exists)\n"
  "  --key-file KEY         the key file (created if missing)\n"
  "  --force                replace an existing SNAPSHOT\n"
  "  --embed-key            store the key itself in the snapshot (whoever\n"
  "                         reads it can then hash guessed ids)\n"
  "  --position P           an initial stream position (text)\n"
  "  -h, --help             show this help\n"
  "\n" LIBOPTS_HELP "\n" KEYFILE_HELP
  "\nExit status: 0 written, 1 a file could not be read or written, 2 bad usage.\n";

const char SNAPCMD_INGEST_USAGE[] =
  "Usage: cxm ingest --snapshot SNAPSHOT --key-file KEY [OPTION]... FILE...\n"
  "Add the events of canonical CSV or JSON Lines files (`-` = standard\n"
  "input) to SNAPSHOT, creating it if it does not exist. The new snapshot\n"
  "replaces the old one atomically, and only when every file was read: a\n"
  "failure or a crash leaves the previous snapshot as it was.\n"
  "\n"
  "  --snapshot SNAPSHOT    the snapshot to extend or create\n"
  "  --key-file KEY         the key file; not needed when SNAPSHOT embeds its\n"
  "                         key; a key whose fingerprint differs is refused\n"
  "  --embed-key            store the key itself in the snapshot\n"
  "  --position P           store P (text, e.g. a file name or an offset) as\n"
  "                         the stream position once the files are in\n"
  "  --expect-position P    ingest only if the snapshot's position is P\n"
  "                         (\"\" = none), else exit 1 and change nothing:\n"
  "                         with --position, a batch is counted exactly once\n"
  "  --max-errors N         print at most N rejected lines (default 20)\n"
  "  --input FMT            auto (default: *.jsonl and *.ndjson are JSON Lines,\n"
  "                         anything else CSV), csv or jsonl\n"
  "  -h, --help             show this help\n"
  "\n" LIBOPTS_HELP
  "With an existing SNAPSHOT, library options must equal its own, except\n"
  "--max-lateness, which applies from this run on.\n"
  "\n" KEYFILE_HELP
  "\nRejected lines go to stderr as FILE:LINE: reason and do not change the\n"
  "exit status: 0 = saved, 1 = an input could not be read or used (nothing is\n"
  "saved then), a wrong key, or the snapshot could not be written; 2 = bad usage.\n";

const char SNAPCMD_MERGE_USAGE[] =
  "Usage: cxm merge -o OUT SNAPSHOT...\n"
  "Merge snapshots of customer-disjoint parts of one stream (shards started\n"
  "from copies of one `cxm init` snapshot, or made with the same key and\n"
  "options) into OUT, whose KPIs are those of the whole stream. No key is\n"
  "needed. OUT keeps the first snapshot's stream position, holds the key's\n"
  "fingerprint only (even if an input embeds the key), and is written\n"
  "atomically; it may be one of the inputs.\n"
  "\n"
  "  -o, --output OUT       the snapshot to write\n"
  "  -h, --help             show this help\n"
  "\n"
  "Exit status: 0 written, 1 a snapshot could not be read, is corrupt or\n"
  "incompatible (different key or options), or OUT could not be written;\n"
  "2 bad usage.\n";

/* ------------------------------------------------------------- arguments */

enum { K_INT, K_OFFSET, K_MODULES };

typedef struct libopt {
  const char *flag;
  int option;
  int kind;
} libopt;

static const libopt LIBOPTS[] = {
  {"utc-offset", CXM_OPT_UTC_OFFSET, K_OFFSET},
  {"decimals", CXM_OPT_DECIMALS, K_INT},
  {"max-lateness", CXM_OPT_MAX_LATENESS, K_INT},
  {"modules", CXM_OPT_MODULES, K_MODULES},
  {"churn-window-days", CXM_OPT_CHURN_WINDOW_DAYS, K_INT},
  {"retention-period-days", CXM_OPT_RETENTION_PERIOD_DAYS, K_INT},
  {"funnel-retention-days", CXM_OPT_FUNNEL_RETENTION_DAYS, K_INT},
  {"funnel-window-days", CXM_OPT_FUNNEL_WINDOW_DAYS, K_INT},
  {"lookback-days", CXM_OPT_LOOKBACK_DAYS, K_INT},
  {"half-life-days", CXM_OPT_HALF_LIFE_DAYS, K_INT},
  {"touches-kept", CXM_OPT_TOUCHES_KEPT, K_INT},
  {"clv-period-days", CXM_OPT_CLV_PERIOD_DAYS, K_INT},
};
#define NLIBOPTS (sizeof LIBOPTS / sizeof LIBOPTS[0])

/* Which options a command accepts besides the library options. */
enum {
  A_OUTPUT = 1 << 0,
  A_SNAPSHOT = 1 << 1,
  A_KEYFILE = 1 << 2,
  A_EMBED = 1 << 3,
  A_POSITION = 1 << 4,
  A_EXPECT = 1 << 5,
  A_MAXERR = 1 << 6,
  A_FORCE = 1 << 7,
  A_LIBOPTS = 1 << 8,
  A_INPUT = 1 << 9
};

typedef struct snap_args {
  const char *cmd, *usage;
  const char *output, *snapshot, *key_file, *position, *expect, *max_errors,
      *input;
  int embed_key, force;
  const char *lib[NLIBOPTS]; /* values as given, NULL if absent */
  int nfiles;
  char **files;
} snap_args;

static int usage_error(const snap_args *a, const char *fmt, const char *arg)
{
  fputs("cxm: ", stderr);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'cxm %s --help'.\n", a->cmd);
  return EXIT_USAGE;
}

/* Returns 0, -1 after --help, or EXIT_USAGE. */
static int parse_args(int argc, char **argv, unsigned accepted, snap_args *a)
{
  static const struct {
    const char *name;
    unsigned bit;
    size_t off; /* of a `const char *`, or of an int flag when valueless */
    int has_value;
  } opts[] = {
    {"output", A_OUTPUT, offsetof(snap_args, output), 1},
    {"snapshot", A_SNAPSHOT, offsetof(snap_args, snapshot), 1},
    {"key-file", A_KEYFILE, offsetof(snap_args, key_file), 1},
    {"embed-key", A_EMBED, offsetof(snap_args, embed_key), 0},
    {"position", A_POSITION, offsetof(snap_args, position), 1},
    {"expect-position", A_EXPECT, offsetof(snap_args, expect), 1},
    {"max-errors", A_MAXERR, offsetof(snap_args, max_errors), 1},
    {"force", A_FORCE, offsetof(snap_args, force), 0},
    {"input", A_INPUT, offsetof(snap_args, input), 1},
  };
  int only_files = 0;
  a->files = argv; /* compacted in place */
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (only_files || arg[0] != '-' || strcmp(arg, "-") == 0) {
      a->files[a->nfiles++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_files = 1;
      continue;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      fputs(a->usage, stdout);
      return -1;
    }
    const char *val = NULL;
    const char **dst = NULL;
    int *flag = NULL;
    if (strcmp(arg, "-o") == 0 && (accepted & A_OUTPUT)) {
      dst = &a->output;
    } else {
      if (strncmp(arg, "--", 2) != 0)
        return usage_error(a, "unknown option '%s'", arg);
      const char *name = arg + 2, *eq = strchr(name, '=');
      size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
      for (size_t k = 0; !dst && !flag && k < sizeof opts / sizeof opts[0];
           k++) {
        if ((accepted & opts[k].bit) && strlen(opts[k].name) == nlen &&
            memcmp(opts[k].name, name, nlen) == 0) {
          if (opts[k].has_value)
            dst = (const char **)(void *)((char *)a + opts[k].off);
          else
            flag = (int *)(void *)((char *)a + opts[k].off);
        }
      }
      for (size_t k = 0; !dst && !flag && (accepted & A_LIBOPTS) &&
           k < NLIBOPTS; k++)
        if (strlen(LIBOPTS[k].flag) == nlen &&
            memcmp(LIBOPTS[k].flag, name, nlen) == 0)
          dst = &a->lib[k];
      if (!dst && !flag)
        return usage_error(a, "unknown option '%s'", arg);
      if (flag) {
        if (eq)
          return usage_error(a, "option '%s' takes no value", arg);
        *flag = 1;
        continue;
      }
      if (eq)
        val = eq + 1;
    }
    if (!val) {
      if (i + 1 >= argc)
        return usage_error(a, "option '%s' needs a value", arg);
      val = argv[++i];
    }
    *dst = val;
  }
  return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0)
    return -1;
  *out = v;
  return 0;
}

/* "Z", "UTC" or a zone as the library's time parser reads it ("+hh:mm",
 * "+hhmm", "+hh", "-..."): the offset is minus the zoned epoch's time. */
static int parse_offset(cxm_ctx *ctx, const char *s, int64_t *out)
{
  char buf[64];
  int64_t t;
  if (strcmp(s, "UTC") == 0)
    s = "Z";
  if (strlen(s) > 8 || (s[0] != '+' && s[0] != '-' && strcmp(s, "Z") != 0))
    return -1;
  snprintf(buf, sizeof buf, "1970-01-01T00:00:00%s", s);
  if (cxm_time_parse(ctx, buf, strlen(buf), &t) != CXM_OK)
    return -1;
  *out = -t;
  return 0;
}

static int parse_modules(const char *s, int64_t *out)
{
  static const struct { const char *name; int bit; } mods[] = {
    {"retention", CXM_MOD_RETENTION}, {"funnel", CXM_MOD_FUNNEL},
    {"attribution", CXM_MOD_ATTRIBUTION}, {"clv", CXM_MOD_CLV},
    {"all", CXM_MOD_ALL}, {"none", 0},
  };
  if (parse_i64(s, out) == 0)
    return 0;
  int64_t v = 0;
  const char *p = s;
  while (*p) {
    size_t n = strcspn(p, ",");
    size_t k;
    for (k = 0; k < sizeof mods / sizeof mods[0]; k++)
      if (strlen(mods[k].name) == n && memcmp(mods[k].name, p, n) == 0)
        break;
    if (n == 0 || k == sizeof mods / sizeof mods[0])
      return -1;
    v |= mods[k].bit;
    p += n;
    if (*p == ',')
      p++;
  }
  *out = v;
  return p > s ? 0 : -1;
}

/* The value of library option k as given, checked against its bounds.
 * Returns 0, or EXIT_USAGE after a message. */
static int libopt_value(cxm_ctx *ctx, size_t k, const char *text, int64_t *v)
{
  int64_t lo = 0, hi = 0;
  int bad;
  (void)cxm_option_bounds(LIBOPTS[k].option, &lo, &hi, NULL);
  switch (LIBOPTS[k].kind) {
  case K_OFFSET: bad = parse_offset(ctx, text, v) != 0; break;
  case K_MODULES: bad = parse_modules(text, v) != 0; break;
  default: bad = parse_i64(text, v) != 0; break;
  }
  if (!bad && (*v < lo || *v > hi))
    bad = 1;
  if (!bad)
    return 0;
  if (LIBOPTS[k].kind == K_OFFSET)
    fprintf(stderr, "cxm: --utc-offset: '%s' is not an offset +hh:mm within "
            "-14:00..+14:00\n", text);
  else if (LIBOPTS[k].kind == K_MODULES)
    fprintf(stderr, "cxm: --modules: '%s' is not all, none, a comma list of "
            "retention, funnel, attribution, clv, or a number 0..%lld\n",
            text, (long long)hi);
  else
    fprintf(stderr, "cxm: --%s: '%s' is not an integer in %lld..%lld\n",
            LIBOPTS[k].flag, text, (long long)lo, (long long)hi);
  return EXIT_USAGE;
}

/* Set the given library options on a fresh handle. */
static int libopts_set(cxm_ctx *ctx, const snap_args *a)
{
  for (size_t k = 0; k < NLIBOPTS; k++) {
    int64_t v;
    if (!a->lib[k])
      continue;
    int rc = libopt_value(ctx, k, a->lib[k], &v);
    if (rc != 0)
      return rc;
    if (cxm_option_set(ctx, LIBOPTS[k].option, v) != CXM_OK) {
      fprintf(stderr, "cxm: --%s: %s\n", LIBOPTS[k].flag, cxm_ctx_errmsg(ctx));
      return EXIT_USAGE;
    }
  }
  return 0;
}

/* Check the given library options against a loaded snapshot's; those that
 * may change at any time (`changeable`, a CXM_OPT_ id, or 0) are set. */
static int libopts_check(cxm_ctx *ctx, const snap_args *a, const char *path,
                         int changeable)
{
  for (size_t k = 0; k < NLIBOPTS; k++) {
    int64_t v, have = 0;
    if (!a->lib[k])
      continue;
    int rc = libopt_value(ctx, k, a->lib[k], &v);
    if (rc != 0)
      return rc;
    (void)cxm_option_get(ctx, LIBOPTS[k].option, &have);
    if (v == have)
      continue;
    if (LIBOPTS[k].option == changeable &&
        cxm_option_set(ctx, LIBOPTS[k].option, v) == CXM_OK)
      continue;
    fprintf(stderr, "cxm: --%s %s: %s was made with %lld; an option that "
            "decided how its events were stored cannot change\n",
            LIBOPTS[k].flag, a->lib[k], path, (long long)have);
    return EXIT_USAGE;
  }
  return 0;
}

/* -------------------------------------------------------------- key file */

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int read_full(int fd, uint8_t *buf, size_t cap, size_t *got)
{
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    n += (size_t)r;
  }
  *got = n;
  return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/* fsync the directory holding `path`, so that a new name in it survives a
 * crash. Best effort: some file systems refuse to open directories. */
static void sync_dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  char *dir;
  if (!slash)
    dir = strdup(".");
  else if (slash == path)
    dir = strdup("/");
  else
    dir = strndup(path, (size_t)(slash - path));
  if (!dir)
    return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

/* Create key file `path` with 16 bytes from /dev/urandom, mode 0600. The
 * key is written to a temporary file and then linked to its name, so that a
 * concurrent reader never sees a partial key and two concurrent creators
 * agree on one key (link fails when the name exists). Returns 0, 1 after a
 * message, or -2 when another process created it first. */
static int key_file_create(const char *path)
{
  uint8_t key[CXM_KEY_SIZE];
  size_t got = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read_full(fd, key, sizeof key, &got) != 0 ||
      got != sizeof key) {
    fprintf(stderr, "cxm: cannot read 16 random bytes from /dev/urandom: %s\n",
            strerror(errno ? errno : EIO));
    if (fd >= 0)
      close(fd);
    return 1;
  }
  close(fd);

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 8);
  if (!tmp) {
    fprintf(stderr, "cxm: out of memory\n");
    return 1;
  }
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".XXXXXX", 8);
  fd = mkstemp(tmp); /* mode 0600 */
  int rc = 1;
  if (fd < 0) {
    fprintf(stderr, "cxm: %s: cannot create the key file: %s\n", path,
            strerror(errno));
    free(tmp);
    return 1;
  }
  if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 ||
      write_full(fd, key, sizeof key) != 0 || fsync(fd) != 0) {
    fprintf(stderr, "cxm: %s: cannot write the key file: %s\n", path,
            strerror(errno));
    close(fd);
  } else if (close(fd) != 0) {
    fprintf(stderr, "cxm: %s: cannot write the key file: %s\n", path,
            strerror(errno));
  } else if (link(tmp, path) != 0) {
    if (errno == EEXIST)
      rc = -2;
    else
      fprintf(stderr, "cxm: %s: cannot create the key file: %s\n", path,
              strerror(errno));
  } else {
    sync_dir_of(path);
    fprintf(stderr, "cxm: created key file %s (16 random bytes, mode 0600): "
            "keep it secret and keep a copy; extending a snapshot needs it\n",
            path);
    rc = 0;
  }
  (void)unlink(tmp);
  free(tmp);
  memset(key, 0, sizeof key);
  return rc;
}

/* Read the key of key file `path` (creating it when `create` and it does
 * not exist). Returns 0, or 1 after a message. */
static int key_file_read(const char *path, int create,
                         uint8_t key[CXM_KEY_SIZE])
{
  uint8_t buf[40];
  size_t n = 0;
  struct stat st;
  int fd;
  for (int tries = 0;; tries++) {
    fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT || !create || tries > 0)
      break;
    int rc = key_file_create(path);
    if (rc > 0)
      return rc;
  }
  if (fd < 0) {
    fprintf(stderr, "cxm: %s: cannot open the key file: %s\n", path,
            strerror(errno));
    return 1;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "cxm: %s: not a regular file\n", path);
    close(fd);
    return 1;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    fprintf(stderr, "cxm: %s: the key file is accessible by group or others "
            "(mode %04o); it is a secret: chmod 600 %s\n", path,
            (unsigned)(st.st_mode & 07777), path);
    close(fd);
    return 1;
  }
  int rrc = read_full(fd, buf, sizeof buf, &n);
  close(fd);
  if (rrc != 0) {
    fprintf(stderr, "cxm: %s: cannot read the key file: %s\n", path,
            strerror(errno));
    return 1;
  }
  if (n == CXM_KEY_SIZE) {
    memcpy(key, buf, CXM_KEY_SIZE);
    memset(buf, 0, sizeof buf);
    return 0;
  }
  /* 32 hex digits, optionally followed by a line end. */
  size_t end = n;
  while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r'))
    end--;
  int ok = end == 2 * CXM_KEY_SIZE && n - end <= 2;
  for (size_t i = 0; ok && i < CXM_KEY_SIZE; i++) {
    int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    key[i] = (uint8_t)(hi * 16 + lo);
  }
  memset(buf, 0, sizeof buf);
  if (!ok) {
    fprintf(stderr, "cxm: %s: a key file holds 16 bytes, or 32 hex digits "
            "and a line end (this one has %zu bytes)\n", path, n);
    return 1;
  }
  return 0;
}

/* -------------------------------------------------------------- handles */

static const char *errmsg(cxm_ctx *ctx, int rc)
{
  const char *m = ctx ? cxm_ctx_errmsg(ctx) : "";
  return *m ? m : cxm_strerror(rc);
}

/* A new handle holding snapshot `path`. Returns 0, or 1 after a message. */
static int snap_load(const char *path, cxm_ctx **out)
{
  cxm_ctx *ctx = NULL;
  int rc = cxm_ctx_create(&ctx);
  if (rc == CXM_OK)
    rc = cxm_snapshot_load_file(ctx, path);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: %s: %s\n", path, errmsg(ctx, rc));
    cxm_ctx_destroy(ctx);
    return 1;
  }
  *out = ctx;
  return 0;
}

static int snap_save(cxm_ctx *ctx, const char *path, int embed_key)
{
  int rc = cxm_snapshot_save_file(ctx, path,
                                  embed_key ? CXM_SNAPSHOT_EMBED_KEY : 0);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: %s: cannot save the snapshot: %s\n", path,
            errmsg(ctx, rc));
    return 1;
  }
  return 0;
}

/* Give a handle the key of `key_file`: set it on a fresh handle (`loaded`
 * 0) or on a snapshot loaded without it (checked by fingerprint); a loaded
 * snapshot that embeds its key only has it compared. */
static int key_install(cxm_ctx *ctx, const char *key_file, int create,
                       const char *snapshot, int loaded)
{
  uint8_t key[CXM_KEY_SIZE];
  int32_t known = 0;
  int rc = key_file_read(key_file, create, key);
  if (rc != 0)
    return rc;
  if (loaded)
    (void)cxm_key_known(ctx, &known);
  if (known) {
    /* A snapshot with its key embedded already has one (and a handle with
     * customers takes no new key): compare fingerprints on a scratch
     * handle instead. */
    cxm_ctx *scratch = NULL;
    uint64_t want = 0, have = 0;
    rc = cxm_ctx_create(&scratch);
    if (rc == CXM_OK)
      rc = cxm_key_set(scratch, key, sizeof key);
    if (rc == CXM_OK)
      rc = cxm_key_fingerprint(scratch, &want);
    cxm_ctx_destroy(scratch);
    memset(key, 0, sizeof key);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm: %s: %s\n", key_file, cxm_strerror(rc));
      return 1;
    }
    (void)cxm_key_fingerprint(ctx, &have);
    if (want != have) {
      fprintf(stderr, "cxm: %s: wrong key for %s: its fingerprint "
              "%016" PRIx64 " differs from the snapshot's %016" PRIx64 "\n",
              key_file, snapshot, want, have);
      return 1;
    }
    return 0;
  }
  rc = cxm_key_set(ctx, key, sizeof key);
  memset(key, 0, sizeof key);
  if (rc == CXM_E_MISMATCH) {
    fprintf(stderr, "cxm: %s: wrong key for %s: %s\n", key_file, snapshot,
            errmsg(ctx, rc));
    return 1;
  }
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: %s: %s\n", key_file, errmsg(ctx, rc));
    return 1;
  }
  return 0;
}

static int position_set(cxm_ctx *ctx, const char *pos)
{
  int rc = cxm_position_set(ctx, pos, strlen(pos));
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: --position: %s\n", errmsg(ctx, rc));
    return EXIT_USAGE;
  }
  return 0;
}

/* ------------------------------------------------------------------ init */

int snapcmd_init(int argc, char **argv)
{
  snap_args a;
  cxm_ctx *ctx = NULL;
  struct stat st;
  int rc;
  memset(&a, 0, sizeof a);
  a.cmd = "init";
  a.usage = SNAPCMD_INIT_USAGE;
  rc = parse_args(argc, argv, A_OUTPUT | A_KEYFILE | A_EMBED | A_POSITION |
                  A_FORCE | A_LIBOPTS, &a);
  if (rc != 0)
    return rc < 0 ? EXIT_SUCCESS : rc;
  if (!a.output)
    return usage_error(&a, "%s", "no snapshot to write (-o SNAPSHOT)");
  if (!a.key_file)
    return usage_error(&a, "%s", "no key file (--key-file KEY)");
  if (a.nfiles > 0)
    return usage_error(&a, "unexpected argument '%s' (init takes no events: "
                       "use cxm ingest)", a.files[0]);
  if (!a.force && stat(a.output, &st) == 0) {
    fprintf(stderr, "cxm: %s exists; remove it or give --force\n", a.output);
    return EXIT_FAILURE;
  }
  rc = cxm_ctx_create(&ctx);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: cannot create a handle: %s\n", cxm_strerror(rc));
    return EXIT_FAILURE;
  }
  rc = libopts_set(ctx, &a);
  if (rc == 0 && a.position)
    rc = position_set(ctx, a.position);
  if (rc == 0)
    rc = key_install(ctx, a.key_file, 1, a.output, 0);
  if (rc == 0)
    rc = snap_save(ctx, a.output, a.embed_key);
  cxm_ctx_destroy(ctx);
  return rc;
}

/* ---------------------------------------------------------------- ingest */


static int feed_files(cxm_ctx *ctx, const snap_args *a, int format,
                      uint64_t max_errors, uint64_t tot[3])
{
  for (int f = 0; f < a->nfiles; f++) {
    uint64_t lines = 0, acc = 0, rej = 0;
    errsink sink;
    const char *path = a->files[f];
    sink.file = strcmp(path, "-") == 0 ? "<stdin>" : path;
    sink.printed = tot[2]; /* the cap counts over all files */
    sink.max_print = max_errors;
    int rc = input_feed_file(ctx, path, format, input_on_reject, &sink, &lines, &acc,
                             &rej);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm: %s: %s\n", sink.file, errmsg(ctx, rc));
      return 1;
    }
    if (a->nfiles > 1)
      fprintf(stderr, "cxm: %s: %" PRIu64 " lines, %" PRIu64 " accepted, %"
              PRIu64 " rejected\n", sink.file, lines, acc, rej);
    tot[0] += lines;
    tot[1] += acc;
    tot[2] += rej;
  }
  if (tot[2] > max_errors)
    fprintf(stderr, "cxm: %" PRIu64 " more rejected lines not shown "
            "(--max-errors)\n", tot[2] - max_errors);
  fprintf(stderr, "cxm: %" PRIu64 " lines, %" PRIu64 " accepted, %" PRIu64
          " rejected\n", tot[0], tot[1], tot[2]);
  return 0;
}

/* With --expect-position: the snapshot's position must be that text. */
static int position_expect(cxm_ctx *ctx, const snap_args *a)
{
  const void *pos = NULL;
  size_t len = 0;
  if (!a->expect)
    return 0;
  (void)cxm_position_get(ctx, &pos, &len);
  if (len == strlen(a->expect) && (len == 0 || memcmp(pos, a->expect, len) == 0))
    return 0;
  fprintf(stderr, "cxm: %s: its stream position is ", a->snapshot);
  if (len)
    fmt_json_string(stderr, pos, len);
  else
    fputs("unset", stderr);
  fprintf(stderr, ", not \"%s\" (--expect-position): nothing ingested\n",
          a->expect);
  return 1;
}

int snapcmd_ingest(int argc, char **argv)
{
  snap_args a;
  cxm_ctx *ctx = NULL;
  struct stat st;
  int rc, embed, format = INPUT_AUTO;
  uint64_t max_errors = DEFAULT_MAX_ERRORS, tot[3] = {0, 0, 0};
  int64_t v;
  memset(&a, 0, sizeof a);
  a.cmd = "ingest";
  a.usage = SNAPCMD_INGEST_USAGE;
  rc = parse_args(argc, argv, A_SNAPSHOT | A_KEYFILE | A_EMBED | A_POSITION |
                  A_EXPECT | A_MAXERR | A_LIBOPTS | A_INPUT, &a);
  if (rc != 0)
    return rc < 0 ? EXIT_SUCCESS : rc;
  if (!a.snapshot)
    return usage_error(&a, "%s", "no snapshot (--snapshot SNAPSHOT)");
  if (a.nfiles == 0)
    return usage_error(&a, "%s", "no input file (use - for standard input)");
  if (a.max_errors) {
    if (parse_i64(a.max_errors, &v) != 0 || v < 0)
      return usage_error(&a, "--max-errors: not a count: '%s'", a.max_errors);
    max_errors = (uint64_t)v;
  }
  if (a.input && (format = input_format_parse(a.input)) < 0)
    return usage_error(&a, "--input must be auto, csv or jsonl, not '%s'",
                       a.input);

  if (stat(a.snapshot, &st) == 0) {
    int32_t known = 0;
    if (snap_load(a.snapshot, &ctx) != 0)
      return EXIT_FAILURE;
    (void)cxm_key_known(ctx, &known);
    /* A snapshot that carries its key keeps carrying it. */
    embed = a.embed_key || known;
    rc = libopts_check(ctx, &a, a.snapshot, CXM_OPT_MAX_LATENESS);
    if (rc == 0 && a.key_file)
      rc = key_install(ctx, a.key_file, 0, a.snapshot, 1);
    else if (rc == 0 && !known) {
      fprintf(stderr, "cxm: %s was saved without its key: give --key-file\n",
              a.snapshot);
      rc = EXIT_USAGE;
    }
  } else if (errno == ENOENT) {
    embed = a.embed_key;
    if (!a.key_file)
      return usage_error(&a, "%s", "no key file (--key-file KEY)");
    rc = cxm_ctx_create(&ctx);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm: cannot create a handle: %s\n", cxm_strerror(rc));
      return EXIT_FAILURE;
    }
    rc = libopts_set(ctx, &a);
    if (rc == 0)
      rc = key_install(ctx, a.key_file, 1, a.snapshot, 0);
  } else {
    fprintf(stderr, "cxm: %s: %s\n", a.snapshot, strerror(errno));
    return EXIT_FAILURE;
  }
  if (rc == 0)
    rc = position_expect(ctx, &a);
  if (rc == 0)
    rc = feed_files(ctx, &a, format, max_errors, tot);
  if (rc == 0 && a.position)
    rc = position_set(ctx, a.position);
  if (rc == 0)
    rc = snap_save(ctx, a.snapshot, embed);
  if (rc == 0) {
    int64_t ev = 0, cu = 0;
    (void)cxm_stat_get(ctx, CXM_STAT_EVENTS_ACCEPTED, &ev);
    (void)cxm_stat_get(ctx, CXM_STAT_CUSTOMERS, &cu);
    fprintf(stderr, "cxm: %s: saved, %lld events, %lld customers\n",
            a.snapshot, (long long)ev, (long long)cu);
  }
  cxm_ctx_destroy(ctx);
  return rc;
}

/* ----------------------------------------------------------------- merge */

int snapcmd_merge(int argc, char **argv)
{
  snap_args a;
  cxm_ctx *dst = NULL;
  int rc;
  memset(&a, 0, sizeof a);
  a.cmd = "merge";
  a.usage = SNAPCMD_MERGE_USAGE;
  rc = parse_args(argc, argv, A_OUTPUT, &a);
  if (rc != 0)
    return rc < 0 ? EXIT_SUCCESS : rc;
  if (!a.output)
    return usage_error(&a, "%s", "no snapshot to write (-o OUT)");
  if (a.nfiles == 0)
    return usage_error(&a, "%s", "no snapshot to merge");
  if (snap_load(a.files[0], &dst) != 0)
    return EXIT_FAILURE;
  for (int f = 1; f < a.nfiles; f++) {
    cxm_ctx *src = NULL;
    if (snap_load(a.files[f], &src) != 0) {
      cxm_ctx_destroy(dst);
      return EXIT_FAILURE;
    }
    rc = cxm_ctx_merge(dst, src);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm: %s: cannot merge it into %s: %s\n", a.files[f],
              a.files[0], errmsg(dst, rc));
      cxm_ctx_destroy(src);
      cxm_ctx_destroy(dst);
      return EXIT_FAILURE;
    }
    cxm_ctx_destroy(src);
  }
  rc = snap_save(dst, a.output, 0);
  cxm_ctx_destroy(dst);
  return rc;
}

/* ---------------------------------------------------------------- report */

int snapcmd_report_open(cxm_ctx **ctx, const char *path, uint32_t given)
{
  cxm_ctx *snap = NULL;
  if (snap_load(path, &snap) != 0)
    return EXIT_FAILURE;
  if (given & SNAPCMD_GIVEN_KEY) {
    uint64_t want = 0, have = 0;
    (void)cxm_key_fingerprint(*ctx, &want);
    (void)cxm_key_fingerprint(snap, &have);
    if (want != have) {
      fprintf(stderr, "cxm: --key-hex: not the key of %s (fingerprints "
              "%016" PRIx64 " and %016" PRIx64 ")\n", path, want, have);
      cxm_ctx_destroy(snap);
      return EXIT_FAILURE;
    }
  }
  for (int opt = 1; opt < 32; opt++) {
    int64_t want, have, dflt;
    if (cxm_option_bounds(opt, NULL, NULL, &dflt) != CXM_OK ||
        cxm_option_get(*ctx, opt, &want) != CXM_OK ||
        cxm_option_get(snap, opt, &have) != CXM_OK)
      continue;
    if (want == have || (!(given & (1u << opt)) && want == dflt))
      continue;
    const char *flag = "(option)";
    for (size_t k = 0; k < NLIBOPTS; k++)
      if (LIBOPTS[k].option == opt)
        flag = LIBOPTS[k].flag;
    fprintf(stderr, "cxm: --%s: %s was made with %lld, not %lld; a snapshot "
            "reports with the options its events were stored with\n", flag,
            path, (long long)have, (long long)want);
    cxm_ctx_destroy(snap);
    return EXIT_USAGE;
  }
  cxm_ctx_destroy(*ctx);
  *ctx = snap;
  return 0;
}

void snapcmd_json_position(FILE *out, cxm_ctx *ctx)
{
  const void *pos = NULL;
  size_t len = 0;
  if (cxm_position_get(ctx, &pos, &len) != CXM_OK || !pos)
    fputs("null", out);
  else
    fmt_json_string(out, pos, len);
}
