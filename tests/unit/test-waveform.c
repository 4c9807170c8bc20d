/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"
#include "frame.h"
#include "waveform.h"
#include "tests.h"

static void hex_to_frame(const char *hex, Frame *f) {
        f->size = strlen(hex) / 2;
        for (size_t i = 0; i < f->size; i++) {
                unsigned v;
                ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
                f->bytes[i] = (uint8_t) v;
        }
}

static DecodeEdge *to_decode_edges(const Waveform *w, size_t *n) {
        DecodeEdge *e = calloc(w->n_edges + 1, sizeof(*e));
        ck_assert_ptr_nonnull(e);
        e[0] = (DecodeEdge) { 0, w->idle_level };
        for (size_t i = 0; i < w->n_edges; i++)
                e[i + 1] = (DecodeEdge) { w->edges[i].offset_ns, w->edges[i].level };
        *n = w->n_edges + 1;
        return e;
}

START_TEST(test_bit_offsets_exact) {
        /* k * 1e9 / rate rounded to the nearest ns: |offset * rate - k * 1e9| <= rate / 2 */
        static const unsigned rates[] = { 60, 142 };
        for (size_t r = 0; r < 2; r++) {
                unsigned rate = rates[r];
                for (uint64_t k = 0; k <= 10000; k++) {
                        uint64_t o = waveform_bit_offset_ns(k, rate);
                        int64_t diff = (int64_t) (o * rate) - (int64_t) (k * 1000000000ull);
                        ck_assert_msg(llabs(diff) * 2 <= (long long) rate, "k=%" PRIu64 " rate=%u", k, rate);
                }
        }
        ck_assert_uint_eq(waveform_bit_offset_ns(1, 60), 16666667);
        ck_assert_uint_eq(waveform_bit_offset_ns(3, 60), 50000000);
        ck_assert_uint_eq(waveform_bit_offset_ns(1, 142), 7042254);
        ck_assert_uint_eq(waveform_bit_offset_ns(10000, 142), 70422535211);
        ck_assert_uint_eq(waveform_bit_offset_ns(10000, 60), 166666666667);
        /* no accumulation: the 10000th edge is where 10000 exact periods end */
        ck_assert_uint_eq(waveform_bit_offset_ns(142, 142), 1000000000);
}
END_TEST

START_TEST(test_lead_in_tail_bits) {
        ck_assert_uint_eq(waveform_bits_for_ns(250000000, 60), 15);
        ck_assert_uint_eq(waveform_bits_for_ns(250000000, 142), 36); /* 35.5 -> 36 */
        ck_assert_uint_eq(waveform_bits_for_ns(1000000000, 60), 60);
        ck_assert_uint_eq(waveform_bits_for_ns(1000000000, 142), 142);
}
END_TEST

static void check_clear_levels(bool active_high, unsigned rate) {
        /* the spec's clear frame, bit by bit, against the waveform's level mid-bit */
        static const char hex[] = "55555555555555552a0207001d41";
        WaveformParams p;
        Waveform w;
        Frame f;

        hex_to_frame(hex, &f);
        waveform_params_default(&p, rate == 142, active_high);
        ck_assert_int_eq(waveform_build(&f, &p, &w), 0);

        uint8_t lit = active_high, dark = !active_high;
        ck_assert_uint_eq(w.idle_level, dark);
        ck_assert_uint_eq(w.frame_bits, 112);
        ck_assert_uint_eq(w.bits, w.lead_in_bits + 112 + w.tail_bits);
        ck_assert_uint_eq(w.duration_ns, waveform_bit_offset_ns(w.bits, rate));
        /* transitions only, alternating, starting away from dark and ending dark */
        ck_assert_uint_gt(w.n_edges, 0);
        ck_assert_uint_eq(w.edges[0].level, lit);
        ck_assert_uint_eq(w.edges[w.n_edges - 1].level, dark);
        for (size_t i = 1; i < w.n_edges; i++) {
                ck_assert_uint_ne(w.edges[i].level, w.edges[i - 1].level);
                ck_assert_uint_gt(w.edges[i].offset_ns, w.edges[i - 1].offset_ns);
        }
        /* every edge is on a bit boundary */
        for (size_t i = 0; i < w.n_edges; i++) {
                uint64_t k = (w.edges[i].offset_ns * rate + 500000000) / 1000000000;
                ck_assert_uint_eq(w.edges[i].offset_ns, waveform_bit_offset_ns(k, rate));
        }
        for (size_t b = 0; b < 112; b++) {
                uint64_t k = w.lead_in_bits + b;
                uint64_t mid = (waveform_bit_offset_ns(k, rate) + waveform_bit_offset_ns(k + 1, rate)) / 2;
                unsigned v;
                sscanf(hex + 2 * (b / 8), "%2x", &v);
                bool bit = (v >> (7 - b % 8)) & 1;
                ck_assert_uint_eq(waveform_level_at(&w, mid), bit ? lit : dark);
        }
        ck_assert_uint_eq(waveform_level_at(&w, 0), dark);
        ck_assert_uint_eq(waveform_level_at(&w, w.duration_ns), dark);
        waveform_done(&w);
}

