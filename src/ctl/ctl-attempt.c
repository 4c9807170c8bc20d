/* SPDX-License-Identifier: MIT */
/* blinkupctl blinkup, clear and cancel: start or stop an attempt, and with --wait follow its
 * signals until the frame was sent (and with --confirm, until the device enrolled). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl-bus.h"
#include "ctl-common.h"
#include "identity.h"
#include "macro.h"
#include "string-util.h"
#include "time-util.h"

#define WAIT_TIMEOUT_DEFAULT_SEC 600

typedef struct AttemptArgs {
        bool clear; /* the clear frame, not a factory BlinkUp */
        bool wait;
        bool confirm;
        uint64_t timeout_usec; /* 0: wait for ever */
        const char *serial, *operator; /* NULL: not given; either makes it BlinkUpWithOptions */
} AttemptArgs;

/* What the signals said about one attempt. */
typedef struct Waiter {
        uint64_t id; /* 0 until the method returned */
        bool clear;
        bool confirm; /* wait for the confirmation as well */
        bool finished; /* the first Finished arrived */
        bool success; /* ... and said the frame went out */
        bool confirmed; /* Confirmed, or a Finished carrying a device ID */
        bool confirm_failed; /* a second Finished with failure */
        bool gone; /* blinkupd left the bus */
        char *error_name, *message, *device_id;
        sd_bus_slot *finished_slot, *confirmed_slot, *owner_slot;
} Waiter;

static void waiter_done(Waiter *w) {
        free(w->error_name);
        free(w->message);
        free(w->device_id);
        sd_bus_slot_unref(w->finished_slot);
        sd_bus_slot_unref(w->confirmed_slot);
        sd_bus_slot_unref(w->owner_slot);
}

static bool waiter_complete(const Waiter *w) {
        return w->gone || w->confirm_failed ||
               (w->finished && (!w->success || w->clear || !w->confirm || w->confirmed));
}

static void waiter_print_blinked(const Waiter *w) {
        if (w->clear)
                printf("Attempt %" PRIu64 ": clear frame sent.\n", w->id);
        else
                printf("Attempt %" PRIu64 ": BlinkUp sent.\n", w->id);
        fflush(stdout);
}

static void waiter_print_confirmed(const Waiter *w) {
        printf("Attempt %" PRIu64 ": device ", w->id);
        print_clean(stdout, w->device_id);
        printf(" enrolled.\n");
        fflush(stdout);
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Waiter *w = userdata;
        const char *error_name, *message, *device_id;
        uint64_t id;
        int success, r;

        r = sd_bus_message_read(m, "tbsss", &id, &success, &error_name, &message, &device_id);
        if (r < 0 || w->id == 0 || id != w->id)
                return 0;

        if (!w->finished) {
                w->finished = true;
                w->success = success;
                if (success)
                        waiter_print_blinked(w);
        } else if (!success)
                w->confirm_failed = true;
        if (!success && (free_and_strdup(&w->error_name, strempty(error_name)) < 0 ||
                         free_and_strdup(&w->message, strempty(message)) < 0))
                return -ENOMEM;
        if (success && *device_id && !w->confirmed) {
                if (free_and_strdup(&w->device_id, device_id) < 0)
                        return -ENOMEM;
                w->confirmed = true;
                waiter_print_confirmed(w);
        }
        return 0;
}

static int on_confirmed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Waiter *w = userdata;
        const char *device_id;
        uint64_t id;
        int r;

        r = sd_bus_message_read(m, "ts", &id, &device_id);
        if (r < 0 || w->id == 0 || id != w->id || w->confirmed)
                return 0;
        if (free_and_strdup(&w->device_id, strempty(device_id)) < 0)
                return -ENOMEM;
        w->confirmed = true;
        if (w->finished)
                waiter_print_confirmed(w);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Waiter *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, FIXTURE_BUS_NAME) && !*new_owner)
                w->gone = true;
        return 0;
}

/* Listens to the attempt's signals; done before asking, so that none can be missed. */
static int waiter_subscribe(Waiter *w, sd_bus *bus) {
        int r;

        r = sd_bus_match_signal(bus, &w->finished_slot, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE,
                                "Finished", on_finished, w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &w->confirmed_slot, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH,
                                        FIXTURE_INTERFACE, "Confirmed", on_confirmed, w);
        if (r >= 0)
                r = ctl_bus_match_owner_changed(bus, &w->owner_slot, on_name_owner_changed, w);
        if (r < 0)
                fprintf(stderr, "blinkupctl: cannot subscribe to blinkupd's signals: %s\n", strerror(-r));
        return r;
}

static int lost_connection(int r) {
        fprintf(stderr, "blinkupctl: lost the connection to the %s: %s\n", ctl_bus_name(), strerror(-r));
        return r;
}

