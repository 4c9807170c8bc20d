/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "frame.h"
#include "macro.h"
#include "secret.h"
#include "vcd.h"
#include "waveform.h"

typedef enum { FORMAT_HEX, FORMAT_BITS, FORMAT_VCD } Format;

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
               "  --fast                   142 bits/s instead of 60\n"
               "  --active-high            the LED lights when the line is high (vcd)\n"
               "  --repeat=N               frames in a row (vcd), 1..%u\n"
               "  --format=hex|bits|vcd    output format (default: hex)\n",
               WAVEFORM_REPEAT_MAX);
}

_printf_(1, 0) static int usage_error(const char *fmt, const char *arg) {
        fprintf(stderr, "blinkupctl encode: ");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        fprintf(stderr, fmt, arg);
#pragma GCC diagnostic pop
        fputc('\n', stderr);
        return CTL_EXIT_USAGE;
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

int ctl_encode(int argc, char *argv[]) {
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
        _cleanup_(erase_and_freep) char *password_from_file = NULL;
        _cleanup_(freep) char *proxy_host = NULL;
        FrameRequest req = {};
        Format format = FORMAT_HEX;
        bool fast = false, active_high = false, have_address = false;
        unsigned n_dns = 0, repeat = 1;
        ErrorText err = {};
        Frame frame;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        encode_help();
                        return CTL_EXIT_OK;
                case ARG_SSID:
                        req.ssid = optarg;
                        break;
                case ARG_PASSWORD:
                        req.password = optarg;
                        break;
                case ARG_PASSWORD_FILE:
                        erase_and_free(password_from_file);
                        r = secret_read_file(optarg, &password_from_file);
                        if (r < 0) {
                                fprintf(stderr, "blinkupctl encode: password-file: %s: %s\n",
                                        optarg, strerror(-r));
                                return CTL_EXIT_FAILURE;
                        }
                        req.password = password_from_file;
                        break;
                case ARG_PLAN_ID:
                        req.plan_id = optarg;
                        break;
                case ARG_TOKEN:
                        req.token = optarg;
                        break;
                case ARG_CLEAR:
                        req.clear = true;
                        break;
                case ARG_WPS_PIN:
                        req.wps_pin = optarg;
                        break;
                case ARG_FIRMWARE_UPGRADE:
                        req.firmware_upgrade = true;
                        break;
                case ARG_ADDRESS:
                        if (parse_ipv4("address", optarg, req.address) < 0)
                                return CTL_EXIT_USAGE;
                        have_address = true;
                        break;
                case ARG_NETMASK:
                        if (parse_ipv4("netmask", optarg, req.netmask) < 0)
                                return CTL_EXIT_USAGE;
                        break;
                case ARG_GATEWAY:
                        if (parse_ipv4("gateway", optarg, req.gateway) < 0)
                                return CTL_EXIT_USAGE;
                        break;
                case ARG_DNS:
                        if (n_dns >= 2)
                                return usage_error("dns: at most two DNS servers, \"%s\" is a third",
                                                   optarg);
                        if (parse_ipv4("dns", optarg, n_dns == 0 ? req.dns1 : req.dns2) < 0)
                                return CTL_EXIT_USAGE;
                        n_dns++;
                        break;
                case ARG_PROXY: {
                        const char *colon = strrchr(optarg, ':');
                        char *end;
                        unsigned long port;

                        if (!colon || colon == optarg)
                                return usage_error("proxy: \"%s\" is not HOST:PORT", optarg);
                        errno = 0;
                        port = strtoul(colon + 1, &end, 10);
                        if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
                                return usage_error("proxy: port of \"%s\" is not 1..65535", optarg);
                        free(proxy_host);
                        proxy_host = strndup(optarg, (size_t) (colon - optarg));
                        if (!proxy_host)
                                return CTL_EXIT_FAILURE;
                        req.proxy_host = proxy_host;
                        req.proxy_port = (uint16_t) port;
                        break;
                }
                case ARG_PROXY_USER:
                        req.proxy_user = optarg;
                        break;
                case ARG_PROXY_PASSWORD:
                        req.proxy_password = optarg;
                        break;
                case ARG_FAST:
                        fast = true;
                        break;
                case ARG_ACTIVE_HIGH:
                        active_high = true;
                        break;
                case ARG_REPEAT: {
                        char *end;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || v < 1 || v > WAVEFORM_REPEAT_MAX) {
                                fprintf(stderr, "blinkupctl encode: repeat: \"%s\" is not 1..%u\n",
                                        optarg, WAVEFORM_REPEAT_MAX);
                                return CTL_EXIT_USAGE;
                        }
                        repeat = (unsigned) v;
                        break;
                }
                case ARG_FORMAT:
                        if (streq(optarg, "hex"))
                                format = FORMAT_HEX;
                        else if (streq(optarg, "bits"))
                                format = FORMAT_BITS;
                        else if (streq(optarg, "vcd"))
                                format = FORMAT_VCD;
                        else
                                return usage_error("format: \"%s\" is not one of hex, bits, vcd",
                                                   optarg);
                        break;
                default:
                        return CTL_EXIT_USAGE; /* getopt said why */
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument \"%s\"", argv[optind]);

        if (have_address || n_dns > 0) {
                if (!have_address || n_dns == 0)
                        return usage_error("%s", "address: static network settings need --address, "
                                                 "--netmask, --gateway and at least one --dns");
                req.static_network = true;
                req.have_dns2 = n_dns == 2;
        }

        r = frame_encode(&req, &frame, &err);
        if (r < 0) {
                fprintf(stderr, "blinkupctl encode: %s\n", err.message);
                return CTL_EXIT_USAGE;
        }

        switch (format) {
        case FORMAT_HEX: {
                char hex[2 * FRAME_BYTES_MAX + 1];
                frame_to_hex(&frame, hex);
                puts(hex);
                break;
        }
        case FORMAT_BITS:
                for (size_t i = 0; i < frame_bits(&frame); i++)
                        putchar(frame_bit(&frame, i) ? '1' : '0');
                putchar('\n');
                break;
        case FORMAT_VCD: {
                WaveformParams p;
                Waveform w;
                char comment[96];

                waveform_params_default(&p, fast, active_high);
                p.repeat = repeat;
                r = waveform_build(&frame, &p, &w);
                if (r < 0) {
                        fprintf(stderr, "blinkupctl encode: waveform: %s\n", strerror(-r));
                        return CTL_EXIT_FAILURE;
                }
                (void) snprintf(comment, sizeof(comment), "BlinkUp frame, %u bits/s, %s", p.rate,
                                active_high ? "active-high" : "active-low");
                r = vcd_write_waveform(stdout, &w, comment);
                waveform_done(&w);
                if (r < 0)
                        return CTL_EXIT_FAILURE;
                break;
        }
        }
        explicit_bzero(&frame, sizeof(frame));

        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "blinkupctl encode: writing output: %s\n", strerror(errno));
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}
