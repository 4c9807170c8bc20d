/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl-glue.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "secret.h"
#include "time-util.h"
#include "factory-json.h"
#include "factory-client.h"

#define BACKOFF_FIRST_USEC (250 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (4 * USEC_PER_SEC)
/* Retry-After: what a 429 without one (or with one that is neither form) waits; the longest
 * wait that is waited (a longer one is waited this long, if the deadline allows); the largest
 * figure kept, for the message */
#define RETRY_AFTER_DEFAULT_SEC 1
#define RETRY_AFTER_MAX_SEC 3600
#define RETRY_AFTER_SATURATE_SEC INT64_C(999999999999)
/* an access token is renewed this long before it expires (at most a tenth of its life) */
#define TOKEN_MARGIN_USEC (60 * USEC_PER_SEC)
#define TOKEN_LIFE_MAX_SEC (UINT64_C(366) * 24 * 3600)

typedef enum OpKind {
        OP_VERIFY,
        OP_TOKEN,
        OP_CONFIRM,
} OpKind;

typedef enum Step {
        STEP_AUTH, /* POST /auth/token */
        STEP_DEVICE, /* GET /devices/{fixture_id} */
        STEP_ENROLL, /* POST /enroll */
        STEP_POLL, /* GET /enroll/{token_id} */
} Step;

static const char *const step_names[] = {
        [STEP_AUTH] = "auth",
        [STEP_DEVICE] = "device",
        [STEP_ENROLL] = "enroll",
        [STEP_POLL] = "confirm",
};

struct FactoryOp {
        FactoryClient *server;
        OpKind kind;
        Step step, after_auth;
        factory_client_callback_t callback;
        void *userdata;
        bool linked, dispatching;

        uint64_t started_usec, deadline_usec; /* CLOCK_MONOTONIC */
        unsigned tries; /* failed tries of the current request, for the backoff */
        unsigned polls;
        bool reauthenticated; /* the one re-authentication after a 401 is used up */
        uint64_t token_generation; /* of the access token the request carried */
        uint64_t request_timeout_usec; /* of the request in flight: the smaller of the total
                                        * timeout and what is left of the deadline */

        /* the transfer in flight */
        CURL *curl;
        struct curl_slist *headers;
        char *body;
        char *response;
        size_t response_size;
        bool too_large;
        int64_t retry_after_sec; /* -1: none */
        char content_type[64];
        char location[128];
        char error_buffer[CURL_ERROR_SIZE];

        sd_event_source *timer;

        char token_id[FACTORY_ID_MAX + 1];
        FactoryResult result;
        FactoryOp *prev, *next;
};

struct FactoryClient {
        sd_event *event;
        CurlGlue *glue;

        char *url;
        bool production;
        char *login_key;
        char *api_key;
        char *basic_authorization; /* "Authorization: Basic ..." for production mode */
        char *plan_id;
        char fixture_id[FACTORY_ID_MAX + 1];
        char *ca_file;
        uint64_t timeout_usec, connect_timeout_usec, attempt_timeout_usec;
        uint64_t confirm_timeout_usec, confirm_interval_usec;
        bool allow_insecure_http;

        char *access_token;
        uint64_t access_token_until; /* CLOCK_MONOTONIC */
        uint64_t token_generation;

        FactoryOp *ops;
};


/* "1.5 s", "3 s", "250 ms" */
static const char *format_span(char *buf, size_t size, uint64_t usec) {
        if (usec < USEC_PER_SEC)
                (void) snprintf(buf, size, "%" PRIu64 " ms", usec / USEC_PER_MSEC);
        else if (usec % USEC_PER_SEC == 0)
                (void) snprintf(buf, size, "%" PRIu64 " s", usec / USEC_PER_SEC);
        else
                (void) snprintf(buf, size, "%.1f s", (double) usec / USEC_PER_SEC);
        return buf;
}

