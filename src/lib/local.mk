# SPDX-License-Identifier: MIT
# src/lib: the project's formats and rules, no process state (no bus, no event loop, no
# threads): the frame, the waveform, VCD, the configuration, the attempt record's lines, the
# factory server's configuration checks; and, apart because it needs json-c, the JSON mapping.
noinst_LIBRARIES += src/lib/libblinkup.a
src_lib_libblinkup_a_SOURCES = \
	src/lib/frame.c src/lib/frame.h \
	src/lib/waveform.c src/lib/waveform.h \
	src/lib/vcd.c src/lib/vcd.h \
	src/lib/conf-parser.c src/lib/conf-files.c src/lib/conf-parser.h \
	src/lib/conf.c src/lib/conf.h src/lib/conf-table.c src/lib/conf-table.h \
	src/lib/conf-gpio.c src/lib/conf-check.c src/lib/conf-dump.c \
	src/lib/record.h src/lib/record-internal.h \
	src/lib/record-line.c src/lib/record-read.c src/lib/record-write.c \
	src/lib/factory.c src/lib/factory.h \
	src/lib/identity.c src/lib/identity.h \
	src/lib/scanner-keys.c src/lib/scanner-keys.h
src_lib_libblinkup_a_CPPFLAGS = $(LIB_CPPFLAGS)
src_lib_libblinkup_a_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
LIB_LIBS = src/lib/libblinkup.a $(SHARED_LIBS)

noinst_LIBRARIES += src/lib/libfactory-json.a
src_lib_libfactory_json_a_SOURCES = src/lib/factory-json.c src/lib/factory-json.h src/lib/factory-json-internal.h \
	src/lib/factory-json-parse.c src/lib/factory-json-build.c src/lib/factory-json-error.c
src_lib_libfactory_json_a_CPPFLAGS = $(LIB_CPPFLAGS)
src_lib_libfactory_json_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
FACTORY_JSON_LIBS = src/lib/libfactory-json.a $(LIB_LIBS) $(JSONC_LIBS)
