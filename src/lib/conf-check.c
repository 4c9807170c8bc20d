/* SPDX-License-Identifier: MIT */
/* The configuration after every file is parsed: the defaults that depend on other keys, the
 * rules that join several keys, the secrets read from their files or credentials, and the
 * fixture ID derived from the machine ID. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* vasprintf() */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf-table.h"
#include "factory.h"
#include "secret.h"

/* An error or warning about a key that was set somewhere: at its origin, or, when it was never
 * set, in the main file with the section named. */
_printf_(4, 5) static int item_message(Loader *l, bool error, size_t i, const char *format, ...) {
        const Origin *o = &l->origins[i];
        char key[64];
        va_list ap;
        int r;

        va_start(ap, format);
        if (o->line > 0)
                r = conf_parser_messagev(l->parser, error, o->file, o->line, config_items[i].key, format, ap);
        else {
                snprintf(key, sizeof(key), "[%s] %s", config_items[i].section, config_items[i].key);
                r = conf_parser_messagev(l->parser, error, l->config->path, 0, key, format, ap);
        }
        va_end(ap);
        return r;
}

static size_t item_index_checked(const char *section, const char *key) {
        size_t i = config_item_index(section, key);

        if (i == SIZE_MAX)
                abort(); /* a name below that is not in the table */
        return i;
}

#define IDX(section, key) item_index_checked(section, key)

/* ---- secrets ---- */

/* secret_load()'s failure as an error named key, at file:line when line > 0. */
static int secret_error(Loader *l, int r, const char *error, const char *file, unsigned line,
                        const char *key) {
        if (r == -ENOMEM || !error)
                return -ENOMEM;
        return conf_parser_message(l->parser, true, file, line, key, "%s", error);
}

/* The secret in the file of key i (PasswordFile=, ...), refused when others can read it. */
static int load_secret_file(Loader *l, size_t i, const char *path, char **ret) {
        _cleanup_(freep) char *error = NULL;
        int r;

        r = secret_load(path, NULL, ret, &error);
        if (r < 0)
                return secret_error(l, r, error, l->origins[i].file, l->origins[i].line,
                                    config_items[i].key);
        return 0;
}

/* The secret in the credential: 1 with its path, 0 when there is no such credential. */
static int load_credential(Loader *l, const char *credential, char **ret, char **ret_path) {
        _cleanup_(freep) char *path = NULL, *error = NULL;
        char label[64];
        int r;

        r = secret_credential_path(credential, &path);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = secret_load(path, NULL, ret, &error);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                snprintf(label, sizeof(label), "credential %s", credential);
                return secret_error(l, r, error, NULL, 0, label);
        }
        *ret_path = TAKE_PTR(path);
        return 1;
}

/* The secret behind key i, whose path is *path_field, or, when that is unset, the credential. */
static int load_secret_key(Loader *l, size_t i, const char *credential, char **path_field, char **ret,
                           ConfigSecretSource *ret_source) {
        int r;

        if (*path_field) {
                r = load_secret_file(l, i, *path_field, ret);
                if (r >= 0)
                        *ret_source = CONFIG_SECRET_FILE;
                return r;
        }
        r = load_credential(l, credential, ret, path_field);
        if (r > 0)
                *ret_source = CONFIG_SECRET_CREDENTIAL;
        return r < 0 ? r : 0;
}

/* ---- the GPIO lines ---- */

static int copy_chip(ConfigLine *line, const char *chip) {
        if (line->chip || !line->line || !chip)
                return 0;
        line->chip = strdup(chip);
        return line->chip ? 0 : -ENOMEM;
}

/* A line found by its name needs no chip; an offset does. */
static void check_offset_has_chip(Loader *l, const ConfigLine *line, size_t item) {
        if (line->line && !line->chip && config_all_digits(line->line))
                (void) item_message(
                        l, true, item,
                        "line offset %s needs a chip: give the line's name (GPIO17), or the chip's "
                        "label in Chip=",
                        CONF_QUOTE(line->line));
}

/* The button is wanted when its chip or line is set. */
static int check_button(Loader *l) {
        Config *c = l->config;
        int r;

        if (!c->button.line.chip && !c->button.line.line)
                return 0;
        c->button.enabled = true;
        r = copy_chip(&c->button.line, c->led.line.chip);
        if (r < 0)
                return r;
        if (!config_chip_is_sim(c->button.line.chip) && !c->button.line.line)
                (void) item_message(l, true, IDX("Button", "Chip"),
                                    "the button needs Line= too (its line name), unless Chip=%s",
                                    CONFIG_SIM_CHIP);
        check_offset_has_chip(l, &c->button.line, IDX("Button", "Line"));
        return 0;
}

