/* SPDX-License-Identifier: MIT */
/* The configuration's GPIO values: a chip (Chip=), a line (Line=), and an indicator's
 * "chip:line" or "line". */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conf-table.h"
#include "string-util.h"

#define GPIO_NAME_MAX 31 /* the kernel's GPIO_MAX_NAME_SIZE without the NUL */

static bool has_whitespace(const char *s) {
        return strpbrk(s, " \t") != NULL;
}

/* "3", "gpiochip3", "/dev/gpiochip3": a chip named by the number the kernel gave it */
static bool chip_is_numbered(const char *chip) {
        const char *name = startswith(chip, "/dev/") ?: chip;

        return config_all_digits(startswith(name, "gpiochip") ?: name);
}

/* A chip: "sim", a /dev path, or a name or label of at most 31 bytes. A chip named by its number
 * works, with a warning: the numbers change between kernels. */
static int check_chip(ConfParser *p, const ConfigItem *item, const char *chip) {
        if (has_whitespace(chip))
                return conf_bad_value(p, item->key, "chip %s contains whitespace", CONF_QUOTE(chip));
        if (chip[0] == '/' && strlen(chip) >= PATH_MAX)
                return conf_bad_value(p, item->key, "chip %s is too long", CONF_QUOTE(chip));
        if (chip[0] != '/' && strlen(chip) > GPIO_NAME_MAX)
                return conf_bad_value(p, item->key, "chip %s is longer than %d bytes", CONF_QUOTE(chip),
                                      GPIO_NAME_MAX);
        if (chip_is_numbered(chip))
                (void) conf_line_warning(p, item->key,
                                         "chip %s is named by its number, and chip numbers change between "
                                         "kernels (a Pi 5's header chip has been gpiochip4, gpiochip0 and "
                                         "gpiochip10..15); name the line alone (Line=GPIO17) or the chip by "
                                         "its label (Chip=pinctrl-rp1, Chip=pinctrl-bcm2711)",
                                         CONF_QUOTE(chip));
        return 0;
}

/* A line: a decimal offset or a line name of at most 31 bytes. */
static int check_line(ConfParser *p, const ConfigItem *item, const char *line) {
        if (has_whitespace(line))
                return conf_bad_value(p, item->key, "line %s contains whitespace", CONF_QUOTE(line));
        if (strlen(line) > GPIO_NAME_MAX)
                return conf_bad_value(p, item->key, "line %s is longer than %d bytes", CONF_QUOTE(line),
                                      GPIO_NAME_MAX);
        if ((config_all_digits(line) && (strlen(line) > 5 || atoi(line) > 65535)) ||
            ((line[0] == '-' || line[0] == '+') && config_all_digits(line + 1)))
                return conf_bad_value(p, item->key, "line offset %s is not in the range 0..65535",
                                      CONF_QUOTE(line));
        return 0;
}

int config_parse_chip(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        int r = *value ? check_chip(p, item, value) : 0;

        return r < 0 ? r : free_and_strdup(data, empty_to_null(value));
}

int config_parse_line_name(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        int r = *value ? check_line(p, item, value) : 0;

        return r < 0 ? r : free_and_strdup(data, empty_to_null(value));
}

/* Splits "chip:line" or "line" into copies; the chip is NULL for "line". */
static int split_indicator(ConfParser *p, const ConfigItem *item, const char *value, char **ret_chip,
                           char **ret_line) {
        _cleanup_(freep) char *chip = NULL, *line = NULL;
        const char *colon;

        colon = strrchr(value, ':');
        if (colon) {
                if (colon == value || colon[1] == 0)
                        return conf_bad_value(p, item->key, "%s is not \"chip:line\" or \"line\"",
                                              CONF_QUOTE(value));
                chip = strndup(value, (size_t) (colon - value));
                line = strdup(colon + 1);
        } else
                line = strdup(value);
        if ((colon && !chip) || !line)
                return -ENOMEM;
        *ret_chip = TAKE_PTR(chip);
        *ret_line = TAKE_PTR(line);
        return 0;
}

/* "chip:line" or "line"; the chip defaults to [LED] Chip= when the files are all read */
int config_parse_indicator(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        _cleanup_(freep) char *chip = NULL, *line = NULL;
        ConfigLine *field = data;
        int r;

        if (*value) {
                r = split_indicator(p, item, value, &chip, &line);
                if (r < 0)
                        return r;
                r = chip ? check_chip(p, item, chip) : 0;
                if (r < 0)
                        return r;
                r = check_line(p, item, line);
                if (r < 0)
                        return r;
        }

        free(field->chip);
        free(field->line);
        field->chip = TAKE_PTR(chip);
        field->line = TAKE_PTR(line);
        return 0;
}
