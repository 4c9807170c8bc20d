/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "conf.h"
#include "frame.h"
#include "secret.h"
#include "strv.h"

/* see config.h: the default FixtureId= is derived from the machine ID with this */
#define FIXTURE_ID_APP_ID SD_ID128_MAKE(6b, 1e, 3c, 9a, 52, d4, 4f, 0e, 8c, 27, 91, a3, 5f, 60, bd, 14)

#define GPIO_NAME_MAX 31 /* the kernel's GPIO_MAX_NAME_SIZE without the NUL */
#define QUOTED_VALUE_MAX 64 /* bytes of a bad value repeated in a message */

typedef struct Loader Loader;
typedef struct ConfigItem ConfigItem;
typedef int (*ConfigParseFn)(Loader *l, const ConfigItem *item, const char *value, void *data);

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

static int parse_string(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_password(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_path(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_bool(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_unsigned(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_optional_unsigned(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_cpu(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_token_type(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_bias(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_hex_id(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_url(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_chip(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_line_name(Loader *l, const ConfigItem *item, const char *value, void *data);
static int parse_indicator(Loader *l, const ConfigItem *item, const char *value, void *data);

#define OFF(field) offsetof(Config, field)

static const ConfigItem config_items[] = {
        { "WiFi", "SSID", parse_string, OFF(wifi.ssid), NULL, 0, FRAME_SSID_MAX },
        { "WiFi", "Password", parse_password, OFF(wifi.password) },
        { "WiFi", "PasswordFile", parse_path, OFF(wifi.password_file) },

        { "LED", "Chip", parse_chip, OFF(led.line.chip) }, /* none: the line is found by name */
        { "LED", "Line", parse_line_name, OFF(led.line.line) },
        { "LED", "ActiveHigh", parse_bool, OFF(led.active_high), "no" },
        { "LED", "Fast", parse_bool, OFF(led.fast), "yes" },
        { "LED", "Repeat", parse_unsigned, OFF(led.repeat), "1", 1, 16 },

        { "Button", "Chip", parse_chip, OFF(button.line.chip) }, /* default: [LED] Chip=, if set */
        { "Button", "Line", parse_line_name, OFF(button.line.line) },
        { "Button", "ActiveLow", parse_bool, OFF(button.active_low), "yes" },
        { "Button", "Bias", parse_bias, OFF(button.bias), "pull-up" },
        { "Button", "DebounceMs", parse_unsigned, OFF(button.debounce_msec), "30", 0, 1000 },

        { "Indicators", "Ready", parse_indicator, OFF(indicators.ready) },
        { "Indicators", "Busy", parse_indicator, OFF(indicators.busy) },
        { "Indicators", "Pass", parse_indicator, OFF(indicators.pass) },
        { "Indicators", "Fail", parse_indicator, OFF(indicators.fail) },

        { "Server", "URL", parse_url, OFF(server.url) },
        { "Server", "TokenType", parse_token_type, OFF(server.token_type), "factory" },
        { "Server", "LoginKeyFile", parse_path, OFF(server.login_key_file) },
        { "Server", "ApiKeyFile", parse_path, OFF(server.api_key_file) },
        { "Server", "PlanId", parse_hex_id, OFF(server.plan_id) },
        { "Server", "FixtureId", parse_hex_id, OFF(server.fixture_id) },
        { "Server", "CAFile", parse_path, OFF(server.ca_file) },
        { "Server", "TimeoutSec", parse_unsigned, OFF(server.timeout_sec), "10", 1, 3600 },
        { "Server", "ConnectTimeoutSec", parse_unsigned, OFF(server.connect_timeout_sec), "5", 1, 3600 },
        { "Server", "ConfirmTimeoutSec", parse_unsigned, OFF(server.confirm_timeout_sec), "120", 1, 86400 },
        { "Server", "ConfirmIntervalSec", parse_unsigned, OFF(server.confirm_interval_sec), "1", 1, 3600 },
        { "Server", "MaxConfirmations", parse_unsigned, OFF(server.max_confirmations), "32", 1, 1024 },
        { "Server", "PrefetchToken", parse_bool, OFF(server.prefetch_token), "no" },
        { "Server", "AllowInsecureHttp", parse_bool, OFF(server.allow_insecure_http), "no" },

        { "RealTime", "Priority", parse_unsigned, OFF(realtime.priority), "80", 0, 99 },
        { "RealTime", "CPU", parse_cpu, OFF(realtime.cpu), NULL, 0, 1023 },
        { "RealTime", "MaxLatenessUs", parse_optional_unsigned, OFF(realtime.max_lateness_usec), NULL, 1,
          1000000 },
        { "RealTime", "TimingFaultRetries", parse_unsigned, OFF(realtime.timing_fault_retries), "1", 0, 10 },

        { "Simulation", "Trace", parse_path, OFF(simulation.trace) },
        { "Simulation", "ButtonFifo", parse_path, OFF(simulation.button_fifo) },

        { "Daemon", "StateDirectory", parse_path, OFF(daemon.state_directory), STATEDIR },
        { "Daemon", "RecordMaxFileMiB", parse_unsigned, OFF(daemon.record_max_file_mib), "64", 0, 4096 },
};

#define N_ITEMS ELEMENTSOF(config_items)

/* Where a key was last set. */
typedef struct Origin {
        const char *file; /* owned by Loader.files */
        unsigned line; /* 0: never set */
} Origin;

struct Loader {
        Config *config;
        char **errors;
        char **warnings;
        char **files; /* every file name, for the origins */
        bool oom;
        int file_error; /* the first errno of a file that could not be read */

        Origin origins[N_ITEMS];

        /* the file being parsed */
        const char *file;
        unsigned line;
        bool world_readable;
        unsigned n_file_errors;
        unsigned seen[N_ITEMS]; /* the line each key was set on in this file, 0 = not yet */
};

static const char *const token_type_table[_CONFIG_TOKEN_TYPE_MAX] = {
        [CONFIG_TOKEN_FACTORY] = "factory",
        [CONFIG_TOKEN_PRODUCTION] = "production",
};

static const char *const bias_table[_CONFIG_BIAS_MAX] = {
        [CONFIG_BIAS_AS_IS] = "as-is",
        [CONFIG_BIAS_DISABLE] = "disable",
        [CONFIG_BIAS_PULL_UP] = "pull-up",
        [CONFIG_BIAS_PULL_DOWN] = "pull-down",
};

const char *config_token_type_to_string(ConfigTokenType t) {
        return (unsigned) t < _CONFIG_TOKEN_TYPE_MAX ? token_type_table[t] : NULL;
}

const char *config_bias_to_string(ConfigBias b) {
        return (unsigned) b < _CONFIG_BIAS_MAX ? bias_table[b] : NULL;
}

static bool is_sim(const char *chip) {
        return chip && streq(chip, CONFIG_SIM_CHIP);
}

/* Microseconds per bit: 1/142 s or 1/60 s, rounded down. */
static unsigned bit_usec(bool fast) {
        return (unsigned) (USEC_PER_SEC / (fast ? 142 : 60));
}

/* A value repeated in a message: cut at QUOTED_VALUE_MAX bytes (at a character boundary). */
static const char *quote(const char *value, char buf[static QUOTED_VALUE_MAX + 8]) {
        size_t n = strlen(value);

        if (n <= QUOTED_VALUE_MAX) {
                snprintf(buf, QUOTED_VALUE_MAX + 8, "\"%s\"", value);
                return buf;
        }
        n = QUOTED_VALUE_MAX;
        while (n > 0 && ((unsigned char) value[n] & 0xC0) == 0x80)
                n--;
        snprintf(buf, QUOTED_VALUE_MAX + 8, "\"%.*s...\"", (int) n, value);
        return buf;
}

#define QUOTE(v) quote((v), (char[QUOTED_VALUE_MAX + 8]){})

/* Adds "file:line: key: message" (the parts that are NULL or 0 are left out) to the errors or
 * the warnings. Returns -EINVAL for an error, 0 for a warning. */
_printf_(6, 7) static int loader_message(Loader *l, bool error, const char *file, unsigned line,
                                         const char *key, const char *format, ...) {
        char *text = NULL, *s;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0) {
                l->oom = true;
                return error ? -EINVAL : 0;
        }

        if (file && line > 0)
                r = asprintf(&s, "%s:%u: %s%s%s", file, line, key ?: "", key ? ": " : "", text);
        else if (file)
                r = asprintf(&s, "%s: %s%s%s", file, key ?: "", key ? ": " : "", text);
        else
                r = asprintf(&s, "%s%s%s", key ?: "", key ? ": " : "", text);
        free(text);
        if (r < 0 || strv_consume(error ? &l->errors : &l->warnings, r < 0 ? NULL : s) < 0)
                l->oom = true;

        if (error) {
                l->n_file_errors++;
                return -EINVAL;
        }
        return 0;
}

/* An error or warning about the key on the line being parsed. */
#define bad_value(l, item, ...) loader_message((l), true, (l)->file, (l)->line, (item)->key, __VA_ARGS__)
#define line_error(l, ...) loader_message((l), true, (l)->file, (l)->line, NULL, __VA_ARGS__)
#define line_warning(l, key, ...) loader_message((l), false, (l)->file, (l)->line, (key), __VA_ARGS__)

/* An error or warning about a key that was set somewhere: at its origin, or, when it was never
 * set, in the main file with the section named. */
_printf_(4, 5) static int item_message(Loader *l, bool error, size_t i, const char *format, ...) {
        const Origin *o = &l->origins[i];
        _cleanup_(freep) char *text = NULL;
        char key[64];
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0) {
                l->oom = true;
                return error ? -EINVAL : 0;
        }

        if (o->line > 0)
                return loader_message(l, error, o->file, o->line, config_items[i].key, "%s", text);
        snprintf(key, sizeof(key), "[%s] %s", config_items[i].section, config_items[i].key);
        return loader_message(l, error, l->config->path, 0, key, "%s", text);
}

static size_t item_index(const char *section, const char *key) {
        for (size_t i = 0; i < N_ITEMS; i++)
                if (streq(config_items[i].section, section) && streq(config_items[i].key, key))
                        return i;
        return SIZE_MAX;
}

static size_t item_index_checked(const char *section, const char *key) {
        size_t i = item_index(section, key);

        if (i == SIZE_MAX)
                abort(); /* a name below that is not in the table */
        return i;
}

static bool section_is_known(const char *section) {
        for (size_t i = 0; i < N_ITEMS; i++)
                if (streq(config_items[i].section, section))
                        return true;
        return false;
}

bool config_key_info(size_t i, const char **ret_section, const char **ret_key,
                     const char **ret_default_value) {
        if (i >= N_ITEMS)
                return false;
        if (ret_section)
                *ret_section = config_items[i].section;
        if (ret_key)
                *ret_key = config_items[i].key;
        if (ret_default_value)
                *ret_default_value = config_items[i].default_value;
        return true;
}

/* ---- the value parsers: 0, or -EINVAL with an error recorded, or -ENOMEM ---- */

static int set_string(char **p, const char *value) {
        char *s = NULL;

        if (*value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*p);
        *p = s;
        return 0;
}

static int parse_string(Loader *l, const ConfigItem *item, const char *value, void *data) {
        size_t n = strlen(value);

        if (item->max > 0 && n > item->max)
                return bad_value(l, item, "%s is %zu bytes long, at most %u are allowed", QUOTE(value), n,
                                 item->max);
        return set_string(data, value);
}

static int parse_password(Loader *l, const ConfigItem *item, const char *value, void *data) {
        char **p = data;
        ErrorText err = {};
        char *s = NULL;

        /* never repeat the value in a message */
        if (frame_validate_password(value, &err) < 0) {
                const char *m = err.message;
                if (strncmp(m, "password: ", 10) == 0)
                        m += 10;
                return bad_value(l, item, "%s", m);
        }
        if (*value && l->world_readable)
                (void) line_warning(l, item->key,
                                    "%s is readable by other users; use PasswordFile= or the credential "
                                    "%s, or chmod 0640",
                                    l->file, CONFIG_CREDENTIAL_WIFI_PASSWORD);
        if (*value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        erase_and_free(*p);
        *p = s;
        return 0;
}

static bool has_whitespace(const char *s) {
        return strpbrk(s, " \t") != NULL;
}

static int parse_path(Loader *l, const ConfigItem *item, const char *value, void *data) {
        if (*value) {
                if (value[0] != '/')
                        return bad_value(l, item, "%s is not an absolute path", QUOTE(value));
                if (strlen(value) >= PATH_MAX)
                        return bad_value(l, item, "%s is longer than %d bytes", QUOTE(value), PATH_MAX - 1);
        }
        return set_string(data, value);
}

static int parse_boolean(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static int parse_bool(Loader *l, const ConfigItem *item, const char *value, void *data) {
        int b = parse_boolean(value);

        if (b < 0)
                return bad_value(l, item, "%s is not a boolean (yes/no, true/false, on/off, 1/0)",
                                 QUOTE(value));
        *(bool *) data = b;
        return 0;
}

/* Decimal digits only: no sign, no spaces, no hex. */
static int parse_number(Loader *l, const ConfigItem *item, const char *value, unsigned *ret) {
        unsigned long long v = 0;

        if (!*value || strspn(value, "0123456789") != strlen(value))
                return bad_value(l, item, "%s is not a number", QUOTE(value));
        for (const char *p = value; *p; p++) {
                v = v * 10 + (unsigned) (*p - '0');
                if (v > UINT_MAX)
                        break;
        }
        if (v < item->min || v > item->max)
                return bad_value(l, item, "%s is not in the range %u..%u", QUOTE(value), item->min,
                                 item->max);
        *ret = (unsigned) v;
        return 0;
}

static int parse_unsigned(Loader *l, const ConfigItem *item, const char *value, void *data) {
        return parse_number(l, item, value, data);
}

/* "" = 0 = automatic */
static int parse_optional_unsigned(Loader *l, const ConfigItem *item, const char *value, void *data) {
        if (!*value) {
                *(unsigned *) data = 0;
                return 0;
        }
        return parse_number(l, item, value, data);
}

/* "" = -1 = not pinned */
static int parse_cpu(Loader *l, const ConfigItem *item, const char *value, void *data) {
        unsigned v;
        int r;

        if (!*value) {
                *(int *) data = -1;
                return 0;
        }
        r = parse_number(l, item, value, &v);
        if (r < 0)
                return r;
        *(int *) data = (int) v;
        return 0;
}

static int parse_enum(Loader *l, const ConfigItem *item, const char *value, const char *const *names,
                      size_t n) {
        char list[128] = "";

        for (size_t i = 0; i < n; i++)
                if (streq(value, names[i]))
                        return (int) i;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strncat(list, i + 1 == n ? " or " : ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, names[i], sizeof(list) - strlen(list) - 1);
        }
        return bad_value(l, item, "%s is not %s", QUOTE(value), list);
}

static int parse_token_type(Loader *l, const ConfigItem *item, const char *value, void *data) {
        int r = parse_enum(l, item, value, token_type_table, ELEMENTSOF(token_type_table));

        if (r < 0)
                return r;
        *(ConfigTokenType *) data = (ConfigTokenType) r;
        return 0;
}

static int parse_bias(Loader *l, const ConfigItem *item, const char *value, void *data) {
        int r = parse_enum(l, item, value, bias_table, ELEMENTSOF(bias_table));

        if (r < 0)
                return r;
        *(ConfigBias *) data = (ConfigBias) r;
        return 0;
}

static int parse_hex_id(Loader *l, const ConfigItem *item, const char *value, void *data) {
        char **p = data;
        uint64_t v;
        char *s;

        if (!*value)
                return set_string(p, "");
        if (frame_parse_hex_id(value, &v) < 0)
                return bad_value(l, item, "%s is not 1..%d hex digits", QUOTE(value), FRAME_HEX_ID_MAX);
        s = strdup(value);
        if (!s)
                return -ENOMEM;
        for (char *c = s; *c; c++)
                if (*c >= 'A' && *c <= 'F')
                        *c = (char) (*c - 'A' + 'a');
        free(*p);
        *p = s;
        return 0;
}

static int parse_url(Loader *l, const ConfigItem *item, const char *value, void *data) {
        static const char *const schemes[] = { "https://", "http://" };
        _cleanup_(freep) char *s = NULL;
        const char *scheme = NULL;
        size_t n;

        if (!*value)
                return set_string(data, "");

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                if (strncasecmp(value, schemes[i], strlen(schemes[i])) == 0)
                        scheme = schemes[i];
        if (!scheme)
                return bad_value(l, item, "%s is not an https:// URL", QUOTE(value));
        if (has_whitespace(value))
                return bad_value(l, item, "%s contains whitespace", QUOTE(value));
        if (strchr("/?#", value[strlen(scheme)]))
                return bad_value(l, item, "%s has no host name", QUOTE(value));

        /* the scheme in lower case, no trailing '/': paths are appended as "{URL}/enroll" */
        if (asprintf(&s, "%s%s", scheme, value + strlen(scheme)) < 0)
                return -ENOMEM;
        n = strlen(s);
        while (n > strlen(scheme) + 1 && s[n - 1] == '/')
                s[--n] = 0;
        free(*(char **) data);
        *(char **) data = TAKE_PTR(s);
        return 0;
}

static bool all_digits(const char *s) {
        return *s && strspn(s, "0123456789") == strlen(s);
}

/* "3", "gpiochip3", "/dev/gpiochip3": a chip named by the number the kernel gave it */
static bool chip_is_numbered(const char *chip) {
        const char *name = startswith(chip, "/dev/") ?: chip;

        return all_digits(startswith(name, "gpiochip") ?: name);
}

/* A chip: "sim", a /dev path, or a name or label of at most 31 bytes. A chip named by its number
 * works, with a warning: the numbers change between kernels. */
static int check_chip(Loader *l, const ConfigItem *item, const char *chip) {
        if (has_whitespace(chip))
                return bad_value(l, item, "chip %s contains whitespace", QUOTE(chip));
        if (chip[0] == '/' && strlen(chip) >= PATH_MAX)
                return bad_value(l, item, "chip %s is too long", QUOTE(chip));
        if (chip[0] != '/' && strlen(chip) > GPIO_NAME_MAX)
                return bad_value(l, item, "chip %s is longer than %d bytes", QUOTE(chip), GPIO_NAME_MAX);
        if (chip_is_numbered(chip))
                (void) line_warning(l, item->key,
                                    "chip %s is named by its number, and chip numbers change between kernels "
                                    "(a Pi 5's header chip has been gpiochip4, gpiochip0 and gpiochip10..15); "
                                    "name the line alone (Line=GPIO17) or the chip by its label "
                                    "(Chip=pinctrl-rp1, Chip=pinctrl-bcm2711)",
                                    QUOTE(chip));
        return 0;
}

/* A line: a decimal offset or a line name of at most 31 bytes. */
static int check_line(Loader *l, const ConfigItem *item, const char *line) {
        if (has_whitespace(line))
                return bad_value(l, item, "line %s contains whitespace", QUOTE(line));
        if (strlen(line) > GPIO_NAME_MAX)
                return bad_value(l, item, "line %s is longer than %d bytes", QUOTE(line), GPIO_NAME_MAX);
        if ((all_digits(line) && (strlen(line) > 5 || atoi(line) > 65535)) ||
            ((line[0] == '-' || line[0] == '+') && all_digits(line + 1)))
                return bad_value(l, item, "line offset %s is not in the range 0..65535", QUOTE(line));
        return 0;
}

static int parse_chip(Loader *l, const ConfigItem *item, const char *value, void *data) {
        int r = *value ? check_chip(l, item, value) : 0;

        return r < 0 ? r : set_string(data, value);
}

static int parse_line_name(Loader *l, const ConfigItem *item, const char *value, void *data) {
        int r = *value ? check_line(l, item, value) : 0;

        return r < 0 ? r : set_string(data, value);
}

/* "chip:line" or "line"; the chip defaults to [LED] Chip= when the files are all read */
static int parse_indicator(Loader *l, const ConfigItem *item, const char *value, void *data) {
        ConfigLine *p = data;
        _cleanup_(freep) char *chip = NULL, *line = NULL;
        const char *colon;
        int r;

        if (!*value) {
                free(p->chip);
                free(p->line);
                p->chip = p->line = NULL;
                return 0;
        }

        colon = strrchr(value, ':');
        if (colon) {
                if (colon == value || colon[1] == 0)
                        return bad_value(l, item, "%s is not \"chip:line\" or \"line\"", QUOTE(value));
                chip = strndup(value, (size_t) (colon - value));
                line = strdup(colon + 1);
                if (!chip || !line)
                        return -ENOMEM;
                r = check_chip(l, item, chip);
                if (r < 0)
                        return r;
        } else {
                line = strdup(value);
                if (!line)
                        return -ENOMEM;
        }
        r = check_line(l, item, line);
        if (r < 0)
                return r;

        free(p->chip);
        free(p->line);
        p->chip = TAKE_PTR(chip);
        p->line = TAKE_PTR(line);
        return 0;
}

/* ---- the file format ---- */

static bool utf8_is_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < n;) {
                unsigned c = p[i], len;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF) {
                        len = 2;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        len = 3;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        len = 4;
                        cp = c & 0x07;
                } else
                        return false;
                if (i + len > n)
                        return false;
                for (unsigned k = 1; k < len; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i + k] & 0x3F);
                }
                /* overlong forms, surrogates, beyond U+10FFFF */
                if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += len;
        }
        return true;
}

static char *strip(char *s) {
        size_t n;

        s += strspn(s, " \t");
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = 0;
        return s;
}

/* Turns the text after '=' into the value, in place: a quoted value loses its quotes and
 * escapes, an unquoted one a trailing " # comment". NULL when malformed (error recorded). */
static char *unquote_value(Loader *l, const char *key, char *v) {
        char *end, *o, *raw = v;

        v += strspn(v, " \t");
        if (*v != '"') {
                /* raw still has the whitespace after '=': "Key=   # comment" is empty */
                for (char *p = raw; *p; p++)
                        if (*p == '#' && p > raw && (p[-1] == ' ' || p[-1] == '\t')) {
                                *p = 0;
                                break;
                        }
                return strip(v);
        }

        o = v;
        for (end = v + 1; *end && *end != '"'; end++) {
                if (*end == '\\' && (end[1] == '"' || end[1] == '\\'))
                        end++;
                *o++ = *end;
        }
        if (*end != '"') {
                loader_message(l, true, l->file, l->line, key, "the value lacks its closing quote");
                return NULL;
        }
        end++;
        end += strspn(end, " \t");
        if (*end && *end != '#') {
                loader_message(l, true, l->file, l->line, key, "unexpected text after the closing quote");
                return NULL;
        }
        *o = 0;
        return v;
}

typedef struct Section {
        char name[CONFIG_LINE_MAX + 1];
        bool set; /* a section header was seen */
        bool known; /* ... and it is one of ours */
} Section;

static int parse_section(Loader *l, Section *section, char *s) {
        char *end, *rest, *name = s + 1;

        end = strchr(name, ']');
        if (!end)
                return line_error(l, "the section header lacks its closing ']'");
        rest = end + 1;
        rest += strspn(rest, " \t");
        if (*rest && *rest != '#' && *rest != ';')
                return line_error(l, "unexpected text after the section header");
        *end = 0;
        if (!*name || strpbrk(name, " \t[="))
                return line_error(l, "\"[%s]\" is not a valid section header", name);

        strcpy(section->name, name);
        section->set = true;
        section->known = section_is_known(name);
        if (!section->known)
                return line_warning(l, NULL, "unknown section [%s], ignoring its keys", name);
        return 0;
}

static int parse_assignment(Loader *l, const Section *section, char *s) {
        const ConfigItem *item;
        char *eq, *key, *value;
        size_t i;
        int r;

        eq = strchr(s, '=');
        if (!eq)
                return line_error(l, "expected Key=Value, a [Section] header or a comment");
        *eq = 0;
        key = strip(s);
        if (!*key)
                return line_error(l, "the key name before '=' is missing");
        if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(key))
                return line_error(l, "%s is not a valid key name", QUOTE(key));
        if (!section->set)
                return loader_message(l, true, l->file, l->line, key,
                                      "the key is not in a section (a [Section] line must come first)");
        if (!section->known)
                return 0; /* warned about at the section header */

        value = unquote_value(l, key, eq + 1);
        if (!value)
                return -EINVAL;

        i = item_index(section->name, key);
        if (i == SIZE_MAX)
                return line_warning(l, key, "unknown key in section [%s], ignoring it", section->name);
        item = &config_items[i];

        if (l->seen[i] > 0)
                (void) line_warning(l, key,
                                    "set again in this file (first on line %u), the later value wins",
                                    l->seen[i]);
        l->seen[i] = l->line;

        if (!*value && item->default_value)
                r = item->parse(l, item, item->default_value, (uint8_t *) l->config + item->offset);
        else
                r = item->parse(l, item, value, (uint8_t *) l->config + item->offset);
        if (r == -ENOMEM)
                l->oom = true;
        if (r < 0)
                return r;
        l->origins[i] = (Origin){ l->file, l->line };
        return 0;
}

static int parse_line(Loader *l, Section *section, char *s) {
        s = strip(s);
        if (!*s || *s == '#' || *s == ';')
                return 0;
        if (*s == '[')
                return parse_section(l, section, s);
        return parse_assignment(l, section, s);
}

static void loader_parse_buffer(Loader *l, const char *name, const char *data, size_t size,
                                bool world_readable) {
        _cleanup_(freep) Section *section = NULL;
        char buf[CONFIG_LINE_MAX + 1];
        size_t pos = 0;

        if (strv_extend(&l->files, name) < 0) {
                l->oom = true;
                return;
        }
        section = calloc(1, sizeof(Section));
        if (!section) {
                l->oom = true;
                return;
        }

        l->file = l->files[strv_length(l->files) - 1];
        l->line = 0;
        l->world_readable = world_readable;
        l->n_file_errors = 0;
        memset(l->seen, 0, sizeof(l->seen));

        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
                pos = 3;

        while (pos < size) {
                const char *p = data + pos, *nl;
                size_t len, next;

                l->line++;
                nl = memchr(p, '\n', size - pos);
                len = nl ? (size_t) (nl - p) : size - pos;
                next = pos + len + (nl ? 1 : 0);
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                pos = next;

                if (len > CONFIG_LINE_MAX) {
                        (void) line_error(l, "the line is longer than %d bytes", CONFIG_LINE_MAX);
                } else if (memchr(p, 0, len)) {
                        (void) line_error(l, "the line contains a NUL byte (not a text file?)");
                } else {
                        size_t k;

                        for (k = 0; k < len; k++)
                                if (((unsigned char) p[k] < 0x20 && p[k] != '\t') || p[k] == 0x7F)
                                        break;
                        if (k < len)
                                (void) line_error(l, "the line contains the control character 0x%02x",
                                                  (unsigned char) p[k]);
                        else if (!utf8_is_valid(p, len))
                                (void) line_error(l, "the line is not valid UTF-8");
                        else {
                                memcpy(buf, p, len);
                                buf[len] = 0;
                                (void) parse_line(l, section, buf);
                        }
                }

                if (l->n_file_errors >= CONFIG_ERRORS_PER_FILE_MAX && pos < size) {
                        (void) loader_message(l, true, l->file, l->line, NULL,
                                              "too many errors, ignoring the rest of the file");
                        break;
                }
        }
        explicit_bzero(buf, sizeof(buf)); /* it may have held a password */
}

/* Reads a whole configuration file. Errors are recorded; returns -errno. */
static int loader_parse_file(Loader *l, const char *path, bool missing_ok) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *data = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = -errno;
                if (e == -ENOENT && missing_ok)
                        return 0;
                loader_message(l, true, path, 0, NULL, "%s", strerror(-e));
                return e;
        }
        if (fstat(fd, &st) < 0) {
                int e = -errno;
                loader_message(l, true, path, 0, NULL, "%s", strerror(-e));
                return e;
        }
        if (S_ISDIR(st.st_mode)) {
                loader_message(l, true, path, 0, NULL, "%s", strerror(EISDIR));
                return -EISDIR;
        }
        if (!S_ISREG(st.st_mode)) {
                loader_message(l, true, path, 0, NULL, "not a regular file");
                return -EBADF;
        }
        if (st.st_size > CONFIG_FILE_SIZE_MAX) {
                loader_message(l, true, path, 0, NULL, "the file is larger than %d bytes",
                               CONFIG_FILE_SIZE_MAX);
                return -EFBIG;
        }

        data = malloc((size_t) st.st_size + 1);
        if (!data)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, data + n, (size_t) st.st_size + 1 - n);
                if (k < 0) {
                        int e = -errno;
                        if (e == -EINTR)
                                continue;
                        explicit_bzero(data, n);
                        loader_message(l, true, path, 0, NULL, "%s", strerror(-e));
                        return e;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > (size_t) st.st_size) {
                        explicit_bzero(data, n);
                        loader_message(l, true, path, 0, NULL, "the file changed while it was read");
                        return -EBUSY;
                }
        }

        loader_parse_buffer(l, path, data, n, (st.st_mode & S_IROTH) != 0);
        explicit_bzero(data, n);
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_dropin_name(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

/* PATH.d/ *.conf, in byte order. A missing directory is fine. */
static int loader_parse_dropins(Loader *l, const char *dir) {
        _cleanup_(strv_freep) char **names = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d) {
                int e = -errno;
                if (e == -ENOENT)
                        return 0;
                loader_message(l, true, dir, 0, NULL, "%s", strerror(-e));
                return e;
        }
        while ((errno = 0, de = readdir(d)))
                if (is_dropin_name(de->d_name) && strv_extend(&names, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
        if (r == 0 && errno != 0) {
                r = -errno;
                loader_message(l, true, dir, 0, NULL, "%s", strerror(-r));
        }
        closedir(d);
        if (r < 0)
                return r;

        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_names);
        for (char **n = names; n && *n; n++) {
                _cleanup_(freep) char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s/%s", dir, *n) < 0)
                        return -ENOMEM;
                if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
                        continue; /* a link to /dev/null masks a drop-in of the same name */
                if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                        (void) loader_message(l, false, path, 0, NULL, "not a regular file, ignoring it");
                        continue;
                }
                r = loader_parse_file(l, path, false);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && l->file_error == 0)
                        l->file_error = r;
        }
        return 0;
}

/* ---- after every file: defaults that depend on other keys, cross-key rules, secrets ---- */

/* Reads a secret file, refusing one that others can read. Errors name file:line: key. */
static int load_secret(Loader *l, const char *file, unsigned line, const char *key, const char *path,
                       char **ret) {
        char buf[64];
        int r;

        r = secret_read_private_file(path, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return loader_message(l, true, file, line, key, "%s: %s", path,
                                      secret_error_reason(r, buf, sizeof(buf)));
        return 0;
}

/* The secret behind key *path_field, or, when that is unset, the credential. */
static int load_secret_key(Loader *l, size_t i, const char *credential, char **path_field, char **ret,
                           ConfigSecretSource *ret_source) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_(freep) char *path = NULL, *label = NULL;
        struct stat st;
        int r;

        if (*path_field) {
                r = load_secret(l, l->origins[i].file, l->origins[i].line, config_items[i].key, *path_field,
                                ret);
                if (r >= 0)
                        *ret_source = CONFIG_SECRET_FILE;
                return r;
        }

        if (!dir || dir[0] != '/')
                return 0;
        if (asprintf(&path, "%s/%s", dir, credential) < 0 ||
            asprintf(&label, "credential %s", credential) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0 && errno == ENOENT)
                return 0;
        r = load_secret(l, NULL, 0, label, path, ret);
        if (r < 0)
                return r;
        *ret_source = CONFIG_SECRET_CREDENTIAL;
        *path_field = TAKE_PTR(path);
        return 0;
}

static int derive_fixture_id(Loader *l) {
        Config *c = l->config;
        sd_id128_t id;
        char *s;
        int r;

        r = sd_id128_get_machine_app_specific(FIXTURE_ID_APP_ID, &id);
        if (r < 0)
                return loader_message(l, true, c->path, 0, "[Server] FixtureId",
                                      "not set, and it cannot be derived from /etc/machine-id: %s",
                                      strerror(-r));
        if (asprintf(&s, "%02x%02x%02x%02x%02x%02x%02x%02x", id.bytes[0], id.bytes[1], id.bytes[2],
                     id.bytes[3], id.bytes[4], id.bytes[5], id.bytes[6], id.bytes[7]) < 0)
                return -ENOMEM;
        c->server.fixture_id = s;
        c->server.fixture_id_derived = true;
        return 0;
}

static int copy_chip(ConfigLine *line, const char *chip) {
        if (line->chip || !line->line || !chip)
                return 0;
        line->chip = strdup(chip);
        return line->chip ? 0 : -ENOMEM;
}

#define IDX(section, key) item_index_checked(section, key)

/* A line found by its name needs no chip; an offset does. */
static void check_offset_has_chip(Loader *l, const ConfigLine *line, size_t item) {
        if (line->line && !line->chip && all_digits(line->line))
                (void) item_message(l, true, item,
                                    "line offset %s needs a chip: give the line's name (GPIO17), or the chip's "
                                    "label in Chip=",
                                    QUOTE(line->line));
}

static int loader_check_lines(Loader *l) {
        Config *c = l->config;
        int r;

        if (!is_sim(c->led.line.chip) && !c->led.line.line)
                (void) item_message(l, true, IDX("LED", "Line"),
                                    "not set; give the LED's line name (Line=GPIO17) (or use Chip=sim)");
        check_offset_has_chip(l, &c->led.line, IDX("LED", "Line"));

        /* the button is wanted when its chip or line is set */
        if (c->button.line.chip || c->button.line.line) {
                c->button.enabled = true;
                r = copy_chip(&c->button.line, c->led.line.chip);
                if (r < 0)
                        return r;
                if (!is_sim(c->button.line.chip) && !c->button.line.line)
                        (void) item_message(l, true, IDX("Button", "Chip"),
                                            "the button needs Line= too (its line name), unless Chip=%s",
                                            CONFIG_SIM_CHIP);
                check_offset_has_chip(l, &c->button.line, IDX("Button", "Line"));
        }

        ConfigLine *indicators[] = { &c->indicators.ready, &c->indicators.busy, &c->indicators.pass,
                                     &c->indicators.fail };
        static const char *const indicator_keys[] = { "Ready", "Busy", "Pass", "Fail" };
        for (size_t i = 0; i < ELEMENTSOF(indicators); i++) {
                r = copy_chip(indicators[i], c->led.line.chip);
                if (r < 0)
                        return r;
                check_offset_has_chip(l, indicators[i], IDX("Indicators", indicator_keys[i]));
        }

        if (c->simulation.trace && !is_sim(c->led.line.chip))
                (void) item_message(l, false, IDX("Simulation", "Trace"),
                                    "has no effect unless [LED] Chip=%s", CONFIG_SIM_CHIP);
        if (c->simulation.button_fifo && !(c->button.enabled && is_sim(c->button.line.chip)))
                (void) item_message(l, false, IDX("Simulation", "ButtonFifo"),
                                    "has no effect unless [Button] Chip=%s", CONFIG_SIM_CHIP);
        return 0;
}

static int loader_check_timing(Loader *l) {
        Config *c = l->config;
        size_t i;

        if (c->server.confirm_interval_sec > c->server.confirm_timeout_sec) {
                i = IDX("Server", "ConfirmIntervalSec");
                if (l->origins[i].line == 0)
                        i = IDX("Server", "ConfirmTimeoutSec");
                (void) item_message(l, true, i, "ConfirmIntervalSec=%u is longer than ConfirmTimeoutSec=%u",
                                    c->server.confirm_interval_sec, c->server.confirm_timeout_sec);
        }

        if (c->realtime.max_lateness_usec >= bit_usec(c->led.fast)) {
                i = IDX("RealTime", "MaxLatenessUs");
                (void) item_message(l, true, i, "%u is not less than one bit (%u us with Fast=%s)",
                                    c->realtime.max_lateness_usec, bit_usec(c->led.fast),
                                    c->led.fast ? "yes" : "no");
        }
        return 0;
}

static int loader_check_wifi(Loader *l) {
        Config *c = l->config;
        size_t ip = IDX("WiFi", "Password"), ipf = IDX("WiFi", "PasswordFile");
        ErrorText err = {};
        int r;

        if (c->wifi.password && c->wifi.password_file)
                return item_message(l, true, ipf,
                                    "cannot be combined with Password= (%s:%u); empty one of them",
                                    l->origins[ip].file, l->origins[ip].line);

        if (c->wifi.password)
                c->wifi.password_source = CONFIG_SECRET_INLINE;
        else {
                r = load_secret_key(l, ipf, CONFIG_CREDENTIAL_WIFI_PASSWORD, &c->wifi.password_file,
                                    &c->wifi.password, &c->wifi.password_source);
                if (r < 0)
                        return r;
                if (c->wifi.password && frame_validate_password(c->wifi.password, &err) < 0) {
                        const char *m = err.message;
                        if (strncmp(m, "password: ", 10) == 0)
                                m += 10;
                        if (c->wifi.password_source == CONFIG_SECRET_FILE)
                                return item_message(l, true, ipf, "%s: %s", c->wifi.password_file, m);
                        return loader_message(l, true, NULL, 0,
                                              "credential " CONFIG_CREDENTIAL_WIFI_PASSWORD, "%s: %s",
                                              c->wifi.password_file, m);
                }
        }

        if (c->wifi.password && !c->wifi.ssid) {
                if (c->wifi.password_source == CONFIG_SECRET_CREDENTIAL)
                        return loader_message(l, true, NULL, 0,
                                              "credential " CONFIG_CREDENTIAL_WIFI_PASSWORD,
                                              "a WiFi password is given but [WiFi] SSID= is not set");
                return item_message(l, true, c->wifi.password_source == CONFIG_SECRET_INLINE ? ip : ipf,
                                    "a WiFi password is given but SSID= is not set");
        }
        return 0;
}

static int loader_check_server(Loader *l) {
        Config *c = l->config;
        bool factory = c->server.token_type == CONFIG_TOKEN_FACTORY;
        size_t iurl = IDX("Server", "URL"), ilogin = IDX("Server", "LoginKeyFile"),
               iapi = IDX("Server", "ApiKeyFile");
        int r;

        if (!c->server.url)
                (void) item_message(l, true, iurl, "not set; give the factory server's https:// URL");
        else if (strncmp(c->server.url, "https://", 8) != 0 && !c->server.allow_insecure_http)
                (void) item_message(l, true, iurl,
                                    "%s is plain HTTP; use https:// (AllowInsecureHttp=yes permits http:// "
                                    "for tests)",
                                    QUOTE(c->server.url));

        if (c->server.ca_file && access(c->server.ca_file, R_OK) < 0)
                (void) item_message(l, true, IDX("Server", "CAFile"), "%s: %s", c->server.ca_file,
                                    strerror(errno));

        if (factory) {
                if (c->server.api_key_file)
                        (void) item_message(l, false, iapi, "ignored with TokenType=factory");
                if (c->server.plan_id)
                        (void) item_message(l, false, IDX("Server", "PlanId"),
                                            "ignored with TokenType=factory (the server chooses the plan)");
                r = load_secret_key(l, ilogin, CONFIG_CREDENTIAL_LOGIN_KEY, &c->server.login_key_file,
                                    &c->server.login_key, &c->server.login_key_source);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && !c->server.login_key)
                        (void) item_message(l, true, ilogin,
                                            "not set, and TokenType=factory needs a login key (or the "
                                            "credential " CONFIG_CREDENTIAL_LOGIN_KEY ")");
                if (!c->server.fixture_id)
                        return derive_fixture_id(l);
        } else {
                if (c->server.login_key_file)
                        (void) item_message(l, false, ilogin, "ignored with TokenType=production");
                r = load_secret_key(l, iapi, CONFIG_CREDENTIAL_API_KEY, &c->server.api_key_file,
                                    &c->server.api_key, &c->server.api_key_source);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && !c->server.api_key)
                        (void) item_message(l, true, iapi,
                                            "not set, and TokenType=production needs an API key (or the "
                                            "credential " CONFIG_CREDENTIAL_API_KEY ")");
        }
        return 0;
}

