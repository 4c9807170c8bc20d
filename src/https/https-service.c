/* SPDX-License-Identifier: MIT */
/* blinkupd-https: the factory server client (factory-client.h) in a process of its own, answering
 * blinkupd over the private connection described in https-proto.h. It holds no state of its
 * own beyond the server client's: each method call is one factory_client_*() operation, answered when
 * the operation ends. It exits when blinkupd closes the connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* syscall() */
#endif
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "conf.h"
#include "https-service.h"
#include "https-proto.h"
#include "results-service.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"
#include "factory-client.h"

#define RESULTS_NICE 10

/* ioprio_set(2): glibc has no wrapper nor constants */
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_BE 2
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_PRIO_VALUE(class, data) (((class) << IOPRIO_CLASS_SHIFT) | (data))

typedef struct Service Service;

typedef struct Pending {
        Service *service;
        uint64_t id;
        sd_bus_message *call;
        FactoryOp *op;
        struct Pending *prev, *next;
} Pending;

struct Service {
        sd_event *event;
        sd_bus *bus;
        FactoryClient *client;
        Pending *pending;
        ResultsService *results; /* --results: the results delivery instead of the factory client */
};

static bool arg_results = false;

static Pending *pending_free(Pending *p) {
        if (!p)
                return NULL;
        LIST_REMOVE(p->service->pending, p);
        sd_bus_message_unref(p->call);
        free(p);
        return NULL;
}

static void on_result(FactoryClient *s, const FactoryResult *r, void *userdata) {
        Pending *p = userdata;
        int k;

        p->op = NULL; /* freed by the server after this returns */
        k = sd_bus_reply_method_return(p->call, HTTPS_PROTO_RESULT_SIGNATURE, (uint32_t) r->kind, r->message,
                                       r->plan_id, r->token_id, r->device_id, (int64_t) r->http_status,
                                       r->token_expires_usec);
        if (k < 0)
                log_warning_errno(k, "Cannot answer request %" PRIu64 ": %m", p->id);
        pending_free(p);
}

static int method_open(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Service *svc = userdata;
        const char *url, *login_key, *api_key, *plan_id, *fixture_id, *ca_file;
        int production, allow_insecure_http, r;
        FactoryConfig c = {};

        (void) sd_bus_message_sensitive(m);
        if (svc->client)
                return sd_bus_error_set(error, HTTPS_PROTO_ERROR_INVALID,
                                        "The configuration is already set.");
        r = sd_bus_message_read(m, HTTPS_PROTO_OPEN_SIGNATURE, &url, &production, &login_key, &api_key,
                                &plan_id, &fixture_id, &ca_file, &c.timeout_usec, &c.connect_timeout_usec,
                                &c.attempt_timeout_usec, &c.confirm_timeout_usec, &c.confirm_interval_usec,
                                &allow_insecure_http);
        if (r < 0)
                return r;
        /* the FactoryConfig's strings are not const: factory_client_new() copies them, changes none */
        c.url = (char *) url;
        c.production = production;
        c.login_key = (char *) empty_to_null(login_key);
        c.api_key = (char *) empty_to_null(api_key);
        c.plan_id = (char *) empty_to_null(plan_id);
        c.fixture_id = (char *) empty_to_null(fixture_id);
        c.ca_file = (char *) empty_to_null(ca_file);
        c.allow_insecure_http = allow_insecure_http;
        r = factory_client_new(svc->event, &c, &svc->client);
        if (r < 0)
                return sd_bus_error_setf(error, HTTPS_PROTO_ERROR_INVALID,
                                         "The server configuration was refused (%s); see the log.",
                                         strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

static int method_operation(sd_bus_message *m, Service *svc, const char *name, sd_bus_error *error) {
        const char *token_id = NULL;
        uint64_t id;
        Pending *p;
        int r;

        r = sd_bus_message_read(m, "t", &id);
        if (r >= 0 && streq(name, "Confirm"))
                r = sd_bus_message_read(m, "s", &token_id);
        if (r < 0)
                return r;
        if (!svc->client)
                return sd_bus_error_set(error, HTTPS_PROTO_ERROR_NOT_OPEN,
                                        "No server configuration was set.");

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->service = svc;
        p->id = id;
        p->call = sd_bus_message_ref(m);
        LIST_PREPEND(svc->pending, p);

        if (streq(name, "Verify"))
                r = factory_client_verify(svc->client, on_result, p, &p->op);
        else if (streq(name, "RequestToken"))
                r = factory_client_request_token(svc->client, on_result, p, &p->op);
        else if (streq(name, "Enroll"))
                r = factory_client_enroll(svc->client, on_result, p, &p->op);
        else
                r = factory_client_confirm(svc->client, token_id, on_result, p, &p->op);
        if (r < 0) {
                pending_free(p);
                return sd_bus_error_set_errnof(error, r, "Cannot start the %s request: %m", name);
        }
        return 1; /* answered when the operation ends */
}

static int method_verify(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_operation(m, userdata, "Verify", error);
}

static int method_request_token(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_operation(m, userdata, "RequestToken", error);
}

static int method_enroll(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_operation(m, userdata, "Enroll", error);
}

static int method_confirm(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_operation(m, userdata, "Confirm", error);
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Service *svc = userdata;
        uint64_t id;
        int r;

        r = sd_bus_message_read(m, "t", &id);
        if (r < 0)
                return r;
        for (Pending *p = svc->pending; p; p = p->next)
                if (p->id == id) {
                        p->op = factory_op_cancel(p->op);
                        pending_free(p);
                        break;
                }
        return sd_bus_reply_method_return(m, NULL); /* nothing is sent when no answer is expected */
}

static const sd_bus_vtable https_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Open", HTTPS_PROTO_OPEN_SIGNATURE, "", method_open, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Verify", "t", HTTPS_PROTO_RESULT_SIGNATURE, method_verify,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RequestToken", "t", HTTPS_PROTO_RESULT_SIGNATURE, method_request_token,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Enroll", "t", HTTPS_PROTO_RESULT_SIGNATURE, method_enroll,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Confirm", "ts", HTTPS_PROTO_RESULT_SIGNATURE, method_confirm,
                      SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Cancel", "t", "", method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void help(void) {
        printf("Usage: blinkupd-https [--results] [--log-level=N]\n\n"
               "The factory server client of blinkupd, in a process of its own. blinkupd starts it\n"
               "with its connection on file descriptor %d; it is not run by hand.\n\n"
               "  --results      deliver the attempts' results documents from the record to\n"
               "                 [Results] URL= instead\n",
               HTTPS_PROTO_FD);
}

/* 0: go on; 1: done (--help, --version); < 0: a bad argument. */
static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_LOG_LEVEL, ARG_RESULTS };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, ARG_VERSION },
                                                 { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                                                 { "results", no_argument, NULL, ARG_RESULTS },
                                                 {} };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return 1;
                case ARG_RESULTS:
                        arg_results = true;
                        break;
                case ARG_LOG_LEVEL: {
                        char *end;
                        long l = strtol(optarg, &end, 10);
                        if (*end || l < LOG_EMERG || l > LOG_DEBUG)
                                return log_error_errno(-EINVAL, "--log-level=%s: not a level 0..7.", optarg);
                        log_set_max_level((int) l);
                        break;
                }
                default:
                        return -EINVAL;
                }
        return 0;
}

