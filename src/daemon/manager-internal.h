/* SPDX-License-Identifier: MIT */
#pragma once

/* What the manager's files share: struct Manager and the functions one file calls in another.
 * manager.c (life cycle, status, watchdog, signals), manager-attempt.c (verify → token → blink →
 * result), manager-confirm.c (confirmations in the background), manager-prefetch.c (the token
 * kept ready), manager-button.c (button and indicators), manager-hardware.c (opening the lines
 * and the transmitter), manager-reload.c (what a reload applies or refuses), manager-scanner.c
 * (the barcode scanner and the pending serial number), manager-metrics.c (the metrics file). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "factory-proxy.h"
#include "fsync-worker.h"
#include "gpio.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "record.h"
#include "results-proxy.h"
#include "scanner-keys.h"
#include "time-util.h"
#include "transmitter.h"

/* Journal message IDs of the attempt events (journalctl MESSAGE_ID=...). */
#define MESSAGE_ID_STARTED "5e1b0b7a3c5f4d7e9a4f1e2d3c4b5a69"
#define MESSAGE_ID_BLINKED "0c7d6e5f4a3b4c2d8e1f0a9b8c7d6e5f"
#define MESSAGE_ID_CONFIRMED "a1b2c3d4e5f6478899aabbccddeeff01"
#define MESSAGE_ID_FAILED "f0e1d2c3b4a5469788796a5b4c3d2e1f"

/* A prefetched token older than this is replaced before it is used. */
#define PREFETCH_MAX_AGE_USEC (10 * 60 * USEC_PER_SEC)
/* A token is blinked only if it is still good this long after its frame would end: the device
 * enrolls with it after it has joined the network. */
#define TOKEN_EXPIRY_MARGIN_USEC (60 * USEC_PER_SEC)
/* A prefetched token is replaced this long before the margin above would refuse it: time for a
 * blink of the longest frame with all its retries. */
#define PREFETCH_EXPIRY_LEAD_USEC (2 * 60 * USEC_PER_SEC)
/* How long the first light edge may wait for the attempt's record lines to be on disk, after
 * the waveform's own lead-in, before the attempt ends dark (fsync-worker.h, transmitter.h). */
#define DURABLE_GATE_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* How long the transmitter may overrun its waveform before the watchdog stops being fed. */
#define TRANSMITTER_GRACE_USEC (5 * USEC_PER_SEC)

typedef enum Indicator { IND_READY, IND_BUSY, IND_PASS, IND_FAIL, _IND_MAX } Indicator;

struct libevdev;

typedef struct Confirmation Confirmation;
struct Confirmation {
        Manager *manager;
        uint64_t attempt_id;
        FactoryProxyOp *op;
        uint64_t started_usec; /* CLOCK_MONOTONIC */
        Confirmation *next;
};

struct Manager {
        sd_event *event;
        sd_bus *bus;
        bool user_bus;
        char *config_path;
        Config *config;

        GpioLine *led, *button, *indicators[_IND_MAX];
        Transmitter *transmitter;
        FactoryProxy *proxy;
        ResultsProxy *results; /* NULL: [Results] URL= is not set */
        Record *record;
        FsyncWorker *syncer; /* the record's fsyncs before a blink */
        char fixture_id[17];

        sd_event_source *transmitter_source, *button_source, *debounce_source, *watchdog_source;
        sd_event_source *prefetch_source;

        ManagerState state;
        FactoryStatus factory_status;
        uint64_t attempts, successes, failures, last_attempt_id;
        char *last_error;
        char last_device_id[17];
        char last_serial[IDENTITY_VALUE_MAX + 1], last_operator[IDENTITY_VALUE_MAX + 1]; /* of last_attempt_id */
        uint64_t last_max_lateness_ns, last_p99_lateness_ns, last_edges;

        /* the attempt in progress */
        uint64_t attempt_id;
        bool attempt_clear;
        FactoryProxyOp *op;
        char token_id[17], plan_id[17];
        uint64_t token_expires_usec; /* CLOCK_REALTIME; 0: the server gave no expiry */
        uint64_t op_started_usec; /* CLOCK_MONOTONIC, of op */
        uint32_t durable_ticket; /* the fsync the LED waits for: of the attempt's last line */
        sd_bus_message *start_call; /* the call that started it, answered once the line is on disk */
        uint32_t start_ticket; /* that line's fsync */
        uint64_t start_call_id;
        int sync_error; /* that fsync (or an earlier one) failed: errno; 0 */
        uint64_t blink_started_usec, blink_duration_usec;

        /* PrefetchToken=yes */
        FactoryProxyOp *prefetch_op;
        bool prefetched;
        char prefetch_token_id[17], prefetch_plan_id[17];
        uint64_t prefetch_expires_usec;
        bool rotate_failed; /* warned about already */
        uint64_t prefetch_usec;
        uint64_t prefetch_started_usec; /* CLOCK_MONOTONIC, of prefetch_op */

        Confirmation *confirmations;

        /* the barcode scanner ([Scanner] Device=), NULL and -1 when there is none or it could not
         * be opened; and the serial number it read for the next attempt ("": none) */
        struct libevdev *scanner_dev;
        int scanner_fd;
        char *scanner_path;
        sd_event_source *scanner_source;
        ScannerLine scanner_line;
        char pending_serial[IDENTITY_VALUE_MAX + 1];

