/* SPDX-License-Identifier: MIT */
/* The configuration's keys: the table of {section, key, parser, field, default, range} and the
 * parsers of the values. The GPIO chip and line values are parsed in conf-gpio.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf-table.h"
#include "factory.h"
#include "frame.h"
#include "identity.h"
#include "string-util.h"

static int parse_string(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_password(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_path(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_bool(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_unsigned(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_optional_unsigned(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_cpu(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_token_type(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_bias(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_hex_id(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_url(ConfParser *p, const ConfigItem *item, const char *value, void *data);
static int parse_line_name(ConfParser *p, const ConfigItem *item, const char *value, void *data);

#define OFF(field) offsetof(Config, field)

const ConfigItem config_items[] = {
        { "WiFi", "SSID", parse_string, OFF(wifi.ssid), NULL, 0, FRAME_SSID_MAX },
        { "WiFi", "Password", parse_password, OFF(wifi.password) },
        { "WiFi", "PasswordFile", parse_path, OFF(wifi.password_file) },

        { "LED", "Chip", config_parse_chip, OFF(led.line.chip) }, /* none: the line is found by name */
        { "LED", "Line", config_parse_line_name, OFF(led.line.line) },
        { "LED", "ActiveHigh", parse_bool, OFF(led.active_high), "no" },
        { "LED", "Fast", parse_bool, OFF(led.fast), "yes" },
        { "LED", "Repeat", parse_unsigned, OFF(led.repeat), "1", 1, 16 },

        { "Button", "Chip", config_parse_chip, OFF(button.line.chip) }, /* default: [LED] Chip=, if set */
        { "Button", "Line", config_parse_line_name, OFF(button.line.line) },
        { "Button", "ActiveLow", parse_bool, OFF(button.active_low), "yes" },
        { "Button", "Bias", parse_bias, OFF(button.bias), "pull-up" },
        { "Button", "DebounceMs", parse_unsigned, OFF(button.debounce_msec), "30", 0, 1000 },

        { "Indicators", "Ready", config_parse_indicator, OFF(indicators.ready) },
        { "Indicators", "Busy", config_parse_indicator, OFF(indicators.busy) },
        { "Indicators", "Pass", config_parse_indicator, OFF(indicators.pass) },
        { "Indicators", "Fail", config_parse_indicator, OFF(indicators.fail) },

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

        { "Fixture", "Line", parse_line_name, OFF(fixture.line) },

        { "Results", "URL", parse_url, OFF(results.url) },
        { "Results", "TokenFile", parse_path, OFF(results.token_file) },
        { "Results", "RetryMaxSec", parse_unsigned, OFF(results.retry_max_sec), "300", 1, 86400 },

        { "Scanner", "Device", parse_path, OFF(scanner.device) },

        { "Metrics", "TextfileDirectory", parse_path, OFF(metrics.textfile_directory) },

        { "RealTime", "Priority", parse_unsigned, OFF(realtime.priority), "80", 0, 99 },
        { "RealTime", "CPU", parse_cpu, OFF(realtime.cpu), NULL, 0, 1023 },
        { "RealTime", "MaxLatenessUs", parse_optional_unsigned, OFF(realtime.max_lateness_usec), NULL, 1,
          1000000 },
        { "RealTime", "TimingFaultRetries", parse_unsigned, OFF(realtime.timing_fault_retries), "1", 0, 10 },

        { "Simulation", "Trace", parse_path, OFF(simulation.trace) },
        { "Simulation", "ButtonFifo", parse_path, OFF(simulation.button_fifo) },
        { "Simulation", "IdealTiming", parse_bool, OFF(simulation.ideal_timing), "no" },

        { "Daemon", "StateDirectory", parse_path, OFF(daemon.state_directory), STATEDIR },
        { "Daemon", "RecordMaxFileMiB", parse_unsigned, OFF(daemon.record_max_file_mib), "64", 0, 4096 },
};

const size_t config_n_items = ELEMENTSOF(config_items);

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

size_t config_item_index(const char *section, const char *key) {
        for (size_t i = 0; i < config_n_items; i++)
                if (streq(config_items[i].section, section) && streq(config_items[i].key, key))
                        return i;
        return SIZE_MAX;
}

bool config_section_known(const char *section, void *userdata) {
        for (size_t i = 0; i < config_n_items; i++)
                if (streq(config_items[i].section, section))
                        return true;
        return false;
}

int config_item_parse(ConfParser *p, size_t i, const char *value, Config *c) {
        const ConfigItem *item = &config_items[i];

        if (!*value && item->default_value)
                value = item->default_value;
        return item->parse(p, item, value, (uint8_t *) c + item->offset);
}

const char *config_password_invalid(const char *password, ErrorText *err) {
        if (frame_validate_password(password, err) >= 0)
                return NULL;
        return startswith(err->message, "password: ") ?: err->message;
}

/* ---- the value parsers: 0, or -EINVAL with an error recorded, or -ENOMEM ---- */

