/* SPDX-License-Identifier: MIT */
#pragma once

/* The private connection between blinkupd and blinkupd-https, its factory server client.
 *
 * blinkupd starts blinkupd-https with one end of a socketpair on file descriptor
 * HTTPS_PROTO_FD and speaks D-Bus to it peer to peer (sd-bus, no bus daemon, nothing on the
 * system or session bus). blinkupd-https runs the factory server client (factory-client.c: libcurl,
 * TLS, JSON) in its own process: not memory-locked, without the daemon's capabilities and
 * without the GPIO lines, so neither the TLS stack's memory nor a fault in the code that
 * parses what the network sends reaches the real-time transmitter.
 *
 * Methods of HTTPS_PROTO_INTERFACE at HTTPS_PROTO_PATH:
 *   Open(HTTPS_PROTO_OPEN_SIGNATURE)        the FactoryConfig, first and once; secrets included
 *   Verify(t id), RequestToken(t id), Enroll(t id), Confirm(t id, s token_id)
 *                                           the factory_client_*() operation of that name; the reply,
 *                                           when it ends, is the FactoryResult
 *                                           (HTTPS_PROTO_RESULT_SIGNATURE)
 *   Cancel(t id)                            factory_op_cancel(); the operation is not answered
 * Both programs come from one build: there is no version negotiation. */

#define HTTPS_PROTO_FD 3
#define HTTPS_PROTO_PATH "/org/blinkupd/Https"
#define HTTPS_PROTO_INTERFACE "org.blinkupd.Https"
#define HTTPS_PROTO_ERROR_NOT_OPEN "org.blinkupd.Https.Error.NotOpen"
#define HTTPS_PROTO_ERROR_INVALID "org.blinkupd.Https.Error.InvalidConfig"

/* url, production, login_key, api_key, plan_id, fixture_id, ca_file, timeout, connect timeout,
 * attempt timeout, confirm timeout, confirm interval (µs), allow_insecure_http; "" for NULL */
#define HTTPS_PROTO_OPEN_SIGNATURE "sbssssstttttb"
/* kind, message, plan_id, token_id, device_id, http_status, token_expires_usec */
#define HTTPS_PROTO_RESULT_SIGNATURE "ussssxt"

/* The installed blinkupd-https; the environment variable BLINKUPD_HTTPS_PATH overrides it (for
 * running from the build tree). */
#define HTTPS_PROTO_PATH_ENV "BLINKUPD_HTTPS_PATH"

/* Results delivery (blinkupd.conf(5), [Results]): a second blinkupd-https, started as
 * "blinkupd-https --results", on the same kind of connection. It delivers every attempt's
 * results document from the durable record (the record is the outbox; the delivered position
 * is kept in <state dir>/RESULTS_POSITION_FILENAME) to [Results] URL=, in record order, at least
 * once. It runs only while [Results] URL= is set, and keeps no timer while nothing waits.
 *
 * Methods of HTTPS_PROTO_RESULTS_INTERFACE at HTTPS_PROTO_PATH:
 *   Open(HTTPS_PROTO_RESULTS_OPEN_SIGNATURE)  the results configuration, first and once (the
 *                                           bearer token included); then it reads the record
 *                                           from the delivered position and delivers
 *   Kick()                                  new lines are on stable storage in the record
 * Signal of that interface, sent after Open and whenever one of its values changes (never for
 * a retry that changes nothing, so the idle daemon is not woken):
 *   Status(HTTPS_PROTO_RESULTS_STATUS_SIGNATURE) */
#define HTTPS_PROTO_RESULTS_INTERFACE "org.blinkupd.Https.Results"
/* url, bearer token, ca_file, state directory, fixture_id, line, timeout, connect timeout,
 * longest retry interval (µs), allow_insecure_http; "" for NULL */
#define HTTPS_PROTO_RESULTS_OPEN_SIGNATURE "sssssstttb"
/* backlog (documents not yet delivered), parked (refused for good, kept in
 * RESULTS_PARKED_FILENAME), last delivery (CLOCK_REALTIME µs, 0: none since start), last error
 * (CLOCK_REALTIME µs, 0: none), last error's text ("" none) */
#define HTTPS_PROTO_RESULTS_STATUS_SIGNATURE "uutts"
#define RESULTS_POSITION_FILENAME "results.position"
#define RESULTS_PARKED_FILENAME "results-parked.jsonl"
#define RESULTS_SCHEMA 1
