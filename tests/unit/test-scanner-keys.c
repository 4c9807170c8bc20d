/* SPDX-License-Identifier: MIT */
/* lib/scanner-keys.c: a barcode scanner's key events turned into lines (scanner-keys.h). The
 * expected lines are worked out by hand from a US keyboard. */
#include <check.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>

#include "macro.h"
#include "scanner-keys.h"
#include "tests.h"

#define SHIFT 0x10000u /* in a key list: the key is typed with the left Shift held */

typedef struct Result {
        int r; /* what the last scanner_line_feed() that ended a line returned */
        char text[SCANNER_LINE_MAX + 1];
        char message[192];
        unsigned lines; /* how many ended */
} Result;

static void feed(ScannerLine *l, unsigned code, int value, Result *res) {
        const char *text = NULL;
        ErrorText e = {};
        int r;

        r = scanner_line_feed(l, code, value, &text, &e);
        if (r == 0)
                return;
        res->r = r;
        res->lines++;
        (void) snprintf(res->text, sizeof(res->text), "%s", r > 0 ? text : "");
        (void) snprintf(res->message, sizeof(res->message), "%s", r < 0 ? e.message : "");
}

/* Presses and releases each key of KEYS (n of them), with Shift around those marked SHIFT. */
static void type(ScannerLine *l, const unsigned *keys, size_t n, Result *res) {
        for (size_t i = 0; i < n; i++) {
                unsigned code = keys[i] & ~SHIFT;

                if (keys[i] & SHIFT)
                        feed(l, KEY_LEFTSHIFT, 1, res);
                feed(l, code, 1, res);
                feed(l, code, 0, res);
                if (keys[i] & SHIFT)
                        feed(l, KEY_LEFTSHIFT, 0, res);
        }
}

#define TYPE(l, res, ...)                                                                                  \
        do {                                                                                               \
                const unsigned _k[] = { __VA_ARGS__ };                                                     \
                type(l, _k, ELEMENTSOF(_k), res);                                                          \
        } while (0)

static void expect_line(const Result *res, unsigned lines, const char *text) {
        ck_assert_uint_eq(res->lines, lines);
        ck_assert_msg(res->r == 1, "refused: %s", res->message);
        ck_assert_str_eq(res->text, text);
}

static void expect_refused(const Result *res, unsigned lines, const char *why) {
        ck_assert_uint_eq(res->lines, lines);
        ck_assert_int_eq(res->r, -EINVAL);
        ck_assert_str_eq(res->message, why);
}

START_TEST(test_key_char) {
        ck_assert_int_eq(scanner_key_char(KEY_A, false), 'a');
        ck_assert_int_eq(scanner_key_char(KEY_A, true), 'A');
        ck_assert_int_eq(scanner_key_char(KEY_0, false), '0');
        ck_assert_int_eq(scanner_key_char(KEY_0, true), ')');
        ck_assert_int_eq(scanner_key_char(KEY_MINUS, true), '_');
        ck_assert_int_eq(scanner_key_char(KEY_SLASH, true), '?');
        ck_assert_int_eq(scanner_key_char(KEY_KP5, true), '5');
        ck_assert_int_eq(scanner_key_char(KEY_F1, false), 0);
        ck_assert_int_eq(scanner_key_char(KEY_ENTER, false), 0);
        ck_assert_int_eq(scanner_key_char(KEY_RESERVED, false), 0);
        ck_assert_int_eq(scanner_key_char(1000, false), 0);
}
END_TEST

START_TEST(test_serial) {
        ScannerLine l;
        Result res = {};

        scanner_line_init(&l);
        /* "SN-SCAN-0042" and Enter, as the VM test types it */
        TYPE(&l, &res, KEY_S | SHIFT, KEY_N | SHIFT, KEY_MINUS, KEY_S | SHIFT, KEY_C | SHIFT, KEY_A | SHIFT,
             KEY_N | SHIFT, KEY_MINUS, KEY_0, KEY_0, KEY_4, KEY_2);
        ck_assert_uint_eq(res.lines, 0);
        TYPE(&l, &res, KEY_ENTER);
        expect_line(&res, 1, "SN-SCAN-0042");

        /* the next line starts afresh */
        TYPE(&l, &res, KEY_X, KEY_7, KEY_KPENTER);
        expect_line(&res, 2, "x7");
}
END_TEST

START_TEST(test_punctuation) {
        ScannerLine l = {};
        Result res = {};

        TYPE(&l, &res, KEY_A, KEY_MINUS | SHIFT, KEY_B, KEY_DOT, KEY_C, KEY_SLASH, KEY_D, KEY_SPACE, KEY_E, KEY_ENTER);
        expect_line(&res, 1, "a_b.c/d e");
        TYPE(&l, &res, KEY_1 | SHIFT, KEY_2 | SHIFT, KEY_3 | SHIFT, KEY_EQUAL, KEY_EQUAL | SHIFT, KEY_SEMICOLON | SHIFT,
             KEY_APOSTROPHE | SHIFT, KEY_LEFTBRACE, KEY_RIGHTBRACE | SHIFT, KEY_BACKSLASH, KEY_GRAVE | SHIFT,
             KEY_COMMA, KEY_ENTER);
        expect_line(&res, 2, "!@#=+:\"[}\\~,");
        /* the keypad, as with NumLock on */
        TYPE(&l, &res, KEY_KP1, KEY_KP2, KEY_KPDOT, KEY_KPMINUS, KEY_KP0, KEY_KPPLUS, KEY_KPSLASH, KEY_KPASTERISK,
             KEY_KP9 | SHIFT, KEY_KPENTER);
        expect_line(&res, 3, "12.-0+/*9");
}
END_TEST