static int check_peer_fd(void) {
        struct stat st;

        if (fstat(HTTPS_PROTO_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
                return log_error_errno(-EBADF,
                                       "File descriptor %d is not a socket: blinkupd-https is started by "
                                       "blinkupd, not by hand.",
                                       HTTPS_PROTO_FD);
        return 0;
}

static void service_done(Service *svc) {
        while (svc->pending) {
                svc->pending->op = factory_op_cancel(svc->pending->op);
                pending_free(svc->pending);
        }
        svc->client = factory_client_free(svc->client);
        svc->results = results_service_free(svc->results);
        svc->bus = sd_bus_flush_close_unref(svc->bus);
        svc->event = sd_event_unref(svc->event);
}

/* The loop, ended by SIGTERM or SIGINT; SIGPIPE is blocked. */
static int setup_event(Service *svc) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&svc->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        (void) sd_event_add_signal(svc->event, NULL, SIGTERM, on_signal, NULL);
        (void) sd_event_add_signal(svc->event, NULL, SIGINT, on_signal, NULL);
        return 0;
}

/* The private connection to blinkupd, on HTTPS_PROTO_FD, with this end as the bus server. */
static int connect_peer(Service *svc) {
        sd_id128_t id;
        int r;

        r = sd_bus_new(&svc->bus);
        if (r >= 0)
                r = sd_bus_set_fd(svc->bus, HTTPS_PROTO_FD, HTTPS_PROTO_FD);
        if (r >= 0)
                r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(svc->bus, true, id);
        if (r >= 0)
                r = sd_bus_set_description(svc->bus, "blinkupd");
        if (r >= 0 && arg_results)
                r = results_service_new(svc->bus, svc->event, &svc->results);
        else if (r >= 0)
                r = sd_bus_add_object_vtable(svc->bus, NULL, HTTPS_PROTO_PATH, HTTPS_PROTO_INTERFACE, https_vtable,
                                             svc);
        if (r >= 0)
                r = sd_bus_start(svc->bus);
        if (r >= 0)
                r = sd_bus_attach_event(svc->bus, svc->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0) /* blinkupd closed the connection: the loop ends */
                r = sd_bus_set_exit_on_disconnect(svc->bus, true);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the connection to blinkupd: %m");
        return 0;
}

static int serve(void) {
        _cleanup_(service_done) Service svc = {};
        int r;

        r = setup_event(&svc);
        if (r < 0)
                return r;
        r = connect_peer(&svc);
        if (r < 0)
                return r;
        r = sd_event_loop(svc.event);
        if (r < 0)
                return log_error_errno(r, "The event loop failed: %m");
        return 0; /* 1: the connection closed, the normal end */
}

/* The results delivery is background work: it yields the CPU and the disk to the daemon, whose
 * press-to-light comes first (nice RESULTS_NICE, the lowest best-effort I/O priority), without
 * being starved on a busy machine as SCHED_IDLE or the idle I/O class would let it be. Best
 * effort: a system call filter may refuse either, and delivery works all the same. */
static void results_yield_priority(void) {
        if (setpriority(PRIO_PROCESS, 0, RESULTS_NICE) < 0)
                log_debug_errno(-errno, "Cannot lower the CPU priority: %m");
        if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)) < 0)
                log_debug_errno(-errno, "Cannot lower the I/O priority: %m");
}

static int run(int argc, char *argv[]) {
        int r;

        r = parse_argv(argc, argv);
        if (r != 0)
                return r < 0 ? r : 0;
        r = check_peer_fd();
        if (r < 0)
                return r;
        if (arg_results)
                results_yield_priority();

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return log_error_errno(-EIO, "libcurl could not be initialised.");
        r = serve();
        curl_global_cleanup();
        return r;
}

int https_main(int argc, char *argv[]) {
        log_setup();
        return run(argc, argv) < 0 ? 1 : 0;
}
