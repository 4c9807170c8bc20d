/* SPDX-License-Identifier: MIT */
/* The factory server client against tests/helpers/factory-server.py, a real HTTPS server on
 * 127.0.0.1 with a throwaway PKI made by openssl when this program starts. Each test starts
 * and stops its own server, tells it how to misbehave, and checks both what the client
 * reports and what the server saw (the server's request log). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "factory-client-internal.h"
#include "list.h"
#include "tests.h"

#define LOGIN_KEY "LK-very-secret-login-key-4711"
#define API_KEY "AK-very-secret-api-key-0815"
#define FIXTURE_ID "0123456789abcdef"

/* everything a run leaves lives below top, removed at the end even when tests failed (a
 * failed check ends the test's process at once; its server goes with it, PR_SET_PDEATHSIG) */
static char top[PATH_MAX];
static char pki[PATH_MAX + 8];
static char script[PATH_MAX];

/* ---- the test server ---- */

typedef struct TestServer {
        pid_t pid;
        int port;
        char dir[PATH_MAX];
        char log_path[PATH_MAX + 16];
        char url[128];
} TestServer;

static double mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* cert: "server", "expired" or "wronghost"; settings: JSON object for --config */
static void ts_start_full(TestServer *t, const char *cert, bool http, const char *settings) {
        int fds[2];
        char buf[32] = "";
        size_t n = 0;
        char *settings_full = NULL;

        *t = (TestServer){};
        ck_assert_int_eq(snprintf(t->dir, sizeof(t->dir), "%s/server.XXXXXX", top) > 0, 1);
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
        (void) snprintf(t->log_path, sizeof(t->log_path), "%s/log.jsonl", t->dir);

        /* every test names its own keys, so none of the defaults is used by accident */
        ck_assert_int_ge(asprintf(&settings_full, "{\"login_key\": \"%s\", \"api_key\": \"%s\"%s%s}",
                                  LOGIN_KEY, API_KEY, settings && *settings ? ", " : "",
                                  settings ? settings : ""),
                         0);

        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        t->pid = fork();
        ck_assert_int_ge(t->pid, 0);
        if (t->pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                (void) dup2(fds[1], STDOUT_FILENO);
                execlp("python3", "python3", script, "--pki", pki, "--cert", cert, "--log-file", t->log_path,
                       "--config", settings_full, http ? "--http" : NULL, (char *) NULL);
                _exit(127);
        }
        free(settings_full);
        close(fds[1]);

        /* the server prints its port once it listens */
        double end = mono() + 20;
        while (n < sizeof(buf) - 1 && !memchr(buf, '\n', n)) {
                struct pollfd p = { .fd = fds[0], .events = POLLIN };
                ck_assert_msg(mono() < end, "the test server did not start");
                if (poll(&p, 1, 200) <= 0)
                        continue;
                ssize_t k = read(fds[0], buf + n, sizeof(buf) - 1 - n);
                ck_assert_msg(k > 0, "the test server exited before it printed its port");
                n += (size_t) k;
                buf[n] = 0;
        }
        close(fds[0]);
        t->port = atoi(buf);
        ck_assert_int_gt(t->port, 0);
        (void) snprintf(t->url, sizeof(t->url), "%s://127.0.0.1:%d/v5", http ? "http" : "https", t->port);
}

static void ts_start(TestServer *t, const char *settings) {
        ts_start_full(t, "server", false, settings);
}

static void ts_stop(TestServer *t) {
        int status;

        if (t->pid > 0) {
                (void) kill(t->pid, SIGTERM);
                for (int i = 0; i < 50; i++) {
                        if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
                                t->pid = 0;
                                break;
                        }
                        usleep(20000);
                }
                if (t->pid > 0) {
                        (void) kill(t->pid, SIGKILL);
                        (void) waitpid(t->pid, &status, 0);
                }
        }
        (void) unlink(t->log_path);
        (void) rmdir(t->dir);
        t->pid = 0;
}

/* The requests the server saw: a JSON array of its log entries. */
static json_object *ts_log(TestServer *t) {
        json_object *a = json_object_new_array();
        char line[256 * 1024];
        FILE *f;

        f = fopen(t->log_path, "re");
        if (!f)
                return a;
        while (fgets(line, sizeof(line), f)) {
                json_object *o = json_tokener_parse(line);
                ck_assert_msg(o, "unparseable log line: %s", line);
                json_object_array_add(a, o);
        }
        fclose(f);
        return a;
}

static const char *entry_str(json_object *e, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(e, key, &v))
                return NULL;
        return json_object_get_string(v);
}

static const char *entry_header(json_object *e, const char *name) {
        json_object *h, *v;
        if (!json_object_object_get_ex(e, "headers", &h))
                return NULL;
        json_object_object_foreach(h, k, val) {
                (void) v;
                if (strcasecmp(k, name) == 0)
                        return json_object_get_string(val);
        }
        return NULL;
}

static double entry_time(json_object *e) {
        json_object *v;
        ck_assert(json_object_object_get_ex(e, "t", &v));
        return json_object_get_double(v);
}

static bool entry_matches(json_object *e, const char *method, const char *path) {
        const char *m = entry_str(e, "method"), *p = entry_str(e, "api_path");
        size_t n = strlen(path);

        if (!m || !p || !streq(m, method))
                return false;
        if (n > 0 && path[n - 1] == '*')
                return strncmp(p, path, n - 1) == 0;
        return streq(p, path);
}

static unsigned count_requests(json_object *log, const char *method, const char *path) {
        unsigned n = 0;
        for (size_t i = 0; i < json_object_array_length(log); i++)
                if (entry_matches(json_object_array_get_idx(log, i), method, path))
                        n++;
        return n;
}

static json_object *nth_request(json_object *log, const char *method, const char *path, unsigned nth) {
        for (size_t i = 0; i < json_object_array_length(log); i++) {
                json_object *e = json_object_array_get_idx(log, i);
                if (entry_matches(e, method, path) && nth-- == 0)
                        return e;
        }
        ck_abort_msg("no request %s %s number %u", method, path, nth);
        return NULL;
}

/* "METHOD path METHOD path ..." of the whole log, to compare sequences at once */
static char *log_sequence(json_object *log) {
        char *s = strdup("");
        for (size_t i = 0; i < json_object_array_length(log); i++) {
                json_object *e = json_object_array_get_idx(log, i);
                char *n = NULL;
                ck_assert_int_ge(asprintf(&n, "%s%s%s %s", s, *s ? " " : "", entry_str(e, "method"),
                                          entry_str(e, "api_path")),
                                 0);
                free(s);
                s = n;
        }
        return s;
}

static void expect_sequence(TestServer *t, const char *expected) {
        json_object *log = ts_log(t);
        char *s = log_sequence(log);
        ck_assert_msg(streq(s, expected), "the server saw\n  \"%s\"\nexpected\n  \"%s\"", s, expected);
        free(s);
        json_object_put(log);
}

/* A blocking control request (only the test does this, never the client under test). */
static void ts_control(TestServer *t, const char *path, const char *body) {
        char url[256];
        long status = 0;
        CURL *c = curl_easy_init();
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        FILE *null = fopen("/dev/null", "we");

        (void) snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", t->port, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CAINFO, "");
        char ca[PATH_MAX + 16];
        (void) snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, null);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ck_assert_int_eq(status, 200);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        fclose(null);
}

