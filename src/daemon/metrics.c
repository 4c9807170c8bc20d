/* SPDX-License-Identifier: MIT */
/* The metrics file: counting, formatting (text exposition format 0.0.4) and the atomic write. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf(), mkostemp() */
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-names.h"
#include "fs-util.h"
#include "macro.h"
#include "metrics.h"
#include "string-util.h"

static const char *const attempt_outcomes[METRICS_ATTEMPT_OUTCOMES] = {
        "success", "Auth", "Cancelled", "Gpio", "NotFactoryFixture", "Record", "Server", "Timeout", "TimingFault",
};
static const char *const confirm_outcomes[METRICS_CONFIRM_OUTCOMES] = {
        "confirmed", "Auth", "NotFactoryFixture", "Server", "Timeout",
};
static const char *const kind_names[_METRICS_KIND_MAX] = {
        [METRICS_KIND_FACTORY] = "factory",
        [METRICS_KIND_CLEAR] = "clear",
};
static const char *const step_names[_METRICS_STEP_MAX] = {
        [METRICS_STEP_VERIFY] = "verify",
        [METRICS_STEP_TOKEN] = "token",
};
static const char *const factory_statuses[] = { "unknown", "verified", "not-a-fixture", "unreachable" };

/* A histogram's upper bounds, in ns and as the le label shows them (Go's shortest 'g' format,
 * as Prometheus's own client libraries write them). */
typedef struct Buckets {
        size_t n;
        uint64_t bound_ns[METRICS_BUCKETS_MAX];
        const char *le[METRICS_BUCKETS_MAX];
} Buckets;

/* edges: from 10 µs to 10 ms (the default fault threshold is 10 % of a bit: 0.7 ms at 142
 * bits/s, 1.7 ms at 60) */
static const Buckets lateness_buckets = {
        10,
        { 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000 },
        { "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01" },
};
/* the server's answers: from 50 ms to the default request timeout and beyond */
static const Buckets server_buckets = {
        9,
        { 50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
          30000000000 },
        { "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30" },
};
/* confirmations: from a second to ten minutes (ConfirmTimeoutSec=) */
static const Buckets confirm_buckets = {
        9,
        { 1000000000, 2500000000, 5000000000, 10000000000, 30000000000, 60000000000, 120000000000,
          300000000000, 600000000000 },
        { "1", "2.5", "5", "10", "30", "60", "120", "300", "600" },
};

/* ---- counting ---- */

static void observe(MetricsHistogram *h, const Buckets *b, uint64_t ns) {
        for (size_t i = 0; i < b->n; i++)
                if (ns <= b->bound_ns[i]) {
                        h->bucket[i]++;
                        break;
                }
        h->count++;
        h->sum_ns += ns;
}

/* The index of error_name (full or short) in names[1..n-1]; 0 for NULL or "" (the success);
 * a name not in the list counts as Server, which both lists have. */
static size_t outcome_index(const char *const *names, size_t n, const char *error_name) {
        const char *s;

        if (isempty(error_name))
                return 0;
        s = startswith(error_name, FIXTURE_ERROR_PREFIX) ?: error_name;
        for (size_t i = 1; i < n; i++)
                if (streq(names[i], s))
                        return i;
        return outcome_index(names, n, "Server");
}

void metrics_count_attempt(Metrics *m, MetricsKind kind, const char *error_name) {
        if (kind < 0 || kind >= _METRICS_KIND_MAX)
                return;
        m->attempts[kind][outcome_index(attempt_outcomes, METRICS_ATTEMPT_OUTCOMES, error_name)]++;
}

void metrics_count_blink(Metrics *m, uint64_t frames_sent, uint64_t frames_resent, uint64_t timing_faults,
                         const uint64_t *lateness_ns, size_t n) {
        m->frames_sent += frames_sent;
        m->frames_resent += frames_resent;
        m->timing_faults += timing_faults;
        for (size_t i = 0; i < n; i++)
                observe(&m->lateness, &lateness_buckets, lateness_ns[i]);
}

void metrics_observe_server(Metrics *m, MetricsStep step, uint64_t usec) {
        if (step < 0 || step >= _METRICS_STEP_MAX)
                return;
        observe(&m->server[step], &server_buckets, usec * NSEC_PER_USEC);
}