static int check_lines(Loader *l) {
        static const char *const indicator_keys[] = { "Ready", "Busy", "Pass", "Fail" };
        Config *c = l->config;
        ConfigLine *indicators[] = { &c->indicators.ready, &c->indicators.busy, &c->indicators.pass,
                                     &c->indicators.fail };
        int r;

        if (!config_chip_is_sim(c->led.line.chip) && !c->led.line.line)
                (void) item_message(l, true, IDX("LED", "Line"),
                                    "not set; give the LED's line name (Line=GPIO17) (or use Chip=sim)");
        check_offset_has_chip(l, &c->led.line, IDX("LED", "Line"));

        r = check_button(l);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(indicators); i++) {
                r = copy_chip(indicators[i], c->led.line.chip);
                if (r < 0)
                        return r;
                check_offset_has_chip(l, indicators[i], IDX("Indicators", indicator_keys[i]));
        }

        if (c->simulation.trace && !config_chip_is_sim(c->led.line.chip))
                (void) item_message(l, false, IDX("Simulation", "Trace"),
                                    "has no effect unless [LED] Chip=%s", CONFIG_SIM_CHIP);
        if (c->simulation.button_fifo && !(c->button.enabled && config_chip_is_sim(c->button.line.chip)))
                (void) item_message(l, false, IDX("Simulation", "ButtonFifo"),
                                    "has no effect unless [Button] Chip=%s", CONFIG_SIM_CHIP);
        /* a real LED's late edges are always timing faults */
        if (c->simulation.ideal_timing && !config_chip_is_sim(c->led.line.chip))
                (void) item_message(l, true, IDX("Simulation", "IdealTiming"),
                                    "is only for the simulated LED ([LED] Chip=%s): a real LED's late edges are "
                                    "always timing faults", CONFIG_SIM_CHIP);
        return 0;
}

/* ---- timing ---- */

static void check_timing(Loader *l) {
        Config *c = l->config;
        size_t i;

        if (c->server.confirm_interval_sec > c->server.confirm_timeout_sec) {
                i = IDX("Server", "ConfirmIntervalSec");
                if (l->origins[i].line == 0)
                        i = IDX("Server", "ConfirmTimeoutSec");
                (void) item_message(l, true, i, "ConfirmIntervalSec=%u is longer than ConfirmTimeoutSec=%u",
                                    c->server.confirm_interval_sec, c->server.confirm_timeout_sec);
        }

        if (c->realtime.max_lateness_usec >= config_bit_usec(c->led.fast))
                (void) item_message(l, true, IDX("RealTime", "MaxLatenessUs"),
                                    "%u is not less than one bit (%u us with Fast=%s)",
                                    c->realtime.max_lateness_usec, config_bit_usec(c->led.fast),
                                    c->led.fast ? "yes" : "no");
}

/* ---- WiFi ---- */

/* A password from PasswordFile= or the credential must be valid too. */
static int check_loaded_password(Loader *l, size_t ipf) {
        Config *c = l->config;
        ErrorText err = {};
        const char *problem;

        problem = c->wifi.password ? config_password_invalid(c->wifi.password, &err) : NULL;
        if (!problem)
                return 0;
        if (c->wifi.password_source == CONFIG_SECRET_FILE)
                return item_message(l, true, ipf, "%s: %s", c->wifi.password_file, problem);
        return conf_parser_message(l->parser, true, NULL, 0, "credential " CONFIG_CREDENTIAL_WIFI_PASSWORD,
                                   "%s: %s", c->wifi.password_file, problem);
}

static int check_wifi(Loader *l) {
        Config *c = l->config;
        size_t ip = IDX("WiFi", "Password"), ipf = IDX("WiFi", "PasswordFile");
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
                r = check_loaded_password(l, ipf);
                if (r < 0)
                        return r;
        }

        if (c->wifi.password && !c->wifi.ssid) {
                if (c->wifi.password_source == CONFIG_SECRET_CREDENTIAL)
                        return conf_parser_message(l->parser, true, NULL, 0,
                                                   "credential " CONFIG_CREDENTIAL_WIFI_PASSWORD,
                                                   "a WiFi password is given but [WiFi] SSID= is not set");
                return item_message(l, true, c->wifi.password_source == CONFIG_SECRET_INLINE ? ip : ipf,
                                    "a WiFi password is given but SSID= is not set");
        }
        return 0;
}

/* ---- the factory server ---- */