/* ---- what the client logs ---- */

typedef struct Capture {
        int saved;
        char path[PATH_MAX + 16];
} Capture;

static void capture_start(Capture *c) {
        int fd;

        (void) snprintf(c->path, sizeof(c->path), "%s/log.XXXXXX", top);
        fd = mkstemp(c->path);
        ck_assert_int_ge(fd, 0);
        fflush(stderr);
        c->saved = dup(STDERR_FILENO);
        ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
        close(fd);
        log_set_max_level(LOG_DEBUG);
}

/* Returns what was logged, and echoes it to the real stderr (into the test's .log). */
static char *capture_end(Capture *c) {
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        fflush(stderr);
        (void) dup2(c->saved, STDERR_FILENO);
        close(c->saved);
        f = fopen(c->path, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(getdelim(&text, &size, 0, f) >= 0 || feof(f), 1);
        fclose(f);
        (void) unlink(c->path);
        if (!text)
                text = strdup("");
        fputs(text, stderr);
        return text;
}

/* ---- running the client ---- */

typedef enum OpType { DO_VERIFY, DO_TOKEN, DO_CONFIRM, DO_ENROLL } OpType;

typedef struct Outcome {
        bool done;
        unsigned calls;
        FactoryResult result;
        double finished;
} Outcome;

static void on_done(FactoryClient *s, const FactoryResult *r, void *userdata) {
        Outcome *o = userdata;
        o->done = true;
        o->calls++;
        o->result = *r;
        o->finished = mono();
}

static FactoryConfig config_for(TestServer *t) {
        static char ca[PATH_MAX + 16];

        (void) snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
        return (FactoryConfig){
                .url = t->url,
                .login_key = (char *) LOGIN_KEY,
                .fixture_id = (char *) FIXTURE_ID,
                .ca_file = ca,
                /* generous: a case about timeouts sets its own (setup_*()); the others must not
                 * race a timer on a busy machine or under valgrind, where the first TLS handshake
                 * of the process alone can take seconds */
                .timeout_usec = 10 * USEC_PER_SEC,
                .connect_timeout_usec = 5 * USEC_PER_SEC,
                .attempt_timeout_usec = 20 * USEC_PER_SEC,
                .confirm_timeout_usec = 5 * USEC_PER_SEC,
                .confirm_interval_usec = 100 * USEC_PER_MSEC,
        };
}

/* The operations of s that have not ended. */
static unsigned pending_ops(FactoryClient *s) {
        unsigned n = 0;

        for (FactoryOp *op = s->ops; op; op = op->next)
                n++;
        return n;
}

static void loop_until(sd_event *e, bool *done, double seconds) {
        double end = mono() + seconds;
        while (!*done) {
                ck_assert_msg(mono() < end, "the operation did not finish within %.0f s", seconds);
                ck_assert_int_ge(sd_event_run(e, 100 * USEC_PER_MSEC), 0);
        }
}

static int start_op(FactoryClient *s, OpType type, const char *token_id, Outcome *o, FactoryOp **ret) {
        switch (type) {
        case DO_VERIFY:
                return factory_client_verify(s, on_done, o, ret);
        case DO_TOKEN:
                return factory_client_request_token(s, on_done, o, ret);
        case DO_CONFIRM:
                return factory_client_confirm(s, token_id, on_done, o, ret);
        case DO_ENROLL:
                return factory_client_enroll(s, on_done, o, ret);
        }
        return -EINVAL;
}

/* Runs one operation on a fresh client to its end. */
static FactoryResult run(const FactoryConfig *c, OpType type, const char *token_id, double *ret_seconds) {
        sd_event *e = NULL;
        FactoryClient *s = NULL;
        FactoryOp *op = NULL;
        Outcome o = {};
        double start;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, c, &s), 0);
        start = mono();
        ck_assert_int_eq(start_op(s, type, token_id, &o, &op), 0);
        ck_assert_ptr_nonnull(op);
        loop_until(e, &o.done, 30);
        ck_assert_uint_eq(o.calls, 1);
        ck_assert_uint_eq(pending_ops(s), 0);
        factory_client_free(s);
        sd_event_unref(e);
        if (ret_seconds)
                *ret_seconds = o.finished - start;
        return o.result;
}

#define assert_kind(r, k) \
        ck_assert_msg((r).kind == (k), "kind %s (expected %s), message \"%s\"", \
                      factory_error_kind_to_string((r).kind), factory_error_kind_to_string(k), (r).message)

#define assert_message_has(r, s) \
        ck_assert_msg(strstr((r).message, (s)), "message \"%s\" lacks \"%s\"", (r).message, (s))

