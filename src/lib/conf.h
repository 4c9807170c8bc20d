/* SPDX-License-Identifier: MIT */
#pragma once

/* The configuration: blinkupd.conf plus its drop-ins, parsed into typed fields.
 *
 * The format is systemd's INI dialect: "[Section]", "Key=Value", full-line comments starting
 * with '#' or ';', and a trailing comment after whitespace (" # ..."). A value may be put in
 * double quotes to keep leading or trailing whitespace or a " #"; inside quotes, \" and \\
 * stand for '"' and '\'. An empty value ("Key=") resets the key to its default.
 *
 * Loading reads the main file, then PATH.d/ (blinkupd.conf.d/ for the default path) files
 * ending in ".conf" in lexical (byte) order, each overriding what came before. Errors and
 * warnings read "file:line: Key: message". Unknown sections and keys, and a key repeated in
 * one file, are warnings. Rules that join several keys (URL scheme and AllowInsecureHttp=,
 * the key the token type needs, ...) are checked after every file is parsed, and only when
 * the files parsed without errors. Secret files (PasswordFile=, LoginKeyFile=, ApiKeyFile=,
 * or the credentials wifi-password, login-key, api-key in $CREDENTIALS_DIRECTORY when the
 * keys are unset) are read while loading; one that other users can read is refused. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"
#include "strv.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/blinkupd/blinkupd.conf"
#define CONFIG_SIM_CHIP "sim"

/* Credential names looked up in $CREDENTIALS_DIRECTORY. */
#define CONFIG_CREDENTIAL_WIFI_PASSWORD "wifi-password"
#define CONFIG_CREDENTIAL_LOGIN_KEY "login-key"
#define CONFIG_CREDENTIAL_API_KEY "api-key"
#define CONFIG_CREDENTIAL_RESULTS_TOKEN "results-token"

/* In factory mode an unset FixtureId= is derived from /etc/machine-id with
 * factory_fixture_id_default() (factory.h), so it is stable for the machine and does not reveal
 * the machine ID. The limits of lines, files and errors per file are the INI reader's
 * (conf-parser.h). */

typedef enum ConfigTokenType {
        CONFIG_TOKEN_FACTORY, /* factory enrollment tokens: login key, fixture check */
        CONFIG_TOKEN_PRODUCTION, /* production tokens: API key, optional plan ID */
        _CONFIG_TOKEN_TYPE_MAX,
} ConfigTokenType;

typedef enum ConfigBias {
        CONFIG_BIAS_AS_IS,
        CONFIG_BIAS_DISABLE,
        CONFIG_BIAS_PULL_UP,
        CONFIG_BIAS_PULL_DOWN,
        _CONFIG_BIAS_MAX,
} ConfigBias;

/* Where a secret came from. */
typedef enum ConfigSecretSource {
        CONFIG_SECRET_NONE, /* not set anywhere */
        CONFIG_SECRET_INLINE, /* Password= in a configuration file */
        CONFIG_SECRET_FILE, /* PasswordFile=, LoginKeyFile=, ApiKeyFile= */
        CONFIG_SECRET_CREDENTIAL, /* $CREDENTIALS_DIRECTORY/<name> */
} ConfigSecretSource;

/* One GPIO line. */
typedef struct ConfigLine {
        char *chip; /* "gpiochipN", a chip label, a /dev path, or "sim"; NULL = not used */
        char *line; /* decimal offset or line name; NULL = not set (allowed with "sim") */
} ConfigLine;

