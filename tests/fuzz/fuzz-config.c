/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: config_load_buffer() on arbitrary bytes, then config_dump() of whatever
 * loaded. Invariants checked: a success gives a configuration that prints; a failure gives
 * no configuration and at least one message; no message is empty. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "strv.h"

#define NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL;
        char **messages = NULL;
        int r;

        r = config_load_buffer(NAME, data, size, &c, &messages);
        if (r == -ENOMEM)
                abort();
        if (r < 0) {
                /* every failure says why */
                if (!messages || !messages[0])
                        abort();
                if (c)
                        abort();
        } else {
                FILE *f;

                if (!c)
                        abort();
                f = fopen("/dev/null", "we");
                if (f) {
                        if (config_dump(c, f) < 0)
                                abort();
                        fclose(f);
                }
        }
        for (char **i = messages; i && *i; i++)
                if (strlen(*i) == 0)
                        abort();
        strv_free(messages);
        return 0;
}
