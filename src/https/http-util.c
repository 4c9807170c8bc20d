/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http-util.h"
#include "macro.h"

int http_easy_set_security(CURL *c, bool allow_insecure_http, const char *ca_file) {
#if LIBCURL_VERSION_NUM >= 0x075500
        EASY(c, CURLOPT_PROTOCOLS_STR, allow_insecure_http ? "http,https" : "https");
        EASY(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
        EASY(c, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTPS | (allow_insecure_http ? CURLPROTO_HTTP : 0)));
        EASY(c, CURLOPT_REDIR_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
        EASY(c, CURLOPT_FOLLOWLOCATION, 0L);
        EASY(c, CURLOPT_SSL_VERIFYPEER, 1L);
        EASY(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (ca_file)
                EASY(c, CURLOPT_CAINFO, ca_file);
        EASY(c, CURLOPT_VERBOSE, 0L); /* never: it would print the Authorization header */
        return 0;
}

int http_easy_set_limits(CURL *c, uint64_t timeout_usec, uint64_t connect_timeout_usec, curl_off_t max_size) {
        EASY(c, CURLOPT_NOSIGNAL, 1L);
        EASY(c, CURLOPT_NOPROGRESS, 1L);
        EASY(c, CURLOPT_TIMEOUT_MS, (long) MAX(timeout_usec / USEC_PER_MSEC, UINT64_C(1)));
        EASY(c, CURLOPT_CONNECTTIMEOUT_MS, (long) MAX(connect_timeout_usec / USEC_PER_MSEC, UINT64_C(1)));
        EASY(c, CURLOPT_MAXFILESIZE_LARGE, max_size);
        EASY(c, CURLOPT_USERAGENT, "blinkupd/" PACKAGE_VERSION);
        return 0;
}

bool http_header_is(const char *line, size_t n, const char *name, const char **ret_value, size_t *ret_len) {
        size_t k = strlen(name);
        const char *v;
        size_t len;

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return false;
        v = line + k + 1;
        len = n - k - 1;
        while (len > 0 && (*v == ' ' || *v == '\t'))
                v++, len--;
        while (len > 0 && isspace((unsigned char) v[len - 1]))
                len--;
        *ret_value = v;
        *ret_len = len;
        return true;
}

int64_t http_retry_after_parse(const char *v, size_t len) {
        const int64_t saturate = HTTP_RETRY_AFTER_SATURATE_SEC;
        char buf[64];
        time_t t, now;
        int64_t sec = 0;
        size_t i;

        if (len == 0 || len >= sizeof(buf))
                return -1;
        for (i = 0; i < len && isdigit((unsigned char) v[i]); i++)
                sec = sec >= saturate / 10 ? saturate : sec * 10 + (v[i] - '0');
        if (i == len)
                return MIN(sec, saturate);
        memcpy(buf, v, len);
        buf[len] = 0;
        t = curl_getdate(buf, NULL);
        if (t == (time_t) -1)
                return -1;
        now = time(NULL);
        return t > now ? MIN((int64_t) (t - now), saturate) : 0;
}

void http_slist_erase_and_free(struct curl_slist *l) {
        for (struct curl_slist *i = l; i; i = i->next)
                if (i->data)
                        explicit_bzero(i->data, strlen(i->data));
        curl_slist_free_all(l);
}

int http_header_append(struct curl_slist **l, const char *h) {
        struct curl_slist *n = curl_slist_append(*l, h);

        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}
