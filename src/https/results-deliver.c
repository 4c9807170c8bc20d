/* SPDX-License-Identifier: MIT */
/* The results delivery: one POST at a time of the outbox's oldest document, the classification
 * of what came back, the backoff timer (armed only while a document waits for its retry) and
 * the Status values. The bearer token goes into one header and nowhere else. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "curl-glue.h"
#include "http-util.h"
#include "https-proto.h"
#include "log.h"
#include "results-deliver.h"
#include "results-outbox.h"
#include "string-util.h"
#include "time-util.h"

#define BACKOFF_FIRST_USEC USEC_PER_SEC
#define RETRY_AFTER_MAX_SEC 3600
#define RESPONSE_MAX (64 * 1024) /* what a receiver may send back; only the start is kept */

struct ResultsDeliver {
        sd_event *event;
        CurlGlue *glue;
        ResultsOutbox *outbox;
        char *url, *url_shown, *token, *ca_file;
        uint64_t timeout_usec, connect_timeout_usec, retry_max_usec;
        bool allow_insecure_http;

        CURL *curl; /* the transfer in flight */
        struct curl_slist *headers;
        char body[RESULTS_REASON_MAX + 1];
        size_t body_size;
        int64_t retry_after_sec; /* -1: none */
        char error_buffer[CURL_ERROR_SIZE];

        sd_event_source *timer; /* the backoff: only while a document waits for its retry */
        unsigned tries;
        uint64_t outage_since; /* CLOCK_MONOTONIC, 0: none */

        ResultsStatus status, sent;
        bool status_sent;
        results_status_t on_status;
        void *userdata;
};

static void pump(ResultsDeliver *d);

/* The URL without "user:password@", for messages. */
static char *url_for_messages(const char *url) {
        const char *host = strstr(url, "://"), *at, *slash;
        char *s;

        if (!host)
                return strdup(url);
        host += 3;
        slash = host + strcspn(host, "/?#");
        at = memchr(host, '@', (size_t) (slash - host));
        if (!at)
                return strdup(url);
        if (asprintf(&s, "%.*s%s", (int) (host - url), url, at + 1) < 0)
                return NULL;
        return s;
}

static void status_update(ResultsDeliver *d) {
        d->status.backlog = (uint32_t) MIN(results_outbox_backlog(d->outbox), (size_t) UINT32_MAX);
        d->status.parked = results_outbox_parked(d->outbox);
        if (d->status_sent && memcmp(&d->status, &d->sent, sizeof(d->status)) == 0)
                return;
        d->sent = d->status;
        d->status_sent = true;
        if (d->on_status)
                d->on_status(&d->status, d->userdata);
}

static void release_transfer(ResultsDeliver *d) {
        if (d->curl) {
                curl_glue_remove(d->glue, d->curl);
                curl_easy_cleanup(d->curl);
                d->curl = NULL;
        }
        http_slist_erase_and_free(d->headers);
        d->headers = NULL;
        d->body_size = 0;
        d->body[0] = 0;
        d->retry_after_sec = -1;
        d->error_buffer[0] = 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        ResultsDeliver *d = userdata;
        size_t n = size * nmemb, keep = MIN(n, sizeof(d->body) - 1 - d->body_size);

        memcpy(d->body + d->body_size, data, keep);
        d->body_size += keep;
        d->body[d->body_size] = 0;
        return n;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata) {
        ResultsDeliver *d = userdata;
        size_t n = size * nitems, len;
        const char *v;

        if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
                d->retry_after_sec = -1; /* a new response (after a 100 Continue) */
        else if (http_header_is(line, n, "Retry-After", &v, &len))
                d->retry_after_sec = http_retry_after_parse(v, len);
        return n;
}

static int build_headers(ResultsDeliver *d, const char *key) {
        _cleanup_(erase_and_freep) char *bearer = NULL;
        _cleanup_(freep) char *idem = NULL;
        int r;

        if (asprintf(&idem, "Idempotency-Key: %s", key) < 0)
                return -ENOMEM;
        if (d->token && asprintf(&bearer, "Authorization: Bearer %s", d->token) < 0)
                return -ENOMEM;
        r = http_header_append(&d->headers, "Content-Type: application/json");
        if (r >= 0)
                r = http_header_append(&d->headers, "Accept: application/json");
        if (r >= 0)
                r = http_header_append(&d->headers, "Expect:");
        if (r >= 0)
                r = http_header_append(&d->headers, idem);
        if (r >= 0 && bearer)
                r = http_header_append(&d->headers, bearer);
        return r;
}

