/* SPDX-License-Identifier: MIT */
/* blinkupctl encode: a BlinkUp frame printed offline, as hex, bits or a VCD trace of the LED
 * line; no daemon and no server. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-common.h"
#include "frame.h"
#include "macro.h"
#include "secret.h"
#include "vcd.h"
#include "waveform.h"

typedef enum { FORMAT_HEX, FORMAT_BITS, FORMAT_VCD } Format;

enum {
        ARG_SSID = 0x100,
        ARG_PASSWORD,
        ARG_PASSWORD_FILE,
        ARG_PLAN_ID,
        ARG_TOKEN,
        ARG_CLEAR,
        ARG_WPS_PIN,
        ARG_FIRMWARE_UPGRADE,
        ARG_ADDRESS,
        ARG_NETMASK,
        ARG_GATEWAY,
        ARG_DNS,
        ARG_PROXY,
        ARG_PROXY_USER,
        ARG_PROXY_PASSWORD,
        ARG_FAST,
        ARG_ACTIVE_HIGH,
        ARG_REPEAT,
        ARG_FORMAT,
};

/* The command line: the request (whose strings point into argv or here) and the output. */
typedef struct EncodeArgs {
        FrameRequest req;
        char *password_from_file; /* erased when freed */
        char *proxy_host;
        bool have_address;
        unsigned n_dns;
        Format format;
        bool fast, active_high;
        unsigned repeat;
} EncodeArgs;

static void encode_args_done(EncodeArgs *a) {
        erase_and_free(a->password_from_file);
        free(a->proxy_host);
}

static void encode_help(void) {
        printf("Usage: blinkupctl encode [OPTIONS]\n\n"
               "Print a BlinkUp frame without a daemon or a server.\n\n"
               "  --ssid=SSID              WiFi network name (0..32 bytes)\n"
               "  --password=PASSWORD      WiFi password (WPA 8..63 or 64 hex; WEP 5/13 or 10/26 hex)\n"
               "  --password-file=PATH     read the password from a file (first line)\n"
               "  --plan-id=HEX            plan ID, 1..16 hex digits\n"
               "  --token=HEX              enrollment token, 1..16 hex digits\n"
               "  --clear                  the clear (wipe) frame\n"
               "  --wps-pin=DIGITS         WPS PIN (4 or 8 digits) instead of SSID/password\n"
               "  --firmware-upgrade       ask the device to upgrade its firmware\n"
               "  --address=A --netmask=M --gateway=G --dns=D [--dns=D2]\n"
               "                           static IPv4 network settings\n"
               "  --proxy=HOST:PORT        HTTP proxy; --proxy-user=, --proxy-password=\n"
               "  --fast                   %u bits/s instead of %u\n"
               "  --active-high            the LED lights when the line is high (vcd)\n"
               "  --repeat=N               frames in a row (vcd), 1..%u\n"
               "  --format=hex|bits|vcd    output format (default: hex)\n",
               WAVEFORM_RATE_FAST, WAVEFORM_RATE_NORMAL, WAVEFORM_REPEAT_MAX);
}

/* Says "blinkupctl encode: " fmt with arg, returns -EINVAL. */
_printf_(1, 0) static int usage_error(const char *fmt, const char *arg) {
        fprintf(stderr, "blinkupctl encode: ");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        fprintf(stderr, fmt, arg);
#pragma GCC diagnostic pop
        fputc('\n', stderr);
        return -EINVAL;
}

static int parse_ipv4(const char *field, const char *s, uint8_t out[4]) {
        struct in_addr a;

        if (inet_pton(AF_INET, s, &a) != 1) {
                fprintf(stderr, "blinkupctl encode: %s: \"%s\" is not an IPv4 address (a.b.c.d)\n",
                        field, s);
                return -EINVAL;
        }
        memcpy(out, &a.s_addr, 4); /* network order */
        return 0;
}