static int loader_finish(Loader *l) {
        int r;

        if (l->oom)
                return -ENOMEM;
        if (l->errors)
                return -EINVAL; /* the rules below would only repeat the errors in other words */

        r = loader_check_lines(l);
        if (r == -ENOMEM)
                return r;
        r = loader_check_timing(l);
        if (r == -ENOMEM)
                return r;
        r = loader_check_wifi(l);
        if (r == -ENOMEM)
                return r;
        r = loader_check_server(l);
        if (r == -ENOMEM || l->oom)
                return -ENOMEM;
        return l->errors ? -EINVAL : 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;

        free(c->path);
        free(c->wifi.ssid);
        erase_and_free(c->wifi.password);
        free(c->wifi.password_file);
        free(c->led.line.chip);
        free(c->led.line.line);
        free(c->button.line.chip);
        free(c->button.line.line);
        ConfigLine *indicators[] = { &c->indicators.ready, &c->indicators.busy, &c->indicators.pass,
                                     &c->indicators.fail };
        for (size_t i = 0; i < ELEMENTSOF(indicators); i++) {
                free(indicators[i]->chip);
                free(indicators[i]->line);
        }
        free(c->server.url);
        erase_and_free(c->server.login_key);
        free(c->server.login_key_file);
        erase_and_free(c->server.api_key);
        free(c->server.api_key_file);
        free(c->server.plan_id);
        free(c->server.fixture_id);
        free(c->server.ca_file);
        free(c->simulation.trace);
        free(c->simulation.button_fifo);
        free(c->daemon.state_directory);
        free(c);
        return NULL;
}