static int setup_easy(ResultsDeliver *d, CURL *c, const char *json) {
        int r;

        EASY(c, CURLOPT_URL, d->url);
        r = http_easy_set_security(c, d->allow_insecure_http, d->ca_file);
        if (r < 0)
                return r;
        r = http_easy_set_limits(c, d->timeout_usec, d->connect_timeout_usec, (curl_off_t) RESPONSE_MAX);
        if (r < 0)
                return r;
        EASY(c, CURLOPT_HTTPHEADER, d->headers);
        EASY(c, CURLOPT_WRITEFUNCTION, on_write);
        EASY(c, CURLOPT_WRITEDATA, d);
        EASY(c, CURLOPT_HEADERFUNCTION, on_header);
        EASY(c, CURLOPT_HEADERDATA, d);
        EASY(c, CURLOPT_ERRORBUFFER, d->error_buffer);
        EASY(c, CURLOPT_POSTFIELDSIZE, (long) strlen(json));
        EASY(c, CURLOPT_COPYPOSTFIELDS, json);
        return 0;
}

static int send_head(ResultsDeliver *d, const ResultsDocument *doc) {
        int r;

        release_transfer(d);
        d->curl = curl_easy_init();
        if (!d->curl)
                return -ENOMEM;
        r = build_headers(d, doc->key);
        if (r >= 0)
                r = setup_easy(d, d->curl, doc->json);
        if (r >= 0)
                r = curl_glue_add(d->glue, d->curl);
        if (r < 0) {
                release_transfer(d);
                return r;
        }
        log_debug("Results: POST %s (%s, try %u).", d->url_shown, doc->key, d->tries + 1);
        return 0;
}

/* ---- what came back ---- */

static void set_error(ResultsDeliver *d, const char *msg) {
        char cut[sizeof(d->status.last_error)];

        (void) snprintf(cut, sizeof(cut), "%s", msg);
        /* a retry that says what the last one said changes nothing (and wakes nobody) */
        if (streq(d->status.last_error, cut) && d->outage_since)
                return;
        memcpy(d->status.last_error, cut, sizeof(cut));
        d->status.last_error_usec = now_usec(CLOCK_REALTIME);
}

static const char *format_sec(char *buf, size_t size, uint64_t usec) {
        (void) snprintf(buf, size, "%.1f s", (double) usec / (double) USEC_PER_SEC);
        return buf;
}

static void outage_end(ResultsDeliver *d) {
        char a[32];

        if (!d->outage_since)
                return;
        log_info("Results delivered again after %s.",
                 format_sec(a, sizeof(a), now_usec(CLOCK_MONOTONIC) - d->outage_since));
        d->outage_since = 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ResultsDeliver *d = userdata;

        d->timer = sd_event_source_disable_unref(d->timer);
        pump(d);
        return 0;
}

static uint64_t backoff(ResultsDeliver *d) {
        uint64_t delay = BACKOFF_FIRST_USEC << MIN(d->tries - 1, 30u);
        uint16_t rnd = 0;

        delay = MIN(delay, d->retry_max_usec);
        (void) getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
        /* +-10 %, in integers: at most 86400 s / 5 * 65535 is far from overflowing */
        return delay - delay / 10 + delay / 5 * rnd / UINT16_MAX;
}

static void retry(ResultsDeliver *d, const char *msg, int64_t retry_after_sec) {
        uint64_t delay;
        char a[32];
        int r;

        d->tries++;
        delay = backoff(d);
        if (retry_after_sec >= 0)
                delay = (uint64_t) MIN(retry_after_sec, (int64_t) RETRY_AFTER_MAX_SEC) * USEC_PER_SEC;
        if (!d->outage_since) {
                d->outage_since = MAX(now_usec(CLOCK_MONOTONIC), UINT64_C(1));
                log_info("Results endpoint unreachable, %zu waiting: %s", results_outbox_backlog(d->outbox), msg);
        }
        set_error(d, msg);
        log_debug("Results: %s; trying again in %s.", msg, format_sec(a, sizeof(a), delay));
        r = sd_event_add_time(d->event, &d->timer, CLOCK_MONOTONIC, now_usec(CLOCK_MONOTONIC) + delay,
                              USEC_PER_MSEC, on_timer, d);
        if (r < 0) {
                log_error_errno(r, "Cannot arm the results retry timer: %m");
                return;
        }
        (void) sd_event_source_set_description(d->timer, "results-retry");
}

static void delivered(ResultsDeliver *d) {
        outage_end(d);
        d->tries = 0;
        d->status.last_delivery_usec = now_usec(CLOCK_REALTIME);
        (void) results_outbox_delivered(d->outbox);
}

static void park(ResultsDeliver *d, long code) {
        const ResultsDocument *doc = results_outbox_peek(d->outbox);
        char reason[RESULTS_REASON_MAX + 1], msg[RESULTS_ERROR_MAX];
        int r;

        (void) snprintf(reason, sizeof(reason), "%s", d->body);
        if (d->token && strstr(reason, d->token)) /* a receiver that echoes the request */
                (void) snprintf(reason, sizeof(reason), "(a body that repeats the request)");
        if (!reason[0])
                (void) snprintf(reason, sizeof(reason), "HTTP %ld", code);
        (void) snprintf(msg, sizeof(msg), "HTTP %ld from %s", code, d->url_shown);
        log_warning("Results document %s refused (%s), parked in %s: %s", doc->key, msg, RESULTS_PARKED_FILENAME,
                    reason);
        r = results_outbox_park(d->outbox, now_usec(CLOCK_REALTIME), code, reason);
        if (r < 0) {
                retry(d, "The refused document cannot be parked", -1);
                return;
        }
        outage_end(d);
        d->tries = 0;
        set_error(d, msg);
}

