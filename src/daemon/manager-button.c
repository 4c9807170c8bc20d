/* SPDX-License-Identifier: MIT */
/* The button (debounced; a press starts an attempt when the fixture is idle) and the
 * indicator lines (Ready, Busy, Pass, Fail). */
#include <errno.h>
#include <inttypes.h>

#include "macro.h"
#include "manager-internal.h"

static const char *const indicator_names[_IND_MAX] = {
        [IND_READY] = "ready",
        [IND_BUSY] = "busy",
        [IND_PASS] = "pass",
        [IND_FAIL] = "fail",
};

int manager_indicator_set(Manager *m, Indicator which, bool on) {
        GpioLine *l = m->indicators[which];
        int r;

        if (!l)
                return 0;
        r = gpio_line_set(l, on ? 1 : 0); /* indicator lines are requested active-high */
        if (r < 0)
                return log_warning_errno(r, "Could not set the %s indicator %s: %m", indicator_names[which],
                                         gpio_line_describe(l));
        return 0;
}

static void button_pressed(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t id;

        if (m->stop_when_idle) {
                log_info("Button pressed while the fixture is stopping: ignored.");
                return;
        }
        if (m->state != MANAGER_IDLE) {
                log_debug("Button pressed while attempt %" PRIu64 " is %s: ignored.", m->attempt_id,
                          manager_state_to_string(m->state));
                return;
        }
        log_info("Button pressed.");
        if (manager_blinkup(m, false, NULL, &id, &error) < 0)
                log_error("Button press refused: %s", error.message ?: "unknown error");
}

static void button_settled(Manager *m) {
        if (m->button_raw == m->button_stable)
                return;
        m->button_stable = m->button_raw;
        if (m->button_stable)
                button_pressed(m);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        button_settled(userdata);
        return 0;
}

int manager_button_setup(Manager *m) {
        int r;

        /* accuracy 1 µs: the default (250 ms) would let a short press be released before the
         * debounce timer fired, and the press would be lost */
        r = sd_event_add_time(m->event, &m->debounce_source, CLOCK_MONOTONIC, 0, 1, on_debounce, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->debounce_source, SD_EVENT_OFF);
}

int manager_on_button(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        uint64_t ts;
        bool pressed;
        int r;

        r = gpio_input_read_event(m->button, &pressed, &ts);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r < 0) {
                log_error_errno(r, "Reading the button failed, button disabled: %m");
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        m->button_raw = pressed;
        if (m->config->button.debounce_msec == 0) {
                button_settled(m);
                return 0;
        }
        /* settled once the level has not changed for DebounceMs */
        r = sd_event_source_set_time_relative(m->debounce_source, m->config->button.debounce_msec * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->debounce_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Could not arm the debounce timer: %m");
        return 0;
}
