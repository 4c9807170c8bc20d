/* SPDX-License-Identifier: MIT */
#pragma once

/* A barcode scanner's keystrokes turned into lines: the scanner is a keyboard to Linux (evdev
 * EV_KEY events), it types what it reads and ends the line with Enter. Keys become characters
 * with a fixed US layout: the digits and letters, space, the punctuation of the main keyboard
 * (with Shift: upper case and "!@#$%^&*()_+{}|:\"~<>?"), and the keypad's digits, '.', '/',
 * '*', '-' and '+' (as with NumLock on). Caps Lock turns the case of the letters around. Shift,
 * Ctrl, Alt, Meta and Caps Lock make no character; any other key does, or the line is refused:
 * a key without a character, a key pressed while Ctrl, Alt or Meta is held, a line longer than
 * SCANNER_LINE_MAX bytes. Enter or the keypad's Enter ends a line; an empty line is skipped.
 * No I/O: the daemon feeds the events it reads (manager-scanner.c). */

#include <stdbool.h>
#include <stddef.h>

#include "error-text.h"
#include "identity.h"

#define SCANNER_LINE_MAX IDENTITY_VALUE_MAX /* bytes: the longest serial number */

typedef struct ScannerLine {
        char text[SCANNER_LINE_MAX + 1];
        size_t length;
        bool ended; /* the last event ended a line: the next one starts a new line */
        bool too_long;
        unsigned bad_code; /* the first key without a character, 0: none */
        bool bad_modifier; /* a key was pressed while Ctrl, Alt or Meta was held */
        unsigned modifiers; /* the modifier keys held, a bit each */
        bool caps_lock;
} ScannerLine;

/* A zeroed ScannerLine is an empty line too. */
void scanner_line_init(ScannerLine *l);

/* The character of key CODE (KEY_*) on a US keyboard, with or without Shift; 0: none. */
char scanner_key_char(unsigned code, bool shift);

/* Feeds one EV_KEY event: VALUE 1 is a press, 0 a release, 2 an auto-repeat (ignored). Returns
 * 0 while no line has ended; 1 when a line ended, *ret_text its text (in l, good until the next
 * call); -EINVAL when a line ended that is refused, e says why. */
int scanner_line_feed(ScannerLine *l, unsigned code, int value, const char **ret_text, ErrorText *e);

/* Events were lost (SYN_DROPPED): the line typed so far and the modifiers held are forgotten. */
void scanner_line_reset(ScannerLine *l);
