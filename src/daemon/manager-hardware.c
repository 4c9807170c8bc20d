/* SPDX-License-Identifier: MIT */
/* The fixture's hardware: the LED line and its transmitter, the button and the indicator
 * lines, opened from a configuration and closed again; and whether two configurations name
 * the same hardware (a reload reopens it only when not). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* vasprintf() */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "macro.h"
#include "manager-internal.h"

/* Formats *ret_error (NULL when out of memory) and returns error. */
_printf_(3, 4) static int hardware_error(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return error;
}

void manager_hardware_close(Manager *m) {
        m->transmitter_source = sd_event_source_disable_unref(m->transmitter_source);
        m->button_source = sd_event_source_disable_unref(m->button_source);
        m->transmitter = transmitter_free(m->transmitter); /* cancels, joins, LED dark */
        m->led = gpio_line_free(m->led);
        m->button = gpio_line_free(m->button);
        for (int i = 0; i < _IND_MAX; i++)
                m->indicators[i] = gpio_line_free(m->indicators[i]);
}

/* Says where a kernel line was found: its chip's number may differ from one boot to the next. */
static void log_line_found(const char *what, GpioLine *l) {
        if (gpio_line_where(l))
                log_info("%s: line %s is %s.", what, gpio_line_describe(l), gpio_line_where(l));
}

/* A simulated chip needs no line name: the line is called by its role. */
static const char *line_or_role(const ConfigLine *l, const char *what) {
        return l->line ?: (streq_ptr(l->chip, CONFIG_SIM_CHIP) ? what : NULL);
}

static int open_output(const char *what, const ConfigLine *l, bool active_high, const char *trace, GpioLine **ret,
                       char **ret_error) {
        _cleanup_(freep) char *err = NULL;
        int r;

        r = gpio_output_open(l->chip, line_or_role(l, what), active_high, trace, ret, &err);
        if (r < 0)
                return hardware_error(ret_error, r, "%s: %s", what, err ?: strerror(-r));
        log_line_found(what, *ret);
        return r;
}

static int led_open(Manager *m, const Config *c, char **ret_error) {
        TransmitterConfig tc = {
                .priority = (int) c->realtime.priority,
                .cpu = c->realtime.cpu,
                .max_lateness_ns = (uint64_t) c->realtime.max_lateness_usec * NSEC_PER_USEC,
                .timing_fault_retries = c->realtime.timing_fault_retries,
                .ideal_timing = c->simulation.ideal_timing,
        };
        int r;

        r = open_output("led", &c->led.line, c->led.active_high, c->simulation.trace, &m->led, ret_error);
        if (r < 0)
                return r;
        r = transmitter_new(m->led, &tc, &m->transmitter);
        if (r < 0)
                return hardware_error(ret_error, r, "The transmitter thread could not be started: %s", strerror(-r));
        return sd_event_add_io(m->event, &m->transmitter_source, transmitter_get_fd(m->transmitter), EPOLLIN,
                               manager_on_transmitter, m);
}

static int button_open(Manager *m, const Config *c, char **ret_error) {
        _cleanup_(freep) char *err = NULL;
        int r;

        if (!c->button.enabled)
                return 0;
        r = gpio_input_open(c->button.line.chip, line_or_role(&c->button.line, "button"), c->button.active_low,
                            c->button.bias, c->simulation.button_fifo, &m->button, &err);
        if (r < 0)
                return hardware_error(ret_error, r, "button: %s", err ?: strerror(-r));
        log_line_found("button", m->button);
        r = sd_event_add_io(m->event, &m->button_source, gpio_line_get_fd(m->button), EPOLLIN, manager_on_button, m);
        if (r < 0)
                return r;
        m->button_raw = m->button_stable = false;
        return 0;
}

static int indicators_open(Manager *m, const Config *c, char **ret_error) {
        static const char *const names[_IND_MAX] = { "ready", "busy", "pass", "fail" };
        const ConfigLine *ind[_IND_MAX] = { &c->indicators.ready, &c->indicators.busy, &c->indicators.pass,
                                            &c->indicators.fail };
        int r;

        for (int i = 0; i < _IND_MAX; i++) {
                if (!ind[i]->line)
                        continue;
                r = open_output(names[i], ind[i], true, NULL, &m->indicators[i], ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int manager_hardware_open(Manager *m, const Config *c, char **ret_error) {
        int r;

        r = led_open(m, c, ret_error);
        if (r >= 0)
                r = button_open(m, c, ret_error);
        if (r >= 0)
                r = indicators_open(m, c, ret_error);
        if (r < 0) {
                manager_hardware_close(m);
                return r;
        }
        (void) manager_indicator_set(m, IND_READY, m->state == MANAGER_IDLE);
        return 0;
}

static bool line_same(const ConfigLine *a, const ConfigLine *b) {
        return streq_ptr(a->chip, b->chip) && streq_ptr(a->line, b->line);
}

bool manager_hardware_same(const Config *a, const Config *b) {
        return line_same(&a->led.line, &b->led.line) && a->led.active_high == b->led.active_high &&
               a->button.enabled == b->button.enabled && line_same(&a->button.line, &b->button.line) &&
               a->button.active_low == b->button.active_low && a->button.bias == b->button.bias &&
               line_same(&a->indicators.ready, &b->indicators.ready) &&
               line_same(&a->indicators.busy, &b->indicators.busy) &&
               line_same(&a->indicators.pass, &b->indicators.pass) &&
               line_same(&a->indicators.fail, &b->indicators.fail) && a->realtime.priority == b->realtime.priority &&
               a->realtime.cpu == b->realtime.cpu && a->realtime.max_lateness_usec == b->realtime.max_lateness_usec &&
               a->realtime.timing_fault_retries == b->realtime.timing_fault_retries &&
               streq_ptr(a->simulation.trace, b->simulation.trace) &&
               streq_ptr(a->simulation.button_fifo, b->simulation.button_fifo) &&
               a->simulation.ideal_timing == b->simulation.ideal_timing;
}
