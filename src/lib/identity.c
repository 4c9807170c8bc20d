/* SPDX-License-Identifier: MIT */
/* The serial number and operator of an attempt: the rules for their values (see identity.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "identity.h"
#include "macro.h"
#include "string-util.h"

bool identity_key_is_known(const char *key) {
        return streq_ptr(key, IDENTITY_KEY_SERIAL) || streq_ptr(key, IDENTITY_KEY_OPERATOR);
}

/* The code point of the UTF-8 sequence at s, of at most n bytes, in *ret: its length, or 0 when
 * it is not valid UTF-8 (a stray continuation byte, cut short, overlong, a surrogate, beyond
 * U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret) {
        uint32_t c, min;
        size_t len;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                c = s[0] & 0x1f;
                min = 0x80;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                c = s[0] & 0x0f;
                min = 0x800;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                c = s[0] & 0x07;
                min = 0x10000;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *ret = c;
        return len;
}

static bool char_is_control(uint32_t c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

int identity_check_text(const char *key, const char *value, bool spaces, ErrorText *e) {
        const unsigned char *s = (const unsigned char *) value;
        size_t n;

        if (!value || !*value)
                return error_text_set(e, -EINVAL, "%s: empty", key);
        n = strlen(value);
        if (n > IDENTITY_VALUE_MAX)
                return error_text_set(e, -EINVAL, "%s: %zu bytes, more than %d", key, n, IDENTITY_VALUE_MAX);
        for (size_t i = 0, len; i < n; i += len) {
                uint32_t c;

                len = utf8_decode(s + i, n - i, &c);
                if (len == 0)
                        return error_text_set(e, -EINVAL, "%s: not valid UTF-8 at byte %zu", key, i);
                if (char_is_control(c))
                        return error_text_set(e, -EINVAL, "%s: control character U+%04X at byte %zu", key,
                                              (unsigned) c, i);
                if (c == ' ' && !spaces)
                        return error_text_set(e, -EINVAL, "%s: a space at byte %zu; a serial number has none",
                                              key, i);
        }
        if (value[0] == ' ' || value[n - 1] == ' ')
                return error_text_set(e, -EINVAL, "%s: starts or ends with a space", key);
        return 0;
}

int identity_check(const char *key, const char *value, ErrorText *e) {
        if (!identity_key_is_known(key))
                return error_text_set(e, -ENOKEY, "unknown key \"%s\": the keys are \"%s\" and \"%s\"",
                                      strempty(key), IDENTITY_KEY_SERIAL, IDENTITY_KEY_OPERATOR);
        return identity_check_text(key, value, !streq(key, IDENTITY_KEY_SERIAL), e);
}
