/*
 * dashboard.h - `cxm dashboard`: a self-contained HTML KPI page.
 * Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
 */
#ifndef CXM_CLI_DASHBOARD_H
#define CXM_CLI_DASHBOARD_H

/* Runs `cxm dashboard` with the arguments after the command name; returns
   the exit status. */
int dashboard_main(int argc, char **argv);

#endif