static bool is_hex16(const char *s) {
        if (strlen(s) != 16)
                return false;
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

/* ---- one operation against a server that misbehaves: a table ----
 *
 * Each case starts a server with its settings (faults), runs one operation on a fresh client
 * and checks the result, the log and the requests the server saw. Unset fields are not checked. */

#define NOT_A_FIXTURE "Factory BlinkUp request failed. This is not a factory fixture."
#define NO_RESPONSE (-1) /* http_status: no response came (0) */

typedef struct ClientCase {
        const char *name;
        const char *settings; /* the server's --config, besides the keys */
        const char *cert; /* NULL: "server" */
        bool http; /* a plain HTTP server */
        bool server_gone; /* stopped before the operation: its port was just free */
        void (*setup)(FactoryConfig *c, const TestServer *t);
        OpType op;
        const char *token_id; /* for DO_CONFIRM */
        bool info_level; /* log at info level (default: debug) */

        FactoryErrorKind kind;
        long http_status; /* 0: not checked; NO_RESPONSE: 0 */
        const char *message; /* the whole message */
        const char *message_has[2];
        const char *message_has_one_of[2];
        bool no_token; /* token_id and plan_id empty */
        bool token_hex; /* token_id is 16 hex digits */
        const char *logged; /* must be in the log */
        const char *not_logged[2];
        const char *sequence; /* the requests the server saw, all of them */
        struct {
                const char *method, *path;
                unsigned min, max;
        } count;
        double took_min, took_max;
} ClientCase;

static void setup_fixture_00aa(FactoryConfig *c, const TestServer *t) {
        c->fixture_id = (char *) "00aa11bb22cc33dd";
}

static void setup_wrong_login_key(FactoryConfig *c, const TestServer *t) {
        c->login_key = (char *) "wrong-key-1234567";
}

static void setup_attempt_1_5_s(FactoryConfig *c, const TestServer *t) {
        c->attempt_timeout_usec = 1500 * USEC_PER_MSEC;
}

static void setup_attempt_1_s(FactoryConfig *c, const TestServer *t) {
        c->attempt_timeout_usec = 1 * USEC_PER_SEC;
}

static void setup_attempt_2_s(FactoryConfig *c, const TestServer *t) {
        c->attempt_timeout_usec = 2 * USEC_PER_SEC;
}

static void setup_timeout_1_s(FactoryConfig *c, const TestServer *t) {
        c->timeout_usec = 1 * USEC_PER_SEC;
}

static void setup_timeout_1_s_attempt_2_5_s(FactoryConfig *c, const TestServer *t) {
        c->timeout_usec = 1 * USEC_PER_SEC;
        c->attempt_timeout_usec = 2500 * USEC_PER_MSEC;
}

static void setup_other_ca(FactoryConfig *c, const TestServer *t) {
        static char ca_path[PATH_MAX + 32];

        (void) snprintf(ca_path, sizeof(ca_path), "%s/%s", pki, "other-ca.pem");
        c->ca_file = ca_path;
}

/* an https URL to a plain HTTP server */
static void setup_https_to_http(FactoryConfig *c, const TestServer *t) {
        static char url[128];

        (void) snprintf(url, sizeof(url), "https://127.0.0.1:%d/v5", t->port);
        c->url = url;
        c->attempt_timeout_usec = 1 * USEC_PER_SEC;
}

static void setup_production(FactoryConfig *c, const TestServer *t) {
        c->production = true;
        c->api_key = (char *) API_KEY;
}

static void setup_production_wrong_key(FactoryConfig *c, const TestServer *t) {
        c->production = true;
        c->login_key = NULL;
        c->api_key = (char *) "not-the-key";
}

static const ClientCase client_cases[] = {
        /* ---- the normal flow ---- */
        /* verify, then enroll without a second device check; a 403 on enroll is still "not a fixture" */
        { .name = "enroll after verify", .setup = setup_fixture_00aa, .op = DO_ENROLL, .kind = FACTORY_OK,
          .token_hex = true, .sequence = "POST /auth/token POST /enroll" },
        { .name = "enroll forbidden", .settings = "\"enroll_forbidden\": true", .op = DO_ENROLL,
          .kind = FACTORY_ERROR_NOT_FACTORY_FIXTURE },

        /* ---- authentication ---- */
        { .name = "401 twice",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"status\", \"status\": 401, "
                      "\"count\": -1, "
                      "\"title\": \"Unauthorized\", \"detail\": \"token rejected\"}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_AUTH, .http_status = 401,
          .message = "enroll: HTTP 401 again after authenticating anew: Unauthorized: token rejected",
          .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll POST /auth/token POST /enroll" },
        { .name = "wrong login key", .setup = setup_wrong_login_key, .op = DO_VERIFY, .kind = FACTORY_ERROR_AUTH,
          .message = "auth: the server refused the login key: HTTP 401: Unauthorized: the login key "
                     "is not valid",
          .not_logged = { "wrong-key-1234567" }, .sequence = "POST /auth/token" },

        /* ---- retries ---- */
        { .name = "Retry-After beyond the deadline",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"status\", \"status\": 429, "
                      "\"count\": -1, "
                      "\"headers\": {\"Retry-After\": \"60\"}, \"title\": \"Too Many Requests\", \"detail\": "
                      "\"slow "
                      "down\"}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_SERVER, .http_status = 429,
          .message = "enroll: HTTP 429: Too Many Requests: slow down; the server asks to wait 60 s, "
                     "beyond the deadline of 20 s",
          .took_max = 2.0 },
        { .name = "5xx forever",
          .settings = "\"faults\": [{\"path\": \"/devices/*\", \"action\": \"status\", \"status\": 502, "
                      "\"count\": -1, "
                      "\"body\": \"html\"}]",
          .setup = setup_attempt_2_s, .op = DO_VERIFY, .kind = FACTORY_ERROR_SERVER, .http_status = 502,
          .message_has = { "device: HTTP 502: HTML response, not a JSON error document (gave up after ",
                           " tries within 2 s)" },
          .count = { "GET", "/devices/*", 3, UINT_MAX }, .took_min = 1.0, .took_max = 2.5 },
        { .name = "slow, then fast",
          .settings = "\"faults\": [{\"path\": \"/devices/*\", \"action\": \"delay\", \"seconds\": 3}]",
          .setup = setup_timeout_1_s, .op = DO_VERIFY, .kind = FACTORY_OK, .count = { "GET", "/devices/*", 2, 2 } },
        /* the last try has TimeoutSec= or, when the deadline is nearer, what is left of it */
        { .name = "slow forever",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"delay\", \"seconds\": 5, "
                      "\"count\": -1}]",
          .setup = setup_timeout_1_s_attempt_2_5_s, .op = DO_TOKEN, .kind = FACTORY_ERROR_TIMEOUT,
          .message_has = { "enroll: no complete response within ", "within 2.5 s)" },
          .message_has_one_of = { "within 1 s (TimeoutSec=)", " (what was left of the attempt's deadline)" },
          .took_min = 1.5, .took_max = 3.0 },
        { .name = "connection reset", .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"reset\"}]",
          .op = DO_TOKEN, .kind = FACTORY_OK,
          .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll POST /enroll" },
        { .name = "connection reset forever",
          .settings = "\"faults\": [{\"path\": \"/devices/*\", \"action\": \"reset\", \"count\": -1}]",
          .setup = setup_attempt_1_5_s, .op = DO_VERIFY, .kind = FACTORY_ERROR_TRANSPORT,
          .message_has = { "device: transfer failed: ", "gave up after" } },
        { .name = "short body", .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"short\"}]",
          .op = DO_TOKEN, .kind = FACTORY_OK,
          .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll POST /enroll" },
        /* a port that was just free */
        { .name = "connection refused", .server_gone = true, .setup = setup_attempt_1_s, .op = DO_VERIFY,
          .kind = FACTORY_ERROR_TRANSPORT, .http_status = NO_RESPONSE,
          .message_has = { "auth: cannot connect to the server: ", "gave up after" }, .took_max = 1.5 },

        /* ---- bad data: no retry, a precise message ---- */
        { .name = "malformed JSON",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"raw\", \"raw\": \"{plan_id: 1}\"}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_SERVER,
          .message = "enroll: the response is not valid JSON (quoted object property name expected)",
          .no_token = true, .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll" },
        { .name = "truncated JSON",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"raw\", \"raw\": "
                      "\"{\\\"plan_id\\\": \\\"01\"}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_SERVER, .message = "enroll: the response is truncated JSON",
          .no_token = true, .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll" },
        { .name = "oversized JSON", .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"oversize\"}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_SERVER,
          .message = "enroll: the response is larger than 65536 bytes, refused", .no_token = true,
          .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll" },
        { .name = "wrong types",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"json\", \"json\": "
                      "{\"plan_id\": 81985529216486895, \"token_id\": \"fedcba9876543210\"}}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_SERVER, .message = "enroll: plan_id is a number, not a string",
          .no_token = true, .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll" },
        { .name = "non-hex ID",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"json\", \"json\": "
                      "{\"plan_id\": \"0123456789abcdef\", \"token_id\": \"not-hex!\"}}]",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_SERVER, .message = "enroll: token_id is not 1..16 hex digits",
          .no_token = true, .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll" },
        { .name = "redirect",
          .settings = "\"faults\": [{\"path\": \"/devices/*\", \"action\": \"redirect\", \"location\": "
                      "\"https://elsewhere.invalid/v5/devices/x\"}]",
          .op = DO_VERIFY, .kind = FACTORY_ERROR_SERVER, .http_status = 302,
          .message = "device: HTTP 302: redirects are not followed (to "
                     "https://elsewhere.invalid/v5/devices/x)",
          .sequence = "POST /auth/token GET /devices/" FIXTURE_ID },

        /* ---- not a factory fixture: its own error, logged, nothing enrolled ---- */
        { .name = "not a factory fixture: 404", .settings = "\"unknown_fixture\": true", .op = DO_TOKEN,
          .kind = FACTORY_ERROR_NOT_FACTORY_FIXTURE, .message = NOT_A_FIXTURE, .no_token = true,
          .logged = NOT_A_FIXTURE "\n", .sequence = "POST /auth/token GET /devices/" FIXTURE_ID },
        { .name = "not a factory fixture: group", .settings = "\"fixture_group\": \"development_devicegroup\"",
          .op = DO_TOKEN, .kind = FACTORY_ERROR_NOT_FACTORY_FIXTURE, .message = NOT_A_FIXTURE, .no_token = true,
          .logged = NOT_A_FIXTURE "\n", .sequence = "POST /auth/token GET /devices/" FIXTURE_ID },
        { .name = "not a factory fixture: no group", .settings = "\"fixture_group\": null", .op = DO_VERIFY,
          .kind = FACTORY_ERROR_NOT_FACTORY_FIXTURE, .message = NOT_A_FIXTURE, .no_token = true,
          .logged = NOT_A_FIXTURE "\n", .sequence = "POST /auth/token GET /devices/" FIXTURE_ID },
        { .name = "not a factory fixture: 403", .settings = "\"enroll_forbidden\": true", .op = DO_TOKEN,
          .kind = FACTORY_ERROR_NOT_FACTORY_FIXTURE, .message = NOT_A_FIXTURE, .no_token = true,
          .logged = NOT_A_FIXTURE "\n", .sequence = "POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll" },
        { .name = "pre-factory group", .settings = "\"fixture_group\": \"pre_factoryfixture_devicegroup\"",
          .op = DO_TOKEN, .kind = FACTORY_OK },

        /* ---- confirmation ---- */
        { .name = "confirm an unknown token", .op = DO_CONFIRM, .token_id = "00000000deadbeef",
          .kind = FACTORY_ERROR_SERVER,
          .message = "confirm: HTTP 404: Not Found: no enrollment token 00000000deadbeef" },

        /* ---- production mode ---- */
        { .name = "production: wrong key", .setup = setup_production_wrong_key, .op = DO_TOKEN,
          .kind = FACTORY_ERROR_AUTH,
          .message = "enroll: the server refused the API key: HTTP 401: Unauthorized: the API key is "
                     "not valid",
          .sequence = "POST /enroll" },

        /* ---- TLS and URLs: refused at once, no retries ---- */
        { .name = "TLS: wrong CA", .setup = setup_other_ca, .op = DO_VERIFY, .kind = FACTORY_ERROR_TRANSPORT,
          .http_status = NO_RESPONSE,
          .message_has = { "auth: TLS: the server's certificate is not accepted: ",
                           "unable to get local issuer certificate" },
          .took_max = 1.0, .sequence = "" },
        { .name = "TLS: wrong host", .cert = "wronghost", .op = DO_VERIFY, .kind = FACTORY_ERROR_TRANSPORT,
          .http_status = NO_RESPONSE,
          .message_has = { "auth: TLS: the server's certificate is not accepted: ", "127.0.0.1" },
          .took_max = 1.0, .sequence = "" },
        { .name = "TLS: expired", .cert = "expired", .op = DO_VERIFY, .kind = FACTORY_ERROR_TRANSPORT,
          .http_status = NO_RESPONSE,
          .message_has = { "auth: TLS: the server's certificate is not accepted: ", "certificate has expired" },
          .took_max = 1.0, .sequence = "" },
        { .name = "https to a plain HTTP server", .http = true, .setup = setup_https_to_http, .op = DO_VERIFY,
          .kind = FACTORY_ERROR_TRANSPORT, .message_has = { "auth: TLS handshake failed: " } },

        /* ---- secrets ---- */
        /* what the server says is logged at info level when it does not know the fixture */
        { .name = "a secret echoed on 404",
          .settings = "\"faults\": [{\"path\": \"/devices/*\", \"action\": \"status\", \"status\": 404, "
                      "\"title\": \"Not Found\", \"detail\": \"{login_key}\"}]",
          .op = DO_VERIFY, .info_level = true, .kind = FACTORY_ERROR_NOT_FACTORY_FIXTURE,
          .logged = "HTTP 404: Not Found: (secret)\n", .not_logged = { LOGIN_KEY } },
        { .name = "production: the secret never logged",
          .settings = "\"faults\": [{\"path\": \"/enroll\", \"action\": \"status\", \"status\": 503, "
                      "\"count\": 1, "
                      "\"title\": \"Unavailable\", \"detail\": \"key {api_key} overloaded\"}]",
          .setup = setup_production, .op = DO_TOKEN, .kind = FACTORY_OK,
          .logged = "HTTP 503: Unavailable: key (secret) overloaded",
          .not_logged = { API_KEY, "QUstdmVyeS1zZWNyZXQtYXBpLWtleS0wODE1Og" } },
};

static void check_message(const ClientCase *k, const FactoryResult *r) {
        if (k->message)
                ck_assert_msg(streq(r->message, k->message), "%s: got \"%s\", expected \"%s\"", k->name,
                              r->message, k->message);
        for (size_t i = 0; i < ELEMENTSOF(k->message_has) && k->message_has[i]; i++)
                assert_message_has(*r, k->message_has[i]);
        if (k->message_has_one_of[0])
                ck_assert_msg(strstr(r->message, k->message_has_one_of[0]) ||
                                      strstr(r->message, k->message_has_one_of[1]),
                              "%s: message \"%s\" has neither \"%s\" nor \"%s\"", k->name, r->message,
                              k->message_has_one_of[0], k->message_has_one_of[1]);
}

static void check_log(const ClientCase *k, const char *logged) {
        if (k->logged)
                ck_assert_msg(strstr(logged, k->logged), "%s: \"%s\" not logged: %s", k->name, k->logged, logged);
        for (size_t i = 0; i < ELEMENTSOF(k->not_logged) && k->not_logged[i]; i++)
                ck_assert_msg(!strstr(logged, k->not_logged[i]), "%s: \"%s\" was logged", k->name,
                              k->not_logged[i]);
}

static void check_requests(const ClientCase *k, TestServer *t) {
        json_object *log;
        unsigned n;

        if (k->sequence)
                expect_sequence(t, k->sequence);
        if (!k->count.method)
                return;
        log = ts_log(t);
        n = count_requests(log, k->count.method, k->count.path);
        ck_assert_msg(n >= k->count.min && n <= k->count.max, "%s: %u requests %s %s", k->name, n,
                      k->count.method, k->count.path);
        json_object_put(log);
}

START_TEST(test_client_case) {
        const ClientCase *k = &client_cases[_i];
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        Capture cap;
        char *logged;
        double took;

        ts_start_full(&t, k->cert ?: "server", k->http, k->settings);
        c = config_for(&t);
        if (k->setup)
                k->setup(&c, &t);
        if (k->server_gone)
                ts_stop(&t);
        capture_start(&cap);
        if (k->info_level)
                log_set_max_level(LOG_INFO);
        r = run(&c, k->op, k->token_id, &took);
        logged = capture_end(&cap);

        ck_assert_msg(r.kind == k->kind, "%s: kind %s (expected %s), message \"%s\"", k->name,
                      factory_error_kind_to_string(r.kind), factory_error_kind_to_string(k->kind), r.message);
        if (k->http_status != 0)
                ck_assert_int_eq(r.http_status, k->http_status == NO_RESPONSE ? 0 : k->http_status);
        check_message(k, &r);
        if (k->no_token) {
                ck_assert_str_eq(r.token_id, "");
                ck_assert_str_eq(r.plan_id, "");
        }
        if (k->token_hex)
                ck_assert_msg(is_hex16(r.token_id), "%s: token_id %s", k->name, r.token_id);
        check_log(k, logged);
        free(logged);
        if (k->took_min > 0)
                ck_assert_msg(took >= k->took_min, "%s: ended after %.3f s", k->name, took);
        if (k->took_max > 0)
                ck_assert_msg(took <= k->took_max, "%s: ended after %.3f s", k->name, took);
        if (!k->server_gone)
                check_requests(k, &t);
        ts_stop(&t);
}
END_TEST

/* ---- the normal flow ---- */

START_TEST(test_verify) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        json_object *log, *e;
        char ua[64];

        ts_start(&t, NULL);
        c = config_for(&t);
        r = run(&c, DO_VERIFY, NULL, NULL);
        assert_kind(r, FACTORY_OK);
        ck_assert_int_eq(r.http_status, 200);
        expect_sequence(&t, "POST /auth/token GET /devices/" FIXTURE_ID);

        log = ts_log(&t);
        e = nth_request(log, "POST", "/auth/token", 0);
        ck_assert_str_eq(entry_str(e, "path"), "/v5/auth/token");
        ck_assert_str_eq(entry_header(e, "Content-Type"), "application/json");
        ck_assert_str_eq(entry_header(e, "Accept"), "application/json");
        (void) snprintf(ua, sizeof(ua), "blinkupd/%s", PACKAGE_VERSION);
        ck_assert_str_eq(entry_header(e, "User-Agent"), ua);
        json_object *body = json_tokener_parse(entry_str(e, "body"));
        ck_assert_ptr_nonnull(body);
        ck_assert_int_eq(json_object_object_length(body), 1);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(body, "key")), LOGIN_KEY);
        json_object_put(body);

        e = nth_request(log, "GET", "/devices/*", 0);
        ck_assert_str_eq(entry_header(e, "Accept"), "application/json");
        ck_assert_ptr_null(entry_header(e, "Content-Type"));
        ck_assert_str_eq(entry_header(e, "User-Agent"), ua);
        const char *auth = entry_header(e, "Authorization");
        ck_assert_ptr_nonnull(auth);
        ck_assert_int_eq(strncmp(auth, "Bearer ", 7), 0);
        ck_assert_uint_gt(strlen(auth), 7);
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

START_TEST(test_request_token) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        json_object *log, *e, *body;

        ts_start(&t, "\"plan_id\": \"00000000c0ffee00\"");
        c = config_for(&t);
        c.fixture_id = (char *) "00AA11BB22CC33DD"; /* sent in lower case */
        r = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(r, FACTORY_OK);
        ck_assert_str_eq(r.plan_id, "00000000c0ffee00");
        ck_assert_msg(is_hex16(r.token_id), "token_id %s", r.token_id);
        ck_assert_int_eq(r.http_status, 201);
        expect_sequence(&t, "POST /auth/token GET /devices/00aa11bb22cc33dd POST /enroll");

        log = ts_log(&t);
        e = nth_request(log, "POST", "/enroll", 0);
        ck_assert_str_eq(entry_header(e, "Content-Type"), "application/json");
        ck_assert_str_eq(entry_header(e, "Authorization"),
                         entry_header(nth_request(log, "GET", "/devices/*", 0), "Authorization"));
        body = json_tokener_parse(entry_str(e, "body"));
        ck_assert_int_eq(json_object_object_length(body), 2);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(body, "type")), "factory_token");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(body, "fixture_id")),
                         "00aa11bb22cc33dd");
        json_object_put(body);
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

/* one client, several operations: one authentication, the token reused */
START_TEST(test_token_cached) {
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;
        Outcome a = {}, b = {};

        ts_start(&t, NULL);
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        ck_assert_int_eq(factory_client_verify(s, on_done, &a, &op), 0);
        loop_until(e, &a.done, 20);
        assert_kind(a.result, FACTORY_OK);
        ck_assert_int_eq(factory_client_request_token(s, on_done, &b, &op), 0);
        loop_until(e, &b.done, 20);
        assert_kind(b.result, FACTORY_OK);
        factory_client_free(s);
        sd_event_unref(e);
        expect_sequence(&t, "POST /auth/token GET /devices/" FIXTURE_ID " GET /devices/" FIXTURE_ID
                            " POST /enroll");
        ts_stop(&t);
}
END_TEST

/* a short-lived token is renewed before it is used, without a 401 first */
START_TEST(test_token_expiry) {
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;
        Outcome a = {}, b = {};

        ts_start(&t, "\"token_ttl\": 1, \"expires_in\": false");
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        ck_assert_int_eq(factory_client_verify(s, on_done, &a, &op), 0);
        loop_until(e, &a.done, 20);
        assert_kind(a.result, FACTORY_OK);
        usleep(1100 * 1000);
        ck_assert_int_eq(factory_client_verify(s, on_done, &b, &op), 0);
        loop_until(e, &b.done, 20);
        assert_kind(b.result, FACTORY_OK);
        factory_client_free(s);
        sd_event_unref(e);
        expect_sequence(&t, "POST /auth/token GET /devices/" FIXTURE_ID
                            " POST /auth/token GET /devices/" FIXTURE_ID);
        ts_stop(&t);
}
END_TEST

/* ---- authentication ---- */

START_TEST(test_reauth_on_401) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        json_object *log;

        /* the token is revoked just before the device request: 401, authenticate anew, again */
        ts_start(&t,
                 "\"faults\": [{\"method\": \"GET\", \"path\": \"/devices/*\", \"action\": \"revoke\"}]");
        c = config_for(&t);
        r = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(r, FACTORY_OK);
        expect_sequence(&t, "POST /auth/token GET /devices/" FIXTURE_ID
                            " POST /auth/token GET /devices/" FIXTURE_ID " POST /enroll");
        log = ts_log(&t);
        ck_assert_str_ne(entry_header(nth_request(log, "GET", "/devices/*", 0), "Authorization"),
                         entry_header(nth_request(log, "GET", "/devices/*", 1), "Authorization"));
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

/* ---- retries ---- */

START_TEST(test_retry_after) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        json_object *log;
        double gap;

        ts_start(&t, "\"faults\": [{\"path\": \"/enroll\", \"action\": \"status\", \"status\": 429, "
                     "\"headers\": {\"Retry-After\": \"1\"}, \"title\": \"Too Many Requests\"}]");
        c = config_for(&t);
        c.attempt_timeout_usec = 5 * USEC_PER_SEC;
        r = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(r, FACTORY_OK);
        log = ts_log(&t);
        ck_assert_uint_eq(count_requests(log, "POST", "/enroll"), 2);
        gap = entry_time(nth_request(log, "POST", "/enroll", 1)) -
              entry_time(nth_request(log, "POST", "/enroll", 0));
        ck_assert_msg(gap >= 1.0 && gap < 2.0, "the second enroll came %.3f s after the first", gap);
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

START_TEST(test_5xx_burst) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        json_object *log;
        double t0, t1, t2;

        ts_start(&t, "\"faults\": [{\"path\": \"/enroll\", \"action\": \"status\", \"status\": 503, "
                     "\"count\": 2}]");
        c = config_for(&t);
        r = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(r, FACTORY_OK);
        log = ts_log(&t);
        ck_assert_uint_eq(count_requests(log, "POST", "/enroll"), 3);
        t0 = entry_time(nth_request(log, "POST", "/enroll", 0));
        t1 = entry_time(nth_request(log, "POST", "/enroll", 1));
        t2 = entry_time(nth_request(log, "POST", "/enroll", 2));
        /* exponential: 250 ms, then 500 ms */
        ck_assert_msg(t1 - t0 >= 0.25 && t2 - t1 >= 0.5 && t2 - t1 > t1 - t0, "gaps %.3f s and %.3f s",
                      t1 - t0, t2 - t1);
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

/* other 4xx fail at once, with whatever the body allows */
START_TEST(test_error_bodies) {
        static const struct {
                const char *body;
                const char *message;
        } cases[] = {
                { "json", "enroll: HTTP 400: Bad Request: plan 7 is closed" },
                { "empty", "enroll: HTTP 400: empty response" },
                { "html", "enroll: HTTP 400: HTML response, not a JSON error document" },
                { "truncated", "enroll: HTTP 400: truncated JSON error document" },
        };
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;
        char faults[1024] = "\"faults\": [";

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = strlen(faults);
                (void) snprintf(
                        faults + n, sizeof(faults) - n,
                        "%s{\"path\": \"/enroll\", \"action\": \"status\", \"status\": 400, \"skip\": %zu, "
                        "\"body\": \"%s\", \"title\": \"Bad Request\", \"detail\": \"plan 7 is closed\"}",
                        i ? ", " : "", i, cases[i].body);
        }
        strcat(faults, "]");
        ts_start(&t, faults);
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Outcome o = {};
                ck_assert_int_eq(factory_client_request_token(s, on_done, &o, &op), 0);
                loop_until(e, &o.done, 20);
                assert_kind(o.result, FACTORY_ERROR_SERVER);
                ck_assert_int_eq(o.result.http_status, 400);
                ck_assert_str_eq(o.result.message, cases[i].message);
        }
        factory_client_free(s);
        sd_event_unref(e);
        /* one enroll each: no retries */
        json_object *log = ts_log(&t);
        ck_assert_uint_eq(count_requests(log, "POST", "/enroll"), ELEMENTSOF(cases));
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

/* ---- confirmation ---- */

START_TEST(test_confirm_claimed) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r, k;
        json_object *log;
        unsigned polls;

        ts_start(&t, "\"claim_delay\": 0.5");
        c = config_for(&t);
        k = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(k, FACTORY_OK);
        r = run(&c, DO_CONFIRM, k.token_id, NULL);
        assert_kind(r, FACTORY_OK);
        ck_assert_msg(is_hex16(r.device_id), "device_id %s", r.device_id);
        ck_assert_str_eq(r.token_id, k.token_id);
        ck_assert_str_eq(r.plan_id, k.plan_id);

        log = ts_log(&t);
        polls = count_requests(log, "GET", "/enroll/*");
        /* pending for 0.5 s at one poll per 100 ms */
        ck_assert_msg(polls >= 2 && polls <= 8, "%u polls", polls);
        for (unsigned i = 1; i < polls; i++) {
                double gap = entry_time(nth_request(log, "GET", "/enroll/*", i)) -
                             entry_time(nth_request(log, "GET", "/enroll/*", i - 1));
                ck_assert_msg(gap >= 0.09, "poll %u came %.3f s after the one before", i, gap);
        }
        ck_assert_str_eq(entry_str(nth_request(log, "GET", "/enroll/*", 0), "api_path") + strlen("/enroll/"),
                         k.token_id);
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

typedef struct ClaimLater {
        TestServer *server;
        char body[128];
} ClaimLater;

static int on_claim_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ClaimLater *cl = userdata;
        ts_control(cl->server, "/_control/claim", cl->body);
        return 0;
}

/* the demo's way: the server is told that a device enrolled */
START_TEST(test_confirm_told) {
        TestServer t;
        FactoryConfig c;
        FactoryResult k;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;
        Outcome o = {};
        ClaimLater cl = { .server = &t };
        sd_event_source *timer;
        double start;

        ts_start(&t, "\"claim_delay\": null");
        c = config_for(&t);
        k = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(k, FACTORY_OK);

        (void) snprintf(cl.body, sizeof(cl.body),
                        "{\"token_id\": \"%s\", \"device_id\": \"00112233aabbccdd\"}", k.token_id);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        start = mono();
        ck_assert_int_eq(factory_client_confirm(s, k.token_id, on_done, &o, &op), 0);
        ck_assert_int_ge(sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 700 * USEC_PER_MSEC, 0,
                                                    on_claim_timer, &cl),
                         0);
        loop_until(e, &o.done, 20);
        assert_kind(o.result, FACTORY_OK);
        ck_assert_str_eq(o.result.device_id, "00112233aabbccdd");
        ck_assert_msg(o.finished - start >= 0.7, "claimed after %.3f s", o.finished - start);
        sd_event_source_unref(timer);
        factory_client_free(s);
        sd_event_unref(e);
        ts_stop(&t);
}
END_TEST