START_TEST(test_shift_and_caps_lock) {
        ScannerLine l = {};
        Result res = {};

        /* the right Shift too, held across two keys */
        feed(&l, KEY_RIGHTSHIFT, 1, &res);
        TYPE(&l, &res, KEY_A, KEY_B);
        feed(&l, KEY_RIGHTSHIFT, 0, &res);
        TYPE(&l, &res, KEY_C, KEY_ENTER);
        expect_line(&res, 1, "ABc");

        /* both Shifts: released one, the other still holds */
        feed(&l, KEY_LEFTSHIFT, 1, &res);
        feed(&l, KEY_RIGHTSHIFT, 1, &res);
        feed(&l, KEY_LEFTSHIFT, 0, &res);
        TYPE(&l, &res, KEY_D);
        feed(&l, KEY_RIGHTSHIFT, 0, &res);
        TYPE(&l, &res, KEY_D, KEY_ENTER);
        expect_line(&res, 2, "Dd");

        /* Caps Lock turns the letters around, not the digits; it lasts across lines */
        TYPE(&l, &res, KEY_CAPSLOCK, KEY_A, KEY_B | SHIFT, KEY_1, KEY_1 | SHIFT, KEY_ENTER);
        expect_line(&res, 3, "Ab1!");
        TYPE(&l, &res, KEY_Z, KEY_CAPSLOCK, KEY_Z, KEY_ENTER);
        expect_line(&res, 4, "Zz");
}
END_TEST

START_TEST(test_repeat_and_empty) {
        ScannerLine l = {};
        Result res = {};

        /* an auto-repeat is not a key press */
        feed(&l, KEY_Q, 1, &res);
        feed(&l, KEY_Q, 2, &res);
        feed(&l, KEY_Q, 2, &res);
        feed(&l, KEY_Q, 0, &res);
        feed(&l, KEY_ENTER, 2, &res);
        ck_assert_uint_eq(res.lines, 0);
        TYPE(&l, &res, KEY_ENTER);
        expect_line(&res, 1, "q");

        /* an empty line is skipped */
        TYPE(&l, &res, KEY_ENTER, KEY_KPENTER);
        ck_assert_uint_eq(res.lines, 1);
}
END_TEST

START_TEST(test_refused) {
        ScannerLine l = {};
        Result res = {};

        /* a key without a character refuses the whole line, whatever comes after it */
        TYPE(&l, &res, KEY_A, KEY_F1, KEY_B, KEY_TAB, KEY_ENTER);
        expect_refused(&res, 1, "key code 59 has no character");
        TYPE(&l, &res, KEY_B, KEY_ENTER);
        expect_line(&res, 2, "b");

        /* on its own too */
        TYPE(&l, &res, KEY_ESC, KEY_ENTER);
        expect_refused(&res, 3, "key code 1 has no character");

        /* Ctrl+C is no 'c' */
        feed(&l, KEY_LEFTCTRL, 1, &res);
        TYPE(&l, &res, KEY_C);
        feed(&l, KEY_LEFTCTRL, 0, &res);
        TYPE(&l, &res, KEY_D, KEY_ENTER);
        expect_refused(&res, 4, "a key was pressed with Ctrl, Alt or Meta held");
        feed(&l, KEY_RIGHTALT, 1, &res);
        feed(&l, KEY_RIGHTALT, 0, &res);
        TYPE(&l, &res, KEY_E, KEY_ENTER);
        expect_line(&res, 5, "e");
}
END_TEST

START_TEST(test_length) {
        ScannerLine l = {};
        Result res = {};
        char expected[SCANNER_LINE_MAX + 1];

        /* 64 bytes: the longest serial number */
        for (size_t i = 0; i < SCANNER_LINE_MAX; i++) {
                TYPE(&l, &res, i % 2 ? KEY_8 : KEY_K);
                expected[i] = i % 2 ? '8' : 'k';
        }
        expected[SCANNER_LINE_MAX] = 0;
        TYPE(&l, &res, KEY_ENTER);
        expect_line(&res, 1, expected);
        ck_assert_uint_eq(strlen(res.text), 64);

        /* 65 */
        for (size_t i = 0; i <= SCANNER_LINE_MAX; i++)
                TYPE(&l, &res, KEY_9);
        TYPE(&l, &res, KEY_ENTER);
        expect_refused(&res, 2, "the line is longer than 64 bytes");
        TYPE(&l, &res, KEY_9, KEY_ENTER);
        expect_line(&res, 3, "9");
}
END_TEST

START_TEST(test_reset) {
        ScannerLine l = {};
        Result res = {};

        /* events were lost: what was typed and the Shift held are forgotten, Caps Lock is kept */
        TYPE(&l, &res, KEY_CAPSLOCK, KEY_A, KEY_F2);
        feed(&l, KEY_LEFTSHIFT, 1, &res);
        scanner_line_reset(&l);
        TYPE(&l, &res, KEY_B, KEY_1, KEY_ENTER);
        expect_line(&res, 1, "B1");
}
END_TEST

static Suite *scanner_keys_suite(void) {
        Suite *s = suite_create("scanner-keys");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_key_char);
        tcase_add_test(tc, test_serial);
        tcase_add_test(tc, test_punctuation);
        tcase_add_test(tc, test_shift_and_caps_lock);
        tcase_add_test(tc, test_repeat_and_empty);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_length);
        tcase_add_test(tc, test_reset);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(scanner_keys_suite)