START_TEST(test_clear_levels) {
        check_clear_levels(false, 60);
        check_clear_levels(true, 60);
        check_clear_levels(false, 142);
        check_clear_levels(true, 142);
}
END_TEST

START_TEST(test_clear_duration) {
        WaveformParams p;
        Waveform w;
        Frame f;

        frame_encode_clear(&f);
        waveform_params_default(&p, false, false);
        ck_assert_int_eq(waveform_build(&f, &p, &w), 0);
        /* 15 lead-in + 112 + 60 tail bits = 187 bits at 60/s */
        ck_assert_uint_eq(w.bits, 187);
        ck_assert_uint_eq(w.duration_ns, 3116666667);
        /* the first light is preamble bit 1, one bit after the 15-bit lead-in */
        ck_assert_uint_eq(w.edges[0].offset_ns, waveform_bit_offset_ns(16, 60));
        waveform_done(&w);
}
END_TEST

START_TEST(test_bad_params) {
        WaveformParams p;
        Waveform w;
        Frame f;

        frame_encode_clear(&f);
        waveform_params_default(&p, false, false);
        p.rate = 100;
        ck_assert_int_eq(waveform_build(&f, &p, &w), -EINVAL);
        waveform_params_default(&p, false, false);
        p.repeat = 0;
        ck_assert_int_eq(waveform_build(&f, &p, &w), -EINVAL);
        p.repeat = 17;
        ck_assert_int_eq(waveform_build(&f, &p, &w), -EINVAL);
        waveform_params_default(&p, false, false);
        p.lead_in_ns = 249999999;
        ck_assert_int_eq(waveform_build(&f, &p, &w), -EINVAL);
        waveform_params_default(&p, false, false);
        p.tail_ns = 999999999;
        ck_assert_int_eq(waveform_build(&f, &p, &w), -EINVAL);
}
END_TEST

START_TEST(test_repeat_decodes) {
        FrameRequest req = { .ssid = "Factory", .password = "secret123",
                             .plan_id = "0123456789abcdef", .token = "fedcba9876543210" };
        WaveformParams p;
        Waveform w;
        Frame f;
        size_t n, pos = 0;

        ck_assert_int_eq(frame_encode(&req, &f, NULL), 0);
        waveform_params_default(&p, true, true);
        p.repeat = 3;
        ck_assert_int_eq(waveform_build(&f, &p, &w), 0);
        ck_assert_uint_eq(w.bits, w.lead_in_bits + 3 * 400 + 2 * w.gap_bits + w.tail_bits);

        DecodeEdge *e = to_decode_edges(&w, &n);
        for (int i = 0; i < 3; i++) {
                DecodedFrame d;
                char hex[600];
                ck_assert_msg(decoder_decode(e, n, true, &pos, &d) == 0, "frame %d: %s", i, d.error);
                decoder_hex(&d, hex);
                ck_assert_str_eq(hex, "55555555555555552a260107466163746f727906097365637265743132330510"
                                      "efcdab89674523011032547698badcfe29c1");
                ck_assert_double_lt(d.max_edge_error_ns, 10.0);
        }
        free(e);
        waveform_done(&w);
}
END_TEST

START_TEST(test_decoder_tolerance) {
        FrameRequest req = { .ssid = "Factory", .password = "secret123",
                             .plan_id = "0123456789abcdef", .token = "fedcba9876543210" };
        WaveformParams p;
        Waveform w;
        Frame f;
        size_t n, pos;
        DecodedFrame d;

        ck_assert_int_eq(frame_encode(&req, &f, NULL), 0);
        waveform_params_default(&p, true, false);
        ck_assert_int_eq(waveform_build(&f, &p, &w), 0);
        DecodeEdge *e = to_decode_edges(&w, &n);
        uint64_t period = 1000000000 / 142;

        /* every single edge 40 % of a bit late, one at a time, preamble included: still decodes */
        for (size_t k = 1; k + 1 < n; k += 7) {
                uint64_t saved = e[k].t_ns;
                e[k].t_ns += period * 4 / 10;
                pos = 0;
                ck_assert_msg(decoder_decode(e, n, false, &pos, &d) == 0, "edge %zu of %zu late: %s", k, n, d.error);
                ck_assert_uint_eq(d.size, f.size);
                ck_assert(memcmp(d.bytes, f.bytes, f.size) == 0);
                e[k].t_ns = saved;
        }

        /* a bit flipped inside the records: move a transition one bit later where the next one
         * is at least two bits away; the CRC must catch it */
        size_t k = n / 2;
        while (k + 1 < n && e[k + 1].t_ns - e[k].t_ns < 2 * period)
                k++;
        ck_assert_uint_lt(k + 2, n);
        e[k].t_ns += period;
        pos = 0;
        ck_assert_int_eq(decoder_decode(e, n, false, &pos, &d), -1);
        ck_assert_msg(strstr(d.error, "CRC mismatch"), "%s", d.error);

        free(e);
        waveform_done(&w);
}
END_TEST

