/*
 * cxm.c - the `cxm` command: KPI reports from canonical CSV event streams.
 *
 * Built on the public API only (include/cxmetrics.h), like any program of a
 * user of the library.
 *
 * Exit status: 0 when the report was written (even if some input lines were
 * rejected: they are listed on stderr and counted in the report's meta);
 * 1 when an input cannot be read or used (no such file, header without the
 * required columns) or the report cannot be written; 2 on bad usage.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxmetrics.h"
#include "buckets.h"
#include "input.h"
#include "report.h"
#include "benchmark_out.h"
#include "retention_out.h"
#include "snapcmd.h"
#include "clvcmd.h"
#include "dashboard.h"

#define EXIT_USAGE 2
#define DEFAULT_MAX_ERRORS 20

static const char MAIN_USAGE[] =
  "Usage: cxm COMMAND [OPTION]... [FILE]...\n"
  "Customer-experience KPIs (NPS, CSAT, revenue, AOV, CAC, bounce rate, ...)\n"
  "from event streams (canonical CSV or JSON Lines), with libcxmetrics.\n"
  "\n"
  "Commands:\n"
  "  report      read event files (CSV or JSON Lines) and print a KPI report\n"
  "  cohorts     cohort retention matrix: first-purchase month x months since\n"
  "  init        write an empty snapshot (options and key) to start from\n"
  "  ingest      add event files (CSV or JSON Lines) to a snapshot, atomically\n"
  "  merge       merge snapshots of customer-partitioned shards\n"
  "  clv         predictive CLV: BG/NBD, Gamma-Gamma, P(alive), RFM segments\n"
  "  dashboard   write a self-contained HTML page of charts and KPI tiles\n"
  "\n"
  "Options:\n"
  "  -h, --help     show this help (`cxm report --help` for the command's)\n"
  "  -V, --version  show the versions of cxm and of the library\n"
  "\n"
  "Example: cxm report examples/data/sample-events.csv\n";

static const char REPORT_USAGE[] =
  "Usage: cxm report [OPTION]... FILE...\n"
  "   or: cxm report --snapshot SNAPSHOT [OPTION]...\n"
  "Read event files (`-` = standard input) into one handle and print every\n"
  "KPI for all events, per channel, per segment and (JSON only) per segment x\n"
  "channel. Files are canonical CSV, or JSON Lines (docs/jsonl.md) when named\n"
  "*.jsonl or *.ndjson or with --input jsonl. Progress (MB read, events/s)\n"
  "goes to stderr when it is a terminal (CXM_PROGRESS=1 forces it, 0 stops it).\n"
  "\n"
  "CSV columns, found by the header's names: time,customer,type,channel,value,\n"
  "value2,segments (time and type required; other columns, e.g. text, ignored).\n"
  "Each file needs its own header line.\n"
  "\n"
  "Output:\n"
  "  --format FMT           text (default) or json\n"
  "  --bucket B             add a series of the event-level KPIs per day, ISO\n"
  "                         week or month (B = day, week, month) over the\n"
  "                         window's days that hold events (JSON: \"series\")\n"
  "  --input FMT            auto (default: by file name), csv or jsonl\n"
  "  --benchmark KPI=VALUE  JSON: add \"gap\" = value - VALUE to that KPI's object\n"
  "                         in every scope (repeatable; KPI a report key, VALUE\n"
  "                         in its units: NPS points, rates as fractions, money)\n"
  "  --snapshot SNAPSHOT    report from a snapshot (cxm ingest) instead of\n"
  "                         files; library options given must equal its own\n"
  "\n"
  "Window (event-level KPIs; customer-level KPIs are always all-time):\n"
  "  --from T               first day counted (inclusive)\n"
  "  --to T                 end of the window (exclusive)\n"
  "  --trailing-days N      the N days ending with the day of --as-of\n"
  "  --as-of T              default: the latest accepted event's time; also\n"
  "                         the day of the retention keys (docs/retention.md)\n"
  "    T is Unix seconds or ISO-8601 (2026-03-01, 2026-03-01T18:30:00Z,\n"
  "    2026-03-01T18:30:00+07:00); zone-less times are in --utc-offset.\n"
  "    Window bounds are floored to the start of their day.\n"
  "\n"
  "Library options (each changes results):\n"
  "  --utc-offset +hh:mm    offset of the days from UTC (default +00:00)\n"
  "  --decimals N           decimals of the money minor unit, 0..6 (default 2);\n"
  "                         amounts are rounded to it, halves away from zero\n"
  "  --max-lateness SECONDS reject an event older than its customer's newest\n"
  "                         (a channel's newest for spend) by more than this\n"
  "                         (default 604800 = 7 days)\n"
  "  --key-hex HEX32        16-byte customer-hash key as 32 hex digits\n"
  "                         (default: random per run)\n"
  "\n"
  "Diagnostics:\n"
  "  --max-errors N         print at most N rejected lines (default 20)\n"
  "  -h, --help             show this help\n"
  "\n"
  "Rejected lines go to stderr as FILE:LINE: reason, then the totals. They do\n"
  "not change the exit status: 0 = report written, 1 = an input could not be\n"
  "read or used or the output could not be written, 2 = bad usage.\n";


static int usage_error(const char *fmt, const char *arg)
{
  fputs("cxm: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'cxm report --help'.\n", stderr);
  return EXIT_USAGE;
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

/* "Z", "UTC", "+hh:mm", "-hh:mm", "+hhmm", "+hh" -> seconds. */
static int parse_offset(const char *s, int64_t *out)
{
  if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) {
    *out = 0;
    return 0;
  }
  int sign;
  if (s[0] == '+')
    sign = 1;
  else if (s[0] == '-')
    sign = -1;
  else
    return -1;
  s++;
  int d[4], nd = 0;
  for (const char *q = s; *q; q++) {
    if (*q == ':' && q == s + 2 && nd == 2)
      continue;
    if (*q < '0' || *q > '9' || nd == 4)
      return -1;
    d[nd++] = *q - '0';
  }
  if (nd != 2 && nd != 4)
    return -1;
  if (nd == 2 && strlen(s) != 2)
    return -1;
  int hh = d[0] * 10 + d[1], mm = nd == 4 ? d[2] * 10 + d[3] : 0;
  if (mm > 59)
    return -1;
  *out = sign * (int64_t)(hh * 3600 + mm * 60);
  return 0;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int parse_key(const char *s, uint8_t key[CXM_KEY_SIZE])
{
  if (strlen(s) != 2 * CXM_KEY_SIZE)
    return -1;
  for (int i = 0; i < CXM_KEY_SIZE; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    key[i] = (uint8_t)(hi * 16 + lo);
  }
  return 0;
}

