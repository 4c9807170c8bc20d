/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "macro.h"
#include "string-util.h"

/* The BlinkUp CRC is not a standard CRC-16: the table is the reflected CRC-16 (0xA001) table,
 * but the register shifts left, starts at 0 and has no final XOR. See the protocol spec.
 * The table entry is computed on demand: eight shifts cost less than a cache miss, and there
 * is no shared state to initialise. */
static uint16_t crc_table(uint8_t i) {
        uint16_t c = i;

        for (unsigned k = 0; k < 8; k++)
                c = (c & 1) ? (uint16_t) ((c >> 1) ^ 0xA001) : (uint16_t) (c >> 1);
        return c;
}

static uint16_t crc_update(uint16_t crc, uint8_t b) {
        return (uint16_t) (((crc << 8) & 0xFFFF) ^ crc_table((uint8_t) ((crc >> 8) ^ b)));
}

uint16_t frame_crc(const void *p, size_t n) {
        const uint8_t *b = p;
        uint16_t crc = 0;

        for (size_t i = 0; i < n; i++)
                crc = crc_update(crc, b[i]);
        return crc;
}

#define fail(err, ...) error_text_set((err), -EINVAL, __VA_ARGS__)

static bool all_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (unhexchar(s[i]) < 0)
                        return false;
        return true;
}

int frame_parse_hex_id(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        size_t n;

        if (!s)
                return -EINVAL;
        n = strlen(s);
        if (n < 1 || n > FRAME_HEX_ID_MAX || !all_hex(s, n))
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                v = (v << 4) | (uint64_t) unhexchar(s[i]);
        *ret = v;
        return 0;
}

static bool printable_ascii(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7E)
                        return false;
        return true;
}

int frame_validate_password(const char *password, ErrorText *err) {
        size_t n = password ? strlen(password) : 0;

        if (n == 0)
                return 0; /* open network */
        if (n == 64) {
                if (!all_hex(password, n))
                        return fail(err, "password: 64 characters must all be hex digits "
                                         "(a WPA pre-shared key)");
                return 0;
        }
        if (!printable_ascii(password, n))
                return fail(err, "password: only printable ASCII characters are allowed");
        /* WEP 5 or 13 characters, 10 or 26 hex digits; WPA passphrase 8..63. 10, 13 and 26
         * fall inside the WPA range. */
        if (n == 5 || (n >= 8 && n <= 63))
                return 0;
        return fail(err,
                    "password: %zu characters is not a valid length (WPA: 8..63 characters or 64 "
                    "hex digits; WEP: 5 or 13 characters, 10 or 26 hex digits)",
                    n);
}

typedef struct Builder {
        Frame *frame;
        size_t len; /* record bytes so far */
        ErrorText *err;
} Builder;

static int builder_add(Builder *b, uint8_t type, size_t n, const void *value) {
        if (n > FRAME_RECORDS_MAX || b->len + 2 + n > FRAME_RECORDS_MAX) {
                if (b->err)
                        (void) snprintf(b->err->message, sizeof(b->err->message),
                                        "frame: the records need more than %d bytes "
                                        "(record type %u would end at byte %zu)",
                                        FRAME_RECORDS_MAX, type, b->len + 2 + n);
                return -E2BIG;
        }
        uint8_t *p = b->frame->bytes + FRAME_HEADER_BYTES + b->len;
        p[0] = type;
        p[1] = (uint8_t) n;
        if (n > 0)
                memcpy(p + 2, value, n);
        b->len += 2 + n;
        return 0;
}

static void builder_finish(Builder *b) {
        Frame *f = b->frame;
        uint16_t crc;

        memset(f->bytes, FRAME_PREAMBLE_BYTE, FRAME_PREAMBLE_BYTES);
        f->bytes[FRAME_PREAMBLE_BYTES] = FRAME_SYNC_BYTE;
        f->bytes[FRAME_PREAMBLE_BYTES + 1] = (uint8_t) b->len;
        /* The CRC covers LEN and the records. */
        crc = frame_crc(f->bytes + FRAME_PREAMBLE_BYTES + 1, 1 + b->len);
        f->bytes[FRAME_HEADER_BYTES + b->len] = (uint8_t) (crc >> 8);
        f->bytes[FRAME_HEADER_BYTES + b->len + 1] = (uint8_t) (crc & 0xFF);
        f->size = FRAME_HEADER_BYTES + b->len + 2;
}

