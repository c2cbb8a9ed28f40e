/*
 * clvcmd.h - `cxm clv`, predictive CLV from event files (cli/clv.c).
 *
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_CLVCMD_H
#define CXM_CLI_CLVCMD_H

/* The command's --help text. */
extern const char CLV_USAGE[];

/* Runs `cxm clv` with the arguments after the command name; returns the
 * exit status (0 written, 1 input or fit failed, 2 bad usage). */
int cmd_clv(int argc, char **argv);

#endif /* CXM_CLI_CLVCMD_H */
