/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "curl-glue.h"
#include "list.h"
#include "log.h"
#include "macro.h"

/* One socket curl asked us to watch; curl keeps the pointer for us (curl_multi_assign). */
typedef struct GlueSocket GlueSocket;
struct GlueSocket {
        CurlGlue *glue;
        curl_socket_t fd;
        sd_event_source *source;
        GlueSocket *prev, *next;
};

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        GlueSocket *sockets;
        curl_glue_finished_t on_finished;
        void *userdata;
};

static void glue_socket_free(GlueSocket *s) {
        if (!s)
                return;
        sd_event_source_disable_unref(s->source);
        LIST_REMOVE(s->glue->sockets, s);
        free(s);
}

/* Hands every finished transfer to the owner. Runs from the loop, after curl returned. */
static void glue_reap(CurlGlue *g) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g->multi, &left)))
                if (msg->msg == CURLMSG_DONE) {
                        CURL *c = msg->easy_handle;
                        CURLcode result = msg->data.result;
                        g->on_finished(g, c, result, g->userdata);
                }
}

static void glue_action(CurlGlue *g, curl_socket_t fd, int mask) {
        CURLMcode mc;
        int running;

        mc = curl_multi_socket_action(g->multi, fd, mask, &running);
        if (mc != CURLM_OK)
                log_debug("curl_multi_socket_action() failed: %s", curl_multi_strerror(mc));
        glue_reap(g);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        GlueSocket *s = userdata;
        int mask = 0;

        if (revents & (EPOLLIN | EPOLLPRI))
                mask |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                mask |= CURL_CSELECT_ERR;

        /* the socket may be forgotten (and s freed) while curl acts on it */
        glue_action(s->glue, fd, mask);
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        glue_action(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

static int socket_callback(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        CurlGlue *g = userp;
        GlueSocket *s = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        (void) curl_multi_assign(g->multi, fd, NULL);
                        glue_socket_free(s);
                }
                return 0;
        }

        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (s) {
                r = sd_event_source_set_io_events(s->source, events);
                if (r < 0)
                        return log_debug_errno(r, "Could not change a curl socket's events: %m"), -1;
                return 0;
        }

        s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        s->glue = g;
        s->fd = fd;
        r = sd_event_add_io(g->event, &s->source, fd, events, on_io, s);
        if (r < 0) {
                log_debug_errno(r, "Could not watch a curl socket: %m");
                free(s);
                return -1;
        }
        (void) sd_event_source_set_description(s->source, "curl-socket");
        if (curl_multi_assign(g->multi, fd, s) != CURLM_OK) {
                sd_event_source_disable_unref(s->source);
                free(s);
                return -1;
        }
        LIST_PREPEND(g->sockets, s);
        return 0;
}

static int timer_callback(CURLM *multi, long timeout_ms, void *userp) {
        CurlGlue *g = userp;
        int r;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;

        /* 0 means "at once": the next loop iteration, never from inside curl */
        r = sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_debug_errno(r, "Could not arm the curl timer: %m");
                return -1;
        }
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue *, curl_glue_free);

int curl_glue_new(sd_event *e, curl_glue_finished_t on_finished, void *userdata, CurlGlue **ret) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(e);
        g->on_finished = on_finished;
        g->userdata = userdata;

        r = sd_event_add_time_relative(e, &g->timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 1, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(g->timer, "curl-timer");

        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_callback) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_callback) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK)
                return -EIO;

        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        if (g->multi)
                (void) curl_multi_cleanup(g->multi);
        while (g->sockets)
                glue_socket_free(g->sockets);
        sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        return mfree(g);
}

int curl_glue_add(CurlGlue *g, CURL *c) {
        CURLMcode mc;

        mc = curl_multi_add_handle(g->multi, c);
        if (mc == CURLM_OUT_OF_MEMORY)
                return -ENOMEM;
        if (mc != CURLM_OK)
                return -EIO;
        return 0;
}

void curl_glue_remove(CurlGlue *g, CURL *c) {
        if (g && c)
                (void) curl_multi_remove_handle(g->multi, c);
}
