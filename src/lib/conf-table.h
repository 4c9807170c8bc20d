/* SPDX-License-Identifier: MIT */
#pragma once

/* Inside the configuration: the key table (conf-table.c), the loader that fills a Config from
 * the parsed files (conf.c) and the rules across keys checked after every file (conf-check.c).
 * Not for use outside src/lib/conf*.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf-parser.h"
#include "conf.h"
#include "error-text.h"

typedef struct ConfigItem ConfigItem;
typedef int (*ConfigParseFn)(ConfParser *p, const ConfigItem *item, const char *value, void *data);

/* One key. An empty value ("Key=") parses default_value instead, or clears the key when there
 * is none; the parsers accept "" as "unset" where default_value is NULL. */
struct ConfigItem {
        const char *section;
        const char *key;
        ConfigParseFn parse;
        size_t offset;
        const char *default_value;
        unsigned min, max; /* numbers: range; strings: max = length limit (0: none) */
};

/* Where a key was last set. */
typedef struct Origin {
        const char *file; /* owned by the parser's list of files */
        unsigned line; /* 0: never set */
} Origin;

typedef struct Loader {
        ConfParser *parser;
        Config *config;
        Origin *origins; /* one per key */
        unsigned *seen; /* one per key: the line it was set on in this file, 0 = not yet */
} Loader;

extern const ConfigItem config_items[];
extern const size_t config_n_items;

/* The key's index in config_items, or SIZE_MAX. */
size_t config_item_index(const char *section, const char *key);
bool config_section_known(const char *section, void *userdata);

/* Parses value (the default when it is empty) into the key's field of c: 0, -EINVAL with an
 * error recorded, or -ENOMEM. */
int config_item_parse(ConfParser *p, size_t i, const char *value, Config *c);

/* Why password is not a valid WiFi password (the frame's rule, without its "password: "), or
 * NULL when it is valid. The reason's text is kept in err. */
const char *config_password_invalid(const char *password, ErrorText *err);

/* The parsers of GPIO chips and lines (conf-gpio.c). */
int config_parse_chip(ConfParser *p, const ConfigItem *item, const char *value, void *data);
int config_parse_line_name(ConfParser *p, const ConfigItem *item, const char *value, void *data);
int config_parse_indicator(ConfParser *p, const ConfigItem *item, const char *value, void *data);

/* The rules across keys, the defaults that depend on other keys, the secrets and the derived
 * fixture ID; after every file was parsed without errors. 0, -EINVAL or -ENOMEM. */
int config_check(Loader *l);

static inline bool config_chip_is_sim(const char *chip) {
        return chip && strcmp(chip, CONFIG_SIM_CHIP) == 0;
}

/* Microseconds per bit: 1/142 s or 1/60 s, rounded down. */
static inline unsigned config_bit_usec(bool fast) {
        return (unsigned) (USEC_PER_SEC / (fast ? 142 : 60));
}

static inline bool config_all_digits(const char *s) {
        return *s && strspn(s, "0123456789") == strlen(s);
}
