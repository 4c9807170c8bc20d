/* SPDX-License-Identifier: MIT */
/* What both sides of the factory server client share, and what needs no HTTP: the checks of a
 * FactoryConfig, the error kinds' names, the default fixture ID and the secrets. The daemon
 * (server-remote.c) checks a configuration with these before it hands it to blinkupd-https,
 * which checks it again (server.c), so a bad one is refused where it is loaded. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-id128.h>

#include "log.h"
#include "macro.h"
#include "secret.h"
#include "factory-json.h"
#include "factory.h"

/* The application ID the default fixture ID is derived with (sd_id128_get_machine_app_specific);
 * the same as the configuration's FIXTURE_ID_APP_ID, so both give the same fixture ID. */
#define FIXTURE_APP_ID SD_ID128_MAKE(6b, 1e, 3c, 9a, 52, d4, 4f, 0e, 8c, 27, 91, a3, 5f, 60, bd, 14)

static const char *const kind_names[_FACTORY_ERROR_KIND_MAX] = {
        [FACTORY_OK] = "ok",
        [FACTORY_ERROR_NOT_FACTORY_FIXTURE] = "not-factory-fixture",
        [FACTORY_ERROR_AUTH] = "auth",
        [FACTORY_ERROR_TIMEOUT] = "timeout",
        [FACTORY_ERROR_SERVER] = "server",
        [FACTORY_ERROR_TRANSPORT] = "transport",
        [FACTORY_ERROR_CANCELLED] = "cancelled",
};

const char *factory_error_kind_to_string(FactoryErrorKind k) {
        return k >= 0 && k < _FACTORY_ERROR_KIND_MAX ? kind_names[k] : NULL;
}

bool factory_id_valid(const char *s, size_t max) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n < 1 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

static bool has_prefix_ci(const char *s, const char *prefix) {
        return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool secret_is_sane(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

int factory_config_check(const FactoryConfig *c, bool *ret_plain_http) {
        if (!c)
                return -EINVAL;
        if (!c->url || !(has_prefix_ci(c->url, "https://") || has_prefix_ci(c->url, "http://")) ||
            strlen(c->url) < strlen("https://x")) {
                log_error("Server URL=%s: not an https:// URL.", c->url ? c->url : "");
                return -EINVAL;
        }
        if (has_prefix_ci(c->url, "http://") && !c->allow_insecure_http) {
                log_error("Server URL=%s: plain HTTP is refused; use https:// (AllowInsecureHttp=yes is "
                          "for local testing only).",
                          c->url);
                return -EINVAL;
        }
        if (c->production) {
                if (!secret_is_sane(c->api_key)) {
                        log_error("Server: production mode needs an API key (ApiKeyFile= or the credential "
                                  "api-key).");
                        return -EINVAL;
                }
                if (c->plan_id && *c->plan_id && !factory_id_valid(c->plan_id, FACTORY_ID_MAX)) {
                        log_error("Server PlanId=%s: not 1..16 hex digits.", c->plan_id);
                        return -EINVAL;
                }
        } else if (!secret_is_sane(c->login_key)) {
                log_error("Server: factory mode needs a login key (LoginKeyFile= or the credential "
                          "login-key).");
                return -EINVAL;
        }
        if ((!c->production || (c->fixture_id && *c->fixture_id)) &&
            !factory_id_valid(c->fixture_id, FACTORY_ID_MAX)) {
                log_error("Server FixtureId=%s: not 1..16 hex digits.", c->fixture_id ? c->fixture_id : "");
                return -EINVAL;
        }
        if (ret_plain_http)
                *ret_plain_http = has_prefix_ci(c->url, "http://");
        return 0;
}

void factory_config_fill_timeouts(FactoryConfig *c) {
        if (!c->timeout_usec)
                c->timeout_usec = 10 * USEC_PER_SEC;
        if (!c->connect_timeout_usec)
                c->connect_timeout_usec = 5 * USEC_PER_SEC;
        if (!c->attempt_timeout_usec)
                c->attempt_timeout_usec = 30 * USEC_PER_SEC;
        if (!c->confirm_timeout_usec)
                c->confirm_timeout_usec = 120 * USEC_PER_SEC;
        if (!c->confirm_interval_usec)
                c->confirm_interval_usec = USEC_PER_SEC;
}

int factory_fixture_id_default(char ret[17]) {
        sd_id128_t id;
        char s[SD_ID128_STRING_MAX];
        int r;

        r = sd_id128_get_machine_app_specific(FIXTURE_APP_ID, &id);
        if (r < 0)
                return r;
        sd_id128_to_string(id, s);
        memcpy(ret, s, 16);
        ret[16] = 0;
        return 0;
}

int factory_load_secret(const char *path_or_null, const char *credential_name, char **ret, char **ret_error) {
        return secret_load(path_or_null, credential_name, ret, ret_error);
}
