/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "decoder.h"
#include "frame.h"
#include "tests.h"

#define P "0123456789abcdef"
#define K "fedcba9876543210"

/* encode and compare with a hex string worked out by hand (tests/helpers/vectors.py) */
static void expect_hex(const FrameRequest *req, const char *hex) {
        ErrorText err = {};
        Frame f;
        char buf[2 * FRAME_BYTES_MAX + 1];
        int r;

        r = frame_encode(req, &f, &err);
        ck_assert_msg(r == 0, "frame_encode failed: %s", err.message);
        frame_to_hex(&f, buf);
        ck_assert_str_eq(buf, hex);
        ck_assert_uint_eq(f.size * 2, strlen(hex));
}

static void expect_error(const FrameRequest *req, int error, const char *substring) {
        ErrorText err = {};
        Frame f = { .size = 12345 };
        int r;

        r = frame_encode(req, &f, &err);
        ck_assert_int_eq(r, error);
        ck_assert_msg(strstr(err.message, substring), "message \"%s\" lacks \"%s\"",
                      err.message, substring);
        ck_assert_uint_eq(f.size, 12345); /* untouched */
}

START_TEST(test_crc_check_value) {
        ck_assert_uint_eq(frame_crc("123456789", 9), 0x9540);
        ck_assert_uint_eq(frame_crc("", 0), 0);
}
END_TEST

/* The CRC of the one byte i, from 0, is the table's entry i. */
static uint16_t frame_crc_table(uint8_t i) {
        return frame_crc(&i, 1);
}

START_TEST(test_crc_table) {
        ck_assert_uint_eq(frame_crc_table(0), 0x0000);
        ck_assert_uint_eq(frame_crc_table(1), 0xC0C1);
        ck_assert_uint_eq(frame_crc_table(2), 0xC181);
        ck_assert_uint_eq(frame_crc_table(255), 0x4040);
        /* and the whole table against the test's own derivation */
        for (unsigned i = 0; i < 256; i++)
                ck_assert_uint_eq(frame_crc_table((uint8_t) i), decoder_crc_table_entry((uint8_t) i));
        ck_assert_uint_eq(decoder_crc((const uint8_t *) "123456789", 9), 0x9540);
}
END_TEST

START_TEST(test_spec_clear) {
        FrameRequest req = { .clear = true };
        Frame f;

        expect_hex(&req, "55555555555555552a0207001d41");
        frame_encode_clear(&f);
        ck_assert_uint_eq(frame_bits(&f), 112);
}
END_TEST

START_TEST(test_spec_wifi) {
        FrameRequest req = { .ssid = "Factory", .password = "secret123", .plan_id = P, .token = K };
        Frame f;

        expect_hex(&req, "55555555555555552a260107466163746f727906097365637265743132330510"
                         "efcdab89674523011032547698badcfe29c1");
        ck_assert_int_eq(frame_encode(&req, &f, NULL), 0);
        ck_assert_uint_eq(frame_bits(&f), 400);
        /* MSB first: the air begins dark, light, dark, light */
        ck_assert(!frame_bit(&f, 0));
        ck_assert(frame_bit(&f, 1));
        ck_assert(!frame_bit(&f, 2));
}
END_TEST

START_TEST(test_spec_no_wifi) {
        FrameRequest req = { .ssid = "", .password = "", .plan_id = P, .token = K };
        expect_hex(&req, "55555555555555552a120510efcdab89674523011032547698badcfee401");
        FrameRequest req2 = { .plan_id = P, .token = K };
        expect_hex(&req2, "55555555555555552a120510efcdab89674523011032547698badcfee401");
}
END_TEST