START_TEST(test_confirm_error) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r, k;

        ts_start(
                &t,
                "\"claim_delay\": 0.2, \"claim_error\": {\"code\": \"wrong_plan\", \"message\": \"device is "
                "in another plan\"}");
        c = config_for(&t);
        k = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(k, FACTORY_OK);
        r = run(&c, DO_CONFIRM, k.token_id, NULL);
        assert_kind(r, FACTORY_ERROR_SERVER);
        ck_assert_str_eq(r.device_id, "");
        char expected[256];
        (void) snprintf(
                expected, sizeof(expected),
                "confirm: the enrollment with token %s failed: wrong_plan: device is in another plan",
                k.token_id);
        ck_assert_str_eq(r.message, expected);
        ts_stop(&t);
}
END_TEST

START_TEST(test_confirm_timeout) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r, k;
        double took;

        ts_start(&t, "\"claim_delay\": null");
        c = config_for(&t);
        c.confirm_timeout_usec = 1 * USEC_PER_SEC;
        c.confirm_interval_usec = 200 * USEC_PER_MSEC;
        k = run(&c, DO_TOKEN, NULL, NULL);
        r = run(&c, DO_CONFIRM, k.token_id, &took);
        assert_kind(r, FACTORY_ERROR_TIMEOUT);
        char expected[256];
        (void) snprintf(expected, sizeof(expected),
                        "confirm: token %s was not claimed within 1 s (last status \"pending\")",
                        k.token_id);
        ck_assert_str_eq(r.message, expected);
        ck_assert_msg(took >= 0.7 && took <= 1.5, "gave up after %.3f s", took);
        ts_stop(&t);
}
END_TEST

