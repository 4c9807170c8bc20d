/* SPDX-License-Identifier: MIT */
/* The results delivery as the daemon sees it (results-proxy.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "helper-process.h"
#include "https-proto.h"
#include "log.h"
#include "results-proxy.h"
#include "string-util.h"

typedef struct ResultsOwned {
        char *url, *token, *ca_file, *state_directory, *fixture_id, *line;
} ResultsOwned;

struct ResultsProxy {
        sd_event *event;
        ResultsConfig config; /* its strings point into owned */
        ResultsOwned owned;
        HelperProcess hp;
        sd_bus_slot *status_slot;
        sd_event_source *restart_timer;
        uint64_t restart_delay_usec;
        results_proxy_changed_t changed;
        void *userdata;

        uint32_t backlog, parked;
        uint64_t last_delivery_usec, last_error_usec;
        char *last_error;
};

static void notify(ResultsProxy *rp) {
        if (rp->changed)
                rp->changed(rp, rp->userdata);
}

static int on_status(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ResultsProxy *rp = userdata;
        const char *text;
        uint32_t backlog, parked;
        uint64_t delivered, errored;
        int r;

        r = sd_bus_message_read(m, HTTPS_PROTO_RESULTS_STATUS_SIGNATURE, &backlog, &parked, &delivered, &errored,
                                &text);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the results delivery's status: %m");
                return 0;
        }
        r = free_and_strdup(&rp->last_error, text);
        if (r < 0)
                return r;
        rp->backlog = backlog;
        rp->parked = parked;
        rp->last_delivery_usec = delivered;
        rp->last_error_usec = errored;
        rp->restart_delay_usec = RESULTS_RESTART_MIN_USEC; /* it works */
        notify(rp);
        return 0;
}

static int on_open_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                log_error("blinkupd-https --results did not take the results configuration: %s", e->message);
        return 0;
}

static int send_open(ResultsProxy *rp) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const ResultsConfig *c = &rp->config;
        int r;

        r = sd_bus_message_new_method_call(rp->hp.bus, &m, NULL, HTTPS_PROTO_PATH, HTTPS_PROTO_RESULTS_INTERFACE,
                                           "Open");
        if (r < 0)
                return r;
        (void) sd_bus_message_sensitive(m); /* the token: erased when the message is freed */
        r = sd_bus_message_append(m, HTTPS_PROTO_RESULTS_OPEN_SIGNATURE, c->url, strempty(c->token),
                                  strempty(c->ca_file), c->state_directory, strempty(c->fixture_id),
                                  strempty(c->line), c->timeout_usec, c->connect_timeout_usec, c->retry_max_usec,
                                  c->allow_insecure_http);
        if (r < 0)
                return r;
        return sd_bus_call_async(rp->hp.bus, NULL, m, on_open_reply, rp, 0);
}

static int start(ResultsProxy *rp) {
        int r;

        rp->status_slot = sd_bus_slot_unref(rp->status_slot);
        r = helper_process_start(&rp->hp);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(rp->hp.bus, &rp->status_slot, NULL, HTTPS_PROTO_PATH,
                                HTTPS_PROTO_RESULTS_INTERFACE, "Status", on_status, rp);
        if (r >= 0)
                r = send_open(rp);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the results delivery: %m");
        return 0;
}

static int on_restart(sd_event_source *s, uint64_t usec, void *userdata) {
        ResultsProxy *rp = userdata;

        log_notice("Starting blinkupd-https --results, the results delivery, again.");
        if (start(rp) < 0) /* tried again as if it had exited */
                rp->hp.exited(&rp->hp, rp);
        return 0;
}

