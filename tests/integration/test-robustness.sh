#!/bin/sh
# SPDX-License-Identifier: MIT
# The bad-input matrix of the daemon (tests/integration/test-robustness.py) on a private bus of a real
# dbus-daemon, with the HTTPS test server.
command -v dbus-run-session >/dev/null || { echo "SKIP: dbus-run-session not installed"; exit 77; }
command -v busctl >/dev/null || { echo "SKIP: busctl not installed"; exit 77; }
command -v dbus-send >/dev/null || { echo "SKIP: dbus-send not installed"; exit 77; }
exec dbus-run-session -- python3 "${top_srcdir:-.}/tests/integration/test-robustness.py" "$@"
