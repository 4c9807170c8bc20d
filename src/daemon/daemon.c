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
#include <sysexits.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "daemon.h"
#include "gpio.h"
#include "log.h"
#include "manager.h"
#include "rt.h"
#include "string-util.h"
#include "strv.h"

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

static bool usage_error, config_error;

/* 1: go on; 0: done (--help, --version); -EINVAL: a usage error. */
static int parse_argv(int argc, char *argv[], ManagerOptions *o, bool *check_config) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_CHECK_CONFIG, ARG_USER_BUS };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s\nGPIO: %s\n", PACKAGE_STRING, gpio_backend_version());
                        return 0;
                case ARG_CONFIG:
                        o->config_path = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        *check_config = true;
                        break;
                case ARG_USER_BUS:
                        o->user_bus = true;
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
        return 1;
}

static int load_config(const char *path, bool check_config, Config **ret) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(strv_freep) char **messages = NULL;
        int r;

        r = config_load(path, &config, &messages);
        print_messages(messages, r < 0 ? LOG_ERR : LOG_WARNING);
        if (r < 0) {
                config_error = true;
                if (check_config)
                        return log_error_errno(r, "The configuration is invalid.");
                log_error_errno(r, "The configuration is invalid, not starting.");
                return log_error_errno(r, "Correct %s (or its drop-ins in blinkupd.conf.d/) as the messages above "
                                       "say, then check it with: blinkupd --check-config%s%s",
                                       path ?: CONFIG_DEFAULT_PATH, path ? " --config=" : "", strempty(path));
        }
        *ret = TAKE_PTR(config);
        return 0;
}

static int dump_config(const Config *config) {
        int r;

        r = config_dump(config, stdout);
        if (r < 0)
                return log_error_errno(r, "Cannot print the configuration: %m");
        return 0;
}

/* Memory locked: before the transmitter thread exists. The factory server client runs in
 * blinkupd-https, a process of its own that is not locked, so none of libcurl or a TLS library
 * is mapped here. */
static void lock_memory(void) {
        pthread_attr_t attr;
        int r;

        r = rt_prepare();
        if (r < 0) {
                log_warning_errno(r, "Could not lock memory (mlockall): %m; page faults may delay edges.");
                return;
        }
        /* With every page locked, each thread's stack and malloc arena counts against
         * LimitMEMLOCK= and the resident size: small stacks, one arena. */
        (void) mallopt(M_ARENA_MAX, 1);
        if (pthread_attr_init(&attr) == 0) {
                (void) pthread_attr_setstacksize(&attr, 256 * 1024);
                (void) pthread_setattr_default_np(&attr);
                (void) pthread_attr_destroy(&attr);
        }
}

/* Signals blocked before any thread exists, so that every thread inherits the mask and
 * sd-event receives them. */
static void block_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        sigaddset(&mask, SIGCHLD); /* blinkupd-https's exit, through sd-event */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
}

static int run_event_loop(sd_event *e) {
        int r;

        r = sd_event_loop(e);
        if (r > 0) /* the bus went away (sd-bus ends the loop with 1): let systemd restart us */
                return log_error_errno(-ECONNRESET, "Lost the bus connection, exiting.");
        return r;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(manager_freep) Manager *m = NULL; /* freed first: LED dark, thread joined */
        _cleanup_(config_freep) Config *config = NULL;
        ManagerOptions o = {};
        bool check_config = false;
        int r;

        r = parse_argv(argc, argv, &o, &check_config);
        if (r <= 0)
                return r;
        r = load_config(o.config_path, check_config, &config);
        if (r < 0)
                return r;
        if (check_config)
                return dump_config(config);

        lock_memory();
        block_signals();
        r = sd_event_default(&e);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        r = manager_new(e, &o, TAKE_PTR(config), &m);
        if (r < 0)
                return log_error_errno(r, "Cannot create the fixture: %m");

        r = manager_start(m);
        if (r >= 0)
                r = run_event_loop(e);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
        return r;
}

int daemon_main(int argc, char *argv[]) {
        int r;

        log_setup();
        r = run(argc, argv);
        /* 0 success, 2 usage, EX_CONFIG (78) an invalid configuration (the unit's
         * RestartPreventExitStatus=), 1 any other failure */
        if (r >= 0)
                return 0;
        return usage_error ? 2 : config_error ? EX_CONFIG : 1;
}
