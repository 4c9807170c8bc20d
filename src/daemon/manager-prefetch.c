/* SPDX-License-Identifier: MIT */
/* PrefetchToken=yes: a token asked for ahead of the next attempt and kept while it is young
 * and far from its expiry; and the factory check at start when no token is prefetched. */
#include <inttypes.h>
#include <stdio.h>

#include "factory.h"
#include "macro.h"
#include "manager-internal.h"

/* How long a prefetched token may be kept from now: PREFETCH_MAX_AGE_USEC, less when it expires
 * sooner (0: not at all). */
static uint64_t prefetch_keep_usec(uint64_t expires_usec) {
        uint64_t now = now_usec(CLOCK_REALTIME), lead = TOKEN_EXPIRY_MARGIN_USEC + PREFETCH_EXPIRY_LEAD_USEC;

        if (expires_usec == 0)
                return PREFETCH_MAX_AGE_USEC;
        return expires_usec > now + lead ? MIN(expires_usec - now - lead, PREFETCH_MAX_AGE_USEC) : 0;
}

static bool prefetch_usable(Manager *m) {
        return m->prefetched && now_usec(CLOCK_MONOTONIC) - m->prefetch_usec < PREFETCH_MAX_AGE_USEC &&
               prefetch_keep_usec(m->prefetch_expires_usec) > 0;
}

bool manager_prefetch_take(Manager *m, char ret_plan_id[static 17], char ret_token_id[static 17],
                           uint64_t *ret_expires_usec) {
        if (!prefetch_usable(m))
                return false;
        m->prefetched = false;
        (void) snprintf(ret_plan_id, 17, "%s", m->prefetch_plan_id);
        (void) snprintf(ret_token_id, 17, "%s", m->prefetch_token_id);
        *ret_expires_usec = m->prefetch_expires_usec;
        return true;
}

static void prefetch_keep(Manager *m, const FactoryResult *res) {
        uint64_t keep;

        if (manager_factory_mode(m))
                manager_set_factory_status(m, FACTORY_STATUS_VERIFIED);
        keep = prefetch_keep_usec(res->token_expires_usec);
        if (keep == 0) {
                log_warning("The prefetched token %s expires too soon to be kept; another is asked for in "
                            "30 s, or at the next attempt.",
                            res->token_id);
                manager_prefetch_schedule(m, 30 * USEC_PER_SEC);
                return;
        }
        (void) snprintf(m->prefetch_plan_id, sizeof(m->prefetch_plan_id), "%s", res->plan_id);
        (void) snprintf(m->prefetch_token_id, sizeof(m->prefetch_token_id), "%s", res->token_id);
        m->prefetch_expires_usec = res->token_expires_usec;
        m->prefetch_usec = now_usec(CLOCK_MONOTONIC);
        m->prefetched = true;
        log_debug("Prefetched token %s, kept for %" PRIu64 " s at most.", res->token_id, keep / USEC_PER_SEC);
        manager_prefetch_schedule(m, keep); /* replaced before it is too old, or expires */
}

static void on_prefetched(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;

        m->prefetch_op = NULL;
        manager_metrics_server(m, METRICS_STEP_TOKEN, m->prefetch_started_usec, res);
        if (res->kind == FACTORY_OK) {
                prefetch_keep(m, res);
                return;
        }
        if (res->kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE)
                manager_set_factory_status(m, FACTORY_STATUS_NOT_A_FIXTURE);
        else if (res->kind == FACTORY_ERROR_TRANSPORT || res->kind == FACTORY_ERROR_TIMEOUT)
                manager_set_factory_status(m, FACTORY_STATUS_UNREACHABLE);
        log_warning("Could not prefetch a token: %s", res->message);
        manager_prefetch_schedule(m, 30 * USEC_PER_SEC);
}

static int on_prefetch_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->prefetch_op)
                return 0;
        m->prefetched = false;
        m->prefetch_started_usec = now_usec(CLOCK_MONOTONIC);
        r = factory_proxy_request_token(m->proxy, on_prefetched, m, &m->prefetch_op);
        if (r < 0)
                log_warning_errno(r, "Could not start a token prefetch: %m");
        return 0;
}

int manager_prefetch_setup(Manager *m) {
        int r;

        r = sd_event_add_time(m->event, &m->prefetch_source, CLOCK_MONOTONIC, 0, 0, on_prefetch_timer, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->prefetch_source, SD_EVENT_OFF);
}

void manager_prefetch_schedule(Manager *m, uint64_t delay_usec) {
        int r;

        if (!m->config->server.prefetch_token || m->stopping)
                return;
        r = sd_event_source_set_time_relative(m->prefetch_source, delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->prefetch_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Could not schedule the token prefetch: %m");
}

static void on_startup_verified(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;

        m->prefetch_op = NULL;
        manager_metrics_server(m, METRICS_STEP_VERIFY, m->prefetch_started_usec, res);
        if (res->kind == FACTORY_OK)
                manager_set_factory_status(m, FACTORY_STATUS_VERIFIED);
        else if (res->kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE) {
                manager_set_factory_status(m, FACTORY_STATUS_NOT_A_FIXTURE);
                log_error("%s", FACTORY_NOT_A_FIXTURE_MESSAGE);
        } else {
                manager_set_factory_status(m, FACTORY_STATUS_UNREACHABLE);
                log_warning("The factory server could not be reached: %s", res->message);
        }
}

void manager_prefetch_startup(Manager *m) {
        int r;

        if (m->config->server.prefetch_token)
                manager_prefetch_schedule(m, 0);
        else if (manager_factory_mode(m)) {
                m->prefetch_started_usec = now_usec(CLOCK_MONOTONIC);
                r = factory_proxy_verify(m->proxy, on_startup_verified, m, &m->prefetch_op);
                if (r < 0)
                        log_warning_errno(r, "Cannot start the factory status check: %m");
        }
}