static void put_le64(uint8_t *p, uint64_t v) {
        for (unsigned i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static int validate_clear(const FrameRequest *req, ErrorText *err) {
        if (!isempty(req->ssid) || !isempty(req->password) || !isempty(req->wps_pin) ||
            !isempty(req->plan_id) || !isempty(req->token) || req->firmware_upgrade || req->static_network ||
            !isempty(req->proxy_host))
                return fail(err, "clear: a clear frame carries no other settings");
        return 0;
}

/* The SSID and password, or the WPS PIN. */
static int validate_network(const FrameRequest *req, ErrorText *err) {
        size_t n;

        n = req->ssid ? strlen(req->ssid) : 0;
        if (n > FRAME_SSID_MAX)
                return fail(err, "ssid: must be at most %d bytes, got %zu", FRAME_SSID_MAX, n);

        if (!isempty(req->password) && isempty(req->ssid))
                return fail(err, "password: given without an SSID");
        if (frame_validate_password(req->password, err) < 0)
                return -EINVAL;

        if (!isempty(req->wps_pin)) {
                n = strlen(req->wps_pin);
                if (!isempty(req->ssid) || !isempty(req->password))
                        return fail(err, "wps-pin: cannot be combined with an SSID or password");
                if ((n != 4 && n != 8) || strspn(req->wps_pin, "0123456789") != n)
                        return fail(err, "wps-pin: must be 4 or 8 decimal digits");
        }
        return 0;
}

static int validate_enrollment(const FrameRequest *req, ErrorText *err) {
        uint64_t v;

        if (isempty(req->plan_id) != isempty(req->token))
                return fail(err, "%s: required together with %s",
                            isempty(req->plan_id) ? "plan-id" : "token",
                            isempty(req->plan_id) ? "token" : "plan-id");
        if (!isempty(req->plan_id) && frame_parse_hex_id(req->plan_id, &v) < 0)
                return fail(err, "plan-id: must be 1..16 hex digits, got \"%.40s\"", req->plan_id);
        if (!isempty(req->token) && frame_parse_hex_id(req->token, &v) < 0)
                return fail(err, "token: must be 1..16 hex digits, got \"%.40s\"", req->token);
        return 0;
}

static int validate_proxy(const FrameRequest *req, ErrorText *err) {
        if (isempty(req->proxy_host)) {
                if (!isempty(req->proxy_user) || !isempty(req->proxy_password) || req->proxy_port)
                        return fail(err, "proxy-host: required with a proxy port, user or password");
                return 0;
        }
        if (strlen(req->proxy_host) > 255)
                return fail(err, "proxy-host: must be at most 255 bytes");
        if (req->proxy_port == 0)
                return fail(err, "proxy-port: must be 1..65535");
        if (!isempty(req->proxy_user) && strlen(req->proxy_user) > 255)
                return fail(err, "proxy-user: must be at most 255 bytes");
        if (!isempty(req->proxy_password) && strlen(req->proxy_password) > 255)
                return fail(err, "proxy-password: must be at most 255 bytes");
        if (!isempty(req->proxy_password) && isempty(req->proxy_user))
                return fail(err, "proxy-password: given without a proxy user");
        return 0;
}

static int validate(const FrameRequest *req, ErrorText *err) {
        int r;

        if (req->clear)
                return validate_clear(req, err);

        r = validate_network(req, err);
        if (r < 0)
                return r;
        r = validate_enrollment(req, err);
        if (r < 0)
                return r;
        r = validate_proxy(req, err);
        if (r < 0)
                return r;

        if (isempty(req->ssid) && isempty(req->wps_pin) && isempty(req->token) && !req->firmware_upgrade &&
            !req->static_network && isempty(req->proxy_host))
                return fail(err, "frame: nothing to send (give an SSID, a plan ID and token, or "
                                 "--clear)");
        return 0;
}

/* A record of a string, when it is set. */
static int add_string(Builder *b, uint8_t type, const char *s) {
        return isempty(s) ? 0 : builder_add(b, type, strlen(s), s);
}

/* SSID and password, or WPS PIN */
static int add_network(Builder *b, const FrameRequest *req) {
        int r;

        r = add_string(b, FRAME_RECORD_SSID, req->ssid);
        if (r < 0)
                return r;
        r = add_string(b, FRAME_RECORD_PASSWORD, req->password);
        if (r < 0)
                return r;
        return add_string(b, FRAME_RECORD_WPS_PIN, req->wps_pin);
}

static int add_static_network(Builder *b, const FrameRequest *req) {
        uint8_t v[20];

        if (!req->static_network)
                return 0;
        memcpy(v, req->address, 4);
        memcpy(v + 4, req->netmask, 4);
        memcpy(v + 8, req->gateway, 4);
        memcpy(v + 12, req->dns1, 4);
        memcpy(v + 16, req->dns2, 4);
        return builder_add(b, FRAME_RECORD_STATIC_NETWORK, req->have_dns2 ? 20 : 16, v);
}

/* Appends a length byte and s (at most 255 bytes, checked by validate()) at v + *n. */
static void put_counted(uint8_t *v, size_t *n, const char *s) {
        size_t l = strlen(s);

        v[(*n)++] = (uint8_t) l;
        memcpy(v + *n, s, l);
        *n += l;
}

/* port (little endian), host, then the user and the password when given */
static int add_proxy(Builder *b, const FrameRequest *req) {
        uint8_t v[2 + 3 * 256];
        size_t n = 0;
        int r;

        if (isempty(req->proxy_host))
                return 0;
        v[n++] = (uint8_t) (req->proxy_port & 0xFF);
        v[n++] = (uint8_t) (req->proxy_port >> 8);
        put_counted(v, &n, req->proxy_host);
        if (!isempty(req->proxy_user)) {
                put_counted(v, &n, req->proxy_user);
                if (!isempty(req->proxy_password))
                        put_counted(v, &n, req->proxy_password);
        }
        r = builder_add(b, FRAME_RECORD_PROXY, n, v);
        explicit_bzero(v, sizeof(v));
        return r;
}

/* plan ID and token, each 8 bytes little endian */
static int add_enrollment(Builder *b, const FrameRequest *req) {
        uint64_t plan, token;
        uint8_t v[16];

        if (isempty(req->token))
                return 0;
        /* validated before */
        (void) frame_parse_hex_id(req->plan_id, &plan);
        (void) frame_parse_hex_id(req->token, &token);
        put_le64(v, plan);
        put_le64(v + 8, token);
        return builder_add(b, FRAME_RECORD_ENROLLMENT, sizeof(v), v);
}

/* Record order: network credentials first (SSID, password, or WPS PIN), then the network
 * settings (static IPv4, proxy), the firmware-upgrade request, and the enrollment last. */
static int add_records(Builder *b, const FrameRequest *req) {
        int r;

        r = add_network(b, req);
        if (r < 0)
                return r;
        r = add_static_network(b, req);
        if (r < 0)
                return r;
        r = add_proxy(b, req);
        if (r < 0)
                return r;
        if (req->firmware_upgrade) {
                r = builder_add(b, FRAME_RECORD_FIRMWARE_UPGRADE, 0, NULL);
                if (r < 0)
                        return r;
        }
        return add_enrollment(b, req);
}

int frame_encode(const FrameRequest *req, Frame *ret, ErrorText *err) {
        Frame f = {};
        Builder b = { .frame = &f, .err = err };
        int r;

        r = validate(req, err);
        if (r < 0)
                return r;

        if (req->clear) {
                frame_encode_clear(ret);
                return 0;
        }

        r = add_records(&b, req);
        if (r >= 0) {
                builder_finish(&b);
                *ret = f;
        }
        explicit_bzero(&f, sizeof(f));
        return r < 0 ? r : 0;
}

void frame_encode_clear(Frame *ret) {
        Builder b = { .frame = ret };

        (void) builder_add(&b, FRAME_RECORD_CLEAR, 0, NULL);
        builder_finish(&b);
}

void frame_to_hex(const Frame *f, char *buf) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < f->size; i++) {
                buf[2 * i] = digits[f->bytes[i] >> 4];
                buf[2 * i + 1] = digits[f->bytes[i] & 0xF];
        }
        buf[2 * f->size] = 0;
}
