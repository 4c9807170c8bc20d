/* SPDX-License-Identifier: MIT */
/* The transmitter: the play loop with an injected clock (deadlines, drift, lateness figures,
 * timing faults and resends, cancel, polarity, errors), then the real thread on a simulated line,
 * its VCD trace decoded by the tests' own receiver. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decoder.h"
#include "frame.h"
#include "fsync-worker.h"
#include "gpio.h"
#include "rt.h"
#include "transmitter.h"
#include "waveform.h"
#include "tests.h"

#define SPEC_WIFI_HEX \
        "55555555555555552a260107466163746f727906097365637265743132330510efcdab89674523011032547698badcfe" \
        "29c1"

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
        /* xorshift64*, deterministic */
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return (uint32_t) ((rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* ---- a fake clock, sleep and line ---- */

typedef struct FakeWrite {
        uint64_t t; /* fake time of the write */
        uint64_t deadline; /* the last deadline slept to before it */
        uint64_t due; /* the deadline the play loop gave with it; 0: the dark write on exit */
        int level;
} FakeWrite;

typedef struct Fake {
        uint64_t now;
        int level;
        uint64_t write_cost; /* time a write takes */
        uint32_t max_jitter; /* each wake-up is late by [0, max_jitter] ns */
        uint64_t fixed_late; /* ... plus this */

        uint64_t *sleeps; /* every deadline asked for, EINTR retries included */
        uint64_t *sleep_calls; /* the time of each of those calls */
        size_t n_sleeps, n_sleeps_alloc;
        FakeWrite *writes;
        size_t n_writes, n_writes_alloc;
        uint64_t last_deadline;

        /* scripted trouble */
        const size_t *slow_writes; /* write indices that take slow_extra more */
        size_t n_slow_writes;
        uint64_t slow_extra;
        unsigned eintr_period; /* every n-th sleep is interrupted twice first */
        unsigned eintr_left;
        bool interrupted; /* the last sleep returned -EINTR */
        unsigned n_eintr_retries;
        size_t fail_write; /* 1-based index of a write that fails with -EIO; 0 = none */
        size_t fail_sleep; /* 1-based index of a sleep that fails with -EINVAL; 0 = none */
        uint64_t cancel_at; /* the main thread cancels at this time; 0 = never */
        atomic_bool *cancel;
        atomic_uint *gate; /* the fsync worker stores gate_value here at gate_at; 0 = never */
        uint64_t gate_at;
        uint32_t gate_value;
        uint64_t gate_late; /* the wake-up that finds the gate open is this much later */
} Fake;

static void fake_init(Fake *f, int level) {
        *f = (Fake) {
                .now = 1000 * NSEC_PER_SEC + 12345, .level = level, .write_cost = 300, .max_jitter = 0
        };
}

static void fake_done(Fake *f) {
        free(f->sleeps);
        free(f->sleep_calls);
        free(f->writes);
}

static uint64_t fake_now(void *userdata) {
        return ((Fake *) userdata)->now;
}

static int fake_sleep_until(void *userdata, uint64_t t) {
        Fake *f = userdata;

        if (f->n_sleeps == f->n_sleeps_alloc) {
                f->n_sleeps_alloc = f->n_sleeps_alloc ? 2 * f->n_sleeps_alloc : 1024;
                f->sleeps = realloc(f->sleeps, f->n_sleeps_alloc * sizeof(uint64_t));
                f->sleep_calls = realloc(f->sleep_calls, f->n_sleeps_alloc * sizeof(uint64_t));
                ck_assert_ptr_nonnull(f->sleeps);
                ck_assert_ptr_nonnull(f->sleep_calls);
        }
        if (f->interrupted) {
                /* retried after EINTR: the same deadline, not a new one */
                ck_assert_uint_eq(t, f->last_deadline);
                f->n_eintr_retries++;
                f->interrupted = false;
        }
        f->sleep_calls[f->n_sleeps] = f->now;
        f->sleeps[f->n_sleeps++] = t;
        f->last_deadline = t;

        if (f->fail_sleep > 0 && f->n_sleeps == f->fail_sleep)
                return -EINVAL;
        if (f->eintr_period > 0) {
                if (f->eintr_left > 0 || f->n_sleeps % f->eintr_period == 0) {
                        /* interrupted: this one and its first retry */
                        f->eintr_left = f->eintr_left > 0 ? f->eintr_left - 1 : 1;
                        f->now += 1000; /* a signal came in meanwhile */
                        f->interrupted = true;
                        return -EINTR;
                }
        }

        if (f->now < t)
                f->now = t;
        f->now += f->fixed_late + (f->max_jitter ? rnd() % (f->max_jitter + 1) : 0);
        if (f->cancel && f->cancel_at > 0 && f->now >= f->cancel_at)
                atomic_store(f->cancel, true);
        if (f->gate && f->gate_at > 0 && f->now >= f->gate_at) {
                atomic_store(f->gate, f->gate_value);
                f->now += f->gate_late;
                f->gate_late = 0;
        }
        return 0;
}

static int fake_set_level(void *userdata, int level, uint64_t due) {
        Fake *f = userdata;
        size_t i = f->n_writes;

        if (f->n_writes == f->n_writes_alloc) {
                f->n_writes_alloc = f->n_writes_alloc ? 2 * f->n_writes_alloc : 1024;
                f->writes = realloc(f->writes, f->n_writes_alloc * sizeof(FakeWrite));
                ck_assert_ptr_nonnull(f->writes);
        }
        f->n_writes++;
        if (f->fail_write > 0 && f->n_writes == f->fail_write) {
                f->writes[i] = (FakeWrite) { f->now, f->last_deadline, due, -1 };
                return -EIO;
        }
        for (size_t k = 0; k < f->n_slow_writes; k++)
                if (f->slow_writes[k] == i)
                        f->now += f->slow_extra;
        f->level = level;
        f->writes[i] = (FakeWrite) { f->now, f->last_deadline, due, level };
        f->now += f->write_cost;
        return 0;
}

static TransmitterOps fake_ops(Fake *f) {
        return (TransmitterOps) {
                .now = fake_now,
                .sleep_until = fake_sleep_until,
                .set_level = fake_set_level,
                .userdata = f,
        };
}

/* ---- waveforms ---- */

static void spec_frame(Frame *f) {
        FrameRequest req = { .ssid = "Factory",
                             .password = "secret123",
                             .plan_id = "0123456789abcdef",
                             .token = "fedcba9876543210" };

        ck_assert_int_eq(frame_encode(&req, f, NULL), 0);
}

static void build(const Frame *f, unsigned rate, bool active_high, unsigned repeat, Waveform *w) {
        WaveformParams p;

        waveform_params_default(&p, rate == 142, active_high);
        p.repeat = repeat;
        ck_assert_int_eq(waveform_build(f, &p, w), 0);
}

/* The deadline of every transition, worked out here bit by bit: t = k * 1e9 / rate rounded to
 * the nearest ns, for the bit slot k where the level changes. */
static size_t expected_offsets(const Frame *f, const Waveform *w, bool active_high, uint64_t *out,
                               int *levels) {
        unsigned lit = active_high, dark = !active_high, level = dark;
        uint64_t k = w->lead_in_bits;
        size_t n = 0;

        for (unsigned r = 0; r < w->repeat; r++) {
                if (r > 0)
                        k += w->gap_bits;
                for (size_t b = 0; b < f->size * 8; b++, k++) {
                        unsigned bit = (f->bytes[b / 8] >> (7 - b % 8)) & 1;
                        unsigned want = bit ? lit : dark;
                        if (want != level) {
                                out[n] = (2 * k * NSEC_PER_SEC + w->rate) / (2 * (uint64_t) w->rate);
                                levels[n++] = (int) want;
                                level = want;
                        }
                }
                if (level != dark) {
                        out[n] = (2 * k * NSEC_PER_SEC + w->rate) / (2 * (uint64_t) w->rate);
                        levels[n++] = (int) dark;
                        level = dark;
                }
        }
        return n;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* every sleep ends at most half a bit after it began, so that a cancel is seen within half a bit;
 * and the wake-up before an edge is at least a quarter bit before it */
static void check_sleep_spacing(const Fake *f, uint64_t bit_ns) {
        for (size_t i = 0; i < f->n_sleeps; i++)
                if (f->sleeps[i] > f->sleep_calls[i])
                        ck_assert_msg(f->sleeps[i] - f->sleep_calls[i] <= bit_ns / 2,
                                      "sleep %zu: %" PRIu64 " ns", i, f->sleeps[i] - f->sleep_calls[i]);
        for (size_t i = 0; i < f->n_writes; i++) {
                /* find the sleep of this write's deadline, and the one before it */
                for (size_t s = 1; s < f->n_sleeps; s++)
                        if (f->sleeps[s] == f->writes[i].deadline && f->sleeps[s - 1] != f->sleeps[s]) {
                                ck_assert_uint_ge(f->writes[i].deadline - f->sleeps[s - 1], bit_ns / 4);
                                break;
                        }
        }
}

/* ---- the play loop with the fake clock ---- */

static void check_no_drift(unsigned rate, bool active_high, bool eintr) {
        Frame f = { .size = FRAME_BYTES_MAX };
        Waveform w;
        Fake fake;
        TransmitResult res, mine = {};
        atomic_bool cancel = false;
        uint64_t *exp, *lat, *seen, start, bit_ns = transmitter_bit_ns(rate);
        int *levels, dark = !active_high;
        size_t n;

        /* 267 random bytes, 5 times: more than 10 000 bits */
        for (size_t i = 0; i < f.size; i++)
                f.bytes[i] = (uint8_t) rnd();
        build(&f, rate, active_high, 5, &w);
        ck_assert_uint_gt(w.bits, 10000);

        exp = calloc(w.n_edges + 1, sizeof(uint64_t));
        levels = calloc(w.n_edges + 1, sizeof(int));
        lat = calloc(w.n_edges, sizeof(uint64_t));
        seen = calloc(w.n_edges, sizeof(uint64_t));
        n = expected_offsets(&f, &w, active_high, exp, levels);
        ck_assert_uint_eq(n, w.n_edges);

        fake_init(&fake, dark);
        fake.max_jitter = 60000; /* every wake-up 0..60 us late */
        fake.fixed_late = 20000; /* and 20 us more, every time: this would add up if anything did */
        if (eintr)
                fake.eintr_period = 7;
        start = fake.now;
        TransmitterOps ops = fake_ops(&fake);
        TransmitterPlay p = {
                .waveform = &w, .dark_level = (uint8_t) dark, .cancel = &cancel, .lateness = lat
        };

        ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);
        ck_assert(res.clean);
        ck_assert(!res.cancelled);
        ck_assert_uint_eq(res.timing_faults, 0);
        ck_assert_uint_eq(res.frames_sent, 5);
        ck_assert_uint_eq(res.frames_resent, 0);
        ck_assert_uint_eq(res.edges, n);
        ck_assert_uint_eq(fake.n_writes, n); /* no write but the transitions */
        ck_assert_int_eq(fake.level, dark);

        for (size_t i = 0; i < n; i++) {
                /* each edge on its own absolute deadline, exactly */
                ck_assert_msg(fake.writes[i].deadline == start + exp[i],
                              "edge %zu: deadline %" PRIu64 " want %" PRIu64, i,
                              fake.writes[i].deadline - start, exp[i]);
                ck_assert_int_eq(fake.writes[i].level, levels[i]);
                ck_assert_uint_ge(fake.writes[i].t, fake.writes[i].deadline + 20000);
                /* the lateness as the loop must have seen it: after the write minus the deadline */
                seen[i] = fake.writes[i].t + fake.write_cost - fake.writes[i].deadline;
        }
        /* zero drift: the last edge, some 10 000 bits in, is where k exact bit periods end */
        uint64_t k_last = (exp[n - 1] * rate + NSEC_PER_SEC / 2) / NSEC_PER_SEC;
        ck_assert_uint_gt(k_last, 10000);
        ck_assert_uint_eq(fake.writes[n - 1].deadline - start, waveform_bit_offset_ns(k_last, rate));
        /* and the tail is waited for */
        ck_assert_uint_eq(fake.sleeps[fake.n_sleeps - 1], start + w.duration_ns);
        check_sleep_spacing(&fake, bit_ns);

        /* the figures, from the lateness worked out here */
        qsort(seen, n, sizeof(uint64_t), cmp_u64);
        for (size_t i = 0; i < n; i++)
                ck_assert_uint_eq(lat[i], seen[i]);
        transmitter_lateness_stats(seen, n, &mine);
        ck_assert_uint_eq(res.max_lateness_ns, mine.max_lateness_ns);
        ck_assert_uint_eq(res.p99_lateness_ns, mine.p99_lateness_ns);
        ck_assert_uint_eq(res.p50_lateness_ns, mine.p50_lateness_ns);
        ck_assert_uint_eq(res.mean_lateness_ns, mine.mean_lateness_ns);
        ck_assert_uint_ge(res.max_lateness_ns, 20000 + fake.write_cost);
        ck_assert_uint_le(res.max_lateness_ns, 80000 + fake.write_cost + (eintr ? 2000 : 0));

        free(exp);
        free(levels);
        free(lat);
        free(seen);
        fake_done(&fake);
        waveform_done(&w);
}

START_TEST(test_no_drift) {
        check_no_drift(142, false, false);
        check_no_drift(142, true, false);
        check_no_drift(60, false, false);
        check_no_drift(60, true, false);
}
END_TEST

START_TEST(test_eintr_same_deadline) {
        Fake fake;
        Frame f;
        Waveform w;
        TransmitResult res;
        uint64_t lat[1000];

        check_no_drift(142, false, true);

        /* and count the retries themselves (the fake checks each one's deadline) */
        spec_frame(&f);
        build(&f, 142, false, 1, &w);
        fake_init(&fake, 1);
        fake.eintr_period = 5;
        TransmitterOps ops = fake_ops(&fake);
        TransmitterPlay p = { .waveform = &w, .dark_level = 1, .lateness = lat };
        ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);
        ck_assert(res.clean);
        ck_assert_uint_eq(res.edges, w.n_edges);
        ck_assert_uint_gt(fake.n_eintr_retries, fake.n_sleeps / 5);
        fake_done(&fake);
        waveform_done(&w);
}
END_TEST

START_TEST(test_lateness_stats) {
        TransmitResult r;
        uint64_t v[1000];

        transmitter_lateness_stats(v, 0, &r);
        ck_assert_uint_eq(r.max_lateness_ns + r.p99_lateness_ns + r.p50_lateness_ns + r.mean_lateness_ns, 0);

        v[0] = 42;
        transmitter_lateness_stats(v, 1, &r);
        ck_assert_uint_eq(r.max_lateness_ns, 42);
        ck_assert_uint_eq(r.p99_lateness_ns, 42);
        ck_assert_uint_eq(r.p50_lateness_ns, 42);
        ck_assert_uint_eq(r.mean_lateness_ns, 42);

        /* 1..1000, shuffled: nearest rank p50 = 500, p99 = 990; mean 500.5 rounds up */
        for (size_t i = 0; i < 1000; i++)
                v[i] = i + 1;
        for (size_t i = 999; i > 0; i--) {
                size_t j = rnd() % (i + 1);
                uint64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
        }
        transmitter_lateness_stats(v, 1000, &r);
        ck_assert_uint_eq(r.max_lateness_ns, 1000);
        ck_assert_uint_eq(r.p99_lateness_ns, 990);
        ck_assert_uint_eq(r.p50_lateness_ns, 500);
        ck_assert_uint_eq(r.mean_lateness_ns, 501);
        for (size_t i = 1; i < 1000; i++)
                ck_assert_uint_le(v[i - 1], v[i]);

        /* one outlier in 100 is not the p99; two are */
        for (size_t i = 0; i < 100; i++)
                v[i] = 10;
        v[37] = 1000000;
        transmitter_lateness_stats(v, 100, &r);
        ck_assert_uint_eq(r.p99_lateness_ns, 10);
        ck_assert_uint_eq(r.max_lateness_ns, 1000000);
        ck_assert_uint_eq(r.mean_lateness_ns, (99 * 10 + 1000000 + 50) / 100);
        v[0] = 999999;
        transmitter_lateness_stats(v, 100, &r);
        ck_assert_uint_eq(r.p99_lateness_ns, 999999);
        ck_assert_uint_eq(r.p50_lateness_ns, 10);

        /* 3 values: p50 is the second, p99 the third */
        v[0] = 7, v[1] = 3, v[2] = 5;
        transmitter_lateness_stats(v, 3, &r);
        ck_assert_uint_eq(r.p50_lateness_ns, 5);
        ck_assert_uint_eq(r.p99_lateness_ns, 7);
        ck_assert_uint_eq(r.mean_lateness_ns, 5);
}
END_TEST

/* decodes the fake line's writes with the tests' receiver: the number of good frames */
static unsigned decode_writes(const Fake *fake, int initial, bool active_high, const char *hex) {
        DecodeEdge *e = calloc(fake->n_writes + 1, sizeof(DecodeEdge));
        size_t n = 0, pos = 0;
        unsigned good = 0;

        e[n++] = (DecodeEdge) { 0, (uint8_t) initial };
        for (size_t i = 0; i < fake->n_writes; i++)
                if (fake->writes[i].level != e[n - 1].level)
                        e[n++] = (DecodeEdge) { fake->writes[i].t, (uint8_t) fake->writes[i].level };
        while (pos < n) {
                DecodedFrame d;
                size_t before = pos;
                char buf[2 * sizeof(d.bytes) + 1];

                /* after a failure, look for a preamble from the next edge on: an aborted frame
                 * is shorter than its LEN says */
                if (decoder_decode(e, n, active_high, &pos, &d) == 0) {
                        decoder_hex(&d, buf);
                        if (streq(buf, hex))
                                good++;
                } else
                        pos = before + 1;
        }
        free(e);
        return good;
}

static void check_fault(bool active_high, unsigned retries, bool fault_every_pass) {
        Frame f;
        Waveform w;
        Fake fake;
        TransmitResult res;
        int dark = !active_high, lit = active_high;
        uint64_t *lat, bit_ns = transmitter_bit_ns(142), tail_ns, lead_ns;
        size_t slow[] = { 100, 202 };

        spec_frame(&f);
        build(&f, 142, active_high, 1, &w);
        tail_ns = waveform_bit_offset_ns(w.tail_bits, 142);
        lead_ns = w.edges[0].offset_ns;
        lat = calloc((retries + 1) * w.n_edges, sizeof(uint64_t));

        fake_init(&fake, dark);
        fake.max_jitter = 30000;
        /* the write of edge 100 (a lit one) takes 2 ms; with fault_every_pass also edge 100 of
         * the resend (write 202: 101 edges, the dark after the fault, 100 more) */
        fake.slow_writes = slow;
        fake.n_slow_writes = fault_every_pass ? 2 : 1;
        fake.slow_extra = 2 * NSEC_PER_MSEC;
        ck_assert_int_eq(w.edges[100].level, lit);

        TransmitterOps ops = fake_ops(&fake);
        TransmitterPlay p = {
                .waveform = &w, .dark_level = (uint8_t) dark, .retries = retries, .lateness = lat
        };
        ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);

        ck_assert_int_eq(fake.level, dark);
        ck_assert(!res.cancelled);
        ck_assert_int_eq(res.error, 0);
        ck_assert_uint_ge(res.max_lateness_ns, 2 * NSEC_PER_MSEC);

        /* the late edge, then dark at once: the frame is abandoned */
        ck_assert_int_eq(fake.writes[100].level, lit);
        ck_assert_int_eq(fake.writes[101].level, dark);
        ck_assert_uint_le(fake.writes[101].t - fake.writes[100].t, fake.write_cost);

        if (retries == 0) {
                ck_assert_uint_eq(res.timing_faults, 1);
                ck_assert_uint_eq(res.frames_sent, 1);
                ck_assert_uint_eq(res.frames_resent, 0);
                ck_assert(!res.clean);
                ck_assert_uint_eq(res.edges, 101);
                ck_assert_uint_eq(fake.n_writes, 102);
                /* still dark for the tail before it reports */
                ck_assert_uint_ge(fake.sleeps[fake.n_sleeps - 1], fake.writes[101].t + tail_ns);
                ck_assert_uint_eq(decode_writes(&fake, dark, active_high, SPEC_WIFI_HEX), 0);
        } else if (!fault_every_pass) {
                ck_assert_uint_eq(res.timing_faults, 1);
                ck_assert_uint_eq(res.frames_sent, 2);
                ck_assert_uint_eq(res.frames_resent, 1); /* the second pass's one frame */
                ck_assert(res.clean);
                ck_assert_uint_eq(res.edges, 101 + w.n_edges);
                ck_assert_uint_eq(fake.n_writes, 102 + w.n_edges);
                /* the resend: dark for the tail and the lead-in first, then the whole frame again
                 * on deadlines from its new t0 */
                uint64_t t0 = fake.writes[102].deadline - w.edges[0].offset_ns;
                ck_assert_uint_ge(t0, fake.writes[101].t + tail_ns);
                ck_assert_uint_ge(fake.writes[102].t - fake.writes[101].t, tail_ns + lead_ns);
                for (size_t i = 0; i < w.n_edges; i++) {
                        ck_assert_uint_eq(fake.writes[102 + i].deadline, t0 + w.edges[i].offset_ns);
                        ck_assert_int_eq(fake.writes[102 + i].level, w.edges[i].level);
                }
                check_sleep_spacing(&fake, bit_ns);
                /* the receiver sees one good frame: the resend */
                ck_assert_uint_eq(decode_writes(&fake, dark, active_high, SPEC_WIFI_HEX), 1);
        } else {
                ck_assert_uint_eq(res.timing_faults, 2);
                ck_assert_uint_eq(res.frames_sent, 2);
                ck_assert_uint_eq(res.frames_resent, 1);
                ck_assert(!res.clean);
                ck_assert_uint_eq(res.edges, 202);
                ck_assert_uint_eq(fake.n_writes, 204);
                ck_assert_int_eq(fake.writes[203].level, dark);
                ck_assert_uint_eq(decode_writes(&fake, dark, active_high, SPEC_WIFI_HEX), 0);
        }

        free(lat);
        fake_done(&fake);
        waveform_done(&w);
}

