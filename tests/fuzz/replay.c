/* SPDX-License-Identifier: MIT */
/* Runs a libFuzzer harness's LLVMFuzzerTestOneInput() on files, without libFuzzer: for make
 * check, so that every seed and every regression input goes through the harness (and its
 * invariants) in the normal build too. Arguments: files or directories (not recursive). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f;
        uint8_t *buf = NULL;
        size_t size = 0, allocated = 0;

        f = fopen(path, "rbe");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        for (;;) {
                size_t n;

                if (allocated - size < 4096) {
                        uint8_t *p = realloc(buf, allocated + 65536);
                        if (!p) {
                                fclose(f);
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = p;
                        allocated += 65536;
                }
                n = fread(buf + size, 1, allocated - size, f);
                size += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        (void) LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        unsigned files = 0;
        int r = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *de;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                r = -1;
                        files++;
                        continue;
                }
                d = opendir(argv[i]);
                if (!d) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                while ((de = readdir(d))) {
                        char *p;

                        if (de->d_name[0] == '.')
                                continue;
                        if (asprintf(&p, "%s/%s", argv[i], de->d_name) < 0) {
                                closedir(d);
                                return EXIT_FAILURE;
                        }
                        if (run_file(p) < 0)
                                r = -1;
                        free(p);
                        files++;
                }
                closedir(d);
        }
        /* a harness's broken invariant aborts before this line */
        printf("%s: %u inputs\n", argv[0], files);
        return r < 0 || files == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
