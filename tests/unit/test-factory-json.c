/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "factory-json.h"
#include "tests.h"

#define S(x) (x), strlen(x)

static void expect_bad(int (*parse)(const char *, size_t, void *, ErrorText *), const char *body,
                       const char *message) {
        ErrorText err = {};
        char untouched[512];
        int r;

        memset(untouched, 0x5a, sizeof(untouched));
        char ret[512];
        memcpy(ret, untouched, sizeof(ret));
        r = parse(body, strlen(body), ret, &err);
        ck_assert_msg(r == -EBADMSG, "\"%s\" was accepted (r=%d)", body, r);
        ck_assert_msg(streq(err.message, message), "for %s\n  got      \"%s\"\n  expected \"%s\"", body,
                      err.message, message);
        ck_assert_msg(memcmp(ret, untouched, sizeof(ret)) == 0, "output written on failure");
}

static int parse_auth(const char *b, size_t n, void *ret, ErrorText *e) {
        return factory_json_parse_auth(b, n, ret, e);
}
static int parse_device(const char *b, size_t n, void *ret, ErrorText *e) {
        return factory_json_parse_device(b, n, ret, e);
}
static int parse_enroll(const char *b, size_t n, void *ret, ErrorText *e) {
        return factory_json_parse_enroll(b, n, ret, e);
}
static int parse_confirm(const char *b, size_t n, void *ret, ErrorText *e) {
        return factory_json_parse_confirm(b, n, ret, e);
}

/* ---- request bodies ---- */

static json_object *parse_body(const char *s) {
        json_object *o = json_tokener_parse(s);
        ck_assert_msg(o && json_object_is_type(o, json_type_object), "not a JSON object: %s", s);
        return o;
}