START_TEST(test_timing_fault_resend) {
        for (int ah = 0; ah <= 1; ah++) {
                check_fault(ah, 1, false);
                check_fault(ah, 3, false);
                check_fault(ah, 0, false);
                check_fault(ah, 1, true);
        }
}
END_TEST

START_TEST(test_timing_fault_threshold) {
        Frame f;
        Waveform w;
        uint64_t lat[2000];

        spec_frame(&f);
        build(&f, 60, false, 1, &w);
        for (int extra = 0; extra <= 1; extra++) {
                Fake fake;
                TransmitResult res;
                size_t slow[] = { 7 };

                /* every wake-up on time, every write 300 ns; write 7 exactly at the limit, or 1 ns
                 * over it */
                fake_init(&fake, 1);
                fake.slow_writes = slow;
                fake.n_slow_writes = 1;
                fake.slow_extra = 5000 - fake.write_cost + (uint64_t) extra;
                TransmitterOps ops = fake_ops(&fake);
                TransmitterPlay p = {
                        .waveform = &w, .dark_level = 1, .max_lateness_ns = 5000, .lateness = lat
                };
                ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);
                ck_assert_uint_eq(res.max_lateness_ns, 5000 + (uint64_t) extra);
                ck_assert_uint_eq(res.timing_faults, (unsigned) extra);
                ck_assert(res.clean == !extra);
                ck_assert_int_eq(fake.level, 1);
                fake_done(&fake);
        }

        /* the default limit is 10 % of a bit: 1.666 ms at 60 bits/s */
        for (int extra = 0; extra <= 1; extra++) {
                Fake fake;
                TransmitResult res;
                size_t slow[] = { 3 };

                fake_init(&fake, 1);
                fake.slow_writes = slow;
                fake.n_slow_writes = 1;
                fake.slow_extra = transmitter_bit_ns(60) / 10 - fake.write_cost + (uint64_t) extra;
                TransmitterOps ops = fake_ops(&fake);
                TransmitterPlay p = { .waveform = &w, .dark_level = 1, .lateness = lat };
                ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);
                ck_assert_uint_eq(res.timing_faults, (unsigned) extra);
                fake_done(&fake);
        }
        waveform_done(&w);
}
END_TEST