/* Processes the bus until the waiter has its answer: 0, or -errno after saying why not. */
static int waiter_run(Waiter *w, sd_bus *bus, uint64_t timeout_usec) {
        uint64_t deadline = timeout_usec > 0 ? now_usec(CLOCK_MONOTONIC) + timeout_usec : UINT64_MAX;
        int r;

        while (!waiter_complete(w)) {
                uint64_t now;

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return lost_connection(r);
                if (r > 0)
                        continue;
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        fprintf(stderr,
                                "blinkupctl: attempt %" PRIu64 ": no %s within %" PRIu64
                                " s; it may still be running (see blinkupctl status)\n",
                                w->id, w->finished ? "confirmation" : "result", timeout_usec / USEC_PER_SEC);
                        return -ETIMEDOUT;
                }
                r = sd_bus_wait(bus, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
                if (r < 0 && r != -EINTR)
                        return lost_connection(r);
        }
        return 0;
}

/* What the completed waiter means: the exit status, the failure said on stderr. */
static int waiter_report(const Waiter *w) {
        if (w->confirm_failed) {
                fprintf(stderr,
                        "blinkupctl: attempt %" PRIu64
                        ": the frame was sent but the device was not confirmed: %s: ",
                        w->id, w->error_name);
                print_clean(stderr, w->message);
                fputc('\n', stderr);
                return CTL_EXIT_FAILURE;
        }
        if (w->finished && !w->success) {
                fprintf(stderr, "blinkupctl: attempt %" PRIu64 " failed: %s: ", w->id, w->error_name);
                print_clean(stderr, w->message);
                fputc('\n', stderr);
                return CTL_EXIT_FAILURE;
        }
        if (w->gone && !(w->finished && (w->clear || !w->confirm || w->confirmed))) {
                fprintf(stderr, "blinkupctl: attempt %" PRIu64 ": blinkupd left the %s before the %s\n",
                        w->id, ctl_bus_name(), w->finished ? "confirmation" : "result");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

static void attempt_help(bool clear) {
        if (clear)
                printf("Usage: blinkupctl clear [--wait] [--timeout=SEC]\n\n"
                       "Flash the clear (wipe) frame; no server is needed.\n\n"
                       "  --wait          wait until the frame was sent\n"
                       "  --timeout=SEC   give up waiting after SEC seconds (default %d, 0: never)\n",
                       WAIT_TIMEOUT_DEFAULT_SEC);
        else
                printf("Usage: blinkupctl blinkup [--serial=S] [--operator=O] [--wait [--confirm]] "
                       "[--timeout=SEC]\n\n"
                       "Start a factory BlinkUp and print its attempt ID.\n\n"
                       "  --serial=S      the serial number printed on the unit (1..%d bytes, no\n"
                       "                  space), kept in the record with the attempt\n"
                       "  --operator=O    who runs the fixture (1..%d bytes, spaces only between\n"
                       "                  words), kept in the record with the attempt\n"
                       "  --wait          wait until the frame was sent (or the attempt failed)\n"
                       "  --confirm       with --wait: also wait until the factory server confirms\n"
                       "                  that the device enrolled (or confirmation fails)\n"
                       "  --timeout=SEC   give up waiting after SEC seconds (default %d, 0: never)\n\n"
                       "Exit status with --wait: 0 on success, 1 on failure (the error on stderr).\n",
                       IDENTITY_VALUE_MAX, IDENTITY_VALUE_MAX, WAIT_TIMEOUT_DEFAULT_SEC);
}

static int parse_timeout(const char *verb, const char *s, uint64_t *ret_usec) {
        uint64_t sec;

        if (ctl_parse_uint64(s, &sec) < 0 || sec > UINT64_MAX / USEC_PER_SEC) {
                fprintf(stderr, "blinkupctl %s: timeout: \"%s\" is not a number of seconds\n", verb, s);
                return -EINVAL;
        }
        *ret_usec = sec * USEC_PER_SEC;
        return 0;
}

/* --serial or --operator into *ret, checked as blinkupd checks it: 0, or -EINVAL after saying why. */
static int parse_identity(const AttemptArgs *args, const char *key, const char *value, const char **ret) {
        ErrorText e = {};

        if (args->clear) {
                fprintf(stderr, "blinkupctl clear: --%s: a clear frame is for no particular unit\n", key);
                return -EINVAL;
        }
        if (identity_check(key, value, &e) < 0) {
                fputs("blinkupctl blinkup: --", stderr); /* the message starts with the key */
                print_clean(stderr, e.message);
                fputc('\n', stderr);
                return -EINVAL;
        }
        *ret = value;
        return 0;
}

/* args->clear says which verb it is; returns as the verbs' parsers do. */
static int attempt_parse_argv(int argc, char *argv[], AttemptArgs *args) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                { "wait", no_argument, NULL, ARG_WAIT },
                { "confirm", no_argument, NULL, ARG_CONFIRM },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "serial", required_argument, NULL, ARG_SERIAL },
                { "operator", required_argument, NULL, ARG_OPERATOR },
                {},
        };
        const char *verb = args->clear ? "clear" : "blinkup";
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        attempt_help(args->clear);
                        return 0;
                case ARG_USER_BUS:
                        ctl_set_user_bus(true);
                        break;
                case ARG_WAIT:
                        args->wait = true;
                        break;
                case ARG_CONFIRM:
                        if (args->clear) {
                                fprintf(stderr, "blinkupctl clear: --confirm: a clear frame is not confirmed\n");
                                return -EINVAL;
                        }
                        args->confirm = true;
                        break;
                case ARG_TIMEOUT:
                        r = parse_timeout(verb, optarg, &args->timeout_usec);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SERIAL:
                case ARG_OPERATOR:
                        r = parse_identity(args, c == ARG_SERIAL ? IDENTITY_KEY_SERIAL : IDENTITY_KEY_OPERATOR,
                                           optarg, c == ARG_SERIAL ? &args->serial : &args->operator);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return -EINVAL; /* getopt said why */
                }
        r = ctl_no_arguments(verb, argc, argv);
        if (r < 0)
                return r;
        if (args->confirm)
                args->wait = true;
        return 1;
}

