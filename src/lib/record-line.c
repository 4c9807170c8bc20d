/* SPDX-License-Identifier: MIT */
/* The attempt record's line format, without any I/O: the checksum, the time stamp, the escaping
 * of values, formatting a line and parsing one back (see record.h for the format). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "macro.h"
#include "record-internal.h"
#include "time-util.h"

#define CRC_FIELD " crc="
#define CRC_FIELD_LEN (sizeof(CRC_FIELD) - 1)
#define CRC_DIGITS 8
#define TIMESTAMP_LEN 27 /* 2026-11-24T03:10:00.123456Z */
#define NAME_MAX_LEN 64

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), a byte at a time from a table made
 * on first use: readers check it on every line of what may be hundreds of megabytes. */
static uint32_t line_crc32(const void *data, size_t length) {
        static uint32_t table[256];
        static bool have_table;
        const uint8_t *p = data;
        uint32_t crc = UINT32_MAX;

        if (!have_table) { /* the record is written and read on one thread only */
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;
                        for (unsigned b = 0; b < 8; b++)
                                c = (c >> 1) ^ (UINT32_C(0xEDB88320) & (0 - (c & 1)));
                        table[i] = c;
                }
                have_table = true;
        }
        for (size_t i = 0; i < length; i++)
                crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
        return ~crc;
}

char *record_format_timestamp(char buf[static RECORD_TIMESTAMP_MAX], uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) ||
            snprintf(buf, RECORD_TIMESTAMP_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned) (usec % USEC_PER_SEC)) != TIMESTAMP_LEN)
                snprintf(buf, RECORD_TIMESTAMP_MAX, "@%" PRIu64, usec / USEC_PER_SEC);
        return buf;
}

static bool char_is_bare(char c) {
        return c > ' ' && c <= '~' && c != '"' && c != '\\';
}

/* The escape letter of c in "\c", or 0 when c has none. */
static char escape_letter(unsigned char c) {
        switch (c) {
        case '"':
        case '\\':
                return (char) c;
        case '\n':
                return 'n';
        case '\r':
                return 'r';
        case '\t':
                return 't';
        default:
                return 0;
        }
}

size_t record_escape_value(char *buf, const char *value, size_t length) {
        static const char hex[] = "0123456789abcdef";
        bool bare = length > 0;
        char *p = buf;

        for (size_t i = 0; bare && i < length; i++)
                bare = char_is_bare(value[i]);
        if (bare) {
                memcpy(buf, value, length);
                return length;
        }

        *p++ = '"';
        for (size_t i = 0; i < length; i++) {
                unsigned char c = (unsigned char) value[i];
                char letter = escape_letter(c);

                if (letter != 0) {
                        *p++ = '\\';
                        *p++ = letter;
                } else if (c < ' ' || c > '~') {
                        *p++ = '\\';
                        *p++ = 'x';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                } else
                        *p++ = (char) c;
        }
        *p++ = '"';
        return (size_t) (p - buf);
}