/* IdealTiming=: edges far later than MaxLatenessUs are no fault; each write carries its own
 * deadline, worked out here from the spec frame bit by bit, and the lateness is still measured */
START_TEST(test_ideal_timing) {
        Frame f;
        Waveform w;
        uint64_t lat[2000], expect[2000];
        int levels[2000];
        size_t n, slow[] = { 7, 40 };
        Fake fake;
        TransmitResult res;

        spec_frame(&f);
        build(&f, 142, false, 2, &w);
        n = expected_offsets(&f, &w, false, expect, levels);
        ck_assert_uint_eq(n, w.n_edges);
        ck_assert_uint_le(2 * n, ELEMENTSOF(lat));

        fake_init(&fake, 1);
        fake.max_jitter = 100000; /* every wake-up up to 0.1 ms late */
        fake.slow_writes = slow;
        fake.n_slow_writes = 2;
        fake.slow_extra = 20 * NSEC_PER_MSEC; /* three bits at 142 bits/s */
        TransmitterOps ops = fake_ops(&fake);
        TransmitterPlay p = { .waveform = &w, .dark_level = 1, .max_lateness_ns = 5000, .retries = 1,
                              .lateness = lat, .ideal_timing = true };
        ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);

        ck_assert_uint_eq(res.timing_faults, 0);
        ck_assert(res.clean);
        ck_assert_uint_eq(res.frames_sent, 2);
        ck_assert_uint_eq(res.frames_resent, 0);
        ck_assert_uint_eq(res.edges, n);
        ck_assert_uint_ge(res.max_lateness_ns, 20 * NSEC_PER_MSEC);
        ck_assert_uint_eq(fake.n_writes, n); /* the last edge is dark: no write on exit */
        uint64_t t0 = fake.writes[0].due - expect[0];
        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(fake.writes[i].due, t0 + expect[i]);
                ck_assert_int_eq(fake.writes[i].level, levels[i]);
        }
        ck_assert_int_eq(fake.level, 1);
        fake_done(&fake);

        /* the same without it: a late lit edge is a fault, and the LED goes dark at once */
        size_t late_lit = 7;
        while (w.edges[late_lit].level != 0)
                late_lit++;
        fake_init(&fake, 1);
        fake.slow_writes = &late_lit;
        fake.n_slow_writes = 1;
        fake.slow_extra = 20 * NSEC_PER_MSEC;
        ops = fake_ops(&fake);
        p.ideal_timing = false;
        p.retries = 0;
        ck_assert_int_eq(transmitter_play(&ops, &p, &res), 0);
        ck_assert_uint_eq(res.timing_faults, 1);
        ck_assert(!res.clean);
        /* the dark write after the late edge carries no deadline */
        ck_assert_uint_eq(fake.n_writes, late_lit + 2);
        ck_assert_uint_eq(fake.writes[late_lit].due, fake.writes[0].due - expect[0] + expect[late_lit]);
        ck_assert_uint_eq(fake.writes[late_lit + 1].due, 0);
        ck_assert_int_eq(fake.writes[late_lit + 1].level, 1);
        fake_done(&fake);
        waveform_done(&w);
}
END_TEST

