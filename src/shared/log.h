/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Logging to stderr. Under systemd (JOURNAL_STREAM set, or forced) each line gets the "<N>"
 * priority prefix the journal understands. All log_*() functions return their error
 * argument (negative errno), so they can be used as "return log_error_errno(r, ...)". */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_prefix(bool on);
void log_setup(void);
/* Was stderr, at log_setup(), the journal stream systemd connected it to (JOURNAL_STREAM names
 * its device and inode)? Then "<N>" prefixes and sd_journal_send() are right; a redirected
 * stderr is not. */
bool log_stderr_is_journal(void);

int log_internal(int level, int error, const char *func, const char *format, ...) _printf_(4, 5);

#define log_full_errno(level, error, ...)                                                  \
        ({                                                                                 \
                int _l = (level), _e = (error);                                            \
                (log_get_max_level() >= _l) ? log_internal(_l, _e, __func__, __VA_ARGS__)  \
                                            : -abs(_e);                                    \
        })

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* log a failed allocation */
#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