void metrics_count_confirmation(Metrics *m, const char *error_name, uint64_t usec) {
        m->confirmations[outcome_index(confirm_outcomes, METRICS_CONFIRM_OUTCOMES, error_name)]++;
        observe(&m->confirmation, &confirm_buckets, usec * NSEC_PER_USEC);
}

/* ---- the text ---- */

static void family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* seconds with all the digits of a ns count: exact, no rounding */
static void seconds_ns(FILE *f, uint64_t ns) {
        fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", ns / NSEC_PER_SEC, ns % NSEC_PER_SEC);
}

static void seconds_usec(FILE *f, uint64_t usec) {
        fprintf(f, "%" PRIu64 ".%06" PRIu64 "\n", usec / USEC_PER_SEC, usec % USEC_PER_SEC);
}

/* name's series of h; labels: "" or `key="value",` to put before le */
static void histogram(FILE *f, const char *name, const char *labels, const MetricsHistogram *h, const Buckets *b) {
        uint64_t cumulative = 0;
        size_t n = strlen(labels);

        for (size_t i = 0; i < b->n; i++) {
                cumulative += h->bucket[i];
                fprintf(f, "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", name, labels, b->le[i], cumulative);
        }
        fprintf(f, "%s_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, h->count);
        /* the labels without their trailing comma, in braces, or nothing */
        if (n > 0)
                fprintf(f, "%s_sum{%.*s} ", name, (int) (n - 1), labels);
        else
                fprintf(f, "%s_sum ", name);
        seconds_ns(f, h->sum_ns);
        if (n > 0)
                fprintf(f, "%s_count{%.*s} %" PRIu64 "\n", name, (int) (n - 1), labels, h->count);
        else
                fprintf(f, "%s_count %" PRIu64 "\n", name, h->count);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v) {
        family(f, name, "counter", help);
        fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* A label value as the format wants it: \ " and newline escaped. */
static void label_value(FILE *f, const char *s) {
        for (; s && *s; s++) {
                if (*s == '\\' || *s == '"')
                        fputc('\\', f);
                if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

static void format_info(FILE *f, const MetricsState *s) {
        family(f, "blinkupd_build_info", "gauge",
               "The daemon's version, the libgpiod API it was built for and the OS release (VERSION_CODENAME) it "
               "runs on.");
        fputs("blinkupd_build_info{version=\"", f);
        label_value(f, s->version);
        fputs("\",libgpiod_api=\"", f);
        label_value(f, s->gpiod_api);
        fputs("\",release=\"", f);
        label_value(f, s->release);
        fputs("\"} 1\n", f);
        family(f, "blinkupd_up", "gauge", "1 while the daemon runs; 0 when it stopped cleanly.");
        fprintf(f, "blinkupd_up %d\n", s->up ? 1 : 0);
        family(f, "blinkupd_start_time_seconds", "gauge", "When the daemon started, in seconds since the epoch.");
        fputs("blinkupd_start_time_seconds ", f);
        seconds_usec(f, s->start_usec);
}

static void format_attempts(FILE *f, const Metrics *m) {
        family(f, "blinkupd_attempts_total", "counter",
               "Attempts ended since the daemon started, by kind and outcome (success, or the error's name).");
        for (size_t k = 0; k < _METRICS_KIND_MAX; k++)
                for (size_t i = 0; i < METRICS_ATTEMPT_OUTCOMES; i++)
                        fprintf(f, "blinkupd_attempts_total{kind=\"%s\",outcome=\"%s\"} %" PRIu64 "\n", kind_names[k],
                                attempt_outcomes[i], m->attempts[k][i]);
        counter(f, "blinkupd_frames_sent_total", "Frames begun on the LED, resent ones included.", m->frames_sent);
        counter(f, "blinkupd_frames_resent_total", "Frames begun again after a timing fault.", m->frames_resent);
        counter(f, "blinkupd_timing_faults_total", "Passes aborted because an edge was later than MaxLatenessUs=.",
                m->timing_faults);
        family(f, "blinkupd_edge_lateness_seconds", "histogram",
               "How late each LED edge was written after its deadline.");
        histogram(f, "blinkupd_edge_lateness_seconds", "", &m->lateness, &lateness_buckets);
}

static void format_server(FILE *f, const Metrics *m) {
        family(f, "blinkupd_server_request_duration_seconds", "histogram",
               "How long the factory server's answer took, by step (verify: the fixture check; token: the "
               "enrollment token).");
        for (size_t i = 0; i < _METRICS_STEP_MAX; i++) {
                char labels[32];

                (void) snprintf(labels, sizeof(labels), "step=\"%s\",", step_names[i]);
                histogram(f, "blinkupd_server_request_duration_seconds", labels, &m->server[i], &server_buckets);
        }
        family(f, "blinkupd_confirmations_total", "counter",
               "Confirmations ended, by outcome (confirmed, or the error's name).");
        for (size_t i = 0; i < METRICS_CONFIRM_OUTCOMES; i++)
                fprintf(f, "blinkupd_confirmations_total{outcome=\"%s\"} %" PRIu64 "\n", confirm_outcomes[i],
                        m->confirmations[i]);
        family(f, "blinkupd_confirmation_duration_seconds", "histogram",
               "From the end of the blink to the end of its confirmation.");
        histogram(f, "blinkupd_confirmation_duration_seconds", "", &m->confirmation, &confirm_buckets);
}

static void format_state(FILE *f, const Metrics *m, const MetricsState *s) {
        family(f, "blinkupd_last_success_timestamp_seconds", "gauge",
               "When the last attempt succeeded, in seconds since the epoch (0: none since the daemon started).");
        fputs("blinkupd_last_success_timestamp_seconds ", f);
        seconds_usec(f, m->last_success_usec);
        family(f, "blinkupd_factory_status", "gauge", "The factory status: 1 for the current one.");
        for (size_t i = 0; i < ELEMENTSOF(factory_statuses); i++)
                fprintf(f, "blinkupd_factory_status{status=\"%s\"} %d\n", factory_statuses[i],
                        streq_ptr(s->factory_status, factory_statuses[i]) ? 1 : 0);
        if (!s->results)
                return;
        family(f, "blinkupd_results_backlog", "gauge",
               "Results documents waiting to be delivered (counted up to 4096).");
        fprintf(f, "blinkupd_results_backlog %" PRIu64 "\n", s->results_backlog);
        family(f, "blinkupd_results_parked", "gauge",
               "Results documents refused by the endpoint and kept in results-parked.jsonl.");
        fprintf(f, "blinkupd_results_parked %" PRIu64 "\n", s->results_parked);
        family(f, "blinkupd_results_last_delivery_timestamp_seconds", "gauge",
               "When a document was last delivered (0: none).");
        fputs("blinkupd_results_last_delivery_timestamp_seconds ", f);
        seconds_usec(f, s->results_last_delivery_usec);
}

int metrics_format(const Metrics *m, const MetricsState *s, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        format_info(f, s);
        format_attempts(f, m);
        format_server(f, m);
        format_state(f, m, s);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* ---- the file ---- */

int metrics_write_file(const char *dir, const char *text, size_t size) {
        _cleanup_(freep) char *tmp = NULL, *path = NULL;
        int fd, r;

        /* the temporary name does not end in .prom: the collector never reads it */
        if (asprintf(&tmp, "%s/." METRICS_FILENAME ".XXXXXX", dir) < 0 ||
            asprintf(&path, "%s/" METRICS_FILENAME, dir) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = write_all(fd, text, size);
        /* readable by the collector's user whatever the daemon's umask */
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

void metrics_os_release(const char *os_release, char *ret, size_t size) {
        char line[256];
        FILE *f;

        (void) snprintf(ret, size, "unknown");
        f = fopen(os_release ?: "/etc/os-release", "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                const char *v = startswith(line, "VERSION_CODENAME=");
                size_t n = 0;

                if (!v)
                        continue;
                if (*v == '"' || *v == '\'')
                        v++;
                while (n + 1 < size && v[n] && (isalnum((unsigned char) v[n]) || strchr("._-", v[n])))
                        n++;
                if (n > 0) {
                        memcpy(ret, v, n);
                        ret[n] = 0;
                }
                break;
        }
        (void) fclose(f);
}