/* cancel at time offset "at" (from the start); returns the result */
static void run_cancel(const Waveform *w, bool active_high, uint64_t at, unsigned retries,
                       const size_t *slow, size_t n_slow, Fake *fake, TransmitResult *res) {
        static atomic_bool cancel;
        uint64_t *lat = calloc((retries + 1) * w->n_edges, sizeof(uint64_t));

        atomic_store(&cancel, false);
        fake_init(fake, !active_high);
        fake->max_jitter = 50000;
        fake->cancel = &cancel;
        fake->cancel_at = fake->now + at;
        fake->slow_writes = slow;
        fake->n_slow_writes = n_slow;
        fake->slow_extra = 3 * NSEC_PER_MSEC;

        TransmitterOps ops = fake_ops(fake);
        TransmitterPlay p = { .waveform = w,
                              .dark_level = (uint8_t) !active_high,
                              .retries = retries,
                              .cancel = &cancel,
                              .lateness = lat };
        ck_assert_int_eq(transmitter_play(&ops, &p, res), 0);
        ck_assert(res->cancelled);
        ck_assert(!res->clean);
        ck_assert_int_eq(fake->level, !active_high); /* ends dark */
        free(lat);
}

START_TEST(test_cancel) {
        /* an SSID of 0xff bytes: a long lit stretch in the middle of the frame */
        FrameRequest req = { .ssid = "\xff\xff\xff\xff\xff\xff", .plan_id = "1", .token = "2" };
        Frame f;

        ck_assert_int_eq(frame_encode(&req, &f, NULL), 0);
        for (int ah = 0; ah <= 1; ah++)
                for (unsigned rate = 60; rate <= 142; rate += 82) {
                        uint64_t bit_ns = transmitter_bit_ns(rate), at;
                        int dark = !ah, lit = ah;
                        TransmitResult res;
                        Waveform w;
                        Fake fake;
                        size_t j;

                        build(&f, rate, ah, 2, &w);
                        /* the lit edge with the longest wait after it */
                        j = 0;
                        for (size_t i = 0; i + 1 < w.n_edges; i++)
                                if (w.edges[i].level == lit &&
                                    w.edges[i + 1].offset_ns - w.edges[i].offset_ns >
                                            w.edges[j + 1].offset_ns - w.edges[j].offset_ns)
                                        j = i;
                        ck_assert_uint_ge(w.edges[j + 1].offset_ns - w.edges[j].offset_ns, 40 * bit_ns);

                        /* mid-frame, lit, 20.3 bits before the next edge: dark within half a bit
                         * (plus the wake-up latency and a write) */
                        at = w.edges[j].offset_ns + 20 * bit_ns + bit_ns / 3;
                        run_cancel(&w, ah, at, 0, NULL, 0, &fake, &res);
                        ck_assert_uint_eq(res.edges, j + 1);
                        ck_assert_uint_eq(fake.n_writes, j + 2);
                        ck_assert_int_eq(fake.writes[j + 1].level, dark);
                        uint64_t t_cancel = fake.cancel_at;
                        ck_assert_uint_gt(fake.writes[j + 1].t, t_cancel);
                        ck_assert_msg(fake.writes[j + 1].t - t_cancel <= bit_ns / 2 + 51000,
                                      "dark %" PRIu64 " ns after the cancel",
                                      fake.writes[j + 1].t - t_cancel);
                        ck_assert_uint_eq(res.frames_sent, 1);
                        fake_done(&fake);

                        /* in the lead-in: nothing was ever lit */
                        run_cancel(&w, ah, 100 * NSEC_PER_MSEC, 0, NULL, 0, &fake, &res);
                        ck_assert_uint_eq(fake.n_writes, 0);
                        ck_assert_uint_eq(res.edges, 0);
                        ck_assert_uint_eq(res.frames_sent, 0);
                        ck_assert_uint_le(fake.now - fake.cancel_at, bit_ns / 2 + 51000);
                        fake_done(&fake);

                        /* in the gap between the two frames, and in the tail */
                        run_cancel(&w, ah, waveform_bit_offset_ns(w.lead_in_bits + w.frame_bits + 3, rate),
                                   0, NULL, 0, &fake, &res);
                        ck_assert_uint_eq(res.frames_sent, 1);
                        ck_assert_int_eq(fake.writes[fake.n_writes - 1].level, dark);
                        fake_done(&fake);
                        run_cancel(&w, ah, w.duration_ns - 300 * NSEC_PER_MSEC, 0, NULL, 0, &fake, &res);
                        ck_assert_uint_eq(res.frames_sent, 2);
                        ck_assert_uint_eq(res.edges, w.n_edges);
                        ck_assert_uint_le(fake.now - fake.cancel_at, bit_ns / 2 + 51000);
                        fake_done(&fake);

                        /* while waiting to resend after a timing fault */
                        size_t slow[] = { 10 };
                        run_cancel(&w, ah, w.edges[10].offset_ns + 500 * NSEC_PER_MSEC, 2, slow, 1, &fake,
                                   &res);
                        ck_assert_uint_eq(res.timing_faults, 1);
                        ck_assert_uint_eq(res.frames_sent, 1);
                        ck_assert_uint_eq(fake.n_writes, 12);
                        ck_assert_uint_le(fake.now - fake.cancel_at, bit_ns / 2 + 51000);
                        fake_done(&fake);

                        waveform_done(&w);
                }
}
END_TEST