static uint64_t rnd_state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
        /* xorshift64*, deterministic */
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return (uint32_t) ((rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void random_hex(char *s, size_t n) {
        static const char d[] = "0123456789abcdefABCDEF";
        for (size_t i = 0; i < n; i++)
                s[i] = d[rnd() % 22];
        s[n] = 0;
}

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

START_TEST(test_roundtrip_random) {
        for (int iter = 0; iter < 3000; iter++) {
                char ssid[33], password[65], plan[17], token[17];
                size_t ns = rnd() % 33, np;
                FrameRequest req = {};
                WaveformParams p;
                Waveform w;
                Frame f;
                ErrorText err;

                for (size_t i = 0; i < ns; i++)
                        ssid[i] = (char) (1 + rnd() % 255);
                ssid[ns] = 0;
                static const size_t lens[] = { 0, 5, 8, 10, 13, 26, 40, 63, 64 };
                np = ns ? lens[rnd() % 9] : 0;
                if (np == 64)
                        random_hex(password, 64);
                else {
                        for (size_t i = 0; i < np; i++)
                                password[i] = (char) (0x20 + rnd() % 95);
                        password[np] = 0;
                }
                random_hex(plan, 1 + rnd() % 16);
                random_hex(token, 1 + rnd() % 16);
                req = (FrameRequest) { .ssid = ssid, .password = password, .plan_id = plan, .token = token };

                ck_assert_msg(frame_encode(&req, &f, &err) == 0, "iteration %d: %s", iter, err.message);
                waveform_params_default(&p, rnd() & 1, rnd() & 1);
                p.repeat = 1 + rnd() % 2;
                ck_assert_int_eq(waveform_build(&f, &p, &w), 0);

                size_t n, pos = 0;
                DecodeEdge *e = to_decode_edges(&w, &n);
                for (unsigned rep = 0; rep < p.repeat; rep++) {
                        DecodedFrame d;
                        ck_assert_msg(decoder_decode(e, n, p.active_high, &pos, &d) == 0,
                                      "iteration %d: %s", iter, d.error);
                        ck_assert_double_lt(d.period_ns * p.rate, 1e9 + 1e3);
                        ck_assert_double_gt(d.period_ns * p.rate, 1e9 - 1e3);

                        size_t ri = 0;
                        if (ns > 0) {
                                ck_assert_uint_eq(d.records[ri].type, 1);
                                ck_assert_uint_eq(d.records[ri].len, ns);
                                ck_assert(memcmp(d.records[ri].value, ssid, ns) == 0);
                                ri++;
                        }
                        if (np > 0) {
                                ck_assert_uint_eq(d.records[ri].type, 6);
                                ck_assert_uint_eq(d.records[ri].len, np);
                                ck_assert(memcmp(d.records[ri].value, password, np) == 0);
                                ri++;
                        }
                        ck_assert_uint_eq(d.records[ri].type, 5);
                        ck_assert_uint_eq(d.records[ri].len, 16);
                        ck_assert_uint_eq(le64(d.records[ri].value), strtoull(plan, NULL, 16));
                        ck_assert_uint_eq(le64(d.records[ri].value + 8), strtoull(token, NULL, 16));
                        ck_assert_uint_eq(d.n_records, ri + 1);
                }
                free(e);
                waveform_done(&w);
        }
}
END_TEST

static Suite *waveform_suite(void) {
        Suite *s = suite_create("waveform");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_bit_offsets_exact);
        tcase_add_test(tc, test_lead_in_tail_bits);
        tcase_add_test(tc, test_clear_levels);
        tcase_add_test(tc, test_clear_duration);
        tcase_add_test(tc, test_bad_params);
        tcase_add_test(tc, test_repeat_decodes);
        tcase_add_test(tc, test_decoder_tolerance);
        tcase_add_test(tc, test_roundtrip_random);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(waveform_suite)
