/* SPDX-License-Identifier: MIT */
/* The factory server client's requests: building one for the current step, handing it to curl,
 * collecting the response, and the retry policy (the backoff, Retry-After, which transport
 * errors are worth another try). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factory-client-internal.h"
#include "http-util.h"
#include "log.h"
#include "time-util.h"

void op_release_transfer(FactoryOp *op) {
        if (op->curl) {
                curl_glue_remove(op->client->glue, op->curl);
                curl_easy_cleanup(op->curl);
                op->curl = NULL;
        }
        http_slist_erase_and_free(op->headers);
        op->headers = NULL;
        erase_and_free(op->body);
        op->body = NULL;
        if (op->response)
                explicit_bzero(op->response, op->response_size);
        op->response = mfree(op->response);
        op->response_size = 0;
        op->too_large = false;
        op->retry_after_sec = -1;
        op->content_type[0] = op->location[0] = op->error_buffer[0] = 0;
}

/* ---- curl callbacks: run inside curl, only collect ---- */

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        FactoryOp *op = userdata;
        size_t n = size * nmemb;
        char *p;

        if (n == 0)
                return 0;
        if (op->response_size + n > FACTORY_RESPONSE_MAX) {
                op->too_large = true;
                return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
        }
        p = realloc(op->response, op->response_size + n + 1);
        if (!p)
                return 0;
        memcpy(p + op->response_size, data, n);
        op->response = p;
        op->response_size += n;
        op->response[op->response_size] = 0;
        return n;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata) {
        FactoryOp *op = userdata;
        size_t n = size * nitems;
        const char *v;
        size_t len;

        if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
                /* a new response (after a 100 Continue, say): forget the previous headers */
                op->retry_after_sec = -1;
                op->content_type[0] = op->location[0] = 0;
                return n;
        }
        if (http_header_is(line, n, "Retry-After", &v, &len))
                op->retry_after_sec = http_retry_after_parse(v, len); /* -1 (junk): as if there were none */
        else if (http_header_is(line, n, "Content-Type", &v, &len))
                (void) snprintf(op->content_type, sizeof(op->content_type), "%.*s",
                                (int) MIN(len, (size_t) 63), v);
        else if (http_header_is(line, n, "Location", &v, &len)) {
                size_t j = 0;
                for (size_t i = 0; i < len && j + 1 < sizeof(op->location); i++)
                        op->location[j++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
                op->location[j] = 0;
        }
        return n;
}

/* ---- sending ---- */

/* The path and, for a POST, the body (into op->body) of the current step. */
static int op_build_request(FactoryOp *op, char **ret_path, bool *ret_post) {
        FactoryClient *s = op->client;
        _cleanup_(freep) char *path = NULL;
        int r = 0;

        switch (op->step) {
        case STEP_AUTH:
                r = factory_json_build_auth(s->login_key, &op->body);
                path = strdup("/auth/token");
                break;
        case STEP_DEVICE:
                r = asprintf(&path, "/devices/%s", s->fixture_id) < 0 ? -ENOMEM : 0;
                break;
        case STEP_ENROLL:
                if (s->production)
                        r = factory_json_build_enroll_production(s->plan_id, &op->body);
                else
                        r = factory_json_build_enroll_factory(s->fixture_id, &op->body);
                path = strdup("/enroll");
                break;
        case STEP_POLL:
                r = asprintf(&path, "/enroll/%s", op->token_id) < 0 ? -ENOMEM : 0;
                break;
        }
        if (r < 0)
                return r;
        if (!path)
                return -ENOMEM;
        *ret_path = TAKE_PTR(path);
        *ret_post = op->step == STEP_AUTH || op->step == STEP_ENROLL;
        return 0;
}

static int op_build_headers(FactoryOp *op, bool post) {
        FactoryClient *s = op->client;
        _cleanup_(erase_and_freep) char *bearer = NULL;
        int r;

        r = http_header_append(&op->headers, "Accept: application/json");
        if (r >= 0 && post)
                r = http_header_append(&op->headers, "Content-Type: application/json");
        if (r >= 0)
                r = http_header_append(&op->headers, "Expect:");
        if (r < 0)
                return r;
        if (s->production)
                return http_header_append(&op->headers, s->basic_authorization);
        if (op->step == STEP_AUTH)
                return 0;
        bearer = token_bearer_header(s);
        if (!bearer)
                return -ENOMEM;
        op->token_generation = s->token_generation;
        return http_header_append(&op->headers, bearer);
}