static Loader *loader_free(Loader *l) {
        if (!l)
                return NULL;
        config_free(l->config);
        strv_free(l->errors);
        strv_free(l->warnings);
        strv_free(l->files);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Loader *, loader_free);

/* A loader holding a configuration with every default applied. */
static int loader_new(const char *path, Loader **ret) {
        _cleanup_(loader_freep) Loader *l = NULL;

        l = calloc(1, sizeof(Loader));
        if (!l)
                return -ENOMEM;
        l->config = calloc(1, sizeof(Config));
        if (!l->config)
                return -ENOMEM;
        l->config->path = strdup(path);
        if (!l->config->path)
                return -ENOMEM;

        l->file = "(defaults)";
        for (size_t i = 0; i < N_ITEMS; i++) {
                const ConfigItem *item = &config_items[i];
                int r = item->parse(l, item, item->default_value ?: "",
                                    (uint8_t *) l->config + item->offset);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        abort(); /* a default in the table that its own parser refuses */
        }
        l->file = NULL;

        *ret = TAKE_PTR(l);
        return 0;
}

/* Hands over the messages (errors first) and, on success, the configuration. */
static int loader_return(Loader *l, int r, Config **ret, char ***ret_messages) {
        if (ret_messages) {
                _cleanup_(strv_freep) char **m = NULL;

                if (strv_extend_strv(&m, l->errors) < 0 || strv_extend_strv(&m, l->warnings) < 0)
                        return -ENOMEM;
                if (!m) {
                        m = calloc(1, sizeof(char *));
                        if (!m)
                                return -ENOMEM;
                }
                *ret_messages = TAKE_PTR(m);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l->config);
        return 0;
}

