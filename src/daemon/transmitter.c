/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "fsync-worker.h"
#include "log.h"
#include "rt.h"
#include "transmitter.h"

typedef enum TransmitterState {
        TRANSMITTER_IDLE,
        TRANSMITTER_RUNNING,
        TRANSMITTER_DONE, /* finished, result not collected yet */
} TransmitterState;

struct Transmitter {
        GpioLine *led;
        TransmitterConfig config;
        uint8_t dark;

        pthread_t thread;
        bool thread_started;
        bool realtime;

        int job_fd; /* main -> thread: a job is ready, or quit */
        int done_fd; /* thread -> main: the job finished */
        atomic_bool cancel;
        atomic_bool quit;
        atomic_int state;

        /* the job, owned by the thread between start and done */
        Waveform job;
        WaveformEdge *edges;
        size_t n_edges_alloc;
        uint64_t *lateness;
        size_t n_lateness_alloc, n_lateness;
        const atomic_uint *gate;
        uint32_t gate_ticket;
        uint64_t gate_timeout_ns;
        TransmitResult result;
};

/* ---- the play loop ---- */

typedef enum PassEnd {
        PASS_DONE,
        PASS_FAULT,
        PASS_CANCELLED,
        PASS_ERROR,
        PASS_NOT_DURABLE, /* the record's gate stayed shut */
} PassEnd;

static inline bool is_cancelled(const atomic_bool *cancel) {
        return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}

static inline int sleep_until(const TransmitterOps *ops, uint64_t t) {
        int r;

        do
                r = ops->sleep_until(ops->userdata, t);
        while (r == -EINTR); /* same deadline again */
        return r;
}

/* Sleeps until deadline. On the way it wakes every check_ns (half a bit) to look at the cancel
 * flag, so that a cancel is seen within half a bit; the last of these wake-ups is at least
 * check_ns / 2 before the deadline, so that it cannot delay the edge. *cursor is the last
 * deadline slept to. Returns 0, -ECANCELED or the sleep's error. */
static inline int wait_until(const TransmitterOps *ops, const atomic_bool *cancel, uint64_t *cursor,
                             uint64_t deadline, uint64_t check_ns) {
        int r;

        while (deadline > *cursor + check_ns) {
                *cursor += MIN(check_ns, deadline - *cursor - check_ns / 2);
                r = sleep_until(ops, *cursor);
                if (_unlikely_(r < 0))
                        return r;
                if (_unlikely_(is_cancelled(cancel)))
                        return -ECANCELED;
        }
        *cursor = MAX(*cursor, deadline);
        r = sleep_until(ops, deadline);
        if (_unlikely_(r < 0))
                return r;
        if (_unlikely_(is_cancelled(cancel)))
                return -ECANCELED;
        return 0;
}

typedef struct Pass {
        uint64_t t0;
        uint64_t cursor;
        size_t written; /* edges written in this pass */
        int error;
        bool gate_passed;
        uint64_t gate_wait_ns;
} Pass;

/* Before the first light edge, due at *deadline: half a bit before it, one look at the gate;
 * while the ticket is not on disk, the pass (t0 and the deadline) moves half a bit later and
 * the gate is looked at again, until the gate's timeout. 0, -ETIMEDOUT, -ECANCELED or the
 * sleep's error. */
static int wait_gate(const TransmitterOps *ops, const TransmitterPlay *p, uint64_t check_ns, Pass *pass,
                     uint64_t *deadline) {
        uint64_t give_up = *deadline + p->gate_timeout_ns;

        for (;;) {
                uint64_t look = *deadline - check_ns / 2;
                int r;

                if (look > pass->cursor) {
                        r = wait_until(ops, p->cancel, &pass->cursor, look, check_ns);
                        if (r < 0)
                                return r;
                }
                if (fsync_ticket_reached(atomic_load_explicit(p->gate, memory_order_acquire), p->gate_ticket)) {
                        pass->gate_passed = true;
                        /* ideal timing records the edge at its deadline: a machine that is never
                         * late would have looked before it, and seen the gate shut. The look came
                         * late, so the edge moves by half bits past the moment the gate was seen
                         * open: the trace never shows light before the record was on disk. */
                        if (p->ideal_timing) {
                                uint64_t seen = ops->now(ops->userdata);

                                while (*deadline <= seen) {
                                        pass->t0 += check_ns;
                                        *deadline += check_ns;
                                        pass->gate_wait_ns += check_ns;
                                }
                        }
                        return 0;
                }
                if (*deadline >= give_up)
                        return -ETIMEDOUT;
                pass->t0 += check_ns;
                *deadline += check_ns;
                pass->gate_wait_ns += check_ns;
        }
}

