/* SPDX-License-Identifier: MIT */
#pragma once

/* One blinkupd-https process and the daemon's end of its private connection (https-proto.h),
 * as the factory server proxy (factory-proxy.c) and the results delivery (results-proxy.c) each
 * keep one.
 *
 * helper_process_start() forks and executes blinkupd-https with one end of a socketpair on
 * HTTPS_PROTO_FD, without the daemon's capabilities, descriptors or signal mask, ended by
 * SIGTERM when the daemon dies; the daemon's end becomes an sd-bus connection on the event
 * loop. A process that is retired needs no owner: it is reaped whenever it exits, and killed if
 * it has not exited HELPER_EXIT_TIMEOUT_USEC after its connection was closed. When the event
 * loop is freed (the daemon exits), every process not reaped yet is sent SIGTERM and waited for,
 * at most HELPER_EXIT_TIMEOUT_USEC, then killed and reaped: none outlives the daemon. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* how long blinkupd-https may take to exit once its connection is closed */
#define HELPER_EXIT_TIMEOUT_USEC (5 * USEC_PER_SEC)

typedef struct Helper Helper;
typedef struct HelperProcess HelperProcess;

/* Called from the loop when the current process has exited (after it was logged). */
typedef void (*helper_process_exited_t)(HelperProcess *hp, void *userdata);

struct HelperProcess {
        sd_event *event;
        char *path; /* of blinkupd-https */
        const char *mode; /* an argument for its command line ("--results"), or NULL */
        const char *what; /* what it is, for messages: "the factory server client" */
        helper_process_exited_t exited;
        void *userdata;

        sd_bus *bus; /* the connection to the current process; NULL: none */
        Helper *helper; /* the current process */
        unsigned starts;
};

/* Fills in event and path (HTTPS_PROTO_PATH_ENV, else the installed one, which must be
 * executable: -errno otherwise, logged). */
int helper_process_init(HelperProcess *hp, sd_event *e, const char *mode, const char *what);
/* Retires the current process (as helper_process_retire(hp, false)) and frees what init made. */
void helper_process_done(HelperProcess *hp);

/* Starts a new process (retiring the current one); hp->bus is its connection, started and on
 * the loop. */
int helper_process_start(HelperProcess *hp);
/* Whether the connection to the current process is open. */
bool helper_process_running(const HelperProcess *hp);
/* The current process's PID, 0 when there is none. */
pid_t helper_process_pid(const HelperProcess *hp);

/* The current process is done with, nothing waits for it. kill_now (it missed a deadline): killed
 * at once; calls still waiting on its connection end as sd-bus sees the connection close.
 * Otherwise its open connection is closed, so that it exits when it reads the end, and it is
 * killed if it has not exited in HELPER_EXIT_TIMEOUT_USEC. */
void helper_process_retire(HelperProcess *hp, bool kill_now);
