/* SPDX-License-Identifier: MIT */
#pragma once

/* Real-time set-up, after the pattern of rt-tests' cyclictest: memory locked before any thread
 * starts, a thread created with explicit SCHED_FIFO attributes and a prefaulted stack, absolute
 * CLOCK_MONOTONIC deadlines. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "macro.h"

/* stack of the real-time thread, and how much of it is touched before the loop runs */
#define RT_STACK_SIZE (256u * 1024u)
#define RT_STACK_PREFAULT (64u * 1024u)

/* mlockall(MCL_CURRENT|MCL_FUTURE), and malloc told never to give memory back to the kernel (so
 * that freed and reallocated buffers stay locked in). Call once at start-up, before any thread is
 * created. RLIMIT_MEMLOCK is raised to infinity where allowed. When it stays finite and the
 * process lacks CAP_IPC_LOCK, only the current memory is locked (MCL_FUTURE would make later
 * allocations fail once the limit is reached) and 1 is returned: LimitMEMLOCK=infinity lifts
 * that. Returns 0 when all is locked, or -errno when nothing could be (the caller decides whether
 * to carry on: the thread then runs with page faults possible). */
int rt_prepare(void);

/* Creates a thread with explicit scheduling attributes: SCHED_FIFO at priority (1..99), or the
 * normal policy when priority is 0; pinned to cpu when cpu >= 0; a stack of RT_STACK_SIZE; all
 * signals blocked in it. When the kernel refuses real-time scheduling (no CAP_SYS_NICE and
 * RLIMIT_RTPRIO too low, or no real-time bandwidth for the group) it says so once per process,
 * clearly, and creates the thread with the normal policy instead; *ret_realtime says which.
 * Returns 0, -EINVAL for a bad priority or CPU, or another -errno. */
int rt_thread_create(pthread_t *ret, int priority, int cpu, void *(*fn)(void *), void *arg,
                     bool *ret_realtime);

/* First thing in the real-time thread: touches RT_STACK_PREFAULT bytes of its stack, and sets
 * its timer slack to 1 ns (that matters at normal priority only: SCHED_FIFO threads have none). */
void rt_thread_begin(void);

static inline uint64_t rt_timespec_to_ns(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * NSEC_PER_SEC + (uint64_t) ts->tv_nsec;
}

/* CLOCK_MONOTONIC in ns */
static inline uint64_t rt_now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return rt_timespec_to_ns(&ts);
}

/* One absolute sleep on CLOCK_MONOTONIC: 0, or -errno (-EINTR included: the caller retries
 * with the same deadline). */
static inline int rt_sleep_until(uint64_t t_ns) {
        struct timespec ts = {
                .tv_sec = (time_t) (t_ns / NSEC_PER_SEC),
                .tv_nsec = (long) (t_ns % NSEC_PER_SEC),
        };

        return -clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}
