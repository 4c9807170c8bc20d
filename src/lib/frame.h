/* SPDX-License-Identifier: MIT */
#pragma once

/* The BlinkUp frame: preamble, sync, LEN, records, CRC. Pure code, no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error-text.h"

#define FRAME_PREAMBLE_BYTES 8
#define FRAME_PREAMBLE_BYTE 0x55
#define FRAME_SYNC_BYTE 0x2A
#define FRAME_RECORDS_MAX 255
#define FRAME_HEADER_BYTES (FRAME_PREAMBLE_BYTES + 1 + 1) /* preamble, sync, LEN */
#define FRAME_BYTES_MAX (FRAME_HEADER_BYTES + FRAME_RECORDS_MAX + 2)

#define FRAME_SSID_MAX 32
#define FRAME_HEX_ID_MAX 16

typedef enum FrameRecordType {
        FRAME_RECORD_SSID = 1,
        FRAME_RECORD_WPS_PIN = 3,
        FRAME_RECORD_FIRMWARE_UPGRADE = 4,
        FRAME_RECORD_ENROLLMENT = 5,
        FRAME_RECORD_PASSWORD = 6,
        FRAME_RECORD_CLEAR = 7,
        FRAME_RECORD_STATIC_NETWORK = 11,
        FRAME_RECORD_PROXY = 13,
} FrameRecordType;

typedef struct Frame {
        uint8_t bytes[FRAME_BYTES_MAX];
        size_t size; /* whole frame, preamble to CRC */
} Frame;

/* What the fixture wants the device to learn. NULL or empty strings mean "not present". */
typedef struct FrameRequest {
        bool clear; /* a clear (wipe) frame: nothing else may be set */

        const char *ssid;
        const char *password;
        const char *wps_pin;

        const char *plan_id; /* 1..16 hex digits */
        const char *token;   /* 1..16 hex digits */

        bool firmware_upgrade;

        bool static_network;
        uint8_t address[4], netmask[4], gateway[4], dns1[4], dns2[4];
        bool have_dns2;

        const char *proxy_host;
        uint16_t proxy_port;
        const char *proxy_user;
        const char *proxy_password;
} FrameRequest;

/* The BlinkUp CRC of n bytes (see frame.c). */
uint16_t frame_crc(const void *p, size_t n);

int frame_parse_hex_id(const char *s, uint64_t *ret);
int frame_validate_password(const char *password, ErrorText *err);

/* Builds the whole frame; on failure returns -EINVAL (or -E2BIG when the records do not fit
 * in 255 bytes) and says why in *err. *ret is untouched on failure. */
int frame_encode(const FrameRequest *req, Frame *ret, ErrorText *err);

/* Encodes a clear (wipe) frame. Cannot fail. */
void frame_encode_clear(Frame *ret);

static inline size_t frame_bits(const Frame *f) {
        return f->size * 8;
}

static inline bool frame_bit(const Frame *f, size_t i) {
        return (f->bytes[i / 8] >> (7 - i % 8)) & 1;
}

/* Lower-case hex of the whole frame into buf (needs 2*size+1 bytes). */
void frame_to_hex(const Frame *f, char *buf);
