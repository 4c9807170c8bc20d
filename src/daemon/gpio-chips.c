/* SPDX-License-Identifier: MIT */
/* Finding a line on the kernel's GPIO chips: by its name across every chip (as "gpioinfo GPIO17"
 * does), or on a chip given by label, device name, path or number. The same for both libgpiod
 * APIs: the backend only opens chips and answers questions about them (GpioChipOps); the
 * search, the checks and the messages are here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf(), versionsort() */
#endif
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "gpio-internal.h"
#include "string-util.h"
#include "strv.h"

#define DEV_DIR "/dev"

bool gpio_is_number(const char *s) {
        if (!s || !*s || strlen(s) > 9)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

bool gpio_chip_is_device(const char *path) {
        _cleanup_(freep) char *subsystem = NULL;
        char link[64];
        struct stat st;

        if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
                return false;
        /* what gpiod_is_gpiochip_device() asks: is the device's subsystem "gpio"? */
        (void) snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/subsystem", major(st.st_rdev),
                        minor(st.st_rdev));
        subsystem = realpath(link, NULL);
        return subsystem && streq(subsystem, "/sys/bus/gpio");
}

/* One chip found while scanning; chip is NULL when it could not be opened (error says why). */
typedef struct ChipEntry {
        char *path;
        void *chip;
        GpioChipInfo info;
        int error;
} ChipEntry;

typedef struct ChipScan {
        const GpioChipOps *ops;
        ChipEntry *entries;
        size_t n;
} ChipScan;

static void chip_scan_done(ChipScan *s) {
        for (size_t i = 0; i < s->n; i++) {
                if (s->entries[i].chip)
                        s->ops->close(s->entries[i].chip);
                free(s->entries[i].path);
        }
        free(s->entries);
        s->entries = NULL;
        s->n = 0;
}

static int chip_entry_open(const GpioChipOps *ops, ChipEntry *e) {
        int r;

        r = ops->open(e->path, &e->chip);
        if (r >= 0) {
                r = ops->info(e->chip, &e->info);
                if (r < 0) {
                        ops->close(e->chip);
                        e->chip = NULL;
                }
        }
        e->error = r < 0 ? -r : 0;
        return r;
}

/* Every GPIO chip in dev_dir, in the order of their numbers (gpiochip2 before gpiochip10), each
 * opened (or with the reason it could not be). Links are passed over: they name a chip that is
 * there under its own name too. */