START_TEST(test_own_vectors) {
        static const struct {
                FrameRequest req;
                const char *hex;
        } v[] = {
                { { .ssid = "F\xc3\xa1" "brica-\xce\xa9", .password = "secret123", .plan_id = P, .token = K },
                  "55555555555555552a2a010b46c3a162726963612dcea906097365637265743132330510efcdab89674523011032547698badcfe7940" },
                { { .ssid = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
                    .password = "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
                    .plan_id = P, .token = K },
                  "55555555555555552a7501204142434445464748494a4b4c4d4e4f505152535455565758595a303132333435063f7070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070700510efcdab89674523011032547698badcfe8e00" },
                { { .ssid = "Factory",
                    .password = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
                    .plan_id = P, .token = K },
                  "55555555555555552a5d0107466163746f72790640303132333435363738394142434445463031323334353637383941424344454630313233343536373839414243444546303132333435363738394142434445460510efcdab89674523011032547698badcfeaf41" },
                { { .ssid = "W", .password = "abcde", .plan_id = P, .token = K },
                  "55555555555555552a1c010157060561626364650510efcdab89674523011032547698badcfe9ec1" },
                { { .ssid = "W", .password = "abcdefghijklm", .plan_id = P, .token = K },
                  "55555555555555552a24010157060d6162636465666768696a6b6c6d0510efcdab89674523011032547698badcfea840" },
                { { .ssid = "W", .password = "0a1b2c3d4e", .plan_id = P, .token = K },
                  "55555555555555552a21010157060a306131623263336434650510efcdab89674523011032547698badcfe30c0" },
                { { .ssid = "W", .password = "0123456789abcdef0123456789", .plan_id = P, .token = K },
                  "55555555555555552a31010157061a30313233343536373839616263646566303132333435363738390510efcdab89674523011032547698badcfe3c40" },
                { { .ssid = "Factory", .plan_id = "A", .token = "1f" },
                  "55555555555555552a1b0107466163746f727905100a000000000000001f000000000000004e40" },
                { { .ssid = "Guest", .password = "", .plan_id = P, .token = K },
                  "55555555555555552a19010547756573740510efcdab89674523011032547698badcfe1201" },
                { { .wps_pin = "12345670", .plan_id = P, .token = K },
                  "55555555555555552a1c030831323334353637300510efcdab89674523011032547698badcfef080" },
                { { .ssid = "Factory", .firmware_upgrade = true, .plan_id = P, .token = K },
                  "55555555555555552a1d0107466163746f727904000510efcdab89674523011032547698badcfe0a40" },
                { { .ssid = "Factory", .static_network = true, .address = { 192, 168, 1, 50 },
                    .netmask = { 255, 255, 255, 0 }, .gateway = { 192, 168, 1, 1 }, .dns1 = { 8, 8, 8, 8 },
                    .plan_id = P, .token = K },
                  "55555555555555552a2d0107466163746f72790b10c0a80132ffffff00c0a80101080808080510efcdab89674523011032547698badcfe5b40" },
                { { .ssid = "Factory", .static_network = true, .address = { 10, 0, 0, 2 },
                    .netmask = { 255, 0, 0, 0 }, .gateway = { 10, 0, 0, 1 }, .dns1 = { 10, 0, 0, 53 },
                    .dns2 = { 1, 1, 1, 1 }, .have_dns2 = true, .plan_id = P, .token = K },
                  "55555555555555552a310107466163746f72790b140a000002ff0000000a0000010a000035010101010510efcdab89674523011032547698badcfe4c80" },
                { { .ssid = "Factory", .proxy_host = "proxy.local", .proxy_port = 3128, .proxy_user = "u",
                    .proxy_password = "pw", .plan_id = P, .token = K },
                  "55555555555555552a300107466163746f72790d13380c0b70726f78792e6c6f63616c01750270770510efcdab89674523011032547698badcfebd40" },
                { { .ssid = "Factory", .proxy_host = "p", .proxy_port = 8080, .plan_id = P, .token = K },
                  "55555555555555552a210107466163746f72790d04901f01700510efcdab89674523011032547698badcfe0040" },
        };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                expect_hex(&v[i].req, v[i].hex);
}
END_TEST