/* confirmations in the background while the next token is requested */
START_TEST(test_concurrent) {
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;
        Outcome tok[3] = {}, conf[3] = {};

        ts_start(&t, "\"claim_delay\": 0.3");
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        for (unsigned i = 0; i < 3; i++) {
                ck_assert_int_eq(factory_client_request_token(s, on_done, &tok[i], &op), 0);
                loop_until(e, &tok[i].done, 20);
                assert_kind(tok[i].result, FACTORY_OK);
                ck_assert_int_eq(factory_client_confirm(s, tok[i].result.token_id, on_done, &conf[i], &op), 0);
                ck_assert_uint_ge(pending_ops(s), 1); /* this one at least */
                ck_assert_uint_le(pending_ops(s), i + 1);
        }
        for (unsigned i = 0; i < 3; i++) {
                loop_until(e, &conf[i].done, 20);
                assert_kind(conf[i].result, FACTORY_OK);
                ck_assert_str_eq(conf[i].result.token_id, tok[i].result.token_id);
                ck_assert_uint_eq(conf[i].calls, 1);
        }
        ck_assert_str_ne(tok[0].result.token_id, tok[1].result.token_id);
        ck_assert_uint_eq(pending_ops(s), 0);
        factory_client_free(s);
        sd_event_unref(e);
        ts_stop(&t);
}
END_TEST

