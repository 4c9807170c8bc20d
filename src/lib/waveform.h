/* SPDX-License-Identifier: MIT */
#pragma once

/* Turns a frame into the list of LED line transitions. Pure code, no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define WAVEFORM_RATE_NORMAL 60u
#define WAVEFORM_RATE_FAST 142u
#define WAVEFORM_LEAD_IN_MIN_NS UINT64_C(250000000)
#define WAVEFORM_TAIL_MIN_NS UINT64_C(1000000000)
#define WAVEFORM_REPEAT_MAX 16u

typedef struct WaveformEdge {
        uint64_t offset_ns; /* from the start of the waveform (t0) */
        uint8_t level;      /* electrical line level from this moment on */
} WaveformEdge;

typedef struct WaveformParams {
        unsigned rate;       /* bits per second: 60 or 142 */
        bool active_high;    /* line high = LED lit */
        uint64_t lead_in_ns; /* dark before the first frame (and between repeats); >= 250 ms */
        uint64_t tail_ns;    /* dark after the last frame; >= 1 s */
        unsigned repeat;     /* frames in a row, 1..16 */
} WaveformParams;

typedef struct Waveform {
        WaveformEdge *edges; /* level changes only; the line starts (and ends) at idle_level */
        size_t n_edges;
        uint8_t idle_level;   /* the dark level */
        uint64_t duration_ns; /* lead-in + frames + gaps + tail */
        uint64_t bits;        /* bit slots in all, dark ones included */
        uint64_t frame_bits;  /* bits of one frame */
        uint64_t lead_in_bits, gap_bits, tail_bits;
        unsigned rate;
        unsigned repeat;
} Waveform;

void waveform_params_default(WaveformParams *p, bool fast, bool active_high);

/* Offset of bit slot k: k * 1e9 / rate, rounded to the nearest nanosecond, computed for
 * each k on its own so that nothing accumulates. */
uint64_t waveform_bit_offset_ns(uint64_t k, unsigned rate);

/* Bit slots needed to cover at least ns at this rate. */
uint64_t waveform_bits_for_ns(uint64_t ns, unsigned rate);

/* Builds the transition list. -EINVAL for bad parameters, -ENOMEM. */
int waveform_build(const Frame *f, const WaveformParams *p, Waveform *ret);
void waveform_done(Waveform *w);

/* The level the line has at time t (ns from t0). */
uint8_t waveform_level_at(const Waveform *w, uint64_t t);