/* Options of `cxm report` as given. */
typedef struct report_args {
  const char *format, *from, *to, *utc_offset, *decimals, *max_lateness,
      *key_hex, *trailing_days, *as_of, *max_errors, *snapshot, *bucket,
      *input;
  int nfiles;
  char **files;
} report_args;

static int parse_report_args(int argc, char **argv, report_args *a)
{
  static const struct {
    const char *name;
    size_t off;
  } opts[] = {
    {"format", offsetof(report_args, format)},
    {"from", offsetof(report_args, from)},
    {"to", offsetof(report_args, to)},
    {"utc-offset", offsetof(report_args, utc_offset)},
    {"decimals", offsetof(report_args, decimals)},
    {"max-lateness", offsetof(report_args, max_lateness)},
    {"key-hex", offsetof(report_args, key_hex)},
    {"trailing-days", offsetof(report_args, trailing_days)},
    {"as-of", offsetof(report_args, as_of)},
    {"max-errors", offsetof(report_args, max_errors)},
    {"snapshot", offsetof(report_args, snapshot)},
    {"bucket", offsetof(report_args, bucket)},
    {"input", offsetof(report_args, input)},
  };
  int i, only_files = 0;
  memset(a, 0, sizeof *a);
  a->files = argv; /* compacted in place below */
  for (i = 0; i < argc; i++) {
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
      fputs(REPORT_USAGE, stdout);
      return -1;
    }
    if (strncmp(arg, "--benchmark", 11) == 0 && (arg[11] == 0 || arg[11] == '=')) {
      const char *bv = arg[11] ? arg + 12 : i + 1 < argc ? argv[++i] : NULL;
      if (bench_arg_add(bv) != 0)
        return usage_error("--benchmark: expected KPI=VALUE (KPI a report key), not '%s'",
                           bv ? bv : "");
      continue;
    }
    if (strncmp(arg, "--", 2) != 0)
      return usage_error("unknown option '%s'", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    size_t k;
    for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
      if (strlen(opts[k].name) == nlen && memcmp(opts[k].name, name, nlen) == 0)
        break;
    if (k == sizeof opts / sizeof opts[0])
      return usage_error("unknown option '%s'", arg);
    const char *val;
    if (eq) {
      val = eq + 1;
    } else {
      if (i + 1 >= argc)
        return usage_error("option '%s' needs a value", arg);
      val = argv[++i];
    }
    *(const char **)((char *)a + opts[k].off) = val;
  }
  return 0;
}

