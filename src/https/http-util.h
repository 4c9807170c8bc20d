/* SPDX-License-Identifier: MIT */
#pragma once

/* What every HTTPS request of blinkupd-https shares, whoever sends it (the factory server
 * client, the results delivery): the security rules of a transfer, reading response headers,
 * Retry-After, and erasing header lists that carry credentials. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the largest Retry-After figure kept (for messages); longer waits are cut by the caller */
#define HTTP_RETRY_AFTER_SATURATE_SEC INT64_C(999999999999)

/* curl_easy_setopt(), or return -EIO from the calling function when curl refuses the option */
#define EASY(c, opt, val) \
        do { \
                if (curl_easy_setopt(c, opt, val) != CURLE_OK) \
                        return -EIO; \
        } while (0)

/* What every transfer is held to besides security: no signals, no progress meter, the total
 * and connect timeouts (at least 1 ms each), a response of at most max_size bytes, and the
 * user agent. -EIO when curl refuses an option. */
int http_easy_set_limits(CURL *c, uint64_t timeout_usec, uint64_t connect_timeout_usec, curl_off_t max_size);

/* HTTPS only (plain http too when allow_insecure_http), the peer and host verified (against
 * ca_file when not NULL, else the system's), no redirects, never verbose (it would print the
 * Authorization header). -EIO when curl refuses an option. */
int http_easy_set_security(CURL *c, bool allow_insecure_http, const char *ca_file);

/* Is the header line (of n bytes, from a header callback) "name: value"? Then ret_value and
 * ret_len give the value without the blanks around it. The name is compared without case. */
bool http_header_is(const char *line, size_t n, const char *name, const char **ret_value, size_t *ret_len);

/* Retry-After (RFC 9110, 10.2.3): delay-seconds, or an HTTP-date in any of its three forms.
 * The seconds asked for from now, saturated at HTTP_RETRY_AFTER_SATURATE_SEC; -1 for neither. */
int64_t http_retry_after_parse(const char *v, size_t len);

/* Appends header h to *l (curl_slist_append(), which copies it): 0 or -ENOMEM, *l unchanged. */
int http_header_append(struct curl_slist **l, const char *h);

/* Overwrites every header of the list (one may hold a credential) and frees it. */
void http_slist_erase_and_free(struct curl_slist *l);