START_TEST(test_errors_end_dark) {
        Frame f;
        Waveform w;
        uint64_t lat[1000];

        spec_frame(&f);
        for (int ah = 0; ah <= 1; ah++) {
                Fake fake;
                TransmitResult res;

                build(&f, 142, ah, 1, &w);

                /* the 6th write fails: a dark write follows, the error is reported */
                fake_init(&fake, !ah);
                fake.fail_write = 6;
                TransmitterOps ops = fake_ops(&fake);
                TransmitterPlay p = {
                        .waveform = &w, .dark_level = (uint8_t) !ah, .retries = 3, .lateness = lat
                };
                ck_assert_int_eq(transmitter_play(&ops, &p, &res), -EIO);
                ck_assert_int_eq(res.error, -EIO);
                ck_assert(!res.clean);
                ck_assert_uint_eq(res.edges, 5);
                ck_assert_uint_eq(fake.n_writes, 7);
                ck_assert_int_eq(fake.writes[6].level, !ah);
                ck_assert_int_eq(fake.level, !ah);
                fake_done(&fake);

                /* a sleep fails (not EINTR): no retry, dark */
                fake_init(&fake, !ah);
                fake.fail_sleep = 40;
                ops = fake_ops(&fake);
                ck_assert_int_eq(transmitter_play(&ops, &p, &res), -EINVAL);
                ck_assert(!res.clean);
                ck_assert_int_eq(fake.level, !ah);
                ck_assert_int_eq(fake.writes[fake.n_writes - 1].level, !ah);
                fake_done(&fake);

                waveform_done(&w);
        }
}
END_TEST

/* ---- the real thread on a simulated line ---- */

static char tmpdir[] = "/tmp/test-transmitter.XXXXXX";

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        (void) rt_prepare(); /* may be refused; the thread runs anyway */
}

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
        strcpy(tmpdir, "/tmp/test-transmitter.XXXXXX");
}

