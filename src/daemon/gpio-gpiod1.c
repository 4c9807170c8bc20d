/* SPDX-License-Identifier: MIT */
/* The kernel's GPIO character device through libgpiod's v1 API (1.6, as in Debian 12). What
 * depends on the API version is in this file (and gpio-gpiod2.c for v2); finding the chip and
 * the line is gpio-chips.c's. */
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpio-internal.h"
#include "rt.h"

typedef struct GpiodLine {
        GpioLine line;
        struct gpiod_chip *chip;
        struct gpiod_line *gline;
        int level; /* outputs: last level written */
        int event_fd;
} GpiodLine;

/* ---- chips, for gpio_locate() ---- */

static int chip_open(const char *path, void **ret) {
        struct gpiod_chip *c;

        errno = 0;
        c = gpiod_chip_open(path);
        if (!c)
                return -(errno > 0 ? errno : ENODEV);
        *ret = c;
        return 0;
}

static int chip_info(void *chip, GpioChipInfo *ret) {
        struct gpiod_chip *c = chip;

        *ret = (GpioChipInfo) {
                .name = gpiod_chip_name(c),
                .label = gpiod_chip_label(c),
                .num_lines = gpiod_chip_num_lines(c),
        };
        return 0;
}

static int chip_find_line(void *chip, const char *name) {
        struct gpiod_line *l;

        errno = 0;
        l = gpiod_chip_find_line(chip, name);
        if (!l)
                return errno == ENOENT || errno == 0 ? -ENOENT : -errno;
        return (int) gpiod_line_offset(l);
}

static void chip_close(void *chip) {
        gpiod_chip_close(chip);
}

static const GpioChipOps chip_ops = {
        .is_chip = gpio_chip_is_device,
        .open = chip_open,
        .info = chip_info,
        .find_line = chip_find_line,
        .close = chip_close,
        .info_command = "gpioinfo",
};

/* ---- lines ---- */

static int request_error(struct gpiod_line *l, int e, const char *chip, const char *line, char **ret_error) {
        const char *consumer = e == EBUSY && gpiod_line_update(l) >= 0 ? gpiod_line_consumer(l) : NULL;

        return gpio_request_error(ret_error, e, chip, line, consumer);
}

int gpiod_backend_set(GpioLine *l, int level) {
        GpiodLine *g = (GpiodLine *) l;

        level = !!level;
        if (gpiod_line_set_value(g->gline, level) < 0)
                return -errno;
        g->level = level;
        return 0;
}

int gpiod_backend_get(GpioLine *l) {
        GpiodLine *g = (GpiodLine *) l;
        int v;

        if (l->output)
                return g->level;
        v = gpiod_line_get_value(g->gline);
        return v < 0 ? -errno : v;
}

int gpiod_backend_get_fd(GpioLine *l) {
        return ((GpiodLine *) l)->event_fd;
}

int gpiod_backend_read_event(GpioLine *l, bool *ret_high, uint64_t *ret_timestamp_ns) {
        GpiodLine *g = (GpiodLine *) l;
        struct gpiod_line_event ev;

        if (gpiod_line_event_read_fd(g->event_fd, &ev) < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        *ret_high = ev.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
        /* since Linux 5.7 the v1 uAPI stamps events with CLOCK_MONOTONIC */
        *ret_timestamp_ns = rt_timespec_to_ns(&ev.ts);
        return 0;
}

void gpiod_backend_free(GpioLine *l) {
        GpiodLine *g = (GpiodLine *) l;

        if (g->gline)
                gpiod_line_release(g->gline);
        if (g->chip)
                gpiod_chip_close(g->chip);
        free(g);
}

/* Finds the line and requests it as config says (value: an output's level). */
static int line_open(const char *chip, const char *line, bool output, const struct gpiod_line_request_config *config,
                     int value, GpiodLine **ret, char **ret_error) {
        _cleanup_(gpio_location_done) GpioLocation loc = {};
        struct gpiod_line *l;
        GpioLine *gl = NULL;
        GpiodLine *g;
        int r;

        r = gpio_locate(&chip_ops, chip, line, &loc, ret_error);
        if (r >= 0)
                r = gpio_line_new(&gpiod_backend, sizeof(GpiodLine), &loc, chip, line, output, &gl, ret_error);
        if (r < 0)
                return r;
        g = (GpiodLine *) gl;
        g->event_fd = -1;
        g->chip = TAKE_PTR(loc.chip);
        if (!chip || !*chip)
                chip = loc.chip_name; /* found by the line's name: the messages name the chip */

        errno = 0;
        l = gpiod_chip_get_line(g->chip, loc.offset);
        if (!l) {
                r = gpio_error(ret_error, -(errno ?: EIO), chip, line, "cannot read the line: %s",
                               strerror(errno ?: EIO));
                gpio_line_abandon(&g->line);
                return r;
        }
        if (gpiod_line_request(l, config, value) < 0) {
                r = request_error(l, errno, chip, line, ret_error);
                gpio_line_abandon(&g->line);
                return r;
        }
        g->gline = l;
        *ret = g;
        return 0;
}

int gpio_gpiod_output_open(const char *chip, const char *line, bool active_high, GpioLine **ret,
                           char **ret_error) {
        struct gpiod_line_request_config config = {
                .consumer = GPIO_CONSUMER,
                .request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
        };
        GpiodLine *g = NULL;
        int r, dark = active_high ? 0 : 1;

        r = line_open(chip, line, true, &config, dark, &g, ret_error);
        if (r < 0)
                return r;
        g->line.active_high = active_high;
        g->level = dark;

        *ret = &g->line;
        return 0;
}

int gpio_gpiod_input_open(const char *chip, const char *line, bool active_low, ConfigBias bias, GpioLine **ret,
                          char **ret_error) {
        static const int bias_flags[] = {
                [CONFIG_BIAS_AS_IS] = 0,
                [CONFIG_BIAS_DISABLE] = GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE,
                [CONFIG_BIAS_PULL_UP] = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP,
                [CONFIG_BIAS_PULL_DOWN] = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN,
        };
        struct gpiod_line_request_config config = {
                .consumer = GPIO_CONSUMER,
                .request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES,
                .flags = bias_flags[bias],
        };
        GpiodLine *g = NULL;
        int r, fd;

        r = line_open(chip, line, false, &config, 0, &g, ret_error);
        if (r < 0)
                return r;
        g->line.active_low = active_low;

        fd = gpiod_line_event_get_fd(g->gline);
        fd = gpio_input_event_fd(&g->line, fd < 0 ? -(errno ?: EIO) : fd, chip, line, ret_error);
        if (fd < 0)
                return fd;
        g->event_fd = fd;

        *ret = &g->line;
        return 0;
}

const char *gpiod_backend_library_version(void) {
        return gpiod_version_string();
}
