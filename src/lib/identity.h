/* SPDX-License-Identifier: MIT */
#pragma once

/* Which unit an attempt was for: the serial number printed on it and the operator at the
 * fixture, as BlinkUpWithOptions() takes them (org.blinkupd.Fixture1(5)) and the record keeps
 * them (the "started" line's serial= and operator=).
 *
 * A value is 1..IDENTITY_VALUE_MAX bytes of valid UTF-8 (no overlong form, no surrogate,
 * nothing beyond U+10FFFF) without control characters (U+0000..U+001F, U+007F..U+009F) and
 * without the line and paragraph separators U+2028 and U+2029. A serial number holds no space
 * (U+0020) at all; an operator's name may hold spaces between its words, but does not start or
 * end with one. */

#include <stdbool.h>

#include "error-text.h"

#define IDENTITY_VALUE_MAX 64 /* bytes */
#define IDENTITY_KEY_SERIAL "serial"
#define IDENTITY_KEY_OPERATOR "operator"

typedef struct AttemptIdentity {
        const char *serial; /* NULL: not given */
        const char *operator;
} AttemptIdentity;

/* KEY is "serial" or "operator". */
bool identity_key_is_known(const char *key);

/* Whether VALUE is good for KEY: 0; -ENOKEY for an unknown key, -EINVAL for a value against
 * the rules above. The message names the key. */
int identity_check(const char *key, const char *value, ErrorText *e);

/* The same rules for another name (the message calls it WHAT): an operator's with SPACES, a
 * serial number's without. [Fixture] Line= is checked as an operator's name. */
int identity_check_text(const char *what, const char *value, bool spaces, ErrorText *e);
