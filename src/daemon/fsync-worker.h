/* SPDX-License-Identifier: MIT */
#pragma once

/* The record's fsync()s off the main loop: a thread of normal priority that fsyncs the
 * descriptors queued to it, in order, and publishes how far the record is on disk as a
 * ticket in one atomic word, the gate the transmitter looks at before the first light edge
 * (transmitter.h). The main loop hears of each fsync that ended through an eventfd on its
 * sd-event loop.
 *
 * Tickets: fsync_worker_queue() hands out 1, 2, 3 ...; once the fsync of ticket T has returned
 * 0, and every earlier one did too, the gate reads T (or more). A failed fsync stops the gate
 * where it is (data written before it may be lost, whatever later fsyncs say) until
 * fsync_worker_reset(), which the daemon calls before the next attempt's first line. Tickets
 * are 32 bits, compared modulo 2^32 (fsync_ticket_reached()): an atomic word every target
 * reads and writes without a lock. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct FsyncWorker FsyncWorker;

/* Called on the main loop after fsyncs ended: the gate's value, and the errno (positive) of
 * the first fsync that failed since the last reset, 0 when none did. */
typedef void (*fsync_worker_callback_t)(FsyncWorker *w, uint32_t durable, int error, void *userdata);

int fsync_worker_new(sd_event *e, fsync_worker_callback_t cb, void *userdata, FsyncWorker **ret);
/* Finishes the fsyncs queued (they are not abandoned: a line written is made durable), joins
 * the thread. Accepts NULL, returns NULL. */
FsyncWorker *fsync_worker_free(FsyncWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(FsyncWorker *, fsync_worker_free);

/* Queues an fsync() of fd (a duplicate of it: the caller may close fd): its ticket in *ret.
 * -errno when it cannot be queued (then the caller fsyncs itself). */
int fsync_worker_queue(FsyncWorker *w, int fd, uint32_t *ret);

/* The gate: the last ticket on disk. */
const atomic_uint *fsync_worker_gate(FsyncWorker *w);

/* Forgets a failed fsync: the gate moves again with the next ticket that succeeds. */
void fsync_worker_reset(FsyncWorker *w);

/* Whether the gate value durable has reached ticket (modulo 2^32: tickets less than 2^31
 * apart). */
static inline bool fsync_ticket_reached(uint32_t durable, uint32_t ticket) {
        return (int32_t) (durable - ticket) >= 0;
}
