/* SPDX-License-Identifier: MIT */
#pragma once

/* The real-time transmitter: a persistent thread that plays a waveform's transition list on the
 * LED line, every edge on its absolute deadline t0 + offset (CLOCK_MONOTONIC), and reports back
 * through an eventfd.
 *
 * The play loop: for each transition, clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to its
 * deadline (EINTR retried with the same deadline), one gpio_line_set(), one clock read; the
 * lateness (time after the write minus the deadline) of every edge is stored in a buffer
 * allocated before the loop. No allocation, lock, logging or other system call in the loop.
 * Where the next edge is more than half a bit away, the loop also wakes every half bit on the way
 * (the last such wake-up at least a quarter bit before the edge) to look at the cancel flag, so
 * that a cancel darkens the LED within half a bit plus the wake-up latency: within one bit.
 *
 * Timing faults: an edge later than max_lateness_ns (default 10 % of a bit period) makes the
 * frame corrupt, since the receiver could sample it wrong. The transmitter then aborts the
 * pass at once (the LED goes dark right after the late edge; finishing a frame known to be
 * corrupt would only delay the resend), keeps the LED dark for the waveform's tail (>= 1 s,
 * as after any frame), and, up to timing_fault_retries times, plays the whole waveform again
 * from a new t0 (so its lead-in follows: >= 1.25 s of darkness between the aborted and the
 * resent frame). The result counts the frames sent (begun, aborted ones included) and the
 * faults (and the frames of the passes after the first: resent), and "clean" says whether the last pass ran to its end without a fault.
 *
 * Ideal timing ([Simulation] IdealTiming=, a simulated LED only): each edge is written with its
 * deadline, which the simulated line records in its trace, and a late edge is no fault: the
 * trace is the waveform a machine that is never late would make, for tests on machines that
 * cannot keep deadlines. The lateness is stored and reported as always.
 *
 * The record's gate: a job may come with a ticket of fsync-worker.h and the gate it is compared
 * with. The loop plays the dark lead-in at once; half a bit before the first edge that lights
 * the LED it looks at the gate (one atomic load): when the ticket is not on disk yet, the LED
 * stays dark and the whole waveform moves half a bit later (its bits keep their length: the
 * receiver sees a longer lead-in), again and again, until the ticket is on disk or the gate's
 * timeout has passed since the edge was first due; then the job ends dark with not_durable
 * set, nothing lit. No token reaches the LED before its record line is on disk.
 *
 * Exit paths: after a finished, aborted, cancelled or failed pass the line is driven dark;
 * transmitter_free() cancels, joins and drives it dark once more; gpio_line_free() does too.
 * The thread runs with every signal blocked: on SIGTERM the main loop (signalfd) frees the
 * transmitter, and the LED is dark within half a bit. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpio.h"
#include "macro.h"
#include "waveform.h"

typedef struct Transmitter Transmitter;

typedef struct TransmitterConfig {
        int priority; /* SCHED_FIFO priority, 1..99; 0 = normal scheduling */
        int cpu; /* CPU to pin the thread to, -1 = no pinning */
        uint64_t max_lateness_ns; /* 0 = 10 % of a bit period */
        unsigned timing_fault_retries; /* passes after the first one, after timing faults */
        /* [Simulation] IdealTiming= (a simulated LED only): every edge is written with
         * gpio_line_set_at() and its deadline, so the trace shows the waveform a real-time machine
         * would make, and a late edge is no timing fault; lateness is measured all the same */
        bool ideal_timing;
} TransmitterConfig;

typedef struct TransmitResult {
        uint64_t edges; /* transitions written on their deadlines, all passes */
        uint64_t max_lateness_ns, p99_lateness_ns, mean_lateness_ns, p50_lateness_ns;
        unsigned frames_sent; /* frames begun, aborted ones included */
        unsigned frames_resent; /* of those, the frames begun by passes after a timing fault */
        unsigned timing_faults; /* passes aborted because of a late edge */
        bool clean; /* the last pass ran to its end without a fault */
        bool not_durable; /* the gate stayed shut: nothing was lit */
        uint64_t gate_wait_ns; /* how much later than planned the first light edge was due: the gate */
        bool cancelled;
        bool realtime; /* the thread ran with SCHED_FIFO */
        int error; /* 0, or -errno of a failed line write or sleep */
} TransmitResult;