static void on_exited(HelperProcess *hp, void *userdata) {
        ResultsProxy *rp = userdata;
        uint64_t delay = rp->restart_delay_usec;
        int r;

        rp->restart_delay_usec = MIN(delay * 2, RESULTS_RESTART_MAX_USEC);
        log_notice("The results delivery starts again in %.0f s; it goes on from the last position delivered.",
                   (double) delay / (double) USEC_PER_SEC);
        r = sd_event_source_set_time_relative(rp->restart_timer, delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(rp->restart_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot time the restart of the results delivery: %m");
        notify(rp);
}

void results_proxy_kick(ResultsProxy *rp) {
        if (!rp || !helper_process_running(&rp->hp))
                return; /* one that starts reads the record anyway */
        /* told, not asked: a reply would wake the loop for nothing */
        (void) sd_bus_call_method_async(rp->hp.bus, NULL, NULL, HTTPS_PROTO_PATH, HTTPS_PROTO_RESULTS_INTERFACE,
                                        "Kick", NULL, NULL, NULL);
}

void results_proxy_get_status(const ResultsProxy *rp, ResultsStatus *ret) {
        *ret = (ResultsStatus) {
                .backlog = rp->backlog,
                .parked = rp->parked,
                .last_delivery_usec = rp->last_delivery_usec,
                .last_error_usec = rp->last_error_usec,
                .last_error = strempty(rp->last_error),
                .running = helper_process_running(&rp->hp) && rp->hp.helper,
        };
}

/* ---- setup ---- */

static int copy_config(ResultsProxy *rp, const ResultsConfig *c) {
        ResultsOwned *o = &rp->owned;
        const char *const src[] = { c->url, c->token, c->ca_file, c->state_directory, c->fixture_id, c->line };
        char **const dst[] = { &o->url, &o->token, &o->ca_file, &o->state_directory, &o->fixture_id, &o->line };

        for (size_t i = 0; i < ELEMENTSOF(src); i++)
                if (src[i] && !(*dst[i] = strdup(src[i])))
                        return -ENOMEM;
        rp->config = (ResultsConfig) {
                .url = o->url,
                .token = o->token,
                .ca_file = o->ca_file,
                .state_directory = o->state_directory,
                .fixture_id = o->fixture_id,
                .line = o->line,
                .timeout_usec = c->timeout_usec,
                .connect_timeout_usec = c->connect_timeout_usec,
                .retry_max_usec = c->retry_max_usec,
                .allow_insecure_http = c->allow_insecure_http,
        };
        return 0;
}

bool results_proxy_config_equal(const ResultsProxy *rp, const ResultsConfig *c) {
        const ResultsConfig *a = &rp->config;

        return streq_ptr(a->url, c->url) && streq_ptr(a->token, c->token) && streq_ptr(a->ca_file, c->ca_file) &&
               streq_ptr(a->state_directory, c->state_directory) && streq_ptr(a->fixture_id, c->fixture_id) &&
               streq_ptr(a->line, c->line) && a->timeout_usec == c->timeout_usec &&
               a->connect_timeout_usec == c->connect_timeout_usec && a->retry_max_usec == c->retry_max_usec &&
               a->allow_insecure_http == c->allow_insecure_http;
}

int results_proxy_new(sd_event *e, const ResultsConfig *c, results_proxy_changed_t changed, void *userdata,
                      ResultsProxy **ret) {
        _cleanup_(results_proxy_freep) ResultsProxy *rp = NULL;
        int r;

        if (!e || !c || !c->url || !c->state_directory || !ret)
                return -EINVAL;
        rp = calloc(1, sizeof(*rp));
        if (!rp)
                return -ENOMEM;
        rp->event = sd_event_ref(e);
        rp->changed = changed;
        rp->userdata = userdata;
        rp->restart_delay_usec = RESULTS_RESTART_MIN_USEC;
        r = copy_config(rp, c);
        if (r < 0)
                return r;
        r = helper_process_init(&rp->hp, e, "--results", "the results delivery");
        if (r < 0)
                return r;
        rp->hp.exited = on_exited;
        rp->hp.userdata = rp;
        r = sd_event_add_time_relative(e, &rp->restart_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC / 10, on_restart,
                                       rp);
        if (r >= 0)
                r = sd_event_source_set_enabled(rp->restart_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = start(rp);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(rp);
        return 0;
}

ResultsProxy *results_proxy_free(ResultsProxy *rp) {
        if (!rp)
                return NULL;
        rp->hp.exited = NULL; /* a retired helper is not started again */
        rp->status_slot = sd_bus_slot_unref(rp->status_slot);
        helper_process_done(&rp->hp);
        rp->restart_timer = sd_event_source_disable_unref(rp->restart_timer);
        free(rp->owned.url);
        erase_and_free(rp->owned.token);
        free(rp->owned.ca_file);
        free(rp->owned.state_directory);
        free(rp->owned.fixture_id);
        free(rp->owned.line);
        free(rp->last_error);
        sd_event_unref(rp->event);
        free(rp);
        return NULL;
}