/* Replaces every occurrence of a secret in a message, in case a server echoed one. */
static void scrub(char *msg, const char *secret) {
        static const char mask[] = "(secret)";
        size_t n;
        char *p;

        if (!secret || strlen(secret) < 4)
                return;
        n = strlen(secret);
        while ((p = strstr(msg, secret))) {
                size_t rest = strlen(p + n);
                if (n >= sizeof(mask) - 1) {
                        memcpy(p, mask, sizeof(mask) - 1);
                        memmove(p + sizeof(mask) - 1, p + n, rest + 1);
                } else
                        memset(p, '*', n);
        }
}

/* Whatever came from the server passes here before it is logged or reported. */
static void server_scrub(FactoryClient *s, char *msg) {
        scrub(msg, s->login_key);
        scrub(msg, s->api_key);
        scrub(msg, s->access_token);
        scrub(msg, s->basic_authorization ? s->basic_authorization + strlen("Authorization: Basic ") : NULL);
}

static void slist_erase_and_free(struct curl_slist *l) {
        for (struct curl_slist *i = l; i; i = i->next)
                if (i->data)
                        explicit_bzero(i->data, strlen(i->data));
        curl_slist_free_all(l);
}

static void op_release_transfer(FactoryOp *op) {
        if (op->curl) {
                curl_glue_remove(op->server->glue, op->curl);
                curl_easy_cleanup(op->curl);
                op->curl = NULL;
        }
        slist_erase_and_free(op->headers);
        op->headers = NULL;
        erase_and_free(op->body);
        op->body = NULL;
        if (op->response)
                explicit_bzero(op->response, op->response_size);
        free(op->response);
        op->response = NULL;
        op->response_size = 0;
        op->too_large = false;
        op->retry_after_sec = -1;
        op->content_type[0] = op->location[0] = op->error_buffer[0] = 0;
}

static void op_unlink(FactoryOp *op) {
        FactoryClient *s = op->server;

        if (!op->linked)
                return;
        LIST_REMOVE(s->ops, op);
        op->linked = false;
}

static void op_free(FactoryOp *op) {
        if (!op)
                return;
        op_unlink(op);
        op_release_transfer(op);
        sd_event_source_disable_unref(op->timer);
        free(op);
}

FactoryOp *factory_op_cancel(FactoryOp *op) {
        if (!op || op->dispatching)
                return NULL; /* a finishing operation is freed once its callback returns */
        op_free(op);
        return NULL;
}

unsigned factory_client_pending(FactoryClient *s) {
        unsigned n = 0;

        for (FactoryOp *op = s ? s->ops : NULL; op; op = op->next)
                n++;
        return n;
}

static void op_finish(FactoryOp *op) {
        FactoryClient *s = op->server;

        server_scrub(s, op->result.message);

        if (op->result.kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE)
                log_error("%s", FACTORY_NOT_A_FIXTURE_MESSAGE);
        else if (op->result.kind != FACTORY_OK)
                log_debug("Server request failed (%s): %s", factory_error_kind_to_string(op->result.kind),
                          op->result.message);

        op_unlink(op);
        op_release_transfer(op);
        op->timer = sd_event_source_disable_unref(op->timer);

        op->dispatching = true;
        if (op->callback)
                op->callback(s, &op->result, op->userdata);
        op_free(op);
}

_printf_(3, 4) static int op_fail(FactoryOp *op, FactoryErrorKind kind, const char *format, ...) {
        va_list ap;

        op->result.kind = kind;
        va_start(ap, format);
        (void) vsnprintf(op->result.message, sizeof(op->result.message), format, ap);
        va_end(ap);
        op_finish(op);
        return 0;
}

static int op_succeed(FactoryOp *op) {
        op->result.kind = FACTORY_OK;
        op->result.message[0] = 0;
        op_finish(op);
        return 0;
}

static bool token_valid(FactoryClient *s) {
        return s->access_token && now_usec(CLOCK_MONOTONIC) < s->access_token_until;
}

