/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"

static uint8_t rev8(uint8_t v) {
        uint8_t r = 0;
        for (int i = 0; i < 8; i++)
                if (v & (1u << i))
                        r |= (uint8_t) (0x80u >> i);
        return r;
}

static uint16_t rev16(uint16_t v) {
        return (uint16_t) (rev8((uint8_t) (v >> 8)) | (rev8((uint8_t) v) << 8));
}

uint16_t decoder_crc_table_entry(uint8_t i) {
        /* normal (MSB-first) CRC-16 of the reversed byte, polynomial 0x8005 */
        uint16_t c = (uint16_t) (rev8(i) << 8);
        for (int k = 0; k < 8; k++)
                c = (c & 0x8000) ? (uint16_t) ((c << 1) ^ 0x8005) : (uint16_t) (c << 1);
        return rev16(c);
}

uint16_t decoder_crc(const uint8_t *p, size_t n) {
        uint16_t reg = 0;
        for (size_t i = 0; i < n; i++) {
                uint8_t idx = (uint8_t) ((reg >> 8) ^ p[i]);
                reg = (uint16_t) ((uint16_t) (reg << 8) ^ decoder_crc_table_entry(idx));
        }
        return reg;
}

static int fail(DecodedFrame *out, const char *msg, uint64_t t) {
        snprintf(out->error, sizeof(out->error), "%s (at %" PRIu64 " ns)", msg, t);
        return -1;
}

int decoder_decode(const DecodeEdge *e, size_t n, bool active_high, size_t *pos,
                   DecodedFrame *out) {
        uint8_t lit = active_high ? 1 : 0;
        size_t i, k;
        double period;

        memset(out, 0, sizeof(*out));
        if (n == 0)
                return fail(out, "no edges", 0);

        /* the first change to "lit": the start of preamble bit 1 (bit 0 is dark) */
        for (i = *pos; i < n; i++)
                if (e[i].level == lit && (i == 0 || e[i - 1].level != lit))
                        break;
        if (i >= n)
                return fail(out, "no light at all", 0);
        if (i == 0)
                return fail(out, "starts lit, no dark lead-in", 0);

        /* bits 1..64 alternate: 64 edges one bit apart */
        out->first_edge = i;
        if (i + 63 >= n)
                return fail(out, "preamble too short", e[i].t_ns);
        period = (double) (e[i + 63].t_ns - e[i].t_ns) / 63.0;
        if (period <= 0)
                return fail(out, "zero bit period", e[i].t_ns);
        for (k = 1; k < 64; k++) {
                double d = (double) (e[i + k].t_ns - e[i + k - 1].t_ns);
                if (d < 0.5 * period || d > 1.5 * period)
                        return fail(out, "preamble edges are not one bit apart", e[i + k].t_ns);
        }
        out->period_ns = period;
        out->start_ns = (uint64_t) llround((double) e[i].t_ns - period);

        /* Sample in the middle of every bit, the grid re-anchored on each edge as a receiver
         * does: the bit count between two edges is their distance in periods, rounded. So one
         * late edge moves no sample but its own neighbours'. */
        size_t nbits = 8 * 10, b = 0, j = i - 1; /* e[i - 1]: the dark level before bit 1 */
        uint64_t anchor = out->start_ns;
        while (b < nbits) {
                uint8_t level = e[j].level == lit;
                size_t run;

                if (j + 1 < n && e[j + 1].t_ns > anchor) {
                        double span = ((double) e[j + 1].t_ns - (double) anchor) / period;
                        run = (size_t) llround(span);
                        if (run == 0)
                                return fail(out, "two edges within half a bit", e[j + 1].t_ns);
                } else
                        run = nbits - b; /* no more edges: the level holds */
                for (size_t r = 0; r < run && b < nbits; r++, b++) {
                        out->bytes[b / 8] |= (uint8_t) (level << (7 - b % 8));
                        if (b == 8 * 10 - 1) {
                                out->len = out->bytes[9];
                                nbits = 8 * (10 + (size_t) out->len + 2);
                        }
                }
                if (j + 1 >= n)
                        break;
                j++;
                anchor = e[j].t_ns;
        }
        if (b < nbits)
                return fail(out, "trace ends inside the frame", anchor);
        out->size = nbits / 8;
        out->end_ns = (uint64_t) llround((double) out->start_ns + (double) nbits * period);

        for (k = 0; k < 8; k++)
                if (out->bytes[k] != 0x55)
                        return fail(out, "bad preamble byte", out->start_ns);
        if (out->bytes[8] != 0x2A)
                return fail(out, "bad sync byte", out->start_ns);

        out->crc_sent = (uint16_t) ((out->bytes[out->size - 2] << 8) | out->bytes[out->size - 1]);
        out->crc_computed = decoder_crc(out->bytes + 9, 1 + (size_t) out->len);

        /* how far each edge inside the frame is from its ideal bit boundary */
        for (k = i; k < n && e[k].t_ns <= out->end_ns + (uint64_t) (period / 2); k++) {
                double rel = ((double) e[k].t_ns - (double) out->start_ns) / period;
                double err = fabs(rel - round(rel)) * period;
                if (err > out->max_edge_error_ns)
                        out->max_edge_error_ns = err;
        }
        *pos = k;

        if (out->crc_sent != out->crc_computed)
                return fail(out, "CRC mismatch", out->start_ns);

        /* records */
        size_t off = 10, stop = 10 + out->len;
        while (off < stop) {
                if (off + 2 > stop || off + 2 + out->bytes[off + 1] > stop)
                        return fail(out, "record runs past LEN", out->start_ns);
                if (out->n_records >= sizeof(out->records) / sizeof(out->records[0]))
                        return fail(out, "too many records", out->start_ns);
                out->records[out->n_records++] = (DecodeRecord) {
                        .type = out->bytes[off],
                        .len = out->bytes[off + 1],
                        .value = out->bytes + off + 2,
                };
                off += 2 + out->bytes[off + 1];
        }
        return 0;
}

long decoder_read_vcd(FILE *f, DecodeEdge **ret) {
        char line[256];
        uint64_t t = 0, t0 = 0;
        bool have_t0 = false;
        size_t n = 0, cap = 0;
        DecodeEdge *e = NULL;

        while (fgets(line, sizeof(line), f)) {
                if (line[0] == '#') {
                        t = strtoull(line + 1, NULL, 10);
                        if (!have_t0) {
                                t0 = t;
                                have_t0 = true;
                        }
                } else if ((line[0] == '0' || line[0] == '1') && line[1] == '!') {
                        uint8_t lv = (uint8_t) (line[0] - '0');
                        if (n > 0 && e[n - 1].level == lv)
                                continue;
                        if (n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                DecodeEdge *ne = realloc(e, cap * sizeof(*e));
                                if (!ne) {
                                        free(e);
                                        return -1;
                                }
                                e = ne;
                        }
                        e[n++] = (DecodeEdge) { t - t0, lv };
                }
        }
        if (n == 0) {
                free(e);
                return -1;
        }
        *ret = e;
        return (long) n;
}

const DecodeRecord *decoder_find(const DecodedFrame *f, uint8_t type) {
        for (size_t i = 0; i < f->n_records; i++)
                if (f->records[i].type == type)
                        return &f->records[i];
        return NULL;
}

void decoder_hex(const DecodedFrame *f, char *buf) {
        for (size_t i = 0; i < f->size; i++)
                sprintf(buf + 2 * i, "%02x", f->bytes[i]);
        buf[2 * f->size] = 0;
}