/* A number 1..max as strtoul() reads it: 0, or -EINVAL. */
static int parse_count(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || end == s || v < 1 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Reads the password from the file at path, the last --password-file= or --password= winning:
 * 0, or -errno after saying why not. */
static int read_password_file(EncodeArgs *a, const char *path) {
        int r;

        erase_and_free(a->password_from_file);
        a->password_from_file = NULL;
        r = secret_read_file(path, &a->password_from_file);
        if (r < 0) {
                fprintf(stderr, "blinkupctl encode: password-file: %s: %s\n", path, strerror(-r));
                return r == -EINVAL ? -EIO : r; /* a failure (exit 1), not a usage error */
        }
        a->req.password = a->password_from_file;
        return 0;
}

static int parse_proxy(EncodeArgs *a, const char *s) {
        const char *colon = strrchr(s, ':');
        unsigned long port;

        if (!colon || colon == s)
                return usage_error("proxy: \"%s\" is not HOST:PORT", s);
        if (parse_count(colon + 1, 65535, &port) < 0)
                return usage_error("proxy: port of \"%s\" is not 1..65535", s);
        free(a->proxy_host);
        a->proxy_host = strndup(s, (size_t) (colon - s));
        if (!a->proxy_host)
                return -ENOMEM;
        a->req.proxy_host = a->proxy_host;
        a->req.proxy_port = (uint16_t) port;
        return 0;
}

static int parse_dns(EncodeArgs *a, const char *s) {
        if (a->n_dns >= 2)
                return usage_error("dns: at most two DNS servers, \"%s\" is a third", s);
        if (parse_ipv4("dns", s, a->n_dns == 0 ? a->req.dns1 : a->req.dns2) < 0)
                return -EINVAL;
        a->n_dns++;
        return 0;
}

static int parse_repeat(EncodeArgs *a, const char *s) {
        unsigned long v;

        if (parse_count(s, WAVEFORM_REPEAT_MAX, &v) < 0) {
                fprintf(stderr, "blinkupctl encode: repeat: \"%s\" is not 1..%u\n", s, WAVEFORM_REPEAT_MAX);
                return -EINVAL;
        }
        a->repeat = (unsigned) v;
        return 0;
}

static int parse_format(EncodeArgs *a, const char *s) {
        if (streq(s, "hex"))
                a->format = FORMAT_HEX;
        else if (streq(s, "bits"))
                a->format = FORMAT_BITS;
        else if (streq(s, "vcd"))
                a->format = FORMAT_VCD;
        else
                return usage_error("format: \"%s\" is not one of hex, bits, vcd", s);
        return 0;
}

/* The options of the static network settings and the proxy; -ENOENT for any other. */
static int parse_network_option(EncodeArgs *a, int c, const char *arg) {
        switch (c) {
        case ARG_ADDRESS:
                a->have_address = true;
                return parse_ipv4("address", arg, a->req.address);
        case ARG_NETMASK:
                return parse_ipv4("netmask", arg, a->req.netmask);
        case ARG_GATEWAY:
                return parse_ipv4("gateway", arg, a->req.gateway);
        case ARG_DNS:
                return parse_dns(a, arg);
        case ARG_PROXY:
                return parse_proxy(a, arg);
        case ARG_PROXY_USER:
                a->req.proxy_user = arg;
                return 0;
        case ARG_PROXY_PASSWORD:
                a->req.proxy_password = arg;
                return 0;
        default:
                return -ENOENT;
        }
}

/* One option (getopt's c and optarg) into a: 0, -EINVAL for a usage error, -errno. */
static int parse_option(EncodeArgs *a, int c, const char *arg) {
        switch (c) {
        case ARG_SSID:
                a->req.ssid = arg;
                return 0;
        case ARG_PASSWORD:
                a->req.password = arg;
                return 0;
        case ARG_PASSWORD_FILE:
                return read_password_file(a, arg);
        case ARG_PLAN_ID:
                a->req.plan_id = arg;
                return 0;
        case ARG_TOKEN:
                a->req.token = arg;
                return 0;
        case ARG_CLEAR:
                a->req.clear = true;
                return 0;
        case ARG_WPS_PIN:
                a->req.wps_pin = arg;
                return 0;
        case ARG_FIRMWARE_UPGRADE:
                a->req.firmware_upgrade = true;
                return 0;
        case ARG_FAST:
                a->fast = true;
                return 0;
        case ARG_ACTIVE_HIGH:
                a->active_high = true;
                return 0;
        case ARG_REPEAT:
                return parse_repeat(a, arg);
        case ARG_FORMAT:
                return parse_format(a, arg);
        default: {
                int r = parse_network_option(a, c, arg);
                return r == -ENOENT ? -EINVAL : r; /* getopt said why */
        }
        }
}

/* Returns as the verbs' parsers do. */
static int encode_parse_argv(int argc, char *argv[], EncodeArgs *a) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "ssid", required_argument, NULL, ARG_SSID },
                { "password", required_argument, NULL, ARG_PASSWORD },
                { "password-file", required_argument, NULL, ARG_PASSWORD_FILE },
                { "plan-id", required_argument, NULL, ARG_PLAN_ID },
                { "token", required_argument, NULL, ARG_TOKEN },
                { "clear", no_argument, NULL, ARG_CLEAR },
                { "wps-pin", required_argument, NULL, ARG_WPS_PIN },
                { "firmware-upgrade", no_argument, NULL, ARG_FIRMWARE_UPGRADE },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "netmask", required_argument, NULL, ARG_NETMASK },
                { "gateway", required_argument, NULL, ARG_GATEWAY },
                { "dns", required_argument, NULL, ARG_DNS },
                { "proxy", required_argument, NULL, ARG_PROXY },
                { "proxy-user", required_argument, NULL, ARG_PROXY_USER },
                { "proxy-password", required_argument, NULL, ARG_PROXY_PASSWORD },
                { "fast", no_argument, NULL, ARG_FAST },
                { "active-high", no_argument, NULL, ARG_ACTIVE_HIGH },
                { "repeat", required_argument, NULL, ARG_REPEAT },
                { "format", required_argument, NULL, ARG_FORMAT },
                {}
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        encode_help();
                        return 0;
                }
                r = parse_option(a, c, optarg);
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return usage_error("unexpected argument \"%s\"", argv[optind]);
        return 1;
}

