/* SPDX-License-Identifier: MIT */
/* What both sides of the factory server client share, and what needs no HTTP: the checks of a
 * FactoryConfig, the error kinds' names, the default fixture ID, the identifiers and URLs. The daemon
 * (factory-proxy.c) checks a configuration with these before it hands it to blinkupd-https,
 * which checks it again (factory-client.c), so a bad one is refused where it is loaded. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-id128.h>

#include "log.h"
#include "macro.h"
#include "factory.h"
#include "frame.h"

/* The application ID the default fixture ID is derived with (sd_id128_get_machine_app_specific). */
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

/* the frame's rule: 1..16 hex digits */
bool factory_id_valid(const char *s, size_t max) {
        uint64_t v;

        return s && strlen(s) <= max && frame_parse_hex_id(s, &v) >= 0;
}

void factory_id_copy_lower(char dst[static FACTORY_ID_MAX + 1], const char *src) {
        size_t i;

        for (i = 0; i < FACTORY_ID_MAX && src[i]; i++)
                dst[i] = (char) tolower((unsigned char) src[i]);
        dst[i] = 0;
}

int factory_id_normalize(const char *s, char **ret) {
        char *t;

        if (!factory_id_valid(s, FACTORY_ID_MAX))
                return -EINVAL;
        t = malloc(FACTORY_ID_MAX + 1);
        if (!t)
                return -ENOMEM;
        factory_id_copy_lower(t, s);
        *ret = t;
        return 0;
}

const char *factory_url_scheme(const char *url) {
        static const char *const schemes[] = { "https://", "http://" };

        for (size_t i = 0; url && i < ELEMENTSOF(schemes); i++)
                if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
                        return schemes[i];
        return NULL;
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
        bool plain_http;

        if (!c)
                return -EINVAL;
        plain_http = streq_ptr(factory_url_scheme(c->url), "http://");
        if (!factory_url_scheme(c->url) || strlen(c->url) < strlen("https://x")) {
                log_error("Server URL=%s: not an https:// URL.", c->url ? c->url : "");
                return -EINVAL;
        }
        if (plain_http && !c->allow_insecure_http) {
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
                *ret_plain_http = plain_http;
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