/* The tests' receiver takes its clock from the preamble alone: an edge late by 10 % of a bit (the
 * default limit) at the end of the preamble skews that clock so much that the last bits of a
 * 400-bit frame are sampled near their edge, and a clean frame could fail to decode. So these
 * tests hold the transmitter to 5 % of a bit at 142 bits/s; faults beyond it are resent. */
static const TransmitterConfig test_config = {
        .priority = 50,
        .cpu = -1,
        .max_lateness_ns = 352000,
        .timing_fault_retries = 3,
};

static void wait_result(Transmitter *t, TransmitResult *res) {
        struct pollfd p = { .fd = transmitter_get_fd(t), .events = POLLIN };

        ck_assert_int_ge(p.fd, 0);
        /* generous: a frame is a few seconds; the retries after faults add more */
        ck_assert_int_eq(poll(&p, 1, 100 * 1000), 1);
        ck_assert_int_eq(transmitter_get_result(t, res), 0);
        ck_assert(!transmitter_busy(t));
        ck_assert_int_eq(transmitter_get_result(t, res), -EAGAIN); /* consumed */
        p.revents = 0;
        ck_assert_int_eq(poll(&p, 1, 0), 0);
}

static long read_trace(const char *path, DecodeEdge **ret) {
        FILE *f = fopen(path, "re");
        long n;

        ck_assert_ptr_nonnull(f);
        n = decoder_read_vcd(f, ret);
        fclose(f);
        ck_assert_int_gt(n, 0);
        return n;
}

static void print_result(const char *what, const TransmitResult *r) {
        printf("%s: edges=%" PRIu64 " max=%" PRIu64 "ns p99=%" PRIu64 "ns p50=%" PRIu64 "ns mean=%" PRIu64
               "ns frames=%u faults=%u clean=%s cancelled=%s realtime=%s error=%d\n",
               what, r->edges, r->max_lateness_ns, r->p99_lateness_ns, r->p50_lateness_ns,
               r->mean_lateness_ns, r->frames_sent, r->timing_faults, r->clean ? "yes" : "no",
               r->cancelled ? "yes" : "no", r->realtime ? "yes" : "no", r->error);
}

static void check_thread_frame(bool active_high) {
        _cleanup_(freep) char *trace = NULL;
        _cleanup_(transmitter_freep) Transmitter *t = NULL;
        GpioLine *led = NULL;
        uint64_t max_late = test_config.max_lateness_ns;
        int dark = !active_high;
        TransmitResult res;
        DecodeEdge *e = NULL;
        Waveform w;
        Frame f;
        long n;

        ck_assert_int_ge(asprintf(&trace, "%s/led-%d.vcd", tmpdir, active_high), 0);
        ck_assert_int_eq(gpio_output_open("sim", "led", active_high, trace, &led, NULL), 0);
        ck_assert_int_eq(transmitter_new(led, &test_config, &t), 0);

        spec_frame(&f);
        build(&f, 142, active_high, 1, &w);
        ck_assert_int_eq(transmitter_start(t, &w), 0);
        ck_assert(transmitter_busy(t));
        ck_assert_int_eq(transmitter_start(t, &w), -EBUSY);
        ck_assert_int_eq(transmitter_get_result(t, &res), -EAGAIN);
        wait_result(t, &res);
        print_result(active_high ? "active-high" : "active-low", &res);

        ck_assert_int_eq(res.error, 0);
        ck_assert(!res.cancelled);
        ck_assert(res.realtime == transmitter_is_realtime(t));
        ck_assert_uint_eq(res.frames_sent, res.timing_faults + (res.clean ? 1 : 0));
        ck_assert_int_eq(gpio_line_get(led), dark);

        /* the trace was flushed when the job ended */
        n = read_trace(trace, &e);
        ck_assert_uint_eq(e[0].level, dark);
        ck_assert_uint_eq(e[n - 1].level, dark);

        if (res.clean) {
                size_t pos = 0, first;
                unsigned good = 0;
                DecodedFrame d;
                char hex[2 * sizeof(d.bytes) + 1];
                uint64_t t0 = UINT64_MAX;

                if (res.timing_faults == 0) {
                        ck_assert_uint_eq(res.edges, w.n_edges);
                        ck_assert_uint_le(res.max_lateness_ns, max_late);
                        ck_assert_uint_eq((uint64_t) n, w.n_edges + 1);
                }
                ck_assert_uint_le(res.p50_lateness_ns, res.p99_lateness_ns);
                ck_assert_uint_le(res.p99_lateness_ns, res.max_lateness_ns);

                /* the last frame sent decodes right */
                while (pos < (size_t) n) {
                        size_t before = pos;
                        if (decoder_decode(e, (size_t) n, active_high, &pos, &d) == 0) {
                                decoder_hex(&d, hex);
                                ck_assert_str_eq(hex, SPEC_WIFI_HEX);
                                good++;
                        } else
                                pos = before + 1;
                }
                ck_assert_uint_ge(good, 1);

                /* the last pass's edges, against the waveform: right levels, and each no later
                 * than the limit after its deadline (t0 estimated from the earliest edge) */
                first = (size_t) n - w.n_edges;
                for (size_t i = 0; i < w.n_edges; i++) {
                        ck_assert_uint_eq(e[first + i].level, w.edges[i].level);
                        t0 = MIN(t0, e[first + i].t_ns - w.edges[i].offset_ns);
                }
                for (size_t i = 0; i < w.n_edges; i++) {
                        uint64_t late = e[first + i].t_ns - w.edges[i].offset_ns - t0;
                        ck_assert_msg(late <= max_late, "edge %zu is %" PRIu64 " ns late in the trace", i,
                                      late);
                }
        } else {
                /* every pass hit a timing fault: the figures must say why */
                printf("timing fault on every pass (busy machine?): %u faults, max lateness %" PRIu64
                       " ns > %" PRIu64 " ns\n",
                       res.timing_faults, res.max_lateness_ns, max_late);
                ck_assert_uint_eq(res.timing_faults, test_config.timing_fault_retries + 1);
                ck_assert_uint_gt(res.max_lateness_ns, max_late);
        }
        free(e);
        waveform_done(&w);

        t = transmitter_free(t);
        led = gpio_line_free(led);
}

START_TEST(test_thread_sim_active_low) {
        check_thread_frame(false);
}
END_TEST

START_TEST(test_thread_sim_active_high) {
        check_thread_frame(true);
}
END_TEST

