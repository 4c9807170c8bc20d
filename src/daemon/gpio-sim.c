/* SPDX-License-Identifier: MIT */
/* The simulated chip (Chip=sim): an output that records its level changes into a VCD trace, and
 * a button pressed through a FIFO. See gpio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpio-internal.h"
#include "rt.h"
#include "vcd.h"

/* level changes kept without a gpio_line_reserve() call: a few frames' worth */
#define SIM_CHANGES_DEFAULT 4096u

typedef struct SimChange {
        uint64_t t_ns;
        uint8_t level;
} SimChange;

typedef struct SimOutput {
        GpioLine line;
        int level; /* the simulated line */
        int recorded_level; /* the last level in the buffer or the trace */
        uint64_t recorded_t; /* and its time: a trace's times never go back */
        FILE *trace;
        SimChange *changes;
        size_t n_changes, n_alloc;
        uint64_t lost;
} SimOutput;

typedef struct SimInput {
        GpioLine line;
        int fd;
        bool pressed;
        char *created_path; /* the FIFO, if we made it */
} SimInput;

static int sim_output_set_at(GpioLine *l, int level, uint64_t t) {
        SimOutput *s = (SimOutput *) l;

        level = !!level;
        s->level = level; /* the write */
        if (s->trace && level != s->recorded_level) {
                t = MAX(t, s->recorded_t);
                if (_likely_(s->n_changes < s->n_alloc))
                        s->changes[s->n_changes++] = (SimChange) { t, (uint8_t) level };
                else
                        s->lost++;
                s->recorded_level = level;
                s->recorded_t = t;
        }
        return 0;
}

static int sim_output_set(GpioLine *l, int level) {
        SimOutput *s = (SimOutput *) l;

        /* a change is recorded at the time of the write; the clock is read only for one */
        return sim_output_set_at(l, level, s->trace && !!level != s->recorded_level ? rt_now_ns() : 0);
}

static int sim_output_get(GpioLine *l) {
        return ((SimOutput *) l)->level;
}

static int sim_output_reserve(GpioLine *l, size_t n) {
        SimOutput *s = (SimOutput *) l;
        SimChange *c;
        size_t want;

        if (!s->trace)
                return 0;
        if (n > SIZE_MAX / sizeof(SimChange) - s->n_changes)
                return -ENOMEM;
        want = s->n_changes + n;
        if (want <= s->n_alloc)
                return 0;

        c = realloc(s->changes, want * sizeof(SimChange));
        if (!c)
                return -ENOMEM;
        /* touch it now, so that the loop does not fault on it */
        memset(c + s->n_alloc, 0, (want - s->n_alloc) * sizeof(SimChange));
        s->changes = c;
        s->n_alloc = want;
        return 0;
}

static int sim_output_flush(GpioLine *l) {
        SimOutput *s = (SimOutput *) l;
        int r = 0;

        if (!s->trace)
                return 0;
        for (size_t i = 0; i < s->n_changes; i++)
                if (vcd_write_change(s->trace, s->changes[i].t_ns, s->changes[i].level) < 0)
                        r = -EIO;
        s->n_changes = 0;
        if (s->lost > 0) {
                fprintf(s->trace, "$comment %llu level changes lost: more writes than reserved $end\n",
                        (unsigned long long) s->lost);
                s->lost = 0;
                if (r == 0)
                        r = -ENOBUFS;
        }
        if (fflush(s->trace) != 0 || ferror(s->trace))
                r = -EIO;
        return r;
}

static void sim_output_free(GpioLine *l) {
        SimOutput *s = (SimOutput *) l;

        if (s->trace) {
                (void) vcd_write_end(s->trace, rt_now_ns());
                (void) fclose(s->trace);
        }
        free(s->changes);
        free(s);
}

static const GpioBackend sim_output_backend = {
        .name = "sim",
        .set = sim_output_set,
        .set_at = sim_output_set_at,
        .get = sim_output_get,
        .reserve = sim_output_reserve,
        .flush = sim_output_flush,
        .free = sim_output_free,
};