/* One pass over the waveform from pass->t0: the hot loop. */
static PassEnd play_pass(const TransmitterOps *ops, const TransmitterPlay *p, uint64_t check_ns,
                         uint64_t max_lateness_ns, uint64_t *lateness, Pass *pass) {
        const Waveform *w = p->waveform;
        const WaveformEdge *e = w->edges;
        uint8_t level = p->dark_level;
        PassEnd end = PASS_DONE;
        int r;

        for (size_t i = 0; i < w->n_edges; i++) {
                uint64_t deadline = pass->t0 + e[i].offset_ns, after, late;

                if (_unlikely_(p->gate && !pass->gate_passed && e[i].level != p->dark_level)) {
                        r = wait_gate(ops, p, check_ns, pass, &deadline);
                        if (_unlikely_(r < 0)) {
                                end = r == -ETIMEDOUT ? PASS_NOT_DURABLE : r == -ECANCELED ? PASS_CANCELLED : PASS_ERROR;
                                pass->error = end == PASS_ERROR ? r : 0;
                                goto stop;
                        }
                }
                r = wait_until(ops, p->cancel, &pass->cursor, deadline, check_ns);
                if (_unlikely_(r < 0)) {
                        end = r == -ECANCELED ? PASS_CANCELLED : PASS_ERROR;
                        pass->error = r;
                        goto stop;
                }

                r = ops->set_level(ops->userdata, e[i].level, deadline);
                after = ops->now(ops->userdata);
                if (_unlikely_(r < 0)) {
                        end = PASS_ERROR;
                        pass->error = r;
                        goto stop;
                }
                level = e[i].level;

                late = after > deadline ? after - deadline : 0;
                lateness[pass->written++] = late;
                if (_unlikely_(late > max_lateness_ns) && !p->ideal_timing) {
                        end = PASS_FAULT;
                        goto stop;
                }
        }

        /* the dark tail, so that a following job keeps its distance */
        r = wait_until(ops, p->cancel, &pass->cursor, pass->t0 + w->duration_ns, check_ns);
        if (r < 0) {
                end = r == -ECANCELED ? PASS_CANCELLED : PASS_ERROR;
                pass->error = r;
        }

stop:
        if (level != p->dark_level || end == PASS_ERROR)
                (void) ops->set_level(ops->userdata, p->dark_level, 0);
        return end;
}