static bool step_needs_bearer(FactoryClient *s, Step step) {
        return !s->production && step != STEP_AUTH;
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

static bool header_is(const char *line, size_t n, const char *name, const char **ret_value,
                      size_t *ret_len) {
        size_t k = strlen(name);
        const char *v;
        size_t len;

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return false;
        v = line + k + 1;
        len = n - k - 1;
        while (len > 0 && (*v == ' ' || *v == '\t'))
                v++, len--;
        while (len > 0 && isspace((unsigned char) v[len - 1]))
                len--;
        *ret_value = v;
        *ret_len = len;
        return true;
}

/* Retry-After (RFC 9110, 10.2.3): delay-seconds, or an HTTP-date in any of its three forms
 * (curl_getdate() reads them). The seconds asked for from now, saturated; -1 for neither. */
static int64_t retry_after_parse(const char *v, size_t len) {
        char buf[64];
        time_t t, now;
        int64_t sec = 0;
        size_t i;

        if (len == 0 || len >= sizeof(buf))
                return -1;
        for (i = 0; i < len && isdigit((unsigned char) v[i]); i++)
                sec = sec >= RETRY_AFTER_SATURATE_SEC / 10 ? RETRY_AFTER_SATURATE_SEC : sec * 10 + (v[i] - '0');
        if (i == len)
                return MIN(sec, RETRY_AFTER_SATURATE_SEC);
        memcpy(buf, v, len);
        buf[len] = 0;
        t = curl_getdate(buf, NULL);
        if (t == (time_t) -1)
                return -1;
        now = time(NULL);
        return t > now ? MIN((int64_t) (t - now), RETRY_AFTER_SATURATE_SEC) : 0;
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
        if (header_is(line, n, "Retry-After", &v, &len))
                op->retry_after_sec = retry_after_parse(v, len); /* -1 (junk): as if there were none */
        else if (header_is(line, n, "Content-Type", &v, &len))
                (void) snprintf(op->content_type, sizeof(op->content_type), "%.*s",
                                (int) MIN(len, (size_t) 63), v);
        else if (header_is(line, n, "Location", &v, &len)) {
                size_t j = 0;
                for (size_t i = 0; i < len && j + 1 < sizeof(op->location); i++)
                        op->location[j++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
                op->location[j] = 0;
        }
        return n;
}

/* ---- sending ---- */

static int append_header(struct curl_slist **l, const char *h) {
        struct curl_slist *n = curl_slist_append(*l, h);

        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}

static int op_build_request(FactoryOp *op, char **ret_path, bool *ret_post) {
        FactoryClient *s = op->server;
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

#define EASY(c, opt, val) \
        do { \
                if (curl_easy_setopt(c, opt, val) != CURLE_OK) \
                        return -EIO; \
        } while (0)

static int op_send(FactoryOp *op) {
        FactoryClient *s = op->server;
        _cleanup_(freep) char *path = NULL, *url = NULL;
        uint64_t now, remaining, total, connect;
        bool post;
        int r;

        op_release_transfer(op);

        if (step_needs_bearer(s, op->step) && !token_valid(s)) {
                op->after_auth = op->step;
                op->step = STEP_AUTH;
        }

        now = now_usec(CLOCK_MONOTONIC);
        remaining = op->deadline_usec > now ? op->deadline_usec - now : 0;
        if (remaining < USEC_PER_MSEC)
                return -ETIME;
        total = MIN(s->timeout_usec, remaining);
        connect = MIN(s->connect_timeout_usec, total);
        op->request_timeout_usec = total;

        r = op_build_request(op, &path, &post);
        if (r < 0)
                return r;
        if (asprintf(&url, "%s%s", s->url, path) < 0)
                return -ENOMEM;

        r = append_header(&op->headers, "Accept: application/json");
        if (r >= 0 && post)
                r = append_header(&op->headers, "Content-Type: application/json");
        if (r >= 0)
                r = append_header(&op->headers, "Expect:");
        if (r >= 0 && s->production)
                r = append_header(&op->headers, s->basic_authorization);
        else if (r >= 0 && op->step != STEP_AUTH) {
                _cleanup_(erase_and_freep) char *h = NULL;
                if (asprintf(&h, "Authorization: Bearer %s", s->access_token) < 0)
                        return -ENOMEM;
                r = append_header(&op->headers, h);
                op->token_generation = s->token_generation;
        }
        if (r < 0)
                return r;

        op->curl = curl_easy_init();
        if (!op->curl)
                return -ENOMEM;
        CURL *c = op->curl;

        EASY(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
        EASY(c, CURLOPT_PROTOCOLS_STR, s->allow_insecure_http ? "http,https" : "https");
        EASY(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
        EASY(c, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTPS | (s->allow_insecure_http ? CURLPROTO_HTTP : 0)));
        EASY(c, CURLOPT_REDIR_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
        EASY(c, CURLOPT_FOLLOWLOCATION, 0L);
        EASY(c, CURLOPT_SSL_VERIFYPEER, 1L);
        EASY(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (s->ca_file)
                EASY(c, CURLOPT_CAINFO, s->ca_file);
        EASY(c, CURLOPT_VERBOSE, 0L); /* never: it would print the Authorization header */
        EASY(c, CURLOPT_NOSIGNAL, 1L);
        EASY(c, CURLOPT_NOPROGRESS, 1L);
        EASY(c, CURLOPT_TIMEOUT_MS, (long) MAX(total / USEC_PER_MSEC, UINT64_C(1)));
        EASY(c, CURLOPT_CONNECTTIMEOUT_MS, (long) MAX(connect / USEC_PER_MSEC, UINT64_C(1)));
        EASY(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) FACTORY_RESPONSE_MAX);
        EASY(c, CURLOPT_USERAGENT, "blinkupd/" PACKAGE_VERSION);
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

        r = curl_glue_add(s->glue, c);
        if (r < 0)
                return r;

        log_debug("Server: %s %s (%s, try %u)", post ? "POST" : "GET", path, step_names[op->step],
                  op->tries + 1);
        return 0;
}

static int op_start_step(FactoryOp *op) {
        char a[32];
        int r;

        r = op_send(op);
        if (r == -ETIME)
                return op_fail(op, FACTORY_ERROR_TIMEOUT, "%s: no result within the deadline of %s",
                               step_names[op->step],
                               format_span(a, sizeof(a), op->deadline_usec - op->started_usec));
        if (r < 0)
                return op_fail(op, FACTORY_ERROR_SERVER, "%s: the request could not be started: %s",
                               step_names[op->step], strerror(-r));
        return 0;
}

static int on_op_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        FactoryOp *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        (void) op_start_step(op);
        return 0;
}

/* Runs the current step again after delay; false when that would pass the deadline. */
static bool op_schedule(FactoryOp *op, uint64_t delay) {
        FactoryClient *s = op->server;
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

/* A transient failure: try again after the backoff, or give up with this message. */
_printf_(3, 4) static int op_retry(FactoryOp *op, FactoryErrorKind kind, const char *format, ...) {
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
                delay = MAX(delay, op->server->confirm_interval_usec);

        log_debug("Server: %s; retrying in %s.", msg, format_span(a, sizeof(a), delay));
        if (op_schedule(op, delay))
                return 0;

        return op_fail(op, kind, "%s (gave up after %u %s within %s)", msg, op->tries,
                       op->tries == 1 ? "try" : "tries",
                       format_span(a, sizeof(a), op->deadline_usec - op->started_usec));
}

/* ---- responses ---- */

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

static int op_transport_error(FactoryOp *op, CURLcode e) {
        const char *what = step_names[op->step];
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
                                op->request_timeout_usec < op->server->timeout_usec
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

static int op_advance(FactoryOp *op, Step next) {
        op->step = next;
        op->tries = 0;
        return op_start_step(op);
}

static int op_handle_success(FactoryOp *op) {
        FactoryClient *s = op->server;
        ErrorText err = {};
        char a[32];
        int r;

        switch (op->step) {
        case STEP_AUTH: {
                FactoryAuth auth = {};
                uint64_t now = now_usec(CLOCK_MONOTONIC), life;

                r = factory_json_parse_auth(op->response, op->response_size, &auth, &err);
                if (r < 0)
                        return op_fail(op, FACTORY_ERROR_SERVER, "%s",
                                       r == -ENOMEM ? "auth: out of memory" : err.message);

                if (auth.have_expires_in)
                        life = MIN(auth.expires_in, TOKEN_LIFE_MAX_SEC) * USEC_PER_SEC;
                else if (auth.have_expires_at) {
                        time_t t = time(NULL);
                        life = auth.expires_at > t
                                       ? MIN((uint64_t) (auth.expires_at - t), TOKEN_LIFE_MAX_SEC) *
                                                 USEC_PER_SEC
                                       : 0;
                } else
                        life = UINT64_MAX / 4; /* until the server says 401 */
                life -= MIN(life / 10, TOKEN_MARGIN_USEC);

                erase_and_free(s->access_token);
                s->access_token = TAKE_PTR(auth.access_token);
                s->access_token_until = now + life;
                s->token_generation++;
                factory_auth_done(&auth);
                log_debug("Server: authenticated, the access token is good for %s.",
                          format_span(a, sizeof(a), life));
                /* the step that needed the token, even if the token is already due for renewal */
                return op_advance(op, op->after_auth);
        }

        case STEP_DEVICE: {
                FactoryDevice d;

                r = factory_json_parse_device(op->response, op->response_size, &d, &err);
                if (r < 0)
                        return op_fail(op, FACTORY_ERROR_SERVER, "%s",
                                       r == -ENOMEM ? "device: out of memory" : err.message);
                if (d.id[0] && !streq(d.id, s->fixture_id))
                        return op_fail(op, FACTORY_ERROR_SERVER,
                                       "device: the server answered for device %s, not for %s", d.id,
                                       s->fixture_id);
                if (!d.factory_fixture) {
                        if (d.group_type[0])
                                log_info("The server lists fixture %s in a device group of type \"%s\".",
                                         s->fixture_id, d.group_type);
                        else
                                log_info("The server lists fixture %s in no device group.", s->fixture_id);
                        return op_fail(op, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "%s",
                                       FACTORY_NOT_A_FIXTURE_MESSAGE);
                }
                log_debug("Server: fixture %s is a factory fixture (%s).", s->fixture_id, d.group_type);
                if (op->kind == OP_VERIFY)
                        return op_succeed(op);
                return op_advance(op, STEP_ENROLL);
        }

        case STEP_ENROLL: {
                FactoryEnroll e;

                r = factory_json_parse_enroll(op->response, op->response_size, &e, &err);
                if (r < 0)
                        return op_fail(op, FACTORY_ERROR_SERVER, "%s",
                                       r == -ENOMEM ? "enroll: out of memory" : err.message);
                memcpy(op->result.plan_id, e.plan_id, sizeof(e.plan_id));
                memcpy(op->result.token_id, e.token_id, sizeof(e.token_id));
                if (e.have_expires_at) /* one in 1970 or before is long past, not "none" */
                        op->result.token_expires_usec =
                                e.expires_at > 0 ? (uint64_t) e.expires_at * USEC_PER_SEC : 1;
                log_debug("Server: enrollment token %s for plan %s.", e.token_id, e.plan_id);
                return op_succeed(op);
        }

        case STEP_POLL: {
                FactoryConfirm c;

                op->polls++;
                r = factory_json_parse_confirm(op->response, op->response_size, &c, &err);
                if (r < 0)
                        return op_fail(op, FACTORY_ERROR_SERVER, "%s",
                                       r == -ENOMEM ? "confirm: out of memory" : err.message);
                if (c.token_id[0] && !streq(c.token_id, op->token_id))
                        return op_fail(op, FACTORY_ERROR_SERVER,
                                       "confirm: the server answered for token %s, not for %s", c.token_id,
                                       op->token_id);
                if (c.plan_id[0])
                        memcpy(op->result.plan_id, c.plan_id, sizeof(c.plan_id));

                switch (c.status) {
                case FACTORY_ENROLL_CLAIMED:
                        memcpy(op->result.device_id, c.device_id, sizeof(c.device_id));
                        return op_succeed(op);
                case FACTORY_ENROLL_ERROR:
                        return op_fail(op, FACTORY_ERROR_SERVER,
                                       "confirm: the enrollment with token %s failed: %s", op->token_id,
                                       c.error);
                case FACTORY_ENROLL_PENDING:
                        op->tries = 0;
                        if (op_schedule(op, s->confirm_interval_usec))
                                return 0;
                        return op_fail(op, FACTORY_ERROR_TIMEOUT,
                                       "confirm: token %s was not claimed within %s (last status \"%s\")",
                                       op->token_id, format_span(a, sizeof(a), s->confirm_timeout_usec),
                                       c.status_text);
                }
                return op_fail(op, FACTORY_ERROR_SERVER, "confirm: unexpected status");
        }
        }
        return op_fail(op, FACTORY_ERROR_SERVER, "unexpected step");
}

static int op_handle_response(FactoryOp *op, CURLcode result) {
        FactoryClient *s = op->server;
        const char *what = step_names[op->step];
        char text[160], a[32];
        long status = 0;

        (void) curl_easy_getinfo(op->curl, CURLINFO_RESPONSE_CODE, &status);
        op->result.http_status = status;
        log_debug("Server: %s -> %s%ld, %zu bytes%s%s", what, status ? "HTTP " : "status ", status,
                  op->response_size, result != CURLE_OK ? ", " : "",
                  result != CURLE_OK ? curl_easy_strerror(result) : "");

        if (result != CURLE_OK)
                return op_transport_error(op, result);

        if (status >= 200 && status < 300)
                return op_handle_success(op);

        factory_json_error_text(op->response, op->response_size, op->content_type, text, sizeof(text));
        server_scrub(s, text);

        if (status >= 300 && status < 400)
                return op_fail(op, FACTORY_ERROR_SERVER, "%s: HTTP %ld: redirects are not followed (to %s)",
                               what, status, op->location[0] ? op->location : "an unspecified location");

        if (status == 401) {
                if (op->step == STEP_AUTH)
                        return op_fail(op, FACTORY_ERROR_AUTH,
                                       "auth: the server refused the login key: HTTP 401: %s", text);
                if (s->production)
                        return op_fail(op, FACTORY_ERROR_AUTH,
                                       "%s: the server refused the API key: HTTP 401: %s", what, text);
                if (op->reauthenticated)
                        return op_fail(op, FACTORY_ERROR_AUTH,
                                       "%s: HTTP 401 again after authenticating anew: %s", what, text);
                op->reauthenticated = true;
                if (op->token_generation == s->token_generation) {
                        /* the token we sent is the current one: it is no good any more */
                        erase_and_free(s->access_token);
                        s->access_token = NULL;
                        s->access_token_until = 0;
                }
                log_debug("Server: %s: HTTP 401, authenticating anew.", what);
                op_release_transfer(op);
                return op_start_step(op);
        }

        if (status == 429) {
                int64_t sec = op->retry_after_sec >= 0 ? op->retry_after_sec : RETRY_AFTER_DEFAULT_SEC;
                uint64_t delay = (uint64_t) MIN(sec, (int64_t) RETRY_AFTER_MAX_SEC) * USEC_PER_SEC;

                log_debug("Server: %s: HTTP 429, waiting %" PRIu64 " s (asked: %" PRId64 " s).", what,
                          delay / USEC_PER_SEC, sec);
                if (op_schedule(op, delay))
                        return 0;
                return op_fail(op, FACTORY_ERROR_SERVER,
                               "%s: HTTP 429: %s; the server asks to wait %" PRId64 " s, beyond the deadline of %s",
                               what, text, sec,
                               format_span(a, sizeof(a), op->deadline_usec - op->started_usec));
        }

        if (status >= 500 && status < 600)
                return op_retry(op, FACTORY_ERROR_SERVER, "%s: HTTP %ld: %s", what, status, text);

        if (status == 404 && op->step == STEP_DEVICE) {
                log_info("The server does not know fixture %s: HTTP 404: %s", s->fixture_id, text);
                return op_fail(op, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "%s",
                               FACTORY_NOT_A_FIXTURE_MESSAGE);
        }
        if (status == 403 && op->step == STEP_ENROLL) {
                if (s->production)
                        return op_fail(op, FACTORY_ERROR_AUTH,
                                       "enroll: the server refused the API key: HTTP 403: %s", text);
                log_info("The server refuses factory tokens to fixture %s: HTTP 403: %s", s->fixture_id,
                         text);
                return op_fail(op, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "%s",
                               FACTORY_NOT_A_FIXTURE_MESSAGE);
        }
        if (status == 403 && op->step == STEP_AUTH)
                return op_fail(op, FACTORY_ERROR_AUTH, "auth: the server refused the login key: HTTP 403: %s",
                               text);

        return op_fail(op, FACTORY_ERROR_SERVER, "%s: HTTP %ld: %s", what, status, text);
}

static void on_transfer_finished(CurlGlue *g, CURL *c, CURLcode result, void *userdata) {
        char *p = NULL;

        if (curl_easy_getinfo(c, CURLINFO_PRIVATE, &p) != CURLE_OK || !p) {
                curl_glue_remove(g, c);
                return;
        }
        (void) op_handle_response((FactoryOp *) p, result);
}

/* ---- the public operations ---- */

static int op_new(FactoryClient *s, OpKind kind, factory_client_callback_t cb, void *userdata, uint64_t timeout,
                  FactoryOp **ret) {
        FactoryOp *op;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->server = s;
        op->kind = kind;
        op->callback = cb;
        op->userdata = userdata;
        op->retry_after_sec = -1;
        op->started_usec = now_usec(CLOCK_MONOTONIC);
        op->deadline_usec = op->started_usec + timeout;
        op->result.kind = FACTORY_ERROR_SERVER;

        LIST_PREPEND(s->ops, op);
        op->linked = true;
        *ret = op;
        return 0;
}

static int op_begin(FactoryOp *op, Step step, FactoryOp **ret_op) {
        int r;

        op->step = step;
        r = op_send(op);
        if (r < 0) {
                op_free(op);
                return r == -ETIME ? -ETIMEDOUT : r;
        }
        if (ret_op)
                *ret_op = op;
        return 0;
}

int factory_client_verify(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        FactoryOp *op;
        int r;

        if (!s)
                return -EINVAL;
        if (s->production)
                return -EOPNOTSUPP;
        r = op_new(s, OP_VERIFY, cb, userdata, s->attempt_timeout_usec, &op);
        if (r < 0)
                return r;
        return op_begin(op, STEP_DEVICE, ret_op);
}

static int token_op_start(FactoryClient *s, Step first, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        FactoryOp *op;
        int r;

        if (!s)
                return -EINVAL;
        r = op_new(s, OP_TOKEN, cb, userdata, s->attempt_timeout_usec, &op);
        if (r < 0)
                return r;
        return op_begin(op, first, ret_op);
}

int factory_client_request_token(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        return token_op_start(s, s && s->production ? STEP_ENROLL : STEP_DEVICE, cb, userdata, ret_op);
}

int factory_client_enroll(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        return token_op_start(s, STEP_ENROLL, cb, userdata, ret_op);
}

int factory_client_confirm(FactoryClient *s, const char *token_id, factory_client_callback_t cb, void *userdata,
                   FactoryOp **ret_op) {
        FactoryOp *op;
        int r;

        if (!s || !factory_id_valid(token_id, FACTORY_ID_MAX))
                return -EINVAL;
        r = op_new(s, OP_CONFIRM, cb, userdata, s->confirm_timeout_usec, &op);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= strlen(token_id); i++)
                op->token_id[i] = (char) tolower((unsigned char) token_id[i]);
        memcpy(op->result.token_id, op->token_id, sizeof(op->token_id));
        return op_begin(op, STEP_POLL, ret_op);
}

/* ---- setup ---- */

static char *base64_encode(const char *s) {
        static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), j = 0;
        const unsigned char *p = (const unsigned char *) s;
        char *out;

        out = malloc((n + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                out[j++] = table[(v >> 18) & 63];
                out[j++] = table[(v >> 12) & 63];
                out[j++] = i + 1 < n ? table[(v >> 6) & 63] : '=';
                out[j++] = i + 2 < n ? table[v & 63] : '=';
        }
        out[j] = 0;
        return out;
}

int factory_client_new(sd_event *e, const FactoryConfig *c, FactoryClient **ret) {
        FactoryConfig t;
        bool plain_http;
        FactoryClient *s;
        size_t n;
        int r;

        if (!e || !c || !ret)
                return -EINVAL;
        r = factory_config_check(c, &plain_http);
        if (r < 0)
                return r;
        if (plain_http)
                log_warning(
                        "WARNING: AllowInsecureHttp=yes: talking plain, unencrypted HTTP to %s. The %s and "
                        "the enrollment tokens can be read and changed by anyone on the network. Use this "
                        "for local testing only, never in a factory.",
                        c->url, c->production ? "API key" : "login key, the access tokens");

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->production = c->production;
        s->allow_insecure_http = c->allow_insecure_http;
        t = *c;
        factory_config_fill_timeouts(&t);
        s->timeout_usec = t.timeout_usec;
        s->connect_timeout_usec = t.connect_timeout_usec;
        s->attempt_timeout_usec = t.attempt_timeout_usec;
        s->confirm_timeout_usec = t.confirm_timeout_usec;
        s->confirm_interval_usec = t.confirm_interval_usec;

        r = -ENOMEM;
        s->url = strdup(c->url);
        if (!s->url)
                goto fail;
        n = strlen(s->url);
        while (n > strlen("https://") && s->url[n - 1] == '/')
                s->url[--n] = 0;

        if (c->fixture_id && *c->fixture_id)
                for (size_t i = 0; i <= strlen(c->fixture_id); i++)
                        s->fixture_id[i] = (char) tolower((unsigned char) c->fixture_id[i]);
        if (c->ca_file && *c->ca_file) {
                s->ca_file = strdup(c->ca_file);
                if (!s->ca_file)
                        goto fail;
        }
        if (c->production) {
                _cleanup_(erase_and_freep) char *userpass = NULL, *b64 = NULL;

                if (c->plan_id && *c->plan_id) {
                        s->plan_id = strdup(c->plan_id);
                        if (!s->plan_id)
                                goto fail;
                }
                s->api_key = strdup(c->api_key);
                if (!s->api_key)
                        goto fail;
                /* the key, a colon, and no password */
                if (asprintf(&userpass, "%s:", c->api_key) < 0)
                        goto fail;
                b64 = base64_encode(userpass);
                if (!b64)
                        goto fail;
                if (asprintf(&s->basic_authorization, "Authorization: Basic %s", b64) < 0) {
                        s->basic_authorization = NULL;
                        goto fail;
                }
        } else {
                s->login_key = strdup(c->login_key);
                if (!s->login_key)
                        goto fail;
        }

        r = curl_glue_new(e, on_transfer_finished, s, &s->glue);
        if (r < 0)
                goto fail;

        *ret = s;
        return 0;

fail:
        factory_client_free(s);
        return r;
}

FactoryClient *factory_client_free(FactoryClient *s) {
        if (!s)
                return NULL;
        while (s->ops)
                op_free(s->ops);
        curl_glue_free(s->glue);
        erase_and_free(s->login_key);
        erase_and_free(s->api_key);
        erase_and_free(s->basic_authorization);
        erase_and_free(s->access_token);
        free(s->url);
        free(s->plan_id);
        free(s->ca_file);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
