/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>

#include "daemon.h"
#include "log.h"

static void help(void) {
        printf("Usage: blinkupd [OPTIONS]\n\n"
               "Factory BlinkUp fixture daemon.\n\n"
               "  -h --help      show this help\n"
               "     --version  show the version\n");
}

int daemon_main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        int c;

        log_setup();
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        puts(PACKAGE_STRING);
                        return 0;
                default:
                        return 2;
                }
        }
        log_error("blinkupd: the daemon is not built yet in this version.");
        return 1;
}
