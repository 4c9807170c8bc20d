/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool prefix, journal;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix(bool on) {
        prefix = on;
}

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        /* systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connects stderr to; a
         * child whose stderr was redirected (a terminal, a pipe) inherits the variable, so it
         * counts only when it names what stderr is now (as systemd's own programs check) */
        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != 0)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(void) {
        const char *e;

        prefix = journal = stderr_is_journal();

        e = getenv("BLINKUPD_LOG_LEVEL");
        if (e) {
                static const char *const names[] = { "emerg", "alert", "crit", "err",
                                                     "warning", "notice", "info", "debug" };
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (streq(e, names[i]))
                                max_level = (int) i;
        }
}

bool log_stderr_is_journal(void) {
        return journal;
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
