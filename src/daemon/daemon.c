/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_setattr_default_np() */
#endif
#include <malloc.h>
#include <pthread.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "daemon.h"
#include "gpio.h"
#include "log.h"
#include "manager.h"
#include "rt.h"

static void help(void) {
        printf("Usage: blinkupd [OPTIONS]\n\n"
               "Factory BlinkUp fixture daemon.\n\n"
               "  -h --help           show this help\n"
               "     --version        show the version\n"
               "     --config=PATH    configuration file (default: %s, plus drop-ins in\n"
               "                      blinkupd.conf.d/*.conf beside it)\n"
               "     --check-config   check the configuration, print it with secrets masked, exit\n"
               "     --user-bus       own the name on the session bus instead of the system bus\n",
               CONFIG_DEFAULT_PATH);
}

static void print_messages(char **messages, int level) {
        for (char **m = messages; m && *m; m++)
                log_full_errno(level, 0, "%s", *m);
}

static bool usage_error;

static int run(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_CHECK_CONFIG, ARG_USER_BUS };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                {}
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(config_freep) Config *config = NULL;
        ManagerOptions o = {};
        bool check_config = false;
        char **messages = NULL;
        sd_event *e = NULL;
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s\nGPIO: %s\n", PACKAGE_STRING, gpio_backend_version());
                        return 0;
                case ARG_CONFIG:
                        o.config_path = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        check_config = true;
                        break;
                case ARG_USER_BUS:
                        o.user_bus = true;
                        break;
                default:
                        usage_error = true;
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\" (see --help).", argv[optind]);
                usage_error = true;
                return -EINVAL;
        }

        r = config_load(o.config_path, &config, &messages);
        print_messages(messages, r < 0 ? LOG_ERR : LOG_WARNING);
        strv_free(messages);
        if (r < 0)
                return log_error_errno(r, "The configuration is invalid%s.", check_config ? "" : ", not starting");
        if (check_config) {
                r = config_dump(config, stdout);
                if (r < 0)
                        return log_error_errno(r, "Cannot print the configuration: %m");
                return 0;
        }

        /* Start-up order: memory locked, signals blocked: both before the transmitter thread
         * exists. The factory server client runs in blinkupd-https, a process of its own that
         * is not locked (server-remote.c), so none of libcurl or a TLS library is mapped here. */
        r = rt_prepare();
        if (r < 0)
                log_warning_errno(r, "Could not lock memory (mlockall): %m; page faults may delay edges.");
        else {
                /* With every page locked, each thread's stack and malloc arena counts against
                 * LimitMEMLOCK= and the resident size: small stacks, one arena. */
                pthread_attr_t attr;

                (void) mallopt(M_ARENA_MAX, 1);
                if (pthread_attr_init(&attr) == 0) {
                        (void) pthread_attr_setstacksize(&attr, 256 * 1024);
                        (void) pthread_setattr_default_np(&attr);
                        (void) pthread_attr_destroy(&attr);
                }
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        sigaddset(&mask, SIGCHLD); /* blinkupd-https's exit, through sd-event */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&e);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");

        r = manager_new(e, &o, TAKE_PTR(config), &m);
        if (r < 0) {
                sd_event_unref(e);
                return log_error_errno(r, "Cannot create the fixture: %m");
        }
        r = manager_start(m);
        if (r >= 0) {
                r = sd_event_loop(e);
                if (r > 0) /* the bus went away (sd-bus ends the loop with 1): let systemd restart us */
                        r = log_error_errno(-ECONNRESET, "Lost the bus connection, exiting.");
        }

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
        m = manager_free(m); /* LED dark, thread joined */
        sd_event_unref(e);
        return r;
}

int daemon_main(int argc, char *argv[]) {
        int r;

        log_setup();
        r = run(argc, argv);
        /* 0 success, 1 failure (configuration included), 2 usage */
        return r >= 0 ? 0 : usage_error ? 2 : 1;
}