/* Calls BlinkUp, BlinkUpWithOptions (with --serial or --operator) or Clear: the new attempt's
 * ID, or -errno after saying why not. */
static int attempt_call(sd_bus *bus, const AttemptArgs *args, uint64_t *ret_id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *method = args->clear ? "Clear" : "BlinkUp";
        uint64_t id;
        int r;

        if (args->serial && args->operator)
                r = ctl_bus_call(bus, FIXTURE_INTERFACE, method = "BlinkUpWithOptions", &reply, "a{sv}", 2,
                                 IDENTITY_KEY_SERIAL, "s", args->serial, IDENTITY_KEY_OPERATOR, "s", args->operator);
        else if (args->serial || args->operator)
                r = ctl_bus_call(bus, FIXTURE_INTERFACE, method = "BlinkUpWithOptions", &reply, "a{sv}", 1,
                                 args->serial ? IDENTITY_KEY_SERIAL : IDENTITY_KEY_OPERATOR, "s",
                                 args->serial ?: args->operator);
        else
                r = ctl_bus_call(bus, FIXTURE_INTERFACE, method, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "t", &id);
        if (r < 0)
                return ctl_bus_parse_error(r);
        if (id == 0) {
                fprintf(stderr, "blinkupctl: %s returned attempt ID 0\n", method);
                return -EBADMSG;
        }
        *ret_id = id;
        return 0;
}

static int start_attempt(int argc, char *argv[], bool clear) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(waiter_done) Waiter w = { .clear = clear }; /* its slots go before the bus */
        AttemptArgs args = { .clear = clear, .timeout_usec = WAIT_TIMEOUT_DEFAULT_SEC * USEC_PER_SEC };
        int r;

        r = attempt_parse_argv(argc, argv, &args);
        if (r <= 0)
                return ctl_parse_exit_status(r);
        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;

        w.confirm = args.confirm;
        if (args.wait && waiter_subscribe(&w, bus) < 0)
                return CTL_EXIT_FAILURE;
        if (attempt_call(bus, &args, &w.id) < 0)
                return CTL_EXIT_FAILURE;
        if (!args.wait) {
                printf("Attempt %" PRIu64 " started.\n", w.id);
                return CTL_EXIT_OK;
        }
        if (waiter_run(&w, bus, args.timeout_usec) < 0)
                return CTL_EXIT_FAILURE;
        return waiter_report(&w);
}

int ctl_blinkup(int argc, char *argv[]) {
        return start_attempt(argc, argv, false);
}

int ctl_clear(int argc, char *argv[]) {
        return start_attempt(argc, argv, true);
}

int ctl_cancel(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = ctl_parse_plain_verb("cancel",
                                 "Usage: blinkupctl cancel\n\n"
                                 "Stop the attempt in progress; the LED goes dark at once. Succeeds when "
                                 "idle.\n",
                                 argc, argv, NULL);
        if (r <= 0)
                return ctl_parse_exit_status(r);
        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;
        if (ctl_bus_call(bus, FIXTURE_INTERFACE, "Cancel", NULL, NULL) < 0)
                return CTL_EXIT_FAILURE;
        return CTL_EXIT_OK;
}