static bool char_is_key(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* a key ([a-z0-9_]), or with dash an event name (also '-') */
static bool name_is_valid(const char *s, bool dash) {
        if (!s || !*s || strlen(s) > NAME_MAX_LEN)
                return false;
        for (; *s; s++)
                if (!char_is_key(*s) && !(dash && *s == '-'))
                        return false;
        return true;
}

static bool key_is_reserved(const char *key) {
        return streq(key, "attempt") || streq(key, "event") || streq(key, "crc");
}

/* ---- formatting ---- */

int record_line_check(uint64_t attempt_id, const char *event, const RecordField *fields, size_t n) {
        if (attempt_id == 0 || !name_is_valid(event, true) || (n > 0 && !fields))
                return -EINVAL;
        if (n > RECORD_FIELDS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (!name_is_valid(fields[i].key, false) || key_is_reserved(fields[i].key) || !fields[i].value)
                        return -EINVAL;
        return 0;
}

size_t record_line_size(const char *event, const RecordField *fields, size_t n) {
        size_t size = RECORD_TIMESTAMP_MAX + sizeof(" attempt=18446744073709551615 event=") + strlen(event) +
                      sizeof(CRC_FIELD) + CRC_DIGITS + 1;

        for (size_t i = 0; i < n; i++)
                size += 1 + strlen(fields[i].key) + 1 + 4 * RECORD_VALUE_MAX + 2;
        return size;
}

/* " key=value" at buf, the value cut to RECORD_VALUE_MAX; returns the bytes written */
static size_t format_field(char *buf, size_t size, const RecordField *field) {
        size_t vlen = strlen(field->value), len;
        char cut[RECORD_VALUE_MAX];
        const char *v = field->value;

        if (vlen > RECORD_VALUE_MAX) {
                memcpy(cut, v, RECORD_VALUE_MAX - 3);
                memcpy(cut + RECORD_VALUE_MAX - 3, "...", 3);
                v = cut;
                vlen = RECORD_VALUE_MAX;
        }
        len = (size_t) snprintf(buf, size, " %s=", field->key);
        return len + record_escape_value(buf + len, v, vlen);
}

size_t record_line_format(char *buf, size_t size, uint64_t timestamp_usec, uint64_t attempt_id,
                          const char *event, const RecordField *fields, size_t n) {
        char ts[RECORD_TIMESTAMP_MAX];
        size_t len;

        len = (size_t) snprintf(buf, size, "%s attempt=%" PRIu64 " event=%s",
                                record_format_timestamp(ts, timestamp_usec), attempt_id, event);
        for (size_t i = 0; i < n; i++)
                len += format_field(buf + len, size - len, &fields[i]);
        /* the checksum covers the line itself, not its newline */
        len += (size_t) snprintf(buf + len, size - len, CRC_FIELD "%08" PRIx32 "\n", line_crc32(buf, len));
        return len;
}

/* ---- parsing ---- */

/* The length of the line's body, before " crc=": 0 when the checksum matches it; -ENODATA for a
 * blank line, -EBADMSG when the checksum is missing or does not match. */
static int line_body(const char *line, size_t *ret_body) {
        size_t len, body;
        uint32_t crc = 0;

        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
                len--;
        if (strspn(line, " \t\r") >= len)
                return -ENODATA;

        if (len < TIMESTAMP_LEN + CRC_FIELD_LEN + CRC_DIGITS)
                return -EBADMSG;
        body = len - CRC_FIELD_LEN - CRC_DIGITS;
        if (memcmp(line + body, CRC_FIELD, CRC_FIELD_LEN) != 0)
                return -EBADMSG;
        for (size_t i = body + CRC_FIELD_LEN; i < len; i++) {
                if (!((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f')))
                        return -EBADMSG;
                crc = crc << 4 | (uint32_t) unhexchar(line[i]);
        }
        if (crc != line_crc32(line, body))
                return -EBADMSG;
        *ret_body = body;
        return 0;
}

static int parse_timestamp(const char *s, size_t len, uint64_t *ret) {
        struct tm tm = {};
        unsigned y, mo, d, h, mi, sec, us;
        int consumed = 0;
        time_t t;

        if (len != TIMESTAMP_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
            s[16] != ':' || s[19] != '.' || s[26] != 'Z')
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (!(i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19 || i == 26) &&
                    !(s[i] >= '0' && s[i] <= '9'))
                        return -EBADMSG;
        if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u.%6uZ%n", &y, &mo, &d, &h, &mi, &sec, &us, &consumed) != 7 ||
            consumed != TIMESTAMP_LEN)
                return -EBADMSG;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
                return -EBADMSG;
        tm.tm_year = (int) y - 1900;
        tm.tm_mon = (int) mo - 1;
        tm.tm_mday = (int) d;
        tm.tm_hour = (int) h;
        tm.tm_min = (int) mi;
        tm.tm_sec = (int) sec;
        t = timegm(&tm);
        if (t == (time_t) -1 || t < 0)
                return -EBADMSG;
        *ret = (uint64_t) t * USEC_PER_SEC + us;
        return 0;
}

/* The value after the separating space, or its end: the space is cut off (it becomes the NUL
 * that ends the value); anything else there is -EBADMSG. */
static int end_value(char **p) {
        if (**p != ' ' && **p != 0)
                return -EBADMSG;
        if (**p == ' ')
                *(*p)++ = 0;
        return 0;
}

/* One escape after the backslash at *p: the byte it stands for, *p past it. */
static int unescape(char **p, char *ret) {
        char *r = *p, c = *r++;
        int hi, lo;

        switch (c) {
        case '"':
        case '\\':
                break;
        case 'n':
                c = '\n';
                break;
        case 'r':
                c = '\r';
                break;
        case 't':
                c = '\t';
                break;
        case 'x':
                hi = unhexchar(r[0]);
                lo = hi < 0 ? -1 : unhexchar(r[1]);
                if (lo < 0 || (hi == 0 && lo == 0))
                        return -EBADMSG;
                c = (char) (hi << 4 | lo);
                r += 2;
                break;
        default:
                return -EBADMSG;
        }
        *p = r;
        *ret = c;
        return 0;
}

/* The quoted value at *p, rebuilt in place over its opening quote. */
static int parse_quoted_value(char **p, char **ret) {
        char *r = *p + 1, *w = *p;

        *ret = w;
        for (;;) {
                char c = *r++;

                if (c == '"')
                        break;
                if (c == 0 || !(c >= ' ' && c <= '~'))
                        return -EBADMSG;
                if (c == '\\' && unescape(&r, &c) < 0)
                        return -EBADMSG;
                *w++ = c;
        }
        if (end_value(&r) < 0)
                return -EBADMSG;
        *w = 0;
        *p = r;
        return 0;
}

/* Parse the value at *p in place; on success *p points after it and the value is
 * NUL-terminated (the terminator may overwrite the separating space). */
static int parse_value(char **p, char **ret) {
        char *start = *p, *r = *p;

        if (*r == '"')
                return parse_quoted_value(p, ret);

        while (char_is_bare(*r))
                r++;
        if (r == start || end_value(&r) < 0)
                return -EBADMSG;
        *ret = start;
        *p = r;
        return 0;
}

/* The k-th "key=value" of the line into l: "attempt" first, "event" second, then the fields. */
static int add_field(RecordLine *l, size_t k, const char *key, const char *value) {
        char *end;

        if (k == 0) {
                if (!streq(key, "attempt") || !(*value >= '1' && *value <= '9'))
                        return -EBADMSG;
                errno = 0;
                l->attempt_id = strtoull(value, &end, 10);
                if (errno != 0 || *end)
                        return -EBADMSG;
        } else if (k == 1) {
                if (!streq(key, "event") || !name_is_valid(value, true))
                        return -EBADMSG;
                l->event = value;
        } else {
                if (l->n_fields >= RECORD_FIELDS_MAX || key_is_reserved(key))
                        return -EBADMSG;
                l->fields[l->n_fields++] = (RecordField){ key, value };
        }
        return 0;
}

/* The "key=value" pairs from p to its end, split in place. */
static int parse_fields(char *p, RecordLine *l) {
        for (size_t k = 0; *p; k++) {
                char *key = p, *value;

                while (char_is_key(*p))
                        p++;
                if (p == key || *p != '=')
                        return -EBADMSG;
                *p++ = 0;
                if (parse_value(&p, &value) < 0 || add_field(l, k, key, value) < 0)
                        return -EBADMSG;
        }
        return l->event ? 0 : -EBADMSG;
}

int record_parse_line(const char *line, RecordLine *ret) {
        _cleanup_(freep) char *s = NULL;
        RecordLine l = {};
        size_t body;
        int r;

        if (!line || !ret)
                return -EINVAL;

        r = line_body(line, &body);
        if (r < 0)
                return r;
        s = strndup(line, body);
        if (!s)
                return -ENOMEM;

        if (body < TIMESTAMP_LEN + 1 || s[TIMESTAMP_LEN] != ' ')
                return -EBADMSG;
        r = parse_timestamp(s, TIMESTAMP_LEN, &l.timestamp_usec);
        if (r < 0)
                return r;
        r = parse_fields(s + TIMESTAMP_LEN + 1, &l);
        if (r < 0)
                return r;

        l.storage = TAKE_PTR(s);
        *ret = l;
        return 0;
}

void record_line_done(RecordLine *l) {
        if (!l)
                return;
        free(l->storage);
        *l = (RecordLine){};
}

const char *record_line_get(const RecordLine *l, const char *key) {
        for (size_t i = 0; l && i < l->n_fields; i++)
                if (streq(l->fields[i].key, key))
                        return l->fields[i].value;
        return NULL;
}