/* Starts the persistent thread (it waits for jobs). Call after rt_prepare(). led is borrowed: it
 * must outlive the transmitter, which is the only user of it meanwhile. */
int transmitter_new(GpioLine *led, const TransmitterConfig *c, Transmitter **ret);

/* An eventfd, readable when a job has finished; for sd_event_add_io(). */
int transmitter_get_fd(Transmitter *t);

/* Starts playing w. The transition list is copied: w may be freed once this returns. The
 * waveform's idle level must be the line's dark level (-EINVAL otherwise). -EBUSY while a job
 * runs or its result has not been collected yet; -ENOMEM. */
int transmitter_start(Transmitter *t, const Waveform *w);

/* The same, with the LED lit only once fsync_ticket_reached(*gate, ticket) (see above); gate
 * must stay valid until the result is collected. */
int transmitter_start_gated(Transmitter *t, const Waveform *w, const atomic_uint *gate, uint32_t ticket,
                            uint64_t gate_timeout_ns);

/* Asks the running job to stop: the LED is dark within one bit period. Harmless when idle. */
void transmitter_cancel(Transmitter *t);

/* True from transmitter_start() until the result was collected. */
bool transmitter_busy(Transmitter *t);

/* Whether the thread runs with SCHED_FIFO (real-time scheduling may have been refused). */
bool transmitter_is_realtime(Transmitter *t);

/* Collects the result of the finished job and consumes the eventfd; the transmitter is idle
 * again. -EAGAIN when no job has finished (none started, or still running). */
int transmitter_get_result(Transmitter *t, TransmitResult *ret);

/* The lateness of every edge of the last collected job, sorted in ascending order (for the
 * benchmark). Valid until the next transmitter_start(). Returns the number of entries. */
size_t transmitter_get_lateness(Transmitter *t, const uint64_t **ret);

/* Cancels, joins the thread, drives the line dark. Accepts NULL, returns NULL. */
Transmitter *transmitter_free(Transmitter *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Transmitter *, transmitter_free);

/* ---- the play loop on its own, for the thread and for tests with an injected clock ---- */

typedef struct TransmitterOps {
        uint64_t (*now)(void *userdata); /* CLOCK_MONOTONIC, ns */
        int (*sleep_until)(void *userdata, uint64_t t_ns); /* 0 or -errno; -EINTR is retried */
        /* the line write, 0 or -errno; due_ns: the edge's deadline, 0 for the dark write on exit */
        int (*set_level)(void *userdata, int level, uint64_t due_ns);
        void *userdata;
} TransmitterOps;

/* The real ones: clock_gettime, clock_nanosleep and gpio_line_set(userdata). */
extern const TransmitterOps transmitter_ops_real;
/* The same, but an edge is written with gpio_line_set_at(userdata, level, due_ns): the
 * simulated line records it at its deadline (IdealTiming=). */
extern const TransmitterOps transmitter_ops_ideal;

typedef struct TransmitterPlay {
        const Waveform *waveform;
        uint8_t dark_level; /* level the line is driven to on every exit */
        uint64_t max_lateness_ns; /* 0 = 10 % of a bit period */
        unsigned retries; /* passes after timing faults */
        const atomic_bool *cancel;
        uint64_t *lateness; /* room for (retries + 1) * waveform->n_edges values */
        const atomic_uint *gate; /* NULL: no gate */
        uint32_t gate_ticket;
        uint64_t gate_timeout_ns;
        bool ideal_timing; /* a late edge is no fault (its lateness is still stored) */
} TransmitterPlay;

/* Plays the waveform from t0 = now(), with retries after timing faults as described above, and
 * fills in *ret (all but ->realtime), statistics included. p->lateness ends up holding the
 * ret->edges lateness values, sorted. Returns ret->error. */
int transmitter_play(const TransmitterOps *ops, const TransmitterPlay *p, TransmitResult *ret);

/* max, nearest-rank p99 and p50, mean rounded to the nearest ns, over n lateness values; sorts
 * v in place. All zero when n is 0. */
void transmitter_lateness_stats(uint64_t *v, size_t n, TransmitResult *ret);

/* The bit period: cancel checks every half of it, the default fault threshold a tenth. */
static inline uint64_t transmitter_bit_ns(unsigned rate) {
        return waveform_bit_offset_ns(1, rate);
}
