# SPDX-License-Identifier: MIT
# src/https: blinkupd-https, the factory server client's process (src/shared/https-proto.h):
# libcurl on sd-event, the factory API's steps and retries, and its end of the private bus.
noinst_LIBRARIES += src/https/libhttps.a
src_https_libhttps_a_SOURCES = \
	src/https/https-service.c src/https/https-service.h \
	src/https/factory-client.c src/https/factory-client.h src/https/factory-client-internal.h \
	src/https/factory-request.c src/https/factory-steps.c src/https/factory-token.c \
	src/https/curl-glue.c src/https/curl-glue.h src/https/http-util.c src/https/http-util.h \
	src/https/results-outbox.c src/https/results-outbox.h src/https/results-outbox-internal.h \
	src/https/results-attempt.c src/https/results-files.c \
	src/https/results-deliver.c src/https/results-deliver.h \
	src/https/results-service.c src/https/results-service.h
src_https_libhttps_a_CPPFLAGS = $(HTTPS_CPPFLAGS)
src_https_libhttps_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
HTTPS_LIBS = src/https/libhttps.a $(FACTORY_JSON_LIBS) $(CURL_LIBS)

pkglibexec_PROGRAMS = src/blinkupd-https
src_blinkupd_https_SOURCES = src/https/blinkupd-https.c
src_blinkupd_https_CPPFLAGS = $(HTTPS_CPPFLAGS)
src_blinkupd_https_LDADD = $(HTTPS_LIBS)
