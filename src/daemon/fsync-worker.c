/* SPDX-License-Identifier: MIT */
/* The record's fsync()s on a thread of their own (fsync-worker.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fsync-worker.h"
#include "log.h"

#define QUEUE_MAX 16 /* an attempt queues two; more wait for room */
/* the thread calls fsync() and little else; its stack is locked with the rest (mlockall) */
#define WORKER_STACK_SIZE (64 * 1024)

typedef struct Job {
        int fd;
        uint32_t ticket;
} Job;

struct FsyncWorker {
        sd_event_source *source;
        fsync_worker_callback_t cb;
        void *userdata;
        int done_fd; /* thread -> main loop */

        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t wake; /* a job queued, or quit */
        pthread_cond_t room; /* a job taken */

        /* under lock */
        Job queue[QUEUE_MAX];
        size_t head, n;
        uint32_t next_ticket;
        int error; /* the first fsync that failed since the last reset (errno), 0: none */
        bool quit;

        atomic_uint gate;
};

static void *worker_thread(void *userdata) {
        FsyncWorker *w = userdata;
        sigset_t all;

        /* the main loop's signalfd has the signals */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);

        pthread_mutex_lock(&w->lock);
        for (;;) {
                Job job;
                int r;

                while (w->n == 0 && !w->quit)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (w->n == 0)
                        break; /* quit, and nothing left to make durable */
                job = w->queue[w->head];
                w->head = (w->head + 1) % QUEUE_MAX;
                w->n--;
                pthread_cond_signal(&w->room);
                pthread_mutex_unlock(&w->lock);

                r = fsync(job.fd) < 0 ? errno : 0;
                (void) close(job.fd);

                pthread_mutex_lock(&w->lock);
                if (r != 0 && w->error == 0)
                        w->error = r;
                if (w->error == 0)
                        atomic_store_explicit(&w->gate, job.ticket, memory_order_release);
                pthread_mutex_unlock(&w->lock);
                (void) eventfd_write(w->done_fd, 1);
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FsyncWorker *w = userdata;
        eventfd_t v;
        int error;

        (void) eventfd_read(w->done_fd, &v);
        pthread_mutex_lock(&w->lock);
        error = w->error;
        pthread_mutex_unlock(&w->lock);
        if (w->cb)
                w->cb(w, atomic_load_explicit(&w->gate, memory_order_acquire), error, w->userdata);
        return 0;
}

int fsync_worker_new(sd_event *e, fsync_worker_callback_t cb, void *userdata, FsyncWorker **ret) {
        _cleanup_(fsync_worker_freep) FsyncWorker *w = NULL;
        pthread_attr_t attr;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->done_fd = -1;
        w->cb = cb;
        w->userdata = userdata;
        w->next_ticket = 1;
        atomic_init(&w->gate, 0);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        pthread_cond_init(&w->room, NULL);
        w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->done_fd < 0)
                return -errno;
        r = sd_event_add_io(e, &w->source, w->done_fd, EPOLLIN, on_done, w);
        if (r < 0)
                return r;
        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        (void) pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
        r = pthread_create(&w->thread, &attr, worker_thread, w);
        (void) pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        w->thread_started = true;
        *ret = TAKE_PTR(w);
        return 0;
}

FsyncWorker *fsync_worker_free(FsyncWorker *w) {
        if (!w)
                return NULL;
        if (w->thread_started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->wake);
                pthread_mutex_unlock(&w->lock);
                (void) pthread_join(w->thread, NULL);
        }
        w->source = sd_event_source_disable_unref(w->source);
        if (w->done_fd >= 0)
                (void) close(w->done_fd);
        pthread_cond_destroy(&w->room);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}

int fsync_worker_queue(FsyncWorker *w, int fd, uint32_t *ret) {
        int copy;

        if (!w || fd < 0)
                return -EINVAL;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        pthread_mutex_lock(&w->lock);
        while (w->n == QUEUE_MAX)
                pthread_cond_wait(&w->room, &w->lock);
        if (w->next_ticket == 0)
                w->next_ticket = 1; /* 0 is the gate before any fsync */
        w->queue[(w->head + w->n) % QUEUE_MAX] = (Job) { .fd = copy, .ticket = w->next_ticket };
        w->n++;
        *ret = w->next_ticket++;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        return 0;
}

const atomic_uint *fsync_worker_gate(FsyncWorker *w) {
        return &w->gate;
}

void fsync_worker_reset(FsyncWorker *w) {
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        w->error = 0;
        pthread_mutex_unlock(&w->lock);
}