static int op_setup_easy(FactoryOp *op, const char *url, bool post, uint64_t total, uint64_t connect) {
        CURL *c;
        int r;

        op->curl = curl_easy_init();
        if (!op->curl)
                return -ENOMEM;
        c = op->curl;

        EASY(c, CURLOPT_URL, url);
        r = http_easy_set_security(c, op->client->allow_insecure_http, op->client->ca_file);
        if (r < 0)
                return r;
        r = http_easy_set_limits(c, total, connect, (curl_off_t) FACTORY_RESPONSE_MAX);
        if (r < 0)
                return r;
        EASY(c, CURLOPT_HTTPHEADER, op->headers);
        EASY(c, CURLOPT_WRITEFUNCTION, on_write);
        EASY(c, CURLOPT_WRITEDATA, op);
        EASY(c, CURLOPT_HEADERFUNCTION, on_header);
        EASY(c, CURLOPT_HEADERDATA, op);
        EASY(c, CURLOPT_ERRORBUFFER, op->error_buffer);
        EASY(c, CURLOPT_PRIVATE, op);
        if (post) {
                EASY(c, CURLOPT_POSTFIELDSIZE, (long) strlen(op->body));
                EASY(c, CURLOPT_POSTFIELDS, op->body);
        } else
                EASY(c, CURLOPT_HTTPGET, 1L);
        return 0;
}

/* The request's total and connect timeouts: the configured ones, within what is left of the
 * deadline. -ETIME when less than a millisecond is left. */
static int op_timeouts(FactoryOp *op, uint64_t *ret_total, uint64_t *ret_connect) {
        FactoryClient *s = op->client;
        uint64_t now, remaining, total;

        now = now_usec(CLOCK_MONOTONIC);
        remaining = op->deadline_usec > now ? op->deadline_usec - now : 0;
        if (remaining < USEC_PER_MSEC)
                return -ETIME;
        total = MIN(s->timeout_usec, remaining);
        *ret_total = total;
        *ret_connect = MIN(s->connect_timeout_usec, total);
        return 0;
}

int op_send(FactoryOp *op) {
        FactoryClient *s = op->client;
        _cleanup_(freep) char *path = NULL, *url = NULL;
        uint64_t total, connect;
        bool post;
        int r;

        op_release_transfer(op);

        if (step_needs_bearer(s, op->step) && !token_valid(s)) {
                op->after_auth = op->step;
                op->step = STEP_AUTH;
        }

        r = op_timeouts(op, &total, &connect);
        if (r < 0)
                return r;
        op->request_timeout_usec = total;

        r = op_build_request(op, &path, &post);
        if (r < 0)
                return r;
        if (asprintf(&url, "%s%s", s->url, path) < 0)
                return -ENOMEM;
        r = op_build_headers(op, post);
        if (r < 0)
                return r;
        r = op_setup_easy(op, url, post, total, connect);
        if (r < 0)
                return r;
        r = curl_glue_add(s->glue, op->curl);
        if (r < 0)
                return r;

        log_debug("Server: %s %s (%s, try %u)", post ? "POST" : "GET", path, step_to_string(op->step),
                  op->tries + 1);
        return 0;
}

int op_start_step(FactoryOp *op) {
        char a[32];
        int r;

        r = op_send(op);
        if (r == -ETIME)
                return op_fail(op, FACTORY_ERROR_TIMEOUT, "%s: no result within the deadline of %s",
                               step_to_string(op->step),
                               format_span(a, sizeof(a), op->deadline_usec - op->started_usec));
        if (r < 0)
                return op_fail(op, FACTORY_ERROR_SERVER, "%s: the request could not be started: %s",
                               step_to_string(op->step), strerror(-r));
        return 0;
}

/* ---- waiting and retrying ---- */

static int on_op_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        FactoryOp *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        (void) op_start_step(op);
        return 0;
}