static void transport_error(ResultsDeliver *d, CURLcode e) {
        const char *detail = d->error_buffer[0] ? d->error_buffer : curl_easy_strerror(e);
        char msg[RESULTS_ERROR_MAX + CURL_ERROR_SIZE + 64]; /* cut to RESULTS_ERROR_MAX by set_error() */

        switch (e) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
                (void) snprintf(msg, sizeof(msg), "Could not connect to %s: %s", d->url_shown, detail);
                break;
        case CURLE_OPERATION_TIMEDOUT:
                (void) snprintf(msg, sizeof(msg), "No answer from %s in time: %s", d->url_shown, detail);
                break;
        default:
                (void) snprintf(msg, sizeof(msg), "Transfer to %s failed: %s", d->url_shown, detail);
        }
        retry(d, msg, -1);
}

static void on_finished(CurlGlue *g, CURL *c, CURLcode result, void *userdata) {
        ResultsDeliver *d = userdata;
        char msg[RESULTS_ERROR_MAX];
        long code = 0;

        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (result != CURLE_OK && !(result == CURLE_FILESIZE_EXCEEDED && code >= 200))
                transport_error(d, result);
        else if (code >= 200 && code < 300)
                delivered(d);
        else if (code == 408 || code == 429 || code >= 500) {
                (void) snprintf(msg, sizeof(msg), "HTTP %ld from %s", code, d->url_shown);
                retry(d, msg, code == 429 ? MAX(d->retry_after_sec, (int64_t) 1) : -1);
        } else
                park(d, code);
        release_transfer(d);
        pump(d);
}

/* Sends the oldest document when nothing is in flight nor waiting for its retry. */
static void pump(ResultsDeliver *d) {
        const ResultsDocument *doc;
        char msg[RESULTS_ERROR_MAX];
        int r;

        if (!d->curl && !d->timer && results_outbox_backlog(d->outbox) < RESULTS_QUEUE_MAX / 2)
                (void) results_outbox_read(d->outbox); /* reading paused on a full queue goes on */
        if (!d->curl && !d->timer && (doc = results_outbox_peek(d->outbox))) {
                r = send_head(d, doc);
                if (r < 0) {
                        (void) snprintf(msg, sizeof(msg), "Cannot start a request to %s: %s", d->url_shown,
                                        strerror(-r));
                        retry(d, msg, -1);
                }
        }
        status_update(d);
}

int results_deliver_kick(ResultsDeliver *d) {
        int r;

        r = results_outbox_read(d->outbox);
        pump(d);
        return MIN(r, 0);
}

ResultsDeliver *results_deliver_free(ResultsDeliver *d) {
        if (!d)
                return NULL;
        release_transfer(d);
        d->timer = sd_event_source_disable_unref(d->timer);
        curl_glue_free(d->glue);
        results_outbox_free(d->outbox);
        sd_event_unref(d->event);
        free(d->url);
        free(d->url_shown);
        erase_and_free(d->token);
        free(d->ca_file);
        return mfree(d);
}

static int copy_config(ResultsDeliver *d, const ResultsConfig *c) {
        d->url = strdup(c->url);
        d->url_shown = url_for_messages(c->url);
        if (!d->url || !d->url_shown || free_and_strdup(&d->token, empty_to_null(c->token)) < 0 ||
            free_and_strdup(&d->ca_file, empty_to_null(c->ca_file)) < 0)
                return -ENOMEM;
        d->timeout_usec = c->timeout_usec;
        d->connect_timeout_usec = c->connect_timeout_usec;
        d->retry_max_usec = MAX(c->retry_max_usec, USEC_PER_SEC);
        d->allow_insecure_http = c->allow_insecure_http;
        return 0;
}

int results_deliver_new(sd_event *e, const ResultsConfig *c, results_status_t on_status, void *userdata,
                        ResultsDeliver **ret) {
        _cleanup_(results_deliver_freep) ResultsDeliver *d = NULL;
        int r;

        if (isempty(c->url) || isempty(c->state_dir))
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->event = sd_event_ref(e);
        d->retry_after_sec = -1;
        d->on_status = on_status;
        d->userdata = userdata;
        r = copy_config(d, c);
        if (r < 0)
                return r;
        r = curl_glue_new(e, on_finished, d, &d->glue);
        if (r < 0)
                return r;
        r = results_outbox_new(c->state_dir, empty_to_null(c->fixture_id), empty_to_null(c->line), &d->outbox);
        if (r < 0)
                return log_error_errno(r, "Cannot open the state directory %s: %m", c->state_dir);
        r = results_outbox_start(d->outbox);
        if (r < 0)
                return r;
        log_info("Results delivery to %s: %zu document(s) waiting, %u parked.", d->url_shown,
                 results_outbox_backlog(d->outbox), results_outbox_parked(d->outbox));
        pump(d);
        *ret = TAKE_PTR(d);
        return 0;
}
