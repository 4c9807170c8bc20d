/* SPDX-License-Identifier: MIT */
/* Confirmations in the background: after a blink, the server is polled until the device has
 * enrolled with the token (recorded as confirmed) or not (recorded as failed). At most
 * MaxConfirmations= run at once; the oldest gives way to a new one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "manager-internal.h"

static void confirmation_free(Manager *m, Confirmation *c) {
        for (Confirmation **p = &m->confirmations; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        factory_proxy_op_cancel(c->op);
        free(c);
}

void manager_confirmations_abandon(Manager *m) {
        while (m->confirmations)
                confirmation_free(m, m->confirmations);
}

static void confirmed(Manager *m, uint64_t id, const char *device_id) {
        char field[64];

        manager_record_or_warn(m, record_append_confirmed(m->record, id, device_id), "confirmed");
        results_proxy_kick(m->results);
        (void) snprintf(field, sizeof(field), "BLINKUP_DEVICE_ID=%s", device_id);
        manager_log_attempt(m, LOG_INFO, MESSAGE_ID_CONFIRMED, id, field, "Attempt %" PRIu64 ": device %s enrolled.",
                            id, device_id);
        (void) snprintf(m->last_device_id, sizeof(m->last_device_id), "%s", device_id);
        (void) bus_fixture_emit_confirmed(m->bus, id, device_id);
        (void) bus_fixture_emit_properties_changed(m->bus, "LastDeviceId", NULL);
}

static void not_confirmed(Manager *m, uint64_t id, const FactoryResult *res) {
        const char *name = manager_factory_error_bus_name(res->kind);

        manager_record_or_warn(m, record_append_failed(m->record, id, name, res->message), "failed");
        results_proxy_kick(m->results);
        manager_log_attempt(m, LOG_ERR, MESSAGE_ID_FAILED, id, NULL,
                            "Attempt %" PRIu64 ": enrollment was not confirmed: %s", id, res->message);
        (void) bus_fixture_emit_finished(m->bus, id, false, name, res->message, "");
}

static void on_confirmed(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Confirmation *c = userdata;
        Manager *m = c->manager;

        c->op = NULL; /* finished: the server frees it */
        metrics_count_confirmation(&m->metrics,
                                   res->kind == FACTORY_OK ? NULL : manager_factory_error_bus_name(res->kind),
                                   now_usec(CLOCK_MONOTONIC) - c->started_usec);
        if (res->kind == FACTORY_OK)
                confirmed(m, c->attempt_id, res->device_id);
        else
                not_confirmed(m, c->attempt_id, res);
        confirmation_free(m, c);
        manager_metrics_update(m);
}

/* The oldest confirmation is given up when MaxConfirmations= are running: recorded and
 * signalled as not confirmed. */
static void confirm_make_room(Manager *m, uint64_t id) {
        Confirmation *oldest = NULL;
        FactoryResult res = { .kind = FACTORY_ERROR_TIMEOUT };
        unsigned n = 0;

        /* the oldest is the last: new ones go to the front */
        for (Confirmation *c = m->confirmations; c; c = c->next, n++)
                oldest = c;
        if (n < m->config->server.max_confirmations)
                return;

        (void) snprintf(res.message, sizeof(res.message),
                        "the confirmation was given up for attempt %" PRIu64 "'s: %u confirmations were "
                        "running, MaxConfirmations=%u",
                        id, n, m->config->server.max_confirmations);
        oldest->op = factory_proxy_op_cancel(oldest->op);
        on_confirmed(m->proxy, &res, oldest);
}

void manager_confirm_start(Manager *m, uint64_t id, const char *token_id) {
        _cleanup_(freep) Confirmation *c = NULL;
        int r;

        confirm_make_room(m, id);

        c = calloc(1, sizeof(*c));
        if (!c) {
                log_oom();
                return;
        }
        c->manager = m;
        c->attempt_id = id;
        c->started_usec = now_usec(CLOCK_MONOTONIC);
        r = factory_proxy_confirm(m->proxy, token_id, on_confirmed, c, &c->op);
        if (r < 0) {
                log_error_errno(r, "Attempt %" PRIu64 ": could not start the confirmation: %m", id);
                return;
        }
        c->next = m->confirmations;
        m->confirmations = TAKE_PTR(c);
}
