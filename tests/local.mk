# SPDX-License-Identifier: MIT
# tests/: unit/ (libcheck, one program per module), integration/ (the real programs on a private
# bus with the HTTPS test server), helpers/ (the independent frame decoder, the stand-in fixture
# for blinkupctl, the HTTPS test server, the Python harness), fuzz/ (libFuzzer harnesses and
# the replay of their seeds), vm/ (the system test: make check-vm).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

EXTRA_DIST += tests/helpers/factory-server.py tests/helpers/harness.py tests/helpers/vectors.py \
	tests/helpers/results-receiver.py \
	tests/helpers/valgrind.supp \
	tests/integration/test-daemon.py tests/integration/test-robustness.py \
	tests/integration/test-faults.py tests/integration/test-results.py \
	tests/integration/test-metrics.py \
	tests/prometheus/blinkupd.rules.test.yml \
	tests/integration/test-durable.py \
	tests/fuzz/corpus tests/fuzz/fuzz-config.c tests/fuzz/fuzz-factory-json.c \
	tests/fuzz/fuzz-frame.c tests/fuzz/replay.c tests/fuzz/fuzz-config.dict \
	tests/fuzz/fuzz-factory-json.dict \
	tests/vm/prepare-image tests/vm/run tests/vm/scenario.sh tests/vm/steps-package.sh tests/vm/steps-results.sh tests/vm/steps-scanner.sh tests/vm/steps-metrics.sh tests/vm/trace2vcd \
	tests/vm/gpio-replay

# The shell tests need no build of their own. (The daemon's unit files and bus policy are
# checked only where it is built: configure --disable-daemon builds blinkupctl alone.)
dist_check_SCRIPTS += \
	tests/integration/test-unit-files.sh \
	tests/integration/test-dbus-policy.sh \
	tests/integration/test-man.sh \
	tests/integration/test-layout.sh
TESTS += tests/integration/test-man.sh tests/integration/test-layout.sh
if BUILD_DAEMON
TESTS += tests/integration/test-unit-files.sh tests/integration/test-dbus-policy.sh
endif

if ENABLE_TESTS
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	CK_DEFAULT_TIMEOUT=60; export CK_DEFAULT_TIMEOUT;

