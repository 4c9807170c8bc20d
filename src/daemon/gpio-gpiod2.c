/* SPDX-License-Identifier: MIT */
/* The kernel's GPIO character device through libgpiod's v2 API (2.x, as in Debian 13 and
 * Raspberry Pi OS trixie). What depends on the API version is in this file (and gpio-gpiod1.c
 * for v1); finding the chip and the line is gpio-chips.c's.
 *
 * A v2 request lives on without its chip: the chip is closed once the line is requested. Values
 * are logical in v2; no line is requested active-low, so logical and electrical levels agree. */
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio-internal.h"

/* ---- chips, for gpio_locate() ---- */

typedef struct Chip {
        struct gpiod_chip *chip;
        struct gpiod_chip_info *info;
} Chip;

static void chip_close(void *chip) {
        Chip *c = chip;

        if (c->info)
                gpiod_chip_info_free(c->info);
        if (c->chip)
                gpiod_chip_close(c->chip);
        free(c);
}

static int chip_open(const char *path, void **ret) {
        Chip *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        errno = 0;
        c->chip = gpiod_chip_open(path);
        if (c->chip)
                c->info = gpiod_chip_get_info(c->chip);
        if (!c->info) {
                r = -(errno > 0 ? errno : ENODEV);
                chip_close(c);
                return r;
        }
        *ret = c;
        return 0;
}

static int chip_info(void *chip, GpioChipInfo *ret) {
        Chip *c = chip;

        *ret = (GpioChipInfo) {
                .name = gpiod_chip_info_get_name(c->info),
                .label = gpiod_chip_info_get_label(c->info),
                .num_lines = (unsigned) gpiod_chip_info_get_num_lines(c->info),
        };
        return 0;
}

static int chip_find_line(void *chip, const char *name) {
        int offset;

        errno = 0;
        offset = gpiod_chip_get_line_offset_from_name(((Chip *) chip)->chip, name);
        if (offset < 0)
                return errno == ENOENT || errno == 0 ? -ENOENT : -errno;
        return offset;
}

static const GpioChipOps chip_ops = {
        .is_chip = gpio_chip_is_device,
        .open = chip_open,
        .info = chip_info,
        .find_line = chip_find_line,
        .close = chip_close,
        .info_command = "gpioinfo -c",
};

/* ---- lines ---- */

typedef struct Gpiod2Line {
        GpioLine line;
        struct gpiod_line_request *request;
        struct gpiod_edge_event_buffer *events; /* inputs */
        unsigned offset;
        int level; /* outputs: last level written */
        int event_fd;
} Gpiod2Line;

int gpiod_backend_set(GpioLine *l, int level) {
        Gpiod2Line *g = (Gpiod2Line *) l;

        level = !!level;
        if (gpiod_line_request_set_value(g->request, g->offset,
                                         level ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0)
                return -errno;
        g->level = level;
        return 0;
}

int gpiod_backend_get(GpioLine *l) {
        Gpiod2Line *g = (Gpiod2Line *) l;
        enum gpiod_line_value v;

        if (l->output)
                return g->level;
        v = gpiod_line_request_get_value(g->request, g->offset);
        if (v == GPIOD_LINE_VALUE_ERROR)
                return -errno;
        return v == GPIOD_LINE_VALUE_ACTIVE;
}

int gpiod_backend_get_fd(GpioLine *l) {
        return ((Gpiod2Line *) l)->event_fd;
}

int gpiod_backend_read_event(GpioLine *l, bool *ret_high, uint64_t *ret_timestamp_ns) {
        Gpiod2Line *g = (Gpiod2Line *) l;
        struct gpiod_edge_event *ev;
        int n;

        /* the request's fd is non-blocking: no event pending reads as EAGAIN */
        n = gpiod_line_request_read_edge_events(g->request, g->events, 1);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n == 0)
                return -EAGAIN;
        ev = gpiod_edge_event_buffer_get_event(g->events, 0);
        if (!ev)
                return -EIO;

        *ret_high = gpiod_edge_event_get_event_type(ev) == GPIOD_EDGE_EVENT_RISING_EDGE;
        /* requested with the monotonic event clock (v2's default, set explicitly) */
        *ret_timestamp_ns = gpiod_edge_event_get_timestamp_ns(ev);
        return 0;
}

void gpiod_backend_free(GpioLine *l) {
        Gpiod2Line *g = (Gpiod2Line *) l;

        if (g->request)
                gpiod_line_request_release(g->request);
        if (g->events)
                gpiod_edge_event_buffer_free(g->events);
        free(g);
}

static int request_error(Chip *c, unsigned offset, int e, const char *chip, const char *line, char **ret_error) {
        struct gpiod_line_info *info = e == EBUSY ? gpiod_chip_get_line_info(c->chip, offset) : NULL;
        int r;

        r = gpio_request_error(ret_error, e, chip, line,
                               info && gpiod_line_info_is_used(info) ? gpiod_line_info_get_consumer(info) : NULL);
        if (info)
                gpiod_line_info_free(info);
        return r;
}

