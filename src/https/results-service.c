/* SPDX-License-Identifier: MIT */
/* The results delivery's object on the private connection (https-proto.h): Open takes the
 * configuration once and starts the delivery, Kick says new record lines are on stable storage,
 * and the Status signal tells blinkupd the values it shows. Open's message carries the bearer
 * token: it is marked sensitive and the token is not logged nor put in any error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "https-proto.h"
#include "log.h"
#include "results-deliver.h"
#include "results-service.h"
#include "string-util.h"

struct ResultsService {
        sd_bus *bus;
        sd_event *event;
        sd_bus_slot *slot;
        ResultsDeliver *deliver;
};

static void on_status(const ResultsStatus *s, void *userdata) {
        ResultsService *svc = userdata;
        int r;

        r = sd_bus_emit_signal(svc->bus, HTTPS_PROTO_PATH, HTTPS_PROTO_RESULTS_INTERFACE, "Status",
                               HTTPS_PROTO_RESULTS_STATUS_SIGNATURE, s->backlog, s->parked, s->last_delivery_usec,
                               s->last_error_usec, s->last_error);
        if (r < 0)
                log_warning_errno(r, "Cannot send the results status: %m");
}

static int method_open(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ResultsService *svc = userdata;
        ResultsConfig c = {};
        int insecure, r;

        (void) sd_bus_message_sensitive(m);
        if (svc->deliver)
                return sd_bus_error_set(error, HTTPS_PROTO_ERROR_INVALID, "The configuration is already set.");
        r = sd_bus_message_read(m, HTTPS_PROTO_RESULTS_OPEN_SIGNATURE, &c.url, &c.token, &c.ca_file, &c.state_dir,
                                &c.fixture_id, &c.line, &c.timeout_usec, &c.connect_timeout_usec,
                                &c.retry_max_usec, &insecure);
        if (r < 0)
                return r;
        c.allow_insecure_http = insecure;
        c.token = empty_to_null(c.token);
        c.ca_file = empty_to_null(c.ca_file);
        c.fixture_id = empty_to_null(c.fixture_id);
        c.line = empty_to_null(c.line);
        if (isempty(c.url) || isempty(c.state_dir) || c.timeout_usec == 0 || c.connect_timeout_usec == 0)
                return sd_bus_error_set(error, HTTPS_PROTO_ERROR_INVALID,
                                        "The results configuration needs a URL, a state directory and timeouts.");
        r = results_deliver_new(svc->event, &c, on_status, svc, &svc->deliver);
        if (r < 0)
                return sd_bus_error_setf(error, HTTPS_PROTO_ERROR_INVALID,
                                         "The results delivery cannot start (%s); see the log.", strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

static int method_kick(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ResultsService *svc = userdata;

        if (!svc->deliver)
                return sd_bus_error_set(error, HTTPS_PROTO_ERROR_NOT_OPEN, "No results configuration was set.");
        (void) results_deliver_kick(svc->deliver); /* a record that cannot be read is logged; Kick again */
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable results_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Open", HTTPS_PROTO_RESULTS_OPEN_SIGNATURE, "", method_open, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Kick", "", "", method_kick, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("Status", HTTPS_PROTO_RESULTS_STATUS_SIGNATURE, 0),
        SD_BUS_VTABLE_END
};

int results_service_new(sd_bus *bus, sd_event *event, ResultsService **ret) {
        ResultsService *svc;
        int r;

        svc = calloc(1, sizeof(*svc));
        if (!svc)
                return -ENOMEM;
        svc->bus = sd_bus_ref(bus);
        svc->event = sd_event_ref(event);
        r = sd_bus_add_object_vtable(bus, &svc->slot, HTTPS_PROTO_PATH, HTTPS_PROTO_RESULTS_INTERFACE, results_vtable,
                                     svc);
        if (r < 0) {
                results_service_free(svc);
                return r;
        }
        *ret = svc;
        return 0;
}

ResultsService *results_service_free(ResultsService *svc) {
        if (!svc)
                return NULL;
        svc->deliver = results_deliver_free(svc->deliver);
        sd_bus_slot_unref(svc->slot);
        sd_bus_unref(svc->bus);
        sd_event_unref(svc->event);
        return mfree(svc);
}
