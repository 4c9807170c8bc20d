/* SPDX-License-Identifier: MIT */
#pragma once

/* libcurl's multi interface driven by an sd-event loop: curl's sockets become sd_event io
 * sources, its timer an sd_event time source, and finished transfers are handed to a callback
 * from the loop, never from inside curl. No threads, nothing blocks.
 *
 * curl_global_init() must have been called (once, in main, before any thread starts). */

#include <curl/curl.h>
#include <systemd/sd-event.h>

typedef struct CurlGlue CurlGlue;

/* Called from the event loop for every finished transfer, with the handle still attached
 * to the multi handle: the callback must curl_glue_remove() it (and may free it, or add
 * other handles). */
typedef void (*curl_glue_finished_t)(CurlGlue *g, CURL *c, CURLcode result, void *userdata);

int curl_glue_new(sd_event *e, curl_glue_finished_t on_finished, void *userdata, CurlGlue **ret);
/* The owner removes its handles first (curl_glue_remove()). Not from the callback. */
CurlGlue *curl_glue_free(CurlGlue *g);

int curl_glue_add(CurlGlue *g, CURL *c);
void curl_glue_remove(CurlGlue *g, CURL *c);
