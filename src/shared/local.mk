# SPDX-License-Identifier: MIT
# src/shared: what every program uses and nothing of the project's own: macros, lists, string
# vectors, logging, secret files, the daemon <-> blinkupd-https protocol's names.
noinst_LIBRARIES += src/shared/libshared.a
src_shared_libshared_a_SOURCES = \
	src/shared/macro.h src/shared/list.h src/shared/fs-util.h \
	src/shared/log.c src/shared/log.h \
	src/shared/strv.c src/shared/strv.h \
	src/shared/secret.c src/shared/secret.h \
	src/shared/https-proto.h src/shared/string-util.h src/shared/time-util.h \
	src/shared/bus-names.h src/shared/error-text.h
src_shared_libshared_a_CPPFLAGS = $(SHARED_CPPFLAGS)
src_shared_libshared_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
SHARED_LIBS = src/shared/libshared.a $(SYSTEMD_LIBS)