/* ---- cancellation ---- */

static int on_cancel_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        FactoryOp **op = userdata;
        *op = factory_op_cancel(*op);
        return 0;
}

START_TEST(test_cancel) {
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *slow = NULL, *poll_op = NULL;
        Outcome a = {}, b = {};
        sd_event_source *t1, *t2;
        double end;

        /* both answers come late, long after the cancellation */
        ts_start(&t,
                 "\"claim_delay\": null, \"faults\": [{\"path\": \"/enroll\", \"method\": \"POST\", "
                 "\"action\": \"delay\", \"seconds\": 1}, {\"path\": \"/enroll/*\", \"action\": \"delay\", "
                 "\"seconds\": 1, \"count\": -1}]");
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        ck_assert_int_eq(factory_client_request_token(s, on_done, &a, &slow), 0);
        ck_assert_int_eq(factory_client_confirm(s, "00000000000000ab", on_done, &b, &poll_op), 0);
        ck_assert_int_ge(sd_event_add_time_relative(e, &t1, CLOCK_MONOTONIC, 500 * USEC_PER_MSEC, 0,
                                                    on_cancel_timer, &slow),
                         0);
        ck_assert_int_ge(sd_event_add_time_relative(e, &t2, CLOCK_MONOTONIC, 50 * USEC_PER_MSEC, 0,
                                                    on_cancel_timer, &poll_op),
                         0);
        /* run well past the server's answer: no callback may come */
        end = mono() + 1.5;
        while (mono() < end)
                ck_assert_int_ge(sd_event_run(e, 100 * USEC_PER_MSEC), 0);
        ck_assert_ptr_null(slow);
        ck_assert_ptr_null(poll_op);
        ck_assert_uint_eq(a.calls, 0);
        ck_assert_uint_eq(b.calls, 0);
        ck_assert_uint_eq(pending_ops(s), 0);
        ck_assert_ptr_null(factory_op_cancel(NULL));
        sd_event_source_unref(t1);
        sd_event_source_unref(t2);
        factory_client_free(s);
        sd_event_unref(e);
        ts_stop(&t);
}
END_TEST

