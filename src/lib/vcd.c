/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>

#include "vcd.h"

static int check(FILE *f) {
        return ferror(f) ? -EIO : 0;
}

int vcd_write_header(FILE *f, const char *comment, uint8_t initial_level) {
        fputs("$version blinkupd " PACKAGE_VERSION " $end\n", f);
        if (comment)
                fprintf(f, "$comment %s $end\n", comment);
        fputs("$timescale 1ns $end\n"
              "$scope module fixture $end\n"
              "$var wire 1 ! led $end\n"
              "$upscope $end\n"
              "$enddefinitions $end\n",
              f);
        fprintf(f, "#0\n$dumpvars\n%c!\n$end\n", initial_level ? '1' : '0');
        return check(f);
}

int vcd_write_change(FILE *f, uint64_t t_ns, uint8_t level) {
        fprintf(f, "#%" PRIu64 "\n%c!\n", t_ns, level ? '1' : '0');
        return check(f);
}

int vcd_write_end(FILE *f, uint64_t t_ns) {
        fprintf(f, "#%" PRIu64 "\n", t_ns);
        return check(f);
}

int vcd_write_waveform(FILE *f, const Waveform *w, const char *comment) {
        int r;

        r = vcd_write_header(f, comment, w->idle_level);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w->n_edges; i++) {
                r = vcd_write_change(f, w->edges[i].offset_ns, w->edges[i].level);
                if (r < 0)
                        return r;
        }
        return vcd_write_end(f, w->duration_ns);
}