int config_load_full(const char *path, bool missing_ok, Config **ret, char ***ret_messages) {
        _cleanup_(loader_freep) Loader *l = NULL;
        _cleanup_(freep) char *dropins = NULL;
        int r;

        if (!path)
                path = CONFIG_DEFAULT_PATH;

        r = loader_new(path, &l);
        if (r < 0)
                return r;

        r = loader_parse_file(l, path, missing_ok);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                l->file_error = r;

        if (asprintf(&dropins, "%s.d", path) < 0)
                return -ENOMEM;
        r = loader_parse_dropins(l, dropins);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && l->file_error == 0)
                l->file_error = r;

        r = loader_finish(l);
        if (r == -EINVAL && l->file_error < 0)
                r = l->file_error;
        return loader_return(l, r, ret, ret_messages);
}

int config_load(const char *path, Config **ret, char ***ret_messages) {
        return config_load_full(path, !path, ret, ret_messages);
}

int config_load_buffer(const char *name, const void *data, size_t size, Config **ret, char ***ret_messages) {
        _cleanup_(loader_freep) Loader *l = NULL;
        int r;

        r = loader_new(name, &l);
        if (r < 0)
                return r;
        loader_parse_buffer(l, name, data, size, false);
        r = loader_finish(l);
        return loader_return(l, r, ret, ret_messages);
}

