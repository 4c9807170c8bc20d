/* SPDX-License-Identifier: MIT */
/* blinkupctl: the bus choice, option parsing helpers and terminal formatting the verbs share. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-common.h"
#include "macro.h"
#include "record.h"

static bool arg_user_bus;

void ctl_set_user_bus(bool user) {
        arg_user_bus = user;
}

bool ctl_user_bus(void) {
        return arg_user_bus;
}

const char *ctl_bus_name(void) {
        return arg_user_bus ? "session bus" : "system bus";
}

int ctl_parse_exit_status(int r) {
        if (r == 0)
                return CTL_EXIT_OK;
        return r == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_FAILURE;
}

int ctl_no_arguments(const char *verb, int argc, char *argv[]) {
        if (optind < argc) {
                fprintf(stderr, "blinkupctl %s: unexpected argument \"%s\"\n", verb, argv[optind]);
                return -EINVAL;
        }
        return 0;
}

int ctl_parse_json(const char *verb, const char *arg, JsonMode *ret) {
        if (arg && streq(arg, "help")) {
                puts("short\npretty\noff");
                return 0;
        }
        if (json_mode_from_string(arg, ret) < 0) {
                fprintf(stderr, "blinkupctl %s: --json: unknown value \"%s\" (use short, pretty or off)\n",
                        verb, arg);
                return -EINVAL;
        }
        return 1;
}

int ctl_parse_plain_verb(const char *verb, const char *help, int argc, char *argv[], JsonMode *json) {
        static const struct option options[] = {
                { "json", optional_argument, NULL, ARG_JSON }, /* first: left out without json */
                { "help", no_argument, NULL, 'h' },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                {},
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", json ? options : options + 1, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(help, stdout);
                        return 0;
                case ARG_USER_BUS:
                        arg_user_bus = true;
                        break;
                case ARG_JSON:
                        r = ctl_parse_json(verb, optarg, json);
                        if (r <= 0)
                                return r;
                        break;
                default:
                        return -EINVAL; /* getopt said why */
                }
        r = ctl_no_arguments(verb, argc, argv);
        return r < 0 ? r : 1;
}

int ctl_parse_uint64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !(*s >= '0' && *s <= '9'))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

void print_clean(FILE *f, const char *s) {
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '\\')
                        fputs("\\\\", f);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < ' ' || c > '~')
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
}

void print_escaped_value(FILE *f, const char *s) {
        size_t n = strlen(s);
        _cleanup_(freep) char *buf = malloc(4 * n + 3);

        if (!buf) {
                fputs("\"\"", f);
                return;
        }
        fwrite(buf, 1, record_escape_value(buf, s, n), f);
}

void ctl_json_timing(JsonOut *j, const char *key, uint64_t max_lateness_ns, uint64_t p99_lateness_ns,
                     uint64_t edges) {
        json_key(j, key);
        json_begin_object(j);
        json_field_unsigned(j, "max_lateness_ns", max_lateness_ns);
        json_field_unsigned(j, "p99_lateness_ns", p99_lateness_ns);
        json_field_unsigned(j, "edges", edges);
        json_end_object(j);
}

int ctl_flush_stdout(void) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "blinkupctl: writing output: %m\n");
                return CTL_EXIT_FAILURE;
        }
        return 0;
}

const char *format_ns(char buf[static FORMAT_NS_MAX], uint64_t ns) {
        if (ns < 1000)
                snprintf(buf, FORMAT_NS_MAX, "%" PRIu64 " ns", ns);
        else if (ns < 1000000)
                snprintf(buf, FORMAT_NS_MAX, "%" PRIu64 ".%" PRIu64 " us", ns / 1000, ns % 1000 / 100);
        else
                snprintf(buf, FORMAT_NS_MAX, "%" PRIu64 ".%" PRIu64 " ms", ns / 1000000,
                         ns % 1000000 / 100000);
        return buf;
}
