/* SPDX-License-Identifier: MIT */
#pragma once

/* What blinkupctl's verbs share that needs no bus: which bus to name, the parsing of their
 * options and the formatting of values for a terminal. The bus itself is in ctl-bus.h. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl.h"
#include "json-out.h"

/* long options without a short form */
enum {
        ARG_USER_BUS = 0x100,
        ARG_WAIT,
        ARG_CONFIRM,
        ARG_TIMEOUT,
        ARG_STATE_DIR,
        ARG_JSON,
        ARG_SERIAL,
        ARG_OPERATOR,
};

bool ctl_user_bus(void);
/* "session bus" or "system bus", for messages */
const char *ctl_bus_name(void);

/* The verbs' option parsers return 1 to go on, 0 when they printed the help, -EINVAL for a
 * usage error (said on stderr) and any other -errno for a failure (said as well). This is the
 * exit status for the last three. */
int ctl_parse_exit_status(int r);

/* The verbs take no positional arguments: 0, or -EINVAL after saying which one is extra. */
int ctl_no_arguments(const char *verb, int argc, char *argv[]);

/* A verb whose only options are --help (printing help), --user-bus and, when json is not NULL,
 * --json[=MODE] (see ctl_parse_json()); returns as a parser. */
int ctl_parse_plain_verb(const char *verb, const char *help, int argc, char *argv[], JsonMode *json);

/* The value of --json (NULL when bare) into ret; "help" lists the values. Returns as a parser. */
int ctl_parse_json(const char *verb, const char *arg, JsonMode *ret);

/* the --json line of the verbs' help */
#define CTL_JSON_HELP "  --json[=MODE]     machine-readable output: short (the default), pretty, off\n"

/* KEY: {"max_lateness_ns": MAX, "p99_lateness_ns": P99, "edges": EDGES}, a blink's timing */
void ctl_json_timing(JsonOut *j, const char *key, uint64_t max_lateness_ns, uint64_t p99_lateness_ns,
                     uint64_t edges);

/* Flushes stdout: 0, or CTL_EXIT_FAILURE after saying that writing failed. */
int ctl_flush_stdout(void);

/* A decimal number without sign or spaces: 0, or -EINVAL / -ERANGE. */
int ctl_parse_uint64(const char *s, uint64_t *ret);

/* S with control characters and non-ASCII bytes escaped, so that one event stays on one line
 * of the terminal. NULL prints nothing. */
void print_clean(FILE *f, const char *s);

/* S as the attempt record writes a value: bare, or quoted and escaped. */
void print_escaped_value(FILE *f, const char *s);

/* "51.2 us" */
#define FORMAT_NS_MAX 32
const char *format_ns(char buf[static FORMAT_NS_MAX], uint64_t ns);
