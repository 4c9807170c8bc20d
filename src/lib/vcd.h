/* SPDX-License-Identifier: MIT */
#pragma once

/* Value Change Dump of one wire, "led", with a 1 ns timescale: what a logic analyser on the LED
 * line records. Used by "blinkupctl encode --format=vcd" (offsets from the waveform) and by
 * the simulated line (CLOCK_MONOTONIC timestamps of the real writes). */

#include <stdint.h>
#include <stdio.h>

#include "waveform.h"

int vcd_write_header(FILE *f, const char *comment, uint8_t initial_level);
int vcd_write_change(FILE *f, uint64_t t_ns, uint8_t level);
int vcd_write_end(FILE *f, uint64_t t_ns);

/* The whole waveform, starting at time 0. */
int vcd_write_waveform(FILE *f, const Waveform *w, const char *comment);
