/* SPDX-License-Identifier: MIT */
/* blinkup-decode [--active-high] TRACE.vcd: decodes every BlinkUp frame in a VCD trace and
 * prints it. A damaged frame (a transmitter aborts a frame with a late edge and sends it again)
 * is reported and skipped, as a receiver would. Exit 0 when the last frame is valid. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"

static void print_value(const DecodeRecord *r) {
        for (unsigned i = 0; i < r->len; i++)
                printf("%02x", r->value[i]);
}

static void print_le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        printf("%016" PRIx64, v);
}

int main(int argc, char *argv[]) {
        bool active_high = false;
        const char *path = NULL;
        DecodeEdge *e;
        long n;
        FILE *f;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--active-high") == 0)
                        active_high = true;
                else
                        path = argv[i];
        }
        if (!path) {
                fprintf(stderr, "usage: blinkup-decode [--active-high] TRACE.vcd\n");
                return 2;
        }
        f = fopen(path, "re");
        if (!f) {
                perror(path);
                return 2;
        }
        n = decoder_read_vcd(f, &e);
        fclose(f);
        if (n < 0) {
                fprintf(stderr, "%s: no level changes\n", path);
                return 1;
        }

        size_t pos = 0;
        int frames = 0, bad = 0, seen = 0;
        bool last_ok = false;
        for (;;) {
                DecodedFrame d;
                char hex[2 * sizeof(d.bytes) + 1];

                if (decoder_decode(e, (size_t) n, active_high, &pos, &d) < 0) {
                        if (strncmp(d.error, "no light", 8) == 0 || strncmp(d.error, "preamble too short", 18) == 0)
                                break;
                        pos = d.first_edge + 1; /* look for the next preamble */
                        if (strncmp(d.error, "preamble", 8) == 0)
                                continue; /* no frame starts here */
                        seen++;
                        bad++;
                        last_ok = false;
                        printf("frame %d: error: %s\n", seen, d.error);
                        continue;
                }
                seen++;
                frames++;
                last_ok = true;
                decoder_hex(&d, hex);
                printf("frame %d: %s\n", seen, hex);
                printf("frame %d: crc=%04x ok, period_ns=%.1f, rate=%.3f bits/s, "
                       "max_edge_error_ns=%.0f\n",
                       seen, d.crc_sent, d.period_ns, 1e9 / d.period_ns, d.max_edge_error_ns);
                for (size_t i = 0; i < d.n_records; i++) {
                        const DecodeRecord *r = &d.records[i];
                        printf("frame %d: record type=%u len=%u ", seen, r->type, r->len);
                        if (r->type == 1)
                                printf("ssid=\"%.*s\"", r->len, (const char *) r->value);
                        else if (r->type == 6)
                                printf("password=(%u bytes)", r->len);
                        else if (r->type == 5 && r->len == 16) {
                                printf("plan_id=");
                                print_le64(r->value);
                                printf(" token=");
                                print_le64(r->value + 8);
                        } else if (r->type == 7)
                                printf("clear");
                        else
                                print_value(r);
                        putchar('\n');
                }
        }
        free(e);
        if (bad == 0 && frames > 0)
                printf("frames: %d, all CRCs valid\n", frames);
        else
                printf("frames: %d valid, %d damaged; the last one is %s\n", frames, bad,
                       last_ok ? "valid" : "damaged");
        return frames > 0 && last_ok ? 0 : 1;
}
