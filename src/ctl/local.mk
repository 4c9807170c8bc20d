# SPDX-License-Identifier: MIT
# src/ctl: blinkupctl, one file per verb over a small common file.
noinst_LIBRARIES += src/ctl/libctl.a
src_ctl_libctl_a_SOURCES = \
	src/ctl/ctl.h src/ctl/ctl-bus.c src/ctl/ctl-encode.c
src_ctl_libctl_a_CPPFLAGS = $(CTL_CPPFLAGS)
src_ctl_libctl_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
CTL_LIBS = src/ctl/libctl.a $(LIB_LIBS)

bin_PROGRAMS = src/blinkupctl
src_blinkupctl_SOURCES = src/ctl/blinkupctl.c
src_blinkupctl_CPPFLAGS = $(CTL_CPPFLAGS)
src_blinkupctl_LDADD = $(CTL_LIBS)
