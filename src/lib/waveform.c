/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "waveform.h"

void waveform_params_default(WaveformParams *p, bool fast, bool active_high) {
        *p = (WaveformParams) {
                .rate = fast ? WAVEFORM_RATE_FAST : WAVEFORM_RATE_NORMAL,
                .active_high = active_high,
                .lead_in_ns = WAVEFORM_LEAD_IN_MIN_NS,
                .tail_ns = WAVEFORM_TAIL_MIN_NS,
                .repeat = 1,
        };
}

uint64_t waveform_bit_offset_ns(uint64_t k, unsigned rate) {
        return (k * NSEC_PER_SEC + rate / 2) / rate;
}

uint64_t waveform_bits_for_ns(uint64_t ns, unsigned rate) {
        return (ns * rate + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
}

int waveform_build(const Frame *f, const WaveformParams *p, Waveform *ret) {
        uint8_t lit, dark, level;
        uint64_t fb, k;
        size_t n = 0, max;
        WaveformEdge *e;

        if (!f || f->size == 0 || !p || !ret)
                return -EINVAL;
        if (p->rate != WAVEFORM_RATE_NORMAL && p->rate != WAVEFORM_RATE_FAST)
                return -EINVAL;
        if (p->repeat < 1 || p->repeat > WAVEFORM_REPEAT_MAX)
                return -EINVAL;
        if (p->lead_in_ns < WAVEFORM_LEAD_IN_MIN_NS || p->tail_ns < WAVEFORM_TAIL_MIN_NS)
                return -EINVAL;
        if (p->lead_in_ns > 60 * NSEC_PER_SEC || p->tail_ns > 60 * NSEC_PER_SEC)
                return -EINVAL;

        lit = p->active_high ? 1 : 0;
        dark = !lit;
        fb = frame_bits(f);

        /* At most one transition per bit, plus the return to dark after each frame. */
        max = (size_t) (fb * p->repeat + p->repeat);
        e = calloc(max, sizeof(*e));
        if (!e)
                return -ENOMEM;

        *ret = (Waveform) {
                .idle_level = dark,
                .frame_bits = fb,
                .lead_in_bits = waveform_bits_for_ns(p->lead_in_ns, p->rate),
                .tail_bits = waveform_bits_for_ns(p->tail_ns, p->rate),
                .rate = p->rate,
                .repeat = p->repeat,
        };
        ret->gap_bits = ret->lead_in_bits;

        level = dark;
        k = ret->lead_in_bits;
        for (unsigned r = 0; r < p->repeat; r++) {
                if (r > 0)
                        k += ret->gap_bits;
                for (uint64_t i = 0; i < fb; i++, k++) {
                        uint8_t want = frame_bit(f, i) ? lit : dark;
                        if (want != level) {
                                e[n++] = (WaveformEdge) { waveform_bit_offset_ns(k, p->rate), want };
                                level = want;
                        }
                }
                if (level != dark) {
                        e[n++] = (WaveformEdge) { waveform_bit_offset_ns(k, p->rate), dark };
                        level = dark;
                }
        }
        k += ret->tail_bits;

        ret->edges = e;
        ret->n_edges = n;
        ret->bits = k;
        ret->duration_ns = waveform_bit_offset_ns(k, p->rate);
        return 0;
}

void waveform_done(Waveform *w) {
        if (!w)
                return;
        free(w->edges);
        *w = (Waveform) {};
}

uint8_t waveform_level_at(const Waveform *w, uint64_t t) {
        uint8_t level = w->idle_level;

        /* binary search for the last edge at or before t */
        size_t lo = 0, hi = w->n_edges;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (w->edges[mid].offset_ns <= t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo > 0)
                level = w->edges[lo - 1].level;
        return level;
}