# Tests may use any folder's headers.
TEST_CPPFLAGS = $(DAEMON_CPPFLAGS) -I$(top_srcdir)/src/https -I$(top_srcdir)/src/ctl \
	-I$(top_srcdir)/tests/helpers
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SYSTEMD_CFLAGS) $(GPIOD_CFLAGS) $(EVDEV_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
TEST_LIBS = tests/helpers/libtestsupport.a $(CHECK_LIBS) -lm

# ---- helpers ----
check_LIBRARIES += tests/helpers/libtestsupport.a
tests_helpers_libtestsupport_a_SOURCES = tests/helpers/decoder.c tests/helpers/decoder.h \
	tests/helpers/tests.c tests/helpers/tests.h
tests_helpers_libtestsupport_a_CPPFLAGS = $(AM_CPPFLAGS)
tests_helpers_libtestsupport_a_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

# a stand-alone decoder of VCD traces, for the shell tests, the VM test and the demo
check_PROGRAMS += tests/helpers/blinkup-decode
tests_helpers_blinkup_decode_SOURCES = tests/helpers/blinkup-decode.c
tests_helpers_blinkup_decode_CPPFLAGS = $(AM_CPPFLAGS)
tests_helpers_blinkup_decode_LDADD = tests/helpers/libtestsupport.a -lm

# a stand-in blinkupd on a private session bus, for blinkupctl's bus verbs
check_PROGRAMS += tests/helpers/fake-fixture
tests_helpers_fake_fixture_SOURCES = tests/helpers/fake-fixture.c
tests_helpers_fake_fixture_CPPFLAGS = $(TEST_CPPFLAGS)
tests_helpers_fake_fixture_CFLAGS = $(TEST_CFLAGS)
tests_helpers_fake_fixture_LDADD = $(LIB_LIBS)

# slow storage (FUSE) for test-durable.py and bench/slowfs.py
if HAVE_FUSE3
check_PROGRAMS += tests/helpers/slowfs
tests_helpers_slowfs_SOURCES = tests/helpers/slowfs.c
tests_helpers_slowfs_CFLAGS = $(AM_CFLAGS) $(FUSE3_CFLAGS)
tests_helpers_slowfs_LDADD = $(FUSE3_LIBS)
endif
# test-ctl-bus.sh compares the fake's interface with the shipped XML
EXTRA_DIST += tests/integration/check-interface.py

# ---- unit tests: one program per module ----
unit_lib_tests = tests/unit/test-frame tests/unit/test-waveform tests/unit/test-conf \
	tests/unit/test-record tests/unit/test-record-fs tests/unit/test-secret tests/unit/test-json-out \
	tests/unit/test-identity tests/unit/test-scanner-keys
unit_daemon_tests = tests/unit/test-gpio-chips tests/unit/test-gpio-sim tests/unit/test-gpiod-errors \
	tests/unit/test-transmitter tests/unit/test-manager tests/unit/test-metrics tests/unit/test-fsync-worker
unit_https_tests = tests/unit/test-factory-json tests/unit/test-factory-client tests/unit/test-results-outbox
check_PROGRAMS += $(unit_lib_tests)
TESTS += $(unit_lib_tests)
if BUILD_DAEMON
check_PROGRAMS += $(unit_daemon_tests) $(unit_https_tests)
TESTS += $(unit_daemon_tests) $(unit_https_tests)
endif

tests_unit_test_frame_SOURCES = tests/unit/test-frame.c
tests_unit_test_frame_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_frame_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_frame_LDADD = $(LIB_LIBS) $(TEST_LIBS)
tests_unit_test_waveform_SOURCES = tests/unit/test-waveform.c
tests_unit_test_waveform_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_waveform_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_waveform_LDADD = $(LIB_LIBS) $(TEST_LIBS)
tests_unit_test_conf_SOURCES = tests/unit/test-conf.c
tests_unit_test_conf_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_conf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_conf_LDADD = $(LIB_LIBS) $(TEST_LIBS)
tests_unit_test_secret_SOURCES = tests/unit/test-secret.c
tests_unit_test_secret_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_secret_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_secret_LDADD = $(LIB_LIBS) $(TEST_LIBS)
# blinkupctl's JSON writer, from src/ctl/libctl.a
tests_unit_test_json_out_SOURCES = tests/unit/test-json-out.c
tests_unit_test_json_out_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_json_out_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_json_out_LDADD = src/ctl/libctl.a $(LIB_LIBS) $(TEST_LIBS)
tests_unit_test_identity_SOURCES = tests/unit/test-identity.c
tests_unit_test_identity_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_identity_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_identity_LDADD = $(LIB_LIBS) $(TEST_LIBS)

tests_unit_test_scanner_keys_SOURCES = tests/unit/test-scanner-keys.c
tests_unit_test_scanner_keys_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_scanner_keys_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_scanner_keys_LDADD = $(LIB_LIBS) $(TEST_LIBS)
tests_unit_test_record_SOURCES = tests/unit/test-record.c tests/unit/test-record-util.h
tests_unit_test_record_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_record_CFLAGS = $(TEST_CFLAGS)
# fsync() and write() are observed through the linker: what is synced, in which order
tests_unit_test_record_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=fsync -Wl,--wrap=write
tests_unit_test_record_LDADD = $(LIB_LIBS) $(TEST_LIBS)
# a full and a read-only file system, each a tmpfs in a mount namespace; skipped without one
tests_unit_test_record_fs_SOURCES = tests/unit/test-record-fs.c tests/unit/test-record-util.h
tests_unit_test_record_fs_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_record_fs_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_record_fs_LDADD = $(LIB_LIBS) $(TEST_LIBS)

tests_unit_test_gpio_chips_SOURCES = tests/unit/test-gpio-chips.c
tests_unit_test_gpio_chips_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_gpio_chips_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_gpio_chips_LDADD = $(DAEMON_LIBS) $(TEST_LIBS)
tests_unit_test_gpio_sim_SOURCES = tests/unit/test-gpio-sim.c
tests_unit_test_gpio_sim_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_gpio_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_gpio_sim_LDADD = $(DAEMON_LIBS) $(TEST_LIBS)
tests_unit_test_gpiod_errors_SOURCES = tests/unit/test-gpiod-errors.c
tests_unit_test_gpiod_errors_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_gpiod_errors_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_gpiod_errors_LDADD = $(DAEMON_LIBS) $(TEST_LIBS)
tests_unit_test_transmitter_SOURCES = tests/unit/test-transmitter.c
tests_unit_test_transmitter_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_transmitter_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_transmitter_LDADD = $(DAEMON_LIBS) $(TEST_LIBS)
tests_unit_test_metrics_SOURCES = tests/unit/test-metrics.c
tests_unit_test_metrics_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_LDADD = src/daemon/libdaemon.a $(LIB_LIBS) $(TEST_LIBS)
tests_unit_test_fsync_worker_SOURCES = tests/unit/test-fsync-worker.c
tests_unit_test_fsync_worker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_fsync_worker_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_fsync_worker_LDADD = src/daemon/libdaemon.a $(LIB_LIBS) $(TEST_LIBS)
# the manager with the fake factory proxy in place of src/daemon/libfactory-proxy.a
tests_unit_test_manager_SOURCES = tests/unit/test-manager.c tests/helpers/fake-factory-proxy.c \
	tests/helpers/fake-factory-proxy.h
tests_unit_test_manager_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_manager_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_manager_LDADD = src/daemon/libdaemon.a src/daemon/libhelper-process.a $(LIB_LIBS) $(GPIOD_LIBS) $(EVDEV_LIBS) $(TEST_LIBS)

tests_unit_test_factory_json_SOURCES = tests/unit/test-factory-json.c
tests_unit_test_factory_json_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_factory_json_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_factory_json_LDADD = $(FACTORY_JSON_LIBS) $(TEST_LIBS)
tests_unit_test_factory_client_SOURCES = tests/unit/test-factory-client.c
tests_unit_test_factory_client_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_factory_client_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_factory_client_LDADD = $(HTTPS_LIBS) $(TEST_LIBS)
# the results outbox on records made by the real writer: no network
tests_unit_test_results_outbox_SOURCES = tests/unit/test-results-outbox.c
tests_unit_test_results_outbox_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_results_outbox_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_results_outbox_LDADD = $(HTTPS_LIBS) $(TEST_LIBS)

# ---- integration: the real programs, a real dbus-daemon, the HTTPS test server ----
integration_ctl_tests = \
	tests/integration/test-encode-cli.sh \
	tests/integration/test-ctl-bus.sh
integration_daemon_tests = \
	tests/integration/test-daemon.sh \
	tests/integration/test-robustness.sh \
	tests/integration/test-faults.sh \
	tests/integration/test-results.sh \
	tests/integration/test-metrics.sh \
	tests/integration/test-durable.sh
dist_check_SCRIPTS += $(integration_ctl_tests) $(integration_daemon_tests)
TESTS += $(integration_ctl_tests)
if BUILD_DAEMON
TESTS += $(integration_daemon_tests)
endif

# ---- fuzz: every seed and regression through its harness, without libFuzzer (tools/ci/fuzz
# runs libFuzzer itself) ----
fuzz_harnesses = config frame
check_PROGRAMS += tests/fuzz/replay-config tests/fuzz/replay-frame
if BUILD_DAEMON
fuzz_harnesses += factory-json
check_PROGRAMS += tests/fuzz/replay-factory-json
endif
AM_TESTS_ENVIRONMENT += FUZZ_HARNESSES='$(fuzz_harnesses)'; export FUZZ_HARNESSES;
tests_fuzz_replay_config_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-config.c
tests_fuzz_replay_config_CPPFLAGS = $(TEST_CPPFLAGS)
tests_fuzz_replay_config_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_replay_config_LDADD = $(LIB_LIBS)
tests_fuzz_replay_factory_json_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-factory-json.c
tests_fuzz_replay_factory_json_CPPFLAGS = $(TEST_CPPFLAGS)
tests_fuzz_replay_factory_json_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_replay_factory_json_LDADD = $(FACTORY_JSON_LIBS)
tests_fuzz_replay_frame_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-frame.c
tests_fuzz_replay_frame_CPPFLAGS = $(TEST_CPPFLAGS)
tests_fuzz_replay_frame_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_replay_frame_LDADD = $(LIB_LIBS)
dist_check_SCRIPTS += tests/fuzz/test-fuzz-replay.sh
TESTS += tests/fuzz/test-fuzz-replay.sh

if BUILD_DAEMON
# ---- bench/timing (a script) runs this driver: the transmitter on a simulated line beside
# cyclictest ----
check_PROGRAMS += bench/timing-run
bench_timing_run_SOURCES = bench/timing-run.c
bench_timing_run_CPPFLAGS = $(TEST_CPPFLAGS)
bench_timing_run_CFLAGS = $(TEST_CFLAGS)
bench_timing_run_LDADD = $(DAEMON_LIBS) $(TEST_LIBS)
endif

# libcheck's own summary lines, after the harness has run every test
check-local: check-TESTS
	@for f in $(TEST_LOGS); do \
		s=$$(grep -h '^[0-9]*%: Checks' "$$f" 2>/dev/null); \
		test -n "$$s" && echo "$${f%.log}: $$s"; \
	done; true
endif

# ---- system test in a VM: make check-vm, not part of make check ----
# Boots a cached Debian root under QEMU (TCG) and installs the project's Debian packages
# (ci-deb/bookworm, made by tools/ci/deb when missing) with apt in it: a kernel GPIO chip
# (gpio-sim), real systemd and the system bus. Needs root and Debian's package archive; exit
# status 77 only when QEMU cannot run at all.
# Cache: BLINKUPD_VM_CACHE (default /var/cache/blinkupd-vm); results: tests/vm-results/bookworm/.
check-vm: all
	$(SHELL) $(srcdir)/tests/vm/run $(abs_top_builddir)
.PHONY: check-vm
