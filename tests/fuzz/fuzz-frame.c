/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: frame_encode() on a FrameRequest built from the input, and
 * frame_validate_password() / frame_parse_hex_id() on every string of it.
 *
 * Input layout:
 *   byte 0      flags: 1 clear, 2 firmware_upgrade, 4 static_network, 8 have_dns2,
 *               0x10..0x80: which of ssid, password, wps_pin, proxy_* are NULL instead of ""
 *               when the input has no string for them
 *   bytes 1..20 address, netmask, gateway, dns1, dns2 (missing bytes are zero)
 *   bytes 21,22 proxy port, little endian
 *   the rest    up to 8 strings split on NUL bytes, in the order ssid, password, wps_pin,
 *               plan_id, token, proxy_host, proxy_user, proxy_password
 * An encoded frame is checked: size, preamble, sync, LEN, CRC, and the records parse back to
 * exactly LEN bytes with the strings sent. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define STRINGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_frame(const FrameRequest *req, const Frame *f) {
        size_t len, off;
        uint16_t crc;
        char hex[2 * FRAME_BYTES_MAX + 1];
        bool seen_ssid = false;

        if (f->size < FRAME_HEADER_BYTES + 2 || f->size > FRAME_BYTES_MAX)
                abort();
        for (size_t i = 0; i < FRAME_PREAMBLE_BYTES; i++)
                if (f->bytes[i] != FRAME_PREAMBLE_BYTE)
                        abort();
        if (f->bytes[FRAME_PREAMBLE_BYTES] != FRAME_SYNC_BYTE)
                abort();
        len = f->bytes[FRAME_PREAMBLE_BYTES + 1];
        if (FRAME_HEADER_BYTES + len + 2 != f->size)
                abort();
        crc = frame_crc(f->bytes + FRAME_PREAMBLE_BYTES + 1, 1 + len);
        if (f->bytes[FRAME_HEADER_BYTES + len] != (crc >> 8) || f->bytes[FRAME_HEADER_BYTES + len + 1] != (crc & 0xFF))
                abort();

        /* records: type, length, value; they fill LEN exactly */
        off = 0;
        while (off < len) {
                uint8_t type, rlen;
                const uint8_t *v;

                if (off + 2 > len)
                        abort();
                type = f->bytes[FRAME_HEADER_BYTES + off];
                rlen = f->bytes[FRAME_HEADER_BYTES + off + 1];
                v = f->bytes + FRAME_HEADER_BYTES + off + 2;
                if (off + 2 + rlen > len)
                        abort();
                if (type == FRAME_RECORD_SSID) {
                        if (!req->ssid || strlen(req->ssid) != rlen || memcmp(v, req->ssid, rlen) != 0)
                                abort();
                        seen_ssid = true;
                }
                if (type == FRAME_RECORD_CLEAR && !req->clear)
                        abort();
                off += 2 + (size_t) rlen;
        }
        if (!req->clear && req->ssid && req->ssid[0] && !seen_ssid)
                abort();

        frame_to_hex(f, hex);
        if (strlen(hex) != 2 * f->size)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *strings[STRINGS] = {};
        const char **fields[STRINGS];
        FrameRequest req = {};
        ErrorText err;
        Frame f;
        uint8_t flags = 0, fixed[22] = {};
        size_t n = 0, pos;
        int r;

        if (size > 0)
                flags = data[0];
        for (size_t i = 0; i < sizeof(fixed) && 1 + i < size; i++)
                fixed[i] = data[1 + i];
        pos = 1 + sizeof(fixed) < size ? 1 + sizeof(fixed) : size;

        fields[0] = &req.ssid;
        fields[1] = &req.password;
        fields[2] = &req.wps_pin;
        fields[3] = &req.plan_id;
        fields[4] = &req.token;
        fields[5] = &req.proxy_host;
        fields[6] = &req.proxy_user;
        fields[7] = &req.proxy_password;

        /* the strings, split on NUL */
        while (pos < size && n < STRINGS) {
                const uint8_t *end = memchr(data + pos, 0, size - pos);
                size_t l = end ? (size_t) (end - (data + pos)) : size - pos;

                strings[n] = strndup((const char *) data + pos, l);
                if (!strings[n])
                        goto finish;
                *fields[n] = strings[n];
                n++;
                pos += l + 1;
        }
        /* fields without a string: NULL or "" as the flags say */
        for (size_t i = n; i < STRINGS; i++)
                *fields[i] = (flags & (0x10 << (i % 4))) ? NULL : "";

        req.clear = flags & 1;
        req.firmware_upgrade = flags & 2;
        req.static_network = flags & 4;
        req.have_dns2 = flags & 8;
        memcpy(req.address, fixed, 4);
        memcpy(req.netmask, fixed + 4, 4);
        memcpy(req.gateway, fixed + 8, 4);
        memcpy(req.dns1, fixed + 12, 4);
        memcpy(req.dns2, fixed + 16, 4);
        req.proxy_port = (uint16_t) (fixed[20] | fixed[21] << 8);

        memset(&err, 0, sizeof(err));
        memset(&f, 0xA5, sizeof(f));
        r = frame_encode(&req, &f, &err);
        if (r == 0)
                check_frame(&req, &f);
        else {
                if (r != -EINVAL && r != -E2BIG)
                        abort();
                /* a refusal names the field: never empty, always terminated */
                if (!memchr(err.message, 0, sizeof(err.message)) || !err.message[0])
                        abort();
                /* *ret is untouched on failure */
                for (size_t i = 0; i < sizeof(f.bytes); i++)
                        if (f.bytes[i] != 0xA5)
                                abort();
        }

        for (size_t i = 0; i < n; i++) {
                uint64_t v;

                memset(&err, 0, sizeof(err));
                r = frame_validate_password(strings[i], &err);
                if (r < 0 && (!memchr(err.message, 0, sizeof(err.message)) || !err.message[0]))
                        abort();

                r = frame_parse_hex_id(strings[i], &v);
                if (r == 0) {
                        size_t l = strlen(strings[i]);
                        if (l == 0 || l > FRAME_HEX_ID_MAX)
                                abort();
                        if (strspn(strings[i], "0123456789abcdefABCDEF") != l)
                                abort();
                        if (strtoull(strings[i], NULL, 16) != v)
                                abort();
                }
        }

finish:
        for (size_t i = 0; i < STRINGS; i++)
                free(strings[i]);
        return 0;
}