static int cmd_report(int argc, char **argv)
{
  report_args a;
  report_params p;
  cxm_ctx *ctx = NULL;
  int rc, status = EXIT_FAILURE;
  int64_t v;

  rc = parse_report_args(argc, argv, &a);
  if (rc == -1)
    return EXIT_SUCCESS; /* --help */
  if (rc != 0)
    return rc;
  if (a.nfiles == 0 && !a.snapshot)
    return usage_error("%s", "no input file (use - for standard input)");
  if (a.nfiles > 0 && a.snapshot)
    return usage_error("%s", "--snapshot excludes input files");

  memset(&p, 0, sizeof p);
  p.from = CXM_TIME_MIN;
  p.to = CXM_TIME_MAX;
  p.files = a.files;
  p.nfiles = a.nfiles;
  if (!a.format || strcmp(a.format, "text") == 0)
    p.format = REPORT_TEXT;
  else if (strcmp(a.format, "json") == 0)
    p.format = REPORT_JSON;
  else
    return usage_error("--format must be text or json, not '%s'", a.format);
  int input_format = INPUT_AUTO;
  if (a.input && (input_format = input_format_parse(a.input)) < 0)
    return usage_error("--input must be auto, csv or jsonl, not '%s'", a.input);
  if (a.bucket && (p.bucket = bucket_parse(a.bucket)) < 0)
    return usage_error("--bucket must be day, week or month, not '%s'", a.bucket);
  if (a.trailing_days && (a.from || a.to))
    return usage_error("%s", "--trailing-days excludes --from and --to");

  uint64_t max_errors = DEFAULT_MAX_ERRORS;
  if (a.max_errors) {
    if (parse_i64(a.max_errors, &v) != 0 || v < 0)
      return usage_error("--max-errors: not a count: '%s'", a.max_errors);
    max_errors = (uint64_t)v;
  }

  rc = cxm_ctx_create(&ctx);
  if (rc != CXM_OK) {
    fprintf(stderr, "cxm: cannot create a handle: %s\n", cxm_strerror(rc));
    return EXIT_FAILURE;
  }

  /* Library options: set before any event. */
  struct {
    const char *flag, *text;
    int option;
  } numeric[] = {
    {"--decimals", a.decimals, CXM_OPT_DECIMALS},
    {"--max-lateness", a.max_lateness, CXM_OPT_MAX_LATENESS},
  };
  for (size_t k = 0; k < sizeof numeric / sizeof numeric[0]; k++) {
    if (!numeric[k].text)
      continue;
    int64_t lo = 0, hi = 0;
    (void)cxm_option_bounds(numeric[k].option, &lo, &hi, NULL);
    if (parse_i64(numeric[k].text, &v) != 0 ||
        cxm_option_set(ctx, numeric[k].option, v) != CXM_OK) {
      fprintf(stderr, "cxm: %s: '%s' is not an integer in %lld..%lld\n",
              numeric[k].flag, numeric[k].text, (long long)lo, (long long)hi);
      status = EXIT_USAGE;
      goto out;
    }
  }
  if (a.utc_offset) {
    if (parse_offset(a.utc_offset, &v) != 0 ||
        cxm_option_set(ctx, CXM_OPT_UTC_OFFSET, v) != CXM_OK) {
      fprintf(stderr, "cxm: --utc-offset: '%s' is not an offset +hh:mm "
              "within -14:00..+14:00\n", a.utc_offset);
      status = EXIT_USAGE;
      goto out;
    }
  }
  if (a.key_hex) {
    uint8_t key[CXM_KEY_SIZE];
    if (parse_key(a.key_hex, key) != 0 ||
        cxm_key_set(ctx, key, sizeof key) != CXM_OK) {
      fprintf(stderr, "cxm: --key-hex: expected 32 hex digits\n");
      status = EXIT_USAGE;
      goto out;
    }
  }
  if (a.snapshot) {
    p.snapshot = a.snapshot;
    rc = snapcmd_report_open(&ctx, a.snapshot,
                             (a.key_hex ? SNAPCMD_GIVEN_KEY : 0u) |
                             (a.utc_offset ? 1u << CXM_OPT_UTC_OFFSET : 0u) |
                             (a.decimals ? 1u << CXM_OPT_DECIMALS : 0u) |
                             (a.max_lateness ? 1u << CXM_OPT_MAX_LATENESS : 0u));
    if (rc != 0) {
      status = rc;
      goto out;
    }
  }
  if (cxm_option_get(ctx, CXM_OPT_DECIMALS, &v) == CXM_OK)
    p.decimals = (int)v;
  (void)cxm_option_get(ctx, CXM_OPT_UTC_OFFSET, &p.utc_offset);
  (void)cxm_option_get(ctx, CXM_OPT_MAX_LATENESS, &p.max_lateness);

  /* Times: parsed by the library, zone-less ones in the handle's offset. */
  struct {
    const char *flag, *text;
    int64_t *dst;
  } times[] = {
    {"--from", a.from, &p.from},
    {"--to", a.to, &p.to},
    {"--as-of", a.as_of, &p.as_of},
  };
  for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
    if (times[k].text &&
        cxm_time_parse(ctx, times[k].text, strlen(times[k].text),
                       times[k].dst) != CXM_OK) {
      fprintf(stderr, "cxm: %s: cannot parse the time '%s'\n", times[k].flag,
              times[k].text);
      status = EXIT_USAGE;
      goto out;
    }
  }
  if (a.from || a.to)
    p.window = WINDOW_RANGE;
  if (a.from && a.to && p.from > p.to) {
    fprintf(stderr, "cxm: --from is after --to\n");
    status = EXIT_USAGE;
    goto out;
  }
  if (a.trailing_days) {
    if (parse_i64(a.trailing_days, &v) != 0 || v < 1 || v > INT32_MAX) {
      fprintf(stderr, "cxm: --trailing-days: '%s' is not a positive count\n",
              a.trailing_days);
      status = EXIT_USAGE;
      goto out;
    }
    p.window = WINDOW_TRAILING;
    p.trailing_days = (int32_t)v;
  }

  /* Ingest. Each file has its own reader (and its own header). */
  for (int f = 0; f < a.nfiles; f++) {
    uint64_t lines = 0, acc = 0, rej = 0;
    errsink sink;
    const char *path = a.files[f];
    sink.file = strcmp(path, "-") == 0 ? "<stdin>" : path;
    sink.printed = p.rejected; /* the cap counts over all files */
    sink.max_print = max_errors;
    rc = input_feed_file(ctx, path, input_format, input_on_reject, &sink, &lines,
                         &acc, &rej);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm: %s: %s\n", sink.file,
              *cxm_ctx_errmsg(ctx) ? cxm_ctx_errmsg(ctx) : cxm_strerror(rc));
      goto out;
    }
    if (a.nfiles > 1)
      fprintf(stderr, "cxm: %s: %" PRIu64 " lines, %" PRIu64 " accepted, %"
              PRIu64 " rejected\n", sink.file, lines, acc, rej);
    p.lines += lines;
    p.accepted += acc;
    p.rejected += rej;
  }
  if (p.rejected > max_errors)
    fprintf(stderr, "cxm: %" PRIu64 " more rejected lines not shown "
            "(--max-errors)\n", p.rejected - max_errors);
  if (!a.snapshot)
    fprintf(stderr, "cxm: %" PRIu64 " lines, %" PRIu64 " accepted, %" PRIu64
            " rejected\n", p.lines, p.accepted, p.rejected);

  if (!a.as_of)
    (void)cxm_stat_get(ctx, CXM_STAT_LAST_TIME, &p.as_of);
  if (p.window == WINDOW_TRAILING) {
    rc = cxm_window_trailing(ctx, p.as_of, p.trailing_days, &p.from, &p.to);
    if (rc != CXM_OK) {
      fprintf(stderr, "cxm: --trailing-days: %s\n", cxm_ctx_errmsg(ctx));
      status = EXIT_USAGE;
      goto out;
    }
  }

  if (bench_apply(ctx) != 0)
    goto out;
  if (report_write(ctx, &p, stdout) != 0)
    goto out;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "cxm: writing the report failed: %s\n", strerror(errno));
    goto out;
  }
  status = EXIT_SUCCESS;
