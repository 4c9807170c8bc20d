/* SPDX-License-Identifier: MIT */
/* A barcode scanner's key events turned into lines with a fixed US keyboard layout (see
 * scanner-keys.h). */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>

#include "macro.h"
#include "scanner-keys.h"

/* without and with Shift */
static const char *const keymap[] = {
        [KEY_1] = "1!", [KEY_2] = "2@", [KEY_3] = "3#", [KEY_4] = "4$", [KEY_5] = "5%",
        [KEY_6] = "6^", [KEY_7] = "7&", [KEY_8] = "8*", [KEY_9] = "9(", [KEY_0] = "0)",
        [KEY_MINUS] = "-_", [KEY_EQUAL] = "=+",
        [KEY_Q] = "qQ", [KEY_W] = "wW", [KEY_E] = "eE", [KEY_R] = "rR", [KEY_T] = "tT",
        [KEY_Y] = "yY", [KEY_U] = "uU", [KEY_I] = "iI", [KEY_O] = "oO", [KEY_P] = "pP",
        [KEY_LEFTBRACE] = "[{", [KEY_RIGHTBRACE] = "]}",
        [KEY_A] = "aA", [KEY_S] = "sS", [KEY_D] = "dD", [KEY_F] = "fF", [KEY_G] = "gG",
        [KEY_H] = "hH", [KEY_J] = "jJ", [KEY_K] = "kK", [KEY_L] = "lL",
        [KEY_SEMICOLON] = ";:", [KEY_APOSTROPHE] = "'\"", [KEY_GRAVE] = "`~", [KEY_BACKSLASH] = "\\|",
        [KEY_Z] = "zZ", [KEY_X] = "xX", [KEY_C] = "cC", [KEY_V] = "vV", [KEY_B] = "bB",
        [KEY_N] = "nN", [KEY_M] = "mM", [KEY_COMMA] = ",<", [KEY_DOT] = ".>", [KEY_SLASH] = "/?",
        [KEY_KPASTERISK] = "**", [KEY_SPACE] = "  ",
        [KEY_KP7] = "77", [KEY_KP8] = "88", [KEY_KP9] = "99", [KEY_KPMINUS] = "--",
        [KEY_KP4] = "44", [KEY_KP5] = "55", [KEY_KP6] = "66", [KEY_KPPLUS] = "++",
        [KEY_KP1] = "11", [KEY_KP2] = "22", [KEY_KP3] = "33", [KEY_KP0] = "00", [KEY_KPDOT] = "..",
        [KEY_KPSLASH] = "//",
};

enum {
        MOD_LEFTSHIFT = 1u << 0,
        MOD_RIGHTSHIFT = 1u << 1,
        MOD_CTRL = 1u << 2, /* either */
        MOD_ALT = 1u << 3,
        MOD_META = 1u << 4,
};

static unsigned modifier_bit(unsigned code) {
        switch (code) {
        case KEY_LEFTSHIFT:
                return MOD_LEFTSHIFT;
        case KEY_RIGHTSHIFT:
                return MOD_RIGHTSHIFT;
        case KEY_LEFTCTRL:
        case KEY_RIGHTCTRL:
                return MOD_CTRL;
        case KEY_LEFTALT:
        case KEY_RIGHTALT:
                return MOD_ALT;
        case KEY_LEFTMETA:
        case KEY_RIGHTMETA:
                return MOD_META;
        default:
                return 0;
        }
}

static bool is_letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void scanner_line_init(ScannerLine *l) {
        *l = (ScannerLine) {};
}

char scanner_key_char(unsigned code, bool shift) {
        if (code >= ELEMENTSOF(keymap) || !keymap[code])
                return 0;
        return keymap[code][shift ? 1 : 0];
}

/* the line so far is forgotten, the keyboard's state (modifiers, Caps Lock) kept */
static void line_clear(ScannerLine *l) {
        l->length = 0;
        l->text[0] = 0;
        l->ended = l->too_long = l->bad_modifier = false;
        l->bad_code = 0;
}

void scanner_line_reset(ScannerLine *l) {
        bool caps = l->caps_lock;

        scanner_line_init(l);
        l->caps_lock = caps;
}

static void line_add(ScannerLine *l, unsigned code) {
        bool shift = l->modifiers & (MOD_LEFTSHIFT | MOD_RIGHTSHIFT);
        char c;

        if (l->modifiers & (MOD_CTRL | MOD_ALT | MOD_META)) {
                l->bad_modifier = true;
                return;
        }
        c = scanner_key_char(code, shift);
        if (c == 0) {
                if (l->bad_code == 0)
                        l->bad_code = code;
                return;
        }
        if (l->caps_lock && is_letter(c))
                c = scanner_key_char(code, !shift);
        if (l->length >= SCANNER_LINE_MAX) {
                l->too_long = true;
                return;
        }
        l->text[l->length++] = c;
        l->text[l->length] = 0;
}

/* Enter: the line's text (1), a refused line (-EINVAL), or nothing for an empty line (0). */
static int line_end(ScannerLine *l, const char **ret_text, ErrorText *e) {
        l->ended = true;
        if (l->bad_code != 0)
                return error_text_set(e, -EINVAL, "key code %u has no character", l->bad_code);
        if (l->bad_modifier)
                return error_text_set(e, -EINVAL, "a key was pressed with Ctrl, Alt or Meta held");
        if (l->too_long)
                return error_text_set(e, -EINVAL, "the line is longer than %d bytes", SCANNER_LINE_MAX);
        if (l->length == 0)
                return 0;
        *ret_text = l->text;
        return 1;
}

int scanner_line_feed(ScannerLine *l, unsigned code, int value, const char **ret_text, ErrorText *e) {
        unsigned bit = modifier_bit(code);

        if (l->ended)
                line_clear(l);
        if (bit != 0) {
                if (value == 1)
                        l->modifiers |= bit;
                else if (value == 0)
                        l->modifiers &= ~bit;
                return 0;
        }
        if (value != 1) /* releases and auto-repeats */
                return 0;
        switch (code) {
        case KEY_ENTER:
        case KEY_KPENTER:
                return line_end(l, ret_text, e);
        case KEY_CAPSLOCK:
                l->caps_lock = !l->caps_lock;
                return 0;
        default:
                line_add(l, code);
                return 0;
        }
}
