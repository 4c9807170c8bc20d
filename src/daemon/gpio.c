/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpio-internal.h"
#include "string-util.h"

int gpio_error(char **ret_error, int error, const char *chip, const char *line, const char *format, ...) {
        _cleanup_(freep) char *reason = NULL;
        va_list ap;
        int r;

        if (!ret_error)
                return error;

        va_start(ap, format);
        r = vasprintf(&reason, format, ap);
        va_end(ap);
        if (r < 0) {
                reason = NULL;
                *ret_error = NULL;
                return error;
        }

        if ((chip && *chip ? asprintf(ret_error, "GPIO chip \"%s\" line \"%s\": %s", chip, line ?: "", reason)
                           : asprintf(ret_error, "GPIO line \"%s\": %s", line ?: "", reason)) < 0)
                *ret_error = NULL;
        return error;
}

int gpio_line_init(GpioLine *l, const GpioBackend *backend, const char *chip, const char *line, bool output,
                   const char *where) {
        l->backend = backend;
        l->output = output;
        if (asprintf(&l->description, "%s:%s", chip, line) < 0) {
                l->description = NULL;
                return -ENOMEM;
        }
        if (where && !(l->where = strdup(where))) {
                free(l->description);
                l->description = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* What both kinds of line need: somewhere to put it, and a line named. */
static int check_args(const char *chip, const char *line, GpioLine **ret, char **ret_error) {
        if (!ret)
                return -EINVAL;
        if (isempty(line))
                return gpio_error(ret_error, -EINVAL, chip, line, "no line given");
        return 0;
}

const char *gpio_backend_version(void) {
        static char buf[64];

        if (!buf[0])
                (void) snprintf(buf, sizeof(buf), "libgpiod %s (API v%d)", gpiod_backend_library_version(), GPIOD_API);
        return buf;
}

int gpio_input_event_fd(GpioLine *l, int fd, const char *chip, const char *line, char **ret_error) {
        int r = fd < 0 ? fd : gpio_fd_set_nonblock(fd);

        if (r < 0) {
                gpio_line_abandon(l);
                return gpio_error(ret_error, r, chip, line, "cannot set up line events: %s", strerror(-r));
        }
        return fd;
}

const GpioBackend gpiod_backend = {
        .name = GPIOD_API == 2 ? "gpiod2" : "gpiod",
        .set = gpiod_backend_set,
        .get = gpiod_backend_get,
        .get_fd = gpiod_backend_get_fd,
        .read_event = gpiod_backend_read_event,
        .free = gpiod_backend_free,
};

int gpio_output_open(const char *chip, const char *line, bool active_high, const char *sim_trace_path,
                     GpioLine **ret, char **ret_error) {
        int r;

        r = check_args(chip, line, ret, ret_error);
        if (r < 0)
                return r;

        if (!isempty(chip) && streq(chip, CONFIG_SIM_CHIP))
                return gpio_sim_output_open(line, active_high, sim_trace_path, ret, ret_error);
        return gpio_gpiod_output_open(chip, line, active_high, ret, ret_error);
}

int gpio_input_open(const char *chip, const char *line, bool active_low, ConfigBias bias,
                    const char *sim_fifo_path, GpioLine **ret, char **ret_error) {
        int r;

        r = check_args(chip, line, ret, ret_error);
        if (r < 0)
                return r;
        if (!config_bias_to_string(bias))
                return gpio_error(ret_error, -EINVAL, chip, line,
                                  "invalid bias %i (as-is, disable, pull-up or pull-down)", (int) bias);

        if (!isempty(chip) && streq(chip, CONFIG_SIM_CHIP)) {
                if (isempty(sim_fifo_path))
                        return gpio_error(ret_error, -EINVAL, chip, line,
                                          "a simulated input needs a FIFO path");
                return gpio_sim_input_open(line, active_low, sim_fifo_path, ret, ret_error);
        }
        return gpio_gpiod_input_open(chip, line, active_low, bias, ret, ret_error);
}

int gpio_line_set(GpioLine *l, int level) {
        return l->backend->set(l, level);
}

int gpio_line_set_at(GpioLine *l, int level, uint64_t t_ns) {
        return l->backend->set_at ? l->backend->set_at(l, level, t_ns) : l->backend->set(l, level);
}

int gpio_line_get(GpioLine *l) {
        if (!l)
                return -EINVAL;
        return l->backend->get(l);
}

int gpio_line_dark_level(GpioLine *l) {
        if (!l || !l->output)
                return -EINVAL;
        return l->active_high ? 0 : 1;
}

int gpio_line_reserve(GpioLine *l, size_t n) {
        if (!l)
                return -EINVAL;
        return l->backend->reserve ? l->backend->reserve(l, n) : 0;
}

int gpio_line_flush(GpioLine *l) {
        if (!l)
                return -EINVAL;
        return l->backend->flush ? l->backend->flush(l) : 0;
}

int gpio_line_get_fd(GpioLine *l) {
        if (!l || l->output)
                return -EINVAL;
        return l->backend->get_fd(l);
}

int gpio_input_read_event(GpioLine *l, bool *ret_pressed, uint64_t *ret_timestamp_ns) {
        if (!l || l->output)
                return -EINVAL;
        bool high;
        uint64_t ns;
        int r;

        r = l->backend->read_event(l, &high, &ns);
        if (r < 0)
                return r;
        if (ret_pressed)
                *ret_pressed = l->active_low ? !high : high;
        if (ret_timestamp_ns)
                *ret_timestamp_ns = ns;
        return 0;
}

const char *gpio_line_describe(GpioLine *l) {
        return l && l->description ? l->description : "?";
}

const char *gpio_line_where(GpioLine *l) {
        return l ? l->where : NULL;
}

void gpio_line_abandon(GpioLine *l) {
        char *d = l->description, *w = l->where;

        l->backend->free(l);
        free(d);
        free(w);
}

int gpio_line_new(const GpioBackend *backend, size_t size, const GpioLocation *loc, const char *chip,
                  const char *line, bool output, GpioLine **ret, char **ret_error) {
        GpioLine *l;
        int r;

        l = calloc(1, size);
        if (!l)
                return gpio_error(ret_error, -ENOMEM, chip, line, "out of memory");
        r = gpio_line_init(l, backend, loc->chip_name, line, output, loc->where);
        if (r < 0) {
                free(l);
                return gpio_error(ret_error, r, chip, line, "out of memory");
        }
        *ret = l;
        return 0;
}

int gpio_fd_set_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

GpioLine *gpio_line_free(GpioLine *l) {
        if (!l)
                return NULL;
        if (l->output)
                (void) gpio_line_set(l, gpio_line_dark_level(l));
        (void) gpio_line_flush(l);
        gpio_line_abandon(l);
        return NULL;
}
