/* SPDX-License-Identifier: MIT */
/* lib/identity.c: the rules for an attempt's serial number and operator (identity.h). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "identity.h"
#include "macro.h"
#include "tests.h"

static void check_ok(const char *key, const char *value) {
        ErrorText e = {};

        ck_assert_msg(identity_check(key, value, &e) == 0, "%s=\"%s\": %s", key, value, e.message);
}

/* refused with -EINVAL, the message naming the key and saying WHY */
static void check_bad(const char *key, const char *value, const char *why) {
        ErrorText e = {};

        ck_assert_int_eq(identity_check(key, value, &e), -EINVAL);
        ck_assert_msg(strncmp(e.message, key, strlen(key)) == 0, "%s", e.message);
        ck_assert_msg(strstr(e.message, why), "%s=\"%s\": %s", key, value, e.message);
}

START_TEST(test_keys) {
        ErrorText e = {};

        ck_assert(identity_key_is_known("serial"));
        ck_assert(identity_key_is_known("operator"));
        ck_assert(!identity_key_is_known("Serial"));
        ck_assert(!identity_key_is_known(""));
        ck_assert(!identity_key_is_known(NULL));
        ck_assert_int_eq(identity_check("colour", "red", &e), -ENOKEY);
        ck_assert_msg(strstr(e.message, "\"colour\""), "%s", e.message);
        ck_assert_int_eq(identity_check(NULL, "x", NULL), -ENOKEY);
}
END_TEST

START_TEST(test_good_values) {
        char max[IDENTITY_VALUE_MAX + 1];

        memset(max, 'A', IDENTITY_VALUE_MAX);
        max[IDENTITY_VALUE_MAX] = 0;
        check_ok("serial", "SN123");
        check_ok("serial", "A");
        check_ok("serial", "SN-0042/A_b.c#7");
        check_ok("serial", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"); /* é € U+1F600 */
        check_ok("serial", max);
        check_ok("operator", max);
        check_ok("operator", "alice");
        check_ok("operator", "Zo\xc3\xab Smith");
        check_ok("operator", "Jean  Dupont"); /* inner spaces, even two */
        check_ok("operator", "\"quoted\" \\ back=slash");
}
END_TEST

START_TEST(test_bad_values) {
        char long_value[IDENTITY_VALUE_MAX + 2];

        memset(long_value, 'A', IDENTITY_VALUE_MAX + 1);
        long_value[IDENTITY_VALUE_MAX + 1] = 0;
        check_bad("serial", "", "empty");
        check_bad("operator", "", "empty");
        check_bad("serial", NULL, "empty");
        check_bad("serial", long_value, "65 bytes, more than 64");
        check_bad("operator", long_value, "65 bytes");
        /* 63 bytes and a two-byte character: 65 bytes */
        memcpy(long_value + IDENTITY_VALUE_MAX - 1, "\xc3\xa9", 3);
        check_bad("operator", long_value, "65 bytes");

        check_bad("serial", "SN 123", "a space at byte 2");
        check_bad("serial", " SN123", "a space at byte 0");
        check_bad("operator", " alice", "starts or ends with a space");
        check_bad("operator", "alice ", "starts or ends with a space");
        check_bad("operator", " ", "starts or ends with a space");

        check_bad("serial", "SN\t123", "control character U+0009 at byte 2");
        check_bad("operator", "ali\nce", "control character U+000A");
        check_bad("operator", "a\rb", "U+000D");
        check_bad("serial", "\x1b[31m", "U+001B at byte 0");
        check_bad("serial", "SN\x7f", "U+007F");
        check_bad("serial", "SN\xc2\x85", "U+0085"); /* NEL, a C1 control */
        check_bad("operator", "a\xe2\x80\xa8z", "U+2028");
        check_bad("operator", "a\xe2\x80\xa9z", "U+2029");
}
END_TEST

START_TEST(test_bad_utf8) {
        check_bad("serial", "SN\xff", "not valid UTF-8 at byte 2");
        check_bad("serial", "\x80", "not valid UTF-8 at byte 0");       /* a stray continuation byte */
        check_bad("serial", "ab\xc3", "not valid UTF-8 at byte 2");     /* cut short */
        check_bad("serial", "\xc3(", "not valid UTF-8");                /* not a continuation */
        check_bad("serial", "\xc0\xaf", "not valid UTF-8");             /* overlong '/' */
        check_bad("serial", "\xe0\x80\xaf", "not valid UTF-8");         /* overlong, 3 bytes */
        check_bad("serial", "\xf0\x80\x80\xaf", "not valid UTF-8");     /* overlong, 4 bytes */
        check_bad("operator", "\xed\xa0\x80", "not valid UTF-8");       /* a surrogate, U+D800 */
        check_bad("operator", "\xf4\x90\x80\x80", "not valid UTF-8");   /* U+110000 */
        check_bad("operator", "\xf8\x88\x80\x80\x80", "not valid UTF-8"); /* 5 bytes */
}
END_TEST

static Suite *identity_suite(void) {
        Suite *s = suite_create("identity");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_keys);
        tcase_add_test(tc, test_good_values);
        tcase_add_test(tc, test_bad_values);
        tcase_add_test(tc, test_bad_utf8);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(identity_suite)