/* The frame the options ask for: 0, or -EINVAL after saying why not. */
static int encode_frame(EncodeArgs *a, Frame *ret) {
        ErrorText err = {};

        if (a->have_address || a->n_dns > 0) {
                if (!a->have_address || a->n_dns == 0)
                        return usage_error("%s", "address: static network settings need --address, "
                                                 "--netmask, --gateway and at least one --dns");
                a->req.static_network = true;
                a->req.have_dns2 = a->n_dns == 2;
        }
        if (frame_encode(&a->req, ret, &err) < 0) {
                fprintf(stderr, "blinkupctl encode: %s\n", err.message);
                return -EINVAL;
        }
        return 0;
}

static void print_hex(const Frame *frame) {
        char hex[2 * FRAME_BYTES_MAX + 1];

        frame_to_hex(frame, hex);
        puts(hex);
}

static void print_bits(const Frame *frame) {
        for (size_t i = 0; i < frame_bits(frame); i++)
                putchar(frame_bit(frame, i) ? '1' : '0');
        putchar('\n');
}

/* The LED line's waveform as VCD: 0, or -errno (the waveform's said). */
static int print_vcd(const Frame *frame, const EncodeArgs *a) {
        _cleanup_(waveform_done) Waveform w = {};
        WaveformParams p;
        char comment[96];
        int r;

        waveform_params_default(&p, a->fast, a->active_high);
        p.repeat = a->repeat;
        r = waveform_build(frame, &p, &w);
        if (r < 0) {
                fprintf(stderr, "blinkupctl encode: waveform: %s\n", strerror(-r));
                return r;
        }
        (void) snprintf(comment, sizeof(comment), "BlinkUp frame, %u bits/s, %s", p.rate,
                        a->active_high ? "active-high" : "active-low");
        return vcd_write_waveform(stdout, &w, comment);
}

static int print_frame(const Frame *frame, const EncodeArgs *a) {
        switch (a->format) {
        case FORMAT_HEX:
                print_hex(frame);
                return 0;
        case FORMAT_BITS:
                print_bits(frame);
                return 0;
        case FORMAT_VCD:
                return print_vcd(frame, a);
        }
        return -EINVAL;
}

int ctl_encode(int argc, char *argv[]) {
        _cleanup_(encode_args_done) EncodeArgs a = { .format = FORMAT_HEX, .repeat = 1 };
        Frame frame;
        int r;

        r = encode_parse_argv(argc, argv, &a);
        if (r <= 0)
                return ctl_parse_exit_status(r);
        if (encode_frame(&a, &frame) < 0)
                return CTL_EXIT_USAGE;
        r = print_frame(&frame, &a);
        explicit_bzero(&frame, sizeof(frame));
        if (r < 0)
                return CTL_EXIT_FAILURE;

        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "blinkupctl encode: writing output: %s\n", strerror(errno));
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}