/* freeing the client with operations running: no callbacks, no leaks (valgrind/ASan) */
START_TEST(test_free_while_busy) {
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;
        Outcome a = {}, b = {};
        double end;

        ts_start(&t,
                 "\"faults\": [{\"path\": \"*\", \"action\": \"delay\", \"seconds\": 2, \"count\": -1}]");
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        ck_assert_int_eq(factory_client_verify(s, on_done, &a, &op), 0);
        ck_assert_int_eq(factory_client_confirm(s, "1", on_done, &b, &op), 0);
        end = mono() + 0.3;
        while (mono() < end)
                ck_assert_int_ge(sd_event_run(e, 50 * USEC_PER_MSEC), 0);
        ck_assert_uint_eq(pending_ops(s), 2);
        ck_assert_ptr_null(factory_client_free(s));
        ck_assert_uint_eq(a.calls + b.calls, 0);
        sd_event_unref(e);
        ts_stop(&t);
}
END_TEST

/* ---- production mode ---- */

START_TEST(test_production) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r, k;
        json_object *log, *e, *body;

        ts_start(&t, "\"claim_delay\": 0.2");
        c = config_for(&t);
        c.production = true;
        c.login_key = NULL;
        c.fixture_id = NULL;
        c.api_key = (char *) API_KEY;
        c.plan_id = (char *) "00000000000000FF";
        k = run(&c, DO_TOKEN, NULL, NULL);
        assert_kind(k, FACTORY_OK);
        ck_assert_str_eq(k.plan_id, "00000000000000ff");
        ck_assert(is_hex16(k.token_id));
        r = run(&c, DO_CONFIRM, k.token_id, NULL);
        assert_kind(r, FACTORY_OK);
        ck_assert(is_hex16(r.device_id));

        log = ts_log(&t);
        ck_assert_uint_eq(count_requests(log, "POST", "/auth/token"), 0);
        ck_assert_uint_eq(count_requests(log, "GET", "/devices/*"), 0);
        ck_assert_uint_eq(count_requests(log, "POST", "/enroll"), 1);
        e = nth_request(log, "POST", "/enroll", 0);
        /* base64("AK-very-secret-api-key-0815:") */
        ck_assert_str_eq(entry_header(e, "Authorization"), "Basic QUstdmVyeS1zZWNyZXQtYXBpLWtleS0wODE1Og==");
        body = json_tokener_parse(entry_str(e, "body"));
        ck_assert_int_eq(json_object_object_length(body), 2);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(body, "type")), "production_token");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(body, "plan_id")),
                         "00000000000000ff");
        json_object_put(body);
        ck_assert_str_eq(entry_header(nth_request(log, "GET", "/enroll/*", 0), "Authorization"),
                         "Basic QUstdmVyeS1zZWNyZXQtYXBpLWtleS0wODE1Og==");
        json_object_put(log);
        ts_stop(&t);
}
END_TEST

START_TEST(test_production_no_verify) {
        TestServer t;
        FactoryConfig c;
        sd_event *e;
        FactoryClient *s;
        FactoryOp *op;

        ts_start(&t, NULL);
        c = config_for(&t);
        c.production = true;
        c.login_key = NULL;
        c.api_key = (char *) "not-the-key";

        /* nothing to verify in production mode */
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        ck_assert_int_eq(factory_client_verify(s, on_done, NULL, &op), -EOPNOTSUPP);
        factory_client_free(s);
        sd_event_unref(e);
        ts_stop(&t);
}
END_TEST

/* ---- TLS and URLs ---- */