/* The frame (0-based) an edge belongs to, from its bit slot. */
static unsigned frame_of_edge(const Waveform *w, const WaveformEdge *e) {
        uint64_t k = (e->offset_ns * w->rate + NSEC_PER_SEC / 2) / NSEC_PER_SEC, f;

        if (k < w->lead_in_bits || w->frame_bits + w->gap_bits == 0)
                return 0;
        f = (k - w->lead_in_bits) / (w->frame_bits + w->gap_bits);
        return (unsigned) MIN(f, (uint64_t) (w->repeat > 0 ? w->repeat - 1 : 0));
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

void transmitter_lateness_stats(uint64_t *v, size_t n, TransmitResult *ret) {
        uint64_t sum = 0;

        ret->max_lateness_ns = ret->p99_lateness_ns = ret->p50_lateness_ns = ret->mean_lateness_ns = 0;
        if (n == 0)
                return;

        qsort(v, n, sizeof(*v), cmp_u64);
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        /* nearest rank: the smallest value with at least p % of the values at or below it */
        ret->p50_lateness_ns = v[(n + 1) / 2 - 1];
        ret->p99_lateness_ns = v[(99 * n + 99) / 100 - 1];
        ret->max_lateness_ns = v[n - 1];
        ret->mean_lateness_ns = (sum + n / 2) / n;
}

int transmitter_play(const TransmitterOps *ops, const TransmitterPlay *p, TransmitResult *ret) {
        const Waveform *w = p->waveform;
        uint64_t bit_ns, max_lateness_ns, tail_ns;
        size_t n_lateness = 0;
        Pass pass;

        *ret = (TransmitResult) {};
        if (!w || w->rate == 0 || (w->n_edges > 0 && !w->edges) || w->bits < w->tail_bits)
                return (ret->error = -EINVAL);

        bit_ns = transmitter_bit_ns(w->rate);
        max_lateness_ns = p->max_lateness_ns > 0 ? p->max_lateness_ns : bit_ns / 10;
        tail_ns = waveform_bit_offset_ns(w->bits, w->rate) -
                  waveform_bit_offset_ns(w->bits - w->tail_bits, w->rate);

        pass = (Pass) { .t0 = ops->now(ops->userdata) };
        pass.cursor = pass.t0;
        for (unsigned n_pass = 0;; n_pass++) {
                PassEnd end;

                end = play_pass(ops, p, bit_ns / 2, max_lateness_ns, p->lateness + n_lateness, &pass);
                if (pass.written > 0) {
                        unsigned frames = frame_of_edge(w, &w->edges[pass.written - 1]) + 1;

                        ret->frames_sent += frames;
                        if (n_pass > 0)
                                ret->frames_resent += frames;
                }
                n_lateness += pass.written;

                if (n_pass == 0)
                        ret->gate_wait_ns = pass.gate_wait_ns;
                if (end == PASS_DONE)
                        ret->clean = true;
                else if (end == PASS_NOT_DURABLE)
                        ret->not_durable = true;
                else if (end == PASS_CANCELLED)
                        ret->cancelled = true;
                else if (end == PASS_ERROR)
                        ret->error = pass.error;
                else {
                        uint64_t t_dark = ops->now(ops->userdata), cursor = t_dark;
                        int r;

                        ret->timing_faults++;
                        /* dark for the tail, as after any frame; then the lead-in of the resend */
                        r = wait_until(ops, p->cancel, &cursor, t_dark + tail_ns, bit_ns / 2);
                        if (r == -ECANCELED)
                                ret->cancelled = true;
                        else if (r < 0)
                                ret->error = r;
                        else if (n_pass < p->retries) {
                                /* the gate was passed: a fault needs a lit edge */
                                pass = (Pass) { .t0 = t_dark + tail_ns, .cursor = t_dark + tail_ns,
                                                .gate_passed = true };
                                continue;
                        }
                }
                break;
        }

        ret->edges = n_lateness;
        transmitter_lateness_stats(p->lateness, n_lateness, ret);
        return ret->error;
}

static uint64_t real_now(void *userdata) {
        return rt_now_ns();
}

static int real_sleep_until(void *userdata, uint64_t t_ns) {
        return rt_sleep_until(t_ns);
}

static int real_set_level(void *userdata, int level, uint64_t due_ns) {
        return gpio_line_set(userdata, level);
}

static int ideal_set_level(void *userdata, int level, uint64_t due_ns) {
        return due_ns > 0 ? gpio_line_set_at(userdata, level, due_ns) : gpio_line_set(userdata, level);
}

const TransmitterOps transmitter_ops_real = {
        .now = real_now,
        .sleep_until = real_sleep_until,
        .set_level = real_set_level,
};

const TransmitterOps transmitter_ops_ideal = {
        .now = real_now,
        .sleep_until = real_sleep_until,
        .set_level = ideal_set_level,
};

/* ---- the thread ---- */

static void *transmitter_thread(void *userdata) {
        Transmitter *t = userdata;
        TransmitterOps ops = t->config.ideal_timing ? transmitter_ops_ideal : transmitter_ops_real;

        ops.userdata = t->led;
        rt_thread_begin();

        for (;;) {
                TransmitResult res;
                eventfd_t v;
                int r;

                if (eventfd_read(t->job_fd, &v) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (atomic_load(&t->quit))
                        break;

                (void) transmitter_play(&ops,
                                        &(TransmitterPlay) {
                                                .waveform = &t->job,
                                                .dark_level = t->dark,
                                                .max_lateness_ns = t->config.max_lateness_ns,
                                                .retries = t->config.timing_fault_retries,
                                                .cancel = &t->cancel,
                                                .lateness = t->lateness,
                                                .gate = t->gate,
                                                .gate_ticket = t->gate_ticket,
                                                .gate_timeout_ns = t->gate_timeout_ns,
                                                .ideal_timing = t->config.ideal_timing,
                                        },
                                        &res);
                res.realtime = t->realtime;

                /* after the frame: the simulated line's trace goes to its file */
                r = gpio_line_flush(t->led);
                if (r < 0)
                        log_warning_errno(r, "Could not write the trace of %s: %m",
                                          gpio_line_describe(t->led));

                t->n_lateness = res.edges;
                t->result = res;
                atomic_store(&t->state, TRANSMITTER_DONE);
                (void) eventfd_write(t->done_fd, 1);
        }

        (void) gpio_line_set(t->led, t->dark);
        return NULL;
}

int transmitter_new(GpioLine *led, const TransmitterConfig *c, Transmitter **ret) {
        _cleanup_(transmitter_freep) Transmitter *t = NULL;
        int r, dark;

        if (!led || !c || !ret)
                return -EINVAL;
        dark = gpio_line_dark_level(led);
        if (dark < 0)
                return dark;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->led = led;
        t->config = *c;
        t->dark = (uint8_t) dark;
        t->job_fd = t->done_fd = -1;
        atomic_init(&t->cancel, false);
        atomic_init(&t->quit, false);
        atomic_init(&t->state, TRANSMITTER_IDLE);

        t->job_fd = eventfd(0, EFD_CLOEXEC);
        if (t->job_fd < 0)
                return -errno;
        t->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (t->done_fd < 0)
                return -errno;

        r = rt_thread_create(&t->thread, c->priority, c->cpu, transmitter_thread, t, &t->realtime);
        if (r < 0)
                return r;
        t->thread_started = true;

        log_debug("Transmitter thread for %s started (%s).", gpio_line_describe(led),
                  t->realtime ? "SCHED_FIFO" : "normal scheduling");
        *ret = TAKE_PTR(t);
        return 0;
}

int transmitter_get_fd(Transmitter *t) {
        return t ? t->done_fd : -EINVAL;
}

int transmitter_start(Transmitter *t, const Waveform *w) {
        return transmitter_start_gated(t, w, NULL, 0, 0);
}

int transmitter_start_gated(Transmitter *t, const Waveform *w, const atomic_uint *gate, uint32_t ticket,
                            uint64_t gate_timeout_ns) {
        size_t n_lateness;
        int r;

        if (!t || !w || (w->n_edges > 0 && !w->edges) || w->rate == 0)
                return -EINVAL;
        if (atomic_load(&t->state) != TRANSMITTER_IDLE)
                return -EBUSY;
        if (w->idle_level != t->dark)
                return -EINVAL; /* the waveform's polarity is not the line's */
        if (w->n_edges > SIZE_MAX / sizeof(WaveformEdge) / 2 ||
            (size_t) t->config.timing_fault_retries + 1 > SIZE_MAX / sizeof(uint64_t) / MAX(w->n_edges, 1u))
                return -ENOMEM;

        if (w->n_edges > t->n_edges_alloc) {
                WaveformEdge *e = realloc(t->edges, w->n_edges * sizeof(WaveformEdge));
                if (!e)
                        return -ENOMEM;
                t->edges = e;
                t->n_edges_alloc = w->n_edges;
        }
        n_lateness = ((size_t) t->config.timing_fault_retries + 1) * w->n_edges;
        if (n_lateness > t->n_lateness_alloc) {
                uint64_t *l = realloc(t->lateness, n_lateness * sizeof(uint64_t));
                if (!l)
                        return -ENOMEM;
                t->lateness = l;
                t->n_lateness_alloc = n_lateness;
        }
        /* touched before the loop runs */
        memset(t->lateness, 0, n_lateness * sizeof(uint64_t));
        r = gpio_line_reserve(t->led, n_lateness + 2 * ((size_t) t->config.timing_fault_retries + 1));
        if (r < 0)
                return r;

        if (w->n_edges > 0)
                memcpy(t->edges, w->edges, w->n_edges * sizeof(WaveformEdge));
        t->job = *w;
        t->job.edges = t->edges;
        t->n_lateness = 0;
        t->gate = gate;
        t->gate_ticket = ticket;
        t->gate_timeout_ns = gate_timeout_ns;

        atomic_store(&t->cancel, false);
        atomic_store(&t->state, TRANSMITTER_RUNNING);
        if (eventfd_write(t->job_fd, 1) < 0) {
                r = -errno;
                atomic_store(&t->state, TRANSMITTER_IDLE);
                return r;
        }
        return 0;
}

void transmitter_cancel(Transmitter *t) {
        if (t)
                atomic_store(&t->cancel, true);
}

bool transmitter_busy(Transmitter *t) {
        return t && atomic_load(&t->state) != TRANSMITTER_IDLE;
}

bool transmitter_is_realtime(Transmitter *t) {
        return t && t->realtime;
}

int transmitter_get_result(Transmitter *t, TransmitResult *ret) {
        eventfd_t v;

        if (!t || !ret)
                return -EINVAL;
        if (atomic_load(&t->state) != TRANSMITTER_DONE)
                return -EAGAIN;
        (void) eventfd_read(t->done_fd, &v);
        *ret = t->result;
        atomic_store(&t->state, TRANSMITTER_IDLE);
        return 0;
}

size_t transmitter_get_lateness(Transmitter *t, const uint64_t **ret) {
        if (!t || atomic_load(&t->state) != TRANSMITTER_IDLE) {
                *ret = NULL;
                return 0;
        }
        *ret = t->lateness;
        return t->n_lateness;
}

Transmitter *transmitter_free(Transmitter *t) {
        if (!t)
                return NULL;

        if (t->thread_started) {
                atomic_store(&t->cancel, true);
                atomic_store(&t->quit, true);
                (void) eventfd_write(t->job_fd, 1);
                (void) pthread_join(t->thread, NULL);
        }
        if (t->led) {
                (void) gpio_line_set(t->led, t->dark);
                (void) gpio_line_flush(t->led);
        }
        safe_close(t->job_fd);
        safe_close(t->done_fd);
        free(t->edges);
        free(t->lateness);
        free(t);
        return NULL;
}
