/* SPDX-License-Identifier: MIT */
#pragma once

/* What the GPIO backends share with gpio.c. Each backend allocates its own structure with a
 * GpioLine as its first member and fills in its operations. */

#include "gpio.h"

typedef struct GpioBackend {
        const char *name;
        int (*set)(GpioLine *l, int level);
        /* set, with the time to record for it (simulated outputs); NULL: set (time ignored) */
        int (*set_at)(GpioLine *l, int level, uint64_t t_ns);
        int (*get)(GpioLine *l);
        int (*reserve)(GpioLine *l, size_t n); /* NULL: nothing to reserve */
        int (*flush)(GpioLine *l); /* NULL: nothing to flush */
        int (*get_fd)(GpioLine *l); /* inputs */
        /* inputs: the next edge, its level after it (high: a rising edge) and its CLOCK_MONOTONIC
         * time; -EAGAIN when none is pending. gpio.c turns the level into pressed or released. */
        int (*read_event)(GpioLine *l, bool *ret_high, uint64_t *ret_timestamp_ns);
        void (*free)(GpioLine *l); /* releases; the line is already dark */
} GpioBackend;

struct GpioLine {
        const GpioBackend *backend;
        bool output;
        bool active_high; /* outputs: high = lit */
        bool active_low; /* inputs: low = pressed */
        char *description; /* "chip:line", the chip as found ("gpiochip4:GPIO17") */
        char *where; /* "offset 17 of gpiochip4 [pinctrl-rp1]"; NULL when simulated */
};

/* ---- finding a line on the kernel's chips (gpio-chips.c), for both libgpiod backends ---- */

typedef struct GpioChipInfo {
        const char *name; /* "gpiochip4"; owned by the open chip */
        const char *label; /* "pinctrl-rp1"; likewise */
        unsigned num_lines;
} GpioChipInfo;

/* What a backend does with chips. Every function returns 0 (find_line: the offset) or -errno. */
typedef struct GpioChipOps {
        bool (*is_chip)(const char *path); /* a GPIO character device? */
        int (*open)(const char *path, void **ret_chip);
        int (*info)(void *chip, GpioChipInfo *ret);
        int (*find_line)(void *chip, const char *name); /* -ENOENT: no line of that name */
        void (*close)(void *chip);
        const char *info_command; /* how to list a chip's lines: "gpioinfo -c" (+ " gpiochip4") */
} GpioChipOps;

typedef struct GpioLocation {
        const GpioChipOps *ops;
        void *chip; /* open, closed by gpio_location_done() unless taken */
        unsigned offset;
        const char *chip_name; /* owned by chip */
        char *where; /* malloc()ed, for GpioLine.where */
} GpioLocation;

/* Finds the line. chip NULL or "": line is a name, searched on every chip, and exactly one may
 * have it. Else chip is a path, a number (N: /dev/gpiochipN), a device name ("gpiochip4") or a
 * label ("pinctrl-rp1", which one chip only may have), and line an offset or a name on it.
 * Errors as gpio_error(); a line or chip not found lists the chips there are. */
int gpio_locate(const GpioChipOps *ops, const char *chip, const char *line, GpioLocation *ret, char **ret_error);
/* The same with another directory than /dev (for the tests). */
int gpio_locate_in(const GpioChipOps *ops, const char *dev_dir, const char *chip, const char *line,
                   GpioLocation *ret, char **ret_error);

/* The message of a line request that failed with errno e; consumer: the holder of a busy line,
 * NULL or "" when unknown. Returns -e. */
int gpio_request_error(char **ret_error, int e, const char *chip, const char *line, const char *consumer);

/* Closes the chip (unless NULL) and frees where. */
void gpio_location_done(GpioLocation *l);

/* Is the path a GPIO character device (its subsystem is gpio, as gpiod_is_gpiochip_device())? */
bool gpio_chip_is_device(const char *path);
/* Why a chip could not be opened, for an errno value. */
const char *gpio_open_reason(int error);
/* Up to nine decimal digits, nothing else. */
bool gpio_is_number(const char *s);

/* Sets up the common part; the backend has allocated l. where: see GpioLine, may be NULL. */
int gpio_line_init(GpioLine *l, const GpioBackend *backend, const char *chip, const char *line, bool output,
                   const char *where);

/* For a kernel backend: allocates size bytes (a structure with a GpioLine first) and sets up
 * the GpioLine for the line found at loc. Errors as gpio_error(). */
int gpio_line_new(const GpioBackend *backend, size_t size, const GpioLocation *loc, const char *chip,
                  const char *line, bool output, GpioLine **ret, char **ret_error);

/* Frees a line without driving or flushing it: for a backend whose request did not succeed. */
void gpio_line_abandon(GpioLine *l);

/* Adds O_NONBLOCK to fd's flags. 0 or -errno. */
int gpio_fd_set_nonblock(int fd);

/* The end of opening an input line l: fd is its event fd, or -errno when there is none. Returns
 * the fd, made non-blocking; or -errno, with l freed and *ret_error saying why. */
int gpio_input_event_fd(GpioLine *l, int fd, const char *chip, const char *line, char **ret_error);

/* Formats "GPIO chip "C" line "L": <reason>" (without a chip: "GPIO line "L": <reason>") into
 * *ret_error (when not NULL) and returns error. */
int gpio_error(char **ret_error, int error, const char *chip, const char *line, const char *format, ...)
        _printf_(5, 6);

/* The libgpiod backend: its functions are those of gpio-gpiod1.c or gpio-gpiod2.c, whichever
 * configure chose; gpio.c puts them together as gpiod_backend. */
int gpiod_backend_set(GpioLine *l, int level);
int gpiod_backend_get(GpioLine *l);
int gpiod_backend_get_fd(GpioLine *l);
int gpiod_backend_read_event(GpioLine *l, bool *ret_high, uint64_t *ret_timestamp_ns);
void gpiod_backend_free(GpioLine *l);
const char *gpiod_backend_library_version(void);
extern const GpioBackend gpiod_backend;

int gpio_gpiod_output_open(const char *chip, const char *line, bool active_high, GpioLine **ret,
                           char **ret_error);
int gpio_gpiod_input_open(const char *chip, const char *line, bool active_low, ConfigBias bias, GpioLine **ret,
                          char **ret_error);

int gpio_sim_output_open(const char *line, bool active_high, const char *trace_path, GpioLine **ret,
                         char **ret_error);
int gpio_sim_input_open(const char *line, bool active_low, const char *fifo_path, GpioLine **ret,
                        char **ret_error);
