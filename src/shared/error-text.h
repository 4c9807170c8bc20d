/* SPDX-License-Identifier: MIT */
#pragma once

/* How code without I/O says why it refused something (the frame, the factory server's JSON):
 * the function returns -errno, and a message for a person, naming the field and the rule, in
 * a buffer of the caller's, so that it needs no allocation and works on -ENOMEM too. */

#include <stdarg.h>
#include <stdio.h>

#include "macro.h"

typedef struct ErrorText {
        char message[192];
} ErrorText;

/* Writes the message into e (when not NULL) and returns error, for "return error_text_set(...)". */
_printf_(3, 4) static inline int error_text_set(ErrorText *e, int error, const char *format, ...) {
        va_list ap;

        if (e) {
                va_start(ap, format);
                (void) vsnprintf(e->message, sizeof(e->message), format, ap);
                va_end(ap);
        }
        return error;
}