out:
  cxm_ctx_destroy(ctx);
  return status;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fputs(MAIN_USAGE, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "help") == 0) {
    if (argc > 2 && strcmp(argv[2], "report") == 0)
      fputs(REPORT_USAGE, stdout);
    else if (argc > 2 && strcmp(argv[2], "cohorts") == 0)
      fputs(COHORTS_USAGE, stdout);
    else if (argc > 2 && strcmp(argv[2], "init") == 0)
      fputs(SNAPCMD_INIT_USAGE, stdout);
    else if (argc > 2 && strcmp(argv[2], "ingest") == 0)
      fputs(SNAPCMD_INGEST_USAGE, stdout);
    else if (argc > 2 && strcmp(argv[2], "merge") == 0)
      fputs(SNAPCMD_MERGE_USAGE, stdout);
    else if (argc > 2 && strcmp(argv[2], "clv") == 0)
      fputs(CLV_USAGE, stdout);
    else if (argc > 2 && strcmp(argv[2], "dashboard") == 0) {
      char help[] = "--help", *hv[] = {help, NULL};
      return dashboard_main(1, hv);
    }
    else
      fputs(MAIN_USAGE, stdout);
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("cxm (libcxmetrics) %s\n", cxm_version_string());
    if (cxm_version_number() != CXM_VERSION_NUMBER)
      printf("built with the header of version %d.%d.%d\n", CXM_VERSION_MAJOR,
             CXM_VERSION_MINOR, CXM_VERSION_PATCH);
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "report") == 0)
    return cmd_report(argc - 2, argv + 2);
  if (strcmp(cmd, "cohorts") == 0)
    return cohorts_main(argc - 2, argv + 2);
  if (strcmp(cmd, "init") == 0)
    return snapcmd_init(argc - 2, argv + 2);
  if (strcmp(cmd, "ingest") == 0)
    return snapcmd_ingest(argc - 2, argv + 2);
  if (strcmp(cmd, "merge") == 0)
    return snapcmd_merge(argc - 2, argv + 2);
  if (strcmp(cmd, "dashboard") == 0)
    return dashboard_main(argc - 2, argv + 2);
  if (strcmp(cmd, "clv") == 0) return cmd_clv(argc - 2, argv + 2);
  fprintf(stderr, "cxm: unknown command '%s'\n\n%s", cmd, MAIN_USAGE);
  return EXIT_USAGE;
}