static int parse_string(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        size_t n = strlen(value);

        if (item->max > 0 && n > item->max)
                return conf_bad_value(p, item->key, "%s is %zu bytes long, at most %u are allowed",
                                      CONF_QUOTE(value), n, item->max);
        return free_and_strdup(data, empty_to_null(value));
}

static int parse_password(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        char **field = data;
        ErrorText err = {};
        const char *problem;
        char *s = NULL;

        /* never repeat the value in a message */
        problem = config_password_invalid(value, &err);
        if (problem)
                return conf_bad_value(p, item->key, "%s", problem);
        if (*value && p->world_readable)
                (void) conf_line_warning(
                        p, item->key,
                        "%s is readable by other users; use PasswordFile= or the credential "
                        "%s, or chmod 0640",
                        p->file, CONFIG_CREDENTIAL_WIFI_PASSWORD);
        if (*value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        erase_and_free(*field);
        *field = s;
        return 0;
}

static int parse_path(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        if (*value) {
                if (value[0] != '/')
                        return conf_bad_value(p, item->key, "%s is not an absolute path", CONF_QUOTE(value));
                if (strlen(value) >= PATH_MAX)
                        return conf_bad_value(p, item->key, "%s is longer than %d bytes", CONF_QUOTE(value),
                                              PATH_MAX - 1);
        }
        return free_and_strdup(data, empty_to_null(value));
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

static int parse_bool(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        int b = parse_boolean(value);

        if (b < 0)
                return conf_bad_value(p, item->key, "%s is not a boolean (yes/no, true/false, on/off, 1/0)",
                                      CONF_QUOTE(value));
        *(bool *) data = b;
        return 0;
}

/* Decimal digits only: no sign, no spaces, no hex. */
static int parse_number(ConfParser *p, const ConfigItem *item, const char *value, unsigned *ret) {
        unsigned long long v = 0;

        if (!config_all_digits(value))
                return conf_bad_value(p, item->key, "%s is not a number", CONF_QUOTE(value));
        for (const char *c = value; *c; c++) {
                v = v * 10 + (unsigned) (*c - '0');
                if (v > UINT_MAX)
                        break;
        }
        if (v < item->min || v > item->max)
                return conf_bad_value(p, item->key, "%s is not in the range %u..%u", CONF_QUOTE(value),
                                      item->min, item->max);
        *ret = (unsigned) v;
        return 0;
}

static int parse_unsigned(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        return parse_number(p, item, value, data);
}

/* "" = 0 = automatic */
static int parse_optional_unsigned(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        if (!*value) {
                *(unsigned *) data = 0;
                return 0;
        }
        return parse_number(p, item, value, data);
}

/* "" = -1 = not pinned */
static int parse_cpu(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        unsigned v;
        int r;

        if (!*value) {
                *(int *) data = -1;
                return 0;
        }
        r = parse_number(p, item, value, &v);
        if (r < 0)
                return r;
        *(int *) data = (int) v;
        return 0;
}

static int parse_enum(ConfParser *p, const ConfigItem *item, const char *value, const char *const *names,
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
        return conf_bad_value(p, item->key, "%s is not %s", CONF_QUOTE(value), list);
}

static int parse_token_type(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        int r = parse_enum(p, item, value, token_type_table, ELEMENTSOF(token_type_table));

        if (r < 0)
                return r;
        *(ConfigTokenType *) data = (ConfigTokenType) r;
        return 0;
}

static int parse_bias(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        int r = parse_enum(p, item, value, bias_table, ELEMENTSOF(bias_table));

        if (r < 0)
                return r;
        *(ConfigBias *) data = (ConfigBias) r;
        return 0;
}

static int parse_hex_id(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        char **field = data;
        char *s;
        int r;

        if (!*value)
                return free_and_strdup(field, NULL);
        r = factory_id_normalize(value, &s);
        if (r == -EINVAL)
                return conf_bad_value(p, item->key, "%s is not 1..%d hex digits", CONF_QUOTE(value),
                                      FRAME_HEX_ID_MAX);
        if (r < 0)
                return r;
        free(*field);
        *field = s;
        return 0;
}

static int parse_url(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        _cleanup_(freep) char *s = NULL;
        const char *scheme;
        size_t n;

        if (!*value)
                return free_and_strdup(data, NULL);

        scheme = factory_url_scheme(value);
        if (!scheme)
                return conf_bad_value(p, item->key, "%s is not an https:// URL", CONF_QUOTE(value));
        if (strpbrk(value, " \t"))
                return conf_bad_value(p, item->key, "%s contains whitespace", CONF_QUOTE(value));
        if (strchr("/?#", value[strlen(scheme)]))
                return conf_bad_value(p, item->key, "%s has no host name", CONF_QUOTE(value));

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

/* [Fixture] Line=: a name under the rules of an operator's name (identity.h). */
static int parse_line_name(ConfParser *p, const ConfigItem *item, const char *value, void *data) {
        ErrorText e = {};

        if (*value && identity_check_text("the name", value, true, &e) < 0)
                return conf_bad_value(p, item->key, "%s", e.message);
        return free_and_strdup(data, empty_to_null(value));
}
