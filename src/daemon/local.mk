# SPDX-License-Identifier: MIT
# src/daemon: blinkupd. The fixture's state machine, its D-Bus object, the GPIO backends, the
# real-time transmitter, the record file, and the proxy to blinkupd-https. Links neither
# libcurl nor json-c.
noinst_LIBRARIES += src/daemon/libdaemon.a
src_daemon_libdaemon_a_SOURCES = \
	src/daemon/daemon.c src/daemon/daemon.h \
	src/daemon/manager.c src/daemon/manager.h src/daemon/manager-internal.h \
	src/daemon/manager-attempt.c src/daemon/manager-confirm.c src/daemon/manager-prefetch.c \
	src/daemon/manager-button.c src/daemon/manager-hardware.c src/daemon/manager-reload.c \
	src/daemon/manager-scanner.c src/daemon/manager-metrics.c \
	src/daemon/metrics.c src/daemon/metrics.h \
	src/daemon/fixture-bus.c src/daemon/factory-proxy.h \
	src/daemon/results-proxy.c src/daemon/results-proxy.h \
	src/daemon/rt.c src/daemon/rt.h \
	src/daemon/transmitter.c src/daemon/transmitter.h \
	src/daemon/gpio.c src/daemon/gpio.h src/daemon/gpio-internal.h \
	src/daemon/gpio-chips.c src/daemon/gpio-sim.c
# the GPIO backend of the libgpiod API that configure found
if GPIOD_API_V2
src_daemon_libdaemon_a_SOURCES += src/daemon/gpio-gpiod2.c
else
src_daemon_libdaemon_a_SOURCES += src/daemon/gpio-gpiod1.c
endif
src_daemon_libdaemon_a_CPPFLAGS = $(DAEMON_CPPFLAGS) -DPKGLIBEXECDIR=\"$(pkglibexecdir)\"
src_daemon_libdaemon_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(GPIOD_CFLAGS) $(EVDEV_CFLAGS)
# the proxy to blinkupd-https on its own, so that a test can link libdaemon.a with a fake of
# factory-proxy.h instead
noinst_LIBRARIES += src/daemon/libfactory-proxy.a
src_daemon_libfactory_proxy_a_SOURCES = src/daemon/factory-proxy.c src/daemon/factory-proxy.h
src_daemon_libfactory_proxy_a_CPPFLAGS = $(DAEMON_CPPFLAGS)
src_daemon_libfactory_proxy_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
# a blinkupd-https process, as both proxies start one
noinst_LIBRARIES += src/daemon/libhelper-process.a
src_daemon_libhelper_process_a_SOURCES = src/daemon/helper-process.c src/daemon/helper-process.h
src_daemon_libhelper_process_a_CPPFLAGS = $(DAEMON_CPPFLAGS) -DPKGLIBEXECDIR=\"$(pkglibexecdir)\"
src_daemon_libhelper_process_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
DAEMON_LIBS = src/daemon/libdaemon.a src/daemon/libfactory-proxy.a src/daemon/libhelper-process.a \
	$(LIB_LIBS) $(GPIOD_LIBS) $(EVDEV_LIBS)

sbin_PROGRAMS = src/blinkupd
src_blinkupd_SOURCES = src/daemon/blinkupd.c
src_blinkupd_CPPFLAGS = $(DAEMON_CPPFLAGS)
src_blinkupd_LDADD = $(DAEMON_LIBS)