/* ---- the effective configuration ---- */

static const char *str(const char *s) {
        return s ?: "";
}

/* "# what: (set, N bytes), from KeyFile=" or "(unset)" */
static void dump_secret(FILE *f, const char *what, const char *secret, ConfigSecretSource source,
                        const char *key, const char *credential, const char *path) {
        if (!secret)
                fprintf(f, "# %s: (unset)\n", what);
        else if (source == CONFIG_SECRET_CREDENTIAL)
                fprintf(f, "# %s: (set, %zu bytes), from the credential %s (%s)\n", what, strlen(secret),
                        credential, path);
        else
                fprintf(f, "# %s: (set, %zu bytes), from %s=\n", what, strlen(secret), key);
}

/* the file a secret is read from, when it is not a credential */
static const char *secret_file(const char *path, ConfigSecretSource source) {
        return source == CONFIG_SECRET_CREDENTIAL ? "" : str(path);
}

static void dump_line(FILE *f, const char *key, const ConfigLine *line) {
        if (line->chip && line->line)
                fprintf(f, "%s=%s:%s\n", key, line->chip, line->line);
        else
                fprintf(f, "%s=%s\n", key, str(line->line)); /* found by its name */
}

int config_dump(const Config *c, FILE *f) {
        fprintf(f, "# The effective configuration, from %s and its drop-ins. Secrets are masked.\n",
                c->path);

        fprintf(f, "\n[WiFi]\nSSID=%s\n", str(c->wifi.ssid));
        if (c->wifi.password)
                fprintf(f, "Password=(set, %zu bytes)\n", strlen(c->wifi.password));
        else
                fprintf(f, "Password=(unset)\n");
        fprintf(f, "PasswordFile=%s\n", secret_file(c->wifi.password_file, c->wifi.password_source));
        if (c->wifi.password_source != CONFIG_SECRET_INLINE)
                dump_secret(f, "password", c->wifi.password, c->wifi.password_source, "PasswordFile",
                            CONFIG_CREDENTIAL_WIFI_PASSWORD, c->wifi.password_file);

        fprintf(f, "\n[LED]\nChip=%s\nLine=%s\nActiveHigh=%s\nFast=%s\nRepeat=%u\n", str(c->led.line.chip),
                str(c->led.line.line), c->led.active_high ? "yes" : "no", c->led.fast ? "yes" : "no",
                c->led.repeat);

        if (c->button.enabled)
                fprintf(f, "\n[Button]\nChip=%s\nLine=%s\nActiveLow=%s\nBias=%s\nDebounceMs=%u\n",
                        str(c->button.line.chip), str(c->button.line.line),
                        c->button.active_low ? "yes" : "no", config_bias_to_string(c->button.bias),
                        c->button.debounce_msec);
        else
                fprintf(f, "\n# [Button] is not configured: D-Bus triggers only\n");

        fprintf(f, "\n[Indicators]\n");
        dump_line(f, "Ready", &c->indicators.ready);
        dump_line(f, "Busy", &c->indicators.busy);
        dump_line(f, "Pass", &c->indicators.pass);
        dump_line(f, "Fail", &c->indicators.fail);

        fprintf(f, "\n[Server]\nURL=%s\nTokenType=%s\n", str(c->server.url),
                config_token_type_to_string(c->server.token_type));
        fprintf(f, "LoginKeyFile=%s\n", secret_file(c->server.login_key_file, c->server.login_key_source));
        dump_secret(f, "login key", c->server.login_key, c->server.login_key_source, "LoginKeyFile",
                    CONFIG_CREDENTIAL_LOGIN_KEY, c->server.login_key_file);
        fprintf(f, "ApiKeyFile=%s\n", secret_file(c->server.api_key_file, c->server.api_key_source));
        dump_secret(f, "API key", c->server.api_key, c->server.api_key_source, "ApiKeyFile",
                    CONFIG_CREDENTIAL_API_KEY, c->server.api_key_file);
        fprintf(f, "PlanId=%s\n", str(c->server.plan_id));
        fprintf(f, "FixtureId=%s\n", str(c->server.fixture_id));
        if (c->server.fixture_id_derived)
                fprintf(f, "# FixtureId= is derived from /etc/machine-id\n");
        fprintf(f, "CAFile=%s\n", str(c->server.ca_file));
        fprintf(f, "TimeoutSec=%u\nConnectTimeoutSec=%u\nConfirmTimeoutSec=%u\nConfirmIntervalSec=%u\n"
                   "MaxConfirmations=%u\n",
                c->server.timeout_sec, c->server.connect_timeout_sec, c->server.confirm_timeout_sec,
                c->server.confirm_interval_sec, c->server.max_confirmations);
        fprintf(f, "PrefetchToken=%s\nAllowInsecureHttp=%s\n", c->server.prefetch_token ? "yes" : "no",
                c->server.allow_insecure_http ? "yes" : "no");

        fprintf(f, "\n[RealTime]\nPriority=%u\n", c->realtime.priority);
        if (c->realtime.cpu >= 0)
                fprintf(f, "CPU=%d\n", c->realtime.cpu);
        else
                fprintf(f, "CPU=\n");
        if (c->realtime.max_lateness_usec > 0)
                fprintf(f, "MaxLatenessUs=%u\n", c->realtime.max_lateness_usec);
        else
                fprintf(f, "MaxLatenessUs=\n# 10%% of a bit: %u us\n", bit_usec(c->led.fast) / 10);
        fprintf(f, "TimingFaultRetries=%u\n", c->realtime.timing_fault_retries);

        fprintf(f, "\n[Simulation]\nTrace=%s\nButtonFifo=%s\n", str(c->simulation.trace),
                str(c->simulation.button_fifo));

        fprintf(f, "\n[Daemon]\nStateDirectory=%s\nRecordMaxFileMiB=%u\n", str(c->daemon.state_directory),
                c->daemon.record_max_file_mib);

        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}