/* The settings of one line: an output driven to value from the start, or an input with events
 * on both edges, stamped with CLOCK_MONOTONIC. */
static struct gpiod_line_settings *settings_new(bool output, int value, enum gpiod_line_bias bias) {
        struct gpiod_line_settings *s;
        int r;

        s = gpiod_line_settings_new();
        if (!s)
                return NULL;
        if (output)
                r = gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
                    gpiod_line_settings_set_output_value(s, value ? GPIOD_LINE_VALUE_ACTIVE
                                                                  : GPIOD_LINE_VALUE_INACTIVE) < 0;
        else
                r = gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT) < 0 ||
                    gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH) < 0 ||
                    gpiod_line_settings_set_bias(s, bias) < 0 ||
                    gpiod_line_settings_set_event_clock(s, GPIOD_LINE_CLOCK_MONOTONIC) < 0;
        if (r) {
                gpiod_line_settings_free(s);
                return NULL;
        }
        return s;
}

/* Requests one line of an open chip with these settings. */
static struct gpiod_line_request *request_line(Chip *c, unsigned offset, struct gpiod_line_settings *s) {
        struct gpiod_request_config *rc = NULL;
        struct gpiod_line_config *lc = NULL;
        struct gpiod_line_request *req = NULL;
        int saved;

        lc = gpiod_line_config_new();
        rc = gpiod_request_config_new();
        if (lc && rc && gpiod_line_config_add_line_settings(lc, &offset, 1, s) >= 0) {
                gpiod_request_config_set_consumer(rc, GPIO_CONSUMER);
                req = gpiod_chip_request_lines(c->chip, rc, lc);
        } else if (errno == 0)
                errno = ENOMEM;
        saved = errno;
        if (rc)
                gpiod_request_config_free(rc);
        if (lc)
                gpiod_line_config_free(lc);
        errno = saved;
        return req;
}

/* Finds the line and requests it (value: an output's level; bias: an input's). */
static int line_open(const char *chip, const char *line, bool output, int value, enum gpiod_line_bias bias,
                     Gpiod2Line **ret, char **ret_error) {
        _cleanup_(gpio_location_done) GpioLocation loc = {};
        struct gpiod_line_settings *s;
        GpioLine *gl = NULL;
        Gpiod2Line *g;
        int r;

        r = gpio_locate(&chip_ops, chip, line, &loc, ret_error);
        if (r >= 0)
                r = gpio_line_new(&gpiod_backend, sizeof(Gpiod2Line), &loc, chip, line, output, &gl, ret_error);
        if (r < 0)
                return r;
        if (!chip || !*chip)
                chip = loc.chip_name; /* found by the line's name: the messages name the chip */
        g = (Gpiod2Line *) gl;
        g->event_fd = -1;
        g->offset = loc.offset;

        s = settings_new(output, value, bias);
        errno = ENOMEM;
        if (s) {
                errno = 0;
                g->request = request_line(loc.chip, loc.offset, s);
                gpiod_line_settings_free(s);
        }
        if (!g->request) {
                r = request_error(loc.chip, loc.offset, errno ?: EIO, chip, line, ret_error);
                gpio_line_abandon(&g->line);
                return r;
        }
        *ret = g;
        return 0;
}

int gpio_gpiod_output_open(const char *chip, const char *line, bool active_high, GpioLine **ret,
                           char **ret_error) {
        Gpiod2Line *g = NULL;
        int r, dark = active_high ? 0 : 1;

        r = line_open(chip, line, true, dark, GPIOD_LINE_BIAS_AS_IS, &g, ret_error);
        if (r < 0)
                return r;
        g->line.active_high = active_high;
        g->level = dark;

        *ret = &g->line;
        return 0;
}

int gpio_gpiod_input_open(const char *chip, const char *line, bool active_low, ConfigBias bias, GpioLine **ret,
                          char **ret_error) {
        static const enum gpiod_line_bias biases[] = {
                [CONFIG_BIAS_AS_IS] = GPIOD_LINE_BIAS_AS_IS,
                [CONFIG_BIAS_DISABLE] = GPIOD_LINE_BIAS_DISABLED,
                [CONFIG_BIAS_PULL_UP] = GPIOD_LINE_BIAS_PULL_UP,
                [CONFIG_BIAS_PULL_DOWN] = GPIOD_LINE_BIAS_PULL_DOWN,
        };
        Gpiod2Line *g = NULL;
        int r, fd;

        r = line_open(chip, line, false, 0, biases[bias], &g, ret_error);
        if (r < 0)
                return r;
        g->line.active_low = active_low;

        g->events = gpiod_edge_event_buffer_new(1);
        fd = gpiod_line_request_get_fd(g->request);
        fd = gpio_input_event_fd(&g->line, !g->events || fd < 0 ? -(errno ?: ENOMEM) : fd, chip, line, ret_error);
        if (fd < 0)
                return fd;
        g->event_fd = fd;

        *ret = &g->line;
        return 0;
}

const char *gpiod_backend_library_version(void) {
        return gpiod_api_version();
}
