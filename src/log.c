/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool prefix;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix(bool on) {
        prefix = on;
}

void log_setup(void) {
        const char *e;

        /* systemd sets JOURNAL_STREAM when stderr is connected to the journal */
        prefix = !!getenv("JOURNAL_STREAM");

        e = getenv("BLINKUPD_LOG_LEVEL");
        if (e) {
                static const char *const names[] = { "emerg", "alert", "crit", "err",
                                                     "warning", "notice", "info", "debug" };
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (streq(e, names[i]))
                                max_level = (int) i;
        }
}

int log_internal(int level, int error, const char *func, const char *format, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        (void) func;
        if (error != 0)
                errno = abs(error); /* so that %m works */

        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (prefix)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "%s\n", buf);

        errno = saved;
        return -abs(error);
}
