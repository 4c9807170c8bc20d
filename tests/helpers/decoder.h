/* SPDX-License-Identifier: MIT */
#pragma once

/* A BlinkUp receiver for the tests, written from the protocol description and independently of
 * the encoder: it measures the bit period from the preamble, samples mid-bit, checks the CRC
 * with its own CRC code and splits the records. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct DecodeEdge {
        uint64_t t_ns;
        uint8_t level; /* electrical level from t_ns on */
} DecodeEdge;

typedef struct DecodeRecord {
        uint8_t type;
        uint8_t len;
        const uint8_t *value; /* points into DecodedFrame.bytes */
} DecodeRecord;

typedef struct DecodedFrame {
        uint8_t bytes[8 + 1 + 1 + 255 + 2];
        size_t size;
        uint8_t len;
        uint16_t crc_sent, crc_computed;
        DecodeRecord records[128];
        size_t n_records;
        double period_ns;   /* measured from the preamble */
        uint64_t start_ns;  /* start of the first preamble bit */
        uint64_t end_ns;    /* end of the last CRC bit */
        double max_edge_error_ns; /* worst |edge - ideal bit boundary| within the frame */
        size_t first_edge;  /* index of the edge decoding started from (preamble bit 1) */
        char error[160];    /* why decoding failed */
} DecodedFrame;

/* The test's own CRC: normal-order CRC-16 table (0x8005, MSB first) with both index and entry
 * bit-reversed, which is the reflected table the spec describes. */
uint16_t decoder_crc(const uint8_t *p, size_t n);
uint16_t decoder_crc_table_entry(uint8_t i);

/* Decodes the first frame that starts at or after edges[*pos]; on success *pos is moved past
 * the frame. Returns 0, or -1 with out->error set. */
int decoder_decode(const DecodeEdge *edges, size_t n, bool active_high, size_t *pos,
                   DecodedFrame *out);

/* Reads a one-wire VCD file (as written by blinkupctl encode and the simulated line).
 * Timestamps are rebased so the first one is 0 unless keep_time. Returns the number of edges,
 * or -1. *ret is malloc()ed; the initial level is edge 0. */
long decoder_read_vcd(FILE *f, DecodeEdge **ret);

/* Finds a record by type, or NULL. */
const DecodeRecord *decoder_find(const DecodedFrame *f, uint8_t type);

/* The frame as lower-case hex into buf (2*size+1). */
void decoder_hex(const DecodedFrame *f, char *buf);