START_TEST(test_hex_id) {
        uint64_t v = 1;

        ck_assert_int_eq(frame_parse_hex_id("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(frame_parse_hex_id("FFFFFFFFFFFFFFFF", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(frame_parse_hex_id("aBc", &v), 0);
        ck_assert_uint_eq(v, 0xabc);
        ck_assert_int_eq(frame_parse_hex_id("", &v), -EINVAL);
        ck_assert_int_eq(frame_parse_hex_id("10000000000000000", &v), -EINVAL);
        ck_assert_int_eq(frame_parse_hex_id("0x12", &v), -EINVAL);
        ck_assert_int_eq(frame_parse_hex_id("12 ", &v), -EINVAL);
        ck_assert_int_eq(frame_parse_hex_id("-1", &v), -EINVAL);
        ck_assert_int_eq(frame_parse_hex_id(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_password_lengths) {
        char pw[80];

        for (size_t n = 0; n <= 70; n++) {
                memset(pw, 'a', n); /* 'a' is a hex digit too */
                pw[n] = 0;
                bool ok = n == 0 || n == 5 || (n >= 8 && n <= 64);
                ErrorText err = {};
                ck_assert_msg((frame_validate_password(pw, &err) == 0) == ok, "length %zu", n);
        }
        ck_assert_int_eq(frame_validate_password("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", NULL), -EINVAL);
}
END_TEST

START_TEST(test_validation_errors) {
        FrameRequest r;

        r = (FrameRequest) { .ssid = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", .plan_id = P, .token = K };
        expect_error(&r, -EINVAL, "ssid: must be at most 32 bytes, got 33");

        r = (FrameRequest) { .ssid = "", .password = "", .plan_id = "0123456789abcdefg", .token = K };
        expect_error(&r, -EINVAL, "plan-id: must be 1..16 hex digits");
}
END_TEST

START_TEST(test_validation_messages) {
        static const struct {
                FrameRequest req;
                const char *message;
        } v[] = {
                { { .ssid = "F", .password = "1234567", .plan_id = P, .token = K }, "password: 7 characters is not a valid length" },
                { { .ssid = "F", .password = "123", .plan_id = P, .token = K }, "password: 3 characters" },
                { { .ssid = "F", .password = "123456", .plan_id = P, .token = K }, "password: 6 characters" },
                { { .ssid = "F", .password = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeZ", .plan_id = P, .token = K },
                  "password: 64 characters must all be hex digits" },
                { { .ssid = "F", .password = "01234567890123456789012345678901234567890123456789012345678901234", .plan_id = P, .token = K },
                  "password: 65 characters" },
                { { .ssid = "F", .password = "secret\x01" "23", .plan_id = P, .token = K }, "password: only printable ASCII" },
                { { .password = "secret123", .plan_id = P, .token = K }, "password: given without an SSID" },
                { { .ssid = "F", .plan_id = P }, "token: required together with plan-id" },
                { { .ssid = "F", .token = K }, "plan-id: required together with token" },
                { { .ssid = "F", .plan_id = "xyz", .token = K }, "plan-id: must be 1..16 hex digits, got \"xyz\"" },
                { { .ssid = "F", .plan_id = "0123456789abcdef0", .token = K }, "plan-id: must be 1..16 hex digits" },
                { { .ssid = "F", .plan_id = P, .token = "0x1" }, "token: must be 1..16 hex digits, got \"0x1\"" },
                { { .ssid = "F", .plan_id = P, .token = "12345678901234567" }, "token: must be 1..16 hex digits" },
                { { .clear = true, .ssid = "F" }, "clear: a clear frame carries no other settings" },
                { { .clear = true, .plan_id = P, .token = K }, "clear: a clear frame carries no other settings" },
                { { .wps_pin = "1234567", .plan_id = P, .token = K }, "wps-pin: must be 4 or 8 decimal digits" },
                { { .wps_pin = "1234567a", .plan_id = P, .token = K }, "wps-pin: must be 4 or 8 decimal digits" },
                { { .ssid = "F", .wps_pin = "12345670", .plan_id = P, .token = K }, "wps-pin: cannot be combined" },
                { { .ssid = "F", .proxy_host = "p", .plan_id = P, .token = K }, "proxy-port: must be 1..65535" },
                { { .ssid = "F", .proxy_port = 80, .plan_id = P, .token = K }, "proxy-host: required" },
                { { .ssid = "F", .proxy_host = "p", .proxy_port = 80, .proxy_password = "x", .plan_id = P, .token = K },
                  "proxy-password: given without a proxy user" },
                { {}, "frame: nothing to send" },
                { { .ssid = "", .password = "" }, "frame: nothing to send" },
        };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                expect_error(&v[i].req, -EINVAL, v[i].message);
}
END_TEST

START_TEST(test_records_limit) {
        /* SSID 32 (34) + password 63 (65) + enrollment (18) = 117; a proxy record of 138 bytes
         * (2 + 136) brings it to exactly 255. */
        char host[101], user[21], pass[13];
        FrameRequest r = {
                .ssid = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
                .password = "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
                .plan_id = P,
                .token = K,
                .proxy_host = host,
                .proxy_port = 1,
                .proxy_user = user,
                .proxy_password = pass,
        };
        ErrorText err = {};
        Frame f;

        memset(host, 'h', 100), host[100] = 0;
        memset(user, 'u', 20), user[20] = 0;
        memset(pass, 'w', 11), pass[11] = 0;
        ck_assert_int_eq(frame_encode(&r, &f, &err), 0);
        ck_assert_uint_eq(f.size, FRAME_BYTES_MAX);
        ck_assert_uint_eq(f.bytes[9], 255);
        ck_assert_uint_eq(decoder_crc(f.bytes + 9, 256), (f.bytes[265] << 8) | f.bytes[266]);

        memset(pass, 'w', 12), pass[12] = 0;
        expect_error(&r, -E2BIG, "frame: the records need more than 255 bytes");
}
END_TEST

static Suite *frame_suite(void) {
        Suite *s = suite_create("frame");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_crc_check_value);
        tcase_add_test(tc, test_crc_table);
        tcase_add_test(tc, test_spec_clear);
        tcase_add_test(tc, test_spec_wifi);
        tcase_add_test(tc, test_spec_no_wifi);
        tcase_add_test(tc, test_own_vectors);
        tcase_add_test(tc, test_hex_id);
        tcase_add_test(tc, test_password_lengths);
        tcase_add_test(tc, test_validation_errors);
        tcase_add_test(tc, test_validation_messages);
        tcase_add_test(tc, test_records_limit);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(frame_suite)