START_TEST(test_thread_cancel) {
        for (int ah = 0; ah <= 1; ah++) {
                _cleanup_(freep) char *trace = NULL;
                Transmitter *t = NULL;
                GpioLine *led = NULL;
                TransmitResult res;
                DecodeEdge *e = NULL;
                uint64_t t_cancel;
                Waveform w;
                Frame f;
                long n;

                ck_assert_int_ge(asprintf(&trace, "%s/cancel-%d.vcd", tmpdir, ah), 0);
                ck_assert_int_eq(gpio_output_open("sim", "led", ah, trace, &led, NULL), 0);
                ck_assert_int_eq(transmitter_new(led, &test_config, &t), 0);

                /* 60 bits/s: the frame takes 6.7 s after a 250 ms lead-in; cancel 1 s in */
                spec_frame(&f);
                build(&f, 60, ah, 1, &w);
                ck_assert_int_eq(transmitter_start(t, &w), 0);
                waveform_done(&w); /* the transmitter has its own copy */
                usleep(1000 * 1000);
                t_cancel = rt_now_ns();
                transmitter_cancel(t);
                wait_result(t, &res);
                print_result("cancelled", &res);
                ck_assert(res.cancelled);
                ck_assert(!res.clean);
                ck_assert_int_eq(res.error, 0);
                ck_assert_uint_ge(res.edges, 1);
                ck_assert_int_eq(gpio_line_get(led), !ah);

                n = read_trace(trace, &e);
                ck_assert_uint_eq(e[n - 1].level, !ah);
                /* reported, not asserted: a busy machine may take longer than a bit period */
                if (e[n - 1].t_ns > t_cancel)
                        printf("dark %.3f ms after the cancel (a bit is %.3f ms)\n",
                               (double) (e[n - 1].t_ns - t_cancel) / 1e6,
                               (double) transmitter_bit_ns(60) / 1e6);
                free(e);

                /* a new job after a cancel runs normally; freeing mid-job ends dark */
                build(&f, 142, ah, 1, &w);
                ck_assert_int_eq(transmitter_start(t, &w), 0);
                waveform_done(&w);
                usleep(400 * 1000);
                t = transmitter_free(t);
                ck_assert_int_eq(gpio_line_get(led), !ah);
                led = gpio_line_free(led);
                n = read_trace(trace, &e);
                ck_assert_uint_eq(e[n - 1].level, !ah);
                ck_assert_int_gt(n, 3);
                free(e);
        }
}
END_TEST

START_TEST(test_thread_bad_use) {
        _cleanup_(transmitter_freep) Transmitter *t = NULL;
        TransmitterConfig c = test_config;
        GpioLine *led = NULL, *button = NULL;
        _cleanup_(freep) char *fifo = NULL;
        Waveform w;
        Frame f;

        ck_assert_int_eq(gpio_output_open("sim", "led", false, NULL, &led, NULL), 0);
        c.priority = 100;
        ck_assert_int_eq(transmitter_new(led, &c, &t), -EINVAL);
        c.priority = -1;
        ck_assert_int_eq(transmitter_new(led, &c, &t), -EINVAL);
        c = test_config;
        c.cpu = 100000;
        ck_assert_int_eq(transmitter_new(led, &c, &t), -EINVAL);
        ck_assert_ptr_null(t);

        /* an input is no LED */
        ck_assert_int_ge(asprintf(&fifo, "%s/button", tmpdir), 0);
        ck_assert_int_eq(gpio_input_open("sim", "button", true, CONFIG_BIAS_AS_IS, fifo, &button, NULL), 0);
        ck_assert_int_eq(transmitter_new(button, &test_config, &t), -EINVAL);
        button = gpio_line_free(button);

        /* pinned to CPU 0, normal priority */
        c = test_config;
        c.cpu = 0;
        c.priority = 0;
        ck_assert_int_eq(transmitter_new(led, &c, &t), 0);
        ck_assert(!transmitter_is_realtime(t));
        ck_assert(!transmitter_busy(t));
        ck_assert_int_eq(transmitter_get_result(t, &(TransmitResult) {}), -EAGAIN);
        transmitter_cancel(t); /* harmless when idle */

        /* a waveform for the other polarity would light the LED when idle */
        spec_frame(&f);
        build(&f, 142, true, 1, &w);
        ck_assert_int_eq(transmitter_start(t, &w), -EINVAL);
        ck_assert(!transmitter_busy(t));
        waveform_done(&w);

        /* the clear frame at 142 bits/s after an idle-time cancel: runs to its end */
        TransmitResult res;
        const uint64_t *lat;
        frame_encode_clear(&f);
        build(&f, 142, false, 1, &w);
        ck_assert_int_eq(transmitter_start(t, &w), 0);
        wait_result(t, &res);
        ck_assert(!res.cancelled);
        ck_assert(!res.realtime);
        ck_assert_uint_eq(transmitter_get_lateness(t, &lat), res.edges);
        ck_assert_uint_eq(lat[res.edges - 1], res.max_lateness_ns);
        waveform_done(&w);

        t = transmitter_free(t);
        ck_assert_int_eq(gpio_line_get(led), 1);
        gpio_line_free(led);
        transmitter_free(NULL);
}
END_TEST

/* The record's gate: the first light edge is never written before the gate reaches the ticket;
 * the waveform moves later as a whole (every deadline by the same multiple of half a bit), or
 * the job ends dark after the gate's timeout; a cancel still darkens within half a bit. */
typedef struct GateRun {
        TransmitResult res;
        uint64_t t0; /* the job's start (fake time) */
        atomic_uint gate; /* the fsync worker's */
        atomic_bool cancel;
} GateRun;

static void run_gated_ideal(const Waveform *w, Fake *fake, uint64_t gate_after, uint64_t cancel_after,
                            uint32_t ticket, bool ideal, uint64_t gate_late, GateRun *ret) {
        uint64_t *lat = calloc(w->n_edges, sizeof(uint64_t));

        atomic_init(&ret->gate, 7); /* an earlier ticket: shut */
        atomic_init(&ret->cancel, false);
        fake_init(fake, 1);
        fake->max_jitter = 20000;
        ret->t0 = fake->now;
        fake->gate = &ret->gate;
        fake->gate_at = gate_after ? ret->t0 + gate_after : 0;
        fake->gate_value = ticket;
        fake->cancel = &ret->cancel;
        fake->cancel_at = cancel_after ? ret->t0 + cancel_after : 0;
        fake->gate_late = gate_late;

        TransmitterOps ops = fake_ops(fake);
        TransmitterPlay p = { .waveform = w,
                              .dark_level = 1,
                              .cancel = &ret->cancel,
                              .lateness = lat,
                              .gate = &ret->gate,
                              .gate_ticket = ticket,
                              .gate_timeout_ns = NSEC_PER_SEC,
                              .ideal_timing = ideal };
        ck_assert_int_eq(transmitter_play(&ops, &p, &ret->res), 0);
        ck_assert_int_eq(fake->level, 1); /* dark, whatever happened */
        free(lat);
}

static void run_gated(const Waveform *w, Fake *fake, uint64_t gate_after, uint64_t cancel_after, uint32_t ticket,
                      GateRun *ret) {
        run_gated_ideal(w, fake, gate_after, cancel_after, ticket, false, 0, ret);
}