bool op_schedule(FactoryOp *op, uint64_t delay) {
        FactoryClient *s = op->client;
        uint64_t at;
        int r;

        op_release_transfer(op);
        /* from now, not from the loop's last wake-up (sd_event_add_time_relative()): a response
         * read in the same iteration that sent the request would shorten the backoff */
        at = now_usec(CLOCK_MONOTONIC) + delay;
        if (at >= op->deadline_usec)
                return false;
        op->timer = sd_event_source_disable_unref(op->timer);
        r = sd_event_add_time(s->event, &op->timer, CLOCK_MONOTONIC, at, 1, on_op_timer, op);
        if (r < 0) {
                log_debug_errno(r, "Could not arm a server timer: %m");
                return false;
        }
        (void) sd_event_source_set_description(op->timer, "server-retry");
        return true;
}

int op_retry(FactoryOp *op, FactoryErrorKind kind, const char *format, ...) {
        char msg[sizeof(op->result.message)], a[32];
        uint64_t delay;
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        op->tries++;
        delay = BACKOFF_FIRST_USEC << MIN(op->tries - 1, 10u);
        delay = MIN(delay, BACKOFF_MAX_USEC);
        if (op->kind == OP_CONFIRM)
                delay = MAX(delay, op->client->confirm_interval_usec);

        log_debug("Server: %s; retrying in %s.", msg, format_span(a, sizeof(a), delay));
        if (op_schedule(op, delay))
                return 0;

        return op_fail(op, kind, "%s (gave up after %u %s within %s)", msg, op->tries,
                       op->tries == 1 ? "try" : "tries",
                       format_span(a, sizeof(a), op->deadline_usec - op->started_usec));
}

/* ---- transport errors ---- */

static bool curl_error_is_permanent(CURLcode e) {
        switch (e) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_FILESIZE_EXCEEDED:
        case CURLE_WRITE_ERROR:
        case CURLE_OUT_OF_MEMORY:
                return true;
        default:
                return false;
        }
}

int op_transport_error(FactoryOp *op, CURLcode e) {
        const char *what = step_to_string(op->step);
        const char *detail = op->error_buffer[0] ? op->error_buffer : curl_easy_strerror(e);
        char a[32];

        if (op->too_large || e == CURLE_FILESIZE_EXCEEDED)
                return op_fail(op, FACTORY_ERROR_SERVER, "%s: the response is larger than %d bytes, refused",
                               what, FACTORY_RESPONSE_MAX);

        switch (e) {
        case CURLE_OPERATION_TIMEDOUT:
                /* say which limit ran out: TimeoutSec=, or what the attempt's deadline had left */
                return op_retry(op, FACTORY_ERROR_TIMEOUT, "%s: no complete response within %s%s: %s", what,
                                format_span(a, sizeof(a), op->request_timeout_usec),
                                op->request_timeout_usec < op->client->timeout_usec
                                        ? " (what was left of the attempt's deadline)"
                                        : " (TimeoutSec=)",
                                detail);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return op_fail(op, FACTORY_ERROR_TRANSPORT,
                               "%s: TLS: the server's certificate is not accepted: %s", what, detail);
        case CURLE_UNSUPPORTED_PROTOCOL:
                return op_fail(op, FACTORY_ERROR_TRANSPORT, "%s: refused: %s", what, detail);
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return op_retry(op, FACTORY_ERROR_TRANSPORT, "%s: the server's name cannot be resolved: %s",
                                what, detail);
        case CURLE_COULDNT_CONNECT:
                return op_retry(op, FACTORY_ERROR_TRANSPORT, "%s: cannot connect to the server: %s", what,
                                detail);
        case CURLE_SSL_CONNECT_ERROR:
                return op_retry(op, FACTORY_ERROR_TRANSPORT, "%s: TLS handshake failed: %s", what, detail);
        default:
                if (curl_error_is_permanent(e))
                        return op_fail(op, FACTORY_ERROR_TRANSPORT, "%s: %s", what, detail);
                return op_retry(op, FACTORY_ERROR_TRANSPORT, "%s: transfer failed: %s", what, detail);
        }
}