typedef struct Config {
        char *path; /* the main configuration file (or the name given to config_load_buffer()) */

        struct {
                char *ssid; /* SSID=, 1..32 bytes; NULL = no WiFi records */
                char *password; /* the WiFi password (secret); NULL = open network */
                char *password_file; /* PasswordFile=, or the credential's path */
                ConfigSecretSource password_source;
        } wifi;

        struct {
                ConfigLine line; /* Chip= (default gpiochip0), Line= (required unless sim) */
                bool active_high; /* ActiveHigh=, default no: the LED lights when the line is low */
                bool fast; /* Fast=, default yes: 142 bits/s instead of 60 */
                unsigned repeat; /* Repeat=, 1..16, default 1: frames per attempt */
        } led;

        struct {
                bool enabled; /* Chip= or Line= is set; else D-Bus triggers only */
                ConfigLine line; /* Chip= (default: [LED] Chip=), Line= (required unless sim) */
                bool active_low; /* ActiveLow=, default yes: pressed = low */
                ConfigBias bias; /* Bias=, default pull-up */
                unsigned debounce_msec; /* DebounceMs=, 0..1000, default 30 */
        } button;

        struct {
                /* Ready=, Busy=, Pass=, Fail=: "chip:line" or "line" (chip = [LED] Chip=);
                 * chip and line NULL when unset */
                ConfigLine ready, busy, pass, fail;
        } indicators;

        struct {
                /* URL=, required: https:// (http:// with AllowInsecureHttp=yes), no trailing '/' */
                char *url;
                ConfigTokenType token_type; /* TokenType=, default factory */
                char *login_key; /* the login key (secret), factory mode only */
                char *login_key_file; /* LoginKeyFile=, or the credential's path */
                ConfigSecretSource login_key_source;
                char *api_key; /* the API key (secret), production mode only */
                char *api_key_file; /* ApiKeyFile=, or the credential's path */
                ConfigSecretSource api_key_source;
                char *plan_id; /* PlanId=, 1..16 lower-case hex digits; NULL = unset */
                /* FixtureId=, 1..16 lower-case hex digits; in factory mode derived from
                 * /etc/machine-id when unset (then fixture_id_derived is true) */
                char *fixture_id;
                bool fixture_id_derived;
                char *ca_file; /* CAFile=; NULL = the system's CA store */
                unsigned timeout_sec; /* TimeoutSec=, 1..3600, default 10: per request */
                unsigned connect_timeout_sec; /* ConnectTimeoutSec=, 1..3600, default 5 */
                unsigned confirm_timeout_sec; /* ConfirmTimeoutSec=, 1..86400, default 120 */
                unsigned confirm_interval_sec; /* ConfirmIntervalSec=, 1..3600, default 1 */
                unsigned max_confirmations; /* MaxConfirmations=, 1..1024, default 32 */
                bool prefetch_token; /* PrefetchToken=, default no */
                bool allow_insecure_http; /* AllowInsecureHttp=, default no */
        } server;

        struct {
                /* Line=: the production line's name, 1..64 bytes of printable UTF-8 (identity.h's
                 * rules for an operator's name); NULL = unset */
                char *line;
        } fixture;

        struct {
                /* URL=: where each attempt's results document is POSTed: https:// (http:// with
                 * [Server] AllowInsecureHttp=yes), no trailing '/'; NULL = no delivery */
                char *url;
                char *token; /* the bearer token (secret); NULL = none */
                char *token_file; /* TokenFile=, or the credential's path */
                ConfigSecretSource token_source;
                unsigned retry_max_sec; /* RetryMaxSec=, 1..86400, default 300 */
        } results;

        struct {
                /* Device=: the input device of a USB barcode scanner (an evdev keyboard), read
                 * and grabbed by the daemon; NULL = no scanner */
                char *device;
        } scanner;

        struct {
                /* TextfileDirectory=: where blinkupd.prom is written for node_exporter's textfile
                 * collector; NULL = no metrics file */
                char *textfile_directory;
        } metrics;

        struct {
                unsigned priority; /* Priority=, 0..99, default 80; 0 = no SCHED_FIFO */
                int cpu; /* CPU=, 0..1023; -1 = not pinned (default) */
                unsigned max_lateness_usec; /* MaxLatenessUs=; 0 = 10% of a bit (default) */
                unsigned timing_fault_retries; /* TimingFaultRetries=, 0..10, default 1 */
        } realtime;

        struct {
                char *trace; /* Trace=: VCD file for the simulated LED; NULL = none */
                /* ButtonFifo=: the FIFO the simulated button reads ('1' press, '0' release);
                 * NULL = none */
                char *button_fifo;
                /* IdealTiming=: the simulated LED's trace has every edge at its deadline, and a
                 * late edge is no timing fault (its lateness is still measured); default no */
                bool ideal_timing;
        } simulation;

        struct {
                char *state_directory; /* StateDirectory=, default STATEDIR */
                unsigned record_max_file_mib; /* RecordMaxFileMiB=, 0..4096 (0: never rotate), default 64 */
        } daemon;
} Config;

/* Loads path (NULL: CONFIG_DEFAULT_PATH, which may be missing: then only drop-ins and
 * defaults apply) and its drop-ins. Returns 0 and the configuration, or a negative errno:
 * -EINVAL for an invalid configuration, -ENOENT/-EACCES/... when the main file cannot be read.
 * *ret_messages (if not NULL) receives a NULL-terminated list of messages, set unless the
 * result is -ENOMEM: on success the warnings, on failure the errors, then the warnings. */
int config_load(const char *path, Config **ret, char ***ret_messages);

/* As config_load(), with the missing-main-file rule made explicit. */
int config_load_full(const char *path, bool missing_ok, Config **ret, char ***ret_messages);

/* Parses one in-memory file called name (no drop-ins, no file mode checks), then validates and
 * loads secrets exactly like config_load(). data may contain NUL bytes (an error). */
int config_load_buffer(const char *name, const void *data, size_t size, Config **ret, char ***ret_messages);

/* Frees the configuration, erasing the secrets. Accepts NULL, returns NULL. */
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

/* Prints the effective configuration in the file format, secrets masked. */
int config_dump(const Config *c, FILE *f);

const char *config_token_type_to_string(ConfigTokenType t);
const char *config_bias_to_string(ConfigBias b);