START_TEST(test_gate) {
        unsigned rate = _i == 0 ? 142 : 60;
        uint64_t bit_ns = transmitter_bit_ns(rate), half = bit_ns / 2, lead, open;
        Frame f;
        Waveform w;
        Fake fake;
        GateRun g;

        spec_frame(&f);
        build(&f, rate, false, 1, &w);
        lead = w.edges[0].offset_ns; /* the first edge lights the LED */
        ck_assert_int_eq(w.edges[0].level, 0);

        /* on disk during the lead-in (an SD card's 25 ms fsync): nothing moves */
        run_gated(&w, &fake, 25 * NSEC_PER_MSEC, 0, 8, &g);
        ck_assert(g.res.clean);
        ck_assert(!g.res.not_durable);
        ck_assert_uint_eq(g.res.gate_wait_ns, 0);
        ck_assert_uint_eq(fake.n_writes, w.n_edges);
        for (size_t i = 0; i < w.n_edges; i++)
                ck_assert_uint_eq(fake.writes[i].deadline, g.t0 + w.edges[i].offset_ns);
        ck_assert_uint_eq(decode_writes(&fake, 1, false, SPEC_WIFI_HEX), 1);
        check_sleep_spacing(&fake, bit_ns);
        fake_done(&fake);

        /* on disk 40 ms after the first light edge was due: the LED stays dark until then, and
         * the whole frame moves by whole half bits (no bit is stretched) */
        open = lead + 40 * NSEC_PER_MSEC;
        run_gated(&w, &fake, open, 0, 8, &g);
        ck_assert(g.res.clean);
        /* looked at half a bit before each due time (wake-ups up to 20 us late): the first look
         * at or after the 40 ms */
        ck_assert_uint_ge(g.res.gate_wait_ns, 40 * NSEC_PER_MSEC + half / 2 - 20000);
        ck_assert_uint_lt(g.res.gate_wait_ns, 40 * NSEC_PER_MSEC + half / 2 + half);
        ck_assert_uint_eq(g.res.gate_wait_ns % half, 0);
        ck_assert_uint_ge(fake.writes[0].t, g.t0 + open);
        ck_assert_int_eq(fake.writes[0].level, 0);
        ck_assert_uint_eq(fake.n_writes, w.n_edges);
        for (size_t i = 0; i < w.n_edges; i++)
                ck_assert_uint_eq(fake.writes[i].deadline, g.t0 + g.res.gate_wait_ns + w.edges[i].offset_ns);
        ck_assert_uint_eq(decode_writes(&fake, 1, false, SPEC_WIFI_HEX), 1);
        check_sleep_spacing(&fake, bit_ns);
        fake_done(&fake);

        /* never on disk: dark to the end of the timeout, nothing lit, not_durable */
        run_gated(&w, &fake, 0, 0, 8, &g);
        ck_assert(g.res.not_durable);
        ck_assert(!g.res.clean);
        ck_assert(!g.res.cancelled);
        ck_assert_uint_eq(g.res.edges, 0);
        ck_assert_uint_eq(g.res.frames_sent, 0);
        ck_assert_uint_eq(fake.n_writes, 0);
        /* the last look, half a bit before the edge would be due a second late */
        ck_assert_uint_ge(fake.now, g.t0 + lead + NSEC_PER_SEC - half);
        ck_assert_uint_le(fake.now, g.t0 + lead + NSEC_PER_SEC + half);
        check_sleep_spacing(&fake, bit_ns);
        fake_done(&fake);

        /* cancelled while waiting at the gate (the fsync failed): within half a bit, nothing lit */
        run_gated(&w, &fake, 0, lead + 100 * NSEC_PER_MSEC, 8, &g);
        ck_assert(g.res.cancelled);
        ck_assert(!g.res.not_durable);
        ck_assert_uint_eq(fake.n_writes, 0);
        ck_assert_uint_le(fake.now - (g.t0 + lead + 100 * NSEC_PER_MSEC), half + 20000);
        fake_done(&fake);

        /* the look half a bit before the first light edge wakes 3 bits late and finds the gate
         * open. Real timing: the edge goes out at once, late, and is a timing fault. Ideal timing
         * (the edge recorded at its deadline): the frame moves by half bits until the edge is due
         * after the gate was seen open, so the trace never shows light before the record was on
         * disk, and nothing is late */
        uint64_t look = lead - half;
        for (int ideal = 0; ideal <= 1; ideal++) {
                run_gated_ideal(&w, &fake, look, 0, 8, ideal, 3 * bit_ns, &g);
                uint64_t seen = g.t0 + look + 3 * bit_ns; /* at least: plus the wake-up's jitter */
                ck_assert_int_eq(fake.writes[0].level, 0);
                ck_assert_uint_ge(fake.writes[0].t, seen);
                if (!ideal) {
                        ck_assert_uint_eq(g.res.gate_wait_ns, 0);
                        ck_assert_uint_eq(fake.writes[0].due, g.t0 + lead);
                        ck_assert_uint_eq(g.res.timing_faults, 1);
                } else {
                        ck_assert(g.res.clean);
                        ck_assert_uint_eq(g.res.timing_faults, 0);
                        ck_assert_uint_eq(g.res.gate_wait_ns % half, 0);
                        ck_assert_uint_gt(fake.writes[0].due, seen);
                        ck_assert_uint_le(fake.writes[0].due, seen + 20000 + half);
                        for (size_t i = 0; i < w.n_edges; i++)
                                ck_assert_uint_eq(fake.writes[i].due,
                                                  g.t0 + g.res.gate_wait_ns + w.edges[i].offset_ns);
                        ck_assert_uint_eq(decode_writes(&fake, 1, false, SPEC_WIFI_HEX), 1);
                }
                fake_done(&fake);
        }

        /* the gate reaches the ticket across the wrap of 32 bits */
        run_gated(&w, &fake, 10 * NSEC_PER_MSEC, 0, 2, &g); /* gate 7 -> 2: "2" is 2^32 - 5 ahead */
        ck_assert(g.res.clean);
        fake_done(&fake);
        ck_assert(fsync_ticket_reached(5, 5));
        ck_assert(!fsync_ticket_reached(4, 5));
        ck_assert(fsync_ticket_reached(1, UINT32_MAX));
        ck_assert(!fsync_ticket_reached(UINT32_MAX, 1));
        waveform_done(&w);
}
END_TEST

static Suite *transmitter_suite(void) {
        Suite *s = suite_create("transmitter");
        TCase *tc = tcase_create("play");

        tcase_add_test(tc, test_no_drift);
        tcase_add_test(tc, test_eintr_same_deadline);
        tcase_add_test(tc, test_lateness_stats);
        tcase_add_test(tc, test_timing_fault_resend);
        tcase_add_test(tc, test_timing_fault_threshold);
        tcase_add_test(tc, test_ideal_timing);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_errors_end_dark);
        tcase_add_loop_test(tc, test_gate, 0, 2);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);

        tc = tcase_create("thread");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_thread_sim_active_low);
        tcase_add_test(tc, test_thread_sim_active_high);
        tcase_add_test(tc, test_thread_cancel);
        tcase_add_test(tc, test_thread_bad_use);
        tcase_set_timeout(tc, 300);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(transmitter_suite)
