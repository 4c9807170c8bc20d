/* SPDX-License-Identifier: MIT */
#pragma once

/* "blinkupd-https --results": the results delivery's end of the private bus
 * (HTTPS_PROTO_RESULTS_INTERFACE: Open, Kick, the Status signal). */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef struct ResultsService ResultsService;

/* Adds the object to bus (the connection to blinkupd, not yet started). */
int results_service_new(sd_bus *bus, sd_event *event, ResultsService **ret);
ResultsService *results_service_free(ResultsService *s);
