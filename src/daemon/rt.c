/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* CPU_SET(), pthread_attr_setaffinity_np() */
#endif
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>

#include "log.h"
#include "rt.h"

static bool have_ipc_lock(void) {
        char line[128];
        bool r = false;
        FILE *f;

        f = fopen("/proc/self/status", "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long caps;

                if (sscanf(line, "CapEff: %llx", &caps) == 1) {
                        r = caps & (1ULL << CAP_IPC_LOCK);
                        break;
                }
        }
        fclose(f);
        return r;
}

int rt_prepare(void) {
        struct rlimit rl;
        bool all = true;

        /* freed memory stays in the (locked) heap instead of going back to the kernel, and large
         * blocks come from the heap too rather than from fresh mappings */
        (void) mallopt(M_TRIM_THRESHOLD, -1);
        (void) mallopt(M_MMAP_MAX, 0);

        if (getrlimit(RLIMIT_MEMLOCK, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY) {
                struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };

                if (setrlimit(RLIMIT_MEMLOCK, &inf) < 0 && !have_ipc_lock())
                        all = false;
        }

        if (mlockall(all ? MCL_CURRENT | MCL_FUTURE : MCL_CURRENT) < 0)
                return -errno;
        return all ? 0 : 1;
}

static void prefault_stack(void) {
        volatile unsigned char buf[RT_STACK_PREFAULT];

        /* volatile: the compiler must not drop the writes */
        for (size_t i = 0; i < sizeof(buf); i += 1024)
                buf[i] = (unsigned char) i;
}

void rt_thread_begin(void) {
        prefault_stack();
        (void) prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

static int attr_init(pthread_attr_t *a, int priority, int cpu) {
        int r;

        r = pthread_attr_init(a);
        if (r != 0)
                return -r;
        r = pthread_attr_setstacksize(a, RT_STACK_SIZE);
        if (r == 0)
                r = pthread_attr_setinheritsched(a, PTHREAD_EXPLICIT_SCHED);
        if (r == 0) {
                struct sched_param sp = { .sched_priority = priority };

                r = pthread_attr_setschedpolicy(a, priority > 0 ? SCHED_FIFO : SCHED_OTHER);
                if (r == 0)
                        r = pthread_attr_setschedparam(a, &sp);
        }
        if (r == 0 && cpu >= 0) {
                cpu_set_t set;

                CPU_ZERO(&set);
                CPU_SET(cpu, &set);
                r = pthread_attr_setaffinity_np(a, sizeof(set), &set);
        }
        if (r != 0) {
                (void) pthread_attr_destroy(a);
                return -r;
        }
        return 0;
}

static int create(pthread_t *ret, int priority, int cpu, void *(*fn)(void *), void *arg) {
        pthread_attr_t a;
        sigset_t all, saved;
        int r;

        r = attr_init(&a, priority, cpu);
        if (r < 0)
                return r;

        /* the thread starts with every signal blocked: no handler ever runs on it */
        sigfillset(&all);
        r = pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r == 0) {
                r = pthread_create(ret, &a, fn, arg);
                (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        }
        (void) pthread_attr_destroy(&a);
        return -r;
}

int rt_thread_create(pthread_t *ret, int priority, int cpu, void *(*fn)(void *), void *arg,
                     bool *ret_realtime) {
        static atomic_bool warned = false;
        cpu_set_t allowed;
        int r, max;

        max = sched_get_priority_max(SCHED_FIFO);
        if (priority < 0 || priority > max)
                return log_error_errno(-EINVAL, "Real-time priority %d out of range (0 = none, 1..%d).",
                                       priority, max);
        if (cpu >= 0) {
                if (cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(allowed), &allowed) < 0 ||
                    !CPU_ISSET(cpu, &allowed))
                        return log_error_errno(-EINVAL, "CPU %d is not available to this process.", cpu);
        }

        r = create(ret, priority, cpu, fn, arg);
        if (r == -EPERM && priority > 0) {
                if (!atomic_exchange(&warned, true))
                        log_warning(
                                "Real-time scheduling (SCHED_FIFO priority %d) was refused: no "
                                "CAP_SYS_NICE and RLIMIT_RTPRIO (LimitRTPRIO=) below %d. The transmitter "
                                "runs at normal priority; its edges may be late under load, and the "
                                "timing figures say \"realtime: no\".",
                                priority, priority);
                r = create(ret, 0, cpu, fn, arg);
                if (r >= 0 && ret_realtime)
                        *ret_realtime = false;
                return r;
        }
        if (r >= 0 && ret_realtime)
                *ret_realtime = priority > 0;
        return r;
}
