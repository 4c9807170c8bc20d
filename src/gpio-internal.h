/* SPDX-License-Identifier: MIT */
#pragma once

/* What the GPIO backends share with gpio.c. Each backend allocates its own structure with a
 * GpioLine as its first member and fills in its operations. */

#include "gpio.h"

typedef struct GpioBackend {
        const char *name;
        int (*set)(GpioLine *l, int level);
        int (*get)(GpioLine *l);
        int (*reserve)(GpioLine *l, size_t n); /* NULL: nothing to reserve */
        int (*flush)(GpioLine *l); /* NULL: nothing to flush */
        int (*get_fd)(GpioLine *l); /* inputs */
        int (*read_event)(GpioLine *l, bool *ret_pressed, uint64_t *ret_timestamp_ns); /* inputs */
        void (*free)(GpioLine *l); /* releases; the line is already dark */
} GpioBackend;

struct GpioLine {
        const GpioBackend *backend;
        bool output;
        bool active_high; /* outputs: high = lit */
        bool active_low; /* inputs: low = pressed */
        char *description; /* "chip:line" */
};

typedef enum GpioBias {
        GPIO_BIAS_AS_IS,
        GPIO_BIAS_DISABLE,
        GPIO_BIAS_PULL_UP,
        GPIO_BIAS_PULL_DOWN,
} GpioBias;

int gpio_bias_from_string(const char *s, GpioBias *ret);

/* Sets up the common part; the backend has allocated l. */
int gpio_line_init(GpioLine *l, const GpioBackend *backend, const char *chip, const char *line, bool output);

/* Formats "chip C line L: <reason>" into *ret_error (when not NULL) and returns error. */
int gpio_error(char **ret_error, int error, const char *chip, const char *line, const char *format, ...)
        _printf_(5, 6);

int gpio_gpiod_output_open(const char *chip, const char *line, bool active_high, GpioLine **ret,
                           char **ret_error);
int gpio_gpiod_input_open(const char *chip, const char *line, bool active_low, GpioBias bias, GpioLine **ret,
                          char **ret_error);

int gpio_sim_output_open(const char *line, bool active_high, const char *trace_path, GpioLine **ret,
                         char **ret_error);
int gpio_sim_input_open(const char *line, bool active_low, const char *fifo_path, GpioLine **ret,
                        char **ret_error);
