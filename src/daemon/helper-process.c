/* SPDX-License-Identifier: MIT */
/* One blinkupd-https process and the daemon's end of its connection (helper-process.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* close_range() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper-process.h"
#include "https-proto.h"
#include "log.h"
#include "rt.h"

/* One process, from its start until it has been reaped. Its child event source is floating
 * (owned by the event loop) and frees the Helper when it goes. */
struct Helper {
        HelperProcess *owner; /* NULL once retired */
        pid_t pid;
        sd_event_source *child; /* floating */
        sd_event_source *kill_timer;
        bool reaped;
};

/* After fork(), in the child: async-signal-safe calls only (the transmitter thread exists). */
_noreturn_ static void helper_exec(int fd, pid_t parent, int max_fd, char *const argv[]) {
        static const char msg[] = "blinkupd: cannot execute blinkupd-https\n";
        sigset_t none;

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_DFL);
        /* it ends with the daemon, and runs without the daemon's capabilities (CAP_SYS_NICE,
         * CAP_IPC_LOCK: ambient ones are not passed on across execve() once cleared) */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (fd == HTTPS_PROTO_FD) {
                if (fcntl(fd, F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
        } else if (dup2(fd, HTTPS_PROTO_FD) < 0)
                _exit(EXIT_FAILURE);
        /* nothing else of the daemon's: not the GPIO lines, not the system bus */
        if (close_range(HTTPS_PROTO_FD + 1, ~0U, 0) < 0) /* a seccomp filter without it */
                for (int i = HTTPS_PROTO_FD + 1; i < max_fd; i++)
                        (void) close(i);
        execv(argv[0], argv);
        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(127);
}

/* The event loop goes away while the process still runs: the daemon is exiting. The process is
 * asked to end and waited for (it was already asked to, or its connection closed), killed after
 * HELPER_EXIT_TIMEOUT_USEC, and reaped: no blinkupd-https outlives the daemon. */
static void helper_end_with_daemon(Helper *h) {
        uint64_t deadline = rt_now_ns() + HELPER_EXIT_TIMEOUT_USEC * NSEC_PER_USEC;

        (void) kill(h->pid, SIGTERM);
        for (;;) {
                pid_t r = waitpid(h->pid, NULL, WNOHANG);

                if (r == h->pid || (r < 0 && errno != EINTR))
                        return; /* reaped (or not ours to reap any more) */
                if (rt_now_ns() >= deadline)
                        break;
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        log_warning("blinkupd-https (PID %d) did not exit within %" PRIu64 " s of the daemon's stop; killing it.",
                    (int) h->pid, HELPER_EXIT_TIMEOUT_USEC / USEC_PER_SEC);
        (void) kill(h->pid, SIGKILL);
        (void) waitpid(h->pid, NULL, 0);
}

static void helper_destroy(void *userdata) {
        Helper *h = userdata;

        if (!h->reaped)
                helper_end_with_daemon(h);

        if (h->owner && h->owner->helper == h)
                h->owner->helper = NULL;
        sd_event_source_disable_unref(h->kill_timer);
        free(h);
}

static int on_helper_exit(sd_event_source *source, const siginfo_t *si, void *userdata) {
        Helper *h = userdata;
        HelperProcess *hp = h->owner && h->owner->helper == h ? h->owner : NULL;

        h->reaped = true; /* by sd-event, after this callback */

        if (!hp)
                log_debug("blinkupd-https (PID %d), retired, has exited.", (int) si->si_pid);
        else if (si->si_code == CLD_EXITED)
                log_warning("blinkupd-https (PID %d), %s, exited with status %d.", (int) si->si_pid, hp->what,
                            si->si_status);
        else
                log_warning("blinkupd-https (PID %d), %s, was ended by signal SIG%s.", (int) si->si_pid,
                            hp->what, sigabbrev_np(si->si_status) ?: "?");
        /* reaped by sd-event; its calls end when the bus notices the connection closed. The
         * source, floating, holds the only reference to itself: take one, give up the floating
         * one, and drop it, which frees h (helper_destroy) once this callback has returned. */
        sd_event_source_ref(source);
        (void) sd_event_source_set_floating(source, false);
        sd_event_source_disable_unref(source);
        if (hp) {
                hp->helper = NULL;
                h->owner = NULL;
                if (hp->exited)
                        hp->exited(hp, hp->userdata);
        }
        return 0;
}

static int on_helper_kill_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Helper *h = userdata;

        log_warning("blinkupd-https (PID %d) did not exit within %" PRIu64 " s of its connection closing; "
                    "killing it.",
                    (int) h->pid, HELPER_EXIT_TIMEOUT_USEC / USEC_PER_SEC);
        (void) kill(h->pid, SIGKILL);
        return 0;
}

void helper_process_retire(HelperProcess *hp, bool kill_now) {
        Helper *h = hp->helper;
        int r;

        if (!kill_now && hp->bus && sd_bus_is_open(hp->bus) > 0)
                hp->bus = sd_bus_close_unref(hp->bus);
        else
                hp->bus = sd_bus_unref(hp->bus);
        if (!h)
                return;
        hp->helper = NULL;
        h->owner = NULL;
        if (kill_now) {
                (void) kill(h->pid, SIGKILL);
                return;
        }
        r = sd_event_add_time_relative(hp->event, &h->kill_timer, CLOCK_MONOTONIC, HELPER_EXIT_TIMEOUT_USEC,
                                       10 * USEC_PER_MSEC, on_helper_kill_timer, h);
        if (r == -ESTALE) /* the event loop has ended: the daemon is exiting */
                (void) kill(h->pid, SIGTERM);
        else if (r < 0) {
                log_warning_errno(r, "Cannot time the exit of blinkupd-https (PID %d), killing it: %m",
                                  (int) h->pid);
                (void) kill(h->pid, SIGKILL);
        }
}

/* Watches a started process until it is reaped. */
static int helper_watch(HelperProcess *hp, pid_t pid) {
        sd_event_source *child = NULL;
        Helper *h;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->owner = hp;
        h->pid = pid;
        r = sd_event_add_child(hp->event, &child, pid, WEXITED, on_helper_exit, h);
        if (r < 0) {
                free(h);
                return r;
        }
        (void) sd_event_source_set_destroy_callback(child, helper_destroy);
        (void) sd_event_source_set_floating(child, true);
        sd_event_source_unref(child); /* the event loop's now */
        h->child = child;
        hp->helper = h;
        return 0;
}

static int new_connection(int fd, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fd, fd); /* the bus owns it from here on */
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        (void) sd_bus_set_description(bus, "blinkupd-https");
        *ret = TAKE_PTR(bus);
        return 0;
}

