/* SPDX-License-Identifier: MIT */
#pragma once

/* The fixture: one attempt at a time (verify → token → blink), confirmations in the
 * background, the button, the indicator lines, the durable record. Owned by one sd-event
 * loop; the real-time transmitter thread reports back through an eventfd. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "conf.h"
#include "identity.h"


typedef enum ManagerState {
        MANAGER_IDLE,
        MANAGER_VERIFYING,
        MANAGER_REQUESTING_TOKEN,
        MANAGER_BLINKING,
        _MANAGER_STATE_MAX,
} ManagerState;

typedef enum FactoryStatus {
        FACTORY_STATUS_UNKNOWN,
        FACTORY_STATUS_VERIFIED,
        FACTORY_STATUS_NOT_A_FIXTURE,
        FACTORY_STATUS_UNREACHABLE,
        _FACTORY_STATUS_MAX,
} FactoryStatus;

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *config_path; /* NULL = default */
        bool user_bus;
} ManagerOptions;

/* Takes over config. */
int manager_new(sd_event *e, const ManagerOptions *o, Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Opens the record, the lines, the transmitter and the server; connects to the bus, owns
 * the name; then READY=1. */
int manager_start(Manager *m);

/* Both return the attempt ID; -EBUSY while an attempt runs; errors set *error. identity (NULL:
 * none) is the unit's serial number and the operator, already checked (identity_check()): they
 * go into the started line, the journal and LastSerial/LastOperator. An attempt that is not
 * clear and has no serial number takes the pending one of the barcode scanner; any attempt
 * that is not clear clears it. */
int manager_blinkup(Manager *m, bool clear, const AttemptIdentity *identity, uint64_t *ret_attempt_id,
                    sd_bus_error *error);
/* Answers the method call that started attempt id (its ID, "t") once the attempt's started line
 * is on disk: at once, or from the loop when the fsync worker says so; Error.Record if it
 * cannot be. An ID is handed out only once it is durable, so never twice. */
int manager_reply_when_recorded(Manager *m, sd_bus_message *msg, uint64_t id);
int manager_cancel(Manager *m);
/* Re-reads the configuration; keeps the old one when the new one is invalid (*ret_message
 * says why, file:line). */
int manager_reload(Manager *m, char **ret_message);

const char *manager_state_to_string(ManagerState s);
const char *factory_status_to_string(FactoryStatus s);

/* For the D-Bus object (fixture-bus.c). */
typedef struct ManagerInfo {
        ManagerState state;
        FactoryStatus factory_status;
        const char *fixture_id;
        bool fast, active_high;
        const char *ssid;
        uint64_t attempts, successes, failures, last_attempt_id;
        const char *last_error, *last_device_id;
        const char *last_serial, *last_operator;
        const char *pending_serial; /* from the barcode scanner, for the next attempt; "": none */
        uint64_t last_max_lateness_ns, last_p99_lateness_ns, last_edges;
        /* the results delivery: all zero and NULL when [Results] URL= is not set */
        const char *results_url, *results_last_error;
        uint32_t results_backlog, results_parked;
        uint64_t results_last_delivery_usec, results_last_error_usec;
} ManagerInfo;
void manager_get_info(Manager *m, ManagerInfo *ret);

/* fixture-bus.c */
int bus_fixture_register(sd_bus *bus, Manager *m);
int bus_fixture_emit_state_changed(sd_bus *bus, uint64_t attempt_id, const char *state);
int bus_fixture_emit_finished(sd_bus *bus, uint64_t attempt_id, bool success, const char *error_name,
                              const char *message, const char *device_id);
int bus_fixture_emit_confirmed(sd_bus *bus, uint64_t attempt_id, const char *device_id);
int bus_fixture_emit_properties_changed(sd_bus *bus, const char *first, ...) __attribute__((sentinel));
