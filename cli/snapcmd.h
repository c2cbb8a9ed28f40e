/*
 * snapcmd.h - the snapshot commands of `cxm`: init, ingest, merge, and the
 * `--snapshot` input of `cxm report`.
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_SNAPCMD_H
#define CXM_CLI_SNAPCMD_H

#include <stdint.h>
#include <stdio.h>

#include "cxmetrics.h"

/* Each takes the arguments after the command's name and returns the exit
 * status of cxm: 0 done, 1 an input or output could not be used, 2 bad
 * usage. */
int snapcmd_init(int argc, char **argv);
int snapcmd_ingest(int argc, char **argv);
int snapcmd_merge(int argc, char **argv);

/* The usage texts, for `cxm help COMMAND`. */
extern const char SNAPCMD_INIT_USAGE[];
extern const char SNAPCMD_INGEST_USAGE[];
extern const char SNAPCMD_MERGE_USAGE[];

/* Bit of `given` for snapcmd_report_open(): a hash key was given. Bit k
 * (1..31) stands for the library option k (CXM_OPT_...). */
#define SNAPCMD_GIVEN_KEY 1u

/* `cxm report --snapshot PATH`: replace *ctx, a fresh handle on which the
 * report's library options have been set, by the snapshot's handle. The
 * options marked in `given`, and any option whose value in *ctx is not its
 * default, must equal the snapshot's: they decided how its events were
 * stored. A given key must match the snapshot's key fingerprint. Returns 0,
 * or the exit status after printing a message (1: unreadable, corrupt or
 * wrong key; 2: an option disagrees). *ctx is always a valid handle after
 * the call (the old one on failure). */
int snapcmd_report_open(cxm_ctx **ctx, const char *path, uint32_t given);

/* The snapshot's stream position as a JSON string, or null. */
void snapcmd_json_position(FILE *out, cxm_ctx *ctx);

#endif /* CXM_CLI_SNAPCMD_H */