static const char *member(json_object *o, const char *key) {
        json_object *v;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
        ck_assert(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

START_TEST(test_build_auth) {
        _cleanup_(erase_and_freep) char *s = NULL;
        json_object *o;

        ck_assert_int_eq(factory_json_build_auth("k\"ey\\/é\n", &s), 0);
        o = parse_body(s);
        ck_assert_int_eq(json_object_object_length(o), 1);
        ck_assert_str_eq(member(o, "key"), "k\"ey\\/é\n");
        json_object_put(o);

        ck_assert_int_eq(factory_json_build_auth("", &s), -EINVAL);
        ck_assert_int_eq(factory_json_build_auth(NULL, &s), -EINVAL);
}
END_TEST

START_TEST(test_build_enroll) {
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL;
        char *x = (char *) "untouched";
        json_object *o;

        ck_assert_int_eq(factory_json_build_enroll_factory("0123456789ABCDEF", &a), 0);
        o = parse_body(a);
        ck_assert_int_eq(json_object_object_length(o), 2);
        ck_assert_str_eq(member(o, "type"), "factory_token");
        ck_assert_str_eq(member(o, "fixture_id"), "0123456789abcdef");
        json_object_put(o);

        ck_assert_int_eq(factory_json_build_enroll_production(NULL, &b), 0);
        o = parse_body(b);
        ck_assert_int_eq(json_object_object_length(o), 1);
        ck_assert_str_eq(member(o, "type"), "production_token");
        json_object_put(o);

        ck_assert_int_eq(factory_json_build_enroll_production("Ff", &c), 0);
        o = parse_body(c);
        ck_assert_int_eq(json_object_object_length(o), 2);
        ck_assert_str_eq(member(o, "plan_id"), "ff");
        json_object_put(o);

        ck_assert_int_eq(factory_json_build_enroll_factory("0123456789abcdef0", &x), -EINVAL);
        ck_assert_int_eq(factory_json_build_enroll_factory("", &x), -EINVAL);
        ck_assert_int_eq(factory_json_build_enroll_factory("xyz", &x), -EINVAL);
        ck_assert_int_eq(factory_json_build_enroll_production("g", &x), -EINVAL);
        ck_assert_str_eq(x, "untouched");
}
END_TEST

/* ---- auth ---- */

START_TEST(test_auth_ok) {
        FactoryAuth *a = NULL;

        ck_assert_int_eq(
                factory_json_parse_auth(S("{\"access_token\": \"abc.DEF-1\", \"expires_in\": 3600, "
                                         "\"expires_at\": \"2026-11-24T10:00:00Z\", \"refresh_token\": "
                                         "\"r\", \"unknown\": {\"x\": [1, 2]}}"),
                                       &a, NULL),
                0);
        ck_assert_str_eq(a->access_token, "abc.DEF-1");
        ck_assert_str_eq(a->refresh_token, "r");
        ck_assert(a->have_expires_in);
        ck_assert_uint_eq(a->expires_in, 3600);
        ck_assert(a->have_expires_at);
        ck_assert_int_eq(a->expires_at, 1795514400);
        a = factory_auth_free(a);
        ck_assert_ptr_null(a);

        /* only the token is required */
        ck_assert_int_eq(
                factory_json_parse_auth(S(" {\"access_token\":\"t\", \"expires_in\": null}\n"), &a, NULL), 0);
        ck_assert_str_eq(a->access_token, "t");
        ck_assert_ptr_null(a->refresh_token);
        ck_assert(!a->have_expires_in);
        ck_assert(!a->have_expires_at);
        a = factory_auth_free(a);
}
END_TEST

/* documents that break the contract: refused, with this message, the output untouched */
static const struct {
        int (*parse)(const char *, size_t, void *, ErrorText *);
        const char *body;
        const char *message;
} bad_documents[] = {
        { parse_auth, "", "auth: the response is empty" },
        { parse_auth, "{}", "auth: access_token is missing" },
        { parse_auth, "{\"access_token\": 5}", "auth: access_token is a number, not a string" },
        { parse_auth, "{\"access_token\": \"\"}", "auth: access_token is empty" },
        { parse_auth, "{\"access_token\": \"a b\"}",
          "auth: access_token contains characters not allowed in a header" },
        { parse_auth, "{\"access_token\": \"a\\r\\nX: y\"}",
          "auth: access_token contains characters not allowed in a header" },
        { parse_auth, "{\"access_token\": \"a\", \"expires_in\": \"3600\"}",
          "auth: expires_in is a string, not an integer" },
        { parse_auth, "{\"access_token\": \"a\", \"expires_in\": 1.5}",
          "auth: expires_in is a number, not an integer" },
        { parse_auth, "{\"access_token\": \"a\", \"expires_in\": -1}",
          "auth: expires_in is out of range" },
        { parse_auth, "{\"access_token\": \"a\", \"expires_at\": \"tomorrow\"}",
          "auth: expires_at is not an RFC 3339 UTC time" },
        { parse_auth, "{\"access_token\": \"a\", \"expires_at\": 5}",
          "auth: expires_at is a number, not a string" },
        { parse_auth, "{\"access_token\": \"a\", \"refresh_token\": []}",
          "auth: refresh_token is an array, not a string" },
        { parse_auth, "[]", "auth: the response is an array, not a JSON object" },
        { parse_auth, "\"x\"", "auth: the response is a string, not a JSON object" },
        { parse_auth, "{\"access_token\": \"a\"", "auth: the response is truncated JSON" },
        { parse_auth, "{\"access_token\": \"a\"} {}",
          "auth: the response has data after the JSON document" },
        { parse_auth, "<html></html>",
          "auth: the response is not valid JSON (unexpected character)" },
        { parse_device, "{}", "device: data is missing" },
        { parse_device, "{\"data\": []}", "device: data is an array, not an object" },
        { parse_device, "{\"data\": {\"type\": \"user\"}}",
          "device: data.type is \"user\", not \"device\"" },
        { parse_device, "{\"data\": {\"type\": 1}}", "device: data.type is a number, not a string" },
        { parse_device, "{\"data\": {\"id\": \"xyz\"}}", "device: data.id is not 1..16 hex digits" },
        { parse_device, "{\"data\": {\"id\": 12}}", "device: data.id is a number, not a string" },
        { parse_device, "{\"data\": {\"relationships\": \"x\"}}",
          "device: data.relationships is a string, not an object" },
        { parse_device, "{\"data\": {\"relationships\": {\"devicegroup\": true}}}",
          "device: data.relationships.devicegroup is a boolean, not an object" },
        { parse_device, "{\"data\": {\"relationships\": {\"devicegroup\": {}}}}",
          "device: data.relationships.devicegroup.type is missing" },
        { parse_device, "{\"data\": {\"relationships\": {\"devicegroup\": {\"type\": 3}}}}",
          "device: data.relationships.devicegroup.type is a number, not a string" },
        { parse_enroll, "{\"plan_id\": \"01\", \"token_id\": \"xyz\"}",
          "enroll: token_id is not 1..16 hex digits" },
        { parse_enroll, "{\"plan_id\": \"01\", \"token_id\": \"\"}",
          "enroll: token_id is not 1..16 hex digits" },
        { parse_enroll, "{\"plan_id\": \"01\", \"token_id\": \"0123456789abcdef0\"}",
          "enroll: token_id is not 1..16 hex digits" },
        { parse_enroll, "{\"plan_id\": \"0x12\", \"token_id\": \"1\"}",
          "enroll: plan_id is not 1..16 hex digits" },
        { parse_enroll, "{\"plan_id\": \" 12\", \"token_id\": \"1\"}",
          "enroll: plan_id is not 1..16 hex digits" },
        { parse_enroll, "{\"plan_id\": 12, \"token_id\": \"1\"}",
          "enroll: plan_id is a number, not a string" },
        { parse_enroll, "{\"plan_id\": \"12\", \"token_id\": {}}",
          "enroll: token_id is an object, not a string" },
        { parse_enroll, "{\"token_id\": \"1\"}", "enroll: plan_id is missing" },
        { parse_enroll, "{\"plan_id\": \"1\", \"token_id\": null}", "enroll: token_id is missing" },
        { parse_enroll, "{\"plan_id\": \"1\", \"token_id\": \"2\", \"expires_at\": \"2026-13-01T00:00:00Z\"}",
          "enroll: expires_at is not an RFC 3339 UTC time" },
        { parse_enroll, "{\"plan_id\": \"01", "enroll: the response is truncated JSON" },
        { parse_enroll, " \n ", "enroll: the response is empty" },
        { parse_enroll, "{\"plan_id\": \"1\",, }",
          "enroll: the response is not valid JSON (quoted object property name expected)" },
        { parse_enroll, "null", "enroll: the response is null, not a JSON object" },
        { parse_confirm, "{}", "confirm: status is missing" },
        { parse_confirm, "{\"status\": 1}", "confirm: status is a number, not a string" },
        { parse_confirm, "{\"status\": \"claimed\"}", "confirm: device_id is missing" },
        { parse_confirm, "{\"status\": \"claimed\", \"device_id\": \"0011\"}",
          "confirm: device_id is not 16 hex digits" },
        { parse_confirm, "{\"status\": \"claimed\", \"device_id\": \"00112233aabbccdg\"}",
          "confirm: device_id is not 16 hex digits" },
        { parse_confirm, "{\"status\": \"claimed\", \"device_id\": 5}",
          "confirm: device_id is a number, not a string" },
        { parse_confirm, "{\"status\": \"pending\", \"token_id\": \"zz\"}",
          "confirm: token_id is not 1..16 hex digits" },
        { parse_confirm, "{\"status\": \"pending\", \"plan_id\": []}",
          "confirm: plan_id is an array, not a string" },
        { parse_confirm, "{\"status\": \"error\", \"error\": \"x\"}",
          "confirm: error is a string, not an object" },
        { parse_confirm, "{\"status\": \"error\", \"error\": {\"code\": 4}}",
          "confirm: error.code is a number, not a string" },
};

START_TEST(test_bad_document) {
        expect_bad(bad_documents[_i].parse, bad_documents[_i].body, bad_documents[_i].message);
}
END_TEST


START_TEST(test_auth_nul) {
        ErrorText err;
        FactoryAuth *a = NULL;

        ck_assert_int_eq(factory_json_parse_auth("{\"access_token\": \"a\"}\0", 22, &a, &err), -EBADMSG);
        ck_assert_ptr_null(a);
        ck_assert_str_eq(err.message, "auth: the response contains a NUL byte");
}
END_TEST

/* ---- device ---- */

START_TEST(test_device) {
        FactoryDevice d;

        ck_assert_int_eq(
                factory_json_parse_device(S("{\"data\": {\"type\": \"device\", \"id\": \"0123456789ABCDEF\", "
                                           "\"attributes\": {\"name\": \"x\"}, \"relationships\": "
                                           "{\"devicegroup\": {\"type\": \"factoryfixture_devicegroup\", "
                                           "\"id\": \"dg-1\"}, \"product\": {}}}, \"meta\": 1}"),
                                         &d, NULL),
                0);
        ck_assert_str_eq(d.id, "0123456789abcdef");
        ck_assert_str_eq(d.group_type, "factoryfixture_devicegroup");
        ck_assert(d.factory_fixture);

        ck_assert_int_eq(factory_json_parse_device(S("{\"data\": {\"relationships\": {\"devicegroup\": "
                                                    "{\"type\": \"pre_factoryfixture_devicegroup\"}}}}"),
                                                  &d, NULL),
                         0);
        ck_assert_str_eq(d.id, "");
        ck_assert(d.factory_fixture);

        ck_assert_int_eq(factory_json_parse_device(S("{\"data\": {\"relationships\": {\"devicegroup\": "
                                                    "{\"type\": \"development_devicegroup\"}}}}"),
                                                  &d, NULL),
                         0);
        ck_assert_str_eq(d.group_type, "development_devicegroup");
        ck_assert(!d.factory_fixture);

        /* a near miss is no factory fixture */
        ck_assert_int_eq(factory_json_parse_device(S("{\"data\": {\"relationships\": {\"devicegroup\": "
                                                    "{\"type\": \"factoryfixture_devicegroupX\"}}}}"),
                                                  &d, NULL),
                         0);
        ck_assert(!d.factory_fixture);

        /* no relationship, no group: not a factory fixture, but no error */
        ck_assert_int_eq(factory_json_parse_device(S("{\"data\": {\"type\": \"device\"}}"), &d, NULL), 0);
        ck_assert(!d.factory_fixture);
        ck_assert_str_eq(d.group_type, "");
        ck_assert_int_eq(factory_json_parse_device(S("{\"data\": {\"relationships\": {}}}"), &d, NULL), 0);
        ck_assert(!d.factory_fixture);
        ck_assert_int_eq(factory_json_parse_device(
                                 S("{\"data\": {\"relationships\": {\"devicegroup\": null}}}"), &d, NULL),
                         0);
        ck_assert(!d.factory_fixture);
}
END_TEST


/* ---- enroll ---- */

START_TEST(test_enroll) {
        FactoryEnroll e;

        ck_assert_int_eq(factory_json_parse_enroll(
                                 S("{\"plan_id\": \"0123456789abcdef\", \"token_id\": \"FEDCBA9876543210\", "
                                   "\"expires_at\": \"2026-11-24T10:00:00.123Z\", \"x\": null}"),
                                 &e, NULL),
                         0);
        ck_assert_str_eq(e.plan_id, "0123456789abcdef");
        ck_assert_str_eq(e.token_id, "fedcba9876543210");
        ck_assert(e.have_expires_at);
        ck_assert_int_eq(e.expires_at, 1795514400);

        ck_assert_int_eq(factory_json_parse_enroll(S("{\"token_id\": \"1\", \"plan_id\": \"a\"}"), &e, NULL),
                         0);
        ck_assert_str_eq(e.plan_id, "a");
        ck_assert_str_eq(e.token_id, "1");
        ck_assert(!e.have_expires_at);
}
END_TEST


/* ---- confirm ---- */

START_TEST(test_confirm) {
        FactoryConfirm c;

        ck_assert_int_eq(
                factory_json_parse_confirm(
                        S("{\"token_id\": \"ab\", \"plan_id\": \"cd\", \"status\": \"pending\"}"), &c, NULL),
                0);
        ck_assert_int_eq(c.status, FACTORY_ENROLL_PENDING);
        ck_assert_str_eq(c.token_id, "ab");
        ck_assert_str_eq(c.plan_id, "cd");
        ck_assert_str_eq(c.device_id, "");

        ck_assert_int_eq(
                factory_json_parse_confirm(S("{\"status\": \"claimed\", \"device_id\": \"00112233AABBCCDD\", "
                                            "\"claimed_at\": \"2026-11-24T10:00:00Z\"}"),
                                          &c, NULL),
                0);
        ck_assert_int_eq(c.status, FACTORY_ENROLL_CLAIMED);
        ck_assert_str_eq(c.device_id, "00112233aabbccdd");

        ck_assert_int_eq(factory_json_parse_confirm(S("{\"status\": \"error\", \"error\": {\"code\": \"E1\", "
                                                     "\"message\": \"bad\\tthing\"}}"),
                                                   &c, NULL),
                         0);
        ck_assert_int_eq(c.status, FACTORY_ENROLL_ERROR);
        ck_assert_str_eq(c.error, "E1: bad thing");

        ck_assert_int_eq(factory_json_parse_confirm(
                                 S("{\"status\": \"error\", \"error\": {\"message\": \"only\"}}"), &c, NULL),
                         0);
        ck_assert_str_eq(c.error, "only");
        ck_assert_int_eq(factory_json_parse_confirm(S("{\"status\": \"error\"}"), &c, NULL), 0);
        ck_assert_str_eq(c.error, "no details given");

        /* a status this client does not know: keep polling */
        ck_assert_int_eq(factory_json_parse_confirm(S("{\"status\": \"blinking\"}"), &c, NULL), 0);
        ck_assert_int_eq(c.status, FACTORY_ENROLL_PENDING);
        ck_assert_str_eq(c.status_text, "blinking");
}
END_TEST


/* ---- error documents ---- */

static void expect_error_text(const char *body, const char *content_type, const char *expected) {
        char buf[160];

        memset(buf, 'x', sizeof(buf));
        factory_json_error_text(body, body ? strlen(body) : 0, content_type, buf, sizeof(buf));
        ck_assert_msg(streq(buf, expected), "for %s\n  got      \"%s\"\n  expected \"%s\"", body, buf,
                      expected);
}

/* an error document of any shape: its human part, or what came instead */
static const struct {
        const char *body;
        const char *content_type;
        const char *expected;
} error_documents[] = {
        { "{\"errors\": [{\"status\": \"403\", \"code\": \"C\", \"title\": \"Forbidden\", "
          "\"detail\": \"not yours\"}, {\"title\": \"second\"}]}",
          "application/json", "Forbidden: not yours" },
        { "{\"errors\": [{\"title\": \"Only a title\"}]}", NULL, "Only a title" },
        { "{\"errors\": [{\"detail\": \"only detail\"}]}", NULL, "only detail" },
        { "{\"errors\": [{\"code\": \"the_code\", \"detail\": \"d\"}]}", NULL, "the_code: d" },
        { "{\"errors\": [{\"title\": 5}]}", NULL, "no title or detail in the error document" },
        { "{\"errors\": [{\"title\": \"line\\nbreak\\u0001\"}]}", NULL, "line break?" },
        { "{\"errors\": []}", NULL, "no \"errors\" in the error document" },
        { "{\"message\": \"x\"}", NULL, "no \"errors\" in the error document" },
        { "{\"errors\": [\"x\"]}", NULL, "malformed \"errors\" in the error document" },
        { "", NULL, "empty response" },
        { NULL, NULL, "empty response" },
        { " \r\n", "application/json", "empty response" },
        { "<html><body>502</body></html>", NULL, "HTML response, not a JSON error document" },
        { "Bad gateway", "text/html; charset=utf-8", "HTML response, not a JSON error document" },
        { "{\"errors\": [{\"title\": \"Cut o", "application/json", "truncated JSON error document" },
        { "Internal error", "text/plain", "malformed error document" },
};

START_TEST(test_error_text) {
        expect_error_text(error_documents[_i].body, error_documents[_i].content_type,
                          error_documents[_i].expected);
}
END_TEST

START_TEST(test_error_text_long) {
        char body[1024], buf[64];

        (void) snprintf(body, sizeof(body), "{\"errors\": [{\"title\": \"%0400d\"}]}", 7);
        factory_json_error_text(body, strlen(body), NULL, buf, sizeof(buf));
        ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
        ck_assert_str_eq(buf + strlen(buf) - 3, "...");
}
END_TEST

START_TEST(test_time) {
        time_t t;

        ck_assert_int_eq(factory_json_parse_time("1970-01-01T00:00:00Z", &t), 0);
        ck_assert_int_eq(t, 0);
        ck_assert_int_eq(factory_json_parse_time("2026-11-24T10:00:00+00:00", &t), 0);
        ck_assert_int_eq(t, 1795514400);
        ck_assert_int_eq(factory_json_parse_time("2024-02-29T23:59:59.5z", &t), 0);
        ck_assert_int_eq(t, 1709251199);
        ck_assert_int_eq(factory_json_parse_time("2026-11-24T10:00:00", &t), -EINVAL);
        ck_assert_int_eq(factory_json_parse_time("2026-11-24T10:00:00+01:00", &t), -EINVAL);
        ck_assert_int_eq(factory_json_parse_time("2026-11-24T25:00:00Z", &t), -EINVAL);
        ck_assert_int_eq(factory_json_parse_time("2026-11-24T10:00:00.Z", &t), -EINVAL);
        ck_assert_int_eq(factory_json_parse_time("26-11-24T10:00:00Z", &t), -EINVAL);
        ck_assert_int_eq(factory_json_parse_time("", &t), -EINVAL);
}
END_TEST

START_TEST(test_id_valid) {
        ck_assert(factory_id_valid("0", 16));
        ck_assert(factory_id_valid("0123456789abcdef", 16));
        ck_assert(factory_id_valid("ABCDEF", 16));
        ck_assert(!factory_id_valid("0123456789abcdef0", 16));
        ck_assert(!factory_id_valid("", 16));
        ck_assert(!factory_id_valid(NULL, 16));
        ck_assert(!factory_id_valid("12 3", 16));
        ck_assert(!factory_id_valid("-1", 16));
}
END_TEST

static Suite *factory_json_suite(void) {
        Suite *s = suite_create("server-json");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_build_auth);
        tcase_add_test(tc, test_build_enroll);
        tcase_add_test(tc, test_auth_ok);
        tcase_add_loop_test(tc, test_bad_document, 0, ELEMENTSOF(bad_documents));
        tcase_add_test(tc, test_auth_nul);
        tcase_add_test(tc, test_device);
        tcase_add_test(tc, test_enroll);
        tcase_add_test(tc, test_confirm);
        tcase_add_loop_test(tc, test_error_text, 0, ELEMENTSOF(error_documents));
        tcase_add_test(tc, test_error_text_long);
        tcase_add_test(tc, test_time);
        tcase_add_test(tc, test_id_valid);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(factory_json_suite)