int helper_process_start(HelperProcess *hp) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(closep) int child_fd = -1;
        char level[32];
        char *argv[] = { hp->path, level, (char *) hp->mode, NULL };
        struct rlimit rl;
        int pair[2], max_fd, r;
        pid_t parent = getpid(), pid;

        helper_process_retire(hp, false);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(-errno, "Cannot create the connection to blinkupd-https: %m");
        child_fd = pair[1];
        (void) snprintf(level, sizeof(level), "--log-level=%d", log_get_max_level());
        max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int) rl.rlim_cur : 65536;
        r = new_connection(pair[0], &bus);
        if (r < 0)
                return log_error_errno(r, "Cannot create the connection to blinkupd-https: %m");

        pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "Cannot start blinkupd-https: %m");
        if (pid == 0)
                helper_exec(child_fd, parent, max_fd, argv);
        hp->starts++;
        safe_close(TAKE_FD(child_fd));

        r = helper_watch(hp, pid);
        if (r < 0) { /* it could never be reaped, nor killed on time: not kept */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return log_error_errno(r, "Cannot watch blinkupd-https (PID %d): %m", (int) pid);
        }
        r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, hp->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to blinkupd-https: %m");
        hp->bus = TAKE_PTR(bus);
        log_debug("Started blinkupd-https (PID %d), %s.", (int) pid, hp->what);
        return 0;
}

bool helper_process_running(const HelperProcess *hp) {
        return hp->bus && sd_bus_is_open(hp->bus) > 0;
}

pid_t helper_process_pid(const HelperProcess *hp) {
        return hp->helper ? hp->helper->pid : 0;
}

int helper_process_init(HelperProcess *hp, sd_event *e, const char *mode, const char *what) {
        const char *path = getenv(HTTPS_PROTO_PATH_ENV);

        if (!path || !*path)
                path = PKGLIBEXECDIR "/blinkupd-https";
        if (access(path, X_OK) < 0)
                return log_error_errno(-errno, "Cannot run %s, %s: %m", path, what);
        hp->path = strdup(path);
        if (!hp->path)
                return -ENOMEM;
        hp->event = sd_event_ref(e);
        hp->mode = mode;
        hp->what = what;
        return 0;
}

void helper_process_done(HelperProcess *hp) {
        if (hp->event)
                helper_process_retire(hp, false);
        hp->path = mfree(hp->path);
        hp->event = sd_event_unref(hp->event);
}