int gpio_sim_output_open(const char *line, bool active_high, const char *trace_path, GpioLine **ret,
                         char **ret_error) {
        SimOutput *s;
        _cleanup_(gpio_line_freep) GpioLine *l = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return gpio_error(ret_error, -ENOMEM, CONFIG_SIM_CHIP, line, "out of memory");
        r = gpio_line_init(&s->line, &sim_output_backend, CONFIG_SIM_CHIP, line, true, NULL);
        if (r < 0) {
                free(s);
                return gpio_error(ret_error, r, CONFIG_SIM_CHIP, line, "out of memory");
        }
        l = &s->line; /* from here on released by gpio_line_free() */
        s->line.active_high = active_high;
        s->level = s->recorded_level = active_high ? 0 : 1; /* dark from the start */

        if (trace_path && *trace_path) {
                char comment[160];

                s->trace = fopen(trace_path, "we");
                if (!s->trace) {
                        r = -errno;
                        return gpio_error(ret_error, r, CONFIG_SIM_CHIP, line,
                                          "cannot create trace file %s: %s", trace_path, strerror(-r));
                }
                snprintf(comment, sizeof(comment),
                         "simulated line %s, active-%s, times are CLOCK_MONOTONIC ns after each write", line,
                         active_high ? "high" : "low");
                r = vcd_write_header(s->trace, comment, (uint8_t) s->level);
                if (r >= 0)
                        r = sim_output_reserve(&s->line, SIM_CHANGES_DEFAULT);
                if (r >= 0 && fflush(s->trace) != 0)
                        r = -errno;
                if (r < 0) {
                        return gpio_error(ret_error, r, CONFIG_SIM_CHIP, line,
                                          "cannot write trace file %s: %s", trace_path, strerror(-r));
                }
        }

        *ret = TAKE_PTR(l);
        return 0;
}

static int sim_input_get(GpioLine *l) {
        SimInput *s = (SimInput *) l;

        return l->active_low ? !s->pressed : s->pressed;
}

static int sim_input_get_fd(GpioLine *l) {
        return ((SimInput *) l)->fd;
}

static int sim_input_read_event(GpioLine *l, bool *ret_high, uint64_t *ret_timestamp_ns) {
        SimInput *s = (SimInput *) l;

        for (;;) {
                char c;
                ssize_t n;

                n = read(s->fd, &c, 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno; /* -EAGAIN when nothing is pending */
                }
                if (n == 0)
                        return -EAGAIN;
                if (c != '0' && c != '1')
                        continue;

                s->pressed = c == '1';
                *ret_high = l->active_low ? !s->pressed : s->pressed;
                *ret_timestamp_ns = rt_now_ns();
                return 0;
        }
}

static int sim_input_set(GpioLine *l, int level) {
        return -EPERM; /* an input */
}

static void sim_input_free(GpioLine *l) {
        SimInput *s = (SimInput *) l;

        safe_close(s->fd);
        if (s->created_path) {
                (void) unlink(s->created_path);
                free(s->created_path);
        }
        free(s);
}

static const GpioBackend sim_input_backend = {
        .name = "sim",
        .set = sim_input_set,
        .get = sim_input_get,
        .get_fd = sim_input_get_fd,
        .read_event = sim_input_read_event,
        .free = sim_input_free,
};

int gpio_sim_input_open(const char *line, bool active_low, const char *fifo_path, GpioLine **ret,
                        char **ret_error) {
        SimInput *s;
        struct stat st;
        _cleanup_(gpio_line_freep) GpioLine *l = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return gpio_error(ret_error, -ENOMEM, CONFIG_SIM_CHIP, line, "out of memory");
        s->fd = -1;
        r = gpio_line_init(&s->line, &sim_input_backend, CONFIG_SIM_CHIP, line, false, NULL);
        if (r < 0) {
                free(s);
                return gpio_error(ret_error, r, CONFIG_SIM_CHIP, line, "out of memory");
        }
        l = &s->line; /* from here on released by gpio_line_free() */
        s->line.active_low = active_low;

        if (mkfifo(fifo_path, 0600) >= 0) {
                s->created_path = strdup(fifo_path);
                if (!s->created_path) {
                        (void) unlink(fifo_path);
                        return gpio_error(ret_error, -ENOMEM, CONFIG_SIM_CHIP, line, "out of memory");
                }
        } else if (errno != EEXIST) {
                r = -errno;
                return gpio_error(ret_error, r, CONFIG_SIM_CHIP, line, "cannot create the button FIFO %s: %s",
                                  fifo_path, strerror(-r));
        }

        s->fd = open(fifo_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (s->fd < 0) {
                r = -errno;
                return gpio_error(ret_error, r, CONFIG_SIM_CHIP, line, "cannot open the button FIFO %s: %s",
                                  fifo_path, strerror(-r));
        }
        if (fstat(s->fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
                return gpio_error(ret_error, -EEXIST, CONFIG_SIM_CHIP, line, "%s exists and is not a FIFO",
                                  fifo_path);
        }

        *ret = TAKE_PTR(l);
        return 0;
}