START_TEST(test_plain_http) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        sd_event *e;
        FactoryClient *s = NULL;
        Capture cap;
        char *logged;

        ts_start_full(&t, "server", true, NULL);
        c = config_for(&t);
        ck_assert_int_ge(sd_event_new(&e), 0);
        capture_start(&cap);
        ck_assert_int_eq(factory_client_new(e, &c, &s), -EINVAL);
        logged = capture_end(&cap);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(strstr(logged, "plain HTTP is refused"));
        free(logged);

        c.allow_insecure_http = true;
        capture_start(&cap);
        r = run(&c, DO_TOKEN, NULL, NULL);
        logged = capture_end(&cap);
        assert_kind(r, FACTORY_OK);
        ck_assert_ptr_nonnull(strstr(logged, "WARNING: AllowInsecureHttp=yes"));
        free(logged);
        sd_event_unref(e);
        ts_stop(&t);
}
END_TEST

/* URLs of other schemes, and other configurations refused */
START_TEST(test_bad_urls) {
        TestServer t = { .url = "http://127.0.0.1/v5" };
        FactoryConfig c = config_for(&t);
        sd_event *e;
        FactoryClient *s = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        log_set_max_level(LOG_CRIT);
        c.allow_insecure_http = true;
        c.url = (char *) "ftp://127.0.0.1/v5";
        ck_assert_int_eq(factory_client_new(e, &c, &s), -EINVAL);
        c.url = (char *) "127.0.0.1/v5";
        ck_assert_int_eq(factory_client_new(e, &c, &s), -EINVAL);
        c.url = (char *) "https://127.0.0.1/v5";
        c.fixture_id = (char *) "xyz";
        ck_assert_int_eq(factory_client_new(e, &c, &s), -EINVAL);
        c.fixture_id = (char *) FIXTURE_ID;
        c.login_key = (char *) "";
        ck_assert_int_eq(factory_client_new(e, &c, &s), -EINVAL);
        c.login_key = (char *) "a\nb";
        ck_assert_int_eq(factory_client_new(e, &c, &s), -EINVAL);
        ck_assert_ptr_null(s);
        /* a trailing slash is harmless */
        c.login_key = (char *) LOGIN_KEY;
        c.url = (char *) "HTTPS://127.0.0.1/v5/";
        ck_assert_int_eq(factory_client_new(e, &c, &s), 0);
        factory_client_free(s);
        sd_event_unref(e);
}
END_TEST

/* ---- secrets ---- */

START_TEST(test_secrets_never_logged) {
        TestServer t;
        FactoryConfig c;
        FactoryResult r;
        Capture cap;
        char *logged;
        json_object *log;

        /* the server even echoes the login key in an error detail */
        ts_start(&t,
                 "\"faults\": [{\"path\": \"/devices/*\", \"action\": \"revoke\"}, {\"path\": \"/enroll\", "
                 "\"action\": \"status\", \"status\": 422, \"title\": \"Unprocessable\", \"detail\": \"key "
                 "{login_key} is odd\"}]");
        c = config_for(&t);
        capture_start(&cap);
        r = run(&c, DO_TOKEN, NULL, NULL);
        logged = capture_end(&cap);
        assert_kind(r, FACTORY_ERROR_SERVER);
        ck_assert_str_eq(r.message, "enroll: HTTP 422: Unprocessable: key (secret) is odd");
        ck_assert_ptr_null(strstr(r.message, LOGIN_KEY));
        /* debug logging was on, and said something */
        ck_assert_ptr_nonnull(strstr(logged, "Server: POST /auth/token"));
        ck_assert_ptr_nonnull(strstr(logged, "HTTP 401"));
        ck_assert_ptr_null(strstr(logged, LOGIN_KEY));
        ck_assert_ptr_null(strstr(logged, "Bearer"));

        /* the access tokens the server handed out do not appear either */
        log = ts_log(&t);
        for (size_t i = 0; i < json_object_array_length(log); i++) {
                const char *a = entry_header(json_object_array_get_idx(log, i), "Authorization");
                if (a)
                        ck_assert_msg(!strstr(logged, a + 7), "a token was logged");
        }
        ck_assert_ptr_nonnull(
                strstr(entry_str(nth_request(log, "POST", "/auth/token", 0), "body"), LOGIN_KEY));
        json_object_put(log);
        free(logged);
        ts_stop(&t);
}
END_TEST

START_TEST(test_kind_names) {
        ck_assert_str_eq(factory_error_kind_to_string(FACTORY_OK), "ok");
        ck_assert_str_eq(factory_error_kind_to_string(FACTORY_ERROR_NOT_FACTORY_FIXTURE),
                         "not-factory-fixture");
        ck_assert_ptr_null(factory_error_kind_to_string(_FACTORY_ERROR_KIND_MAX));
}
END_TEST

static Suite *server_suite(void) {
        Suite *s = suite_create("server");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 30);
        tcase_add_loop_test(tc, test_client_case, 0, ELEMENTSOF(client_cases));
        tcase_add_test(tc, test_verify);
        tcase_add_test(tc, test_request_token);
        tcase_add_test(tc, test_token_cached);
        tcase_add_test(tc, test_token_expiry);
        tcase_add_test(tc, test_reauth_on_401);
        tcase_add_test(tc, test_retry_after);
        tcase_add_test(tc, test_5xx_burst);
        tcase_add_test(tc, test_error_bodies);
        tcase_add_test(tc, test_confirm_claimed);
        tcase_add_test(tc, test_confirm_told);
        tcase_add_test(tc, test_confirm_error);
        tcase_add_test(tc, test_confirm_timeout);
        tcase_add_test(tc, test_concurrent);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_free_while_busy);
        tcase_add_test(tc, test_production);
        tcase_add_test(tc, test_production_no_verify);
        tcase_add_test(tc, test_plain_http);
        tcase_add_test(tc, test_bad_urls);
        tcase_add_test(tc, test_secrets_never_logged);
        tcase_add_test(tc, test_kind_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        const char *srcdir = getenv("top_srcdir");
        char cmd[2 * PATH_MAX + 64];
        int failed;

        (void) snprintf(script, sizeof(script), "%s/tests/helpers/factory-server.py", srcdir ? srcdir : ".");
        if (access(script, R_OK) < 0) {
                fprintf(stderr, "%s: %m\n", script);
                return EXIT_TEST_ERROR;
        }

        /* nothing but 127.0.0.1, whatever the environment says */
        const char *proxies[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy" };
        for (size_t i = 0; i < ELEMENTSOF(proxies); i++)
                (void) unsetenv(proxies[i]);

        (void) snprintf(top, sizeof(top), "/tmp/test-server.XXXXXX");
        if (!mkdtemp(top)) {
                fprintf(stderr, "mkdtemp: %m\n");
                return EXIT_TEST_ERROR;
        }
        (void) snprintf(pki, sizeof(pki), "%s/pki", top);
        (void) snprintf(cmd, sizeof(cmd), "python3 '%s' --make-pki '%s'", script, pki);
        if (system(cmd) != 0) {
                fprintf(stderr, "could not create the test PKI\n");
                return EXIT_TEST_ERROR;
        }

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return EXIT_TEST_ERROR;

        failed = test_run_suite(server_suite());
        curl_global_cleanup();

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        (void) system(cmd);
        return failed;
}
