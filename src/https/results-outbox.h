/* SPDX-License-Identifier: MIT */
#pragma once

/* The results outbox (https-proto.h, results delivery): the attempt record read forward, from
 * the delivered position on, turned into the results documents in record order. No network:
 * results-deliver.c sends what this hands out and tells it what became of each document.
 *
 *   results-outbox.c   reading the record's files forward, the read and delivered positions,
 *                      the queue of documents;
 *   results-attempt.c  the attempts' summaries, which line causes which document, the JSON;
 *   results-files.c    the position file and the parked file. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define RESULTS_EVENT_OUTCOME "outcome"
#define RESULTS_EVENT_CONFIRMATION "confirmation"
#define RESULTS_EVENT_MAX 16
/* the attempts whose summaries are kept (the newest) */
#define RESULTS_ATTEMPTS_MAX 4096
/* documents read ahead of the delivery; reading pauses above this and goes on as they go out */
#define RESULTS_QUEUE_MAX 4096
/* how much of a refusal's body goes into the parked line's "reason" */
#define RESULTS_REASON_MAX 200

/* A place in the record: just past the line that caused a document (generation: the rotation
 * number its file has or will have; attempts.log's is the highest N + 1), and which document
 * of that line it was. */
typedef struct ResultsPosition {
        uint64_t generation;
        uint64_t offset;
        uint64_t attempt_id;
        char event[RESULTS_EVENT_MAX];
} ResultsPosition;

typedef struct ResultsDocument {
        ResultsPosition position;
        char *key; /* the idempotency key: "<fixture_id or none>-<attempt_id>-<event>" */
        char *json; /* the document, UTF-8 */
        struct ResultsDocument *prev, *next;
} ResultsDocument;

typedef struct ResultsOutbox ResultsOutbox;

/* An outbox on state_dir (which holds attempts.log); fixture_id and line may be NULL. It reads
 * nothing yet. */
int results_outbox_new(const char *state_dir, const char *fixture_id, const char *line, ResultsOutbox **ret);
ResultsOutbox *results_outbox_free(ResultsOutbox *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResultsOutbox *, results_outbox_free);

/* Once, first: loads the delivered position (missing: nothing delivered, start at the oldest
 * file; corrupt or pointing nowhere: logged, start at the oldest file), counts the parked
 * documents, and reads the file before the position's from its beginning without producing
 * documents (to learn the attempts whose first lines come before the position), then the
 * record up to its last complete line. */
int results_outbox_start(ResultsOutbox *o);

/* Reads the lines written since the last read (rotated files followed), up to the last
 * complete line, queueing their documents. Returns the number of documents queued. */
int results_outbox_read(ResultsOutbox *o);

/* The oldest document not yet delivered or parked, or NULL. */
const ResultsDocument *results_outbox_peek(const ResultsOutbox *o);
/* Documents queued: read but not yet delivered or parked. */
size_t results_outbox_backlog(const ResultsOutbox *o);
/* Lines in the parked file (counted at start, one more per park). */
unsigned results_outbox_parked(const ResultsOutbox *o);

/* The oldest document was delivered: the position file moves past it (replaced atomically) and
 * it leaves the queue. A position that cannot be saved is logged; the document leaves the
 * queue all the same (it may be delivered again after a restart). */
int results_outbox_delivered(ResultsOutbox *o);
/* The oldest document was refused for good: appended (fsync'ed) to the parked file with the
 * time, the HTTP status and the reason, then handled as delivered. When the parked file cannot
 * be written the document stays at the head of the queue and -errno is returned. */
int results_outbox_park(ResultsOutbox *o, uint64_t now_usec, long http_status, const char *reason);

/* ---- results-files.c ---- */

/* RESULTS_POSITION_FILENAME in dir_fd: 0 and *ret; -ENOENT (no file); -EBADMSG (corrupt). */
int results_position_load(int dir_fd, ResultsPosition *ret);
/* Replaces it atomically: a temporary file in the same directory, fsync, rename, fsync of the
 * directory. */
int results_position_save(int dir_fd, const ResultsPosition *p);
/* "generation=G offset=O attempt=A event=E\n"; size >= RESULTS_POSITION_LINE_MAX */
#define RESULTS_POSITION_LINE_MAX 128
int results_position_format(char *buf, size_t size, const ResultsPosition *p);

/* The parked line of a document: {"parked_at":"...","http_status":N,"reason":"...",
 * "document":{...}} and "\n". reason is cut to RESULTS_REASON_MAX bytes and made printable
 * ASCII. */
int results_parked_line(const char *document_json, uint64_t now_usec, long http_status, const char *reason,
                        char **ret);
/* Appends one line to RESULTS_PARKED_FILENAME in dir_fd and fsyncs it. */
int results_parked_append(int dir_fd, const char *line);
/* The lines of RESULTS_PARKED_FILENAME in dir_fd (0 when there is none). */
int results_parked_count(int dir_fd, unsigned *ret);
