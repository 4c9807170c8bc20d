/* SPDX-License-Identifier: MIT */
/* ctl/json-out.c: blinkupctl's JSON writer. The expected texts are written out by hand from
 * RFC 8259 and the layouts json-out.h describes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-out.h"
#include "macro.h"
#include "tests.h"

typedef struct Capture {
        FILE *f;
        char *buf;
        size_t size;
        JsonOut j;
} Capture;

static void capture_start(Capture *c, JsonMode mode) {
        *c = (Capture){};
        c->f = open_memstream(&c->buf, &c->size);
        ck_assert_ptr_nonnull(c->f);
        json_out_init(&c->j, c->f, mode);
}

/* what was written; the caller frees it */
static char *capture_end(Capture *c) {
        ck_assert_int_eq(fclose(c->f), 0);
        return c->buf;
}

static void check_string(const char *in, size_t n, const char *want) {
        Capture c;
        char *got;

        capture_start(&c, JSON_SHORT);
        json_string_len(&c.j, in, n);
        got = capture_end(&c);
        ck_assert_str_eq(got, want);
        free(got);
}

START_TEST(test_mode) {
        JsonMode m = JSON_OFF;

        ck_assert_int_eq(json_mode_from_string(NULL, &m), 0);
        ck_assert_int_eq(m, JSON_SHORT);
        ck_assert_int_eq(json_mode_from_string("pretty", &m), 0);
        ck_assert_int_eq(m, JSON_PRETTY);
        ck_assert_int_eq(json_mode_from_string("short", &m), 0);
        ck_assert_int_eq(m, JSON_SHORT);
        ck_assert_int_eq(json_mode_from_string("off", &m), 0);
        ck_assert_int_eq(m, JSON_OFF);
        ck_assert_int_eq(json_mode_from_string("", &m), -EINVAL);
        ck_assert_int_eq(json_mode_from_string("Pretty", &m), -EINVAL);
        ck_assert_int_eq(json_mode_from_string("json", &m), -EINVAL);
        ck_assert_int_eq(m, JSON_OFF); /* untouched on failure */
}
END_TEST

START_TEST(test_escape_ascii) {
        check_string("", 0, "\"\"\n");
        check_string("plain text", 10, "\"plain text\"\n");
        check_string("say \"hi\"", 8, "\"say \\\"hi\\\"\"\n");
        check_string("C:\\dir", 6, "\"C:\\\\dir\"\n");
        check_string("/", 1, "\"/\"\n"); /* allowed bare */
        check_string("a\nb\tc\rd", 7, "\"a\\u000ab\\u0009c\\u000dd\"\n");
        check_string("\x01\x1b[0m\x1f\x7f", 7, "\"\\u0001\\u001b[0m\\u001f\\u007f\"\n");
        check_string("a\0b", 3, "\"a\\u0000b\"\n");
}
END_TEST