static int chip_scan(const GpioChipOps *ops, const char *dev_dir, ChipScan *ret) {
        struct dirent **names = NULL;
        ChipScan s = { .ops = ops };
        int n, r = 0;

        n = scandir(dev_dir, &names, NULL, versionsort);
        if (n < 0)
                return -errno;
        s.entries = calloc((size_t) n + 1, sizeof(ChipEntry));
        if (!s.entries)
                r = -ENOMEM;
        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *path = NULL;
                struct stat st;

                if (r >= 0 && names[i]->d_name[0] != '.') {
                        if (asprintf(&path, "%s/%s", dev_dir, names[i]->d_name) < 0) {
                                path = NULL;
                                r = -ENOMEM;
                        } else if (lstat(path, &st) >= 0 && !S_ISLNK(st.st_mode) && ops->is_chip(path)) {
                                s.entries[s.n].path = TAKE_PTR(path);
                                (void) chip_entry_open(ops, &s.entries[s.n++]);
                        }
                }
                free(names[i]);
        }
        free(names);
        if (r < 0) {
                chip_scan_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* " The chips here: gpiochip0 [pinctrl-bcm2711] (58 lines), ...; see their line names with
 * gpioinfo." — for the messages of a line or chip that was not found. */
static char *chips_summary(const ChipScan *s, const char *dev_dir) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        if (s->n == 0)
                fprintf(f, " There is no GPIO chip in %s (a kernel without GPIO character devices, or a "
                           "container that does not pass them in).", dev_dir);
        else {
                fputs(" The chips here:", f);
                for (size_t i = 0; i < s->n; i++) {
                        const ChipEntry *e = &s->entries[i];

                        if (e->chip)
                                fprintf(f, "%s %s [%s] (%u line%s)", i ? "," : "", e->info.name,
                                        e->info.label, e->info.num_lines, e->info.num_lines == 1 ? "" : "s");
                        else
                                fprintf(f, "%s %s (cannot open: %s)", i ? "," : "", e->path,
                                        gpio_open_reason(e->error));
                }
                fputs("; see their line names with gpioinfo.", f);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Moves the open chip of entry i out of the scan into *ret. */
static void chip_take(ChipScan *s, size_t i, void **ret_chip, GpioChipInfo *ret_info) {
        *ret_chip = TAKE_PTR(s->entries[i].chip);
        *ret_info = s->entries[i].info;
}

/* The line on an open chip: an offset below the chip's number of lines, or a line name. */
static int line_on_chip(const GpioChipOps *ops, void *chip, const GpioChipInfo *info, const char *chip_arg,
                        const char *line, unsigned *ret_offset, char **ret_error) {
        int r;

        if (gpio_is_number(line)) {
                unsigned long offset = strtoul(line, NULL, 10);

                if (offset >= info->num_lines)
                        return gpio_error(ret_error, -ENOENT, chip_arg, line,
                                          "no such line: %s [%s] has %u lines (offsets 0 to %u)", info->name,
                                          info->label, info->num_lines, info->num_lines - 1);
                *ret_offset = (unsigned) offset;
                return 0;
        }
        r = ops->find_line(chip, line);
        if (r == -ENOENT)
                return gpio_error(ret_error, r, chip_arg, line,
                                  "no such line: no line of %s [%s] is named so; see its line names with %s %s",
                                  info->name, info->label, ops->info_command, info->name);
        if (r < 0)
                return gpio_error(ret_error, r, chip_arg, line, "cannot read the line names of %s: %s",
                                  info->name, strerror(-r));
        *ret_offset = (unsigned) r;
        return 0;
}

/* A line name searched on every chip: exactly one chip may have it. */
static int locate_by_line_name(const GpioChipOps *ops, const char *dev_dir, const char *line, void **ret_chip,
                               GpioChipInfo *ret_info, unsigned *ret_offset, char **ret_error) {
        _cleanup_(freep) char *summary = NULL;
        _cleanup_(chip_scan_done) ChipScan s = {};
        size_t found = SIZE_MAX, denied = 0;
        unsigned offset = 0;
        int r;

        r = chip_scan(ops, dev_dir, &s);
        if (r < 0)
                return gpio_error(ret_error, r, NULL, line, "cannot list the GPIO chips in %s: %s", dev_dir,
                                  strerror(-r));
        for (size_t i = 0; i < s.n; i++) {
                ChipEntry *e = &s.entries[i];

                if (!e->chip) {
                        denied += e->error == EACCES || e->error == EPERM;
                        continue;
                }
                r = ops->find_line(e->chip, line);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        return gpio_error(ret_error, r, NULL, line, "cannot read the line names of %s: %s",
                                          e->info.name, strerror(-r));
                }
                if (found != SIZE_MAX)
                        return gpio_error(ret_error, -ENOTUNIQ, NULL, line,
                                          "two chips have a line of that name, %s [%s] and %s [%s]; "
                                          "say which with Chip= (its label)",
                                          s.entries[found].info.name, s.entries[found].info.label, e->info.name,
                                          e->info.label);
                found = i;
                offset = (unsigned) r;
        }
        if (found == SIZE_MAX) {
                summary = chips_summary(&s, dev_dir);
                if (denied > 0)
                        return gpio_error(ret_error, -EACCES, NULL, line,
                                          "no chip that could be opened has a line of that name; %zu could not "
                                          "be opened: permission denied (the GPIO character devices need root "
                                          "or the group the udev rule gives).%s",
                                          denied, strempty(summary));
                return gpio_error(ret_error, -ENOENT, NULL, line, "no GPIO chip has a line of that name.%s",
                                  strempty(summary));
        }
        chip_take(&s, found, ret_chip, ret_info);
        *ret_offset = offset;
        return 0;
}

/* A chip by its label: exactly one chip may have it. */
static int chip_by_label(const GpioChipOps *ops, const char *dev_dir, const char *chip, const char *line,
                         void **ret_chip, GpioChipInfo *ret_info, char **ret_error) {
        _cleanup_(freep) char *summary = NULL;
        size_t found = SIZE_MAX;
        ChipScan s = {};
        int r;

        r = chip_scan(ops, dev_dir, &s);
        if (r < 0)
                return gpio_error(ret_error, r, chip, line, "cannot list the GPIO chips in %s: %s", dev_dir,
                                  strerror(-r));
        for (size_t i = 0; i < s.n; i++) {
                if (!s.entries[i].chip || !streq(s.entries[i].info.label, chip))
                        continue;
                if (found != SIZE_MAX) {
                        r = gpio_error(ret_error, -ENOTUNIQ, chip, line,
                                       "two chips have that label, %s and %s; name the line alone (Line=) "
                                       "if its name is unique",
                                       s.entries[found].info.name, s.entries[i].info.name);
                        chip_scan_done(&s);
                        return r;
                }
                found = i;
        }
        if (found == SIZE_MAX) {
                summary = chips_summary(&s, dev_dir);
                r = gpio_error(ret_error, -ENOENT, chip, line,
                               "no such chip: no device %s/%s and no chip with that label.%s", dev_dir, chip,
                               summary ?: "");
                chip_scan_done(&s);
                return r;
        }
        chip_take(&s, found, ret_chip, ret_info);
        chip_scan_done(&s);
        return 0;
}

/* A chip by path, device name or number. Returns 1 when chip is none of them (then it is a
 * label), 0 when the chip is open, or -errno with the message. */
static int chip_by_device(const GpioChipOps *ops, const char *dev_dir, const char *chip, const char *line,
                          void **ret_chip, GpioChipInfo *ret_info, char **ret_error) {
        _cleanup_(freep) char *path = NULL;
        void *c = NULL;
        int r = 0;

        if (chip[0] == '/')
                path = strdup(chip);
        else if (gpio_is_number(chip))
                r = asprintf(&path, "%s/gpiochip%s", dev_dir, chip);
        else if (!strchr(chip, '/') && strlen(chip) < NAME_MAX) {
                r = asprintf(&path, "%s/%s", dev_dir, chip);
                if (r >= 0 && access(path, F_OK) < 0)
                        return 1; /* not a device name: a label */
        } else
                return 1;
        if (r < 0 || !path) {
                path = NULL;
                return gpio_error(ret_error, -ENOMEM, chip, line, "out of memory");
        }

        if (access(path, F_OK) < 0)
                return gpio_error(ret_error, -ENOENT, chip, line, "no such chip (no %s)", path);
        if (!ops->is_chip(path))
                return gpio_error(ret_error, -ENODEV, chip, line, "%s", gpio_open_reason(ENODEV));
        r = ops->open(path, &c);
        if (r < 0)
                return gpio_error(ret_error, r, chip, line, "%s", gpio_open_reason(-r));
        r = ops->info(c, ret_info);
        if (r < 0) {
                ops->close(c);
                return gpio_error(ret_error, r, chip, line, "cannot read the chip's information: %s", strerror(-r));
        }
        *ret_chip = c;
        return 0;
}

int gpio_locate_in(const GpioChipOps *ops, const char *dev_dir, const char *chip, const char *line,
                   GpioLocation *ret, char **ret_error) {
        GpioChipInfo info = {};
        void *c = NULL;
        unsigned offset = 0;
        int r;

        if (!line || !*line)
                return gpio_error(ret_error, -EINVAL, chip, line, "no line given");

        if (!chip || !*chip) {
                if (gpio_is_number(line))
                        return gpio_error(ret_error, -EINVAL, chip, line,
                                          "a line offset needs a chip: give the line's name (GPIO17), or the "
                                          "chip's label in Chip=");
                r = locate_by_line_name(ops, dev_dir, line, &c, &info, &offset, ret_error);
                if (r < 0)
                        return r;
        } else {
                r = chip_by_device(ops, dev_dir, chip, line, &c, &info, ret_error);
                if (r > 0)
                        r = chip_by_label(ops, dev_dir, chip, line, &c, &info, ret_error);
                if (r < 0)
                        return r;
                r = line_on_chip(ops, c, &info, chip, line, &offset, ret_error);
                if (r < 0) {
                        ops->close(c);
                        return r;
                }
        }

        if (asprintf(&ret->where, "offset %u of %s [%s]", offset, info.name, info.label) < 0) {
                ops->close(c);
                return gpio_error(ret_error, -ENOMEM, chip, line, "out of memory");
        }
        ret->ops = ops;
        ret->chip = c;
        ret->offset = offset;
        ret->chip_name = info.name;
        return 0;
}

int gpio_locate(const GpioChipOps *ops, const char *chip, const char *line, GpioLocation *ret, char **ret_error) {
        return gpio_locate_in(ops, DEV_DIR, chip, line, ret, ret_error);
}

int gpio_request_error(char **ret_error, int e, const char *chip, const char *line, const char *consumer) {
        switch (e) {
        case EBUSY:
                if (consumer && *consumer)
                        return gpio_error(ret_error, -e, chip, line, "line busy, held by \"%s\"", consumer);
                return gpio_error(ret_error, -e, chip, line, "line busy (in use by the kernel or another program)");
        case EACCES:
        case EPERM:
                return gpio_error(ret_error, -e, chip, line, "permission denied when requesting the line");
        default:
                return gpio_error(ret_error, -e, chip, line, "cannot request the line: %s", strerror(e));
        }
}

void gpio_location_done(GpioLocation *l) {
        if (l->chip)
                l->ops->close(l->chip);
        l->chip = NULL;
        l->where = mfree(l->where);
}

const char *gpio_open_reason(int error) {
        switch (error) {
        case ENOENT:
                return "no such chip";
        case EACCES:
        case EPERM:
                return "permission denied (the GPIO character device needs root or the group the udev rule gives)";
        case ENOTTY:
        case ENODEV:
                return "not a GPIO chip";
        default:
                return strerror(error);
        }
}