static int derive_fixture_id(Loader *l) {
        Config *c = l->config;
        char id[17];
        int r;

        r = factory_fixture_id_default(id);
        if (r < 0)
                return conf_parser_message(l->parser, true, c->path, 0, "[Server] FixtureId",
                                           "not set, and it cannot be derived from /etc/machine-id: %s",
                                           strerror(-r));
        c->server.fixture_id = strdup(id);
        if (!c->server.fixture_id)
                return -ENOMEM;
        c->server.fixture_id_derived = true;
        return 0;
}

static int check_factory_mode(Loader *l) {
        Config *c = l->config;
        size_t ilogin = IDX("Server", "LoginKeyFile");
        int r;

        if (c->server.api_key_file)
                (void) item_message(l, false, IDX("Server", "ApiKeyFile"), "ignored with TokenType=factory");
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
        return 0;
}

static int check_production_mode(Loader *l) {
        Config *c = l->config;
        size_t iapi = IDX("Server", "ApiKeyFile");
        int r;

        if (c->server.login_key_file)
                (void) item_message(l, false, IDX("Server", "LoginKeyFile"),
                                    "ignored with TokenType=production");
        r = load_secret_key(l, iapi, CONFIG_CREDENTIAL_API_KEY, &c->server.api_key_file, &c->server.api_key,
                            &c->server.api_key_source);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && !c->server.api_key)
                (void) item_message(l, true, iapi,
                                    "not set, and TokenType=production needs an API key (or the "
                                    "credential " CONFIG_CREDENTIAL_API_KEY ")");
        return 0;
}

static int check_server(Loader *l) {
        Config *c = l->config;
        size_t iurl = IDX("Server", "URL");

        if (!c->server.url)
                (void) item_message(l, true, iurl, "not set; give the factory server's https:// URL");
        else if (!streq_ptr(factory_url_scheme(c->server.url), "https://") && !c->server.allow_insecure_http)
                (void) item_message(
                        l, true, iurl,
                        "%s is plain HTTP; use https:// (AllowInsecureHttp=yes permits http:// for tests)",
                        CONF_QUOTE(c->server.url));

        if (c->server.ca_file && access(c->server.ca_file, R_OK) < 0)
                (void) item_message(l, true, IDX("Server", "CAFile"), "%s: %s", c->server.ca_file,
                                    strerror(errno));

        if (c->server.token_type == CONFIG_TOKEN_FACTORY)
                return check_factory_mode(l);
        return check_production_mode(l);
}

/* A bearer token goes into an HTTP header: visible ASCII only (RFC 6750's b64token and more). */
static bool token_ok(const char *t) {
        for (const char *p = t; *p; p++)
                if (*p < 0x21 || *p > 0x7e)
                        return false;
        return *t;
}

static int check_results(Loader *l) {
        Config *c = l->config;
        size_t iurl = IDX("Results", "URL"), itoken = IDX("Results", "TokenFile");
        int r;

        if (!c->results.url) {
                if (c->results.token_file)
                        (void) item_message(l, false, itoken, "ignored: [Results] URL= is not set");
                return 0;
        }
        if (!streq_ptr(factory_url_scheme(c->results.url), "https://") && !c->server.allow_insecure_http)
                (void) item_message(l, true, iurl,
                                    "%s is plain HTTP; use https:// ([Server] AllowInsecureHttp=yes permits "
                                    "http:// for tests)",
                                    CONF_QUOTE(c->results.url));
        r = load_secret_key(l, itoken, CONFIG_CREDENTIAL_RESULTS_TOKEN, &c->results.token_file, &c->results.token,
                            &c->results.token_source);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && c->results.token && !token_ok(c->results.token))
                (void) item_message(l, true, itoken,
                                    "%s: the bearer token is empty or holds a space or a character that is "
                                    "not printable ASCII",
                                    c->results.token_source == CONFIG_SECRET_CREDENTIAL
                                            ? "credential " CONFIG_CREDENTIAL_RESULTS_TOKEN
                                            : c->results.token_file);
        return 0;
}

int config_check(Loader *l) {
        int r;

        if (l->parser->oom)
                return -ENOMEM;
        if (l->parser->errors)
                return -EINVAL; /* the rules below would only repeat the errors in other words */

        r = check_lines(l);
        if (r == -ENOMEM)
                return r;
        check_timing(l);
        r = check_wifi(l);
        if (r == -ENOMEM)
                return r;
        r = check_server(l);
        if (r >= 0)
                r = check_results(l);
        if (r == -ENOMEM || l->parser->oom)
                return -ENOMEM;
        return l->parser->errors ? -EINVAL : 0;
}