START_TEST(test_escape_utf8) {
        /* valid: two, three and four bytes, passed through */
        check_string("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"\n");
        check_string("\xe2\x82\xac 5", 5, "\"\xe2\x82\xac 5\"\n");
        check_string("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"\n");
        check_string("\xef\xbf\xbd", 3, "\"\xef\xbf\xbd\"\n");        /* U+FFFD itself */
        check_string("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"\n"); /* U+10FFFF, the last */
        /* invalid: each byte that starts no valid sequence becomes U+FFFD */
        check_string("a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"\n");
        check_string("\x80", 1, "\"\xef\xbf\xbd\"\n");                    /* lone continuation */
        check_string("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"\n");    /* overlong '/' */
        check_string("\xe0\x80\xaf", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"\n"); /* overlong */
        check_string("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"\n"); /* U+D800 */
        check_string("\xf4\x90\x80\x80", 4,
                     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"\n"); /* above U+10FFFF */
        check_string("caf\xc3", 4, "\"caf\xef\xbf\xbd\"\n");          /* cut short at the end */
        check_string("\xc3" "a", 2, "\"\xef\xbf\xbd" "a\"\n");         /* cut short by ASCII */
        check_string("\xe2\x82" "\"", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\\\"\"\n");
}
END_TEST

START_TEST(test_scalars) {
        Capture c;
        char *got;

        capture_start(&c, JSON_SHORT);
        json_unsigned(&c.j, 0);
        json_unsigned(&c.j, UINT64_MAX);
        json_signed(&c.j, INT64_MIN);
        json_signed(&c.j, -1);
        json_bool(&c.j, true);
        json_bool(&c.j, false);
        json_null(&c.j);
        json_string(&c.j, NULL);
        json_double(&c.j, 0.5);
        json_double(&c.j, -2);
        json_double(&c.j, NAN);
        json_double(&c.j, INFINITY);
        got = capture_end(&c);
        ck_assert_str_eq(got, "0\n18446744073709551615\n-9223372036854775808\n-1\ntrue\nfalse\nnull\nnull\n"
                              "0.5\n-2\nnull\nnull\n");
        free(got);
}
END_TEST

/* {"id":7,"ok":true,"device":null,"timing":{"edges":212},"tags":["a",[]],"empty":{}} */
static void write_sample(JsonOut *j) {
        json_begin_object(j);
        json_field_unsigned(j, "id", 7);
        json_field_bool(j, "ok", true);
        json_field_null(j, "device");
        json_key(j, "timing");
        json_begin_object(j);
        json_field_unsigned(j, "edges", 212);
        json_end_object(j);
        json_key(j, "tags");
        json_begin_array(j);
        json_string(j, "a");
        json_begin_array(j);
        json_end_array(j);
        json_end_array(j);
        json_key(j, "empty");
        json_begin_object(j);
        json_end_object(j);
        json_end_object(j);
}

START_TEST(test_short) {
        Capture c;
        char *got;

        capture_start(&c, JSON_SHORT);
        write_sample(&c.j);
        write_sample(&c.j);
        got = capture_end(&c);
        ck_assert_str_eq(got, "{\"id\":7,\"ok\":true,\"device\":null,\"timing\":{\"edges\":212},"
                              "\"tags\":[\"a\",[]],\"empty\":{}}\n"
                              "{\"id\":7,\"ok\":true,\"device\":null,\"timing\":{\"edges\":212},"
                              "\"tags\":[\"a\",[]],\"empty\":{}}\n");
        free(got);
}
END_TEST

START_TEST(test_pretty) {
        static const char want[] =
                "{\n"
                "\t\"id\" : 7,\n"
                "\t\"ok\" : true,\n"
                "\t\"device\" : null,\n"
                "\t\"timing\" : {\n"
                "\t\t\"edges\" : 212\n"
                "\t},\n"
                "\t\"tags\" : [\n"
                "\t\t\"a\",\n"
                "\t\t[]\n"
                "\t],\n"
                "\t\"empty\" : {}\n"
                "}\n";
        Capture c;
        char *got;

        capture_start(&c, JSON_PRETTY);
        write_sample(&c.j);
        json_begin_object(&c.j);
        json_end_object(&c.j);
        got = capture_end(&c);
        ck_assert_int_eq(strncmp(got, want, strlen(want)), 0);
        ck_assert_str_eq(got + strlen(want), "{}\n");
        free(got);
}
END_TEST

START_TEST(test_keys_escaped) {
        Capture c;
        char *got;

        capture_start(&c, JSON_SHORT);
        json_begin_object(&c.j);
        json_field_string(&c.j, "a\"b", "x\ny");
        json_end_object(&c.j);
        got = capture_end(&c);
        ck_assert_str_eq(got, "{\"a\\\"b\":\"x\\u000ay\"}\n");
        free(got);
}
END_TEST

START_TEST(test_too_deep) {
        Capture c;
        char *got;

        capture_start(&c, JSON_SHORT);
        for (unsigned i = 0; i < JSON_DEPTH_MAX + 1; i++)
                json_begin_array(&c.j);
        ck_assert_int_eq(c.j.error, -E2BIG);
        json_unsigned(&c.j, 1); /* nothing more is written */
        got = capture_end(&c);
        ck_assert_uint_eq(strlen(got), JSON_DEPTH_MAX);
        ck_assert_ptr_null(strchr(got, '1'));
        free(got);
}
END_TEST

static Suite *json_out_suite(void) {
        Suite *s = suite_create("json-out");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_mode);
        tcase_add_test(tc, test_escape_ascii);
        tcase_add_test(tc, test_escape_utf8);
        tcase_add_test(tc, test_scalars);
        tcase_add_test(tc, test_short);
        tcase_add_test(tc, test_pretty);
        tcase_add_test(tc, test_keys_escaped);
        tcase_add_test(tc, test_too_deep);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(json_out_suite)
