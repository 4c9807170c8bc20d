# SPDX-License-Identifier: MIT
# src/ctl: blinkupctl, one file per verb over a small common file.
noinst_LIBRARIES += src/ctl/libctl.a
src_ctl_libctl_a_SOURCES = \
	src/ctl/ctl.h \
	src/ctl/ctl-common.c src/ctl/ctl-common.h \
	src/ctl/ctl-bus.c src/ctl/ctl-bus.h \
	src/ctl/json-out.c src/ctl/json-out.h \
	src/ctl/ctl-status.c \
	src/ctl/ctl-attempt.c \
	src/ctl/ctl-monitor.c \
	src/ctl/ctl-history.c \
	src/ctl/ctl-encode.c
src_ctl_libctl_a_CPPFLAGS = $(CTL_CPPFLAGS)
src_ctl_libctl_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
CTL_LIBS = src/ctl/libctl.a $(LIB_LIBS)

bin_PROGRAMS = src/blinkupctl
src_blinkupctl_SOURCES = src/ctl/blinkupctl.c
src_blinkupctl_CPPFLAGS = $(CTL_CPPFLAGS)
src_blinkupctl_LDADD = $(CTL_LIBS)