        /* button debounce: the raw level and the accepted (stable) level */
        bool button_raw, button_stable;

        /* [Metrics] TextfileDirectory= */
        Metrics metrics;
        bool metrics_failed; /* the last write failed (and was logged) */
        uint64_t metrics_written_usec; /* CLOCK_MONOTONIC, of the last write tried */
        sd_event_source *metrics_source; /* the deferred write of manager_metrics_update_soon() */
        uint64_t start_usec; /* CLOCK_REALTIME; 0 until manager_start() */
        char os_release[32];

        uint64_t watchdog_usec;
        bool stopping;
        bool stop_when_idle; /* SIGQUIT during an attempt: no new one, exit once it has ended */
};

/* manager.c */
bool manager_factory_mode(const Manager *m);
_printf_(6, 7) void manager_log_attempt(Manager *m, int priority, const char *message_id, uint64_t attempt_id,
                                        const char *extra_field, const char *format, ...);
/* The same with up to MANAGER_LOG_FIELDS_MAX "KEY=value" journal fields (NULL-terminated) and
 * the text as it is. */
#define MANAGER_LOG_FIELDS_MAX 4
void manager_log_attempt_fields(Manager *m, int priority, const char *message_id, uint64_t attempt_id,
                                const char *const *extra_fields, const char *text);
void manager_notify_status(Manager *m);
void manager_set_state(Manager *m, ManagerState s);
void manager_set_factory_status(Manager *m, FactoryStatus s);
void manager_record_or_warn(Manager *m, int r, const char *what);
int manager_open_factory(Manager *m, const Config *c, FactoryProxy **ret);
/* The results delivery of c: *ret is NULL when c has no [Results] URL=. The one running is kept
 * when its configuration is the same (*ret = m->results, with keep set). */
int manager_open_results(Manager *m, const Config *c, ResultsProxy **ret, bool *ret_keep);

/* manager-attempt.c */
void manager_attempt_fail(Manager *m, const char *error_name, const char *message);
const char *manager_factory_error_bus_name(FactoryErrorKind k);
int manager_on_transmitter(sd_event_source *s, int fd, uint32_t revents, void *userdata);
/* The fsync worker's callback: a failed fsync of the attempt's lines ends it dark. */
void manager_on_synced(FsyncWorker *w, uint32_t durable, int error, void *userdata);

/* manager-confirm.c */
void manager_confirm_start(Manager *m, uint64_t id, const char *token_id);
/* Abandons every confirmation still running (no record line, no signal). */
void manager_confirmations_abandon(Manager *m);

/* manager-prefetch.c */
int manager_prefetch_setup(Manager *m);
void manager_prefetch_schedule(Manager *m, uint64_t delay_usec);
/* Takes the prefetched token for the attempt when it is still good: true, else false. */
bool manager_prefetch_take(Manager *m, char ret_plan_id[static 17], char ret_token_id[static 17],
                           uint64_t *ret_expires_usec);
/* At start: a token prefetch, or the factory check, so that the status is known before the first press. */
void manager_prefetch_startup(Manager *m);

/* manager-button.c */
/* Sets an indicator line, if configured: 0 or the -errno of the write (logged). */
int manager_indicator_set(Manager *m, Indicator which, bool on);
int manager_button_setup(Manager *m);
int manager_on_button(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* manager-scanner.c */
/* Opens, grabs and watches c's scanner, if any. A device that cannot be used is a warning, not
 * an error (the scanner is an aid): 0 always. */
int manager_scanner_open(Manager *m, const Config *c);
void manager_scanner_close(Manager *m);
/* The serial number of the next attempt (NULL or "": none), PropertiesChanged when it changes. */
void manager_set_pending_serial(Manager *m, const char *serial);

/* manager-metrics.c */
/* Writes the metrics file now, unless there is none or an attempt runs (its end writes it). */
void manager_metrics_update(Manager *m);
/* The same, at most once a second: for the results delivery's status, which changes with every
 * document delivered while a backlog drains (a one-shot timer, armed only then). */
void manager_metrics_update_soon(Manager *m);
/* A reload is about to apply next: the file of a TextfileDirectory= it no longer has is removed
 * (manager_metrics_update() writes the new one once next is in force). */
void manager_metrics_moving(Manager *m, const Config *next);
/* At a clean stop: the file a last time, with blinkupd_up 0. */
void manager_metrics_stopped(Manager *m);
/* The attempt in progress ended: error_name NULL for a success. */
void manager_metrics_count_attempt(Manager *m, const char *error_name);
void manager_metrics_count_blink(Manager *m, const TransmitResult *res);
/* A server operation started at started_usec (CLOCK_MONOTONIC) ended with res (not counted
 * when cancelled). */
void manager_metrics_server(Manager *m, MetricsStep step, uint64_t started_usec, const FactoryResult *res);

/* manager-hardware.c */
/* Opens the LED, the transmitter, the button and the indicators of c; on failure closes what
 * was opened and *ret_error says why (or is NULL when out of memory). */
int manager_hardware_open(Manager *m, const Config *c, char **ret_error);
void manager_hardware_close(Manager *m);
bool manager_hardware_same(const Config *a, const Config *b);
