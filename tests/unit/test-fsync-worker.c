/* SPDX-License-Identifier: MIT */
/* daemon/fsync-worker.c: tickets in order, the gate, a failed fsync (a pipe: fsync() gives
 * EINVAL) stopping the gate until the reset, and the callback on the loop. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pipe2() */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsync-worker.h"
#include "macro.h"
#include "tests.h"

typedef struct Seen {
        unsigned calls;
        uint32_t durable;
        int error;
} Seen;

static void on_synced(FsyncWorker *w, uint32_t durable, int error, void *userdata) {
        Seen *s = userdata;

        s->calls++;
        s->durable = durable;
        s->error = error;
}

/* runs the loop until the callback has seen the gate at want (or error set), at most 10 s */
static void run_until(sd_event *e, Seen *s, uint32_t want, bool error) {
        for (unsigned i = 0; i < 1000; i++) {
                if (error ? s->error != 0 : (s->calls > 0 && s->durable == want))
                        return;
                ck_assert_int_ge(sd_event_run(e, 10 * 1000), 0);
        }
        ck_abort_msg("the worker did not report (gate %u, error %d)", s->durable, s->error);
}

START_TEST(test_tickets_and_failure) {
        char path[] = "/tmp/test-fsync-worker-XXXXXX";
        sd_event *e = NULL;
        FsyncWorker *w = NULL;
        Seen seen = {};
        uint32_t t1, t2, t3, t4, t5;
        int fd, pipefd[2];

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(fsync_worker_new(e, on_synced, &seen, &w), 0);
        ck_assert_uint_eq(atomic_load(fsync_worker_gate(w)), 0);
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);

        ck_assert_int_eq(fsync_worker_queue(w, fd, &t1), 0);
        ck_assert_int_eq(fsync_worker_queue(w, fd, &t2), 0);
        ck_assert_uint_eq(t1, 1);
        ck_assert_uint_eq(t2, 2);
        run_until(e, &seen, 2, false);
        ck_assert_int_eq(seen.error, 0);
        ck_assert(fsync_ticket_reached(atomic_load(fsync_worker_gate(w)), t2));

        /* a failed fsync: the gate stays before it, even when a later one succeeds */
        ck_assert_int_eq(fsync_worker_queue(w, pipefd[0], &t3), 0);
        ck_assert_int_eq(fsync_worker_queue(w, fd, &t4), 0);
        run_until(e, &seen, 0, true);
        ck_assert_int_eq(seen.error, EINVAL);
        /* give t4 time to run too (whether it has or not, the gate must be at t2) */
        for (unsigned i = 0; i < 50; i++)
                ck_assert_int_ge(sd_event_run(e, 10 * 1000), 0);
        ck_assert_uint_eq(atomic_load(fsync_worker_gate(w)), t2);
        ck_assert(!fsync_ticket_reached(atomic_load(fsync_worker_gate(w)), t3));
        ck_assert(!fsync_ticket_reached(atomic_load(fsync_worker_gate(w)), t4));

        /* the reset: the next one that succeeds moves it */
        fsync_worker_reset(w);
        seen = (Seen) {};
        ck_assert_int_eq(fsync_worker_queue(w, fd, &t5), 0);
        ck_assert_uint_eq(t5, 5);
        run_until(e, &seen, 5, false);
        ck_assert_int_eq(seen.error, 0);

        /* the caller's descriptor may be closed at once: the worker has its own */
        ck_assert_int_eq(fsync_worker_queue(w, pipefd[1], &t5), 0);
        ck_assert_int_eq(fsync_worker_queue(w, -1, &t5), -EINVAL);
        ck_assert_int_eq(fsync_worker_queue(w, 1000, &t5), -EBADF);
        (void) close(pipefd[0]);
        (void) close(pipefd[1]);

        w = fsync_worker_free(w); /* finishes what is queued, joins */
        (void) close(fd);
        (void) unlink(path);
        sd_event_unref(e);
}
END_TEST

static Suite *fsync_worker_suite(void) {
        Suite *s = suite_create("fsync-worker");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_tickets_and_failure);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(fsync_worker_suite)
