/* SPDX-License-Identifier: MIT */
#pragma once

/* GPIO lines: the LED (and indicator) outputs and the button input, behind one small interface.
 *
 * Backends:
 *   - the kernel's GPIO character device through libgpiod, its v2 API (gpio-gpiod2.c) or its
 *     v1 API (gpio-gpiod1.c), whichever configure found, for every chip but "sim";
 *   - a simulated chip, Chip=sim (gpio-sim.c), for the tests and the demo.
 *
 * Without a chip (NULL or ""), the line is a name ("GPIO17") that exactly one of the kernel's
 * chips must have: found by name on every chip, as "gpioinfo GPIO17" does, so that a chip whose
 * number changes with the kernel is still found. With a chip, the chip is a label
 * ("pinctrl-rp1"), a device name ("gpiochip4"), a path ("/dev/gpiochip4") or a number ("4"),
 * and the line an offset ("17") or a line name. See gpio-chips.c.
 *
 * Simulated output: every level change is kept with its CLOCK_MONOTONIC timestamp, taken right
 * after the write, in a buffer allocated before the real-time loop runs (gpio_line_reserve());
 * gpio_line_flush() appends the buffered changes to the trace file, a one-wire VCD ("led",
 * 1 ns timescale, the electrical level; see vcd.h). gpio_line_set() never allocates, locks or
 * does I/O, on either backend beyond the one line write (an ioctl on hardware).
 *
 * Simulated button: sim_fifo_path names a FIFO that gpio_input_open() creates (mkfifo, if it
 * does not exist yet; it is removed again by gpio_line_free() only if it was created there)
 * and opens O_RDWR|O_NONBLOCK. A test "presses" the button by writing the byte '1' to the FIFO
 * and "releases" it by writing '0'; every such byte is one event, its timestamp the
 * CLOCK_MONOTONIC time at which gpio_input_read_event() read it. '1' always means pressed
 * (the logical state: ActiveLow= does not apply to the simulated button); other bytes (such as
 * newlines, so that "echo 1 >fifo" works) are ignored.
 *
 * Thread safety: a line is used by one thread at a time. The LED line belongs to the
 * transmitter while one exists (it writes, reserves and flushes it).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "macro.h"

#define GPIO_CONSUMER "blinkupd"

typedef struct GpioLine GpioLine;

/* Requests the line as an output, driven to the dark level (active_high ? 0 : 1) from the
 * start. chip "sim" selects the simulated backend; sim_trace_path (may be NULL: no trace)
 * receives its VCD trace and is ignored for other chips. On failure returns -errno and, if
 * ret_error is not NULL, a malloc()ed one-line message naming chip and line and the reason. */
int gpio_output_open(const char *chip, const char *line, bool active_high, const char *sim_trace_path,
                     GpioLine **ret, char **ret_error);

/* Requests the line as an input with events on both edges. active_low: the button pulls the
 * line low when pressed. bias: [Button] Bias=, -EINVAL out of its range.
 * chip "sim": see above, sim_fifo_path is required then. Errors as for gpio_output_open(). */
int gpio_input_open(const char *chip, const char *line, bool active_low, ConfigBias bias,
                    const char *sim_fifo_path, GpioLine **ret, char **ret_error);

/* Sets the electrical level (0 or 1) of an output. The one function the real-time loop calls.
 * Returns 0 or -errno. */
int gpio_line_set(GpioLine *l, int level);

/* The same, but a simulated output records the change at t_ns (CLOCK_MONOTONIC) instead of the
 * time of the write: the trace of [Simulation] IdealTiming=yes, where every edge is recorded at
 * its deadline. A trace's times never go back: a t_ns earlier than the line's last recorded
 * change is recorded at that change's time. Other backends ignore t_ns. */
int gpio_line_set_at(GpioLine *l, int level, uint64_t t_ns);

/* The electrical level of the line: the last level written for an output, the current level of
 * an input. 0 or 1, or -errno. */
int gpio_line_get(GpioLine *l);

/* The level at which an output's LED is dark (active_high ? 0 : 1); -EINVAL for an input. */
int gpio_line_dark_level(GpioLine *l);

/* Makes sure that the next n calls of gpio_line_set() need no allocation (only the simulated
 * backend keeps anything per write). Not for the real-time loop. Returns 0 or -ENOMEM. */
int gpio_line_reserve(GpioLine *l, size_t n);

/* Writes the level changes buffered since the last flush to the trace file, if any. Not for
 * the real-time loop. Returns 0, -EIO when writing failed, or -ENOBUFS when changes were lost
 * because more writes happened than were reserved (the trace says so in a comment). */
int gpio_line_flush(GpioLine *l);

/* A pollable fd of an input (readable when events are pending), for sd_event_add_io(). The
 * line keeps ownership of it. -EINVAL for an output. */
int gpio_line_get_fd(GpioLine *l);

/* Reads one pending event of an input: pressed is the logical state after the edge (after
 * active_low), timestamp the CLOCK_MONOTONIC time of the event in ns. Returns 0, -EAGAIN when
 * no event is pending, or another -errno. */
int gpio_input_read_event(GpioLine *l, bool *ret_pressed, uint64_t *ret_timestamp_ns);

/* "chip:line" for messages: the chip as given, or as found for a line found by name
 * ("gpiochip4:GPIO17"). */
const char *gpio_line_describe(GpioLine *l);

/* Where a kernel line was found: "offset 17 of gpiochip4 [pinctrl-rp1]"; NULL when simulated. */
const char *gpio_line_where(GpioLine *l);

/* The kernel GPIO backend built in, with the libgpiod loaded: "libgpiod 2.2.1 (API v2)". */
const char *gpio_backend_version(void);

/* Drives an output dark, flushes its trace, releases the line. Accepts NULL, returns NULL. */
GpioLine *gpio_line_free(GpioLine *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(GpioLine *, gpio_line_free);
