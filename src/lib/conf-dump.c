/* SPDX-License-Identifier: MIT */
/* The effective configuration printed in the file format, secrets masked (--check-config). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf-table.h"
#include "string-util.h"

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
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
        return source == CONFIG_SECRET_CREDENTIAL ? "" : strempty(path);
}

static void dump_line(FILE *f, const char *key, const ConfigLine *line) {
        if (line->chip && line->line)
                fprintf(f, "%s=%s:%s\n", key, line->chip, line->line);
        else
                fprintf(f, "%s=%s\n", key, strempty(line->line)); /* found by its name */
}

static void dump_wifi(const Config *c, FILE *f) {
        fprintf(f, "\n[WiFi]\nSSID=%s\n", strempty(c->wifi.ssid));
        if (c->wifi.password)
                fprintf(f, "Password=(set, %zu bytes)\n", strlen(c->wifi.password));
        else
                fprintf(f, "Password=(unset)\n");
        fprintf(f, "PasswordFile=%s\n", secret_file(c->wifi.password_file, c->wifi.password_source));
        if (c->wifi.password_source != CONFIG_SECRET_INLINE)
                dump_secret(f, "password", c->wifi.password, c->wifi.password_source, "PasswordFile",
                            CONFIG_CREDENTIAL_WIFI_PASSWORD, c->wifi.password_file);
}

static void dump_gpio(const Config *c, FILE *f) {
        fprintf(f, "\n[LED]\nChip=%s\nLine=%s\nActiveHigh=%s\nFast=%s\nRepeat=%u\n",
                strempty(c->led.line.chip), strempty(c->led.line.line), yes_no(c->led.active_high),
                yes_no(c->led.fast), c->led.repeat);

        if (c->button.enabled)
                fprintf(f, "\n[Button]\nChip=%s\nLine=%s\nActiveLow=%s\nBias=%s\nDebounceMs=%u\n",
                        strempty(c->button.line.chip), strempty(c->button.line.line),
                        yes_no(c->button.active_low), config_bias_to_string(c->button.bias),
                        c->button.debounce_msec);
        else
                fprintf(f, "\n# [Button] is not configured: D-Bus triggers only\n");

        fprintf(f, "\n[Indicators]\n");
        dump_line(f, "Ready", &c->indicators.ready);
        dump_line(f, "Busy", &c->indicators.busy);
        dump_line(f, "Pass", &c->indicators.pass);
        dump_line(f, "Fail", &c->indicators.fail);
}

static void dump_server(const Config *c, FILE *f) {
        fprintf(f, "\n[Server]\nURL=%s\nTokenType=%s\n", strempty(c->server.url),
                config_token_type_to_string(c->server.token_type));
        fprintf(f, "LoginKeyFile=%s\n", secret_file(c->server.login_key_file, c->server.login_key_source));
        dump_secret(f, "login key", c->server.login_key, c->server.login_key_source, "LoginKeyFile",
                    CONFIG_CREDENTIAL_LOGIN_KEY, c->server.login_key_file);
        fprintf(f, "ApiKeyFile=%s\n", secret_file(c->server.api_key_file, c->server.api_key_source));
        dump_secret(f, "API key", c->server.api_key, c->server.api_key_source, "ApiKeyFile",
                    CONFIG_CREDENTIAL_API_KEY, c->server.api_key_file);
        fprintf(f, "PlanId=%s\n", strempty(c->server.plan_id));
        fprintf(f, "FixtureId=%s\n", strempty(c->server.fixture_id));
        if (c->server.fixture_id_derived)
                fprintf(f, "# FixtureId= is derived from /etc/machine-id\n");
        fprintf(f, "CAFile=%s\n", strempty(c->server.ca_file));
        fprintf(f,
                "TimeoutSec=%u\nConnectTimeoutSec=%u\nConfirmTimeoutSec=%u\nConfirmIntervalSec=%u\n"
                "MaxConfirmations=%u\n",
                c->server.timeout_sec, c->server.connect_timeout_sec, c->server.confirm_timeout_sec,
                c->server.confirm_interval_sec, c->server.max_confirmations);
        fprintf(f, "PrefetchToken=%s\nAllowInsecureHttp=%s\n", yes_no(c->server.prefetch_token),
                yes_no(c->server.allow_insecure_http));
}

static void dump_results(const Config *c, FILE *f) {
        fprintf(f, "\n[Fixture]\nLine=%s\n", strempty(c->fixture.line));
        fprintf(f, "\n[Results]\nURL=%s\n", strempty(c->results.url));
        if (!c->results.url)
                fprintf(f, "# no URL: results are not delivered (the record keeps them)\n");
        fprintf(f, "TokenFile=%s\n", secret_file(c->results.token_file, c->results.token_source));
        if (c->results.url)
                dump_secret(f, "bearer token", c->results.token, c->results.token_source, "TokenFile",
                            CONFIG_CREDENTIAL_RESULTS_TOKEN, c->results.token_file);
        fprintf(f, "RetryMaxSec=%u\n", c->results.retry_max_sec);
        fprintf(f, "\n[Scanner]\nDevice=%s\n", strempty(c->scanner.device));
        if (!c->scanner.device)
                fprintf(f, "# no device: no barcode scanner\n");
        fprintf(f, "\n[Metrics]\nTextfileDirectory=%s\n", strempty(c->metrics.textfile_directory));
        if (!c->metrics.textfile_directory)
                fprintf(f, "# no directory: no metrics file\n");
}

static void dump_realtime(const Config *c, FILE *f) {
        fprintf(f, "\n[RealTime]\nPriority=%u\n", c->realtime.priority);
        if (c->realtime.cpu >= 0)
                fprintf(f, "CPU=%d\n", c->realtime.cpu);
        else
                fprintf(f, "CPU=\n");
        if (c->realtime.max_lateness_usec > 0)
                fprintf(f, "MaxLatenessUs=%u\n", c->realtime.max_lateness_usec);
        else
                fprintf(f, "MaxLatenessUs=\n# 10%% of a bit: %u us\n", config_bit_usec(c->led.fast) / 10);
        fprintf(f, "TimingFaultRetries=%u\n", c->realtime.timing_fault_retries);
}

int config_dump(const Config *c, FILE *f) {
        fprintf(f, "# The effective configuration, from %s and its drop-ins. Secrets are masked.\n",
                c->path);
        dump_wifi(c, f);
        dump_gpio(c, f);
        dump_server(c, f);
        dump_results(c, f);
        dump_realtime(c, f);
        fprintf(f, "\n[Simulation]\nTrace=%s\nButtonFifo=%s\nIdealTiming=%s\n", strempty(c->simulation.trace),
                strempty(c->simulation.button_fifo), yes_no(c->simulation.ideal_timing));
        fprintf(f, "\n[Daemon]\nStateDirectory=%s\nRecordMaxFileMiB=%u\n",
                strempty(c->daemon.state_directory), c->daemon.record_max_file_mib);

        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}
