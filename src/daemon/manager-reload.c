/* SPDX-License-Identifier: MIT */
/* Reloading the configuration: what a reload applies (the server client, the lines when they
 * changed, everything else) and what it refuses (an invalid file, an attempt in progress, a
 * new StateDirectory=), keeping the old configuration in force then. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* vasprintf() */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "macro.h"
#include "manager-internal.h"
#include "string-util.h"
#include "strv.h"

/* Sets *ret_message (NULL when out of memory), tells the service manager the reload is over,
 * returns error. */
_printf_(4, 5) static int reload_refuse(Manager *m, char **ret_message, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_message, format, ap) < 0)
                *ret_message = NULL;
        va_end(ap);
        (void) sd_notify(false, "READY=1");
        return error;
}

static char *join_messages(char **l, size_t max) {
        size_t n = 0, len = 1;
        char *s, *p;

        for (char **i = l; i && *i && n < max; i++, n++)
                len += strlen(*i) + 1;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = 0;
        n = 0;
        for (char **i = l; i && *i && n < max; i++, n++)
                p += sprintf(p, "%s%s", n > 0 ? "\n" : "", *i);
        return s;
}

/* The new configuration, its messages logged; or the first of them joined in *ret_message. */
static int reload_load(Manager *m, Config **ret, char **ret_message) {
        _cleanup_(strv_freep) char **messages = NULL;
        int r;

        r = config_load(m->config_path, ret, &messages);
        for (char **i = messages; i && *i; i++)
                log_full_errno(r < 0 ? LOG_ERR : LOG_WARNING, 0, "%s", *i);
        if (r < 0) {
                *ret_message = join_messages(messages, 8);
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m);
        }
        return r;
}

/* Reopens the lines when c names other ones; on failure the old ones are opened again. */
static int reload_hardware(Manager *m, const Config *c, char **ret_message) {
        _cleanup_(freep) char *err = NULL, *err2 = NULL;
        int r;

        if (manager_hardware_same(m->config, c))
                return 0;
        manager_hardware_close(m);
        r = manager_hardware_open(m, c, &err);
        if (r >= 0)
                return 0;
        *ret_message = TAKE_PTR(err);
        if (manager_hardware_open(m, m->config, &err2) < 0)
                log_error("The old lines could not be opened again either: %s", strempty(err2));
        (void) sd_notify(false, "READY=1");
        return r;
}

/* What the old client is still doing (prefetch, confirmations) ends here. */
static void reload_swap_in(Manager *m, Config *c, FactoryProxy *proxy, ResultsProxy *results) {
        m->prefetch_op = factory_proxy_op_cancel(m->prefetch_op);
        m->prefetched = false;
        if (m->confirmations)
                log_info("Confirmations in progress are abandoned by the reload.");
        manager_confirmations_abandon(m);
        factory_proxy_free(m->proxy);
        m->proxy = proxy;
        if (results != m->results) {
                results_proxy_free(m->results);
                m->results = results;
        }
        config_free(m->config);
        m->config = c;
        (void) snprintf(m->fixture_id, sizeof(m->fixture_id), "%s", strempty(m->config->server.fixture_id));
}

static int reload(Manager *m, char **ret_message) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(factory_proxy_freep) FactoryProxy *proxy = NULL;
        _cleanup_(results_proxy_freep) ResultsProxy *results = NULL;
        bool keep;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading the configuration.");
        r = reload_load(m, &c, ret_message);
        if (r < 0)
                return r;

        if (m->state != MANAGER_IDLE)
                return reload_refuse(m, ret_message, -EBUSY, "%s",
                                     "An attempt is in progress; reload once the fixture is idle.");
        /* the record (its file, its lock, its IDs) is the daemon's for its life */
        if (!streq_ptr(m->config->daemon.state_directory, c->daemon.state_directory)) {
                r = reload_refuse(m, ret_message, -EINVAL,
                                  "[Daemon] StateDirectory= changed from %s to %s: the attempt record moves only "
                                  "with a restart (systemctl restart blinkupd); nothing was reloaded.",
                                  m->config->daemon.state_directory, c->daemon.state_directory);
                manager_notify_status(m);
                return r;
        }

        r = manager_open_factory(m, c, &proxy);
        if (r < 0)
                return reload_refuse(m, ret_message, r, "The factory server client could not be set up: %s",
                                     strerror(-r));
        r = manager_open_results(m, c, &results, &keep);
        if (keep)
                TAKE_PTR(results); /* m->results, not ours to free */
        if (r < 0)
                return reload_refuse(m, ret_message, r, "The results delivery could not be set up: %s",
                                     strerror(-r));
        r = reload_hardware(m, c, ret_message);
        if (r < 0)
                return r;

        manager_metrics_moving(m, c);
        reload_swap_in(m, TAKE_PTR(c), TAKE_PTR(proxy), keep ? m->results : TAKE_PTR(results));
        /* opened again whatever changed: a scanner unplugged since comes back this way */
        manager_scanner_close(m);
        (void) manager_scanner_open(m, m->config);
        (void) bus_fixture_emit_properties_changed(m->bus, "FixtureId", "Fast", "ActiveHigh", "SSID", "ResultsURL",
                                                   NULL);
        log_info("Configuration reloaded.");
        manager_metrics_update(m);
        manager_prefetch_schedule(m, 0);
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return 0;
}

int manager_reload(Manager *m, char **ret_message) {
        int r;

        /* the same line in the journal whichever way it came: SIGHUP, Reload(), systemctl reload */
        r = reload(m, ret_message);
        if (r < 0)
                log_error("Reload failed, the old configuration stays in force: %s", *ret_message ?: strerror(-r));
        return r;
}
